//! Every way a run can end badly, and the exit code each gets: 2 for bad input (found before
//! anything runs), 101 for an engine fault (a bug), 1 for the rest. `main` prints them.

use std::io;
use std::path::PathBuf;

use crate::control::scenario::ScenarioError;
use crate::engine::{EngineError, SettingsError};

/// Exit code for bad input.
pub const BAD_INPUT: u8 = 2;
/// Exit code when the engine stopped on a bug (a panic in one of its threads), as for a panic.
pub const ENGINE_FAULT: u8 = 101;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Options that cannot go together, or a value the command line cannot take.
    #[error("{0}")]
    Usage(String),
    #[error("{} {}", .0.option(), .0)]
    Settings(#[from] SettingsError),
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("--scenario: cannot read {path}: {source}")]
    ScenarioUnreadable { path: String, source: io::Error },
    #[error(
        "--scenario: no file '{name}' and no bundled scenario of that name; {}bundled: {bundled} (see --list-scenarios)",
        did_you_mean(*.suggestion)
    )]
    ScenarioNotFound {
        name: String,
        /// The bundled scenario the name is close to, if one is.
        suggestion: Option<&'static str>,
        bundled: String,
    },
    /// An output file (`--csv`, `--record`) that cannot be written, found before the run.
    #[error("{option}: cannot write {}: {source}", path.display())]
    Unwritable {
        option: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("--record: {} must end in .cast (asciicast v2) or .gif", .0.display())]
    RecordFormat(PathBuf),
    /// A run log that cannot be replayed: not one, another version, damaged, empty.
    #[error(transparent)]
    RunLog(#[from] crate::runlog::RunLogError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the engine stopped on an internal error: {0}")]
    Fault(String),
    #[error("cannot write output: {0}")]
    Output(io::Error),
    #[error("terminal error: {0}")]
    Terminal(io::Error),
    #[error("{what}: {source}")]
    System {
        what: &'static str,
        source: io::Error,
    },
}

/// `did you mean 'burst'? ` for a suggestion, nothing without one.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|name| format!("did you mean '{name}'? "))
        .unwrap_or_default()
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_)
            | Error::Settings(_)
            | Error::Scenario(_)
            | Error::ScenarioUnreadable { .. }
            | Error::ScenarioNotFound { .. }
            | Error::Unwritable { .. }
            | Error::RecordFormat(_)
            | Error::RunLog(_)
            | Error::Engine(EngineError::Settings(_)) => BAD_INPUT,
            Error::Fault(_) => ENGINE_FAULT,
            Error::Engine(EngineError::Thread { .. })
            | Error::Output(_)
            | Error::Terminal(_)
            | Error::System { .. } => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_exits_2_faults_101_the_rest_1() {
        let usage = Error::Usage("--json needs --headless".into());
        assert_eq!(usage.exit_code(), BAD_INPUT);
        let settings = Error::from(SettingsError::QueueCap);
        assert_eq!(settings.exit_code(), BAD_INPUT);
        assert!(
            settings
                .to_string()
                .starts_with("--queue-cap must be at least 1")
        );
        let engine = Error::from(EngineError::from(SettingsError::Burst(0)));
        assert_eq!(engine.exit_code(), BAD_INPUT);
        assert_eq!(Error::Fault("x".into()).exit_code(), ENGINE_FAULT);
        let broken = Error::Output(io::Error::other("disk full"));
        assert_eq!(broken.exit_code(), 1);
    }
}
