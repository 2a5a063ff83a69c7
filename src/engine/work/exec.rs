//! `exec` work: each job runs a command, with no shell. The command line is split into words as
//! a shell splits them (quotes included) once, before the run; `{}` in a word is replaced by the
//! event's payload (or its id where it has none), and the payload is also written to the
//! command's stdin. Exit status 0 is success; another status, a signal, a timeout or a command
//! that cannot start is a failure. Each command runs in a process group of its own, so a stop
//! or a timeout kills it and whatever it started. Its stdout goes to `--exec-output` (else
//! nowhere); the end of its stderr is kept for the last failure (see `capture`).

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::capture::{Output, OutputFile, StderrTails};
use super::{Cancelled, Failure, Job, Outcome, Work};

/// How often a worker looks at its command while it runs, at most (it starts more often, so a
/// short command is noticed soon after it ends).
const POLL_MAX: Duration = Duration::from_millis(2);

/// A command to run per event.
#[derive(Debug)]
pub struct Exec {
    /// The program as given (the command's argv[0]) and the file found for it.
    name: String,
    program: PathBuf,
    args: Vec<String>,
    /// A job running longer is killed and counted as failed.
    pub timeout: Option<Duration>,
    /// Where every job's stdout goes (`--exec-output`); without it, nowhere.
    output: Option<OutputFile>,
    /// The last lines of stderr of the latest failed jobs.
    stderr_tails: StderrTails,
}

/// Why a command line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("--exec needs a command, got '{0}'")]
    Empty(String),
    #[error("--exec has an unclosed quote or a trailing backslash: '{0}'")]
    Unbalanced(String),
    #[error("--exec: command '{0}' not found (give a path, or a program on PATH)")]
    NotFound(String),
}

impl Exec {
    /// Splits `line` into words and finds the program (on `PATH` unless it has a `/`).
    pub fn parse(line: &str, timeout: Option<Duration>) -> Result<Self, ExecError> {
        let words = shlex::split(line).ok_or_else(|| ExecError::Unbalanced(line.into()))?;
        let (program, args) = words
            .split_first()
            .ok_or_else(|| ExecError::Empty(line.into()))?;
        let name = program.clone();
        let program = find_program(program).ok_or_else(|| ExecError::NotFound(program.clone()))?;
        Ok(Self {
            name,
            program,
            args: args.to_vec(),
            timeout,
            output: None,
            stderr_tails: StderrTails::default(),
        })
    }

    /// The same command, every job's stdout appended to `output`.
    pub fn with_output(self, output: OutputFile) -> Self {
        Self {
            output: Some(output),
            ..self
        }
    }

    /// The last lines of the stderr of event `id`'s command, if it failed lately.
    pub fn stderr_of(&self, id: u64) -> Option<Vec<String>> {
        self.stderr_tails.of(id)
    }

    /// The command for one event: `{}` replaced in every argument.
    fn command(&self, job: &Job<'_>) -> Command {
        let event = job.event;
        let fill = match event.payload() {
            Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            None => event.id.to_string(),
        };
        let mut command = Command::new(&self.program);
        command
            .arg0(&self.name)
            .args(self.args.iter().map(|a| a.replace("{}", &fill)))
            .stdin(if event.payload().is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(if self.output.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .process_group(0);
        command
    }
}

/// `name` as a runnable file: itself if it has a `/`, else the first match on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let runnable = |path: &Path| {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.contains('/') {
        let path = PathBuf::from(name);
        return runnable(&path).then_some(path);
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(name))
        .find(|path| runnable(path))
}

impl Work for Exec {
    fn run(&self, job: &Job<'_>, cancel: &AtomicBool) -> Result<Outcome, Cancelled> {
        let Ok(mut child) = self.command(job).spawn() else {
            return Ok(Outcome::Failed(Failure::CannotStart));
        };
        // The payload goes to its stdin as the command takes it, between reads of its output.
        let mut output = Output::take(&mut child, job.event.payload());
        let ended = self.wait_for(&mut child, &mut output, cancel);
        output.read_now();
        if let Some(file) = &self.output {
            file.append(output.stdout());
        }
        if let Ok(Outcome::Failed(_)) = &ended {
            self.stderr_tails.record(job.event.id, output.stderr_tail());
        }
        ended
    }
}

impl Exec {
    /// Waits for the command's end, reading its output meanwhile; kills it on a stop or a
    /// timeout.
    fn wait_for(
        &self,
        child: &mut Child,
        output: &mut Output<'_>,
        cancel: &AtomicBool,
    ) -> Result<Outcome, Cancelled> {
        let deadline = self.timeout.map(|t| Instant::now() + t);
        let mut poll = Duration::from_micros(20);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(outcome_of(status)),
                Ok(None) => {}
                Err(_) => {
                    kill_group(child);
                    return Ok(Outcome::Failed(Failure::CannotStart));
                }
            }
            if cancel.load(Ordering::Relaxed) {
                kill_group(child);
                return Err(Cancelled);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                kill_group(child);
                return Ok(Outcome::Failed(Failure::TimedOut));
            }
            output.wait(poll);
            poll = (poll * 2).min(POLL_MAX);
        }
    }
}

fn outcome_of(status: std::process::ExitStatus) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Succeeded { result: None },
        (Some(code), _) => Outcome::Failed(Failure::ExitStatus(code)),
        (None, Some(signal)) => Outcome::Failed(Failure::Signal(signal)),
        (None, None) => Outcome::Failed(Failure::Error),
    }
}

/// Kills the command's whole process group and reaps the command (no zombie is left).
fn kill_group(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_line_splits_as_a_shell_splits_it() {
        let exec = Exec::parse(r#"sh -c "test {} = 'a b'" x"#, None).unwrap();
        assert!(exec.program.ends_with("sh"), "{:?}", exec.program);
        assert_eq!(exec.args, ["-c", "test {} = 'a b'", "x"]);
    }

    #[test]
    fn an_empty_unbalanced_or_missing_command_is_refused() {
        assert_eq!(
            Exec::parse("  ", None).unwrap_err(),
            ExecError::Empty("  ".into())
        );
        assert!(matches!(
            Exec::parse("sh -c 'x", None),
            Err(ExecError::Unbalanced(_))
        ));
        assert_eq!(
            Exec::parse("no-such-program-here {}", None).unwrap_err(),
            ExecError::NotFound("no-such-program-here".into())
        );
        assert!(matches!(
            Exec::parse("/etc/passwd", None),
            Err(ExecError::NotFound(_))
        ));
    }
}
