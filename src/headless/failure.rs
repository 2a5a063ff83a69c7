//! The last failure as the headless face reports it: the JSON's `last_failure` and the log's
//! closing line.

use serde::Serialize;

use crate::engine::snapshot::LastFailure;
use crate::engine::work::Failure;

/// The JSON's `last_failure`.
#[derive(Debug, Serialize)]
pub struct LastFailureJson {
    pub event: u64,
    pub worker: u32,
    pub at_s: f64,
    /// What ended it, in words: "exit status 3", "killed by signal 9", "timed out".
    pub reason: String,
    /// The command's exit status, or the signal that killed it (`exec` work), else null.
    pub exit_status: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// The last lines of the command's stderr, oldest first (`exec` work).
    pub stderr: Vec<String>,
}

impl From<&LastFailure> for LastFailureJson {
    fn from(f: &LastFailure) -> Self {
        Self {
            event: f.event,
            worker: f.worker,
            at_s: f.at_ns as f64 / 1e9,
            reason: f.failure.text(),
            exit_status: match f.failure {
                Failure::ExitStatus(code) => Some(code),
                _ => None,
            },
            signal: match f.failure {
                Failure::Signal(signal) => Some(signal),
                _ => None,
            },
            timed_out: f.failure == Failure::TimedOut,
            stderr: f.stderr.clone(),
        }
    }
}

/// `# last failure: event 2 at 0.012s: exit status 1; stderr: LINE | LINE`.
pub fn last_failure_line(f: &LastFailure) -> String {
    let mut line = format!(
        "# last failure: event {} at {:.3}s: {}",
        f.event,
        f.at_ns as f64 / 1e9,
        f.failure.text()
    );
    if !f.stderr.is_empty() {
        line.push_str("; stderr: ");
        line.push_str(&f.stderr.join(" | "));
    }
    line
}
