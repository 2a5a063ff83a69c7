//! The monitor with the other sources and work, in a pseudo-terminal: stdin a pipe while the
//! keys come from the terminal; quitting with `exec` commands running leaves none behind.

use std::time::{Duration, Instant};

#[path = "common/pty.rs"]
mod pty;
#[path = "common/run.rs"]
mod run;

use pty::{STARTUP, STEP, Session};
use run::sleeps;

const BIN: &str = env!("CARGO_BIN_EXE_backlog");

/// The monitor fed by `producer | backlog ARGS`, through a shell (only the test uses one).
fn piped(producer: &str, args: &str) -> Session {
    let line = format!("{producer} | exec \"$0\" {args}");
    Session::start_program("sh", &["-c", &line, BIN], &[], 30, 100)
}

#[test]
fn with_stdin_a_pipe_the_keys_still_come_from_the_terminal() {
    let mut session = piped("seq 1 1000000", "--source stdin --service 20ms --workers 2");
    session.wait_for("the panels", STARTUP, |screen| {
        screen.contains("Queue") && screen.contains("workers 2")
    });
    // The source says what it is, in its panel and in the header.
    session.wait_for("the stdin source named", STEP, |screen| {
        screen.contains("Source · stdin · reading") && screen.contains("source stdin")
    });
    session.press("+");
    session.wait_for("workers 3 in the header", STEP, |screen| {
        screen.contains("workers 3")
    });
    session.press("q");
    let (exit, _) = session.wait_exit(STEP * 2);
    assert_eq!(exit.code, 0, "screen:\n{}", session.screen());
    session.assert_restored("after q");
}

#[test]
fn quitting_with_commands_running_returns_at_once_and_leaves_none() {
    let marker = format!("60.{}", std::process::id());
    let exec = format!("sleep {marker}");
    let mut session = Session::start(
        &["--exec", &exec, "--workers", "8", "--rate", "100/s"],
        30,
        100,
    );
    let deadline = Instant::now() + STARTUP;
    while sleeps(&marker) < 8 {
        assert!(Instant::now() < deadline, "the 8 commands never started");
        session.read(Duration::from_millis(20));
    }
    let pressed = Instant::now();
    session.press("q");
    let (exit, _) = session.wait_exit(STEP * 2);
    assert!(
        pressed.elapsed() < Duration::from_secs(1),
        "{:?}",
        pressed.elapsed()
    );
    assert_eq!(exit.code, 0, "screen:\n{}", session.screen());
    session.assert_restored("after q");
    assert_eq!(sleeps(&marker), 0, "commands left running");
}

#[test]
fn a_failing_command_shows_its_exit_status_and_stderr_under_the_workers() {
    let mut session = Session::start(
        &[
            "--exec",
            r#"sh -c "echo it broke >&2; exit 4""#,
            "--workers",
            "2",
            "--rate",
            "5/s",
        ],
        30,
        100,
    );
    session.wait_for("the last failure", STARTUP, |screen| {
        screen.contains("last failure ev") && screen.contains("exit status 4")
    });
    session.wait_for("its stderr", STEP, |screen| screen.contains("it broke"));
    session.press("q");
    let (exit, _) = session.wait_exit(STEP * 2);
    assert_eq!(exit.code, 0, "screen:\n{}", session.screen());
    session.assert_restored("after q");
}
