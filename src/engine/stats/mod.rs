//! The statistics: counts, latency histograms (whole run and a recent window), per-worker
//! state, the time series. Pure: the aggregator thread (`aggregator`) drives it, so do tests.

mod aggregator;
mod histogram;

pub use aggregator::PUBLISH_EVERY;
pub(crate) use aggregator::{Aggregator, INJECTED_PANIC_AFTER};

use std::collections::VecDeque;
use std::time::Duration;

use flume::Sender;

use super::event::{EventMeta, Report, Trace};
use super::settings::Settings;
use super::snapshot::{
    Counters, LatencyKind, LatencySet, LatencySummary, RunState, SeriesPoint, Snapshot,
    WorkerActivity, WorkerView,
};
use super::work::Outcome;
use crate::model::theory::{self, TheoryInput};
use histogram::{Latencies, WHOLE_SIGFIG, WINDOW_SIGFIG};

pub(crate) use histogram::new_histogram;
pub use histogram::summarise;

/// What reaches the aggregator.
pub(crate) enum Msg {
    /// A worker's batch: how many events it took from the queue since its last batch, and
    /// its reports (each event taken has its `Started` or `Done` in this batch or an earlier one).
    Reports {
        taken: u64,
        reports: Vec<Report>,
    },
    ResetStats,
}

#[derive(Debug, Clone, Default)]
struct WorkerStats {
    up: bool,
    /// Model time it came up (or stats were reset), ns.
    since_ns: u64,
    /// Life before its last departure, for workers that come and go.
    alive_before_ns: u64,
    busy_ns: u64,
    completed: u64,
    failed: u64,
    current: Option<(EventMeta, u64)>,
}

/// How often the time series takes a sample (wall time).
pub const SERIES_INTERVAL: Duration = Duration::from_millis(250);
/// Samples kept (at 250 ms: 10 minutes of wall time).
pub const SERIES_LEN: usize = 2400;

/// All statistics. Owned by the aggregator thread; tests and benchmarks drive it directly.
pub struct Stats {
    /// Events the workers say they took from the queue (counted by them, apart from reports).
    taken: u64,
    completed: u64,
    failed: u64,
    workers: Vec<WorkerStats>,
    whole: Latencies,
    window_now: Latencies,
    window_prev: Latencies,
    window_started_ns: u64,
    /// The recent window covers between half of this and all of it.
    window_ns: u64,
    series: VecDeque<SeriesPoint>,
    last_sample: Option<(u64, u64, u64)>, // (t_ns, generated, done)
    max_queue_depth: u64,
    /// Integral of the queue depth over model time (depth * ns), for the time-average.
    depth_area: f64,
    last_depth: Option<(u64, u64)>, // (t_ns, depth)
    since_ns: u64,
    /// (generated, done) at the last reset, for rates since then.
    base_generated: u64,
    base_done: u64,
    trace: Option<Sender<Trace>>,
    /// Model time of the latest finish, ns: a finished run ends here, not at the next tick.
    last_finish_ns: u64,
}

impl Stats {
    pub fn new(max_workers: usize, window_ns: u64, trace: Option<Sender<Trace>>) -> Self {
        Self {
            taken: 0,
            completed: 0,
            failed: 0,
            workers: vec![WorkerStats::default(); max_workers],
            whole: Latencies::new(WHOLE_SIGFIG),
            window_now: Latencies::new(WINDOW_SIGFIG),
            window_prev: Latencies::new(WINDOW_SIGFIG),
            window_started_ns: 0,
            window_ns: window_ns.max(2),
            series: VecDeque::with_capacity(SERIES_LEN),
            last_sample: None,
            max_queue_depth: 0,
            depth_area: 0.0,
            last_depth: None,
            since_ns: 0,
            base_generated: 0,
            base_done: 0,
            trace,
            last_finish_ns: 0,
        }
    }

    fn record(&mut self, kind: LatencyKind, ns: u64) {
        self.whole.record(kind, ns);
        self.window_now.record(kind, ns);
    }

    /// Applies one worker's batch: the events it took, then its reports.
    pub fn apply_batch(&mut self, taken: u64, reports: Vec<Report>) {
        self.taken += taken;
        reports.into_iter().for_each(|r| self.apply(r));
    }

    pub fn apply(&mut self, report: Report) {
        match report {
            Report::WorkerUp { worker, at_ns } => {
                let w = &mut self.workers[worker as usize - 1];
                w.up = true;
                w.since_ns = at_ns.max(self.since_ns);
                self.emit(Trace::WorkerUp { worker, at_ns });
            }
            Report::WorkerDown { worker, at_ns } => {
                let w = &mut self.workers[worker as usize - 1];
                w.up = false;
                w.alive_before_ns += at_ns.saturating_sub(w.since_ns);
                self.emit(Trace::WorkerDown { worker, at_ns });
            }
            Report::Started {
                worker,
                event,
                at_ns,
            } => self.start(worker, event, at_ns),
            Report::Finished {
                worker,
                id,
                at_ns,
                outcome,
            } => self.finish(worker, id, at_ns, outcome),
            Report::Done {
                worker,
                event,
                start_ns,
                finish_ns,
                outcome,
            } => {
                self.start(worker, event, start_ns);
                self.finish(worker, event.id, finish_ns, outcome);
            }
        }
    }

    fn start(&mut self, worker: u32, event: EventMeta, at_ns: u64) {
        self.record(
            LatencyKind::QueueWait,
            at_ns.saturating_sub(event.arrival_ns),
        );
        self.workers[worker as usize - 1].current = Some((event, at_ns));
        self.emit(Trace::Started {
            worker,
            id: event.id,
            at_ns,
            demand_ns: event.demand_ns,
        });
    }

    fn finish(&mut self, worker: u32, id: u64, at_ns: u64, outcome: Outcome) {
        let w = &mut self.workers[worker as usize - 1];
        let Some((event, start_ns)) = w.current.take() else {
            debug_assert!(
                false,
                "worker {worker} finished event {id} it never started"
            );
            return;
        };
        debug_assert_eq!(event.id, id);
        let service = at_ns.saturating_sub(start_ns);
        self.last_finish_ns = self.last_finish_ns.max(at_ns);
        // Busy time counts from the reset if the event began before it.
        w.busy_ns += at_ns.saturating_sub(start_ns.max(self.since_ns));
        if outcome.is_success() {
            w.completed += 1;
            self.completed += 1;
        } else {
            w.failed += 1;
            self.failed += 1;
        }
        self.record(LatencyKind::Service, service);
        self.record(
            LatencyKind::EndToEnd,
            at_ns.saturating_sub(event.arrival_ns),
        );
        self.emit(Trace::Finished {
            worker,
            id,
            at_ns,
            outcome,
        });
    }

    fn emit(&self, trace: Trace) {
        if let Some(tx) = &self.trace {
            let _ = tx.send(trace);
        }
    }

    /// Clears histograms, series, maxima and per-worker totals; event counts stay (conservation).
    pub fn reset(&mut self, now_ns: u64, generated: u64) {
        self.whole.reset();
        self.window_now.reset();
        self.window_prev.reset();
        self.window_started_ns = now_ns;
        self.series.clear();
        self.last_sample = None;
        self.max_queue_depth = 0;
        self.depth_area = 0.0;
        self.last_depth = None;
        self.since_ns = now_ns;
        self.base_generated = generated;
        self.base_done = self.completed + self.failed;
        for w in &mut self.workers {
            w.since_ns = now_ns;
            w.alive_before_ns = 0;
            w.busy_ns = 0;
            w.completed = 0;
            w.failed = 0;
        }
    }

    /// Rotates the recent window and accounts the queue depth; call on every tick.
    pub fn observe(&mut self, now_ns: u64, depth: u64) {
        if now_ns.saturating_sub(self.window_started_ns) >= self.window_ns / 2 {
            std::mem::swap(&mut self.window_prev, &mut self.window_now);
            self.window_now.reset();
            self.window_started_ns = now_ns;
        }
        if let Some((t, d)) = self.last_depth {
            self.depth_area += d as f64 * now_ns.saturating_sub(t) as f64;
        }
        self.last_depth = Some((now_ns, depth));
        self.max_queue_depth = self.max_queue_depth.max(depth);
    }

    /// Adds one point to the time series.
    pub fn sample(&mut self, now_ns: u64, depth: u64, generated: u64) {
        let done = self.completed + self.failed;
        let busy = self.workers.iter().filter(|w| w.current.is_some()).count() as u32;
        let (arrivals_per_s, completions_per_s) = match self.last_sample {
            Some((t, g, d)) if now_ns > t => {
                let dt_s = (now_ns - t) as f64 / 1e9;
                ((generated - g) as f64 / dt_s, (done - d) as f64 / dt_s)
            }
            _ => (0.0, 0.0),
        };
        self.last_sample = Some((now_ns, generated, done));
        if self.series.len() == SERIES_LEN {
            self.series.pop_front();
        }
        self.series.push_back(SeriesPoint {
            t_ns: now_ns,
            queue_depth: depth,
            arrivals_per_s,
            completions_per_s,
            busy_workers: busy,
        });
    }

    /// The counts, each from what happened, so that their sum is a check, not an identity:
    /// queued is what the source let in (generated − dropped) less what the workers say they
    /// took; in flight is the workers holding an event now; completed and failed come from the
    /// reports. An event a worker took and lost, or reported twice, breaks the sum.
    pub fn counters(&self, source: SourceCounts) -> Counters {
        let in_flight = self.workers.iter().filter(|w| w.current.is_some()).count() as u64;
        let SourceCounts {
            generated,
            dropped,
            held,
        } = source;
        Counters {
            generated,
            completed: self.completed,
            failed: self.failed,
            dropped,
            queued: generated
                .saturating_sub(dropped)
                .saturating_sub(held)
                .saturating_sub(self.taken),
            in_flight,
            held_at_source: held,
        }
    }

    fn worker_views(&self, now_ns: u64, target: usize) -> Vec<WorkerView> {
        let shown = self
            .workers
            .iter()
            .rposition(|w| w.up)
            .map_or(0, |i| i + 1)
            .max(target);
        self.workers[..shown]
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let (activity, running_ns) = match w.current {
                    Some((event, start_ns)) => (
                        WorkerActivity::Busy {
                            event: event.id,
                            started_ns: start_ns,
                            demand_ns: event.demand_ns,
                        },
                        now_ns.saturating_sub(start_ns.max(self.since_ns)),
                    ),
                    None => (WorkerActivity::Idle, 0),
                };
                let alive_now = if w.up {
                    now_ns.saturating_sub(w.since_ns)
                } else {
                    0
                };
                WorkerView {
                    id: i as u32 + 1,
                    activity,
                    retiring: i >= target && w.up,
                    busy_ns: w.busy_ns + running_ns,
                    alive_ns: w.alive_before_ns + alive_now,
                    completed: w.completed,
                    failed: w.failed,
                }
            })
            .collect()
    }

    /// Model time of the latest finish, ns: a finished run ends here, not at the next tick.
    fn last_finish_ns(&self) -> u64 {
        self.last_finish_ns
    }

    /// Whether any worker is still up (a stop waits for them to leave).
    fn any_worker_up(&self) -> bool {
        self.workers.iter().any(|w| w.up)
    }

    /// Summaries of the whole-run and recent-window histograms (the costly part of a snapshot).
    pub fn latency(&self) -> LatencyView {
        LatencyView {
            whole: self.whole_latency(),
            recent: self.recent_latency(),
        }
    }

    /// Summaries of the whole run (3 significant digits: the costlier part, ~100 µs).
    pub fn whole_latency(&self) -> LatencySet {
        self.whole.summarise()
    }

    /// Summaries of the recent window (2 significant digits: cheap).
    pub fn recent_latency(&self) -> LatencySet {
        let mut recent = self.window_prev.clone();
        recent.add(&self.window_now);
        recent.summarise()
    }

    /// A snapshot, with latency summaries from [`Stats::latency`] (possibly a recent one).
    pub fn snapshot(&self, view: &SnapshotContext<'_>, latency: LatencyView) -> Snapshot {
        let now_ns = view.now_ns;
        let counters = self.counters(view.source);
        let stats_ns = now_ns.saturating_sub(self.since_ns);
        let source_ns = view
            .source_end_ns
            .unwrap_or(now_ns)
            .saturating_sub(self.since_ns);
        let per_s = |count: u64, ns: u64| {
            if ns == 0 {
                0.0
            } else {
                count as f64 / (ns as f64 / 1e9)
            }
        };
        let recent_window_ns = now_ns.saturating_sub(self.window_started_ns) + self.window_ns / 2;
        let recent_points =
            ((recent_window_ns / view.series_interval_ns.max(1)) as usize).clamp(1, SERIES_LEN);
        let tail = self.series.iter().rev().take(recent_points);
        let n = tail.len().max(1) as f64;
        let (ra, rc) = tail.fold((0.0, 0.0), |(a, c), p| {
            (a + p.arrivals_per_s, c + p.completions_per_s)
        });
        let theory_input = TheoryInput::from_settings(view.settings, view.cores);
        Snapshot {
            state: view.state,
            now_ns,
            stats_since_ns: self.since_ns,
            settings: view.settings.clone(),
            seed: view.seed,
            speed: view.speed,
            cores: view.cores,
            counters,
            max_queue_depth: self.max_queue_depth,
            arrival_rate_per_s: per_s(view.source.generated - self.base_generated, source_ns),
            throughput_per_s: per_s(self.completed + self.failed - self.base_done, stats_ns),
            recent_arrival_rate_per_s: ra / n,
            recent_throughput_per_s: rc / n,
            mean_queue_len: if stats_ns == 0 {
                0.0
            } else {
                self.depth_area / stats_ns as f64
            },
            workers: self.worker_views(now_ns, view.settings.workers),
            latency: latency.whole,
            recent_latency: latency.recent,
            recent_window_ns,
            series: self.series.iter().copied().collect(),
            series_interval_ns: view.series_interval_ns,
            theory: theory::predict(&theory_input),
            // The aggregator adds the source's (see `Shared::lateness`).
            source_lateness: LatencySummary::default(),
            // The aggregator adds it (see `Shared::queued_demand_ns`).
            queued_work_ns: 0,
        }
    }
}

/// Latency summaries for a snapshot.
#[derive(Debug, Clone)]
pub struct LatencyView {
    pub whole: LatencySet,
    pub recent: LatencySet,
}

/// The source's counts: read together (see the aggregator's `read_source`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Events that have arrived.
    pub generated: u64,
    /// Dropped, evicted, or abandoned at the source's end.
    pub dropped: u64,
    /// Arrived and waiting at the source for room in a full `block` queue.
    pub held: u64,
}

/// What the snapshot needs from outside the statistics.
pub struct SnapshotContext<'a> {
    pub state: RunState,
    pub now_ns: u64,
    pub settings: &'a Settings,
    pub seed: u64,
    pub speed: f64,
    pub cores: usize,
    pub source: SourceCounts,
    pub source_end_ns: Option<u64>,
    pub series_interval_ns: u64,
}
