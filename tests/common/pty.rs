//! The real binary in a pseudo-terminal, its output read by a vt100 parser: keys in, screen out,
//! resizes, signals, the pty's termios (is raw mode on?), and reading that can be paused to play
//! a terminal that stopped reading.

#![allow(dead_code)] // each test file uses part of it

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const STARTUP: Duration = Duration::from_secs(15);
pub const STEP: Duration = Duration::from_secs(5);

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub code: u32,
    /// Killed by a signal rather than exited.
    pub signaled: bool,
}

/// The binary running in a pty, with everything it printed so far.
pub struct Session {
    pub child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    output: Receiver<Vec<u8>>,
    /// Cleared to stop reading the pty, as a terminal that froze would.
    reading: Arc<AtomicBool>,
    pub parser: vt100::Parser,
    /// Every byte read so far.
    pub raw: Vec<u8>,
}

fn size(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero size")
}

fn pty_size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

impl Session {
    pub fn start(args: &[&str], rows: u16, cols: u16) -> Self {
        Self::start_with_env(args, &[], rows, cols)
    }

    pub fn start_with_env(args: &[&str], env: &[(&str, &str)], rows: u16, cols: u16) -> Self {
        Self::start_program(env!("CARGO_BIN_EXE_backlog"), args, env, rows, cols)
    }

    /// Runs `program` (a shell that pipes into backlog, say) in the pseudo-terminal.
    pub fn start_program(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        rows: u16,
        cols: u16,
    ) -> Self {
        let pty = native_pty_system()
            .openpty(pty_size(rows, cols))
            .expect("open a pty");
        let mut command = CommandBuilder::new(program);
        command.args(args);
        command.env("TERM", "xterm-256color");
        command.env_remove("RUST_BACKTRACE");
        for (key, value) in env {
            command.env(key, value);
        }
        let child = pty.slave.spawn_command(command).expect("spawn backlog");
        // Our copy of the slave must close, or the reader never sees the end.
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let (tx, output) = mpsc::channel();
        let reading = Arc::new(AtomicBool::new(true));
        let read_flag = Arc::clone(&reading);
        thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                while !read_flag.load(Ordering::Relaxed) {
                    thread::sleep(Duration::from_millis(5));
                }
                match reader.read(&mut chunk) {
                    Ok(n) if n > 0 && tx.send(chunk[..n].to_vec()).is_ok() => {}
                    _ => break,
                }
            }
        });
        Self {
            child,
            master: pty.master,
            writer,
            output,
            reading,
            parser: vt100::Parser::new(size(rows), size(cols), 0),
            raw: Vec::new(),
        }
    }

    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Reads output until `done(screen)` holds; panics with the screen after `timeout`.
    pub fn wait_for(&mut self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(&self.screen()) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "timed out waiting for {what}; screen:\n{}",
                self.screen()
            );
            let open = self.read(left.min(Duration::from_millis(100)));
            assert!(
                open,
                "backlog exited while waiting for {what}; screen:\n{}",
                self.screen()
            );
        }
    }

    /// Waits for the monitor's panels.
    pub fn wait_for_panels(&mut self) {
        self.wait_for("the panels", STARTUP, |screen| {
            ["Queue", "Source", "Workers"]
                .iter()
                .all(|title| screen.contains(title))
        });
    }

    /// Takes what was read within `timeout`; false once the pty has closed.
    pub fn read(&mut self, timeout: Duration) -> bool {
        match self.output.recv_timeout(timeout) {
            Ok(bytes) => {
                self.take(&bytes);
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    /// Reads for `duration` (keeps the pty flowing while a test waits).
    pub fn read_for(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline && self.read(Duration::from_millis(20)) {}
    }

    fn take(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.raw.extend_from_slice(bytes);
    }

    pub fn press(&mut self, keys: &str) {
        self.send(keys.as_bytes());
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write keys");
        self.writer.flush().expect("flush keys");
    }

    /// Resizes the pty (the program gets SIGWINCH) and the parser with it.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.master
            .resize(pty_size(rows, cols))
            .expect("resize the pty");
        self.parser.set_size(size(rows), size(cols));
    }

    pub fn pause_reading(&self) {
        self.reading.store(false, Ordering::Relaxed);
    }

    pub fn resume_reading(&self) {
        self.reading.store(true, Ordering::Relaxed);
    }

    /// Bytes written by the program that nobody has read yet.
    pub fn unread_bytes(&self) -> usize {
        let fd = self.master.as_raw_fd().expect("a pty fd");
        let mut n: libc::c_int = 0;
        // SAFETY: FIONREAD into a c_int we own, on the pty we hold open.
        let ok = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
        assert_eq!(ok, 0, "FIONREAD on the pty");
        n.max(0) as usize
    }

    /// Raw mode as the pty's termios says: no line editing and no echo.
    pub fn raw_mode(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("a pty fd");
        // SAFETY: tcgetattr into a zeroed termios we own, on the pty we hold open.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::tcgetattr(fd, &mut termios) };
        assert_eq!(ok, 0, "tcgetattr on the pty");
        termios.c_lflag & (libc::ICANON | libc::ECHO) == 0
    }

    pub fn pid(&self) -> libc::pid_t {
        self.child.process_id().expect("a pid") as libc::pid_t
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit, then reads the rest of its output (the restore sequences
    /// come last); returns how it ended and how long the exit took.
    pub fn wait_exit(&mut self, timeout: Duration) -> (Exit, Duration) {
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                let took = started.elapsed();
                self.resume_reading();
                // The pty closes once the output is read: read to the end (bounded).
                let drain_until = Instant::now() + STEP;
                while Instant::now() < drain_until && self.read(Duration::from_millis(100)) {}
                let exit = Exit {
                    code: status.exit_code(),
                    signaled: status.signal().is_some(),
                };
                return (exit, took);
            }
            assert!(
                Instant::now() < deadline,
                "backlog did not exit within {timeout:?}; screen:\n{}",
                self.screen()
            );
            if !self.read(Duration::from_millis(10)) {
                thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Output so far, as text (escape sequences and all).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The terminal is as the program found it: main screen, cursor shown, raw mode off, and
    /// the sequence leaving the alternate screen was written.
    pub fn assert_restored(&self, what: &str) {
        let screen = self.parser.screen();
        assert!(
            !screen.alternate_screen(),
            "{what}: still in the alternate screen"
        );
        assert!(!screen.hide_cursor(), "{what}: the cursor is still hidden");
        assert!(!self.raw_mode(), "{what}: raw mode is still on");
        assert!(
            self.last_leave().is_some(),
            "{what}: no leave-alternate-screen sequence in the output"
        );
    }

    /// Where the last leave-alternate-screen sequence starts in the output.
    pub fn last_leave(&self) -> Option<usize> {
        let leave = b"\x1b[?1049l";
        self.raw.windows(leave.len()).rposition(|w| w == leave)
    }

    /// `text` was printed after the terminal was restored (so it shows in the main screen).
    pub fn assert_printed_after_restore(&self, text: &str) {
        let leave = self.last_leave().expect("the alternate screen was left");
        let after = String::from_utf8_lossy(&self.raw[leave..]);
        assert!(
            after.contains(text),
            "'{text}' not printed after the terminal was restored; output after it:\n{after}"
        );
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // A failed assertion must not leave the binary running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}
