//! backlog: watch a pool of CPU workers keep up with a stream of events, or fall behind.

pub mod engine;
