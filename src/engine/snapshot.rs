//! The engine's published state: plain data, cheap to clone, read by every face (TUI, headless, recorder).

use serde::{Deserialize, Serialize};

use super::settings::Settings;
use super::work::Failure;
use crate::model::forecast::Forecast;
use crate::model::theory::Prediction;

/// Where the run is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    #[default]
    Running,
    /// The source is paused; workers go on with what is queued.
    Paused,
    /// The source has ended; the pool is emptying the queue.
    Draining,
    /// Everything generated is completed, failed or dropped.
    Finished,
    /// Stopped by the user or a signal before the end; queued and in-flight events are reported as such.
    Interrupted,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "source paused",
            RunState::Draining => "draining",
            RunState::Finished => "finished",
            RunState::Interrupted => "interrupted",
        }
    }

    pub fn is_over(self) -> bool {
        matches!(self, RunState::Finished | RunState::Interrupted)
    }
}

/// Event counts. Always: `generated == completed + failed + dropped + queued + in_flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub generated: u64,
    pub completed: u64,
    pub failed: u64,
    pub dropped: u64,
    pub queued: u64,
    pub in_flight: u64,
    /// Arrived, waiting at the source for room in a full `block` queue: part of the backlog.
    #[serde(default)]
    pub held_at_source: u64,
    /// Input the source read and could not make an event of (a line over 1 MiB): never an
    /// event, so outside the sum above.
    #[serde(default)]
    pub rejected: u64,
}

impl Counters {
    /// Events that have arrived and wait: in the queue, or held at the source before it.
    pub fn backlog(&self) -> u64 {
        self.queued + self.held_at_source
    }

    /// True when every generated event is accounted for exactly once.
    pub fn conserved(&self) -> bool {
        self.generated
            == self.completed
                + self.failed
                + self.dropped
                + self.queued
                + self.held_at_source
                + self.in_flight
    }
}

/// The most progress shown for an event still in a worker's hands.
pub const RUNNING_PROGRESS_CAP: f64 = 0.99;

/// What one worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum WorkerActivity {
    Idle,
    Busy {
        event: u64,
        /// Model time the event started, ns since the run began.
        started_ns: u64,
        /// The event's service demand, ns.
        demand_ns: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerView {
    /// 1-based worker id.
    pub id: u32,
    pub activity: WorkerActivity,
    /// Above the target count: finishes its event, then leaves.
    pub retiring: bool,
    /// Total model time spent on events, ns.
    pub busy_ns: u64,
    /// Model time this worker has existed since the last reset, ns.
    pub alive_ns: u64,
    pub completed: u64,
    pub failed: u64,
    /// The CPU time the current event has received, model ns: cpu work only (sleep and exec
    /// work, and a snapshot that does not say, have none).
    #[serde(default)]
    pub cpu_ns: Option<u64>,
}

impl WorkerView {
    /// Fraction of its life this worker spent busy, 0..=1.
    pub fn utilization(&self) -> f64 {
        if self.alive_ns == 0 {
            0.0
        } else {
            (self.busy_ns as f64 / self.alive_ns as f64).min(1.0)
        }
    }

    /// Progress of the current event against its demand at model time `now_ns`, 0..=0.99: the
    /// CPU time it has received for cpu work (on shared cores that is less than the wall time it
    /// has run, shown by [`WorkerView::stretched_ns`]), else the time it has run. An event still
    /// held is never shown done.
    pub fn progress(&self, now_ns: u64) -> Option<f64> {
        match self.activity {
            WorkerActivity::Idle => None,
            WorkerActivity::Busy {
                started_ns,
                demand_ns,
                ..
            } => {
                if demand_ns == 0 {
                    Some(RUNNING_PROGRESS_CAP)
                } else {
                    let done_ns = self
                        .cpu_ns
                        .unwrap_or_else(|| now_ns.saturating_sub(started_ns));
                    Some((done_ns as f64 / demand_ns as f64).clamp(0.0, RUNNING_PROGRESS_CAP))
                }
            }
        }
    }

    /// The time the current event has run, when it is well past its demand (by 10%): cpu work
    /// sharing cores, or a late wake. `None` when idle or on time.
    pub fn stretched_ns(&self, now_ns: u64) -> Option<u64> {
        match self.activity {
            WorkerActivity::Busy {
                started_ns,
                demand_ns,
                ..
            } => {
                let ran_ns = now_ns.saturating_sub(started_ns);
                (ran_ns > demand_ns.saturating_add(demand_ns / 10)).then_some(ran_ns)
            }
            WorkerActivity::Idle => None,
        }
    }
}

/// One latency distribution, summarised. All values in ns.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ns: f64,
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub max_ns: u64,
    /// Log-spaced buckets (factor 2): (upper bound ns, count in bucket), from the first non-empty one.
    pub buckets: Vec<(u64, u64)>,
}

/// The three latencies of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LatencyKind {
    /// Arrival (scheduled) to start.
    QueueWait,
    /// Start to finish.
    Service,
    /// Arrival (scheduled) to finish.
    EndToEnd,
}

impl LatencyKind {
    pub const ALL: [LatencyKind; 3] = [
        LatencyKind::QueueWait,
        LatencyKind::Service,
        LatencyKind::EndToEnd,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LatencyKind::QueueWait => "queue wait",
            LatencyKind::Service => "service",
            LatencyKind::EndToEnd => "end-to-end",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySet {
    pub queue_wait: LatencySummary,
    pub service: LatencySummary,
    pub end_to_end: LatencySummary,
}

impl LatencySet {
    pub fn get(&self, kind: LatencyKind) -> &LatencySummary {
        match kind {
            LatencyKind::QueueWait => &self.queue_wait,
            LatencyKind::Service => &self.service,
            LatencyKind::EndToEnd => &self.end_to_end,
        }
    }
}

/// One sample of the time series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    /// Model time at the end of the sample interval, ns.
    pub t_ns: u64,
    /// The deepest the queue was seen during the interval (on the statistics ticks): the
    /// series' peak is the snapshot's `max_queue_depth`.
    pub queue_depth: u64,
    pub arrivals_per_s: f64,
    pub completions_per_s: f64,
    pub busy_workers: u32,
}

/// Everything the faces show, at one moment. `Default` is an empty run at time 0 (fixtures state
/// only what they care about); serde writes it and reads it back whole.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub state: RunState,
    /// Model time since the run began, ns.
    pub now_ns: u64,
    /// Model time when statistics were last reset (0 if never), ns.
    pub stats_since_ns: u64,
    pub settings: Settings,
    pub seed: u64,
    /// Model time per wall time.
    pub speed: f64,
    /// CPU cores available to the workers.
    pub cores: usize,
    pub counters: Counters,
    /// The deepest the queue was seen on a statistics tick (every 50 ms of wall time) since the
    /// last reset: the same observations as the series' `queue_depth`, so the two agree.
    pub max_queue_depth: u64,
    /// Achieved arrival rate over the source's active time (not paused, not after its end),
    /// events per model second.
    pub arrival_rate_per_s: f64,
    /// Completed events per model second over the run.
    pub throughput_per_s: f64,
    /// Arrivals per model second over the recent window.
    pub recent_arrival_rate_per_s: f64,
    /// Completions per model second over the recent window.
    pub recent_throughput_per_s: f64,
    /// Time-average number of events waiting in the queue over the run (for Little's law).
    pub mean_queue_len: f64,
    pub workers: Vec<WorkerView>,
    pub latency: LatencySet,
    pub recent_latency: LatencySet,
    /// Length of the recent window, model ns.
    pub recent_window_ns: u64,
    /// Sampled history, oldest first (bounded).
    pub series: Vec<SeriesPoint>,
    pub series_interval_ns: u64,
    pub theory: Prediction,
    /// How late the source let events into the queue after they were due (pacing), ns, over
    /// the whole run: when each entered the queue (the clock is read after the first event of a
    /// wake and every 64th after it; the others take the latest reading).
    pub source_lateness: LatencySummary,
    /// Model time the source was active (not paused, not ended) since the last reset, ns:
    /// `arrival_rate_per_s` is over this time. Pauses are accounted on the statistics ticks.
    #[serde(default)]
    pub source_active_ns: u64,
    /// Arrivals per model second of the source's active time over the recent window; none if
    /// the source was not active in it (paused, or ended). See `model::achieved`.
    #[serde(default)]
    pub recent_achieved_rate_per_s: Option<f64>,
    /// The engine's own share of queue waits, model ns: the waits of events that a worker was
    /// idle for at their scheduled arrival (the source's pacing and the hand-off to the worker,
    /// nothing the queue itself caused), over the whole run. Measured in model time, so it is
    /// the wall-clock overhead times `speed`; see `model::overhead`.
    #[serde(default)]
    pub engine_overhead: LatencySummary,
    /// The work waiting in the queue: the sum of the queued events' demands (as drawn at their
    /// arrival), model ns; 0 for events whose demand is unknown. Events held at the source
    /// (`Counters::held_at_source`) are not in the queue, so not counted.
    #[serde(default)]
    pub queued_work_ns: u64,
    /// Model time up to which every report the workers had sent was applied: the aggregator
    /// last found its channel empty then. Behind `now_ns` when the aggregator lags (a starved
    /// core); the log holds its lines back to it, so a late report still sorts in.
    #[serde(default)]
    pub reports_applied_ns: u64,
    /// Every phase of the run so far, in order; the current one last (see `stats::phases`).
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Where events come from: its kind, state and own counters.
    #[serde(default)]
    pub source: SourceView,
    /// The latest failed event, if any has failed (kept across a reset of the statistics).
    #[serde(default)]
    pub last_failure: Option<LastFailure>,
    /// The latest forecast from a recent state under the current settings (`model::forecast`):
    /// none until the first is ready, nor while one for new settings is being made.
    #[serde(default)]
    pub forecast: Option<Forecast>,
    /// Model time the forecast starts from, ns.
    #[serde(default)]
    pub forecast_from_ns: u64,
}

impl Snapshot {
    pub fn elapsed_s(&self) -> f64 {
        self.now_ns as f64 / 1e9
    }
}

/// What started a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseCause {
    /// The run's first phase.
    #[default]
    Start,
    /// A key in the monitor.
    Key,
    /// A scenario step.
    Step,
    /// A command from elsewhere (the engine's API).
    Command,
    /// An autoscaling policy (`--autoscale`).
    Autoscale,
}

impl PhaseCause {
    pub fn name(self) -> &'static str {
        match self {
            PhaseCause::Start => "start",
            PhaseCause::Key => "key",
            PhaseCause::Step => "step",
            PhaseCause::Command => "command",
            PhaseCause::Autoscale => "autoscale",
        }
    }
}

/// The state a phase started from: what a prediction of the phase starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseStart {
    /// Events in the queue.
    pub queued: u64,
    /// Events held at the source by a full `block` queue.
    pub held: u64,
    /// The queued events' demands, summed, model ns (0 where unknown).
    pub queued_work_ns: u64,
    /// Each busy worker's demand still to serve, model ns.
    pub in_service_left_ns: Vec<u64>,
}

/// What was measured in one phase, for the events that arrived in it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseMeasured {
    /// Events that arrived in the phase.
    pub arrivals: u64,
    /// Of those, completed and failed so far (possibly after the phase ended).
    pub completed: u64,
    pub failed: u64,
    /// Events dropped during the phase.
    pub dropped: u64,
    /// Queue waits of the phase's events that have started, model ns.
    pub started: u64,
    pub mean_wait_ns: f64,
    pub p50_wait_ns: u64,
    pub p90_wait_ns: u64,
    pub p99_wait_ns: u64,
    /// Time-average backlog (queued and held) over the phase, exact in model time.
    pub mean_queue_len: f64,
    /// The backlog at the phase's start and at its end (now, for the current phase).
    pub queue_start: u64,
    pub queue_end: u64,
    /// The backlog's growth, events per model second: the least-squares slope of the backlog
    /// curve over the phase, exact in model time; none before three statistics ticks.
    pub growth_per_s: Option<f64>,
    /// Model time the backlog was first seen empty on a statistics tick in the phase (its
    /// start, if it started empty), ns since the run began; none if it never was.
    pub drained_at_ns: Option<u64>,
    /// The load as it arrived: arrivals per model second while they arrived (one over the
    /// mean gap between them), and the squared coefficient of variation of the gaps (none
    /// before two gaps).
    #[serde(default)]
    pub arrival_rate_per_s: f64,
    #[serde(default)]
    pub gap_cv2: Option<f64>,
    /// The service the phase's finished events took: mean (model ns) and squared coefficient
    /// of variation (none before two).
    #[serde(default)]
    pub service_mean_ns: Option<f64>,
    #[serde(default)]
    pub service_cv2: Option<f64>,
    /// The engine's hand-off per finished event, model ns: the time workers spent between
    /// finishing an event and starting one of the phase's that was already waiting for them,
    /// summed, over the phase's finished events. Capacity the ideal pool does not lose.
    #[serde(default)]
    pub handoff_per_event_ns: Option<f64>,
    /// The phase's first arrival, model ns since the run began (a prediction of the phase
    /// lines its schedule up with it).
    #[serde(default)]
    pub first_arrival_ns: Option<u64>,
}

/// One phase: the time between two changes of settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// 1-based.
    pub index: usize,
    /// Model ns since the run began.
    pub start_ns: u64,
    /// Its end; the current phase's is the snapshot's `now_ns`.
    pub end_ns: u64,
    /// Whether it is still going on.
    pub current: bool,
    pub cause: PhaseCause,
    /// The settings throughout the phase.
    pub settings: Settings,
    pub start: PhaseStart,
    pub measured: PhaseMeasured,
    /// When the source ended, if it did in this phase (nothing arrives after), model ns.
    #[serde(default)]
    pub source_end_ns: Option<u64>,
}

impl Phase {
    pub fn length_s(&self) -> f64 {
        self.end_ns.saturating_sub(self.start_ns) as f64 / 1e9
    }
}

/// Which kind of source a run's events come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// The built-in generator (`--source gen`).
    #[default]
    Generator,
    /// One event per line of standard input.
    Stdin,
    /// A trace's rows replayed with their gaps.
    Trace,
    /// Messages of an MQTT v5 subscription (`--source mqtt://...`).
    Mqtt,
    /// Entries of a Redis stream, read in a consumer group (`--source redis://...`).
    Redis,
}

impl SourceType {
    pub fn name(self) -> &'static str {
        match self {
            SourceType::Generator => "generator",
            SourceType::Stdin => "stdin",
            SourceType::Trace => "trace",
            SourceType::Mqtt => "mqtt",
            SourceType::Redis => "redis",
        }
    }
}

/// Where the source is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    /// Creating events (or waiting for input).
    #[default]
    Reading,
    Paused,
    /// It will create no more events: its input or trace is over, the run's end came, or it
    /// was ended or stopped.
    Ended,
    /// Its input failed (`SourceView::error` says how); it creates no more events.
    Error,
}

impl SourceState {
    pub fn name(self) -> &'static str {
        match self {
            SourceState::Reading => "reading",
            SourceState::Paused => "paused",
            SourceState::Ended => "ended",
            SourceState::Error => "error",
        }
    }
}

/// The source as the faces show it: its kind, its state and its own counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    pub kind: SourceType,
    pub state: SourceState,
    /// stdin: lines read so far, the rejected ones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_read: Option<u64>,
    /// stdin: lines over the longest accepted (never events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<u64>,
    /// trace: the file and how far its replay is.
    #[serde(default, flatten)]
    pub trace: Option<TraceProgress>,
    /// mqtt, redis: the broker, the connection and the messages (see `source::broker`).
    #[serde(default, flatten)]
    pub broker: Option<BrokerView>,
    /// How its input failed (state `error`): "Is a directory (os error 21)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A broker source's own figures; `rejected` (malformed payloads) is the view's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerView {
    /// The address, without credentials: `mqtt://127.0.0.1:1883/jobs`.
    pub url: String,
    /// `$share/GROUP/TOPIC` (MQTT) or the consumer group (Redis), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The MQTT client id or the Redis consumer name.
    pub consumer: String,
    /// Connected to the broker now (else connecting or reconnecting).
    pub connected: bool,
    /// Model time the connection last came up or went down, ns.
    pub connection_since_ns: u64,
    /// Messages taken from the broker, the rejected ones included.
    pub received: u64,
    /// Messages acked at the broker (work finished, or a malformed payload).
    pub acked: u64,
    /// Messages whose sequence number was seen before in this publisher's run (at-least-once).
    pub duplicates: u64,
    /// Times the connection was made again after it was lost.
    pub reconnects: u64,
    /// Times the subscription was made again because the broker had lost the session (MQTT).
    #[serde(default)]
    pub resubscribes: u64,
    /// Entries taken over from consumers that left them pending too long (Redis XAUTOCLAIM).
    #[serde(default)]
    pub claimed: u64,
    /// The group's lag and pending count as the server says (Redis, once a second).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_lag: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_pending: Option<u64>,
    /// The first few malformed payloads, shortened, with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub first_rejected: Vec<String>,
}

/// How far a trace's replay is: each row replayed is one event generated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceProgress {
    /// The trace as named on the command line or in the scenario.
    pub file: String,
    /// Rows in the file.
    pub rows: u64,
    /// Rows replayed so far, over every pass.
    pub replayed: u64,
    /// The pass being played, 1-based, of `passes` (`--loop`).
    pub pass: u64,
    pub passes: u64,
}

impl TraceProgress {
    /// `replayed` rows into `passes` passes of a file of `rows` rows.
    pub fn new(file: String, rows: u64, passes: u64, replayed: u64) -> Self {
        let passes = passes.max(1);
        let pass = (replayed.saturating_sub(1) / rows.max(1) + 1).min(passes);
        Self {
            file,
            rows,
            replayed,
            pass,
            passes,
        }
    }

    /// Rows replayed in the current pass.
    pub fn row_in_pass(&self) -> u64 {
        self.replayed
            .saturating_sub((self.pass - 1) * self.rows)
            .min(self.rows)
    }

    /// The file's name without its folders.
    pub fn file_name(&self) -> &str {
        self.file.rsplit('/').next().unwrap_or(&self.file)
    }
}

/// The latest failed event: who failed it, when, why, and for `exec` work the last lines of its
/// command's stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastFailure {
    pub event: u64,
    pub worker: u32,
    /// Model time it failed, ns since the run began.
    pub at_ns: u64,
    pub failure: Failure,
    /// The last lines (at most `work::STDERR_LINES`) of the command's stderr: `exec` work only.
    #[serde(default)]
    pub stderr: Vec<String>,
}
