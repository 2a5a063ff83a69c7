//! What an `exec` command is given and writes: its payload on stdin, its stdout whole (for
//! `--exec-output`), the tail of its stderr (for the last failure). The pipes are served without
//! blocking while the command runs, so a command that writes a lot never stalls on a full pipe
//! (nor the worker on a payload the command has not read yet), and the worker wakes as soon as
//! the command closes them (it has ended) instead of at its next poll.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::process::Child;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// The stderr kept per command: enough for its last lines.
const TAIL_BYTES: usize = 4096;
/// The last lines of stderr a failure keeps, each cut to `LINE_CHARS` characters.
pub const STDERR_LINES: usize = 3;
const LINE_CHARS: usize = 200;
/// Failures whose stderr is kept, newest last: enough for the statistics to find the one they
/// report last, though other workers fail meanwhile.
const FAILURES_KEPT: usize = 16;

/// One pipe from the command, read as it comes.
struct Drain {
    pipe: File,
    open: bool,
    bytes: Vec<u8>,
    /// Keep only the last `TAIL_BYTES` (stderr), or everything (stdout).
    tail_only: bool,
}

impl Drain {
    fn new(pipe: impl Into<std::os::fd::OwnedFd>, tail_only: bool) -> Self {
        let pipe = File::from(pipe.into());
        set_nonblocking(pipe.as_raw_fd());
        Self {
            pipe,
            open: true,
            bytes: Vec::new(),
            tail_only,
        }
    }

    /// Reads what is there now, until the pipe would block or closes.
    fn read_available(&mut self) {
        let mut chunk = [0u8; 8192];
        while self.open {
            match self.pipe.read(&mut chunk) {
                Ok(0) => self.open = false,
                Ok(n) => self.keep(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => self.open = false,
            }
        }
    }

    fn keep(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
        if self.tail_only && self.bytes.len() > 2 * TAIL_BYTES {
            self.bytes.drain(..self.bytes.len() - TAIL_BYTES);
        }
    }
}

fn set_nonblocking(fd: RawFd) {
    // SAFETY: fcntl(2) on a descriptor this process owns; no memory is touched.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// The payload on its way to the command's stdin, written as the command takes it.
struct Feed<'a> {
    pipe: File,
    rest: &'a [u8],
}

impl Feed<'_> {
    /// Writes what the pipe takes now; true when all is written (or the command closed its
    /// stdin: a command that does not read it is not a failure of the job).
    fn write_available(&mut self) -> bool {
        while !self.rest.is_empty() {
            match self.pipe.write(self.rest) {
                Ok(0) => return true,
                Ok(n) => self.rest = &self.rest[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(_) => return true,
            }
        }
        true
    }
}

/// A running command's stdin (while its payload is being written), stdout (when it is kept)
/// and stderr. All three are served at once: a command may write more than a pipe holds
/// before it has read all of its stdin.
pub(crate) struct Output<'a> {
    stdin: Option<Feed<'a>>,
    stdout: Option<Drain>,
    stderr: Option<Drain>,
}

impl<'a> Output<'a> {
    /// Takes the child's piped stdin (to write `payload` to), stdout and stderr (those it has).
    pub fn take(child: &mut Child, payload: Option<&'a [u8]>) -> Self {
        let stdin = child.stdin.take().zip(payload).map(|(pipe, rest)| {
            let pipe = File::from(std::os::fd::OwnedFd::from(pipe));
            set_nonblocking(pipe.as_raw_fd());
            Feed { pipe, rest }
        });
        let mut output = Self {
            stdin,
            stdout: child.stdout.take().map(|p| Drain::new(p, false)),
            stderr: child.stderr.take().map(|p| Drain::new(p, true)),
        };
        output.serve();
        output
    }

    fn open(&mut self) -> impl Iterator<Item = &mut Drain> {
        [self.stdout.as_mut(), self.stderr.as_mut()]
            .into_iter()
            .flatten()
            .filter(|d| d.open)
    }

    /// Waits up to `timeout` for output, room for the payload or the pipes' end, and serves
    /// them.
    pub fn wait(&mut self, timeout: Duration) {
        let poll = |fd: RawFd, events| libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        let feed = self
            .stdin
            .as_ref()
            .map(|f| poll(f.pipe.as_raw_fd(), libc::POLLOUT));
        let mut fds: Vec<libc::pollfd> = self
            .open()
            .map(|d| poll(d.pipe.as_raw_fd(), libc::POLLIN))
            .chain(feed)
            .collect();
        if fds.is_empty() {
            std::thread::sleep(timeout);
            return;
        }
        let wait = libc::timespec {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_nsec: timeout.subsec_nanos() as libc::c_long,
        };
        // SAFETY: ppoll(2) reads `fds` (owned, of the length given) and `wait`; no signal mask.
        unsafe {
            libc::ppoll(
                fds.as_mut_ptr(),
                fds.len() as libc::nfds_t,
                &wait,
                std::ptr::null(),
            );
        }
        self.serve();
    }

    /// Writes what the command's stdin takes now (closing it once the payload is all written,
    /// so the command sees its end), and reads what its stdout and stderr hold.
    fn serve(&mut self) {
        if self.stdin.as_mut().is_some_and(Feed::write_available) {
            self.stdin = None;
        }
        self.read_now();
    }

    /// Reads whatever is in the pipes now (after the command ended: all it wrote, unless
    /// something it started still holds them open).
    pub fn read_now(&mut self) {
        self.open().for_each(Drain::read_available);
    }

    /// Everything the command wrote to its stdout, if it was kept.
    pub fn stdout(&self) -> &[u8] {
        self.stdout.as_ref().map_or(&[], |d| &d.bytes)
    }

    /// The last lines of its stderr (blank ones left out), each cut to a readable length.
    pub fn stderr_tail(&self) -> Vec<String> {
        let Some(stderr) = &self.stderr else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&stderr.bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .collect();
        lines[lines.len().saturating_sub(STDERR_LINES)..]
            .iter()
            .map(|l| crate::text::escape_controls(&l.chars().take(LINE_CHARS).collect::<String>()))
            .collect()
    }
}

/// `--exec-output FILE`: every job's stdout, appended whole, one job after another.
#[derive(Debug)]
pub struct OutputFile {
    file: Mutex<File>,
}

impl OutputFile {
    /// Opens `path` for appending (creating it), before the run.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            file: Mutex::new(file),
        })
    }

    /// Appends one job's output; nothing if it wrote none. A failed write loses that output only.
    pub fn append(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = file.write_all(bytes);
    }
}

/// The stderr of the latest failed commands, by event id.
#[derive(Debug, Default)]
pub struct StderrTails {
    recent: Mutex<VecDeque<(u64, Vec<String>)>>,
}

impl StderrTails {
    pub fn record(&self, event: u64, lines: Vec<String>) {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.len() == FAILURES_KEPT {
            recent.pop_front();
        }
        recent.push_back((event, lines));
    }

    /// The last lines of the stderr of event `id`'s failed command, if it is among the latest.
    pub fn of(&self, event: u64) -> Option<Vec<String>> {
        let recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        recent
            .iter()
            .rev()
            .find(|(id, _)| *id == event)
            .map(|(_, lines)| lines.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    #[test]
    fn a_commands_stdout_is_read_whole_and_its_stderr_to_its_last_lines() {
        // 200 KiB of stdout: more than a pipe holds, so it is read while the command runs.
        let mut child = Command::new("sh")
            .args([
                "-c",
                "head -c 204800 /dev/zero; for i in 1 2 3 4 5; do echo line $i >&2; done",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut output = Output::take(&mut child, None);
        while child.try_wait().unwrap().is_none() {
            output.wait(Duration::from_millis(2));
        }
        output.read_now();
        assert_eq!(output.stdout().len(), 204_800);
        assert_eq!(output.stderr_tail(), ["line 3", "line 4", "line 5"]);
    }

    #[test]
    fn only_the_latest_failures_stderr_is_kept() {
        let tails = StderrTails::default();
        for id in 1..=FAILURES_KEPT as u64 + 1 {
            tails.record(id, vec![format!("failure {id}")]);
        }
        assert_eq!(tails.of(1), None);
        assert_eq!(tails.of(2), Some(vec!["failure 2".to_string()]));
    }
}
