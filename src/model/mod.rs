//! What is derived from snapshots and settings, for every face to read: theory, the verdict, the lints, the queue trend.

pub mod lints;
pub mod theory;
pub mod trend;
pub mod verdict;
