//! Sources other than the generator, through the binary as a user runs them: lines from stdin.

#[path = "common/run.rs"]
mod run;

use std::process::Output;

use run::backlog_with_input;

fn summary(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

fn count(summary: &serde_json::Value, field: &str) -> u64 {
    summary[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no {field} in {summary}"))
}

fn numbers(from: u64, to: u64) -> Vec<u8> {
    (from..=to)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect()
}

/// Lines from stdin, 2 ms of sleep work each (unless a line says otherwise), a JSON summary.
const STDIN_JSON: &str = "--source stdin --work sleep --service 2ms --headless --json";

/// `STDIN_JSON` with `n` workers and `more` options.
fn with_workers<'a>(n: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args: Vec<&str> = STDIN_JSON.split(' ').collect();
    args.extend(["--workers", n]);
    args.extend_from_slice(more);
    args
}

#[test]
fn every_line_of_stdin_is_one_event_and_completes() {
    let s = summary(&backlog_with_input(
        &with_workers("4", &[]),
        numbers(1, 1000),
    ));
    assert_eq!(
        (count(&s, "generated"), count(&s, "completed")),
        (1000, 1000),
        "{s}"
    );
    assert_eq!(s["state"], "finished");
}

#[test]
fn an_overlong_line_is_rejected_and_counted_and_binary_lines_are_kept() {
    let mut input = numbers(1, 500);
    input.extend(b"\xff\xfe\x00not utf-8\x80\n");
    input.extend(vec![b'x'; 2 << 20]);
    input.push(b'\n');
    input.extend(numbers(501, 1000));
    let s = summary(&backlog_with_input(&with_workers("4", &[]), input));
    assert_eq!(count(&s, "rejected"), 1, "{s}");
    // The binary line is an event like any other; nothing else is lost.
    assert_eq!(
        (count(&s, "generated"), count(&s, "completed")),
        (1001, 1001),
        "{s}"
    );
}

#[test]
fn a_json_line_states_its_own_demand() {
    // Four lines of 50 ms each on one worker (the configured 2 ms is for lines without one).
    let input = b"{\"service\": \"50ms\"}\n{\"service\": 0.05}\n{\"service\": \"50ms\", \"id\": 9}\n{\"service\": \"50ms\"}\n".to_vec();
    let s = summary(&backlog_with_input(&with_workers("1", &[]), input));
    let service = s["latency_ms"]["service"]["mean"].as_f64().unwrap();
    // 50 ms stated, not the 2 ms configured (a loaded machine may add some ms to a sleep; the
    // 0.05 s of a number is a few ns under 50 ms as a Duration, and precise sleeps keep it so).
    assert!(
        (49.9..100.0).contains(&service),
        "service mean {service} ms"
    );
    assert!(s["duration_s"].as_f64().unwrap() >= 0.1999, "{s}");
}

#[test]
fn a_full_block_queue_lets_every_line_in_before_stdin_ends() {
    // The end of the input is the source's own end: the lines held at it still enter.
    let args = with_workers("1", &["--queue-cap", "2", "--overflow", "block"]);
    let s = summary(&backlog_with_input(&args, numbers(1, 100)));
    assert_eq!(
        (count(&s, "completed"), count(&s, "dropped")),
        (100, 0),
        "{s}"
    );
}

#[test]
fn an_unknown_source_is_refused_naming_the_accepted_ones() {
    let out = backlog_with_input(&["--source", "kafka", "--headless"], Vec::new());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'kafka' is not a source"), "{err}");
    assert!(err.contains("gen") && err.contains("stdin"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Model times of the `submitted event` lines of a headless log.
fn submitted_times(log: &str) -> Vec<f64> {
    log.lines()
        .filter(|l| l.contains(" source   submitted event "))
        .filter_map(|l| l.split_once("s ")?.0.parse().ok())
        .collect()
}

/// A trace file for one test.
fn trace_file(name: &str, text: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("backlog-trace-{}-{name}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_trace_replays_its_arrival_times_at_any_speed() {
    let rows = [0.0, 0.25, 0.3, 1.5, 1.5, 4.0];
    let text: String = std::iter::once("arrival_s,service_ms\n".to_string())
        .chain(rows.iter().map(|t| format!("{},{}\n", 100.0 + t, 10)))
        .collect();
    let path = trace_file("times", &text);
    let source = format!("trace:{}", path.display());
    for speed in ["1", "10"] {
        let out = backlog_with_input(
            &[
                "--source",
                &source,
                "--workers",
                "2",
                "--headless",
                "--speed",
                speed,
            ],
            Vec::new(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = String::from_utf8_lossy(&out.stdout);
        let times = submitted_times(&log);
        assert_eq!(times.len(), rows.len(), "{log}");
        // The log has ms; the schedule is the file's, from its first arrival.
        for (got, want) in times.iter().zip(rows) {
            assert!(
                (got - want).abs() < 0.0015,
                "at --speed {speed}: {got} vs {want}\n{log}"
            );
        }
        assert!(log.contains(" 6 generated, 6 completed"), "{log}");
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_trace_loops_and_its_rate_follows_the_rate_option() {
    let path = trace_file("loop", "arrival_s,service_s,id\n0,0,a\n1,0,b\n2,0,c\n");
    let source = format!("trace:{}", path.display());
    // Twice at twice its own rate (1/s): 0, 0.5, 1, then one gap on: 1.5, 2, 2.5.
    let out = backlog_with_input(
        &[
            "--source",
            &source,
            "--loop",
            "2",
            "--rate",
            "2/s",
            "--headless",
            "--speed",
            "5",
        ],
        Vec::new(),
    );
    let log = String::from_utf8_lossy(&out.stdout);
    let times = submitted_times(&log);
    let want = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5];
    assert_eq!(times.len(), want.len(), "{log}");
    for (got, want) in times.iter().zip(want) {
        assert!((got - want).abs() < 0.0015, "{got} vs {want}\n{log}");
    }
    std::fs::remove_file(&path).ok();
}

#[test]
fn a_bad_trace_is_refused_before_the_run_naming_file_and_line() {
    let path = trace_file("bad", "arrival_s,service_s\n1,0\n0.5,0\n");
    let source = format!("trace:{}", path.display());
    let out = backlog_with_input(&["--source", &source, "--headless"], Vec::new());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:3: arrival 0.5 s comes before", path.display())),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    std::fs::remove_file(&path).ok();
    // --loop is for traces only.
    let out = backlog_with_input(&["--loop", "2", "--headless", "--events", "1"], Vec::new());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_bundled_traces_replay_to_their_end() {
    for (trace, rows) in [("article", 10), ("bursty-api", 1953)] {
        let source = format!("trace:assets/traces/{trace}.csv");
        let out = backlog_with_input(
            &[
                "--source",
                &source,
                "--workers",
                "5",
                "--speed",
                "20",
                "--headless",
                "--json",
            ],
            Vec::new(),
        );
        let s = summary(&out);
        assert_eq!(count(&s, "completed"), rows, "{trace}: {s}");
    }
}

#[test]
fn the_json_source_object_says_each_kinds_state_and_counters() {
    // The generator: nothing of its own to count.
    let out = backlog_with_input(
        &[
            "--events",
            "3",
            "--rate",
            "100/s",
            "--service",
            "0",
            "--headless",
            "--json",
        ],
        Vec::new(),
    );
    let source = &summary(&out)["source"];
    assert_eq!(source["kind"], "generator", "{source}");
    assert_eq!(source["state"], "ended", "{source}");
    assert!(source.get("lines_read").is_none(), "{source}");
    // stdin: every line read, the overlong one rejected.
    let mut input = numbers(1, 100);
    input.extend(vec![b'x'; 2 << 20]);
    input.push(b'\n');
    let source = &summary(&backlog_with_input(&with_workers("4", &[]), input))["source"];
    assert_eq!(source["kind"], "stdin", "{source}");
    assert_eq!(source["state"], "ended", "{source}");
    assert_eq!(
        (source["lines_read"].as_u64(), source["rejected"].as_u64()),
        (Some(101), Some(1)),
        "{source}"
    );
    // A trace: its file, its rows and how far it got, pass by pass.
    let path = trace_file("json", "arrival_s,service_s\n0,0\n0.01,0\n0.02,0\n");
    let source = format!("trace:{}", path.display());
    let args = ["--source", &source, "--loop", "2", "--headless", "--json"];
    let s = summary(&backlog_with_input(&args, Vec::new()));
    std::fs::remove_file(&path).ok();
    let source = &s["source"];
    assert_eq!(source["kind"], "trace", "{source}");
    assert_eq!(source["state"], "ended", "{source}");
    assert_eq!(source["file"], path.display().to_string(), "{source}");
    for (field, want) in [("rows", 3), ("replayed", 6), ("pass", 2), ("passes", 2)] {
        assert_eq!(source[field].as_u64(), Some(want), "{field}: {source}");
    }
}

#[test]
fn an_input_that_cannot_be_read_ends_the_source_in_error_and_says_why() {
    // A directory opens, and every read of it fails.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args(with_workers("1", &[]))
        .stdin(std::fs::File::open("/").unwrap())
        .output()
        .unwrap();
    let s = summary(&out);
    assert_eq!(s["state"], "finished", "{s}");
    assert_eq!(s["source"]["state"], "error", "{s}");
    let error = s["source"]["error"].as_str().unwrap_or_default();
    // The system's words for it, as std reports them.
    assert!(error.contains("(os error "), "{error}");
}
