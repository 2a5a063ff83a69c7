//! The aggregator: the one owner of all statistics. It applies worker reports as they come and
//! publishes a snapshot on a fixed tick, so no face ever sees (or redraws for) single events.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flume::{Receiver, RecvTimeoutError, Sender};
use hdrhistogram::Histogram;
use tokio::sync::watch;

use super::event::{Event, Outcome, Report, Trace};
use super::settings::Settings;
use super::shared::Shared;
use super::snapshot::{
    Counters, LatencyKind, LatencySet, LatencySummary, RunState, SeriesPoint, Snapshot,
    WorkerActivity, WorkerView,
};
use crate::model::theory::{self, TheoryInput};

/// What reaches the aggregator.
pub(crate) enum Msg {
    Reports(Vec<Report>),
    ResetStats,
}

/// Histogram range: 1 ns .. 1 hour to start with (auto-resizing past that).
const HIST_MAX_NS: u64 = 3_600 * 1_000_000_000;
/// Whole-run histograms keep 3 significant digits (1 µs at 1 ms: fine enough to see a worker's
/// overshoot); the recent window keeps 2 (1%, plenty for a live view) so that merging its two
/// halves for every snapshot stays cheap.
const WHOLE_SIGFIG: u8 = 3;
const WINDOW_SIGFIG: u8 = 2;

fn new_histogram(sigfig: u8) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, HIST_MAX_NS, sigfig)
        .expect("static histogram bounds are valid");
    h.auto(true);
    h
}

/// Queue wait, service and end-to-end histograms.
#[derive(Clone)]
struct Latencies([Histogram<u64>; 3]);

impl Latencies {
    fn new(sigfig: u8) -> Self {
        Self([
            new_histogram(sigfig),
            new_histogram(sigfig),
            new_histogram(sigfig),
        ])
    }

    fn record(&mut self, kind: LatencyKind, ns: u64) {
        self.0[kind as usize].saturating_record(ns);
    }

    fn reset(&mut self) {
        self.0.iter_mut().for_each(Histogram::reset);
    }

    fn add(&mut self, other: &Latencies) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            // Both auto-resize, so adding cannot fail on range.
            let _ = mine.add(theirs);
        }
    }

    fn summarise(&self) -> LatencySet {
        LatencySet {
            queue_wait: summarise(&self.0[0]),
            service: summarise(&self.0[1]),
            end_to_end: summarise(&self.0[2]),
        }
    }
}

/// Count, mean, percentiles, max and log-2 buckets (from 1 µs) of one histogram, in one pass
/// over its recorded values. Percentiles follow hdrhistogram's `value_at_quantile`: the highest
/// value equivalent to the first recorded value whose cumulative count reaches ceil(q * count).
pub fn summarise(h: &Histogram<u64>) -> LatencySummary {
    const QUANTILES: [f64; 4] = [0.50, 0.90, 0.99, 0.999];
    let total = h.len();
    if total == 0 {
        return LatencySummary::default();
    }
    let thresholds = QUANTILES.map(|q| ((q * total as f64).ceil() as u64).max(1));
    let mut percentiles = [0u64; 4];
    let mut next = 0;
    let mut seen = 0u64;
    let mut sum = 0.0;
    let mut buckets: Vec<(u64, u64)> = Vec::new();
    for v in h.iter_recorded() {
        let value = v.value_iterated_to();
        let count = v.count_at_value();
        seen += count;
        sum += h.median_equivalent(value) as f64 * count as f64;
        while next < 4 && seen >= thresholds[next] {
            percentiles[next] = value;
            next += 1;
        }
        let bucket = log_bucket(value);
        if buckets.is_empty() {
            buckets.push((LOG_BUCKET_BASE_NS << bucket, 0));
        }
        while buckets
            .last()
            .is_some_and(|b| b.0 < LOG_BUCKET_BASE_NS << bucket)
        {
            let upper = buckets.last().map_or(LOG_BUCKET_BASE_NS, |b| b.0 * 2);
            buckets.push((upper, 0));
        }
        if let Some(b) = buckets.last_mut() {
            b.1 += count;
        }
    }
    let [p50_ns, p90_ns, p99_ns, p999_ns] = percentiles;
    LatencySummary {
        count: total,
        mean_ns: sum / total as f64,
        p50_ns,
        p90_ns,
        p99_ns,
        p999_ns,
        max_ns: h.max(),
        buckets,
    }
}

/// Upper bound of the first log bucket: everything up to 1 µs.
const LOG_BUCKET_BASE_NS: u64 = 1_000;

/// Index k of the bucket (LOG_BUCKET_BASE_NS << (k-1), LOG_BUCKET_BASE_NS << k] holding `ns`.
fn log_bucket(ns: u64) -> u32 {
    if ns <= LOG_BUCKET_BASE_NS {
        0
    } else {
        // smallest k with base * 2^k >= ns
        let ratio = ns.div_ceil(LOG_BUCKET_BASE_NS);
        64 - (ratio - 1).leading_zeros()
    }
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
    current: Option<(Event, u64)>,
}

/// How often the time series takes a sample (wall time).
pub const SERIES_INTERVAL: Duration = Duration::from_millis(250);
/// Samples kept (at 250 ms: 10 minutes of wall time).
pub const SERIES_LEN: usize = 2400;

/// All statistics. Owned by the aggregator thread; tests and benchmarks drive it directly.
pub struct Stats {
    started: u64,
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
            started: 0,
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

    fn start(&mut self, worker: u32, event: Event, at_ns: u64) {
        self.started += 1;
        self.record(
            LatencyKind::QueueWait,
            at_ns.saturating_sub(event.arrival_ns),
        );
        self.workers[worker as usize - 1].current = Some((event, at_ns));
        self.emit(Trace::Started {
            worker,
            id: event.id,
            at_ns,
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
        match outcome {
            Outcome::Ok(_) => {
                w.completed += 1;
                self.completed += 1;
            }
            Outcome::Failed | Outcome::Panicked => {
                w.failed += 1;
                self.failed += 1;
            }
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

    pub fn counters(&self, generated: u64, dropped: u64) -> Counters {
        let in_flight = self.started - self.completed - self.failed;
        Counters {
            generated,
            completed: self.completed,
            failed: self.failed,
            dropped,
            queued: generated.saturating_sub(dropped + self.started),
            in_flight,
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
        let counters = self.counters(view.generated, view.dropped);
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
            arrival_rate_per_s: per_s(view.generated - self.base_generated, source_ns),
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
        }
    }
}

/// Latency summaries for a snapshot.
#[derive(Debug, Clone)]
pub struct LatencyView {
    pub whole: LatencySet,
    pub recent: LatencySet,
}

/// What the snapshot needs from outside the statistics.
pub struct SnapshotContext<'a> {
    pub state: RunState,
    pub now_ns: u64,
    pub settings: &'a Settings,
    pub seed: u64,
    pub speed: f64,
    pub cores: usize,
    pub generated: u64,
    pub dropped: u64,
    pub source_end_ns: Option<u64>,
    pub series_interval_ns: u64,
}

/// How often the aggregator publishes a snapshot (wall time).
pub const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// After a stop, how long to wait for workers to leave before reporting anyway.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// How often latency summaries are recomputed for snapshots (wall time).
const RECENT_REFRESH: Duration = Duration::from_millis(200);
const WHOLE_REFRESH: Duration = Duration::from_secs(1);

/// A cached value, recomputed when older than `every` (or always, at the end of a run).
fn refresh<T: Clone>(
    cache: &mut Option<(Instant, T)>,
    every: Duration,
    force: bool,
    compute: impl FnOnce() -> T,
) -> T {
    match cache {
        Some((at, value)) if at.elapsed() < every && !force => value.clone(),
        _ => {
            let value = compute();
            *cache = Some((Instant::now(), value.clone()));
            value
        }
    }
}

/// When a test-only injected panic happens (wall time into the run).
pub(crate) const INJECTED_PANIC_AFTER: Duration = Duration::from_millis(500);

pub(crate) struct Aggregator {
    pub recent_latency: Option<(Instant, LatencySet)>,
    pub whole_latency: Option<(Instant, LatencySet)>,
    pub stats: Stats,
    pub shared: Arc<Shared>,
    pub messages: Receiver<Msg>,
    pub queue: Receiver<Event>,
    pub settings: watch::Receiver<Settings>,
    pub snapshots: watch::Sender<Arc<Snapshot>>,
    pub seed: u64,
    pub cores: usize,
    /// Test only: panic half a second in (see `InjectPanic`).
    pub inject_panic: bool,
}

impl Aggregator {
    /// Runs until the run is finished or interrupted; publishes the final snapshot last.
    pub fn run(mut self) {
        let mut next_publish = Instant::now();
        let mut next_sample = Instant::now() + SERIES_INTERVAL;
        let mut stopped_at: Option<Instant> = None;
        let started = Instant::now();
        loop {
            if self.inject_panic && started.elapsed() >= INJECTED_PANIC_AFTER {
                panic!("injected panic in the statistics thread (BACKLOG_TEST_PANIC=engine)");
            }
            match self.messages.recv_deadline(next_publish) {
                Ok(Msg::Reports(batch)) => batch.into_iter().for_each(|r| self.stats.apply(r)),
                Ok(Msg::ResetStats) => {
                    let (now, generated, _) = self.read_source();
                    self.stats.reset(now, generated);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {}
            }
            let wall = Instant::now();
            if wall < next_publish {
                continue;
            }
            next_publish = (next_publish + PUBLISH_EVERY).max(wall);
            let (now, generated, dropped) = self.read_source();
            let depth = self.queue.len() as u64;
            self.stats.observe(now, depth);
            if wall >= next_sample {
                next_sample = (next_sample + SERIES_INTERVAL).max(wall);
                self.stats.sample(now, depth, generated);
            }
            let state = self.state(generated, dropped, &mut stopped_at);
            let now = if state == RunState::Finished {
                self.end_of_run_ns(now)
            } else {
                now
            };
            self.publish(state, now, generated, dropped);
            if state.is_over() {
                return;
            }
        }
    }

    /// When a finished run ended: its last finish, or the source's end if that came later.
    fn end_of_run_ns(&self, now: u64) -> u64 {
        let source_end = self.shared.source_end_ns.load(Ordering::Relaxed);
        self.stats.last_finish_ns.max(source_end).min(now)
    }

    /// (now, generated, dropped), read so that `dropped` never includes an event `generated` misses.
    fn read_source(&self) -> (u64, u64, u64) {
        let dropped = self.shared.dropped.load(Ordering::Acquire);
        let generated = self.shared.generated.load(Ordering::Acquire);
        (self.shared.clock.now_ns(), generated, dropped)
    }

    fn state(
        &mut self,
        generated: u64,
        dropped: u64,
        stopped_at: &mut Option<Instant>,
    ) -> RunState {
        let counters = self.stats.counters(generated, dropped);
        if self.shared.stop.load(Ordering::Acquire) {
            let since = *stopped_at.get_or_insert_with(Instant::now);
            let workers_left = self.stats.workers.iter().any(|w| w.up);
            return if workers_left && since.elapsed() < STOP_GRACE {
                RunState::Draining
            } else {
                RunState::Interrupted
            };
        }
        if self.shared.source_ended.load(Ordering::Acquire) {
            if counters.queued == 0 && counters.in_flight == 0 {
                return RunState::Finished;
            }
            return RunState::Draining;
        }
        if self.settings.borrow().paused {
            RunState::Paused
        } else {
            RunState::Running
        }
    }

    fn publish(&mut self, state: RunState, now_ns: u64, generated: u64, dropped: u64) {
        let settings = self.settings.borrow().clone();
        let source_end_ns = self
            .shared
            .source_ended
            .load(Ordering::Acquire)
            .then(|| self.shared.source_end_ns.load(Ordering::Relaxed));
        let context = SnapshotContext {
            state,
            now_ns,
            settings: &settings,
            seed: self.seed,
            speed: self.shared.clock.speed(),
            cores: self.cores,
            generated,
            dropped,
            source_end_ns,
            series_interval_ns: self.shared.clock.model_ns(SERIES_INTERVAL),
        };
        // Latency summaries cost the most: the recent window's are refreshed a few times a
        // second, the whole run's (costlier, and slower to change) once a second; the last
        // snapshot of a run always gets fresh ones. A long refresh is a stall for any worker
        // that shares the aggregator's core, so it must be rare.
        let over = state.is_over();
        let recent = refresh(&mut self.recent_latency, RECENT_REFRESH, over, || {
            self.stats.recent_latency()
        });
        let whole = refresh(&mut self.whole_latency, WHOLE_REFRESH, over, || {
            self.stats.whole_latency()
        });
        let snapshot = self.stats.snapshot(&context, LatencyView { whole, recent });
        self.snapshots.send_replace(Arc::new(snapshot));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_summary_matches_hdrhistogram() {
        let mut h = new_histogram(WHOLE_SIGFIG);
        let mut x = 12345u64;
        for _ in 0..100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // log-uniform from 1 ns to ~1 s
            let v = 1u64 << ((x >> 58) % 30);
            h.record(v + (x >> 40) % v.max(1)).unwrap();
        }
        let s = summarise(&h);
        assert_eq!(s.count, h.len());
        assert_eq!(s.p50_ns, h.value_at_quantile(0.5));
        assert_eq!(s.p90_ns, h.value_at_quantile(0.9));
        assert_eq!(s.p99_ns, h.value_at_quantile(0.99));
        assert_eq!(s.p999_ns, h.value_at_quantile(0.999));
        assert_eq!(s.max_ns, h.max());
        assert!((s.mean_ns / h.mean() - 1.0).abs() < 1e-9);
        assert_eq!(s.buckets.iter().map(|b| b.1).sum::<u64>(), h.len());
        assert!(s.buckets.windows(2).all(|w| w[1].0 == w[0].0 * 2));
        // every value sits at or below its bucket's upper bound
        let under_1us = h.count_between(0, 1_000);
        assert_eq!(s.buckets[0], (1_000, under_1us));
    }

    #[test]
    fn log_buckets_are_powers_of_two_from_a_microsecond() {
        assert_eq!(log_bucket(0), 0);
        assert_eq!(log_bucket(1_000), 0);
        assert_eq!(log_bucket(1_001), 1);
        assert_eq!(log_bucket(2_000), 1);
        assert_eq!(log_bucket(2_001), 2);
        assert_eq!(log_bucket(1_024_000), 10);
    }
}
