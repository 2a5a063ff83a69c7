//! The headless face: a log line per happening (like the article's), a JSON summary, a CSV time series.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::engine::event::{DropReason, Trace};
use crate::engine::settings::{Settings, format_duration};
use crate::engine::snapshot::{Counters, LatencySummary, SeriesPoint, SourceType, SourceView};
use crate::engine::work::Outcome;
use crate::engine::{EngineHandle, Snapshot};
use crate::model::autoscale::{AutoscaleJson, AutoscaleView};
use crate::model::overhead::EngineOverhead;
use crate::model::theory::Prediction;
use crate::model::verdict::Verdict;
use crate::model::verdict_changes::{VerdictChange, VerdictChanges};
use crate::model::warning_history::{WarningHistory, WarningSpan};
use crate::terminal::QuitSignals;

mod failure;
mod phases;

pub use failure::{LastFailureJson, last_failure_line};

pub use phases::{PhaseJson, phase_closing_line, phase_closing_lines};
use phases::{PhaseLines, phases_json};

/// One trace record as the article's program logs it: `1.000s worker 3 started event 1`.
/// Written straight into the output (no string per event).
pub struct LogLine<'a>(pub &'a Trace);

impl std::fmt::Display for LogLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let trace = self.0;
        let t = trace.at_ns() as f64 / 1e9;
        match *trace {
            Trace::Submitted {
                id, blocked_ns: 0, ..
            } => write!(f, "{t:.3}s source   submitted event {id}"),
            Trace::Submitted { id, blocked_ns, .. } => write!(
                f,
                "{t:.3}s source   submitted event {id} (arrived at {:.3}s, waited for room in the full queue)",
                (trace.at_ns() - blocked_ns) as f64 / 1e9
            ),
            Trace::Dropped {
                id,
                reason: DropReason::QueueFull,
                ..
            } => write!(f, "{t:.3}s source   dropped event {id} (queue full)"),
            Trace::Dropped {
                id,
                reason: DropReason::Evicted,
                ..
            } => {
                write!(
                    f,
                    "{t:.3}s source   dropped event {id} (evicted: oldest in a full queue)"
                )
            }
            Trace::Dropped {
                id,
                reason: DropReason::SourceEnded,
                ..
            } => write!(
                f,
                "{t:.3}s source   dropped event {id} (source ended: it was waiting for room)"
            ),
            Trace::Started { worker, id, .. } => {
                write!(f, "{t:.3}s worker {worker} started event {id}")
            }
            Trace::Finished {
                worker,
                id,
                outcome,
                ..
            } => match outcome {
                Outcome::Succeeded {
                    result: Some(result),
                } => write!(
                    f,
                    "{t:.3}s worker {worker} finished event {id} (result {result})"
                ),
                Outcome::Succeeded { result: None } => {
                    write!(f, "{t:.3}s worker {worker} finished event {id}")
                }
                Outcome::Failed(failure) => write!(
                    f,
                    "{t:.3}s worker {worker} failed event {id} ({})",
                    failure.text()
                ),
            },
            Trace::WorkerUp { worker, .. } => write!(f, "{t:.3}s worker {worker} joined"),
            Trace::WorkerDown { worker, .. } => write!(f, "{t:.3}s worker {worker} left"),
            Trace::SourceEnded { .. } => write!(f, "{t:.3}s source   ended"),
        }
    }
}

/// One line describing the source and the settings, for the top of a log.
pub fn describe(settings: &Settings, seed: u64, source: &SourceView) -> String {
    let queue = match settings.queue_cap {
        Some(cap) => format!("queue cap {cap} ({})", settings.overflow),
        None => "unbounded queue".into(),
    };
    let service = format!(
        "service {} {}",
        format_duration(settings.service),
        settings.service_dist
    );
    let (arrivals, service) = match (&source.kind, &source.trace) {
        (SourceType::Trace, Some(trace)) => (
            format!("trace {} at {}", trace.file, settings.rate),
            "service from the trace".to_string(),
        ),
        (SourceType::Stdin, _) => ("lines from stdin".to_string(), service),
        (SourceType::Mqtt | SourceType::Redis, _) => (
            match &source.broker {
                Some(b) => format!(
                    "messages from {}{}",
                    b.url,
                    b.group
                        .as_ref()
                        .map(|g| format!(" ({g})"))
                        .unwrap_or_default()
                ),
                None => "messages from a broker".to_string(),
            },
            "service from each message, else drawn".to_string(),
        ),
        _ => (
            format!("{} arrivals at {}", settings.arrival, settings.rate),
            service,
        ),
    };
    format!(
        "# backlog: {arrivals}, {service}, {} work, {} workers, {queue}, seed {seed}",
        settings.work, settings.workers,
    )
}

/// Puts trace records back in time order: reports from different threads arrive slightly out of
/// order, so records are held until they are older than the newest time seen minus a margin.
#[derive(Default)]
pub struct Reorder {
    heap: BinaryHeap<Reverse<(u64, u64, TraceKey)>>,
    seq: u64,
}

/// Trace records ordered by (time, arrival order); the record itself rides along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TraceKey(Trace);

impl PartialOrd for TraceKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for TraceKey {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Reorder {
    pub fn push(&mut self, trace: Trace) {
        self.seq += 1;
        self.heap
            .push(Reverse((trace.at_ns(), self.seq, TraceKey(trace))));
    }

    /// Takes out, in time order, every record at or before `until_ns`.
    pub fn pop_until(&mut self, until_ns: u64) -> Vec<Trace> {
        let mut out = Vec::new();
        while let Some(Reverse((t, _, _))) = self.heap.peek() {
            if *t > until_ns {
                break;
            }
            if let Some(Reverse((_, _, TraceKey(trace)))) = self.heap.pop() {
                out.push(trace);
            }
        }
        out
    }
}

/// The JSON summary printed by `--headless --json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub state: &'static str,
    /// Where events came from: its kind, state and own counters.
    pub source: SourceView,
    /// The latest failed event (null if none failed).
    pub last_failure: Option<LastFailureJson>,
    /// generated, completed, failed, dropped, queued, in_flight, held_at_source.
    #[serde(flatten)]
    pub counters: Counters,
    pub duration_s: f64,
    pub arrival_rate_per_s: f64,
    pub throughput_per_s: f64,
    pub workers: usize,
    pub max_queue_depth: u64,
    pub mean_queue_len: f64,
    pub latency_ms: LatencyMs,
    pub theory: TheoryJson,
    /// The final snapshot's verdict: `finished` for any run that ended, since nothing is left to
    /// keep up with; what held during the run is in `warnings` (and the log's verdict lines).
    pub verdict: VerdictJson,
    /// Every lint that held during the run, in the order they first held.
    pub warnings: Vec<WarningSpan>,
    pub settings: Settings,
    pub seed: u64,
    pub speed: f64,
    pub cores: usize,
    /// How much of a queue wait is the engine's own (see `model::overhead`).
    pub engine_overhead: EngineOverheadJson,
    /// Every phase (a change of settings starts one), in order.
    pub phases: Vec<PhaseJson>,
    /// The autoscaling policy's tallies (`--autoscale` runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<AutoscaleJson>,
}

/// The engine's own wait: the waits of events a worker was idle for at their arrival, in model
/// time and (divided by the speed) wall time.
#[derive(Debug, Serialize)]
pub struct EngineOverheadJson {
    pub count: u64,
    pub model_p50_ms: f64,
    pub model_p99_ms: f64,
    pub wall_p50_ms: f64,
    pub wall_p99_ms: f64,
    pub speed: f64,
}

impl From<EngineOverhead> for EngineOverheadJson {
    fn from(o: EngineOverhead) -> Self {
        Self {
            count: o.count,
            model_p50_ms: o.model_p50_ns as f64 / 1e6,
            model_p99_ms: o.model_p99_ns as f64 / 1e6,
            wall_p50_ms: o.wall_p50_ns / 1e6,
            wall_p99_ms: o.wall_p99_ns / 1e6,
            speed: o.speed,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct LatencyMs {
    pub queue_wait: Percentiles,
    pub service: Percentiles,
    pub end_to_end: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl From<&LatencySummary> for Percentiles {
    fn from(s: &LatencySummary) -> Self {
        let ms = |ns: u64| ns as f64 / 1e6;
        Self {
            count: s.count,
            mean: s.mean_ns / 1e6,
            p50: ms(s.p50_ns),
            p90: ms(s.p90_ns),
            p99: ms(s.p99_ns),
            p999: ms(s.p999_ns),
            max: ms(s.max_ns),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TheoryJson {
    pub model: String,
    pub servers: usize,
    pub utilization: f64,
    pub p_wait: Option<f64>,
    pub mean_wait_ms: Option<f64>,
    pub mean_queue_len: Option<f64>,
    pub backlog_growth_per_s: Option<f64>,
    pub min_stable_workers: Option<usize>,
    pub stable: bool,
    /// `exact`, `simulated` (the twin) or `approximation`.
    pub method: &'static str,
    /// `D/D/c`, `Erlang C`, `M/M/c/K`, `Pollaczek-Khinchine`, `twin`, `Allen-Cunneen`, ...
    pub formula: String,
    /// Fraction of arrivals a full `drop-new` or `drop-old` queue sheds; 0 otherwise.
    pub p_drop: f64,
    /// The simulated mean wait's 95% interval, ms; null unless `method` is `simulated`.
    pub mean_wait_ms_ci95: Option<[f64; 2]>,
    /// Queue-wait percentiles, ms, and how they were obtained; null where neither a closed
    /// form nor the twin gives them (unstable, or the twin pending).
    pub wait_percentiles_ms: Option<WaitPercentilesJson>,
}

#[derive(Debug, Serialize)]
pub struct WaitPercentilesJson {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    /// `exact` or `simulated`.
    pub method: &'static str,
}

impl From<&Prediction> for TheoryJson {
    fn from(t: &Prediction) -> Self {
        Self {
            model: t.model.clone(),
            servers: t.servers,
            utilization: t.utilization,
            p_wait: t.p_wait,
            mean_wait_ms: t.mean_wait_s.map(|w| w * 1e3),
            mean_queue_len: t.mean_queue_len,
            backlog_growth_per_s: t.backlog_growth_per_s,
            min_stable_workers: t.min_stable_workers,
            stable: t.stable,
            method: t.method.name(),
            formula: t.formula.clone(),
            p_drop: t.p_drop,
            mean_wait_ms_ci95: t.mean_wait_ci95_s.map(|ci| ci.map(|s| s * 1e3)),
            wait_percentiles_ms: t.wait_percentiles.map(|w| WaitPercentilesJson {
                p50: w.p50_s * 1e3,
                p90: w.p90_s * 1e3,
                p99: w.p99_s * 1e3,
                method: w.method.name(),
            }),
        }
    }
}

/// The verdict as the JSON summary reports it.
#[derive(Debug, Serialize)]
pub struct VerdictJson {
    pub kind: &'static str,
    pub text: String,
    /// Model seconds until the backlog is gone (draining only).
    pub drain_s: Option<f64>,
    /// Events per second the backlog grows by (overloaded only).
    pub growth_per_s: Option<f64>,
    /// The drain time's p10 and p90 from the forecast (draining only; null past its horizon).
    pub drain_s_p10: Option<f64>,
    pub drain_s_p90: Option<f64>,
}

impl From<&Verdict> for VerdictJson {
    fn from(v: &Verdict) -> Self {
        Self {
            kind: v.kind(),
            text: v.text(),
            drain_s: v.drain_s(),
            growth_per_s: v.growth_per_s(),
            drain_s_p10: v.drain_band_s().0,
            drain_s_p90: v.drain_band_s().1,
        }
    }
}

impl Summary {
    /// The summary of a run that ended in `s`, with the lints `warnings` saw on the way.
    pub fn from_snapshot(s: &Snapshot, warnings: &WarningHistory) -> Self {
        Self {
            state: s.state.name(),
            source: s.source.clone(),
            last_failure: s.last_failure.as_ref().map(Into::into),
            counters: s.counters,
            duration_s: s.now_ns as f64 / 1e9,
            arrival_rate_per_s: s.arrival_rate_per_s,
            throughput_per_s: s.throughput_per_s,
            workers: s.settings.workers,
            max_queue_depth: s.max_queue_depth,
            mean_queue_len: s.mean_queue_len,
            latency_ms: LatencyMs {
                queue_wait: (&s.latency.queue_wait).into(),
                service: (&s.latency.service).into(),
                end_to_end: (&s.latency.end_to_end).into(),
            },
            theory: (&s.theory).into(),
            verdict: (&Verdict::of(s)).into(),
            warnings: warnings.spans(),
            settings: s.settings.clone(),
            seed: s.seed,
            speed: s.speed,
            cores: s.cores,
            engine_overhead: EngineOverhead::of(s).into(),
            phases: phases_json(s),
            autoscale: None,
        }
    }
}

/// "N held at the source, " where any are (a stopped `block` run), else nothing.
fn held_at_source(held: u64) -> String {
    if held == 0 {
        String::new()
    } else {
        format!("{held} held at the source, ")
    }
}

/// The closing lines of a log: what happened to every event.
pub fn closing_lines(s: &Snapshot) -> Vec<String> {
    let c = s.counters;
    let e2e = &s.latency.end_to_end;
    let wait = &s.latency.queue_wait;
    let ms = |ns: f64| format_duration(Duration::from_nanos(ns as u64));
    vec![
        format!(
            "# {} after {:.3}s: {} generated, {} completed, {} failed, {} dropped, {} queued, {}{} in flight",
            s.state.name(),
            s.elapsed_s(),
            c.generated,
            c.completed,
            c.failed,
            c.dropped,
            c.queued,
            held_at_source(c.held_at_source),
            c.in_flight
        ),
        format!(
            "# queue wait mean {} p99 {}; end-to-end mean {} p99 {}; max queue depth {}",
            ms(wait.mean_ns),
            ms(wait.p99_ns as f64),
            ms(e2e.mean_ns),
            ms(e2e.p99_ns as f64),
            s.max_queue_depth
        ),
    ]
    .into_iter()
    .chain(s.source.error.iter().map(|e| format!("# the source's input failed: {e}")))
    .chain(s.source.broker.iter().flat_map(|b| broker_lines(b, s.source.rejected.unwrap_or(0))))
    .chain(s.last_failure.iter().map(last_failure_line))
    .chain(phase_closing_lines(s))
    .collect()
}

/// A broker source's closing lines: its counts, then the first malformed payloads.
fn broker_lines(b: &crate::engine::snapshot::BrokerView, rejected: u64) -> Vec<String> {
    let mut lines = vec![format!(
        "# source {}: received {}, acked {}, duplicates {}, rejected {rejected}, reconnects {}, claimed {}",
        b.group.as_deref().unwrap_or(&b.url),
        b.received,
        b.acked,
        b.duplicates,
        b.reconnects,
        b.claimed
    )];
    lines.extend(
        b.first_rejected
            .iter()
            .map(|r| format!("# rejected message: {r}")),
    );
    lines
}

/// Writes the time series as CSV, appending only points it has not written yet.
pub struct CsvWriter {
    out: BufWriter<File>,
    last_t_ns: Option<u64>,
}

impl CsvWriter {
    /// Creates the file and writes the header now, so an unwritable path (a directory, a full
    /// disk, a file that opens but refuses writes) fails before the run starts.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        writeln!(
            out,
            "t_s,queue_depth,arrivals_per_s,completions_per_s,busy_workers"
        )?;
        out.flush()?;
        Ok(Self {
            out,
            last_t_ns: None,
        })
    }

    pub fn append(&mut self, series: &[SeriesPoint]) -> io::Result<()> {
        let start = match self.last_t_ns {
            Some(last) => series.partition_point(|p| p.t_ns <= last),
            None => 0,
        };
        for p in &series[start..] {
            writeln!(
                self.out,
                "{:.3},{},{:.3},{:.3},{}",
                p.t_ns as f64 / 1e9,
                p.queue_depth,
                p.arrivals_per_s,
                p.completions_per_s,
                p.busy_workers
            )?;
            self.last_t_ns = Some(p.t_ns);
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

pub struct HeadlessOptions {
    pub json: bool,
    pub csv: Option<CsvWriter>,
    /// Comment lines printed under the settings line at the top of the log.
    pub preamble: Vec<String>,
    /// Timed lines from outside the engine (a scenario's steps and captions): (model ns, line),
    /// in time order. The log prints each among the engine's lines at its time.
    pub notes: Option<tokio::sync::mpsc::UnboundedReceiver<(u64, String)>>,
    /// The autoscaling policy, if one runs: its tallies go into the JSON.
    pub autoscale: Option<tokio::sync::watch::Receiver<AutoscaleView>>,
}

/// Timed lines that are not trace records (a scenario's steps and captions, the verdict's
/// changes), waiting for their time among the records.
struct Notes {
    rx: Option<tokio::sync::mpsc::UnboundedReceiver<(u64, String)>>,
    waiting: std::collections::VecDeque<(u64, String)>,
}

impl Notes {
    fn receive(&mut self) {
        if let Some(rx) = &mut self.rx {
            while let Ok((at_ns, line)) = rx.try_recv() {
                insert_in_order(&mut self.waiting, at_ns, line);
            }
        }
    }

    fn insert(&mut self, at_ns: u64, line: String) {
        insert_in_order(&mut self.waiting, at_ns, line);
    }

    /// Writes every note at or before `until_ns`.
    fn write_until(&mut self, out: &mut impl Write, until_ns: u64) -> io::Result<()> {
        while self.waiting.front().is_some_and(|(t, _)| *t <= until_ns) {
            if let Some((_, line)) = self.waiting.pop_front() {
                writeln!(out, "{line}")?;
            }
        }
        Ok(())
    }
}

/// Two sources add notes, each in its own time order: keep them in one (after notes of the same time).
fn insert_in_order(
    waiting: &mut std::collections::VecDeque<(u64, String)>,
    at_ns: u64,
    line: String,
) {
    let at = waiting.partition_point(|(t, _)| *t <= at_ns);
    waiting.insert(at, (at_ns, line));
}

/// A change of the verdict as the log prints it: `12.345s verdict  overloaded: backlog grows
/// by 1/s, needs ≥ 5 workers` (a column like the source's and the workers').
pub struct VerdictLine<'a>(pub &'a VerdictChange);

impl std::fmt::Display for VerdictLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0.at_ns as f64 / 1e9;
        write!(f, "{t:.3}s verdict  {}", self.0.verdict.text())
    }
}

/// The log being written: trace records put back in time order, notes and verdict changes
/// among them.
struct Log {
    trace: flume::Receiver<Trace>,
    reorder: Reorder,
    notes: Notes,
    verdicts: VerdictChanges,
    phases: PhaseLines,
    /// The first event was submitted: from then on, workers joining are news.
    started: bool,
    /// Records are held back this long (model time) so late reports from other threads sort in.
    hold_ns: u64,
}

impl Log {
    fn new(trace: flume::Receiver<Trace>, options: &mut HeadlessOptions, speed: f64) -> Self {
        Self {
            trace,
            reorder: Reorder::default(),
            notes: Notes {
                rx: options.notes.take(),
                waiting: std::collections::VecDeque::new(),
            },
            verdicts: VerdictChanges::default(),
            phases: PhaseLines::default(),
            started: false,
            hold_ns: (200_000_000.0 * speed) as u64,
        }
    }

    /// Writes every line whose time has come by snapshot `s`: all of them once the run is over.
    fn write(&mut self, out: &mut impl Write, s: &Snapshot) -> io::Result<()> {
        self.trace.try_iter().for_each(|t| self.reorder.push(t));
        self.notes.receive();
        if let Some(change) = self.verdicts.observe(s) {
            self.notes
                .insert(change.at_ns, VerdictLine(&change).to_string());
        }
        for (at_ns, line) in self.phases.observe(s) {
            self.notes.insert(at_ns, line);
        }
        let until = self.until(s);
        for t in self.reorder.pop_until(until) {
            self.notes.write_until(out, t.at_ns())?;
            // The pool coming up at the start is not news; later joins and leaves are.
            self.started |= matches!(t, Trace::Submitted { .. });
            if self.started || !matches!(t, Trace::WorkerUp { .. }) {
                writeln!(out, "{}", LogLine(&t))?;
            }
        }
        self.notes.write_until(out, until)?;
        out.flush()
    }

    /// Lines up to this model time can be written now.
    fn until(&self, s: &Snapshot) -> u64 {
        if s.state.is_over() {
            return u64::MAX;
        }
        // Reports the aggregator has not applied yet (it lags on a starved core) would come
        // later with earlier times: hold back from what it has applied, not from now.
        let until = s
            .now_ns
            .min(s.reports_applied_ns)
            .saturating_sub(self.hold_ns);
        // A verdict change still being decided will be stamped with the time it was first seen:
        // holding later lines back until it is decided keeps the log in time order.
        self.verdicts
            .pending_since_ns()
            .map_or(until, |since| until.min(since))
    }
}

/// Runs until the engine finishes, or stops it at the first of `signals` (abandoning the queue)
/// and reports; prints the log or the JSON summary.
pub async fn run(
    handle: &EngineHandle,
    options: HeadlessOptions,
    signals: QuitSignals,
) -> io::Result<Arc<Snapshot>> {
    run_saving(handle, options, signals, None).await
}

/// [`run`], saving the run into `save`: every snapshot this face shows (so a replay's summary
/// is made of the same ones), and the log's records read through it (the engine's trace has
/// one reader).
pub async fn run_saving(
    handle: &EngineHandle,
    mut options: HeadlessOptions,
    mut signals: QuitSignals,
    save: Option<&crate::runlog::RunLogWriter>,
) -> io::Result<Arc<Snapshot>> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let speed = handle.snapshot().speed;
    let trace = match save {
        Some(writer) => writer.tee(),
        None => handle.trace(),
    };
    let mut log = trace.map(|trace| Log::new(trace, &mut options, speed));
    let mut snapshots = handle.subscribe();
    if !options.json {
        write_preamble(&mut out, handle, &options.preamble)?;
    }
    // Every snapshot the run shows (about one per PUBLISH_EVERY) feeds the JSON's warnings.
    let mut warnings = WarningHistory::default();
    let last = loop {
        tokio::select! {
            changed = snapshots.changed() => {
                let snapshot = Arc::clone(&snapshots.borrow_and_update());
                warnings.observe(&snapshot);
                if let Some(writer) = save {
                    writer.sender().snapshot(&snapshot);
                    if snapshot.state.is_over() {
                        writer.sender().drain();
                    }
                }
                if let Some(csv) = options.csv.as_mut() {
                    csv.append(&snapshot.series)?;
                }
                if let Some(log) = log.as_mut() {
                    log.write(&mut out, &snapshot)?;
                }
                if changed.is_err() || snapshot.state.is_over() {
                    break snapshot;
                }
            }
            () = signals.recv() => handle.send(crate::engine::Command::Stop),
        }
    };
    if let (Some(writer), Some(view)) = (save, &options.autoscale) {
        // The replay's summary has it from here: no snapshot carries the policy's tallies.
        let tallies = serde_json::to_string(&AutoscaleJson::from(&*view.borrow()))
            .map_err(io::Error::other)?;
        writer
            .sender()
            .mark(last.now_ns, crate::runlog::MarkKind::Autoscale, tallies);
    }
    finish(&mut out, handle, options, &last, &warnings)?;
    Ok(last)
}

/// The log's first lines: the run's settings and source, then the face's own (a scenario's).
fn write_preamble(
    out: &mut impl Write,
    handle: &EngineHandle,
    preamble: &[String],
) -> io::Result<()> {
    let snapshot = handle.snapshot();
    writeln!(
        out,
        "{}",
        describe(&handle.settings(), snapshot.seed, &snapshot.source)
    )?;
    for line in preamble {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Closes the CSV, then prints the summary: the JSON, or the log's closing lines.
fn finish(
    out: &mut impl Write,
    handle: &EngineHandle,
    options: HeadlessOptions,
    last: &Snapshot,
    warnings: &WarningHistory,
) -> io::Result<()> {
    if let Some(csv) = options.csv {
        csv.finish()?;
    }
    // An engine thread panicked: the figures are incomplete; the caller reports the fault.
    if let Some(fault) = handle.fault() {
        out.flush()?;
        return Err(io::Error::other(fault));
    }
    if options.json {
        let summary = Summary {
            autoscale: options.autoscale.map(|v| AutoscaleJson::from(&*v.borrow())),
            ..Summary::from_snapshot(last, warnings)
        };
        serde_json::to_writer_pretty(&mut *out, &summary).map_err(io::Error::other)?;
        writeln!(out)?;
    } else {
        for line in closing_lines(last) {
            writeln!(out, "{line}")?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reorder_sorts_by_time_and_holds_back_later_ones() {
        let mut r = Reorder::default();
        r.push(Trace::Started {
            worker: 1,
            id: 1,
            at_ns: 20,
            demand_ns: 0,
        });
        r.push(Trace::Submitted {
            id: 1,
            at_ns: 10,
            blocked_ns: 0,
        });
        r.push(Trace::Submitted {
            id: 2,
            at_ns: 30,
            blocked_ns: 0,
        });
        assert_eq!(
            r.pop_until(25),
            vec![
                Trace::Submitted {
                    id: 1,
                    at_ns: 10,
                    blocked_ns: 0
                },
                Trace::Started {
                    worker: 1,
                    id: 1,
                    at_ns: 20,
                    demand_ns: 0
                }
            ]
        );
        assert_eq!(
            r.pop_until(u64::MAX),
            vec![Trace::Submitted {
                id: 2,
                at_ns: 30,
                blocked_ns: 0
            }]
        );
    }

    #[test]
    fn log_lines_read_like_the_article() {
        assert_eq!(
            LogLine(&Trace::Submitted {
                id: 1,
                at_ns: 1_000_000_000,
                blocked_ns: 0
            })
            .to_string(),
            "1.000s source   submitted event 1"
        );
        assert_eq!(
            LogLine(&Trace::Started {
                worker: 3,
                id: 1,
                at_ns: 1_000_000_000,
                demand_ns: 5_000_000_000
            })
            .to_string(),
            "1.000s worker 3 started event 1"
        );
        assert_eq!(
            LogLine(&Trace::Finished {
                worker: 3,
                id: 4,
                at_ns: 6_001_000_000,
                outcome: Outcome::Succeeded { result: Some(16) }
            })
            .to_string(),
            "6.001s worker 3 finished event 4 (result 16)"
        );
    }

    #[test]
    fn a_verdict_line_reads_like_the_others() {
        let change = VerdictChange {
            at_ns: 12_345_000_000,
            verdict: Verdict::Overloaded {
                growth_per_s: 1.0,
                needs: Some(5),
                queued_in: None,
            },
        };
        assert_eq!(
            VerdictLine(&change).to_string(),
            "12.345s verdict  overloaded: backlog grows by 1/s, needs ≥ 5 workers"
        );
    }

    #[test]
    fn notes_from_two_sources_stay_in_time_order() {
        let mut waiting = std::collections::VecDeque::new();
        insert_in_order(&mut waiting, 10, "scenario at 10".into());
        insert_in_order(&mut waiting, 30, "scenario at 30".into());
        insert_in_order(&mut waiting, 20, "verdict at 20".into());
        insert_in_order(&mut waiting, 10, "verdict at 10".into());
        let lines: Vec<&str> = waiting.iter().map(|(_, line)| line.as_str()).collect();
        assert_eq!(
            lines,
            [
                "scenario at 10",
                "verdict at 10",
                "verdict at 20",
                "scenario at 30"
            ]
        );
    }

    /// The CI failure of `every_bundled_scenario_plays_headless_to_its_end` (burst): the
    /// aggregator, on a starved core, published snapshots at the clock's time while a worker's
    /// report of a start 14.8 s (model) earlier was still in its channel; the log wrote the
    /// source's later lines first. The log holds back from what the aggregator has applied.
    #[test]
    fn a_report_the_aggregator_has_not_applied_yet_still_sorts_in() {
        let (tx, rx) = flume::unbounded();
        let mut options = HeadlessOptions {
            json: false,
            csv: None,
            preamble: vec![],
            notes: None,
            autoscale: None,
        };
        let mut log = Log::new(rx, &mut options, 40.0);
        let s = 1_000_000_000;
        let lagging = Snapshot {
            now_ns: 81 * s,
            reports_applied_ns: 58 * s,
            ..Snapshot::default()
        };
        tx.send(Trace::Submitted {
            id: 703,
            at_ns: 72 * s,
            blocked_ns: 0,
        })
        .unwrap();
        let mut out = Vec::new();
        log.write(&mut out, &lagging).unwrap();
        // The start is applied later: its line must come first all the same.
        tx.send(Trace::Started {
            worker: 3,
            id: 530,
            at_ns: 58 * s + s / 10,
            demand_ns: 0,
        })
        .unwrap();
        let over = Snapshot {
            state: crate::engine::snapshot::RunState::Finished,
            now_ns: 82 * s,
            reports_applied_ns: 82 * s,
            ..Snapshot::default()
        };
        log.write(&mut out, &over).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "58.100s worker 3 started event 530",
                "72.000s source   submitted event 703"
            ]
        );
    }
}
