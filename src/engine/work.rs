//! What a worker does for an event's demand: a precise wall-clock sleep, or real CPU work measured in CPU time.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::settings::WorkMode;

/// Sleeps are cut into slices this long so a stop is noticed promptly.
const SLEEP_SLICE: Duration = Duration::from_millis(50);
/// The last stretch of a sleep is spun, because `thread::sleep` overshoots by ~100 µs.
const SPIN_TAIL: Duration = Duration::from_micros(150);
/// CPU work reads its thread's CPU clock at least this often (in CPU time), so a stop is noticed.
const CPU_CHECK: Duration = Duration::from_micros(500);

/// Why work ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// Does `wall` worth of work in `mode`: a wall-clock wait (`sleep`) or CPU time consumed (`cpu`),
/// counted from `start`.
pub fn perform(
    mode: WorkMode,
    wall: Duration,
    cancel: &AtomicBool,
    start: &Start,
) -> Result<(), Cancelled> {
    if wall.is_zero() {
        return Ok(());
    }
    match mode {
        WorkMode::Sleep => wait_until(start.wall + wall, cancel, Spin::IfCoreFree),
        WorkMode::Cpu => burn_cpu_since(start.cpu.unwrap_or_else(thread_cpu_time), wall, cancel),
    }
}

/// When an event's work began, on the wall clock and (for cpu work) on the thread's CPU clock.
/// The demand is counted from here, so the worker's own overhead after it took the event
/// (reporting the start) is part of the demand instead of being added to it.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Start {
    /// Now; reads the CPU clock (a system call) only `with_cpu`.
    pub fn now(with_cpu: bool) -> Self {
        Self {
            wall: Instant::now(),
            cpu: with_cpu.then(thread_cpu_time),
        }
    }

    pub fn wall(&self) -> Instant {
        self.wall
    }
}

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
    *SPARE.get_or_init(|| super::available_cores().saturating_sub(1).max(1))
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

/// CPU time consumed by the calling thread.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is always valid.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Consumes `cpu` of this thread's CPU time doing arithmetic. With more busy threads than cores,
/// this takes longer than `cpu` on the wall clock, as real CPU-bound work does.
///
/// It works in strides between reads of the thread's CPU clock (~0.5 µs each): half the
/// remaining time (at most `CPU_CHECK`) far from the end, down to quarter-microsecond strides near
/// it, so it ends within about a microsecond of its demand, reading the clock a few dozen times.
pub fn burn_cpu(cpu: Duration, cancel: &AtomicBool) -> Result<(), Cancelled> {
    burn_cpu_since(thread_cpu_time(), cpu, cancel)
}

/// Burns CPU until this thread has used `cpu` since its CPU clock read `start`.
fn burn_cpu_since(start: Duration, cpu: Duration, cancel: &AtomicBool) -> Result<(), Cancelled> {
    let per_us = steps_per_us();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    loop {
        let used = thread_cpu_time().saturating_sub(start);
        if used >= cpu {
            black_box(state);
            return Ok(());
        }
        if cancel.load(Ordering::Relaxed) {
            return Err(Cancelled);
        }
        let left_ns = (cpu - used).as_nanos() as u64;
        let stride_ns = (left_ns / 2).clamp(MIN_STRIDE_NS, CPU_CHECK.as_nanos() as u64);
        state = spin_steps(state, (stride_ns * per_us / 1_000).max(1));
    }
}

/// The shortest stride of CPU work between clock reads, ns.
const MIN_STRIDE_NS: u64 = 250;

/// How many `spin_steps` steps take a microsecond of CPU here, measured once (the best of a few
/// tries, so a try that lost its core to another thread does not make strides too short).
fn steps_per_us() -> u64 {
    static STEPS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *STEPS.get_or_init(|| {
        const TRY: u64 = 200_000;
        let best_ns = (0..5)
            .map(|_| {
                let t = thread_cpu_time();
                black_box(spin_steps(1, TRY));
                thread_cpu_time().saturating_sub(t).as_nanos() as u64
            })
            .min()
            .unwrap_or(1)
            .max(1);
        (TRY * 1_000 / best_ns).max(1)
    })
}

/// A dependent chain of multiply-xorshift steps the compiler cannot remove or vectorise.
#[inline(never)]
fn spin_steps(mut x: u64, steps: u64) -> u64 {
    for _ in 0..steps {
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x = black_box(x);
    }
    x
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

    #[test]
    fn cpu_work_consumes_cpu_time() {
        let cancel = AtomicBool::new(false);
        let before = thread_cpu_time();
        burn_cpu(Duration::from_millis(20), &cancel).unwrap();
        let used = thread_cpu_time() - before;
        assert!(used >= Duration::from_millis(20), "{used:?}");
        assert!(used < Duration::from_millis(40), "{used:?}");
    }

    #[test]
    fn cancelled_work_stops() {
        let cancel = AtomicBool::new(true);
        assert_eq!(
            perform(
                WorkMode::Sleep,
                Duration::from_secs(3600),
                &cancel,
                &Start::now(false)
            ),
            Err(Cancelled)
        );
        assert_eq!(
            perform(
                WorkMode::Cpu,
                Duration::from_secs(3600),
                &cancel,
                &Start::now(true)
            ),
            Err(Cancelled)
        );
    }
}
