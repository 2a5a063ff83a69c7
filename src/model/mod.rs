//! What every face reads, derived from snapshots and settings: theory, the verdict, lints, the trend.

pub mod lints;
pub mod theory;
pub mod trend;
pub mod verdict;
pub mod warning_history;
