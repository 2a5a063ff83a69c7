//! What can go wrong starting or resizing the engine.

use std::time::Duration;

use super::settings::{MAX_BURST, MAX_SERVICE, WORKER_LIMIT, format_duration};

/// A setting outside what the engine accepts. The message is the rule, without the setting's
/// name, which each face puts in front its own way (`option()` gives the command line's). The
/// worker rule names the limit as the command line does (`--max-workers`): scenario files check
/// their worker counts in their own parser first.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("must be between 1 and {WORKER_LIMIT}, got {0}")]
    MaxWorkers(usize),
    #[error("must be between 1 and --max-workers ({max}), got {got}")]
    Workers { max: usize, got: usize },
    #[error("must be at most {}, got {}", format_duration(MAX_SERVICE), format_duration(*.0))]
    Service(Duration),
    #[error("must be between 1 and {MAX_BURST}, got {0}")]
    Burst(u32),
    #[error("must be at least 1 (omit it for an unbounded queue)")]
    QueueCap,
    #[error("must be between 0 and 1, got {0}")]
    FailRate(f64),
    #[error("must be a positive number, got {0}")]
    Speed(f64),
    #[error("exec needs the command to run: add --exec 'COMMAND {{}}'")]
    ExecWithoutCommand,
}

impl SettingsError {
    /// The command-line option of the setting.
    pub fn option(&self) -> &'static str {
        match self {
            SettingsError::MaxWorkers(_) => "--max-workers",
            SettingsError::Workers { .. } => "--workers",
            SettingsError::Service(_) => "--service",
            SettingsError::Burst(_) => "--burst",
            SettingsError::QueueCap => "--queue-cap",
            SettingsError::FailRate(_) => "--fail-rate",
            SettingsError::Speed(_) => "--speed",
            SettingsError::ExecWithoutCommand => "--work",
        }
    }
}

/// Why the engine could not start (or grow).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{} {}", .0.option(), .0)]
    Settings(#[from] SettingsError),
    #[error("cannot start {what}: {source}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// A thread that could not be started.
    pub fn thread(what: &'static str) -> impl FnOnce(std::io::Error) -> Self {
        move |source| EngineError::Thread { what, source }
    }
}
