//! State shared by the source, the pool and the aggregator: the clock, the source's counters, the flags.

use std::any::Any;
use std::sync::{Mutex, OnceLock, PoisonError};

use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tokio::sync::Notify;

use super::ack::Settled;
use super::clock::Clock;
use super::event::Event;
use super::pool::Bench;
use super::snapshot::{LatencySummary, PhaseCause};
use super::stats::{ArrivalLedger, MAX_PHASES, new_histogram, summarise};

/// Settings changes this soon (wall time) after a phase began join it: the commands of one
/// scenario step, a key pressed a few times in a row.
const PHASE_MERGE: std::time::Duration = std::time::Duration::from_millis(250);

/// Source lateness needs no finer than 1%.
pub(crate) const LATENESS_SIGFIG: u8 = 2;
use super::work::{CpuMeter, Plan, PlanCell};

/// A settings change: when, by whom, and whether it began a phase (see
/// `ArrivalLedger::begin_phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChangeMark {
    pub at_ns: u64,
    pub cause: PhaseCause,
    pub new_phase: bool,
}

pub(crate) struct Shared {
    pub clock: Clock,
    /// Events the source created and put in (or tried to put in) the queue.
    pub generated: AtomicU64,
    /// Every arrival's time, for the exact time-average queue length (see `stats::arrivals`).
    pub arrivals: ArrivalLedger,
    /// Events the source dropped (drop-new), evicted (drop-old) or abandoned at its end.
    pub dropped: AtomicU64,
    /// Events that have arrived and wait at the source for room in a full `block` queue.
    pub held: AtomicU64,
    /// Input the source could not make an event of (a line over the longest accepted).
    pub rejected: AtomicU64,
    /// Lines of input read so far (stdin), the rejected ones included.
    pub lines_read: AtomicU64,
    /// Why the source's input failed, if it did (it ends the source).
    pub source_error: OnceLock<String>,
    /// Changes of settings under way: applied (or being applied) and their phase's mark not
    /// made yet (`EngineHandle::send_from`). While one is, the statistics do not take the
    /// settings they read for the current phase's: they may be the next phase's.
    pub changing: AtomicUsize,
    /// The sum of the demands of the events in the queue, model ns: added as an event enters,
    /// taken off as a worker takes it or it is evicted (events held at the source are not in).
    pub queued_demand_ns: AtomicU64,
    /// The source was asked to end early (`Command::EndSource`): it stops after the event it
    /// is putting in the queue, then sets `source_ended`.
    pub end_requested: AtomicBool,
    /// The source has ended: it will create no more events.
    pub source_ended: AtomicBool,
    /// Model time the source ended, ns (valid once `source_ended`).
    pub source_end_ns: AtomicU64,
    /// Abandon everything: workers stop mid-event and leave.
    pub stop: AtomicBool,
    /// Workers with an id above this retire after their current event.
    pub target_workers: AtomicUsize,
    /// Model time a worker started while the run goes waits before it takes events (an
    /// autoscaler's `warmup`); 0 for none.
    pub warmup_ns: AtomicU64,
    /// What workers do for an event (the work kind and injected failures), changed by commands.
    pub plan: PlanCell,
    /// Per worker (index = id - 1): the CPU time its current cpu job has received.
    pub cpu_meters: Box<[CpuMeter]>,
    /// The source waits for room in a full `block` queue; workers wake it.
    pub source_blocked: AtomicBool,
    pub room: Notify,
    /// Wakes the source early (stop, end).
    pub wake_source: Notify,
    /// Model time the source's next event is due, ns (`u64::MAX`: none scheduled, e.g. paused).
    /// An idle worker reads it to be awake and spinning when that event arrives (the doorbell).
    pub next_due_ns: AtomicU64,
    /// One idle worker at a time watches the doorbell (and waits on the queue)...
    pub doorbell_watched: AtomicBool,
    /// ...the other idle workers wait here.
    pub bench: Bench,
    /// Why the engine stopped by itself: a panic in one of its threads (a bug); the first wins.
    pub fault: OnceLock<String>,
    /// How late the source let events in after they were due (see `source::Pacing`).
    source_lateness: Mutex<Histogram<u64>>,
    /// Set by a source that acks at its broker: each event is settled here (see `ack`).
    pub acks: OnceLock<flume::Sender<Settled>>,
}

impl Shared {
    /// A change made now by `cause`: it begins a phase unless it joins the current one.
    pub fn mark(&self, cause: PhaseCause) -> ChangeMark {
        let at_ns = self.clock.now_ns();
        let merge_ns = self.clock.model_ns(PHASE_MERGE);
        ChangeMark {
            at_ns,
            cause,
            new_phase: self.arrivals.begin_phase(at_ns, merge_ns, MAX_PHASES),
        }
    }

    pub fn new(clock: Clock, workers: usize, max_workers: usize, plan: Plan) -> Self {
        Self {
            clock,
            generated: AtomicU64::new(0),
            arrivals: ArrivalLedger::default(),
            dropped: AtomicU64::new(0),
            held: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            lines_read: AtomicU64::new(0),
            source_error: OnceLock::new(),
            changing: AtomicUsize::new(0),
            queued_demand_ns: AtomicU64::new(0),
            end_requested: AtomicBool::new(false),
            source_ended: AtomicBool::new(false),
            source_end_ns: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            target_workers: AtomicUsize::new(workers),
            warmup_ns: AtomicU64::new(0),
            plan: PlanCell::new(plan),
            cpu_meters: (0..max_workers).map(|_| CpuMeter::default()).collect(),
            source_blocked: AtomicBool::new(false),
            room: Notify::new(),
            wake_source: Notify::new(),
            next_due_ns: AtomicU64::new(u64::MAX),
            doorbell_watched: AtomicBool::new(false),
            bench: Bench::default(),
            fault: OnceLock::new(),
            source_lateness: Mutex::new(new_histogram(LATENESS_SIGFIG)),
            acks: OnceLock::new(),
        }
    }

    /// An engine thread panicked outside the work: its counts can no longer be trusted, so the
    /// engine stops and the faces report the fault instead of showing a run that went wrong.
    /// `event` enters the queue: its demand is queued work.
    pub fn enqueued(&self, event: &Event) {
        let demand_ns = event.demand_ns().unwrap_or(0);
        self.queued_demand_ns.fetch_add(demand_ns, Ordering::AcqRel);
    }

    /// `event` leaves the queue (a worker took it, or it was evicted).
    pub fn dequeued(&self, event: &Event) {
        let demand_ns = event.demand_ns().unwrap_or(0);
        self.queued_demand_ns.fetch_sub(demand_ns, Ordering::AcqRel);
    }

    pub fn fail(&self, thread: &str, payload: &(dyn Any + Send)) {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_string());
        self.fail_with(format!("{thread} panicked: {message}"));
    }

    /// The engine cannot go on (see `fail`): records why and stops.
    pub fn fail_with(&self, why: String) {
        let _ = self.fault.set(why);
        self.halt();
    }

    /// Stops everything and wakes whoever waits (the source, parked workers), so they see it.
    pub fn halt(&self) {
        self.stop.store(true, Ordering::Release);
        self.wake_source.notify_one();
        self.room.notify_one();
        self.bench.wake_all();
    }

    /// Whether the source should create no more events: stopped, or asked to end.
    pub fn source_should_end(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.end_requested.load(Ordering::Relaxed)
    }

    /// Adds a source's lateness samples to the run's.
    pub fn add_lateness(&self, samples: &Histogram<u64>) {
        let mut lateness = self
            .source_lateness
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        lateness.add(samples).ok();
    }

    /// The run's source lateness so far, summarised.
    pub fn lateness(&self) -> LatencySummary {
        let lateness = self
            .source_lateness
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        summarise(&lateness)
    }

    /// Tells a source that acks what became of one of its events; nothing for other sources.
    #[inline]
    pub fn settle(&self, settled: Settled) {
        if let Some(acks) = self.acks.get() {
            let _ = acks.send(settled);
        }
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
