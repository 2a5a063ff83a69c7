//! State shared by the source, the pool and the aggregator: the clock, the source's counters, the flags.

use std::any::Any;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use super::clock::Clock;
use super::settings::WorkMode;

pub(crate) struct Shared {
    pub clock: Clock,
    /// Events the source created and put in (or tried to put in) the queue.
    pub generated: AtomicU64,
    /// Events the source dropped (drop-new) or evicted (drop-old).
    pub dropped: AtomicU64,
    /// The source will create no more events.
    pub source_ended: AtomicBool,
    /// Model time the source ended, ns (valid once `source_ended`).
    pub source_end_ns: AtomicU64,
    /// Abandon everything: workers stop mid-event and leave.
    pub stop: AtomicBool,
    /// Workers with an id above this retire after their current event.
    pub target_workers: AtomicUsize,
    work_mode: AtomicU8,
    /// The source waits for room in a full `block` queue; workers wake it.
    pub source_blocked: AtomicBool,
    pub room: Notify,
    /// Why the engine stopped by itself: a panic in one of its threads (a bug); the first wins.
    pub fault: OnceLock<String>,
}

impl Shared {
    pub fn new(clock: Clock, workers: usize, work: WorkMode) -> Self {
        Self {
            clock,
            generated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            source_ended: AtomicBool::new(false),
            source_end_ns: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            target_workers: AtomicUsize::new(workers),
            work_mode: AtomicU8::new(work as u8),
            source_blocked: AtomicBool::new(false),
            room: Notify::new(),
            fault: OnceLock::new(),
        }
    }

    /// An engine thread panicked outside the work: its counts can no longer be trusted, so the
    /// engine stops and the faces report the fault instead of showing a run that went wrong.
    pub fn fail(&self, thread: &str, payload: &(dyn Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_string());
        let _ = self.fault.set(format!("{thread} panicked: {message}"));
        self.stop.store(true, Ordering::Release);
        self.room.notify_one();
    }

    pub fn work_mode(&self) -> WorkMode {
        match self.work_mode.load(Ordering::Relaxed) {
            x if x == WorkMode::Cpu as u8 => WorkMode::Cpu,
            _ => WorkMode::Sleep,
        }
    }

    pub fn set_work_mode(&self, mode: WorkMode) {
        self.work_mode.store(mode as u8, Ordering::Relaxed);
    }

    /// Called by a worker after taking an event: wakes a source waiting for room.
    pub fn made_room(&self) {
        if self.source_blocked.load(Ordering::Relaxed)
            && self.source_blocked.swap(false, Ordering::AcqRel)
        {
            self.room.notify_one();
        }
    }
}
