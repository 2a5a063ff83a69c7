//! The engine: an event source, a queue, a pool of workers and the aggregator that measures them.
//! It knows nothing about terminals: faces drive it through [`EngineHandle`] and read [`Snapshot`]s.

pub mod ack;
mod clock;
pub mod command;
pub mod error;
pub mod event;
pub mod pool;
mod queue;
pub mod settings;
mod shared;
pub mod snapshot;
pub mod source;
pub mod stats;
pub mod work;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;

pub use clock::Clock;
pub use command::Command;
pub use error::{EngineError, SettingsError};
pub use event::Trace;
pub use settings::{Settings, WorkMode};
pub use snapshot::{PhaseCause, RunState, Snapshot};

use pool::Pool;
use queue::Admission;
use shared::Shared;
use source::{EventSource, Generator, Lines, Pacing, SourceIo};
use stats::{Aggregator, Msg, Stats};

/// How a run is set up; `settings` can change later through commands, the rest cannot.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub settings: Settings,
    pub seed: u64,
    /// The source stops after this many events.
    pub max_events: Option<u64>,
    /// The source stops after this much model time.
    pub duration: Option<Duration>,
    /// Model time per wall time (10 runs the model ten times faster).
    pub speed: f64,
    /// Produce a trace of every happening (for logs).
    pub trace: bool,
    /// Length of the recent latency window, model time.
    pub recent_window: Duration,
    /// Cores the workers may use (defaults to the machine's).
    pub cores: usize,
    /// Where events come from.
    pub source: SourceKind,
    /// `--work exec`: the command each job runs (the work mode must be `exec`).
    pub exec: Option<Arc<work::Exec>>,
    /// Test only: make an engine thread panic outside the work, to check that the faces
    /// report it and restore the terminal (the binary sets it from `BACKLOG_TEST_PANIC`).
    #[doc(hidden)]
    pub inject_panic: Option<InjectPanic>,
    /// Test only: make the workers lose or double an event now and then, to prove that the
    /// conservation checks catch it.
    #[doc(hidden)]
    pub inject_fault: Option<InjectFault>,
}

/// Where a run's events come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SourceKind {
    /// The built-in generator: the arrival and service settings.
    #[default]
    Generator,
    /// One event per line of standard input (see `source::lines`).
    Stdin,
    /// A trace's rows replayed with their gaps, this many passes (see `source::trace`).
    Trace(Arc<source::TraceFile>, u64),
    /// Messages from an MQTT subscription or a Redis stream (see `source::broker`).
    Broker(Arc<source::broker::BrokerSource>),
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Generator => "gen",
            SourceKind::Stdin => "stdin",
            SourceKind::Trace(..) => "trace",
            SourceKind::Broker(b) => b.kind().name(),
        }
    }
}

/// A test-only fault in the workers, for every event whose id is a multiple of N.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectFault {
    /// The worker takes the event from the queue and drops it: never worked, never reported.
    LoseOneIn(u64),
    /// The worker does the event's work and reports it twice.
    StartTwiceOneIn(u64),
}

impl InjectFault {
    pub fn one_in(self) -> u64 {
        match self {
            InjectFault::LoseOneIn(n) | InjectFault::StartTwiceOneIn(n) => n.max(1),
        }
    }
}

/// Where a test-only injected panic happens, about half a second into the run.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InjectPanic {
    /// The aggregator's loop: no more snapshots.
    Statistics,
    /// Worker 1's loop, outside the work's own `catch_unwind`.
    Worker,
    /// The twin's estimator, at its first estimate (not half a second in).
    Twin,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            seed: 1,
            max_events: None,
            duration: None,
            speed: 1.0,
            trace: false,
            recent_window: Duration::from_secs(10),
            cores: available_cores(),
            source: SourceKind::Generator,
            exec: None,
            inject_panic: None,
            inject_fault: None,
        }
    }
}

pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A running engine. Dropping it stops the run.
pub struct EngineHandle {
    shared: Arc<Shared>,
    pool: Arc<Pool>,
    /// The run's seed (injected failures are drawn from it).
    seed: u64,
    /// The command of `exec` work: the work for the whole run.
    exec: Option<Arc<work::Exec>>,
    settings: watch::Sender<Settings>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    messages: flume::Sender<Msg>,
    trace: Option<flume::Receiver<Trace>>,
    aggregator: Option<std::thread::JoinHandle<()>>,
}

pub struct Engine;

impl Engine {
    /// Starts a run: the source on its own thread, the pool, the aggregator. Wiring only: each
    /// part is built by its own module.
    pub fn start(config: EngineConfig) -> Result<EngineHandle, EngineError> {
        check(&config)?;
        let settings = config.settings.clone();
        let clock = Clock::start(config.speed);
        let plan = plan_of(&settings, config.seed, config.exec.as_ref());
        let shared = Arc::new(Shared::new(
            clock,
            settings.workers,
            settings.max_workers,
            plan,
        ));
        let (queue_tx, queue_rx) = flume::unbounded();
        let (msg_tx, msg_rx) = flume::unbounded();
        let (settings_tx, settings_rx) = watch::channel(settings.clone());
        let (trace_tx, trace_rx) = config.trace.then(flume::unbounded).unzip();
        let pool = Pool::new(
            settings.max_workers,
            queue_rx.clone(),
            msg_tx.clone(),
            Arc::clone(&shared),
            config.inject_panic == Some(InjectPanic::Worker),
            config.inject_fault,
        );
        let stats = Stats::new(
            settings.max_workers,
            clock.model_ns(config.recent_window).max(1),
            trace_tx.clone(),
        );
        let (aggregator, snap_rx) = Aggregator::spawn(
            stats,
            Arc::clone(&shared),
            msg_rx,
            queue_rx.clone(),
            settings_rx.clone(),
            &config,
        )?;
        let io = SourceIo {
            shared: Arc::clone(&shared),
            settings: settings_rx,
            admission: Admission::new(Arc::clone(&shared), queue_tx, queue_rx, trace_tx.clone()),
            pacing: Pacing::new(Arc::clone(&shared)),
            max_events: config.max_events,
            duration_ns: config.duration.map(clock::saturating_ns),
            ended_at_ns: None,
        };
        spawn_source(source_of(&config), io, trace_tx)?;
        // If the workers cannot start, the source and the statistics thread must not run on.
        pool.resize(settings.workers)
            .inspect_err(|_| shared.halt())?;
        Ok(EngineHandle {
            shared,
            pool,
            seed: config.seed,
            exec: config.exec.clone(),
            settings: settings_tx,
            snapshots: snap_rx,
            messages: msg_tx,
            trace: trace_rx,
            aggregator: Some(aggregator),
        })
    }
}

/// What `Engine::start` refuses before it starts anything.
fn check(config: &EngineConfig) -> Result<(), EngineError> {
    config.settings.validate()?;
    if !(config.speed.is_finite() && config.speed > 0.0) {
        return Err(SettingsError::Speed(config.speed).into());
    }
    if (config.settings.work == WorkMode::Exec) != config.exec.is_some() {
        return Err(SettingsError::ExecWithoutCommand.into());
    }
    Ok(())
}

/// The source the configuration names.
fn source_of(config: &EngineConfig) -> Box<dyn EventSource> {
    match &config.source {
        SourceKind::Generator => Box::new(Generator::new(config.seed)),
        SourceKind::Stdin => Box::new(Lines::stdin(config.seed)),
        SourceKind::Trace(trace, passes) => Box::new(Generator::replaying(
            config.seed,
            Arc::clone(trace),
            *passes,
        )),
        SourceKind::Broker(broker) => source::broker::open(Arc::clone(broker), config.seed),
    }
}

/// The workers' plan: the settings' work mode, or the `exec` command.
fn plan_of(settings: &Settings, seed: u64, exec: Option<&Arc<work::Exec>>) -> work::Plan {
    match exec {
        Some(exec) => {
            work::Plan::with_work(Arc::clone(exec) as Arc<dyn work::Work>, settings, seed)
        }
        None => work::Plan::of(settings, seed),
    }
}

/// Runs the source on a thread of its own; a panic in it stops the engine as a fault.
fn spawn_source(
    source: Box<dyn EventSource>,
    io: SourceIo,
    trace: Option<flume::Sender<Trace>>,
) -> Result<(), EngineError> {
    let shared = Arc::clone(&io.shared);
    std::thread::Builder::new()
        .name("backlog-source".into())
        .spawn(move || {
            let run = catch_unwind(AssertUnwindSafe(|| source::run_to_end(source, io, trace)));
            if let Err(panic) = run {
                shared.fail("the event source", panic.as_ref());
            }
            // The queue's sender is gone: parked workers must see it to leave.
            shared.bench.wake_all();
        })
        .map(drop)
        .map_err(EngineError::thread("the source thread"))
}

impl EngineHandle {
    /// Applies a command. Values are clamped to what the engine accepts (see `Settings::apply`).
    /// A change of settings starts a phase caused by a `command`; see `send_from`.
    pub fn send(&self, command: Command) {
        self.send_from(PhaseCause::Command, command);
    }

    /// Applies a command sent by `cause` (a key, a scenario step): the phase a change of
    /// settings starts says what started it.
    pub fn send_from(&self, cause: PhaseCause, command: Command) {
        if !command.changes_settings() {
            return self.apply(command);
        }
        // The settings change before their mark reaches the arrival ledger: the statistics
        // see `changing` meanwhile (CI: bounded-queue's block phase took the drop-new of the
        // next, read between the two, and its prediction with it).
        self.shared.changing.fetch_add(1, Ordering::SeqCst);
        let before = self.settings.borrow().clone();
        self.apply(command);
        if *self.settings.borrow() != before {
            let mark = self.shared.mark(cause);
            if mark.new_phase {
                let _ = self.messages.send(Msg::Phase(mark));
            }
        }
        self.shared.changing.fetch_sub(1, Ordering::SeqCst);
    }

    fn apply(&self, command: Command) {
        match command {
            Command::SetWorkers(n) => {
                let n = n.clamp(1, self.settings.borrow().max_workers);
                // Thread creation can only fail if the OS refuses threads; keep the old count then.
                if self.pool.resize(n).is_ok() {
                    self.settings.send_modify(|s| s.apply(&command));
                }
            }
            // `exec` work stays exec, and needs its command: other modes cannot swap with it.
            Command::SetWork(mode) if (mode == WorkMode::Exec) != self.exec.is_some() => {}
            Command::SetWork(_) | Command::SetFailRate(_) => {
                self.settings.send_modify(|s| s.apply(&command));
                let plan = plan_of(&self.settings.borrow(), self.seed, self.exec.as_ref());
                self.shared.plan.set(plan);
            }
            Command::SetRate(_)
            | Command::SetArrival(_)
            | Command::SetBurst(_)
            | Command::SetService(_)
            | Command::SetServiceDist(_)
            | Command::SetQueueCap(_)
            | Command::SetOverflow(_)
            | Command::Pause(_) => self.settings.send_modify(|s| s.apply(&command)),
            Command::ResetStats => {
                let _ = self.messages.send(Msg::ResetStats);
            }
            Command::EndSource => {
                self.shared.end_requested.store(true, Ordering::Release);
                self.shared.wake_source.notify_one();
            }
            Command::Stop => self.shared.halt(),
        }
    }

    /// Workers started from now on take no events for `warmup` of model time (an autoscaler's
    /// `warmup`: why scaling up lags); the workers already running are not affected.
    pub fn set_warmup(&self, warmup: Duration) {
        let ns = clock::saturating_ns(warmup);
        self.shared.warmup_ns.store(ns, Ordering::Relaxed);
    }

    /// The current settings.
    pub fn settings(&self) -> Settings {
        self.settings.borrow().clone()
    }

    /// Model time now, ns since the run began (exact, unlike a snapshot's `now_ns`).
    pub fn now_ns(&self) -> u64 {
        self.shared.clock.now_ns()
    }

    /// The run's clock (model time, speed).
    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.snapshots.borrow())
    }

    /// A receiver that sees each new snapshot (only the latest is kept).
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// Why the engine stopped by itself, if one of its threads panicked (a bug): the run's
    /// figures are then incomplete, and the faces say so instead of reporting them.
    pub fn fault(&self) -> Option<String> {
        self.shared.fault.get().cloned()
    }

    /// The trace of every happening, if the engine was started with `trace`.
    pub fn trace(&self) -> Option<flume::Receiver<Trace>> {
        self.trace.clone()
    }

    /// Blocks until the run is over or `timeout` passes; returns the last snapshot either way.
    pub fn wait(&self, timeout: Duration) -> Arc<Snapshot> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let snapshot = self.snapshot();
            let dead = self.shared.fault.get().is_some();
            if snapshot.state.is_over() || dead || std::time::Instant::now() >= deadline {
                return snapshot;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until the run is finished or interrupted and returns the final snapshot.
    pub async fn finished(&self) -> Arc<Snapshot> {
        let mut rx = self.snapshots.clone();
        let result = rx
            .wait_for(|s| s.state.is_over())
            .await
            .map(|s| Arc::clone(&s));
        result.unwrap_or_else(|_| self.snapshot())
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        self.send(Command::Stop);
        if let Some(aggregator) = self.aggregator.take() {
            let _ = aggregator.join();
        }
    }
}
