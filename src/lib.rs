//! backlog: watch a pool of CPU workers keep up with a stream of events, or fall behind.

pub mod app;
pub mod autoscaler;
pub mod cli;
pub mod control;
pub mod engine;
pub mod error;
pub mod export;
pub mod headless;
pub mod input;
pub mod model;
pub mod publish;
pub mod record;
pub mod replay;
pub mod runlog;
pub mod runs;
pub mod runtime;
pub mod sweep;
pub mod terminal;
pub mod text;
pub mod tui;
pub mod ui;
pub mod units;
