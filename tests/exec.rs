//! `--work exec`: a command per event, run without a shell, through the binary as a user runs it.

#[path = "common/run.rs"]
mod run;

use std::process::{Command, Output, Stdio};

use run::{backlog_with_input, sleeps};
use std::time::{Duration, Instant};

fn backlog(args: &[&str], input: &[u8]) -> Output {
    backlog_with_input(args, input.to_vec())
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

fn done_and_failed(s: &serde_json::Value) -> (u64, u64) {
    (
        s["completed"].as_u64().unwrap(),
        s["failed"].as_u64().unwrap(),
    )
}

#[test]
fn the_exit_status_decides_success_and_braces_take_the_payload() {
    let out = backlog(
        &[
            "--source",
            "stdin",
            "--work",
            "exec",
            "--exec",
            r#"sh -c "test {} = a""#,
            "--headless",
            "--json",
        ],
        b"a\nb\n",
    );
    assert_eq!(done_and_failed(&json(&out)), (1, 1));
}

#[test]
fn the_payload_is_also_the_commands_stdin() {
    // grep reads its stdin: the line with an x matches, the other does not.
    let out = backlog(
        &[
            "--source",
            "stdin",
            "--exec",
            "grep -q x",
            "--headless",
            "--json",
        ],
        b"1x1\nyyy\n",
    );
    assert_eq!(done_and_failed(&json(&out)), (1, 1));
}

#[test]
fn a_command_past_its_timeout_is_killed_and_failed() {
    let started = Instant::now();
    let out = backlog(
        &[
            "--exec",
            "sleep 30",
            "--exec-timeout",
            "200ms",
            "--events",
            "2",
            "--workers",
            "2",
            "--rate",
            "100/s",
            "--headless",
        ],
        b"",
    );
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(log.matches("(timed out)").count(), 2, "{log}");
    assert!(log.contains(" 2 generated, 0 completed, 2 failed"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_interrupt_kills_every_running_command_and_what_it_started() {
    // Each command starts a sleep in the background and waits on another: all 16 must go.
    let marker = format!("61.{}", std::process::id());
    let command = format!(r#"sh -c "sleep {marker} & sleep {marker}""#);
    let child = Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args([
            "--exec",
            &command,
            "--workers",
            "8",
            "--rate",
            "100/s",
            "--headless",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sleeps(&marker) < 16 {
        assert!(Instant::now() < deadline, "the commands never all started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let interrupted = Instant::now();
    // SAFETY: kill(2) on a child we spawned; no memory is touched.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert!(
        interrupted.elapsed() < Duration::from_secs(1),
        "{:?}",
        interrupted.elapsed()
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains(", 8 in flight"), "{log}");
    assert_eq!(sleeps(&marker), 0, "commands left running");
}

#[test]
fn a_missing_empty_or_misplaced_command_is_refused_before_the_run() {
    for (args, says) in [
        (
            &["--work", "exec"][..],
            "--work exec needs the command to run",
        ),
        (
            &["--exec", "no-such-program-anywhere {}"],
            "command 'no-such-program-anywhere' not found",
        ),
        (&["--exec", ""], "--exec needs a command"),
        (&["--exec", "sh -c 'x"], "unclosed quote"),
        (
            &["--exec", "true", "--work", "cpu"],
            "cannot go with --work sleep or cpu",
        ),
    ] {
        let mut all = args.to_vec();
        all.extend(["--headless", "--events", "1"]);
        let out = backlog(&all, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}
