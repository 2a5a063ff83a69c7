//! The statistics: counts, latency histograms (whole run and a recent window), per-worker
//! state, the time series. Pure: the aggregator thread (`aggregator`) drives it, so do tests.

mod aggregator;
mod arrivals;
mod histogram;
mod phases;

pub use aggregator::PUBLISH_EVERY;
pub(crate) use aggregator::{Aggregator, INJECTED_PANIC_AFTER};
pub(crate) use arrivals::ArrivalLedger;
pub use arrivals::{ArrivalTotals, Moments, PhaseCounts};
pub use phases::MAX_PHASES;
pub(crate) use phases::PhaseTick;

use std::collections::VecDeque;
use std::time::Duration;

use flume::Sender;
use hdrhistogram::Histogram;

use super::event::{EventMeta, Report, Trace};
use super::settings::{Settings, WorkMode};
use super::shared::ChangeMark;
use super::snapshot::{
    Counters, LastFailure, LatencyKind, LatencySet, LatencySummary, PhaseStart, RunState,
    SeriesPoint, Snapshot, WorkerActivity, WorkerView,
};
use super::work::Outcome;
use crate::model::theory::{self, MeasuredLoad, TheoryInput, TwinAnswer};
use arrivals::TakenTotals;
use histogram::{Latencies, WHOLE_SIGFIG, WINDOW_SIGFIG};
use phases::PhaseLog;

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
    /// A change of settings began a phase (`EngineHandle::send_from`).
    Phase(ChangeMark),
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
    /// Model time it last became idle (came up, or finished an event), ns; none while busy.
    idle_since_ns: Option<u64>,
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
    /// Queue waits of events a worker was idle for at their arrival: the engine's own delay
    /// (the source's pacing and the hand-off), model ns.
    engine_overhead: Histogram<u64>,
    window_now: Latencies,
    window_prev: Latencies,
    window_started_ns: u64,
    /// The recent window covers between half of this and all of it.
    window_ns: u64,
    series: VecDeque<SeriesPoint>,
    /// (t_ns, generated, done) at the last sample, or at the start (or reset) before the
    /// first: a sample's rates are what happened since.
    last_sample: (u64, u64, u64),
    /// The deepest the queue was seen on a tick, over the run and since the last sample: the
    /// series carries the latter, so its peak and the run's maximum are one figure.
    max_queue_depth: u64,
    interval_max_depth: u64,
    /// The source's arrival totals as last read, and what the reports say of the events taken:
    /// together, the area under the queue-length curve in model time (see `arrivals`).
    arrivals: ArrivalTotals,
    taken_totals: TakenTotals,
    /// That area at the last reset, event·ns.
    area_at_reset: f64,
    since_ns: u64,
    /// Model time the source was active (not paused, not ended) since the last reset, ns, as
    /// accounted on each tick; and since the last sample.
    source_active_ns: u64,
    interval_active_ns: u64,
    last_tick_ns: u64,
    /// Per series point: (arrivals, source active ns) in its interval, for the recent
    /// achieved rate (kept beside the series, as long).
    source_series: VecDeque<(u64, u64)>,
    /// (generated, done) at the last reset, for rates since then.
    base_generated: u64,
    base_done: u64,
    trace: Option<Sender<Trace>>,
    /// Model time of the latest finish, ns: a finished run ends here, not at the next tick.
    last_finish_ns: u64,
    /// Every phase of the run (a change of settings starts one).
    phases: PhaseLog,
    /// The latest failed event (its stderr is added by the aggregator).
    last_failure: Option<LastFailure>,
}

impl Stats {
    pub fn new(max_workers: usize, window_ns: u64, trace: Option<Sender<Trace>>) -> Self {
        Self {
            taken: 0,
            completed: 0,
            failed: 0,
            workers: vec![WorkerStats::default(); max_workers],
            whole: Latencies::new(WHOLE_SIGFIG),
            engine_overhead: new_histogram(WHOLE_SIGFIG),
            window_now: Latencies::new(WINDOW_SIGFIG),
            window_prev: Latencies::new(WINDOW_SIGFIG),
            window_started_ns: 0,
            window_ns: window_ns.max(2),
            series: VecDeque::with_capacity(SERIES_LEN),
            last_sample: (0, 0, 0),
            max_queue_depth: 0,
            interval_max_depth: 0,
            arrivals: ArrivalTotals::default(),
            taken_totals: TakenTotals::default(),
            area_at_reset: 0.0,
            since_ns: 0,
            source_active_ns: 0,
            interval_active_ns: 0,
            last_tick_ns: 0,
            source_series: VecDeque::with_capacity(SERIES_LEN),
            base_generated: 0,
            base_done: 0,
            trace,
            last_finish_ns: 0,
            phases: PhaseLog::default(),
            last_failure: None,
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
                w.idle_since_ns = Some(at_ns);
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
        self.taken_totals.started(event.arrival_ns, at_ns);
        let wait_ns = at_ns.saturating_sub(event.arrival_ns);
        self.record(LatencyKind::QueueWait, wait_ns);
        let w = &mut self.workers[worker as usize - 1];
        let mut handoff_ns = None;
        match w.idle_since_ns.take() {
            // A worker was free when the event arrived: all of its wait is the engine's.
            Some(t) if t <= event.arrival_ns => self.engine_overhead.saturating_record(wait_ns),
            // The event waited for this worker: the time from its last finish to this start
            // is the hand-off, capacity the ideal pool does not lose.
            Some(t) => handoff_ns = Some(at_ns.saturating_sub(t)),
            None => {}
        }
        w.current = Some((event, at_ns));
        self.phases.started(event.arrival_ns, wait_ns, handoff_ns);
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
        w.idle_since_ns = Some(at_ns);
        self.last_finish_ns = self.last_finish_ns.max(at_ns);
        // Busy time counts from the reset if the event began before it.
        w.busy_ns += at_ns.saturating_sub(start_ns.max(self.since_ns));
        if outcome.is_success() {
            w.completed += 1;
            self.completed += 1;
        } else {
            w.failed += 1;
            self.failed += 1;
            if let Outcome::Failed(failure) = outcome {
                self.last_failure = Some(LastFailure {
                    event: id,
                    worker,
                    at_ns,
                    failure,
                    stderr: Vec::new(),
                });
            }
        }
        self.phases
            .finished(event.arrival_ns, service, outcome.is_success());
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
        self.engine_overhead.reset();
        self.window_now.reset();
        self.window_prev.reset();
        self.window_started_ns = now_ns;
        self.series.clear();
        self.last_sample = (now_ns, generated, self.completed + self.failed);
        self.max_queue_depth = 0;
        self.interval_max_depth = 0;
        self.area_at_reset = self.taken_totals.area(&self.arrivals, now_ns);
        self.since_ns = now_ns;
        self.source_active_ns = 0;
        self.interval_active_ns = 0;
        self.last_tick_ns = now_ns;
        self.source_series.clear();
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

    /// The source's arrival totals, read after the reports applied so far (every event
    /// started is in them); call before `observe` and `reset`.
    pub fn arrivals_seen(&mut self, totals: ArrivalTotals) {
        self.arrivals = totals;
    }

    /// Accounts the source's active time since the last tick: active until `active_until`
    /// (now if running, its end if it ended), or not at all (`None`: paused). Call on every tick.
    pub fn account_source(&mut self, now_ns: u64, active_until: Option<u64>) {
        let active_ns = active_until.map_or(0, |until| {
            until.min(now_ns).saturating_sub(self.last_tick_ns)
        });
        self.source_active_ns += active_ns;
        self.interval_active_ns += active_ns;
        self.last_tick_ns = self.last_tick_ns.max(now_ns);
    }

    /// Rotates the recent window and accounts the queue depth; call on every tick.
    pub fn observe(&mut self, now_ns: u64, depth: u64) {
        if now_ns.saturating_sub(self.window_started_ns) >= self.window_ns / 2 {
            std::mem::swap(&mut self.window_prev, &mut self.window_now);
            self.window_now.reset();
            self.window_started_ns = now_ns;
        }
        self.max_queue_depth = self.max_queue_depth.max(depth);
        self.interval_max_depth = self.interval_max_depth.max(depth);
    }

    /// Adds one point to the time series: its depth is the deepest seen since the last point
    /// (on the ticks, see `observe`), `depth` (now) included.
    pub fn sample(&mut self, now_ns: u64, depth: u64, generated: u64) {
        let depth = std::mem::take(&mut self.interval_max_depth).max(depth);
        let done = self.completed + self.failed;
        let busy = self.workers.iter().filter(|w| w.current.is_some()).count() as u32;
        let (t, g, d) = self.last_sample;
        let (arrivals_per_s, completions_per_s) = if now_ns > t {
            let dt_s = (now_ns - t) as f64 / 1e9;
            (
                generated.saturating_sub(g) as f64 / dt_s,
                done.saturating_sub(d) as f64 / dt_s,
            )
        } else {
            (0.0, 0.0)
        };
        self.last_sample = (now_ns, generated, done);
        if self.series.len() == SERIES_LEN {
            self.series.pop_front();
            self.source_series.pop_front();
        }
        let active_ns = std::mem::take(&mut self.interval_active_ns);
        self.source_series
            .push_back((generated.saturating_sub(g), active_ns));
        self.series.push_back(SeriesPoint {
            t_ns: now_ns,
            queue_depth: depth,
            arrivals_per_s,
            completions_per_s,
            busy_workers: busy,
        });
    }

    /// Accounts a tick in the phase log (see `phases`); `counts` are the arrivals ledger's,
    /// per phase; `changing`: a change of settings is under way, its phase perhaps about to
    /// begin.
    pub(crate) fn track_phase(
        &mut self,
        now: PhaseContext<'_>,
        counts: &[PhaseCounts],
        changing: bool,
    ) {
        let (tick, start) = self.phase_state(&now);
        self.phases.set_begun(counts.len() + usize::from(changing));
        self.phases.tick(tick, now.settings, || start);
        self.phases.set_counts(counts);
        if let Some(end_ns) = now.source_end_ns {
            self.phases.source_ended(end_ns);
        }
    }

    /// Whether the current phase has yet to see its backlog empty (see `backlog_empty`).
    pub(crate) fn phase_awaits_drain(&self) -> bool {
        self.phases.awaits_drain()
    }

    /// The backlog was seen empty at `now_ns`: the current phase has drained, if not before.
    pub(crate) fn backlog_empty(&mut self, now_ns: u64) {
        self.phases.drained(now_ns);
    }

    /// Begins the phase a change of settings (`mark`) began, in the state `now`.
    pub(crate) fn begin_phase(&mut self, now: PhaseContext<'_>, mark: ChangeMark) {
        let (tick, start) = self.phase_state(&now);
        self.phases.open(tick, mark, now.settings, start);
    }

    /// What a phase starting now starts from, and what a tick accounts.
    fn phase_state(&self, now: &PhaseContext<'_>) -> (PhaseTick, PhaseStart) {
        let counters = self.counters(now.source);
        let now_ns = now.now_ns;
        let start = PhaseStart {
            queued: now.queue_len,
            held: counters.held_at_source,
            queued_work_ns: now.queued_work_ns,
            in_service_left_ns: self
                .workers
                .iter()
                .filter_map(|w| w.current)
                .map(|(event, start_ns)| {
                    event
                        .demand_ns
                        .saturating_sub(now_ns.saturating_sub(start_ns))
                })
                .collect(),
        };
        let tick = PhaseTick {
            now_ns,
            backlog: now.queue_len + counters.held_at_source,
            area: self.taken_totals.area(&self.arrivals, now_ns),
            moment: self.taken_totals.moment(&self.arrivals, now_ns),
        };
        (tick, start)
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
            rejected,
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
            rejected,
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
                    // The aggregator adds it (see `Shared::cpu_meters`).
                    cpu_ns: None,
                }
            })
            .collect()
    }

    /// The time-average number of events waiting (arrived, not started) since the last reset:
    /// exact in model time, from each event's own timestamps.
    fn mean_queue_len(&self, now_ns: u64) -> f64 {
        let stats_ns = now_ns.saturating_sub(self.since_ns);
        if stats_ns == 0 {
            return 0.0;
        }
        let area = self.taken_totals.area(&self.arrivals, now_ns) - self.area_at_reset;
        area.max(0.0) / stats_ns as f64
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

    /// The engine's own share of queue waits (see `engine_overhead`), model ns.
    pub fn engine_overhead(&self) -> LatencySummary {
        summarise(&self.engine_overhead)
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
        let mut theory_input = TheoryInput::from_settings(view.settings, view.cores);
        if let Some(load) = self.measured_load(view) {
            theory_input = theory_input.with_measured(load);
        }
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
            arrival_rate_per_s: per_s(
                view.source.generated - self.base_generated,
                self.source_active_ns,
            ),
            throughput_per_s: per_s(self.completed + self.failed - self.base_done, stats_ns),
            recent_arrival_rate_per_s: ra / n,
            recent_throughput_per_s: rc / n,
            mean_queue_len: self.mean_queue_len(now_ns),
            workers: self.worker_views(now_ns, view.settings.workers),
            latency: latency.whole,
            recent_latency: latency.recent,
            recent_window_ns,
            series: self.series.iter().copied().collect(),
            series_interval_ns: view.series_interval_ns,
            theory: theory::best(&theory_input, view.twin),
            // The aggregator adds the source's (see `Shared::lateness`).
            source_lateness: LatencySummary::default(),
            // The aggregator adds it, refreshed like the lateness.
            engine_overhead: LatencySummary::default(),
            source_active_ns: self.source_active_ns,
            recent_achieved_rate_per_s: self.recent_achieved_rate(recent_points),
            // The aggregator adds it (see `Shared::queued_demand_ns`).
            queued_work_ns: 0,
            // The aggregator adds it: it knows what is still in its channel.
            reports_applied_ns: now_ns,
            phases: self.phases.phases(),
            // The aggregator adds it (see `source::SourceFacts`).
            source: Default::default(),
            last_failure: self.last_failure.clone(),
            forecast: None,
            forecast_from_ns: 0,
        }
    }

    /// The load the current phase measured, where the settings do not describe it: arrivals
    /// from a source other than the generator, the service of exec work (or of demands such a
    /// source brings). None for the generator's own sleep or cpu work.
    fn measured_load(&self, view: &SnapshotContext<'_>) -> Option<MeasuredLoad> {
        let service_measured = view.measured_arrivals || view.settings.work == WorkMode::Exec;
        if !service_measured {
            return None;
        }
        let m = &self.phases.current()?.measured;
        let arrival = view
            .measured_arrivals
            .then(|| (m.arrival_rate_per_s, m.gap_cv2.unwrap_or(1.0)));
        let service = m
            .service_mean_ns
            .map(|mean| (mean / 1e9, m.service_cv2.unwrap_or(1.0)));
        Some(MeasuredLoad { arrival, service })
    }

    /// Arrivals over the source's active time in the last `points` samples; none if it was
    /// not active in them (paused, or ended).
    fn recent_achieved_rate(&self, points: usize) -> Option<f64> {
        let (arrivals, active_ns) = self
            .source_series
            .iter()
            .rev()
            .take(points)
            .fold((0, 0), |(a, t), &(da, dt)| (a + da, t + dt));
        (active_ns > 0).then(|| arrivals as f64 / (active_ns as f64 / 1e9))
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
    /// Input the source could not make an event of.
    pub rejected: u64,
}

/// What the phase log needs from outside the statistics, on a tick.
pub(crate) struct PhaseContext<'a> {
    pub now_ns: u64,
    pub settings: &'a Settings,
    pub source: SourceCounts,
    pub queued_work_ns: u64,
    /// When the source ended, if it has.
    pub source_end_ns: Option<u64>,
    /// The queue's own length now (the counters' lags by the reports on their way): a phase
    /// starts from it, beside the queued work, which is exact too, and its backlog is
    /// accounted from it.
    pub queue_len: u64,
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
    /// What the twin has for these settings (the theory's best prediction may be its estimate).
    pub twin: &'a TwinAnswer,
    /// The events come from a source other than the generator (stdin, a trace): the theory
    /// reads the arrivals, and the service, from what the current phase measured.
    pub measured_arrivals: bool,
}
