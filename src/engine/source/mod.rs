//! Event sources: anything that creates events and puts them in the queue through the
//! [`Admission`] it is given. A source knows nothing about the pool or the faces; it runs on a
//! thread of its own until it ends, the run's end (`max_events`, `duration`) comes, or the engine
//! stops. Kinds live one per file (`generator`).

pub mod generator;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use flume::Sender;
use tokio::sync::watch;

use super::event::Trace;
use super::queue::Admission;
use super::settings::Settings;
use super::shared::Shared;

pub use generator::Generator;

/// A kind of event source.
pub trait EventSource: Send + 'static {
    /// Its kind, for the faces ("generator").
    fn kind(&self) -> &'static str;

    /// Creates events until it ends or `io.should_end()`; blocks its thread meanwhile.
    fn run(self: Box<Self>, io: SourceIo);
}

/// What a source is given: the queue's entrance, the live settings and the run's limits.
pub struct SourceIo {
    pub(crate) shared: Arc<Shared>,
    pub(crate) settings: watch::Receiver<Settings>,
    pub(crate) admission: Admission,
    /// The source stops after this many events.
    pub max_events: Option<u64>,
    /// The source stops at this model time, ns.
    pub duration_ns: Option<u64>,
}

impl SourceIo {
    /// Whether the source should create no more events: stopped, or asked to end.
    pub fn should_end(&self) -> bool {
        self.shared.source_should_end()
    }
}

/// Runs a source on the calling thread, then records that it ended (and when).
pub(crate) fn run_to_end(source: Box<dyn EventSource>, io: SourceIo, trace: Option<Sender<Trace>>) {
    let shared = Arc::clone(&io.shared);
    let duration_ns = io.duration_ns;
    source.run(io);
    let clock = shared.clock;
    // A source that ran to its duration ended at the duration, even if it noticed late.
    let end_ns = match duration_ns {
        Some(end) if !shared.stop.load(Ordering::Relaxed) => end.min(clock.now_ns()),
        _ => clock.now_ns(),
    };
    shared.source_end_ns.store(end_ns, Ordering::Relaxed);
    shared.source_ended.store(true, Ordering::Release);
    if let Some(trace) = &trace {
        let _ = trace.send(Trace::SourceEnded { at_ns: end_ns });
    }
}
