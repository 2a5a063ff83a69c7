//! The aggregator thread: the one owner of all statistics. It applies worker reports as they
//! come and publishes a snapshot on a fixed tick, so no face ever sees (or redraws for) single events.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flume::{Receiver, RecvTimeoutError};
use tokio::sync::watch;

use super::{
    LatencyView, Msg, PhaseContext, SERIES_INTERVAL, SnapshotContext, SourceCounts, Stats,
};
use crate::engine::event::Event;
use crate::engine::settings::Settings;
use crate::engine::shared::{ChangeMark, Shared};
use crate::engine::snapshot::{
    LatencySet, LatencySummary, RunState, Snapshot, WorkerActivity, WorkerView,
};
use crate::engine::source::SourceFacts;
use crate::engine::{EngineConfig, EngineError, InjectPanic, work};
use crate::model::forecast::live_config;
use crate::model::forecast_thread::{ForecastRequest, ForecastThread};
use crate::model::theory::{TheoryInput, TwinAnswer};
use crate::model::twin::TwinConfig;
use crate::model::twin_thread::{TwinEstimate, TwinThread};

/// How often the aggregator publishes a snapshot (wall time).
pub const PUBLISH_EVERY: Duration = Duration::from_millis(50);
/// How often a forecast is asked for while the settings stay the same (wall time).
const FORECAST_EVERY: Duration = Duration::from_secs(1);
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

/// The twin's thread for this run (seeded like the run); a test may ask for one that panics.
fn spawn_twin(config: &EngineConfig) -> Option<TwinThread> {
    let twin = if config.inject_panic == Some(InjectPanic::Twin) {
        TwinThread::spawn_with(config.seed, |_, _| {
            std::panic::panic_any(work::InjectedPanic)
        })
    } else {
        TwinThread::spawn(config.seed)
    };
    // Without the twin the run goes on: its predictions are approximations, said to be.
    twin.ok()
}

/// When a test-only injected panic happens (wall time into the run).
pub(crate) const INJECTED_PANIC_AFTER: Duration = Duration::from_millis(500);

pub(crate) struct Aggregator {
    recent_latency: Option<(Instant, LatencySet)>,
    source_lateness: Option<(Instant, LatencySummary)>,
    engine_overhead: Option<(Instant, LatencySummary)>,
    whole_latency: Option<(Instant, LatencySet)>,
    stats: Stats,
    shared: Arc<Shared>,
    messages: Receiver<Msg>,
    queue: Receiver<Event>,
    settings: watch::Receiver<Settings>,
    snapshots: watch::Sender<Arc<Snapshot>>,
    seed: u64,
    cores: usize,
    /// What the snapshots say of the source.
    source_facts: SourceFacts,
    /// `exec` work's command: the stderr of its failures.
    exec: Option<Arc<work::Exec>>,
    /// Test only: panic half a second in (see `InjectPanic`).
    inject_panic: bool,
    /// The twin, on its own thread (None if it could not start: no estimates then), and the
    /// configuration last asked of it.
    twin: Option<TwinThread>,
    twin_asked: Option<TwinConfig>,
    /// The events come from stdin or a trace: theory reads the measured load.
    measured_arrivals: bool,
    /// Forecasts from the published state; none if its thread could not start.
    forecasts: Option<ForecastThread>,
    /// When the last forecast was asked for (wall), and for which configuration.
    last_forecast: Option<(Instant, TwinConfig)>,
    /// See `Snapshot::reports_applied_ns`.
    reports_applied_ns: u64,
}

/// The snapshot published before the first tick: an empty run under `settings`.
fn first_snapshot(
    stats: &Stats,
    shared: &Shared,
    settings: &Settings,
    config: &EngineConfig,
    source_facts: &SourceFacts,
) -> Snapshot {
    let mut first = stats.snapshot(
        &SnapshotContext {
            state: RunState::Running,
            now_ns: 0,
            settings,
            seed: config.seed,
            speed: config.speed,
            cores: config.cores,
            source: SourceCounts::default(),
            source_end_ns: None,
            series_interval_ns: shared.clock.model_ns(SERIES_INTERVAL),
            twin: &TwinAnswer::Pending,
            measured_arrivals: false,
        },
        stats.latency(),
    );
    first.source = source_facts.view(shared, settings.paused, 0);
    first
}

impl Aggregator {
    /// Starts the aggregator on a thread of its own; returns it and the snapshots it publishes
    /// (starting with an empty one).
    pub fn spawn(
        stats: Stats,
        shared: Arc<Shared>,
        messages: Receiver<Msg>,
        queue: Receiver<Event>,
        settings: watch::Receiver<Settings>,
        config: &EngineConfig,
    ) -> Result<(JoinHandle<()>, watch::Receiver<Arc<Snapshot>>), EngineError> {
        let source_facts = SourceFacts::of(&config.source);
        let first = first_snapshot(&stats, &shared, &settings.borrow(), config, &source_facts);
        let (snapshots, snapshots_rx) = watch::channel(Arc::new(first));
        // Keeps the snapshot channel open until a fault is recorded: faces that see it close
        // then find the fault, instead of taking the last snapshot for the end of the run.
        let open_until_fault_recorded = snapshots.clone();
        let aggregator = Aggregator {
            recent_latency: None,
            source_lateness: None,
            engine_overhead: None,
            whole_latency: None,
            stats,
            shared: Arc::clone(&shared),
            messages,
            queue,
            settings,
            snapshots,
            seed: config.seed,
            cores: config.cores,
            source_facts,
            exec: config.exec.clone(),
            inject_panic: config.inject_panic == Some(InjectPanic::Statistics),
            twin: spawn_twin(config),
            twin_asked: None,
            measured_arrivals: !matches!(config.source, crate::engine::SourceKind::Generator),
            forecasts: ForecastThread::spawn(config.seed).ok(),
            last_forecast: None,
            reports_applied_ns: 0,
        };
        let thread = std::thread::Builder::new()
            .name("backlog-stats".into())
            .spawn(move || {
                // Statistics can wait a few ms; a worker's timing cannot (see `batch_priority`).
                work::batch_priority();
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| aggregator.run())) {
                    shared.fail("the statistics thread", panic.as_ref());
                }
                drop(open_until_fault_recorded);
            })
            .map_err(EngineError::thread("the statistics thread"))?;
        Ok((thread, snapshots_rx))
    }

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
                Ok(Msg::Reports { taken, reports }) => {
                    self.stats.apply_batch(taken, reports);
                    self.watch_drain();
                }
                Ok(Msg::ResetStats) => {
                    let (now, source) = self.read_source();
                    self.stats.arrivals_seen(self.shared.arrivals.totals());
                    self.stats.reset(now, source.generated);
                }
                Ok(Msg::Phase(mark)) => self.begin_phase(mark),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {}
            }
            let wall = Instant::now();
            if wall < next_publish {
                continue;
            }
            next_publish = (next_publish + PUBLISH_EVERY).max(wall);
            // Read before looking at the channel: if it is empty then, every report sent
            // before this moment has been applied.
            let before_ns = self.shared.clock.now_ns();
            if self.messages.is_empty() {
                self.reports_applied_ns = before_ns;
            }
            let (now, source) = self.read_source();
            let depth = self.queue.len() as u64;
            self.stats.arrivals_seen(self.shared.arrivals.totals());
            self.stats
                .account_source(now, self.source_active_until(now));
            self.stats.observe(now, depth);
            if wall >= next_sample {
                next_sample = (next_sample + SERIES_INTERVAL).max(wall);
                self.stats.sample(now, depth, source.generated);
            }
            let state = self.state(source, &mut stopped_at);
            let now = if state == RunState::Finished {
                self.end_of_run_ns(now)
            } else {
                now
            };
            self.track_phase(now, source);
            self.publish(state, now, source);
            if state.is_over() {
                return;
            }
        }
    }

    /// While the current phase's backlog has not been empty yet, looks at the queue itself on
    /// every batch of reports (every few ms of wall time while workers finish events), so the
    /// moment it first empties is not left to the next tick.
    fn watch_drain(&mut self) {
        if !self.stats.phase_awaits_drain() {
            return;
        }
        let held = self.shared.held.load(Ordering::Acquire);
        if self.queue.is_empty() && held == 0 {
            self.stats.backlog_empty(self.shared.clock.now_ns());
        }
    }

    /// The phase log's view of now.
    fn phase_context<'a>(
        &self,
        now_ns: u64,
        source: SourceCounts,
        settings: &'a Settings,
    ) -> PhaseContext<'a> {
        PhaseContext {
            now_ns,
            settings,
            source,
            queued_work_ns: self.shared.queued_demand_ns.load(Ordering::Acquire),
            source_end_ns: self
                .shared
                .source_ended
                .load(Ordering::Acquire)
                .then(|| self.shared.source_end_ns.load(Ordering::Relaxed)),
            queue_len: self.queue.len() as u64,
        }
    }

    /// Accounts the tick in the phase log.
    fn track_phase(&mut self, now_ns: u64, source: SourceCounts) {
        // In this order: settings that are a change's under way show as `changing` or, once
        // its mark is made, in the ledger's phase count.
        let settings = self.settings.borrow().clone();
        let changing = self.shared.changing.load(Ordering::SeqCst) > 0;
        let counts = self.shared.arrivals.phase_counts();
        let context = self.phase_context(now_ns, source, &settings);
        self.stats.track_phase(context, &counts, changing);
    }

    /// A change of settings began a phase: it starts from the state at once.
    fn begin_phase(&mut self, mark: ChangeMark) {
        let (now_ns, source) = self.read_source();
        self.stats.arrivals_seen(self.shared.arrivals.totals());
        let settings = self.settings.borrow().clone();
        let context = self.phase_context(now_ns.max(mark.at_ns), source, &settings);
        self.stats.begin_phase(context, mark);
    }

    /// Until when the source was active since the last tick: now, its end, or not (paused).
    fn source_active_until(&self, now: u64) -> Option<u64> {
        if self.shared.source_ended.load(Ordering::Acquire) {
            Some(self.shared.source_end_ns.load(Ordering::Relaxed))
        } else if self.settings.borrow().paused {
            None
        } else {
            Some(now)
        }
    }

    /// When a finished run ended: its last finish, or the source's end if that came later.
    fn end_of_run_ns(&self, now: u64) -> u64 {
        let source_end = self.shared.source_end_ns.load(Ordering::Relaxed);
        self.stats.last_finish_ns().max(source_end).min(now)
    }

    /// Now and the source's counts, read so that `dropped` and `held` never include an event
    /// `generated` misses (the source counts an event generated before it holds or drops it).
    fn read_source(&self) -> (u64, SourceCounts) {
        let held = self.shared.held.load(Ordering::Acquire);
        let dropped = self.shared.dropped.load(Ordering::Acquire);
        let generated = self.shared.generated.load(Ordering::Acquire);
        let source = SourceCounts {
            generated,
            dropped,
            held,
            rejected: self.shared.rejected.load(Ordering::Acquire),
        };
        (self.shared.clock.now_ns(), source)
    }

    fn state(&mut self, source: SourceCounts, stopped_at: &mut Option<Instant>) -> RunState {
        let counters = self.stats.counters(source);
        if self.shared.stop.load(Ordering::Acquire) {
            let since = *stopped_at.get_or_insert_with(Instant::now);
            let workers_left = self.stats.any_worker_up();
            return if workers_left && since.elapsed() < STOP_GRACE {
                RunState::Draining
            } else {
                RunState::Interrupted
            };
        }
        if self.shared.source_ended.load(Ordering::Acquire) {
            if counters.queued == 0 && counters.in_flight == 0 && counters.held_at_source == 0 {
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

    /// What the twin has for `settings`: asks it for them when they changed (and need it),
    /// and reads its latest estimate without waiting; one for other settings is pending.
    fn twin_answer(&mut self, settings: &Settings) -> TwinAnswer {
        if !TheoryInput::from_settings(settings, self.cores).needs_twin() {
            return TwinAnswer::Pending;
        }
        let Some(twin) = &self.twin else {
            return TwinAnswer::Unavailable;
        };
        let config = TwinConfig::from_settings(settings, self.cores);
        if self.twin_asked.as_ref() != Some(&config) {
            twin.predict(&config);
            self.twin_asked = Some(config.clone());
        }
        match twin.estimate() {
            TwinEstimate::Ready {
                config: done,
                steady,
            } if done == config => TwinAnswer::Ready(steady),
            TwinEstimate::Unavailable(_) => TwinAnswer::Unavailable,
            TwinEstimate::Ready { .. } | TwinEstimate::Pending => TwinAnswer::Pending,
        }
    }

    fn publish(&mut self, state: RunState, now_ns: u64, source: SourceCounts) {
        let settings = self.settings.borrow().clone();
        let twin = self.twin_answer(&settings);
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
            source,
            source_end_ns,
            series_interval_ns: self.shared.clock.model_ns(SERIES_INTERVAL),
            twin: &twin,
            measured_arrivals: self.measured_arrivals,
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
        let lateness = refresh(&mut self.source_lateness, RECENT_REFRESH, over, || {
            self.shared.lateness()
        });
        let overhead = refresh(&mut self.engine_overhead, RECENT_REFRESH, over, || {
            self.stats.engine_overhead()
        });
        let mut snapshot = self.stats.snapshot(&context, LatencyView { whole, recent });
        snapshot.source_lateness = lateness;
        snapshot.engine_overhead = overhead;
        snapshot.queued_work_ns = self.shared.queued_demand_ns.load(Ordering::Acquire);
        snapshot.reports_applied_ns = self.reports_applied_ns;
        self.add_source(&mut snapshot, settings.paused, source.generated);
        self.add_cpu_used(&mut snapshot.workers);
        self.forecast(&mut snapshot);
        self.snapshots.send_replace(Arc::new(snapshot));
    }

    /// The source's view, and the stderr of the last failure's command (`exec` work).
    fn add_source(&self, snapshot: &mut Snapshot, paused: bool, generated: u64) {
        snapshot.source = self.source_facts.view(&self.shared, paused, generated);
        if let (Some(failure), Some(exec)) = (snapshot.last_failure.as_mut(), &self.exec) {
            failure.stderr = exec.stderr_of(failure.event).unwrap_or_default();
        }
    }

    /// Each busy worker's CPU time received for its event, from its meter (cpu work only).
    fn add_cpu_used(&self, workers: &mut [WorkerView]) {
        let meters = &self.shared.cpu_meters;
        for (w, meter) in workers.iter_mut().zip(meters.iter()) {
            if let WorkerActivity::Busy { event, .. } = w.activity {
                w.cpu_ns = meter
                    .used_ns(event)
                    .map(|ns| self.shared.clock.model_ns(Duration::from_nanos(ns)));
            }
        }
    }

    /// Asks for a forecast from this snapshot once a second, and at once when the settings
    /// change; puts in the latest one made for the current settings. Never waits for it.
    fn forecast(&mut self, snapshot: &mut Snapshot) {
        let Some(forecasts) = &self.forecasts else {
            return;
        };
        let config = live_config(snapshot);
        let due = match &self.last_forecast {
            Some((at, last)) => *last != config || at.elapsed() >= FORECAST_EVERY,
            None => true,
        };
        if due && !snapshot.state.is_over() {
            forecasts.request(ForecastRequest::of(snapshot));
            self.last_forecast = Some((Instant::now(), config.clone()));
        }
        if let Some((from_ns, forecast)) = forecasts.for_config(&config) {
            snapshot.forecast = Some(forecast);
            snapshot.forecast_from_ns = from_ns;
        }
    }
}
