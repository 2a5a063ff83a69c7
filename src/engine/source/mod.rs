//! Event sources: anything that creates events and puts them in the queue through the
//! [`Admission`] it is given. A source knows nothing about the pool or the faces; it runs on a
//! thread of its own until it ends, the run's end (`max_events`, `duration`) comes, or the engine
//! stops. Kinds live one per file (`generator`).

pub mod broker;
mod draws;
pub mod generator;
pub mod lines;
pub mod trace;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flume::Sender;
use hdrhistogram::Histogram;
use tokio::sync::watch;

use super::SourceKind;
use super::event::Trace;
use super::queue::Admission;
use super::settings::Settings;
use super::shared::{LATENESS_SIGFIG, Shared};
use super::snapshot::{SourceState, SourceType, SourceView, TraceProgress};
use super::stats::new_histogram;

pub use generator::Generator;
pub use lines::Lines;
pub use trace::{TraceError, TraceFile};

/// A kind of event source.
pub trait EventSource: Send + 'static {
    /// Creates events until it ends or `io.should_end()`; blocks its thread meanwhile. The
    /// queue stays open until its end is recorded, so no worker leaves before the source ends.
    fn run(self: Box<Self>, io: &mut SourceIo);
}

/// What a source is given: the queue's entrance, the live settings and the run's limits.
pub struct SourceIo {
    pub(crate) shared: Arc<Shared>,
    pub(crate) settings: watch::Receiver<Settings>,
    pub(crate) admission: Admission,
    pub pacing: Pacing,
    /// The source stops after this many events.
    pub max_events: Option<u64>,
    /// The source stops at this model time, ns.
    pub duration_ns: Option<u64>,
    /// When the source stopped creating events, if it goes on afterwards (a broker source
    /// acking the last of its events): its end is recorded at this model time.
    pub ended_at_ns: Option<u64>,
}

impl SourceIo {
    /// Whether the source should create no more events: stopped, or asked to end.
    pub fn should_end(&self) -> bool {
        self.shared.source_should_end()
    }
}

/// How late a source lets events in after they were due: recorded in a histogram of its own
/// and added to the run's every `PUBLISH_EVERY`, so the hot path takes no lock.
pub struct Pacing {
    shared: Arc<Shared>,
    samples: Histogram<u64>,
    published: Instant,
}

/// How often a source's lateness samples reach the run's figures.
const PUBLISH_EVERY: Duration = Duration::from_millis(50);

impl Pacing {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            samples: new_histogram(LATENESS_SIGFIG),
            published: Instant::now(),
        }
    }

    /// An event due at `due_ns` goes in at `now_ns` (model time).
    pub fn record(&mut self, due_ns: u64, now_ns: u64) {
        self.samples
            .saturating_record(now_ns.saturating_sub(due_ns));
    }

    /// Hands the samples over when they are due; call once per wake, not per event.
    pub fn publish_if_due(&mut self) {
        if self.published.elapsed() >= PUBLISH_EVERY {
            self.publish();
        }
    }

    fn publish(&mut self) {
        self.published = Instant::now();
        if !self.samples.is_empty() {
            self.shared.add_lateness(&self.samples);
            self.samples.reset();
        }
    }
}

impl Drop for Pacing {
    fn drop(&mut self) {
        self.publish();
    }
}

/// The source's part of each snapshot: what is known of it from the start (its kind, a trace's
/// file), and what the shared counters say as it goes.
pub(crate) struct SourceFacts {
    kind: SourceType,
    /// A trace's name, rows and passes.
    trace: Option<(String, u64, u64)>,
    broker: Option<Arc<broker::BrokerSource>>,
}

impl SourceFacts {
    pub fn of(kind: &SourceKind) -> Self {
        match kind {
            SourceKind::Generator => Self {
                kind: SourceType::Generator,
                trace: None,
                broker: None,
            },
            SourceKind::Stdin => Self {
                kind: SourceType::Stdin,
                trace: None,
                broker: None,
            },
            SourceKind::Trace(file, passes) => Self {
                kind: SourceType::Trace,
                trace: Some((file.name.clone(), file.rows.len() as u64, *passes)),
                broker: None,
            },
            SourceKind::Broker(source) => Self {
                kind: source.kind(),
                trace: None,
                broker: Some(Arc::clone(source)),
            },
        }
    }

    /// The source now: `paused` by the settings, `generated` events so far.
    pub fn view(&self, shared: &Shared, paused: bool, generated: u64) -> SourceView {
        let error = shared.source_error.get().cloned();
        let state = if error.is_some() {
            SourceState::Error
        } else if shared.source_ended.load(Ordering::Acquire) {
            SourceState::Ended
        } else if paused {
            SourceState::Paused
        } else {
            SourceState::Reading
        };
        let stdin = self.kind == SourceType::Stdin;
        let counts_rejects = stdin || self.broker.is_some();
        SourceView {
            kind: self.kind,
            state,
            lines_read: stdin.then(|| shared.lines_read.load(Ordering::Acquire)),
            rejected: counts_rejects.then(|| shared.rejected.load(Ordering::Acquire)),
            broker: self.broker.as_ref().map(|b| b.view()),
            trace: self.trace.as_ref().map(|(file, rows, passes)| {
                TraceProgress::new(file.clone(), *rows, *passes, generated)
            }),
            error,
        }
    }
}

/// Runs a source on the calling thread, then records that it ended (and when).
pub(crate) fn run_to_end(
    source: Box<dyn EventSource>,
    mut io: SourceIo,
    trace: Option<Sender<Trace>>,
) {
    let shared = Arc::clone(&io.shared);
    let duration_ns = io.duration_ns;
    source.run(&mut io);
    let clock = shared.clock;
    // A source that ran to its duration ended at the duration, even if it noticed late.
    let now_ns = io.ended_at_ns.unwrap_or_else(|| clock.now_ns());
    let end_ns = match duration_ns {
        Some(end) if !shared.stop.load(Ordering::Relaxed) => end.min(now_ns),
        _ => now_ns,
    };
    shared.source_end_ns.store(end_ns, Ordering::Relaxed);
    shared.source_ended.store(true, Ordering::Release);
    if let Some(trace) = &trace {
        let _ = trace.send(Trace::SourceEnded { at_ns: end_ns });
    }
    // Only now the queue's sender goes: idle workers leave once it has.
    drop(io);
}
