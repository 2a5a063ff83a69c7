//! Running the binary with input on its stdin, and counting the processes it leaves.
#![allow(dead_code)] // each test file uses part of it

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs the binary with `args`, `input` on its stdin (written from another thread, so a large
/// input cannot deadlock against a full stdout).
pub fn backlog_with_input(args: &[&str], input: Vec<u8>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut stdin = child.stdin.take().expect("a piped stdin");
    let writer = std::thread::spawn(move || {
        // The run may end (and close its stdin) before it has read everything: not an error.
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("the binary ends");
    writer.join().expect("the writer ends");
    out
}

/// Running `sleep MARKER` processes (a marker unique to one test).
pub fn sleeps(marker: &str) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let wanted = format!("sleep {marker}");
    entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|cmd| String::from_utf8_lossy(&cmd).replace('\0', " "))
        .filter(|cmd| cmd.trim_end() == wanted)
        .count()
}

/// Runs the binary with `args` (stdin empty) to its end.
pub fn backlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// Runs the binary with `args` (stdin empty) to its end, which must be a success.
pub fn run_ok(args: &[&str]) -> Output {
    let out = backlog(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the binary headless with `args` and `--json`, and reads the summary it prints.
pub fn json_summary(args: &[&str]) -> serde_json::Value {
    let all = [args, &["--headless", "--json"]].concat();
    serde_json::from_slice(&run_ok(&all).stdout).expect("the summary is JSON")
}

/// Issue 16's sweep: 8 points of M/M/c at 9/s and 500 ms, 60 s each at 20 times speed, with
/// its JSON report (its predictions are checked in tests/sweep.rs, its wall time in
/// benches/sweep.rs).
pub const EIGHT_POINT_SWEEP: &[&str] = &[
    "sweep",
    "--workers",
    "1..8",
    "--rate",
    "9/s",
    "--service",
    "500ms",
    "--service-dist",
    "exp",
    "--speed",
    "20",
    "--point-duration",
    "60s",
    "--json",
];
