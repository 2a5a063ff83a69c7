//! What is derived from snapshots and settings, for every face to read: theory, the verdict, the lints, the queue trend.

pub mod theory;
