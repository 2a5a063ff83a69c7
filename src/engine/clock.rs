//! Model time: wall time since the start, scaled by `--speed`. Everything the engine reports is model time.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    speed: f64,
}

impl Clock {
    pub fn start(speed: f64) -> Self {
        Self {
            origin: Instant::now(),
            speed,
        }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Model nanoseconds since the start.
    pub fn now_ns(&self) -> u64 {
        self.model_ns(self.origin.elapsed())
    }

    /// Model nanoseconds at `instant` (one taken since the start).
    pub fn ns_at(&self, instant: Instant) -> u64 {
        self.model_ns(instant.saturating_duration_since(self.origin))
    }

    /// Model nanoseconds for a wall duration since the start.
    pub fn model_ns(&self, wall: Duration) -> u64 {
        let ns = wall.as_nanos() as u64;
        if self.speed == 1.0 {
            ns
        } else {
            (ns as f64 * self.speed) as u64
        }
    }

    /// Wall duration that lasts `model_ns` of model time.
    pub fn wall(&self, model_ns: u64) -> Duration {
        if self.speed == 1.0 {
            Duration::from_nanos(model_ns)
        } else {
            Duration::from_nanos((model_ns as f64 / self.speed) as u64)
        }
    }

    /// The wall instant at which model time reaches `model_ns`.
    pub fn instant_at(&self, model_ns: u64) -> Instant {
        self.origin + self.wall(model_ns)
    }
}

/// A duration in ns, saturating at `u64::MAX` (about 584 years).
pub fn saturating_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
