//! Scenario files: every bundled one parses and plays headless to its end; every class of error
//! points at file, line and column; command-line options override a scenario's start; steps land
//! at their model times at any --speed.

use std::process::{Command, Output};

use backlog::cli::Cli;
use backlog::control::scenario::{self, BUNDLED, ScenarioError};
use backlog::engine::Command as EngineCommand;
use backlog::engine::settings::{ArrivalProcess, Overflow, WorkMode};
use clap::Parser;

fn backlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Model time of a log line (`12.345s ...`), or None for comments.
fn time_of(line: &str) -> Option<f64> {
    if line.starts_with('#') {
        return None;
    }
    line.split_once("s ")?.0.parse().ok()
}

/// The scenarios run at this speed in tests: 80 s of model time plays in 2 s.
const TEST_SPEED: &str = "40";

/// Runs that check model times (a few ms of wall time at --speed 20) take turns: two at once on
/// two cores would measure each other.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn every_bundled_scenario_plays_headless_to_its_end() {
    let _serial = timing();
    // Played in parallel: together they take about as long as the longest.
    let runs: Vec<_> = BUNDLED
        .iter()
        .map(|(name, _)| {
            let name = name.to_string();
            std::thread::spawn(move || {
                let out = backlog(&["--scenario", &name, "--headless", "--speed", TEST_SPEED]);
                (name, out)
            })
        })
        .collect();
    for run in runs {
        let (name, out) = run.join().unwrap();
        let log = stdout(&out);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            log.contains(&format!("# scenario {name}: ")),
            "{name}: no scenario line:\n{log}"
        );
        let last = log
            .lines()
            .rev()
            .find(|l| l.starts_with("# finished after"));
        assert!(last.is_some(), "{name} did not finish:\n{log}");
        assert!(
            last.unwrap().contains(", 0 queued, 0 in flight"),
            "{name}: {}",
            last.unwrap()
        );
        let scenario = scenario::load(&name).unwrap();
        let captions = log.lines().filter(|l| l.contains(" caption  ")).count();
        let expected = scenario
            .steps
            .iter()
            .filter(|s| s.caption.as_deref().is_some_and(|c| !c.is_empty()))
            .count();
        assert_eq!(captions, expected, "{name}: captions in the log:\n{log}");
        // Captions and steps sit in time order among the engine's lines (a source blocked by
        // a full queue logs when each event got in, not when it arrived).
        let lines: Vec<(f64, &str)> = log.lines().filter_map(|l| Some((time_of(l)?, l))).collect();
        if let Some(w) = lines.windows(2).find(|w| w[0].0 > w[1].0) {
            panic!("{name}: log out of order: {:?}", w);
        }
    }
}

/// The log of `falling-behind` played 20 times faster, cut at 50 s (played once, for every test
/// that reads it).
fn falling_behind_for_50s() -> &'static str {
    static LOG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let _serial = timing();
        let out = backlog(&[
            "--scenario",
            "falling-behind",
            "--headless",
            "--speed",
            "20",
            "--duration",
            "50s",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    })
}

/// The first line of `log` containing `needle`, comments aside.
fn line_with<'a>(log: &'a str, needle: &str) -> &'a str {
    log.lines()
        .find(|l| !l.starts_with('#') && l.contains(needle))
        .unwrap_or_else(|| panic!("no '{needle}' in:\n{log}"))
}

/// How late a step or a join may come at --speed 20: 0.5 s of model time is 25 ms of wall time,
/// a wake-up and a busy core or two. A step played off the snapshots (published every 50 ms,
/// 1 s of model time here) would often miss it; one played in wall time would miss it by 24 s.
const LATE_S: f64 = 0.5;

#[test]
fn steps_land_at_their_model_times_at_any_speed() {
    let log = falling_behind_for_50s();
    let line = |needle: &str| line_with(log, needle);
    // The log prints when each step was applied: never before its time, soon after it.
    for (needle, at) in [
        ("scenario workers 5", 25.0),
        ("caption  A fifth worker", 25.0),
        ("scenario workers 6", 45.0),
        ("caption  A sixth worker", 45.0),
    ] {
        let applied = time_of(line(needle)).unwrap();
        assert!(
            (at..at + LATE_S).contains(&applied),
            "'{needle}' applied at {applied}s, due at {at}s:\n{log}"
        );
    }
    let joined = time_of(line("worker 5 joined")).unwrap();
    assert!(
        (25.0..25.0 + LATE_S).contains(&joined),
        "worker 5 joined at {joined}"
    );
    // --duration (a test-only time limit here) overrides the scenario's end.
    assert!(log.contains("50.000s source   ended"), "{log}");
    assert!(!log.contains("71.000s caption"));
}

/// The scenario sets 6 workers at 45 s: a sixth joins then (and no seventh).
#[test]
fn a_sixth_worker_joins_in_falling_behind() {
    let log = falling_behind_for_50s();
    let joined = time_of(line_with(log, "worker 6 joined")).unwrap();
    assert!(
        (45.0..45.0 + LATE_S).contains(&joined),
        "worker 6 joined at {joined}s:\n{log}"
    );
    assert!(!log.contains("worker 7 joined"), "{log}");
    // Workers leave only once the source has ended (at 50 s) and the queue is empty.
    let left_early = log
        .lines()
        .filter(|l| l.contains(" worker ") && l.ends_with(" left"))
        .find(|l| time_of(l).is_some_and(|t| t < 50.0));
    assert!(left_early.is_none(), "{left_early:?}:\n{log}");
}

#[test]
fn the_log_tells_the_story_in_verdicts() {
    let log = falling_behind_for_50s();
    let verdicts: Vec<(f64, &str)> = log
        .lines()
        .filter_map(|l| Some((time_of(l)?, l.split_once(" verdict  ")?.1)))
        .collect();
    // Each line is a change: never the same verdict twice in a row.
    let kinds: Vec<&str> = verdicts
        .iter()
        .map(|(_, text)| text.split(':').next().unwrap())
        .collect();
    assert!(kinds.windows(2).all(|w| w[0] != w[1]), "{log}");
    // One worker short, then exactly enough, then one spare: a snapshot or two after each step.
    // The first words are the closed forms' ("backlog grows by 2/s") or, once the first
    // forecast is ready, the forecast's ("+2/s, 20 queued in 10s"): the same growth either way.
    let story: [(f64, &[&str]); 3] = [
        (0.0, &["overloaded: ", "/s", "needs ≥ 5 workers"]),
        (25.0, &["keeping up, not catching up: backlog of "]),
        (45.0, &["draining: empty in about "]),
    ];
    assert!(verdicts.len() >= story.len(), "{log}");
    // The growth is 2/s, as the closed form says it or the forecast measures it (+1.99/s).
    let growth: f64 = verdicts[0]
        .1
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find_map(|w| w.parse().ok())
        .unwrap_or(f64::NAN);
    assert!((growth - 2.0).abs() <= 0.1, "growth {growth}:\n{log}");
    for ((t, text), (step_s, expected)) in verdicts.iter().zip(story) {
        assert!(text.starts_with(expected[0]), "{text}:\n{log}");
        assert!(
            expected.iter().all(|part| text.contains(part)),
            "{text}:\n{log}"
        );
        assert!((step_s..step_s + 5.0).contains(t), "{text} at {t}s:\n{log}");
    }
}

fn plan(args: &[&str]) -> backlog::cli::RunPlan {
    Cli::try_parse_from(std::iter::once("backlog").chain(args.iter().copied()))
        .unwrap()
        .run
        .plan()
        .unwrap()
}

#[test]
fn scenario_start_replaces_defaults_and_options_override_it() {
    let p = plan(&["--scenario", "bounded-queue"]);
    let s = &p.config.settings;
    assert_eq!(s.rate.get(), 12.0);
    assert_eq!(s.workers, 4);
    assert_eq!(s.queue_cap, Some(20));
    assert_eq!(s.overflow, Overflow::Block);
    assert_eq!(p.config.duration, Some(std::time::Duration::from_secs(80)));
    assert_eq!(p.scenario.as_ref().unwrap().steps.len(), 4);

    let p = plan(&[
        "--scenario",
        "bounded-queue",
        "--workers",
        "2",
        "--rate",
        "5/s",
        "--events",
        "7",
        "--seed",
        "9",
    ]);
    assert_eq!(p.config.settings.workers, 2);
    assert_eq!(p.config.settings.rate.get(), 5.0);
    assert_eq!(
        p.config.settings.queue_cap,
        Some(20),
        "kept from the scenario"
    );
    assert_eq!(p.config.max_events, Some(7));
    assert_eq!(p.config.seed, 9);

    let p = plan(&["--scenario", "cpu-bound"]);
    assert_eq!(p.config.settings.work, WorkMode::Cpu);
    assert_eq!(p.config.settings.arrival, ArrivalProcess::Fixed);
    let steps = &p.scenario.unwrap().steps;
    assert_eq!(steps[1].commands, vec![EngineCommand::SetWorkers(2)]);
}

/// Events keep the demand drawn at arrival: when cpu-bound cuts the service time, the 100 ms
/// events already queued still have to be worked off, and the count keeps growing meanwhile
/// (549 to 792 from 45 s to 69 s on 2 cores). Its caption must not say the backlog drains.
#[test]
fn cpu_bound_does_not_claim_the_backlog_drains_when_the_service_time_drops() {
    let p = plan(&["--scenario", "cpu-bound"]);
    let steps = &p.scenario.unwrap().steps;
    let cut = steps
        .iter()
        .find(|s| {
            s.commands
                .iter()
                .any(|c| matches!(c, EngineCommand::SetService(_)))
        })
        .expect("a step that cuts the service time");
    let caption = cut.caption.as_deref().unwrap_or_default();
    assert!(!caption.contains("the backlog drains"), "{caption}");
    assert!(caption.contains("drawn at arrival"), "{caption}");
}

#[test]
fn list_scenarios_names_each_with_its_description() {
    let out = backlog(&["--list-scenarios"]);
    assert!(out.status.success());
    let text = stdout(&out);
    for (name, _) in BUNDLED {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{text}"));
        assert!(line.len() > name.len() + 20, "{name} has no description");
    }
    for name in [
        "seed",
        "falling-behind",
        "burst",
        "cpu-bound",
        "bounded-queue",
        "replay-api",
    ] {
        assert!(
            BUNDLED.iter().any(|(n, _)| *n == name),
            "{name} not bundled"
        );
    }
}

fn error_of(text: &str) -> ScenarioError {
    scenario::parse(text, "bad.toml", "bad").expect_err("should not parse")
}

/// (file text, line, column, words the message must have)
const ERRORS: &[(&str, usize, usize, &str)] = &[
    // unknown keys, at each level
    ("descripton = \"x\"\n", 1, 1, "unknown field `descripton`"),
    (
        "[start]\nrate = \"1/s\"\nworker = 3\n",
        3,
        1,
        "unknown field `worker`",
    ),
    (
        "[[step]]\nat = \"1s\"\ncolour = \"red\"\n",
        3,
        1,
        "unknown field `colour`",
    ),
    ("[end]\nafter = \"5s\"\n", 2, 1, "unknown field `after`"),
    // bad durations and rates
    ("[[step]]\nat = \"soon\"\n", 2, 6, "bad duration for at"),
    ("[[step]]\nat = 5\n", 2, 6, "no unit"),
    (
        "[start]\nservice = \"five\"\n",
        2,
        11,
        "bad duration for service",
    ),
    (
        "[start]\nservice = \"2d\"\n",
        2,
        11,
        "service must be at most",
    ),
    ("[start]\nrate = \"fast\"\n", 2, 8, "bad rate"),
    ("[start]\nrate = 0\n", 2, 8, "bad rate"),
    ("[end]\nat = \"0s\"\n", 2, 6, "later than 0"),
    // steps out of order
    (
        "[[step]]\nat = \"20s\"\n\n[[step]]\nat = \"10s\"\n",
        5,
        6,
        "step at 10s is earlier than the previous step at 20s",
    ),
    // workers out of range
    (
        "[start]\nworkers = 0\n",
        2,
        11,
        "workers must be between 1 and 256",
    ),
    (
        "[start]\nmax_workers = 8\n[[step]]\nat = \"1s\"\nworkers = 9\n",
        5,
        11,
        "workers must be between 1 and 8",
    ),
    (
        "[start]\nmax_workers = 5000\n",
        2,
        15,
        "max_workers must be between 1 and 4096",
    ),
    // other values
    ("[start]\narrival = \"sometimes\"\n", 2, 11, "poisson"),
    ("[start]\noverflow = \"lifo\"\n", 2, 12, "drop-new"),
    ("[start]\nqueue_cap = 0\n", 2, 13, "queue_cap"),
    ("[start]\nfail_rate = 2\n", 2, 13, "between 0 and 1"),
    ("[start]\nworkers = \"four\"\n", 2, 11, "invalid type"),
    ("[[step]]\ncaption = \"no time\"\n", 1, 1, "needs `at`"),
    ("[end]\n", 1, 1, "needs `at`"),
    // not TOML at all
    ("[start\nrate = 1\n", 1, 7, ""),
];

#[test]
fn every_class_of_error_names_line_and_column() {
    for (text, line, column, words) in ERRORS {
        let e = error_of(text);
        assert_eq!((e.line, e.column), (*line, *column), "{text:?}: {e}");
        assert!(e.message.contains(words), "{text:?}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("bad.toml:{line}:{column}: "))
        );
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[test]
fn a_bad_file_exits_2_naming_file_line_and_column_before_anything_runs() {
    let dir = std::env::temp_dir().join(format!("backlog-scenarios-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("late.toml");
    std::fs::write(
        &path,
        "description = \"out of order\"\n[[step]]\nat = \"20s\"\n[[step]]\nat = \"10s\"\nworkers = 2\n",
    )
    .unwrap();
    let file = path.to_str().unwrap();
    for extra in [&["--headless"][..], &[]] {
        let mut args = vec!["--scenario", file];
        args.extend_from_slice(extra);
        let out = backlog(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{file}:5:6: ")), "{err}");
        assert!(err.contains("earlier than the previous step"), "{err}");
        assert!(out.stdout.is_empty(), "something ran");
    }
    std::fs::remove_dir_all(&dir).ok();

    let out = backlog(&["--scenario", "no-such-scenario", "--headless"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("falling-behind"), "{}", stderr(&out));
    let out = backlog(&["--scenario", "seed", "--preset", "seed", "--headless"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_documented_example_is_a_valid_scenario() {
    let readme = include_str!("../docs/scenarios.md");
    let start = readme.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let length = readme[start..].find("```").unwrap();
    let s = scenario::parse(
        &readme[start..start + length],
        "docs/scenarios.md",
        "example",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.steps.len(), 2);
    assert_eq!(s.steps[1].commands, vec![EngineCommand::SetWorkers(5)]);
    assert_eq!(s.end.at, Some(std::time::Duration::from_secs(80)));
}

/// Writes a scenario file for one test (the process id keeps parallel runs apart).
fn scenario_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("backlog-scenario-steps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Removes a file `scenario_file` wrote, and its folder once no other test uses it.
fn discard(path: &std::path::Path) {
    std::fs::remove_file(path).ok();
    std::fs::remove_dir(path.parent().unwrap()).ok();
}

/// Plays a scenario written as `steps_and_end` after `STEADY_START`, headless at `speed`, with
/// `extra` options; returns what it printed (it must succeed).
fn play_steady(name: &str, steps_and_end: &str, speed: &str, extra: &[&str]) -> String {
    let path = scenario_file(
        name,
        &format!("description = \"{name}\"\n{STEADY_START}{steps_and_end}"),
    );
    let mut args = vec![
        "--scenario",
        path.to_str().unwrap(),
        "--headless",
        "--speed",
        speed,
    ];
    args.extend_from_slice(extra);
    let out = backlog(&args);
    discard(&path);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    stdout(&out)
}

/// Ten events a second, fixed, 10 ms of work each on two workers: nothing waits.
const STEADY_START: &str = "[start]\narrival = \"fixed\"\nrate = \"10/s\"\nservice = \"10ms\"\nservice_dist = \"fixed\"\nworkers = 2\n";

/// Submitted events whose (scheduled) time is in `from..to` model seconds.
fn submitted_between(log: &str, from: f64, to: f64) -> usize {
    log.lines()
        .filter(|l| l.contains(" source   submitted event "))
        .filter_map(time_of)
        .filter(|t| (from..to).contains(t))
        .count()
}

#[test]
fn a_pause_step_stops_the_source_and_a_resume_step_starts_it_again() {
    let _serial = timing();
    let log = play_steady(
        "pause",
        "[[step]]\nat = \"2s\"\npause = true\n[[step]]\nat = \"4s\"\npause = false\n[end]\nat = \"6s\"\n",
        "20",
        &[],
    );
    let paused = time_of(line_with(&log, "scenario pause")).unwrap();
    let resumed = time_of(line_with(&log, "scenario resume")).unwrap();
    assert!((2.0..2.0 + LATE_S).contains(&paused), "paused at {paused}s");
    assert!(
        (4.0..4.0 + LATE_S).contains(&resumed),
        "resumed at {resumed}s"
    );
    // Ten a second before the pause and after the resume (the schedule starts again from the
    // resume), none while paused.
    assert_eq!(submitted_between(&log, 0.5, 1.5), 10, "{log}");
    assert_eq!(submitted_between(&log, paused + 0.15, resumed), 0, "{log}");
    assert_eq!(
        submitted_between(&log, resumed + 0.5, resumed + 1.5),
        10,
        "{log}"
    );
    assert!(log.contains("# finished after"), "{log}");
}

#[test]
fn a_reset_stats_step_restarts_the_latencies_and_keeps_the_counts() {
    let _serial = timing();
    let json = play_steady(
        "reset",
        "[[step]]\nat = \"5s\"\nreset_stats = true\n[end]\nat = \"10s\"\n",
        "20",
        &["--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Events at 0.1 s, 0.2 s ... 10 s: all counted.
    assert_eq!(v["generated"], 100, "{v}");
    assert_eq!(v["completed"], 100, "{v}");
    // Measured from the reset at 5 s (a few ms later): the events of the last 5 s.
    for kind in ["queue_wait", "service", "end_to_end"] {
        let count = v["latency_ms"][kind]["count"].as_u64().unwrap();
        assert!((45..=51).contains(&count), "{kind}: {count} measured: {v}");
    }
}

/// Replays an asciicast and returns the screen it ends on.
fn final_screen_of_cast(cast: &str) -> String {
    let mut lines = cast.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().expect("a header")).unwrap();
    let size = |key: &str| std::num::NonZeroU16::new(header[key].as_u64().unwrap() as u16).unwrap();
    let mut screen = vt100::Parser::new(size("height"), size("width"), 0);
    for line in lines {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        // Output only: markers (chapters) are labels, not bytes for the terminal.
        if event[1] == "o" {
            screen.process(event[2].as_str().unwrap().as_bytes());
        }
    }
    screen.screen().contents()
}

/// A step with no caption keeps the banner; one with `caption = ""` hides it. Recorded
/// offscreen and replayed to the monitor's last screen.
#[test]
fn a_step_without_a_caption_keeps_the_banner_and_an_empty_one_hides_it() {
    let _serial = timing();
    const CAPTION: &str = "Two workers, steady as she goes";
    for (last_step, banner_stays) in [
        ("workers = 3", true),
        ("workers = 3\ncaption = \"\"", false),
    ] {
        let path = scenario_file(
            if banner_stays { "keeps" } else { "hides" },
            &format!(
                "description = \"captions\"\n{STEADY_START}[[step]]\nat = \"0s\"\ncaption = \"{CAPTION}\"\n[[step]]\nat = \"1s\"\n{last_step}\n[end]\nat = \"2s\"\n"
            ),
        );
        let cast = path.with_extension("cast");
        let out = Command::new(env!("CARGO_BIN_EXE_backlog"))
            .args([
                "--scenario",
                path.to_str().unwrap(),
                "--speed",
                "5",
                "--offscreen",
                "--size",
                "100x30",
                "--record",
                cast.to_str().unwrap(),
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let screen = final_screen_of_cast(&std::fs::read_to_string(&cast).unwrap());
        std::fs::remove_file(&cast).ok();
        // The second step was played (the header shows its workers) and the run is over.
        assert!(screen.contains("workers 3 "), "{screen}");
        assert!(screen.contains("finished"), "{screen}");
        assert_eq!(
            screen.contains(CAPTION),
            banner_stays,
            "after `{last_step}`:\n{screen}"
        );
    }
}

/// `[end]` with both `at` and `events`: whichever comes first ends the source.
#[test]
fn an_end_with_a_time_and_a_count_ends_at_whichever_comes_first() {
    let _serial = timing();
    // Ten events a second: 10 events come at 1 s, long before 5 s; 1 s comes long before the
    // 1000th event.
    for (end, ends_at_s) in [
        ("at = \"5s\"\nevents = 10", 1.0),
        ("at = \"1s\"\nevents = 1000", 1.0),
    ] {
        let log = play_steady("end", &format!("[end]\n{end}\n"), "10", &[]);
        let ended = time_of(line_with(&log, "source   ended")).unwrap();
        assert!(
            (ends_at_s..ends_at_s + LATE_S).contains(&ended),
            "{end}: the source ended at {ended}s:\n{log}"
        );
        assert!(
            log.contains("# finished after") && log.contains(" 10 generated, 10 completed"),
            "{end}:\n{log}"
        );
    }
}

/// Twenty events a second, 500 ms each on one worker, a queue of five that blocks: the source
/// is held back from its first second on (the article's queue, overloaded tenfold).
const BLOCKED_START: &str = "[start]\narrival = \"fixed\"\nrate = \"20/s\"\nservice = \"500ms\"\nservice_dist = \"fixed\"\nworkers = 1\nqueue_cap = 5\noverflow = \"block\"\n";

/// Plays `BLOCKED_START` then `steps_and_end`; returns the log.
fn play_blocked(name: &str, steps_and_end: &str) -> String {
    let path = scenario_file(
        name,
        &format!("description = \"{name}\"\n{BLOCKED_START}{steps_and_end}"),
    );
    let out = backlog(&[
        "--scenario",
        path.to_str().unwrap(),
        "--headless",
        "--speed",
        "20",
    ]);
    discard(&path);
    assert!(out.status.success(), "{name}: {}", stderr(&out));
    stdout(&out)
}

/// The count before `what` on the log's closing line ("# finished after ...: 12 generated, ...").
fn closing_count(log: &str, what: &str) -> u64 {
    let line = closing_line(log);
    let before = line.split(&format!(" {what}")).next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The log's closing line ("# finished after ...").
fn closing_line(log: &str) -> &str {
    log.lines()
        .find(|l| l.starts_with("# finished after"))
        .unwrap_or_else(|| panic!("not finished:\n{log}"))
}

/// Model times of the log lines that contain `needle`.
fn times_of(log: &str, needle: &str) -> Vec<f64> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter_map(time_of)
        .collect()
}

#[test]
fn a_source_held_back_by_a_full_queue_pauses_and_ends_at_once() {
    let _serial = timing();
    let log = play_blocked(
        "blocked-pause",
        "[[step]]\nat = \"5s\"\npause = true\n[end]\nat = \"10s\"\n",
    );
    // Arrivals keep their schedule while the queue is full, and stop at the pause: 20/s for
    // 5 s, give or take the event due at 5 s and those of a step landing up to `LATE_S` late.
    let generated = closing_count(&log, "generated");
    assert!(
        (99..=100 + (20.0 * LATE_S) as u64).contains(&generated),
        "{generated} generated:\n{log}"
    );
    // The events held at the source still enter, as the worker makes room, while paused...
    let held_in = times_of(&log, "waited for room in the full queue");
    assert!(
        held_in.iter().filter(|t| (5.5..10.0).contains(*t)).count() >= 5,
        "{held_in:?}"
    );
    // ...and none after the end: the end drops them, each counted with its reason.
    let last_in = times_of(&log, " submitted event ")
        .into_iter()
        .fold(0.0, f64::max);
    assert!(
        last_in < 10.0 + LATE_S,
        "an event entered at {last_in}s:\n{log}"
    );
    let abandoned = times_of(&log, "(source ended: it was waiting for room)");
    assert!(
        abandoned.len() > 50,
        "{} abandoned:\n{log}",
        abandoned.len()
    );
    assert!(abandoned.iter().all(|t| (10.0..10.0 + LATE_S).contains(t)));
    assert_eq!(closing_count(&log, "dropped"), abandoned.len() as u64);
    // The queue drains (five events and one in flight: 3 s) and the run is over.
    let finished: f64 = closing_line(&log)
        .split_once("after ")
        .and_then(|(_, rest)| rest.split_once('s'))
        .and_then(|(s, _)| s.parse().ok())
        .unwrap();
    assert!(finished < 13.0 + LATE_S, "finished at {finished}s:\n{log}");
}

#[test]
fn a_switch_to_drop_new_drops_the_held_events_without_a_burst_of_arrivals() {
    let _serial = timing();
    let log = play_blocked(
        "blocked-switch",
        "[[step]]\nat = \"5s\"\noverflow = \"drop-new\"\n[end]\nat = \"8s\"\n",
    );
    // Arrivals at 20/s throughout: no catch-up burst after the switch.
    let generated = closing_count(&log, "generated");
    assert!(
        (159..=161).contains(&generated),
        "{generated} generated:\n{log}"
    );
    // Under drop-new an arrival is offered (a `submitted` line) and then dropped if the queue
    // is full: what enters after the switch is what the one worker makes room for, 2/s.
    let full = times_of(&log, "(queue full)");
    let (from, to) = (5.0 + LATE_S, 8.0);
    let dropped_after = full.iter().filter(|t| (from..to).contains(*t)).count();
    let entered_after = submitted_between(&log, from, to) - dropped_after;
    assert!(
        entered_after <= 10,
        "{entered_after} entered the queue after the switch"
    );
    // The events held when the switch lands are dropped then, by the new rule.
    let at_switch = full
        .iter()
        .filter(|t| (5.0..5.0 + LATE_S).contains(*t))
        .count();
    assert!(at_switch > 50, "{at_switch} dropped at the switch:\n{log}");
    assert_eq!(closing_count(&log, "dropped"), full.len() as u64);
}

#[test]
fn a_source_that_runs_out_of_events_lets_its_held_events_in() {
    let _serial = timing();
    // `--events` is the source's own end: under `block` every one of its events gets in.
    let log = play_blocked("blocked-events", "[end]\nevents = 30\n");
    assert!(
        log.contains(" 30 generated, 30 completed, 0 failed, 0 dropped"),
        "{log}"
    );
}

/// The arrival times of a trace's rows, s from its first row.
fn trace_arrivals(text: &str) -> Vec<f64> {
    let times: Vec<f64> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    times.iter().map(|t| t - times[0]).collect()
}

#[test]
fn the_replay_scenario_replays_the_bundled_traces_arrival_times_from_any_directory() {
    let _serial = timing();
    // Played outside the repository: the bundled copy of the trace, not a file.
    let out = Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args([
            "--scenario",
            "replay-api",
            "--headless",
            "--speed",
            TEST_SPEED,
        ])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stdout(&out);
    let want = trace_arrivals(include_str!("../assets/traces/bursty-api.csv"));
    let got: Vec<f64> = log
        .lines()
        .filter(|l| l.contains(" source   submitted event "))
        .filter_map(time_of)
        .collect();
    assert_eq!(got.len(), want.len(), "{}", closing_line(&log));
    // The log has ms: every arrival within a rounding of the file's.
    for (i, (got, want)) in got.iter().zip(&want).enumerate() {
        assert!(
            (got - want).abs() < 0.0015,
            "row {}: {got} vs {want}",
            i + 1
        );
    }
    assert!(
        closing_line(&log).contains(", 0 queued, 0 in flight"),
        "{log}"
    );
}

#[test]
fn a_scenario_source_must_be_a_known_kind_and_its_trace_must_exist() {
    for (source, says) in [
        (
            "kafka",
            "source must be gen, stdin or trace:FILE, got 'kafka'",
        ),
        (
            "trace:no-such-trace.csv",
            "source: no-such-trace.csv:0: cannot read the trace",
        ),
    ] {
        let e = error_of(&format!("[start]\nsource = \"{source}\"\n"));
        assert_eq!((e.line, e.column), (2, 10), "{e}");
        assert!(e.message.contains(says), "{e}");
    }
}
