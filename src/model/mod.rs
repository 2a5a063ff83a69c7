//! What every face reads, derived from snapshots and settings: theory (closed forms and the
//! twin, a simulation of the ideal pool), verdicts, lints, the trend.

pub mod achieved;
pub mod autoscale;
pub mod background;
pub mod broker;
pub mod exact;
pub mod fluid;
pub mod forecast;
pub mod forecast_thread;
pub mod lints;
pub mod overhead;
pub mod phase;
pub mod phase_prediction;
pub mod theory;
pub mod trend;
pub mod twin;
pub mod twin_thread;
pub mod verdict;
pub mod verdict_changes;
pub mod warning_history;
