//! End to end: the real binary in a pseudo-terminal, its output read by a vt100 parser. Waits for
//! the panels, presses `+` and sees the worker count change, quits with `q`, and checks the exit
//! code and that the alternate screen was left.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const ROWS: u16 = 30;
const COLS: u16 = 100;
const STARTUP: Duration = Duration::from_secs(15);
const STEP: Duration = Duration::from_secs(5);

/// The binary running in a pty, with everything it printed so far.
struct Session {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Receiver<Vec<u8>>,
    parser: vt100::Parser,
    raw: Vec<u8>,
}

impl Session {
    fn start(args: &[&str]) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("open a pty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_backlog"));
        command.args(args);
        command.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(command).expect("spawn backlog");
        // Our copy of the slave must close, or the reader never sees the end.
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("pty reader");
        let writer = pty.master.take_writer().expect("pty writer");
        let (tx, output) = mpsc::channel();
        thread::spawn(move || {
            let _master = pty.master; // keep the pty open while reading
            let mut chunk = [0u8; 8192];
            while let Ok(n) = reader.read(&mut chunk) {
                if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let size = |n| NonZeroU16::new(n).expect("non-zero size");
        Self {
            child,
            writer,
            output,
            parser: vt100::Parser::new(size(ROWS), size(COLS), 0),
            raw: Vec::new(),
        }
    }

    fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    /// Reads output until `done(screen)` holds; panics with the screen after `timeout`.
    fn wait_for(&mut self, what: &str, timeout: Duration, done: impl Fn(&str) -> bool) {
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

    fn read(&mut self, timeout: Duration) -> bool {
        match self.output.recv_timeout(timeout) {
            Ok(bytes) => {
                self.parser.process(&bytes);
                self.raw.extend_from_slice(&bytes);
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("write keys");
        self.writer.flush().expect("flush keys");
    }

    /// Waits for the process to exit, reading its last output; returns the exit code.
    fn wait_exit(&mut self, timeout: Duration) -> u32 {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("child status") {
                // Drain what is left: the restore sequences come last.
                while self.read(Duration::from_millis(200)) && Instant::now() < deadline + STEP {
                    if self.output_idle() {
                        break;
                    }
                }
                return status.exit_code();
            }
            assert!(
                Instant::now() < deadline,
                "backlog did not exit; screen:\n{}",
                self.screen()
            );
            self.read(Duration::from_millis(50));
        }
    }

    fn output_idle(&mut self) -> bool {
        match self.output.try_recv() {
            Ok(bytes) => {
                self.parser.process(&bytes);
                self.raw.extend_from_slice(&bytes);
                false
            }
            Err(_) => true,
        }
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

#[test]
fn live_monitor_adds_a_worker_and_quits_cleanly() {
    let mut session = Session::start(&["--workers", "4", "--rate", "9/s", "--service", "500ms"]);
    session.wait_for("the panels", STARTUP, |screen| {
        ["Queue", "Source", "Workers", "Latency", "Theory"]
            .iter()
            .all(|title| screen.contains(title))
    });
    assert!(
        session.parser.screen().alternate_screen(),
        "the monitor should use the alternate screen"
    );
    session.wait_for("workers 4 in the header", STEP, |screen| {
        screen.contains("workers 4")
    });

    session.press("+");
    session.wait_for("workers 5 in the header", STEP, |screen| {
        screen.contains("workers 5")
    });

    session.press("q");
    let code = session.wait_exit(STEP * 2);
    assert_eq!(code, 0, "exit code; screen:\n{}", session.screen());
    assert!(
        !session.parser.screen().alternate_screen(),
        "the alternate screen was not left"
    );
    let leave = b"\x1b[?1049l";
    assert!(
        session.raw.windows(leave.len()).any(|w| w == leave),
        "no leave-alternate-screen sequence in the output"
    );
}

#[test]
fn a_scenario_shows_its_captions_keys_still_work_and_the_cast_records_the_screen() {
    let cast = std::env::temp_dir().join(format!("backlog-e2e-{}.cast", std::process::id()));
    let mut session = Session::start(&[
        "--scenario",
        "falling-behind",
        "--record",
        cast.to_str().unwrap(),
    ]);
    session.wait_for("the first caption", STARTUP, |screen| {
        screen.contains("One worker short: 4 workers")
    });
    session.wait_for("workers 4 in the header", STEP, |screen| {
        screen.contains("workers 4")
    });
    // A key during a scenario acts as always.
    session.press("+");
    session.wait_for("workers 5 in the header", STEP, |screen| {
        screen.contains("workers 5")
    });
    session.press("q");
    let code = session.wait_exit(STEP * 2);
    assert_eq!(code, 0, "exit code; screen:\n{}", session.screen());
    assert!(!session.parser.screen().alternate_screen());

    // The recording holds what the terminal was sent, at the terminal's size.
    let text = std::fs::read_to_string(&cast).expect("the cast was written");
    std::fs::remove_file(&cast).ok();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2);
    assert_eq!(
        (header["width"].clone(), header["height"].clone()),
        (COLS.into(), ROWS.into())
    );
    let size = |n| NonZeroU16::new(n).expect("non-zero size");
    let mut replay = vt100::Parser::new(size(ROWS), size(COLS), 0);
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        replay.process(event[2].as_str().unwrap().as_bytes());
    }
    let last = replay.screen().contents();
    assert!(last.contains("One worker short"), "{last}");
    assert!(last.contains("workers 5"), "{last}");
}
