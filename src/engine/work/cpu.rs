//! `cpu` work: real arithmetic until the thread has used the event's demand in CPU time.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
            burn_cpu_since(start, job.wall, cancel, job.cpu_meter)?;
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
    burn_cpu_since(thread_cpu_time(), cpu, cancel, None)
}

/// Burns CPU until this thread has used `cpu` since its CPU clock read `start`, telling `meter`
/// what it has used at every stride.
fn burn_cpu_since(
    start: Duration,
    cpu: Duration,
    cancel: &AtomicBool,
    meter: Option<&CpuMeter>,
) -> Result<(), Cancelled> {
    let per_us = steps_per_us();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    loop {
        let used = thread_cpu_time().saturating_sub(start);
        if let Some(meter) = meter {
            meter.record(used);
        }
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

/// The CPU time one worker's current cpu job has received, for its progress: written by the
/// burning loop, one store per stride (beside a read of the CPU clock, which costs hundreds of
/// times more), read by the aggregator once per snapshot. No lock: the job's event id tells the
/// reader whose figure it reads. Each meter has its own cache line, so workers on other cores
/// do not contend for it.
#[derive(Debug)]
#[repr(align(64))]
pub struct CpuMeter {
    /// The event of the job measured (`u64::MAX`: none yet).
    event: AtomicU64,
    /// CPU time that job has used, ns of the thread's CPU clock.
    used_ns: AtomicU64,
}

impl Default for CpuMeter {
    fn default() -> Self {
        Self {
            event: AtomicU64::new(u64::MAX),
            used_ns: AtomicU64::new(0),
        }
    }
}

impl CpuMeter {
    /// A cpu job on `event` begins (before its start is reported): nothing used yet.
    pub fn begin(&self, event: u64) {
        self.event.store(event, Ordering::Relaxed);
        // Release, here and per stride: a reader that sees this job's figure sees its event.
        self.used_ns.store(0, Ordering::Release);
    }

    /// The job has used `used` of CPU time (a plain store on x86, Release or not).
    fn record(&self, used: Duration) {
        let ns = u64::try_from(used.as_nanos()).unwrap_or(u64::MAX);
        self.used_ns.store(ns, Ordering::Release);
    }

    /// The CPU time the job on `event` has used, ns; `None` if the meter measures no job on
    /// it (not cpu work, or the worker has moved on to its next job).
    pub fn used_ns(&self, event: u64) -> Option<u64> {
        // The figure first: if it is the next job's, the event read after it is that job's too.
        let used_ns = self.used_ns.load(Ordering::Acquire);
        (self.event.load(Ordering::Relaxed) == event).then_some(used_ns)
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

    #[test]
    fn a_meter_follows_its_job_and_only_its_job() {
        let cancel = AtomicBool::new(false);
        let meter = CpuMeter::default();
        assert_eq!(meter.used_ns(7), None, "no job yet");
        meter.begin(7);
        assert_eq!(meter.used_ns(7), Some(0));
        let demand = Duration::from_millis(5);
        burn_cpu_since(thread_cpu_time(), demand, &cancel, Some(&meter)).unwrap();
        let used = meter.used_ns(7).unwrap();
        assert!(used >= demand.as_nanos() as u64, "{used}");
        assert!(used < 4 * demand.as_nanos() as u64, "{used}");
        meter.begin(8);
        assert_eq!(meter.used_ns(7), None, "the worker moved on");
        assert_eq!(meter.used_ns(8), Some(0));
    }
}
