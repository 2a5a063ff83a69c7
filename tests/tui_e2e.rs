//! End to end: the real binary in a pseudo-terminal, its output read by a vt100 parser. Waits for
//! the panels, presses `+` and sees the worker count change, quits with `q`, and checks the exit
//! code and that the alternate screen was left.

use std::num::NonZeroU16;

#[path = "common/pty.rs"]
mod pty;

use pty::{STARTUP, STEP, Session};

const ROWS: u16 = 30;
const COLS: u16 = 100;

#[test]
fn live_monitor_adds_a_worker_and_quits_cleanly() {
    let mut session = Session::start(
        &["--workers", "4", "--rate", "9/s", "--service", "500ms"],
        ROWS,
        COLS,
    );
    session.wait_for("the panels", STARTUP, |screen| {
        ["Queue", "Source", "Workers", "Latency", "Theory"]
            .iter()
            .all(|title| screen.contains(title))
    });
    assert!(
        session.parser.screen().alternate_screen(),
        "the monitor should use the alternate screen"
    );
    assert!(
        session.raw_mode(),
        "the monitor should put the terminal in raw mode"
    );
    session.wait_for("workers 4 in the header", STEP, |screen| {
        screen.contains("workers 4")
    });

    session.press("+");
    session.wait_for("workers 5 in the header", STEP, |screen| {
        screen.contains("workers 5")
    });
    // Every key that changes something says so in the footer, not only at a limit.
    session.wait_for("the change in the footer", STEP, |screen| {
        screen.contains("workers 4 → 5")
    });
    session.press("\x1b[A");
    session.wait_for("the rate's change in the footer", STEP, |screen| {
        screen.contains("rate 9/s → 9.9/s")
    });

    session.press("q");
    let (exit, _) = session.wait_exit(STEP * 2);
    let code = exit.code;
    assert_eq!(code, 0, "exit code; screen:\n{}", session.screen());
    session.assert_restored("after q");
}

#[test]
fn a_scenario_shows_its_captions_keys_still_work_and_the_cast_records_the_screen() {
    let cast = std::env::temp_dir().join(format!("backlog-e2e-{}.cast", std::process::id()));
    let mut session = Session::start(
        &[
            "--scenario",
            "falling-behind",
            "--record",
            cast.to_str().unwrap(),
        ],
        ROWS,
        COLS,
    );
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
    let (exit, _) = session.wait_exit(STEP * 2);
    let code = exit.code;
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
        // Output only: markers (chapters) are labels, not bytes for the terminal.
        if event[1] == "o" {
            replay.process(event[2].as_str().unwrap().as_bytes());
        }
    }
    let last = replay.screen().contents();
    assert!(last.contains("One worker short"), "{last}");
    assert!(last.contains("workers 5"), "{last}");
}

/// `--exit-when-done`: the monitor leaves by itself once the run is over, with the terminal
/// restored, and the last frame it drew is the finished run (not an early exit).
#[test]
fn exit_when_done_leaves_the_monitor_once_the_run_is_over() {
    let mut session = Session::start(
        &[
            "--events",
            "20",
            "--rate",
            "50/s",
            "--service",
            "5ms",
            "--exit-when-done",
        ],
        ROWS,
        COLS,
    );
    session.wait_for_panels();
    // No key is pressed: without the option it would show the finished screen until `q`.
    let (exit, _) = session.wait_exit(STEP * 2);
    assert_eq!(exit.code, 0, "{}", session.text());
    assert!(!exit.signaled);
    session.assert_restored("exit when done");
    // The alternate screen as it was when the monitor left it.
    let leave = session.last_leave().expect("left the alternate screen");
    let size = |n| NonZeroU16::new(n).unwrap();
    let mut last = vt100::Parser::new(size(ROWS), size(COLS), 0);
    last.process(&session.raw[..leave]);
    let screen = last.screen().contents();
    assert!(screen.contains("finished"), "{screen}");
    assert!(screen.contains("20 completed"), "{screen}");
}

/// The lesson of the forecast: one worker short, the verdict says overloaded; two more
/// workers and it says draining, with a time, before the queue has gone down.
#[test]
fn pressing_plus_turns_an_overloaded_pool_to_draining_with_a_time() {
    let mut session = Session::start(
        &[
            "--arrival",
            "fixed",
            "--rate",
            "10/s",
            "--service",
            "500ms",
            "--service-dist",
            "fixed",
            "--workers",
            "4",
            "--speed",
            "4",
        ],
        ROWS,
        COLS,
    );
    session.wait_for("overloaded", STARTUP, |screen| {
        screen.contains("overloaded: +")
    });
    // A backlog to drain: 2 a second for a few seconds of model time.
    std::thread::sleep(std::time::Duration::from_secs(3));
    session.press("++");
    session.wait_for("draining with a time", STEP * 2, |screen| {
        screen.contains("draining: empty in about")
    });
    session.press("q");
    let (exit, _) = session.wait_exit(STEP * 2);
    assert_eq!(exit.code, 0, "screen:\n{}", session.screen());
    session.assert_restored("after q");
}
