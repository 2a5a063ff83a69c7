//! Running the binary with input on its stdin.

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
