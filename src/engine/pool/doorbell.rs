//! Idle workers wait off the queue: one, the watcher, waits on it and spins for the next due
//! event (the doorbell); the others park on the bench until someone calls for them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::engine::shared::Shared;

/// The doorbell's watcher role, held by at most one idle worker at a time (so a hundred idle
/// workers do not all wake before every event); released when it stops waiting.
pub(super) struct DoorbellWatch<'a>(&'a Shared);

impl<'a> DoorbellWatch<'a> {
    pub(super) fn take(shared: &'a Shared) -> Option<Self> {
        shared
            .doorbell_watched
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
            .then(|| Self(shared))
    }
}

impl Drop for DoorbellWatch<'_> {
    fn drop(&mut self) {
        self.0.doorbell_watched.store(false, Ordering::SeqCst);
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
    use crate::engine::clock::Clock;
    use crate::engine::settings::Settings;
    use crate::engine::work;
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

    #[test]
    fn one_worker_watches_the_doorbell_at_a_time() {
        let plan = work::Plan::of(&Settings::default(), 1);
        let shared = Shared::new(Clock::start(1.0), 2, 2, plan);
        let watch = DoorbellWatch::take(&shared).expect("the role is free");
        assert!(DoorbellWatch::take(&shared).is_none());
        // A failed take must not release the role it did not get.
        assert!(shared.doorbell_watched.load(Ordering::SeqCst));
        assert!(DoorbellWatch::take(&shared).is_none());
        drop(watch);
        assert!(DoorbellWatch::take(&shared).is_some());
    }
}
