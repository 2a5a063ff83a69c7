//! `cpu` work: real arithmetic until the thread has used the event's demand in CPU time.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::{Cancelled, Job, Outcome, Work, article_result};

/// CPU work reads its thread's CPU clock at least this often (in CPU time), so a stop is noticed.
const CPU_CHECK: Duration = Duration::from_micros(500);

/// Burns the demand in this thread's CPU time: with more busy workers than cores, every job
/// takes longer on the wall clock, as real CPU-bound work does.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cpu;

impl Work for Cpu {
    fn uses_cpu_clock(&self) -> bool {
        true
    }

    fn run(&self, job: &Job<'_>, cancel: &AtomicBool) -> Result<Outcome, Cancelled> {
        if !job.wall.is_zero() {
            let start = job.start.cpu.unwrap_or_else(thread_cpu_time);
            burn_cpu_since(start, job.wall, cancel)?;
        }
        Ok(article_result(job.event.id))
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
    fn cpu_work_consumes_cpu_time() {
        let cancel = AtomicBool::new(false);
        let before = thread_cpu_time();
        burn_cpu(Duration::from_millis(20), &cancel).unwrap();
        let used = thread_cpu_time() - before;
        assert!(used >= Duration::from_millis(20), "{used:?}");
        assert!(used < Duration::from_millis(40), "{used:?}");
    }
}
