//! The binary as a user meets it: the article's run, the JSON and CSV outputs, and bad input.

use backlog::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
use backlog::model::twin::{TwinConfig, simulate};
use std::process::{Command, Output};

fn backlog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs whose figures are a few ms of wall time (high --speed) take turns: on two cores, two at
/// once would measure each other.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Time (s) and line of the first log line containing `needle`.
fn when(log: &str, needle: &str) -> f64 {
    let line = log
        .lines()
        .find(|l| l.ends_with(needle) || l.contains(&format!("{needle} ")))
        .unwrap_or_else(|| panic!("no '{needle}' in:\n{log}"));
    line.split('s').next().unwrap().parse().unwrap()
}

/// Every line of a log but the comments is in time order.
fn assert_in_time_order(log: &str) {
    let times: Vec<f64> = log
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('s').next().unwrap().parse().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "out of order:\n{log}"
    );
}

#[test]
fn the_seed_preset_reproduces_the_articles_log() {
    let _serial = timing();
    // --speed 20 plays the article's 15 s in under a second; the log stays in model time, where
    // 1 ms of wall time is 0.02 s.
    let out = backlog(&["--preset", "seed", "--headless", "--speed", "20"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = stdout(&out);
    for k in 1..=10 {
        let submitted = when(&log, &format!("submitted event {k}"));
        let started = when(&log, &format!("started event {k}"));
        let finished = when(&log, &format!("finished event {k}"));
        // One event a second, from 1 s (the schedule is exact); each starts at once: within
        // 0.5 s (25 ms of wall time, a busy core's delay), where a missed wake-up would wait for
        // an idle worker's poll (2 s) and a fifth worker short would wait about a second.
        assert!(
            (submitted - k as f64).abs() < 0.001,
            "event {k} submitted at {submitted}"
        );
        assert!(
            (0.0..0.5).contains(&(started - submitted)),
            "event {k} waited {}s:\n{log}",
            started - submitted
        );
        // Takes 5 s: never less (the log rounds to 1 ms), at most 0.5 s more (25 ms of wall
        // time); unscaled by --speed it would be 100 s or 0.25 s.
        assert!(
            (4.998..5.5).contains(&(finished - started)),
            "event {k} took {}s",
            finished - started
        );
        assert!(log.contains(&format!("finished event {k} (result {})", k * k)));
    }
    // As in the article: the first event finishes only after the fifth is submitted.
    assert!(when(&log, "finished event 1") > when(&log, "submitted event 5"));
    assert!(when(&log, "finished event 1") < when(&log, "submitted event 7"));
    // The log is in time order.
    assert_in_time_order(&log);
    assert!(
        log.contains("10 generated, 10 completed, 0 failed, 0 dropped, 0 queued, 0 in flight"),
        "{log}"
    );
}

#[test]
fn json_summary_has_the_documented_schema() {
    let _serial = timing();
    // At --speed 50, 1 ms of wall time is 50 ms of model time.
    let out = backlog(&["--preset", "seed", "--headless", "--json", "--speed", "50"]);
    assert!(out.status.success());
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&out)).expect("stdout is one JSON object");
    for key in [
        "generated",
        "completed",
        "failed",
        "dropped",
        "queued",
        "in_flight",
        "duration_s",
        "arrival_rate_per_s",
        "throughput_per_s",
        "workers",
        "max_queue_depth",
        "latency_ms",
        "theory",
        "verdict",
        "warnings",
        "phases",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["generated"], 10);
    assert_eq!(v["completed"], 10);
    assert_eq!(v["workers"], 5);
    for kind in ["queue_wait", "service", "end_to_end"] {
        for stat in ["mean", "p50", "p90", "p99", "p999", "max"] {
            assert!(
                v["latency_ms"][kind][stat].is_number(),
                "latency_ms.{kind}.{stat}"
            );
        }
    }
    // The mean of ten 5 s sleeps: never less, at most 250 ms (5 ms of wall time each) more.
    let service_ms = v["latency_ms"]["service"]["mean"].as_f64().unwrap();
    assert!(
        (4999.0..5250.0).contains(&service_ms),
        "service {service_ms} ms"
    );
    assert_eq!(v["theory"]["model"], "D/D/c");
    assert_eq!(v["theory"]["utilization"], 1.0);
    assert_eq!(v["theory"]["mean_wait_ms"], 0.0);
    assert!(v["theory"]["backlog_growth_per_s"].is_null());
    assert_eq!(v["theory"]["min_stable_workers"], 5);
    // The last finish (event 10 at 10 s, plus 5 s), with 10 ms of wall time to spare: a clock
    // 3% off, or a duration in wall time (0.3 s), fails it.
    let duration = v["duration_s"].as_f64().unwrap();
    assert!((15.0..15.5).contains(&duration), "duration {duration}");
    // The article's pipeline keeps up exactly: no lint ever held, and the run is over.
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert_eq!(
        v["verdict"],
        serde_json::json!({
            "kind": "finished", "text": "finished", "drain_s": null, "growth_per_s": null,
            "drain_s_p10": null, "drain_s_p90": null
        })
    );
}

/// Fixed arrivals at 20/s against one worker of 10/s: overloaded from the first event.
const OVERLOADED: &[&str] = &[
    "--arrival",
    "fixed",
    "--rate",
    "20/s",
    "--service",
    "100ms",
    "--service-dist",
    "fixed",
    "--workers",
    "1",
    "--headless",
];

#[test]
fn json_reports_the_final_verdict_and_every_warning_that_held() {
    let args = [OVERLOADED, &["--events", "30", "--speed", "5", "--json"]].concat();
    let out = backlog(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // The final snapshot's verdict: the run is over, so there is no growth or drain to report.
    assert_eq!(v["verdict"]["kind"], "finished", "{v}");
    assert_eq!(v["verdict"]["text"], "finished");
    assert!(v["verdict"]["drain_s"].is_null() && v["verdict"]["growth_per_s"].is_null());
    // What held on the way is in the warnings, with when, in model seconds within the run.
    let duration = v["duration_s"].as_f64().unwrap();
    let warnings = v["warnings"].as_array().expect("warnings is a list");
    let kinds = [
        "overloaded",
        "long_tail",
        "idle_with_queue",
        "more_workers_than_cores",
        "littles_law",
    ];
    for w in warnings {
        assert!(kinds.contains(&w["kind"].as_str().unwrap()), "{w}");
        assert!(!w["text"].as_str().unwrap().is_empty(), "{w}");
        let (first, last) = (
            w["first_s"].as_f64().unwrap(),
            w["last_s"].as_f64().unwrap(),
        );
        assert!(
            0.0 <= first && first <= last && last <= duration,
            "{w} in {duration}s"
        );
    }
    let overloaded = warnings
        .iter()
        .find(|w| w["kind"] == "overloaded")
        .unwrap_or_else(|| panic!("no overloaded warning: {v}"));
    assert_eq!(
        overloaded["text"],
        "utilisation ≥ 1: the backlog can only grow"
    );
    // Theory says so from the first snapshot; it holds until the last one before the end.
    assert!(
        overloaded["first_s"].as_f64().unwrap() < 1.0,
        "{overloaded}"
    );
    assert!(
        overloaded["last_s"].as_f64().unwrap() > duration - 1.0,
        "{overloaded}"
    );
}

#[test]
fn the_log_prints_the_verdict_once_when_it_changes_in_time_order() {
    // At --speed 1 the debounce (half a second) outlasts the log's hold for late records
    // (0.2 s): the verdict line, dated when it was first seen, must still come in order.
    let args = [OVERLOADED, &["--events", "10"]].concat();
    let out = backlog(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = stdout(&out);
    // While the source runs, one verdict; once it has ended (its tenth event, at 0.5 s), the
    // forecast has no arrivals and may say the backlog is being worked off.
    let ended = when(&log, "source   ended");
    let verdicts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" verdict  ") && split_time(l).is_some_and(|(t, _)| t < ended))
        .collect();
    assert_eq!(verdicts.len(), 1, "{log}");
    // The closed forms' words, or the forecast's once it is ready: the same growth.
    let verdict = verdicts[0].split_once(" verdict  ").unwrap().1;
    assert!(
        verdict.starts_with("overloaded: ")
            && verdict.contains("10/s")
            && verdict.ends_with("needs ≥ 2 workers"),
        "{log}"
    );
    let later: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" verdict  ") && split_time(l).is_some_and(|(t, _)| t >= ended))
        .collect();
    assert!(later.iter().all(|l| !l.contains("overloaded")), "{log}");
    assert!(when(&log, "verdict ") < 0.2, "{log}");
    assert_in_time_order(&log);
    // The JSON is a separate output: the log has no verdict of the end, its closing line says it.
    assert!(log.contains("# finished after"), "{log}");
}

/// Runs the binary with `args` and `--csv FILE` (a file named after `name`); it must succeed.
/// Returns the CSV.
fn run_with_csv(name: &str, args: &[&str]) -> String {
    let path = std::env::temp_dir().join(format!("{name}-{}.csv", std::process::id()));
    let out = backlog(&[args, &["--csv", path.to_str().unwrap()][..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).ok();
    csv
}

#[test]
fn csv_has_the_time_series() {
    let csv = run_with_csv(
        "backlog-test",
        &[
            "--rate",
            "200/s",
            "--service",
            "20ms",
            "--workers",
            "2",
            "--duration",
            "2s",
            "--headless",
            "--json",
        ],
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("t_s,queue_depth,arrivals_per_s,completions_per_s,busy_workers")
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|x| x.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() >= 6, "{csv}");
    assert!(
        rows.windows(2).all(|w| w[0][0] < w[1][0]),
        "time goes forward"
    );
    // Overloaded (200/s against 2 workers x 50/s): the queue grows.
    let last_depth = rows.iter().rev().find(|r| r[0] <= 2.0).unwrap()[1];
    assert!(last_depth > 100.0, "{csv}");
}

#[test]
fn bad_input_exits_2_with_a_one_line_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["--rate", "0"], "--rate"),
        (&["--rate", "-3/s"], "--rate"),
        (&["--rate", "NaN"], "--rate"),
        (&["--rate", "1e12"], "--rate"),
        (&["--rate", "fast"], "2.5/s"),
        (&["--workers", "0"], "--workers"),
        (&["--workers", "300"], "--workers"),
        (&["--workers", "10", "--max-workers", "5"], "--workers"),
        (&["--max-workers", "100000"], "--max-workers"),
        (&["--service", "five"], "--service"),
        (&["--service", "-1s"], "--service"),
        (&["--service", "2d"], "--service"),
        (&["--duration", "0"], "--duration"),
        (&["--arrival", "sometimes"], "poisson"),
        (&["--service-dist", "normal"], "lognormal"),
        (&["--work", "hard"], "cpu"),
        (&["--overflow", "drop-new"], "--queue-cap"),
        (&["--queue-cap", "0"], "--queue-cap"),
        (
            &["--json"],
            "required arguments were not provided: --headless",
        ),
        (&["--speed", "0"], "--speed"),
        (&["--fail-rate", "1.5"], "--fail-rate"),
        (&["--events", "many"], "--events"),
        (&["--csv", "/nonexistent-dir/x.csv", "--headless"], "--csv"),
    ];
    for (args, mention) in cases {
        // Input is checked before anything runs, with or without --headless.
        assert_bad_input(args, mention);
    }
}

/// Refused as bad input: exit code 2 and one line on stderr that mentions `mention`, no panic,
/// nothing on stdout. Returns the line.
fn assert_bad_input(args: &[&str], mention: &str) -> String {
    let out = backlog(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(
        err.contains(mention),
        "{args:?}: '{err}' does not mention {mention}"
    );
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: printed output");
    // Refused for what it is, not for the missing terminal (stdout is a pipe here).
    assert!(!err.contains("not a terminal"), "{args:?}: {err}");
    err
}

#[test]
fn size_without_offscreen_is_refused() {
    // --size is the virtual screen's; the monitor, and a live --record, take the terminal's.
    let headless = [
        "--headless",
        "--events",
        "1",
        "--rate",
        "100",
        "--service",
        "0",
    ];
    let cases: [&[&str]; 3] = [
        &headless,
        &[&headless[..], &["--json"]].concat(),
        &["--record", "x.cast", "--events", "1"],
    ];
    for run in cases {
        let args = [&["--size", "100x30"], run].concat();
        let err = assert_bad_input(&args, "--size");
        assert!(err.contains("--offscreen"), "{args:?}: {err}");
    }
    assert!(!std::path::Path::new("x.cast").exists());
}

#[test]
fn a_negative_seed_is_refused_as_not_a_seed() {
    for seed in ["-1", "1.5", "lucky", "18446744073709551616"] {
        let err = assert_bad_input(&["--seed", seed, "--headless", "--events", "1"], "--seed");
        assert!(err.contains("non-negative whole number"), "{seed}: {err}");
        assert!(err.contains(&format!("'{seed}'")), "{seed}: {err}");
    }
}

#[test]
fn an_unknown_scenario_name_suggests_the_closest_bundled_one() {
    for (typed, meant) in [
        ("falling-behnd", "falling-behind"),
        ("Burst", "burst"),
        ("brust", "burst"),
        ("bounded_queue.toml", "bounded-queue"),
    ] {
        let err = assert_bad_input(&["--scenario", typed, "--headless"], typed);
        assert!(
            err.contains(&format!("did you mean '{meant}'?")),
            "{typed}: {err}"
        );
        assert!(err.contains("--list-scenarios"), "{typed}: {err}");
    }
    // Nothing close: no guess, the list of bundled scenarios only.
    let err = assert_bad_input(&["--scenario", "zebra", "--headless"], "zebra");
    assert!(!err.contains("did you mean"), "{err}");
    assert!(err.contains("falling-behind"), "{err}");
}

#[test]
fn the_monitor_needs_a_terminal() {
    let out = backlog(&["--events", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--headless"));
}

#[test]
fn help_version_completions_and_man_page() {
    let help = backlog(&["--help"]);
    assert!(help.status.success());
    assert!(stdout(&help).contains("Examples:"));
    assert!(stdout(&backlog(&["--version"])).starts_with("backlog "));
    assert!(stdout(&backlog(&["completions", "bash"])).contains("_backlog"));
    assert!(stdout(&backlog(&["man"])).contains(".TH backlog"));
}

/// Erlang C: the probability an arrival waits in M/M/c with offered load `a` (erlangs).
fn erlang_c(c: usize, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let last = term * a / c as f64 * c as f64 / (c as f64 - a);
    last / (sum + last)
}

#[test]
fn theory_and_measurement_agree_at_speed_5() {
    let _serial = timing();
    // M/M/3 at utilisation 0.7, in model time: 50 ms of work per event, 42 events/s, for 40 s;
    // at --speed 5 that is 10 ms of wall time per event for 8 s. (Not 20 ms of model time: the
    // host's stalls count five times in model time, and with 4 ms of wall time per event CI
    // waited 1.47x the twin of the same events.)
    let (c, service_s, rho) = (3usize, 0.050, 0.7);
    let lambda = rho * c as f64 / service_s;
    let out = backlog(&[
        "--arrival",
        "poisson",
        "--service-dist",
        "exp",
        "--rate",
        &format!("{lambda}/s"),
        "--service",
        "50ms",
        "--workers",
        "3",
        "--duration",
        "40s",
        "--speed",
        "5",
        "--headless",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    // Every figure is in model time: the service time is the configured 50 ms, not 10 ms. A
    // sleep never ends early; a busy machine wakes it late (by 0.1-0.5 ms of wall time on this
    // VM on a bad day, up to an eighth of the demand).
    let measured_service_s = v["latency_ms"]["service"]["mean"].as_f64().unwrap() / 1e3;
    assert!(
        (0.98..1.3).contains(&(measured_service_s / service_s)),
        "service mean {measured_service_s}s"
    );
    let measured_rate = v["arrival_rate_per_s"].as_f64().unwrap();
    // A Poisson count of λT = 1,680: within 4 standard deviations (1/√λT each, 2.4%).
    let sd = (lambda * 40.0).sqrt().recip();
    assert!(
        (measured_rate / lambda - 1.0).abs() < 4.0 * sd,
        "arrival rate {measured_rate}/s"
    );
    // Erlang C for the load this sample actually had (its arrivals and its demands).
    let a = measured_rate * measured_service_s;
    let expected_wait_s = erlang_c(c, a) / (c as f64 / measured_service_s - measured_rate);
    let measured_wait_s = v["latency_ms"]["queue_wait"]["mean"].as_f64().unwrap() / 1e3;
    let ratio = measured_wait_s / expected_wait_s;
    eprintln!(
        "speed 5: wait {measured_wait_s:.5}s, Erlang C {expected_wait_s:.5}s, ratio {ratio:.3}"
    );
    // A short sample: this seed's own events wait longer than the steady state. The twin
    // replays the very same events (same seed, same generators) on an ideal pool, their demands
    // scaled to the service the run measured (late sleeps), so beside it only the engine's own
    // overhead and the machine's unevenness remain.
    let twin_config = TwinConfig {
        arrival: ArrivalProcess::Poisson,
        rate_per_s: lambda,
        burst: 1,
        service: std::time::Duration::from_secs_f64(measured_service_s),
        service_dist: ServiceDist::Exp,
        servers: c,
        cores: None,
        queue_cap: None,
        overflow: Overflow::Block,
    };
    let generated = v["generated"].as_u64().unwrap();
    let twin_wait_s =
        simulate(&twin_config, v["seed"].as_u64().unwrap(), 0, generated).mean_wait_s();
    eprintln!("speed 5: the twin of these events waits {twin_wait_s:.5}s");
    assert!(
        (0.8..1.25).contains(&(measured_wait_s / twin_wait_s)),
        "wait {measured_wait_s}s vs the twin's {twin_wait_s}s (Erlang C {expected_wait_s}s)"
    );
    assert!(
        (0.7..1.6).contains(&ratio),
        "wait {measured_wait_s}s vs Erlang C {expected_wait_s}s"
    );
    // The JSON's prediction is Erlang C for the configured rate and service time, exactly (the
    // measured wait is compared above with the load the run really had: on a busy machine its
    // 2 ms sleeps run long, and the configured load is not what it got).
    let predicted_s = v["theory"]["mean_wait_ms"].as_f64().unwrap() / 1e3;
    let configured_s = erlang_c(c, lambda * service_s) / (c as f64 / service_s - lambda);
    assert!(
        (predicted_s / configured_s - 1.0).abs() < 1e-6,
        "predicted {predicted_s}s vs Erlang C {configured_s}s"
    );
    assert_eq!(v["theory"]["model"], "M/M/c (Erlang C)");
    assert_eq!(v["speed"], 5.0);
}

#[test]
fn unwritable_outputs_fail_before_the_run_starts() {
    let dir = std::env::temp_dir().join(format!("backlog-unwritable-{}", std::process::id()));
    let cast_dir = dir.join("a-directory.cast");
    std::fs::create_dir_all(&cast_dir).unwrap();
    let dir_str = dir.to_str().unwrap();
    let cast_dir_str = cast_dir.to_str().unwrap();
    // Runs without an end: had any of them started, it would not return.
    let cases: &[(&[&str], &str)] = &[
        (&["--headless", "--csv", "/nonexistent-dir/x.csv"], "--csv"),
        (&["--headless", "--csv", dir_str], "--csv"),
        // Opens, but refuses writes: a full disk, a read-only file of the kernel's.
        (&["--headless", "--csv", "/dev/full"], "--csv"),
        (&["--headless", "--csv", "/proc/version"], "--csv"),
        (
            &[
                "--offscreen",
                "--record",
                "/nonexistent-dir/x.cast",
                "--events",
                "100000000",
            ],
            "--record",
        ),
        (
            &[
                "--offscreen",
                "--record",
                cast_dir_str,
                "--events",
                "100000000",
            ],
            "--record",
        ),
    ];
    for (args, mention) in cases {
        let started = std::time::Instant::now();
        let out = backlog(args);
        let took = started.elapsed();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(mention) && err.contains("cannot write"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: the run started");
        assert!(
            took < std::time::Duration::from_secs(2),
            "{args:?}: took {took:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Model time and the rest of a log line (`12.345s worker 3 left`); None for comments.
fn split_time(line: &str) -> Option<(f64, &str)> {
    if line.starts_with('#') {
        return None;
    }
    let (t, rest) = line.split_once("s ")?;
    Some((t.parse().ok()?, rest))
}

/// A count from the log's closing line: `# finished after 1.2s: 60 generated, 3 completed, ...`.
fn closing_count(log: &str, what: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.starts_with("# finished after"))
        .unwrap_or_else(|| panic!("no closing line:\n{log}"));
    let (_, counts) = line.split_once(": ").unwrap();
    counts
        .split(", ")
        .find_map(|part| part.strip_suffix(&format!(" {what}")))
        .unwrap_or_else(|| panic!("no '{what}' in {line}"))
        .parse()
        .unwrap()
}

/// Whether some line of `log` (after its time) is exactly `rest`.
fn has_line(log: &str, rest: &str) -> bool {
    log.lines().filter_map(split_time).any(|(_, r)| r == rest)
}

/// Drops, evictions and workers leaving each have their line, in the form docs/json.md gives.
#[test]
fn the_log_has_a_line_for_every_drop_eviction_and_worker_that_leaves() {
    // One worker of 20/s against 200/s, room for 2: most events are dropped.
    for (overflow, why) in [
        ("drop-new", "(queue full)"),
        ("drop-old", "(evicted: oldest in a full queue)"),
    ] {
        let out = backlog(&[
            "--arrival",
            "fixed",
            "--rate",
            "200/s",
            "--service",
            "50ms",
            "--service-dist",
            "fixed",
            "--workers",
            "1",
            "--queue-cap",
            "2",
            "--overflow",
            overflow,
            "--events",
            "60",
            "--headless",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = stdout(&out);
        let dropped: Vec<u64> = log
            .lines()
            .filter(|l| l.contains(" dropped event "))
            .map(|line| {
                split_time(line)
                    .and_then(|(_, rest)| rest.strip_prefix("source   dropped event "))
                    .and_then(|rest| rest.strip_suffix(&format!(" {why}")))
                    .and_then(|id| id.parse().ok())
                    .unwrap_or_else(|| panic!("{overflow}: not the documented line: {line:?}"))
            })
            .collect();
        assert!(
            dropped.len() >= 40,
            "{overflow}: {} dropped:\n{log}",
            dropped.len()
        );
        assert_eq!(
            dropped.len() as u64,
            closing_count(&log, "dropped"),
            "{log}"
        );
        for id in &dropped {
            // Submitted (drop-new logs the offer, drop-old the event's earlier entry), never run.
            assert!(
                has_line(&log, &format!("source   submitted event {id}")),
                "{id}:\n{log}"
            );
            assert!(
                !log.lines()
                    .any(|l| l.ends_with(&format!(" started event {id}"))),
                "{overflow}: dropped event {id} was started:\n{log}"
            );
        }
    }

    // Workers leaving: a scenario takes the pool from 3 workers to 1 at 0.5 s.
    let path = std::env::temp_dir().join(format!("backlog-cli-leave-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "description = \"fewer workers\"\n[start]\narrival = \"fixed\"\nrate = \"20/s\"\nservice = \"10ms\"\nworkers = 3\n[[step]]\nat = \"500ms\"\nworkers = 1\n[end]\nat = \"1s\"\n",
    )
    .unwrap();
    let out = backlog(&["--scenario", path.to_str().unwrap(), "--headless"]);
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = stdout(&out);
    // Before the source ends (after it, the pool empties and goes).
    let left: Vec<(f64, &str)> = log
        .lines()
        .filter_map(split_time)
        .filter(|(t, rest)| *t < 1.0 && rest.ends_with(" left"))
        .collect();
    let mut who: Vec<&str> = left.iter().map(|(_, rest)| *rest).collect();
    who.sort_unstable();
    assert_eq!(who, ["worker 2 left", "worker 3 left"], "{log}");
    assert!(
        left.iter().all(|(t, _)| (0.5..0.6).contains(t)),
        "left at {left:?}:\n{log}"
    );
}

/// Runs the binary with stdout a pipe whose reader takes `read_first` bytes, then closes it; with
/// 0 the reader is closed before the program starts, so its first write meets a closed pipe
/// whatever the size of its output. Returns the exit code and stderr.
fn with_closed_stdout(args: &[&str], read_first: usize) -> (Option<i32>, String) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // Close-on-exec, so no other test's child inherits either end and keeps the pipe open.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let mut reader = std::fs::File::from(reader);
    if read_first == 0 {
        drop(reader);
        reader = std::fs::File::open("/dev/null").unwrap();
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_backlog"));
    command
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("the binary runs");
    // The command holds the parent's copy of the write end: drop it, so only the child has one.
    drop(command);
    let mut first = vec![0; read_first];
    reader.read_exact(&mut first).expect("the first bytes come");
    drop(reader);
    let out = child.wait_with_output().expect("the binary ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_closes_stdout_early_ends_the_program_quietly() {
    let log = [
        "--headless",
        "--rate",
        "1000/s",
        "--service",
        "0",
        "--duration",
        "60s",
    ];
    let json = [
        "--headless",
        "--json",
        "--rate",
        "1000/s",
        "--service",
        "0",
        "--duration",
        "200ms",
    ];
    let cases: &[(&[&str], usize)] = &[
        (&["man"], 0),
        (&["completions", "bash"], 0),
        (&["--list-scenarios"], 0),
        // `| head -c 64`: the log goes on writing after the reader has gone.
        (&log, 64),
        (&json, 0),
    ];
    for (args, read_first) in cases {
        let started = std::time::Instant::now();
        let (code, err) = with_closed_stdout(args, *read_first);
        assert!(err.is_empty(), "{args:?}: said {err}");
        assert_eq!(code, Some(0), "{args:?}: exit code");
        // The headless run stops when its reader leaves, not at the end of its 60 s.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{args:?}: ran on for {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn the_first_csv_row_has_the_rates_of_the_first_interval() {
    let _serial = timing();
    // Fixed arrivals at 100/s, ample workers: every interval, the first too, sees about 100/s
    // arriving and completing.
    let csv = run_with_csv(
        "backlog-first",
        &[
            "--arrival",
            "fixed",
            "--rate",
            "100/s",
            "--service",
            "1ms",
            "--service-dist",
            "fixed",
            "--workers",
            "4",
            "--duration",
            "1.5s",
            "--headless",
        ],
    );
    let first: Vec<f64> = csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    let (arrivals, completions) = (first[2], first[3]);
    assert!((50.0..=200.0).contains(&arrivals), "first row: {csv}");
    assert!((50.0..=200.0).contains(&completions), "first row: {csv}");
}

/// The JSON summary of a seeded headless run.
fn summary(args: &[&str]) -> serde_json::Value {
    let out = backlog(&[args, &["--headless", "--json"][..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout(&out)).expect("stdout is one JSON object")
}

#[test]
fn mean_queue_len_keeps_littles_law_at_any_speed() {
    let _serial = timing();
    // The burst scenario's start for 12 s.
    let bursty = [&BURST[..12], &["--duration", "12s", "--seed", "9"]].concat();
    let mut lengths = Vec::new();
    for speed in ["1", "20"] {
        let v = summary(&[&bursty[..], &["--speed", speed][..]].concat());
        let length = v["mean_queue_len"].as_f64().unwrap();
        let wait_s = v["latency_ms"]["queue_wait"]["mean"].as_f64().unwrap() / 1e3;
        let little = v["throughput_per_s"].as_f64().unwrap() * wait_s;
        eprintln!("speed {speed}: mean queue length {length:.3}, throughput x wait {little:.3}");
        assert!(little > 1.0, "the bursts queue: {v}");
        assert!(
            (length / little - 1.0).abs() < 0.03,
            "speed {speed}: Lq {length} vs X*Wq {little}"
        );
        lengths.push(length);
    }
    assert!((lengths[1] / lengths[0] - 1.0).abs() < 0.1, "{lengths:?}");
}

/// At --speed 10 the engine's own hand-off (a few µs to ms of wall time) is ten times longer in
/// model time: the JSON says how much of a wait is the engine's, measured on the events that
/// found a worker idle at their arrival (all of them here: every wait is the engine's own).
#[test]
fn the_json_says_how_much_of_a_wait_is_the_engines_own() {
    let _serial = timing();
    let v = summary(&[
        "--arrival",
        "fixed",
        "--rate",
        "10/s",
        "--service",
        "10ms",
        "--service-dist",
        "fixed",
        "--workers",
        "4",
        "--duration",
        "20s",
        "--speed",
        "10",
    ]);
    let overhead = &v["engine_overhead"];
    let wait = &v["latency_ms"]["queue_wait"];
    // Nearly every event finds a worker idle (a stall of the machine may keep one busy past
    // the next arrival), and what is counted is the queue wait of those.
    let (counted, waits) = (
        overhead["count"].as_f64().unwrap(),
        wait["count"].as_f64().unwrap(),
    );
    assert!(counted >= 0.9 * waits && counted <= waits, "{v}");
    assert!(
        overhead["model_p99_ms"].as_f64().unwrap() <= wait["max"].as_f64().unwrap(),
        "{v}"
    );
    let (model, wall) = (
        overhead["model_p99_ms"].as_f64().unwrap(),
        overhead["wall_p99_ms"].as_f64().unwrap(),
    );
    assert!(
        (model - wall * 10.0).abs() <= 1e-9 * model.max(1.0),
        "{overhead}"
    );
    assert_eq!(overhead["speed"], 10.0);
}

/// The bounded queue: Poisson 120/s against 2 workers of 20 ms (exp), 10 places,
/// `drop-new`: M/M/2/12, which drops 18.55% of arrivals.
const BOUNDED_MM2: [&str; 14] = [
    "--arrival",
    "poisson",
    "--service-dist",
    "exp",
    "--rate",
    "120/s",
    "--service",
    "20ms",
    "--workers",
    "2",
    "--queue-cap",
    "10",
    "--overflow",
    "drop-new",
];

/// The bounded queue's twin at `service_s`, 10 places, dropping new arrivals.
fn bounded_mm2_twin(service_s: f64) -> TwinConfig {
    TwinConfig {
        arrival: ArrivalProcess::Poisson,
        rate_per_s: 120.0,
        burst: 1,
        service: std::time::Duration::from_secs_f64(service_s),
        service_dist: ServiceDist::Exp,
        servers: 2,
        cores: None,
        queue_cap: Some(10),
        overflow: Overflow::DropNew,
    }
}

#[test]
fn a_bounded_mm2_run_drops_what_mmck_predicts() {
    let _serial = timing();
    // 60 s of model time at --speed 2 (30 s of wall time): a late wake-up (0.2-0.5 ms of wall
    // time) is 0.4-1 ms of model time on a 20 ms service, and p_drop moves 3.5 times as much as
    // the service does, so the run is compared with M/M/2/12 at the service it measured.
    let v = summary(&[&BOUNDED_MM2[..], &["--duration", "60s", "--speed", "2"][..]].concat());
    let t = &v["theory"];
    assert_eq!(
        (t["method"].as_str(), t["formula"].as_str()),
        (Some("exact"), Some("M/M/c/K"))
    );
    let predicted = t["p_drop"].as_f64().unwrap();
    assert!((predicted / 0.1855 - 1.0).abs() < 0.03, "{t}");
    assert_eq!(t["stable"], true, "a queue that sheds cannot grow: {t}");
    assert!(
        t["backlog_growth_per_s"].is_null() && t["mean_wait_ms_ci95"].is_null(),
        "{t}"
    );
    assert_eq!(v["verdict"]["kind"], "finished");

    let generated = v["generated"].as_u64().unwrap();
    let measured = v["dropped"].as_f64().unwrap() / generated as f64;
    let service_s = v["latency_ms"]["service"]["mean"].as_f64().unwrap() / 1e3;
    assert!(
        (0.98..1.2).contains(&(service_s / 0.020)),
        "service {service_s}s"
    );
    let rate = v["arrival_rate_per_s"].as_f64().unwrap();
    let at_its_load = backlog::model::exact::mmck(rate, service_s, 2, 12).p_drop;
    // A run's drop fraction varies more than a binomial's: drops come in runs while the queue
    // is full. Its spread over 60 s runs, from the twin's replications of this many arrivals:
    let runs: Vec<f64> = (0..40)
        .map(|seed| simulate(&bounded_mm2_twin(service_s), seed, 0, generated).p_drop())
        .collect();
    let mean = runs.iter().sum::<f64>() / runs.len() as f64;
    let run_sd = (runs.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / 39.0).sqrt();
    let binomial_sd = (at_its_load * (1.0 - at_its_load) / generated as f64).sqrt();
    let bound = 1.96 * run_sd.max(binomial_sd);
    eprintln!(
        "dropped {measured:.4} of {generated}; M/M/2/12 {predicted:.4}, at the run's load \
         ({rate:.1}/s, {:.2} ms) {at_its_load:.4} ± {bound:.4} (binomial ± {:.4})",
        service_s * 1e3,
        1.96 * binomial_sd
    );
    assert!(
        (measured - at_its_load).abs() <= bound,
        "dropped {measured} vs {at_its_load} ± {bound}"
    );
}

/// The bundled `burst` scenario's start: groups of 20 every 2 s, exp 300 ms, 4 workers.
const BURST: [&str; 14] = [
    "--arrival",
    "bursty",
    "--burst",
    "20",
    "--rate",
    "10/s",
    "--service",
    "300ms",
    "--service-dist",
    "exp",
    "--workers",
    "4",
    "--duration",
    "20s",
];

#[test]
fn a_burst_is_predicted_by_the_twin_once_it_is_ready() {
    let _serial = timing();
    // 20 s of model time at --speed 20 is a second of wall time: the twin's first estimate
    // (about 200,000 events, 10-20 ms of a core) is ready long before the end.
    let v = summary(&[&BURST[..], &["--speed", "20"][..]].concat());
    let t = &v["theory"];
    assert_eq!(
        (t["method"].as_str(), t["formula"].as_str()),
        (Some("simulated"), Some("twin"))
    );
    let wait_ms = t["mean_wait_ms"].as_f64().unwrap();
    let ci: Vec<f64> = t["mean_wait_ms_ci95"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(ci[0] < wait_ms && wait_ms < ci[1], "{t}");
    // The twin's own long run: 10 runs of a million events each.
    let config = TwinConfig {
        arrival: ArrivalProcess::Bursty,
        rate_per_s: 10.0,
        burst: 20,
        service: std::time::Duration::from_millis(300),
        service_dist: ServiceDist::Exp,
        servers: 4,
        cores: None,
        queue_cap: None,
        overflow: Overflow::Block,
    };
    let long = backlog::model::twin::steady_state(&config, 7, 10, 1_000_000);
    let long_ms = long.mean_wait_s.mean * 1e3;
    eprintln!("burst: predicted {wait_ms:.1} ms {ci:?}, the twin's long run {long_ms:.1} ms");
    assert!(
        (wait_ms / long_ms - 1.0).abs() < 0.15,
        "{wait_ms} vs {long_ms}"
    );
    // Allen-Cunneen says about 1.53 s: nearly three times too long.
    assert!(wait_ms < 1000.0, "{t}");
}

#[test]
fn a_panic_in_the_twin_leaves_a_labelled_approximation_and_the_run_goes_on() {
    let _serial = timing();
    let out = Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args([&BURST[..], &["--speed", "20", "--headless", "--json"][..]].concat())
        .env("BACKLOG_TEST_PANIC", "twin")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let t = &v["theory"];
    assert_eq!(
        (t["method"].as_str(), t["formula"].as_str()),
        (Some("approximation"), Some("Allen-Cunneen")),
        "{t}"
    );
    assert_eq!(v["state"], "finished");
    assert_eq!(v["generated"], v["completed"], "{v}");
}

#[test]
fn the_log_says_a_bounded_queue_drops_about_a_fifth() {
    let _serial = timing();
    let out = backlog(
        &[
            &BOUNDED_MM2[..],
            &["--duration", "5s", "--speed", "10", "--headless"][..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = stdout(&out);
    assert!(
        log.lines()
            .any(|l| l.ends_with(" verdict  bounded queue: drops about 19% of arrivals")),
        "{log}"
    );
}
