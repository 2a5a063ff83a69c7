//! What every face reads, derived from snapshots and settings: theory, verdicts, lints, the trend.

pub mod achieved;
pub mod lints;
pub mod overhead;
pub mod theory;
pub mod trend;
pub mod verdict;
pub mod verdict_changes;
pub mod warning_history;
