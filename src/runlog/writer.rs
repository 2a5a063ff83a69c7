//! Writing a run log off the hot path: a thread of its own drains the engine's trace and the
//! faces' snapshots and marks, batches them into frames, compresses and writes them.
//!
//! The engine is never held up: its trace channel is unbounded and drained here; if the writer
//! falls more than `TRACE_BACKLOG` records behind, it drops what is waiting, counts it and says
//! so in a `lost` mark. Snapshots and marks go through a bounded channel; one that finds it full
//! is counted as lost, never waited for.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use flume::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::format::{
    EndInfo, FrameHeader, FrameKind, MAGIC, Mark, MarkKind, RunInfo, TraceEncoder, VERSION,
};
use crate::engine::{Snapshot, Trace};

/// Snapshots per frame: about a second of a run (the engine publishes every 50 ms).
const SNAPSHOTS_PER_FRAME: u32 = 20;
/// A trace frame is written once its raw body reaches this.
const TRACE_FRAME_BYTES: usize = 1 << 20;
/// Past this many records waiting in the engine's trace, the writer drops them (and counts).
pub const TRACE_BACKLOG: usize = 1 << 21;
/// Snapshots and marks waiting for the writer.
const ITEM_CAPACITY: usize = 1024;
/// zstd's level: fast, and most of the gain (level 19 saves a few % more at ten times the CPU).
const LEVEL: i32 = 3;

/// A run log opened for writing, its header and settings written, before the run starts (so a
/// path that cannot be written is refused before anything runs).
pub struct RunLogFile {
    out: BufWriter<File>,
}

impl RunLogFile {
    pub fn create(path: &Path, info: &RunInfo) -> io::Result<Self> {
        let mut out = BufWriter::new(File::create(path)?);
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        let body = serde_json::to_vec(info).map_err(io::Error::other)?;
        write_frame(&mut out, FrameKind::Info, 1, (0, 0), &body)?;
        out.flush()?;
        Ok(Self { out })
    }

    /// Starts the writer thread on the engine's `trace` (if the run has one). With `tee`, every
    /// trace record is also passed on to [`RunLogWriter::tee`] (the headless log reads it there:
    /// the engine's channel has one reader).
    pub fn start(self, trace: Option<Receiver<Trace>>, tee: bool) -> io::Result<RunLogWriter> {
        let (items_tx, items_rx) = flume::bounded(ITEM_CAPACITY);
        let (tee_tx, tee_rx) = tee.then(flume::unbounded).unzip();
        let lost = Arc::new(AtomicU64::new(0));
        let frames = Frames::new(self.out);
        let thread_lost = Arc::clone(&lost);
        let thread = std::thread::Builder::new()
            .name("backlog-runlog".into())
            .spawn(move || {
                write_loop(
                    frames,
                    &items_rx,
                    trace.as_ref(),
                    tee_tx.as_ref(),
                    &thread_lost,
                )
            })?;
        Ok(RunLogWriter {
            sender: RunLogSender {
                items: items_tx,
                lost,
            },
            tee: tee_rx,
            thread,
        })
    }
}

/// What faces hand the writer; cheap to clone.
#[derive(Clone)]
pub struct RunLogSender {
    items: Sender<Item>,
    lost: Arc<AtomicU64>,
}

enum Item {
    Snapshot(Arc<Snapshot>),
    Mark(Mark),
    /// Pass on every trace record waiting, then say so.
    Drain(Sender<()>),
}

impl RunLogSender {
    /// Records a snapshot the face has shown (never waits: counted as lost if the buffer is full).
    pub fn snapshot(&self, snapshot: &Arc<Snapshot>) {
        self.offer(Item::Snapshot(Arc::clone(snapshot)));
    }

    /// Records a caption, a step or another named moment.
    pub fn mark(&self, at_ns: u64, kind: MarkKind, text: impl Into<String>) {
        self.offer(Item::Mark(Mark {
            at_ns,
            kind,
            text: text.into(),
        }));
    }

    /// Waits (a second at most) until the writer has passed on every trace record the engine
    /// has sent so far: the headless log, reading them through the writer, then has them all.
    pub fn drain(&self) {
        let (done_tx, done_rx) = flume::bounded(1);
        let wait = Duration::from_secs(1);
        if self.items.send_timeout(Item::Drain(done_tx), wait).is_ok() {
            let _ = done_rx.recv_timeout(wait);
        }
    }

    fn offer(&self, item: Item) {
        if let Err(TrySendError::Full(_)) = self.items.try_send(item) {
            self.lost.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The writer thread and the ways in.
pub struct RunLogWriter {
    sender: RunLogSender,
    tee: Option<Receiver<Trace>>,
    thread: JoinHandle<io::Result<EndInfo>>,
}

impl RunLogWriter {
    pub fn sender(&self) -> &RunLogSender {
        &self.sender
    }

    /// The trace records, passed on as written (if started with `tee`).
    pub fn tee(&self) -> Option<Receiver<Trace>> {
        self.tee.clone()
    }

    /// Writes what is left and the closing counts; returns them. Every clone of the sender must
    /// be gone (or going) for this to return.
    pub fn finish(self, last: Option<&Arc<Snapshot>>) -> io::Result<EndInfo> {
        if let Some(last) = last {
            // The last snapshot is the summary's: wait for room rather than lose it.
            let _ = self.sender.items.send(Item::Snapshot(Arc::clone(last)));
        }
        drop(self.sender);
        drop(self.tee);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the run log's writer panicked")))
    }
}

fn write_loop(
    mut frames: Frames,
    items: &Receiver<Item>,
    trace: Option<&Receiver<Trace>>,
    tee: Option<&Sender<Trace>>,
    lost_items: &AtomicU64,
) -> io::Result<EndInfo> {
    loop {
        if let Some(trace) = trace {
            frames.drain_traces(trace, tee)?;
        }
        match items.recv_timeout(Duration::from_millis(10)) {
            Ok(Item::Snapshot(s)) => frames.snapshot(&s)?,
            Ok(Item::Mark(m)) => frames.marks(&[m])?,
            Ok(Item::Drain(done)) => {
                if let Some(trace) = trace {
                    frames.drain_traces(trace, tee)?;
                }
                let _ = done.send(());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Some(trace) = trace {
        frames.drain_traces(trace, tee)?;
    }
    frames.end.lost_snapshots = lost_items.load(Ordering::Relaxed);
    frames.close()
}

/// Writes one frame: header, then the compressed body.
fn write_frame(
    out: &mut impl Write,
    kind: FrameKind,
    count: u32,
    (first_ns, last_ns): (u64, u64),
    raw: &[u8],
) -> io::Result<()> {
    let packed = zstd::bulk::compress(raw, LEVEL)?;
    let len = |n: usize| u32::try_from(n).map_err(|_| io::Error::other("a frame over 4 GiB"));
    let header = FrameHeader {
        kind,
        count,
        first_ns,
        last_ns: last_ns.max(first_ns),
        raw_len: len(raw.len())?,
        packed_len: len(packed.len())?,
    };
    out.write_all(&header.encode())?;
    out.write_all(&packed)
}

/// Records gathered into the frame being built, one batch per kind.
struct Batch {
    raw: Vec<u8>,
    count: u32,
    first_ns: u64,
    last_ns: u64,
}

impl Batch {
    fn new() -> Self {
        Self {
            raw: Vec::new(),
            count: 0,
            first_ns: u64::MAX,
            last_ns: 0,
        }
    }

    fn note(&mut self, at_ns: u64) {
        self.count += 1;
        self.first_ns = self.first_ns.min(at_ns);
        self.last_ns = self.last_ns.max(at_ns);
    }
}

/// The frames being built and the file they go to.
struct Frames {
    out: BufWriter<File>,
    snapshots: Batch,
    traces: Batch,
    encoder: TraceEncoder,
    end: EndInfo,
    /// The last phase a `change` mark was written for.
    last_phase: usize,
    last_snapshot: Option<Arc<Snapshot>>,
}

impl Frames {
    fn new(out: BufWriter<File>) -> Self {
        Self {
            out,
            snapshots: Batch::new(),
            traces: Batch::new(),
            encoder: TraceEncoder::default(),
            end: EndInfo::default(),
            last_phase: 1,
            last_snapshot: None,
        }
    }

    fn drain_traces(
        &mut self,
        trace: &Receiver<Trace>,
        tee: Option<&Sender<Trace>>,
    ) -> io::Result<()> {
        let waiting = trace.len();
        if waiting > TRACE_BACKLOG {
            let lost = trace.try_iter().take(waiting).count() as u64;
            self.end.lost_traces += lost;
            let at_ns = self.traces.last_ns;
            let text = format!("lost {lost} trace records: the writer fell behind");
            return self.marks(&[Mark {
                at_ns,
                kind: MarkKind::Lost,
                text,
            }]);
        }
        for record in trace.try_iter().take(waiting) {
            self.encoder.encode(&record, &mut self.traces.raw);
            self.traces.note(record.at_ns());
            self.end.traces += 1;
            if let Some(tee) = tee {
                let _ = tee.send(record);
            }
            if self.traces.raw.len() >= TRACE_FRAME_BYTES {
                self.flush_traces()?;
            }
        }
        Ok(())
    }

    fn snapshot(&mut self, s: &Arc<Snapshot>) -> io::Result<()> {
        if self
            .last_snapshot
            .as_ref()
            .is_some_and(|last| Arc::ptr_eq(last, s))
        {
            return Ok(());
        }
        let changes = change_marks(s, self.last_phase);
        self.last_phase = self.last_phase.max(s.phases.len());
        if !changes.is_empty() {
            self.marks(&changes)?;
        }
        serde_json::to_writer(&mut self.snapshots.raw, &**s).map_err(io::Error::other)?;
        self.snapshots.raw.push(b'\n');
        self.snapshots.note(s.now_ns);
        self.end.snapshots += 1;
        self.last_snapshot = Some(Arc::clone(s));
        if self.snapshots.count >= SNAPSHOTS_PER_FRAME {
            // Traces first: a log cut short then holds every record the snapshots reflect.
            self.flush_traces()?;
            self.flush_snapshots()?;
        }
        Ok(())
    }

    fn marks(&mut self, marks: &[Mark]) -> io::Result<()> {
        let mut raw = Vec::new();
        for m in marks {
            serde_json::to_writer(&mut raw, m).map_err(io::Error::other)?;
            raw.push(b'\n');
        }
        let first = marks.iter().map(|m| m.at_ns).min().unwrap_or(0);
        let last = marks.iter().map(|m| m.at_ns).max().unwrap_or(0);
        write_frame(
            &mut self.out,
            FrameKind::Marks,
            marks.len() as u32,
            (first, last),
            &raw,
        )?;
        self.out.flush()
    }

    fn flush_traces(&mut self) -> io::Result<()> {
        let batch = std::mem::replace(&mut self.traces, Batch::new());
        self.encoder = TraceEncoder::default();
        self.flush(FrameKind::Traces, batch)
    }

    fn flush_snapshots(&mut self) -> io::Result<()> {
        let batch = std::mem::replace(&mut self.snapshots, Batch::new());
        self.flush(FrameKind::Snapshots, batch)
    }

    fn flush(&mut self, kind: FrameKind, batch: Batch) -> io::Result<()> {
        if batch.count == 0 {
            return Ok(());
        }
        write_frame(
            &mut self.out,
            kind,
            batch.count,
            (batch.first_ns, batch.last_ns),
            &batch.raw,
        )?;
        self.out.flush()
    }

    fn close(mut self) -> io::Result<EndInfo> {
        self.flush_traces()?;
        self.flush_snapshots()?;
        let body = serde_json::to_vec(&self.end).map_err(io::Error::other)?;
        write_frame(&mut self.out, FrameKind::End, 1, (0, 0), &body)?;
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok(self.end)
    }
}

/// A `change` mark for each phase `s` shows past `seen` (the first phase is the start, not a
/// change): when, what started it, what changed.
fn change_marks(s: &Snapshot, seen: usize) -> Vec<Mark> {
    s.phases
        .iter()
        .enumerate()
        .skip(seen.max(1))
        .map(|(i, phase)| {
            let before = &s.phases[i - 1].settings;
            Mark {
                at_ns: phase.start_ns,
                kind: MarkKind::Change,
                text: format!(
                    "phase {} ({}): {}",
                    phase.index,
                    phase.cause.name(),
                    settings_diff(before, &phase.settings)
                ),
            }
        })
        .collect()
}

/// What differs between two settings, as `workers 4 → 5, rate 9/s → 18/s`.
pub fn settings_diff(before: &crate::engine::Settings, after: &crate::engine::Settings) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return "settings changed".into();
    };
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "none".into(),
        other => other.to_string(),
    };
    let changed: Vec<String> = b
        .iter()
        .filter(|(key, value)| a.get(key.as_str()) != Some(*value))
        .map(|(key, value)| {
            let old = a.get(key).map(shown).unwrap_or_default();
            format!("{} {old} → {}", key.replace('_', " "), shown(value))
        })
        .collect();
    if changed.is_empty() {
        "settings changed".into()
    } else {
        changed.join(", ")
    }
}

impl RunInfo {
    /// What a run's log starts with: its settings as it starts, and how it was set up.
    pub fn of(config: &crate::engine::EngineConfig, scenario: Option<&str>) -> Self {
        Self {
            backlog_version: env!("CARGO_PKG_VERSION").to_string(),
            settings: config.settings.clone(),
            seed: config.seed,
            speed: config.speed,
            source: config.source.name().to_string(),
            scenario: scenario.map(str::to_string),
            max_events: config.max_events,
            duration_ns: config
                .duration
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        }
    }
}

/// Records every snapshot the engine publishes (for faces that draw on their own clock, as the
/// monitor does), until the run is over or the task is aborted.
pub fn follow(
    mut snapshots: tokio::sync::watch::Receiver<Arc<Snapshot>>,
    sender: RunLogSender,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let snapshot = Arc::clone(&snapshots.borrow_and_update());
            sender.snapshot(&snapshot);
            if snapshot.state.is_over() || snapshots.changed().await.is_err() {
                break;
            }
        }
    })
}
