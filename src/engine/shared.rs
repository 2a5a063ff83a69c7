//! State shared by the source, the pool and the aggregator: the clock, the source's counters, the flags.

use std::any::Any;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::clock::Clock;
use super::work::{Plan, PlanCell};

pub(crate) struct Shared {
    pub clock: Clock,
    /// Events the source created and put in (or tried to put in) the queue.
    pub generated: AtomicU64,
    /// Events the source dropped (drop-new) or evicted (drop-old).
    pub dropped: AtomicU64,
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
    /// What workers do for an event (the work kind and injected failures), changed by commands.
    pub plan: PlanCell,
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
}

impl Shared {
    pub fn new(clock: Clock, workers: usize, plan: Plan) -> Self {
        Self {
            clock,
            generated: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            end_requested: AtomicBool::new(false),
            source_ended: AtomicBool::new(false),
            source_end_ns: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            target_workers: AtomicUsize::new(workers),
            plan: PlanCell::new(plan),
            source_blocked: AtomicBool::new(false),
            room: Notify::new(),
            wake_source: Notify::new(),
            next_due_ns: AtomicU64::new(u64::MAX),
            doorbell_watched: AtomicBool::new(false),
            bench: Bench::default(),
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

    /// Called by a worker after taking an event: wakes a source waiting for room.
    pub fn made_room(&self) {
        if self.source_blocked.load(Ordering::Relaxed)
            && self.source_blocked.swap(false, Ordering::AcqRel)
        {
            self.room.notify_one();
        }
    }
}

/// Where idle workers other than the doorbell's watcher wait: off the queue. flume hands an event
/// straight to a worker blocked on the queue, which then needs a thread wake-up (20-30 µs here)
/// to start it, while the watcher, already spinning for it, would have started it at once. So
/// only the watcher waits on the queue, and whoever takes an event wakes parked workers when the
/// queue still holds events or no one is watching any more.
#[derive(Default)]
pub(crate) struct Bench {
    /// Workers parked (or about to park); read without the lock to skip it when none are.
    parked: AtomicUsize,
    /// Wake-ups granted and not yet taken.
    wakes: Mutex<usize>,
    signal: Condvar,
}

impl Bench {
    /// Parks until woken or `timeout`, unless `should_wait` (asked after this worker counts as
    /// parked, so a wake-up decided in between is not missed) says there is something to do.
    pub fn park(&self, timeout: Duration, should_wait: impl FnOnce() -> bool) {
        let mut wakes = self.wakes.lock().unwrap_or_else(PoisonError::into_inner);
        self.parked.fetch_add(1, Ordering::SeqCst);
        if should_wait() {
            let deadline = Instant::now() + timeout;
            while *wakes == 0 {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                wakes = self
                    .signal
                    .wait_timeout(wakes, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            *wakes = wakes.saturating_sub(1);
        }
        self.parked.fetch_sub(1, Ordering::SeqCst);
    }

    /// Makes sure `n` parked workers (as many as there are) are on their way: callers pass how
    /// many are needed now (events waiting), so wake-ups already granted and not yet taken count.
    pub fn wake(&self, n: usize) {
        if n == 0 || self.parked.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut wakes = self.wakes.lock().unwrap_or_else(PoisonError::into_inner);
        let parked = self.parked.load(Ordering::SeqCst);
        let n = n.min(parked).saturating_sub(*wakes);
        *wakes += n;
        for _ in 0..n {
            self.signal.notify_one();
        }
    }

    /// Wakes every parked worker (stop, end of the source, fewer workers).
    pub fn wake_all(&self) {
        let mut wakes = self.wakes.lock().unwrap_or_else(PoisonError::into_inner);
        *wakes = self.parked.load(Ordering::SeqCst);
        self.signal.notify_all();
    }

    /// Whether any worker is parked.
    pub fn is_occupied(&self) -> bool {
        self.parked.load(Ordering::SeqCst) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const LONG: Duration = Duration::from_secs(20);

    /// Parks a thread on `bench` (for up to `LONG`) and waits until it counts as parked.
    fn parked_thread(bench: &Arc<Bench>) -> std::thread::JoinHandle<Duration> {
        let before = bench.parked.load(Ordering::SeqCst);
        let parker = Arc::clone(bench);
        let thread = std::thread::spawn(move || {
            let t = Instant::now();
            parker.park(LONG, || true);
            t.elapsed()
        });
        while bench.parked.load(Ordering::SeqCst) == before {
            std::thread::yield_now();
        }
        thread
    }

    #[test]
    fn a_parked_worker_wakes_when_called() {
        let bench = Arc::new(Bench::default());
        let thread = parked_thread(&bench);
        assert!(bench.is_occupied());
        bench.wake(1);
        assert!(thread.join().unwrap() < LONG / 2);
        assert!(!bench.is_occupied());
    }

    #[test]
    fn a_wake_up_wakes_no_more_workers_than_asked() {
        let bench = Arc::new(Bench::default());
        let first = parked_thread(&bench);
        let second = parked_thread(&bench);
        bench.wake(1);
        // One leaves; the other stays parked until woken too.
        while bench.parked.load(Ordering::SeqCst) == 2 {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(bench.parked.load(Ordering::SeqCst), 1);
        bench.wake(5);
        assert!(first.join().unwrap() < LONG / 2);
        assert!(second.join().unwrap() < LONG / 2);
    }

    #[test]
    fn wake_ups_not_yet_taken_count_towards_the_next_call() {
        // Three workers counted as parked (no threads: only the accounting is under test).
        let bench = Bench::default();
        bench.parked.store(3, Ordering::SeqCst);
        // Two needed, then still the same two: two wake-ups granted, not four (or three).
        bench.wake(2);
        bench.wake(2);
        assert_eq!(*bench.wakes.lock().unwrap(), 2);
        // Never more than are parked.
        bench.wake(10);
        assert_eq!(*bench.wakes.lock().unwrap(), 3);
    }

    #[test]
    fn wake_all_releases_every_parked_worker() {
        let bench = Arc::new(Bench::default());
        let threads: Vec<_> = (0..4).map(|_| parked_thread(&bench)).collect();
        bench.wake_all();
        for thread in threads {
            assert!(thread.join().unwrap() < LONG / 2);
        }
    }

    #[test]
    fn a_worker_with_something_to_do_does_not_park() {
        let bench = Bench::default();
        let t = Instant::now();
        bench.park(LONG, || false);
        assert!(t.elapsed() < LONG / 2);
        assert!(!bench.is_occupied());
    }

    #[test]
    fn parking_ends_at_the_timeout() {
        let bench = Bench::default();
        let t = Instant::now();
        bench.park(Duration::from_millis(30), || true);
        assert!(t.elapsed() >= Duration::from_millis(30));
    }
}
