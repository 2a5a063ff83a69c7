//! Precise waiting: sleep most of the way, spin the last stretch, and never spin on more cores
//! than are spare; plus the thread settings that make timing precise.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::Cancelled;

/// Sleeps are cut into slices this long so a stop is noticed promptly.
const SLEEP_SLICE: Duration = Duration::from_millis(50);
/// The last stretch of a sleep is spun, because `thread::sleep` overshoots by ~100 µs.
const SPIN_TAIL: Duration = Duration::from_micros(150);

/// Lowers this thread's timer slack to 1 ns so sleeps wake close to their deadline (Linux only).
pub fn tighten_timer_slack() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK takes an integer and affects only the calling thread.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

/// Marks the calling thread as background work (Linux `SCHED_BATCH`): when it wakes on a core
/// where a worker is running, it does not preempt the worker but waits for the scheduler's next
/// decision (or another core going idle). Its share of the CPU is unchanged.
pub fn batch_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler with pid 0 affects only the calling thread; the param is ours.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
    }
}

/// The lowest priority short of idle, for work no figure may wait on (the twin, the
/// forecasts): batch scheduling at nice 19, so a busy pool's threads get the cores first
/// (a nice-19 thread weighs about 1.5% of a nice-0 one) and it still makes progress.
pub fn background_priority() {
    batch_priority();
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions; setpriority on our own thread id changes only it.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 19);
    }
}

/// Whether the last stretch of a wait may spin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spin {
    /// Spin only while fewer threads spin than there are spare cores (workers).
    IfCoreFree,
    /// Always spin the tail (the source: its punctuality is what everything is measured from).
    Always,
}

/// Threads spinning right now, for work (a sleep's tail) and while idle (a worker waiting for
/// the next event); spinning past the spare cores would steal CPU from the work. The two are
/// counted apart so an idle worker's spin never keeps a job from ending on time.
static WORK_SPINNERS: AtomicUsize = AtomicUsize::new(0);
static IDLE_SPINNERS: AtomicUsize = AtomicUsize::new(0);

fn spare_cores() -> usize {
    static SPARE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *SPARE.get_or_init(|| crate::engine::available_cores().saturating_sub(1).max(1))
}

/// The right to busy-wait for a while; at most `spare_cores()` are out at once for each purpose,
/// so waiting threads never take the cores the work itself needs.
pub struct SpinPermit(&'static AtomicUsize);

impl SpinPermit {
    /// For work: the tail of a sleep.
    pub fn take() -> Option<Self> {
        Self::take_from(&WORK_SPINNERS)
    }

    /// For an idle worker waiting for its next event.
    pub fn take_idle() -> Option<Self> {
        Self::take_from(&IDLE_SPINNERS)
    }

    fn take_from(spinners: &'static AtomicUsize) -> Option<Self> {
        if spinners.fetch_add(1, Ordering::AcqRel) < spare_cores() {
            Some(SpinPermit(spinners))
        } else {
            spinners.fetch_sub(1, Ordering::AcqRel);
            None
        }
    }
}

impl Drop for SpinPermit {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits until `deadline`: sleeps in slices (checking `cancel`), then spins the last ~150 µs
/// when allowed, because a plain sleep overshoots by 50-130 µs.
pub fn wait_until(deadline: Instant, cancel: &AtomicBool, spin: Spin) -> Result<(), Cancelled> {
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        let left = deadline - now;
        if left > SPIN_TAIL {
            std::thread::sleep((left - SPIN_TAIL).min(SLEEP_SLICE));
            continue;
        }
        let permit = match spin {
            Spin::Always => None,
            Spin::IfCoreFree => SpinPermit::take(),
        };
        if spin == Spin::Always || permit.is_some() {
            // Yield rather than spin hard: a thread woken on this core (a worker the source just
            // handed an event) runs at once instead of waiting for this one's time slice to end.
            while Instant::now() < deadline {
                std::thread::yield_now();
            }
        } else {
            std::thread::sleep(left);
        }
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sleep_lasts_at_least_its_duration() {
        let cancel = AtomicBool::new(false);
        let t = Instant::now();
        wait_until(t + Duration::from_millis(5), &cancel, Spin::IfCoreFree).unwrap();
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(5), "{took:?}");
        assert!(took < Duration::from_millis(200), "{took:?}");
    }
}
