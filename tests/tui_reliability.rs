//! Trying to break the live monitor in a pseudo-terminal: quitting at awkward moments, panics on
//! the drawing thread and in the engine, a terminal that stops reading, failing work, and
//! thousands of random keys with resizes from 1x1 up. Whatever happens, the terminal must come
//! back as it was: main screen, cursor shown, raw mode off.

#[path = "common/pty.rs"]
mod pty;

use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use backlog::cli::Cli;
use backlog::engine::settings::{ArrivalProcess, ServiceDist, WorkMode};
use backlog::engine::snapshot::LatencyKind;
use clap::Parser;
use pty::{STEP, Session};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

/// These tests measure how fast the monitor leaves: they take turns, not the two cores at once.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long the monitor may take to leave after `q` or a forced exit: the promise is about a
/// second (it takes well under a tenth of one, even with a busy core).
const QUIT_BOUND: Duration = Duration::from_secs(1);

/// Presses `q` and checks a clean, prompt exit with the terminal restored.
fn quit_cleanly(session: &mut Session, what: &str) {
    assert!(
        session.raw_mode(),
        "{what}: raw mode should be on while running"
    );
    assert!(
        session.parser.screen().alternate_screen(),
        "{what}: should be in the alternate screen while running"
    );
    session.press("q");
    let (exit, took) = session.wait_exit(STEP * 2);
    eprintln!("{what}: left {took:?} after q");
    assert_eq!(exit.code, 0, "{what}: exit; output:\n{}", session.text());
    assert!(!exit.signaled, "{what}: killed by a signal");
    assert!(took < QUIT_BOUND, "{what}: took {took:?} to leave after q");
    session.assert_restored(what);
}

#[test]
fn quitting_mid_burst_mid_resize_and_with_a_huge_backlog_is_prompt_and_clean() {
    let _serial = serial();
    // A burst of a million events every second into 4 workers.
    let mut burst = Session::start(
        &[
            "--arrival",
            "bursty",
            "--burst",
            "1000000",
            "--rate",
            "1000000/s",
            "--service",
            "1ms",
            "--workers",
            "4",
        ],
        30,
        100,
    );
    burst.wait_for_panels();
    burst.read_for(Duration::from_millis(1_050));
    quit_cleanly(&mut burst, "mid-burst");

    // Worker keys pressed as fast as they can be written, with the window resizing, then q.
    let mut resize = Session::start(&["--workers", "4", "--max-workers", "64"], 30, 100);
    resize.wait_for_panels();
    for i in 0..120u16 {
        resize.press(if i % 3 == 2 { "-" } else { "+" });
        if i % 10 == 0 {
            resize.resize(20 + i % 30, 60 + i);
        }
    }
    resize.resize(30, 100);
    // Every key counted, none lost to the resizes: 4 + 80 - 40.
    resize.wait_for("workers 44", STEP, |screen| screen.contains("workers 44 "));
    for _ in 0..20 {
        resize.press("+-");
    }
    resize.resize(24, 80);
    quit_cleanly(&mut resize, "mid-resize");

    // 100,000 events/s against one worker of 100/s: a backlog of hundreds of thousands.
    let mut backlog = Session::start(
        &["--rate", "100000/s", "--workers", "1", "--service", "10ms"],
        30,
        100,
    );
    backlog.wait_for_panels();
    backlog.read_for(Duration::from_secs(3));
    quit_cleanly(&mut backlog, "huge backlog");

    // An hour of cpu work per event: the workers abandon it.
    let mut cpu = Session::start(
        &[
            "--work",
            "cpu",
            "--service",
            "1h",
            "--service-dist",
            "fixed",
            "--workers",
            "2",
            "--rate",
            "20/s",
        ],
        30,
        100,
    );
    cpu.wait_for_panels();
    cpu.read_for(Duration::from_millis(500));
    quit_cleanly(&mut cpu, "an hour of cpu work in flight");
}

#[test]
fn a_panic_while_drawing_restores_the_terminal_then_prints_the_message() {
    let _serial = serial();
    let mut session = Session::start_with_env(
        &["--rate", "50/s", "--service", "20ms"],
        &[("BACKLOG_TEST_PANIC", "render")],
        30,
        100,
    );
    let (exit, _) = session.wait_exit(STEP * 3);
    let text = session.text();
    assert!(
        text.contains("Workers"),
        "it panicked before drawing:\n{text}"
    );
    assert_eq!(exit.code, 101, "a panic exits 101:\n{text}");
    session.assert_restored("render panic");
    session.assert_printed_after_restore("injected panic while rendering");
}

#[test]
fn a_panic_in_an_engine_thread_stops_the_monitor_restores_the_terminal_and_reports_it() {
    let _serial = serial();
    for (site, message) in [
        ("engine", "injected panic in the statistics thread"),
        ("worker", "injected panic in worker 1's loop"),
    ] {
        let mut session = Session::start_with_env(
            &["--rate", "200/s", "--service", "5ms"],
            &[("BACKLOG_TEST_PANIC", site)],
            30,
            100,
        );
        // The engine panics half a second in; the monitor must notice and leave by itself.
        let (exit, _) = session.wait_exit(STEP * 3);
        let text = session.text();
        assert!(text.contains("Workers"), "{site}: nothing drawn:\n{text}");
        assert_eq!(exit.code, 101, "{site}:\n{text}");
        session.assert_restored(site);
        session.assert_printed_after_restore(message);
        session.assert_printed_after_restore("backlog: the engine stopped on an internal error");
    }
}

#[test]
fn failing_work_keeps_the_monitor_running_and_shows_failed_events() {
    let _serial = serial();
    // Half the events fail, half of those by panicking inside the work.
    let mut session = Session::start(
        &["--fail-rate", "0.5", "--rate", "200/s", "--service", "2ms"],
        30,
        100,
    );
    session.wait_for_panels();
    session.wait_for("failed events counted", STEP, |screen| {
        failed_count(screen).is_some_and(|n| n >= 20)
    });
    // The panics did not touch the terminal: the monitor still owns it and keeps drawing.
    let before = failed_count(&session.screen()).unwrap();
    session.wait_for("more failed events", STEP, |screen| {
        failed_count(screen).is_some_and(|n| n > before + 20)
    });
    quit_cleanly(&mut session, "failing work");
}

/// The source panel's `failed N`.
fn failed_count(screen: &str) -> Option<u64> {
    let at = screen.find("failed ")? + "failed ".len();
    let digits: String = screen[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[test]
fn a_second_signal_forces_the_exit_when_the_terminal_stopped_reading() {
    let _serial = serial();
    // Big, busy frames, many a second: a terminal that stops reading fills up at once.
    let mut session = Session::start(
        &[
            "--rate",
            "5000/s",
            "--service",
            "2ms",
            "--workers",
            "16",
            "--fps",
            "60",
        ],
        60,
        200,
    );
    session.wait_for_panels();
    session.pause_reading();
    // Stalled: the unread output stops growing because the program is blocked writing.
    let deadline = Instant::now() + STEP * 2;
    let mut last = (session.unread_bytes(), Instant::now());
    loop {
        thread::sleep(Duration::from_millis(50));
        let now = session.unread_bytes();
        if now != last.0 {
            last = (now, Instant::now());
        } else if now > 0 && last.1.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(Instant::now() < deadline, "the output never stalled");
    }
    // The first signal asks for a clean quit, which cannot finish while every write blocks.
    session.signal(libc::SIGTERM);
    thread::sleep(Duration::from_millis(500));
    assert!(
        session.running(),
        "the first signal ended it: the test did not stall the monitor"
    );
    let sent = Instant::now();
    session.signal(libc::SIGINT);
    let (exit, _) = session.wait_exit(STEP);
    let took = sent.elapsed();
    eprintln!("forced exit {took:?} after the second signal");
    assert!(took < QUIT_BOUND, "took {took:?} after the second signal");
    assert_eq!(exit.code, 130, "{}", session.text());
    session.assert_restored("forced exit");
    session.assert_printed_after_restore("second interrupt, leaving now");
}

/// Keys a user might press, as the terminal sends them: everything but the quit keys (`q`, `Q`,
/// a lone Esc, Ctrl-C, Alt-q).
fn random_key(rng: &mut ChaCha8Rng) -> Vec<u8> {
    const SEQUENCES: &[&str] = &[
        "\x1b[A",
        "\x1b[B",
        "\x1b[C",
        "\x1b[D", // arrows
        "\x1b[1;2A",
        "\x1b[1;2B",
        "\x1b[1;2C",
        "\x1b[1;2D", // Shift-arrows
        "\x1b[1;5A",
        "\x1b[1;3D", // Ctrl-, Alt-arrows
        "\x1b[5~",
        "\x1b[6~", // PgUp, PgDn
        "\x1b[H",
        "\x1b[F",
        "\x1b[2~",
        "\x1b[3~", // Home, End, Insert, Delete
        "\x1bOP",
        "\x1b[15~",
        "\x1b[24~", // F1, F5, F12
        "\x1b[Z",   // Shift-Tab
        "\x1bx",
        "\x1b1", // Alt-x, Alt-1
        "\t",
        " ",
        "\r",
        "\x7f",
        "é",
        "日",
    ];
    const BOUND: &str = "+=-_adwrvjk? ";
    match rng.random_range(0..10) {
        // The bound keys, most often.
        0..=4 => {
            let i = rng.random_range(0..BOUND.len());
            vec![BOUND.as_bytes()[i]]
        }
        5..=7 => SEQUENCES[rng.random_range(0..SEQUENCES.len())]
            .as_bytes()
            .to_vec(),
        // Control characters, but not Ctrl-C (0x03) and not Esc (0x1b).
        8 => {
            let c = loop {
                let c = rng.random_range(0u8..0x20);
                if c != 0x03 && c != 0x1b {
                    break c;
                }
            };
            vec![c]
        }
        _ => {
            let c = loop {
                let c = rng.random_range(0x20u8..0x7f);
                if c != b'q' && c != b'Q' {
                    break c;
                }
            };
            vec![c]
        }
    }
}

/// What the keys that change something on screen should have changed, applied in order as the
/// monitor applies them: the worker count (clamped to 1..=max), the arrival process, the
/// service distribution and the work mode (the header), the latency kind and window (the
/// latency panel's title). A key lost or applied twice changes at least one of them, but for
/// worker keys absorbed by the clamp.
struct KeyEffects {
    workers: usize,
    max_workers: usize,
    arrival: ArrivalProcess,
    service_dist: ServiceDist,
    work: WorkMode,
    latency_kind: LatencyKind,
    whole_run: bool,
    /// Keys counted that should have changed one of the above.
    counted: usize,
}

impl KeyEffects {
    /// The starting state of the monitor run with `args`.
    fn of(args: &[&str]) -> Self {
        let cli =
            Cli::try_parse_from(std::iter::once("backlog").chain(args.iter().copied())).unwrap();
        let s = cli.run.plan().unwrap().config.settings;
        Self {
            workers: s.workers,
            max_workers: s.max_workers,
            arrival: s.arrival,
            service_dist: s.service_dist,
            work: s.work,
            latency_kind: LatencyKind::QueueWait,
            whole_run: false,
            counted: 0,
        }
    }

    fn press(&mut self, key: &[u8]) {
        let before = self.counted;
        self.counted += 1;
        match key {
            b"+" | b"=" => self.workers = (self.workers + 1).min(self.max_workers),
            b"-" | b"_" => self.workers = self.workers.saturating_sub(1).max(1),
            b"a" => self.arrival = self.arrival.next(),
            b"d" => self.service_dist = self.service_dist.next(),
            // `w` toggles sleep and cpu (exec work needs its command).
            b"w" => {
                self.work = match self.work {
                    WorkMode::Sleep => WorkMode::Cpu,
                    _ => WorkMode::Sleep,
                }
            }
            b"\t" => {
                let all = LatencyKind::ALL;
                let i = all.iter().position(|k| *k == self.latency_kind).unwrap();
                self.latency_kind = all[(i + 1) % all.len()];
            }
            b"v" => self.whole_run = !self.whole_run,
            _ => self.counted = before,
        }
    }

    /// Text the screen shows when every key counted took effect once.
    fn expected(&self) -> [String; 3] {
        [
            format!("arrivals {} ", self.arrival),
            format!(
                " {} · {} · workers {} · queue ",
                self.service_dist,
                self.work.name(),
                self.workers
            ),
            format!(
                "Latency: {} · {}",
                self.latency_kind.name(),
                if self.whole_run { "whole run" } else { "last " }
            ),
        ]
    }
}

#[test]
fn thousands_of_random_keys_and_resizes_never_break_the_monitor() {
    let _serial = serial();
    const EVENTS: u64 = 5_000;
    let args = [
        "--events",
        "5000",
        "--rate",
        "500/s",
        "--service",
        "2ms",
        "--workers",
        "2",
        "--max-workers",
        "4",
        "--queue-cap",
        "200",
        "--overflow",
        "drop-new",
        "--fail-rate",
        "0.1",
    ];
    let mut session = Session::start(&args, 30, 100);
    session.wait_for_panels();
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (mut paused, mut help) = (false, false);
    let mut effects = KeyEffects::of(&args);
    for i in 0..4_000 {
        let key = random_key(&mut rng);
        paused ^= key == b" ";
        help ^= key == b"?";
        effects.press(&key);
        session.send(&key);
        if i % 250 == 0 {
            let (rows, cols) = match i / 250 % 4 {
                0 => (1, 1),
                1 => (rng.random_range(1..=60), rng.random_range(1..=200)),
                2 => (60, 200),
                _ => (rng.random_range(1..=10), rng.random_range(1..=40)),
            };
            session.resize(rows, cols);
        }
        if i % 20 == 0 {
            // Keep the output flowing, as a terminal would. The pause keeps the keys within
            // what the terminal buffers (4 KiB): past that the kernel may split an escape
            // sequence, and a lone Esc at the end of a read is the Esc key, which quits.
            thread::sleep(Duration::from_millis(5));
            session.read(Duration::ZERO);
        }
    }
    session.resize(40, 120);
    session.read_for(Duration::from_millis(300));
    assert!(
        session.running(),
        "it exited during the keys:\n{}",
        session.text()
    );
    assert!(session.raw_mode(), "raw mode went off during the keys");
    assert!(session.parser.screen().alternate_screen());

    // Now let the run end whatever the keys did: resume, close the help, fastest settings.
    if paused {
        session.press(" ");
    }
    if help {
        session.press("?");
    }
    // No key lost or doubled: what they change on screen is what they should have changed (the
    // pause and the help, toggled back above, are checked by the wait below).
    let expected = effects.expected();
    eprintln!(
        "{} keys with a visible effect: {expected:?}",
        effects.counted
    );
    assert!(effects.counted > 1_000, "{} keys counted", effects.counted);
    session.wait_for(&format!("{expected:?}"), STEP * 2, |screen| {
        !screen.contains("this help") && expected.iter().all(|e| screen.contains(e.as_str()))
    });
    for _ in 0..50 {
        session.press("\x1b[5~"); // rate x2, up to the maximum
    }
    for _ in 0..150 {
        session.press("\x1b[D"); // service /1.25, down to 0
    }
    session.press("++++");
    session.wait_for(
        "the finished banner, help closed, source resumed",
        STEP * 6,
        |screen| {
            screen.contains(" completed · ")
                && screen.contains(" dropped · ")
                && !screen.contains("this help")
                && !screen.contains("(paused)")
        },
    );
    // The counters on screen add up: every event completed, failed or was dropped.
    let screen = session.screen();
    let banner = screen
        .lines()
        .flat_map(|l| l.split('║'))
        .find(|part| part.contains(" completed · "))
        .unwrap_or_else(|| panic!("no banner:\n{screen}"));
    // "447 completed · 4510 dropped · 43 failed      "
    let count = |label: &str| -> u64 {
        let part = banner
            .split(" · ")
            .find(|p| p.trim_end().ends_with(label))
            .unwrap_or_else(|| panic!("no '{label}' in {banner}"));
        let digits: String = part
            .trim_end()
            .trim_end_matches(label)
            .trim_end()
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.chars().rev().collect::<String>().parse().unwrap()
    };
    let (completed, dropped, failed) = (count("completed"), count("dropped"), count("failed"));
    assert_eq!(
        completed + dropped + failed,
        EVENTS,
        "completed {completed} + dropped {dropped} + failed {failed}; screen:\n{screen}"
    );
    assert!(screen.contains(&format!("generated {EVENTS}")), "{screen}");
    quit_cleanly(&mut session, "after random keys");
}

#[test]
fn an_unwritable_recording_fails_before_the_monitor_takes_the_terminal() {
    let mut session = Session::start(&["--record", "/nonexistent-dir/demo.cast"], 30, 100);
    let (exit, _) = session.wait_exit(STEP);
    let text = session.text();
    assert_eq!(exit.code, 2, "{text}");
    assert!(
        text.contains("--record: cannot write /nonexistent-dir/demo.cast"),
        "{text}"
    );
    assert!(
        !text.contains("\x1b[?1049h"),
        "the alternate screen was entered: {text:?}"
    );
    assert!(!session.raw_mode());
}

#[test]
fn a_stop_signal_quits_the_monitor_like_q() {
    let _serial = serial();
    for (sig, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGHUP, "SIGHUP"),
        (libc::SIGINT, "SIGINT"),
    ] {
        let mut session = Session::start(&["--rate", "2000/s", "--service", "5ms"], 30, 100);
        session.wait_for_panels();
        assert!(session.raw_mode(), "{name}: raw mode should be on");
        session.signal(sig);
        let (exit, took) = session.wait_exit(STEP);
        assert_eq!(exit.code, 0, "{name}: {}", session.text());
        assert!(took < QUIT_BOUND, "{name}: took {took:?}");
        session.assert_restored(name);
    }
}
