//! Runs you can keep: the run log's format, its writer thread and its reader (docs/runlog.md).

pub mod format;
pub mod reader;
pub mod writer;

pub use format::{EndInfo, Mark, MarkKind, RunInfo, VERSION};
pub use reader::RunLog;
pub use writer::{RunLogFile, RunLogSender, RunLogWriter};

/// Why a run log cannot be read. Every one is bad input (exit code 2), in one line.
#[derive(Debug, thiserror::Error)]
pub enum RunLogError {
    #[error("cannot read the run log {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a backlog run log (it does not start with the run log's mark); make one with --save-run FILE"
    )]
    NotARunLog { path: String },
    #[error(
        "{path} is a run log of format version {found}; this backlog reads version {} only: replay it with the backlog that wrote it, or record the run again",
        format::VERSION
    )]
    Version { path: String, found: u16 },
    #[error("{path} is damaged at byte {offset}: {what}")]
    Corrupt {
        path: String,
        offset: usize,
        what: String,
    },
    #[error("{path} was cut short before its first snapshot: nothing to replay")]
    Empty { path: String },
}

/// What a finished log lost, if anything, for a warning at the end of the run.
pub fn lost_warning(end: &EndInfo) -> Option<String> {
    (end.lost_traces > 0 || end.lost_snapshots > 0).then(|| {
        format!(
            "warning: the run log lost {} trace records and {} snapshots: its writer could not keep up (the replay's figures come from the snapshots it kept)",
            end.lost_traces, end.lost_snapshots
        )
    })
}
