//! Injected failures (`--fail-rate`): which events fail, decided from the seed and the event id
//! alone, so the same events fail whatever the worker count or the timing.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicBool;

use super::{Cancelled, Failure, Job, Outcome, Work};

/// Seed stream of the failure draws (apart from arrivals and demands, see `source::stream_rng`).
pub const FAULT_STREAM: u64 = 3;

/// How an event's work is meant to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Succeed,
    /// The work returns an error.
    Fail,
    /// The work panics.
    Panic,
}

/// A fraction of events fail after doing their work, half of them by panicking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    pub fail_rate: f64,
    pub seed: u64,
}

impl Faults {
    /// The fate of event `id`: a uniform draw from a hash of the seed and the id.
    pub fn fate(&self, id: u64) -> Fate {
        if self.fail_rate <= 0.0 {
            return Fate::Succeed;
        }
        let u = unit(
            self.seed ^ FAULT_STREAM.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            id,
        );
        if u >= self.fail_rate {
            Fate::Succeed
        } else if u < self.fail_rate / 2.0 {
            Fate::Panic
        } else {
            Fate::Fail
        }
    }

    /// Runs `work` for the job, then fails it if its fate says so. A panic inside the work is
    /// caught and counted as a failure, never a fault of the engine.
    pub fn run(
        &self,
        work: &dyn Work,
        job: &Job<'_>,
        cancel: &AtomicBool,
    ) -> Result<Outcome, Cancelled> {
        let fate = self.fate(job.event.id);
        let run = catch_unwind(AssertUnwindSafe(|| {
            let outcome = work.run(job, cancel)?;
            match fate {
                Fate::Succeed => Ok(outcome),
                Fate::Fail => Ok(Outcome::Failed(Failure::Error)),
                Fate::Panic => std::panic::panic_any(InjectedPanic),
            }
        }));
        run.unwrap_or(Ok(Outcome::Failed(Failure::Panic)))
    }
}

/// The payload of a panic injected by `--fail-rate`; the binary's panic hook stays quiet for it,
/// since the failure is counted and shown, not an error of the program.
#[derive(Debug)]
pub struct InjectedPanic;

/// Makes the process's panic hook pass over the panics `--fail-rate` injects: they are counted
/// as failed events, not crashes (under RUST_BACKTRACE the default hook would also symbolise a
/// backtrace for each). Other panics reach the hook that was there. Installed once however
/// often it is called.
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<InjectedPanic>().is_none() {
                previous(info);
            }
        }));
    });
}

/// A uniform number in [0, 1) from a key and an index (splitmix64's finaliser).
fn unit(key: u64, index: u64) -> f64 {
    let mut z = key.wrapping_add(index.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fate_follows_the_fail_rate() {
        let none = Faults {
            fail_rate: 0.0,
            seed: 1,
        };
        assert!((0..1000).all(|id| none.fate(id) == Fate::Succeed));
        let faults = Faults {
            fail_rate: 0.2,
            seed: 1,
        };
        let n = 100_000;
        let failing = (0..n)
            .filter(|&id| faults.fate(id) != Fate::Succeed)
            .count();
        assert!((failing as f64 / n as f64 - 0.2).abs() < 0.01, "{failing}");
        let panics = (0..n).filter(|&id| faults.fate(id) == Fate::Panic).count();
        assert!((panics as f64 / n as f64 - 0.1).abs() < 0.01, "{panics}");
    }

    #[test]
    fn fate_depends_on_the_seed_and_the_id_only() {
        let a = Faults {
            fail_rate: 0.5,
            seed: 7,
        };
        let b = Faults { seed: 8, ..a };
        let fates = |f: &Faults| (0..200).map(|id| f.fate(id)).collect::<Vec<_>>();
        assert_eq!(fates(&a), fates(&a.clone()));
        assert_ne!(fates(&a), fates(&b));
    }
}
