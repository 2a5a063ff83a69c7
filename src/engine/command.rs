//! Commands the faces send to a running engine (keys, scenario steps, signals).

use std::time::Duration;

use super::settings::{ArrivalProcess, Overflow, Rate, ServiceDist, WorkMode};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Target worker count; clamped to 1..=max_workers by the engine.
    SetWorkers(usize),
    SetRate(Rate),
    SetArrival(ArrivalProcess),
    SetBurst(u32),
    /// Mean service demand (model time).
    SetService(Duration),
    SetServiceDist(ServiceDist),
    SetWork(WorkMode),
    /// `None` makes the queue unbounded. Changing it keeps every queued event.
    SetQueueCap(Option<usize>),
    SetOverflow(Overflow),
    SetFailRate(f64),
    /// Pause (true) or resume (false) the source.
    Pause(bool),
    /// Clear statistics (histograms, series, maxima); counts of events still in the system stay.
    ResetStats,
    /// End the source now; the pool drains what is queued, then the run finishes.
    EndSource,
    /// Stop now: end the source, abandon the queue and in-flight work, report them as such.
    Stop,
}
