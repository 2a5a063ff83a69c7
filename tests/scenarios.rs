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

#[test]
fn every_bundled_scenario_plays_headless_to_its_end() {
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

/// The log of `falling-behind` played 20 times faster, cut at 50 s.
fn falling_behind_for_50s() -> String {
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
}

#[test]
fn steps_land_at_their_model_times_at_any_speed() {
    let log = falling_behind_for_50s();
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no '{needle}' in:\n{log}"))
    };
    assert!(line("scenario workers 5").starts_with("25.000s "));
    assert!(line("scenario workers 6").starts_with("45.000s "));
    let joined = time_of(line("worker 5 joined")).unwrap();
    assert!(
        (25.0..25.5).contains(&joined),
        "worker 5 joined at {joined}"
    );
    // --duration (a test-only time limit here) overrides the scenario's end.
    assert!(log.contains("50.000s source   ended"), "{log}");
    assert!(!log.contains("71.000s caption"));
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
    let story = [
        (0.0, "overloaded: backlog grows by 2/s, needs ≥ 5 workers"),
        (25.0, "keeping up, not catching up: backlog of "),
        (45.0, "draining: empty in about "),
    ];
    assert!(verdicts.len() >= story.len(), "{log}");
    for ((t, text), (step_s, expected)) in verdicts.iter().zip(story) {
        assert!(text.starts_with(expected), "{text}:\n{log}");
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
