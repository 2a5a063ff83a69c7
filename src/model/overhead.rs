//! How much of a queue wait is the engine's own: measured in model time, it is the wall-clock
//! overhead (the source's pacing, the hand-off to a worker) times `--speed`.

use crate::engine::Snapshot;
use crate::units::duration_ns;

/// The engine's own wait, from the waits of events a worker was idle for at their arrival.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineOverhead {
    /// Events measured (those that found a worker idle).
    pub count: u64,
    pub model_p50_ns: u64,
    pub model_p99_ns: u64,
    /// The same in wall time: model time divided by the speed.
    pub wall_p50_ns: f64,
    pub wall_p99_ns: f64,
    pub speed: f64,
}

impl EngineOverhead {
    pub fn of(s: &Snapshot) -> Self {
        let o = &s.engine_overhead;
        let speed = if s.speed > 0.0 { s.speed } else { 1.0 };
        Self {
            count: o.count,
            model_p50_ns: o.p50_ns,
            model_p99_ns: o.p99_ns,
            wall_p50_ns: o.p50_ns as f64 / speed,
            wall_p99_ns: o.p99_ns as f64 / speed,
            speed,
        }
    }

    /// A line for the latency panel when `--speed` stretches the engine's own wait (speed > 1
    /// and something measured): "engine's own wait p99 5.0ms (0.50ms wall × 10)".
    pub fn note(s: &Snapshot) -> Option<String> {
        let o = Self::of(s);
        (o.speed > 1.0 && o.count > 0).then(|| {
            format!(
                "engine's own wait p99 {} ({} wall × {})",
                duration_ns(o.model_p99_ns),
                duration_ns(o.wall_p99_ns as u64),
                crate::units::compact(o.speed)
            )
        })
    }
}
