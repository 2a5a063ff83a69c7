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

/// `args` are refused before the run: exit 2 and one line of error that says `says`.
fn assert_refused(args: &[&str], says: &str) {
    let mut all = args.to_vec();
    all.extend(["--headless", "--events", "1"]);
    let out = backlog(&all, b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
    assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
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
        assert_refused(args, says);
    }
}

/// Lines from stdin, each one a job of `command` on `workers`, and the JSON summary.
fn exec_json(command: &str, input: &[u8], workers: &str, more: &[&str]) -> serde_json::Value {
    let mut args = vec!["--source", "stdin", "--exec", command, "--workers", workers];
    args.extend_from_slice(more);
    args.extend(["--headless", "--json"]);
    json(&backlog(&args, input))
}

#[test]
fn the_last_failure_keeps_its_exit_status_and_the_last_lines_of_its_stderr() {
    // Event 2 fails with five lines of stderr; event 3 after it succeeds.
    let command = r#"sh -c "test {} = a && exit 0; for i in 1 2 3 4 5; do echo {} line $i >&2; done; exit 3""#;
    let s = exec_json(command, b"a\nb\na\n", "1", &[]);
    assert_eq!(done_and_failed(&s), (2, 1), "{s}");
    let f = &s["last_failure"];
    assert_eq!(f["event"], 2, "{f}");
    assert_eq!(f["exit_status"], 3, "{f}");
    assert_eq!(f["reason"], "exit status 3", "{f}");
    assert!(f["signal"].is_null() && f["timed_out"] == false, "{f}");
    assert_eq!(
        f["stderr"],
        serde_json::json!(["b line 3", "b line 4", "b line 5"]),
        "{f}"
    );
    // A signal is not an exit status; a run without failures has none.
    let f = &exec_json(r#"sh -c "kill -KILL $$""#, b"x\n", "1", &[])["last_failure"];
    assert_eq!(
        (f["signal"].as_i64(), f["exit_status"].is_null()),
        (Some(9), true),
        "{f}"
    );
    let s = exec_json("true", b"x\ny\n", "1", &[]);
    assert!(s["last_failure"].is_null(), "{s}");
}

#[test]
fn a_timed_out_command_is_the_last_failure_and_the_log_ends_with_it() {
    let out = backlog(
        &[
            "--source",
            "stdin",
            "--exec",
            r#"sh -c "echo waiting >&2; sleep 30""#,
            "--exec-timeout",
            "200ms",
            "--headless",
        ],
        b"x\n",
    );
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(
        log.contains("# last failure: event 1 at ")
            && log.contains("s: timed out; stderr: waiting"),
        "{log}"
    );
}

/// A path in the temp dir for one test's output file.
fn output_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("backlog-exec-{}-{name}", std::process::id()))
}

#[test]
fn exec_output_appends_every_jobs_stdout_whole() {
    let path = output_path("out");
    std::fs::write(&path, "before\n").unwrap();
    let input: Vec<u8> = (1..=40)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    // Four jobs at a time, each writing two lines with a pause between them.
    let command = r#"sh -c "echo start {}; sleep 0.01; echo end {}""#;
    let s = exec_json(
        command,
        &input,
        "4",
        &["--exec-output", path.to_str().unwrap()],
    );
    assert_eq!(done_and_failed(&s), (40, 0), "{s}");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 81, "{text}");
    assert_eq!(lines[0], "before", "appended, not overwritten");
    // Each job's two lines together, never another's between them.
    for pair in lines[1..].chunks(2) {
        let id = pair[0]
            .strip_prefix("start ")
            .unwrap_or_else(|| panic!("{text}"));
        assert_eq!(pair[1], format!("end {id}"), "{text}");
    }
}

#[test]
fn without_exec_output_a_commands_stdout_goes_nowhere() {
    let out = backlog(
        &[
            "--source",
            "stdin",
            "--exec",
            "echo LEAKED {}",
            "--headless",
        ],
        b"x\n",
    );
    assert!(out.status.success());
    let all = [out.stdout, out.stderr].concat();
    assert!(!String::from_utf8_lossy(&all).contains("LEAKED"));
}

#[test]
fn an_exec_output_that_cannot_be_written_is_refused_before_the_run() {
    for (args, says) in [
        (
            &[
                "--exec",
                "true",
                "--exec-output",
                "/nonexistent/dir/out.txt",
            ][..],
            "--exec-output: cannot write /nonexistent/dir/out.txt",
        ),
        (&["--exec-output", "out.txt"], "--exec"),
    ] {
        assert_refused(args, says);
    }
    assert!(!std::path::Path::new("out.txt").exists());
}

#[test]
fn a_long_payload_reaches_a_command_that_writes_while_it_reads() {
    // cat writes each piece of its stdin as it reads it: a 512 KiB line fills the pipe of its
    // stdout long before it has all of its stdin, so both must be served at once.
    let path = output_path("cat");
    let mut line = vec![b'y'; 512 << 10];
    line.push(b'\n');
    let s = exec_json(
        "cat",
        &line,
        "1",
        &[
            "--exec-timeout",
            "10s",
            "--exec-output",
            path.to_str().unwrap(),
        ],
    );
    let written = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    std::fs::remove_file(&path).ok();
    assert_eq!(done_and_failed(&s), (1, 0), "{}", s["last_failure"]);
    assert_eq!(written, 512 << 10);
}
