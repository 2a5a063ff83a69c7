//! Runs you can keep: the run log reads back what was written; a saved run replays to the live
//! run's JSON summary and CSV; the Perfetto export keeps the trace format's rules; a log that is
//! not one, of another version, cut short or random gets a one-line error and exit code 2.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use backlog::control::scenario::BUNDLED;
use backlog::engine::event::DropReason;
use backlog::engine::work::{Failure, Outcome};
use backlog::engine::{EngineConfig, Snapshot, Trace};
use backlog::runlog::{MarkKind, RunInfo, RunLog, RunLogFile};
use proptest::prelude::*;
use serde_json::Value;

#[path = "common/pty.rs"]
mod pty;
#[path = "common/run.rs"]
mod run;

/// Bundled scenarios play at this speed here: 80 s of model time in 2 s.
const TEST_SPEED: &str = "40";

use run::backlog;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("backlog-runlog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A run log written through the library: `traces` through the engine's channel, then
/// `snapshots`, a caption; returns the path.
fn write_log(name: &str, traces: &[Trace], snapshots: &[Arc<Snapshot>]) -> PathBuf {
    let path = scratch(name);
    let info = RunInfo::of(&EngineConfig::default(), Some("unit"));
    let (tx, rx) = flume::unbounded();
    let writer = RunLogFile::create(&path, &info)
        .unwrap()
        .start(Some(rx), false)
        .unwrap();
    for t in traces {
        tx.send(*t).unwrap();
    }
    for s in snapshots {
        writer.sender().snapshot(s);
    }
    writer
        .sender()
        .mark(1_500_000_000, MarkKind::Caption, "a caption");
    drop(tx);
    let end = writer.finish(snapshots.last()).unwrap();
    assert_eq!(end.traces, traces.len() as u64);
    assert_eq!(end.snapshots, snapshots.len() as u64);
    assert_eq!((end.lost_traces, end.lost_snapshots), (0, 0));
    path
}

fn some_traces(events: u64) -> Vec<Trace> {
    let mut traces = vec![Trace::WorkerUp {
        worker: 1,
        at_ns: 0,
    }];
    for id in 1..=events {
        let at_ns = id * 1_000_000;
        traces.push(Trace::Submitted {
            id,
            at_ns,
            blocked_ns: id % 3,
        });
        traces.push(Trace::Started {
            worker: 1 + (id % 2) as u32,
            id,
            at_ns: at_ns + 10,
            demand_ns: id * 7,
        });
        let outcome = match id % 4 {
            0 => Outcome::Failed(Failure::ExitStatus(2)),
            1 => Outcome::Succeeded { result: Some(id) },
            _ => Outcome::Succeeded { result: None },
        };
        traces.push(Trace::Finished {
            worker: 1 + (id % 2) as u32,
            id,
            at_ns: at_ns + 500,
            outcome,
        });
    }
    traces.push(Trace::Dropped {
        id: events + 1,
        at_ns: events * 1_000_000 + 1,
        reason: DropReason::QueueFull,
    });
    traces
}

/// Snapshots 50 ms apart, each one different.
fn some_snapshots(n: u64) -> Vec<Arc<Snapshot>> {
    (0..n)
        .map(|i| {
            Arc::new(Snapshot {
                now_ns: i * 50_000_000,
                max_queue_depth: i * 3,
                mean_queue_len: i as f64 / 7.0,
                ..Snapshot::default()
            })
        })
        .collect()
}

#[test]
fn a_log_reads_back_every_record_snapshot_and_mark_as_written() {
    let traces = some_traces(5000);
    let snapshots = some_snapshots(95);
    let path = write_log("round-trip.blog", &traces, &snapshots);
    let log = RunLog::open(&path).unwrap();
    assert_eq!(log.traces().unwrap(), traces);
    let back: Vec<Arc<Snapshot>> = log.snapshots().map(Result::unwrap).collect();
    assert_eq!(back, snapshots);
    assert!(log.snapshot_frame_count() > 1, "more than one checkpoint");
    assert_eq!(log.info.scenario.as_deref(), Some("unit"));
    assert_eq!(log.marks().len(), 1);
    assert_eq!(log.marks()[0].text, "a caption");
    assert!(log.cut_at.is_none());
    // Seek: the last snapshot at or before a time, from any frame.
    for probe in [0, 49_999_999, 50_000_000, 2_012_345_678, u64::MAX] {
        let expected = snapshots.iter().rev().find(|s| s.now_ns <= probe).unwrap();
        assert_eq!(&log.snapshot_at(probe).unwrap(), expected, "at {probe}");
    }
    std::fs::remove_file(path).ok();
}

#[test]
fn a_log_cut_anywhere_reads_up_to_its_last_whole_frame_or_says_why_not() {
    let traces = some_traces(2000);
    let snapshots = some_snapshots(70);
    let path = write_log("cut.blog", &traces, &snapshots);
    let bytes = std::fs::read(&path).unwrap();
    let step = (bytes.len() / 97).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        match RunLog::from_bytes("cut".into(), bytes[..cut].to_vec()) {
            Ok(log) => {
                assert!(log.cut_at.is_some(), "cut at {cut}: not seen as cut short");
                let back: Vec<Arc<Snapshot>> = log.snapshots().map(Result::unwrap).collect();
                assert!(!back.is_empty());
                assert_eq!(back[..], snapshots[..back.len()], "cut at {cut}: a prefix");
                let read = log.traces().unwrap();
                assert_eq!(read[..], traces[..read.len()], "cut at {cut}: a prefix");
            }
            Err(e) => {
                let message = e.to_string();
                assert!(!message.contains('\n'), "{message}");
                assert!(message.contains("cut"), "cut at {cut}: {message}");
            }
        }
    }
    std::fs::remove_file(path).ok();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random bytes, with or without the right start: an error in one line, never a panic.
    #[test]
    fn random_bytes_are_refused_in_one_line(
        body in proptest::collection::vec(any::<u8>(), 0..600),
        with_magic in any::<bool>(),
    ) {
        let mut bytes = Vec::new();
        if with_magic {
            bytes.extend_from_slice(b"backlog-run\n\x01\x00");
        }
        bytes.extend_from_slice(&body);
        if let Err(e) = RunLog::from_bytes("random".into(), bytes) {
            prop_assert!(!e.to_string().contains('\n'));
        }
    }

    /// A real log with one byte changed: read whole or refused in one line.
    #[test]
    fn a_damaged_log_is_read_or_refused_never_a_panic(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let bytes = damaged_base();
        let mut bytes = bytes.to_vec();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        if let Ok(log) = RunLog::from_bytes("damaged".into(), bytes) {
            for s in log.snapshots() {
                if let Err(e) = s {
                    prop_assert!(!e.to_string().contains('\n'));
                }
            }
            if let Err(e) = log.traces() {
                prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }
}

fn damaged_base() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| {
        let path = write_log("damaged.blog", &some_traces(50), &some_snapshots(30));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(path).ok();
        bytes
    })
}

/// Saves a run of `args` headless (with `--json`), returns the live summary and the log's path.
fn save(name: &str, args: &[&str]) -> (Value, PathBuf) {
    let path = scratch(name);
    let mut all: Vec<&str> = args.to_vec();
    let shown = path.display().to_string();
    all.extend(["--save-run", shown.as_str()]);
    (run::json_summary(&all), path)
}

#[test]
fn every_bundled_scenario_replays_to_the_summary_the_live_run_printed() {
    let runs: Vec<_> = BUNDLED
        .iter()
        .map(|(name, _)| {
            let name = name.to_string();
            std::thread::spawn(move || {
                let file = format!("{name}.blog");
                let (live, path) = save(&file, &["--scenario", &name, "--speed", TEST_SPEED]);
                (name, live, path)
            })
        })
        .collect();
    for handle in runs {
        let (name, live, path) = handle.join().unwrap();
        let replayed = run::json_summary(&["replay", path.to_str().unwrap()]);
        assert_eq!(live["state"], "finished", "{name}");
        assert_eq!(replayed, live, "{name}: the replay's summary differs");
        std::fs::remove_file(path).ok();
    }
}

#[test]
fn the_replay_writes_the_live_runs_csv_and_its_log_closes_the_same_way() {
    let live_csv = scratch("live.csv");
    let replay_csv = scratch("replay.csv");
    let path = scratch("csv.blog");
    let args = [
        "--rate",
        "200/s",
        "--service",
        "8ms",
        "--workers",
        "2",
        "--events",
        "600",
        "--speed",
        "4",
        "--headless",
    ];
    let mut live_args = args.to_vec();
    live_args.extend([
        "--csv",
        live_csv.to_str().unwrap(),
        "--save-run",
        path.to_str().unwrap(),
    ]);
    let live = backlog(&live_args);
    assert!(live.status.success(), "{}", stderr(&live));
    let replay = backlog(&[
        "replay",
        path.to_str().unwrap(),
        "--headless",
        "--csv",
        replay_csv.to_str().unwrap(),
    ]);
    assert!(replay.status.success(), "{}", stderr(&replay));
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert!(read(&live_csv).lines().count() > 2);
    assert_eq!(read(&replay_csv), read(&live_csv));
    let closing = |out: &Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip_while(|l| !l.starts_with("# finished after"))
            .map(str::to_string)
            .collect()
    };
    assert!(!closing(&live).is_empty());
    assert_eq!(closing(&replay), closing(&live));
    // Every event appears in the replayed log as it did in the live one.
    let text = String::from_utf8_lossy(&replay.stdout);
    let count = |what: &str| text.lines().filter(|l| l.contains(what)).count();
    assert_eq!(count("submitted event"), 600);
    assert_eq!(count("finished event"), 600);
    for p in [live_csv, replay_csv, path] {
        std::fs::remove_file(p).ok();
    }
}

/// The Perfetto export of a short saved run.
fn perfetto_of(args: &[&str], name: &str, window: &[&str]) -> (Value, Value) {
    let (live, path) = save(&format!("{name}.blog"), args);
    let out = scratch(&format!("{name}.json"));
    let mut export = vec![
        "export",
        path.to_str().unwrap(),
        "--perfetto",
        out.to_str().unwrap(),
    ];
    export.extend(window);
    let done = backlog(&export);
    assert!(done.status.success(), "{}", stderr(&done));
    let trace: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    std::fs::remove_file(out).ok();
    std::fs::remove_file(path).ok();
    (trace, live)
}

fn events_of(trace: &Value) -> &Vec<Value> {
    trace["traceEvents"]
        .as_array()
        .expect("a traceEvents array")
}

/// Every `b` has one `e` with its id, after it; no two `X` on a track overlap; timestamps (µs)
/// never go back on a track.
fn assert_trace_format(events: &[Value]) {
    use std::collections::HashMap;
    let mut open: HashMap<u64, f64> = HashMap::new();
    let mut last_ts: HashMap<String, f64> = HashMap::new();
    let mut last_end: HashMap<u64, i64> = HashMap::new();
    for e in events {
        let ph = e["ph"].as_str().unwrap();
        if ph == "M" {
            continue;
        }
        let ts = e["ts"].as_f64().expect("a ts in µs");
        let track = match ph {
            "b" | "e" => format!("async {}", e["id"]),
            "C" => format!("counter {}", e["name"]),
            _ => format!("thread {}", e["tid"]),
        };
        let last = last_ts.insert(track.clone(), ts).unwrap_or(f64::MIN);
        assert!(ts >= last, "{track}: {ts} after {last}");
        match ph {
            "b" => assert!(
                open.insert(e["id"].as_u64().unwrap(), ts).is_none(),
                "two b for {e}"
            ),
            "e" => {
                let begun = open
                    .remove(&e["id"].as_u64().unwrap())
                    .expect("an e without its b");
                assert!(ts >= begun);
            }
            "X" => {
                // In whole ns (the µs carry the ns as fractions), so float sums cannot mislead.
                let ns = |us: f64| (us * 1e3).round() as i64;
                let tid = e["tid"].as_u64().unwrap();
                let end = ns(ts) + ns(e["dur"].as_f64().unwrap());
                let previous = last_end.insert(tid, end).unwrap_or(i64::MIN);
                assert!(
                    ns(ts) >= previous,
                    "worker {tid}: {e} overlaps the slice before"
                );
            }
            "C" | "i" => {}
            other => panic!("unexpected phase {other}"),
        }
    }
    assert!(open.is_empty(), "b without e: {open:?}");
}

#[test]
fn the_perfetto_export_keeps_the_trace_formats_rules() {
    let args = [
        "--rate",
        "400/s",
        "--service",
        "9ms",
        "--workers",
        "3",
        "--events",
        "800",
        "--speed",
        "4",
        "--fail-rate",
        "0.05",
    ];
    let (trace, live) = perfetto_of(&args, "perfetto", &[]);
    let events = events_of(&trace);
    assert_trace_format(events);
    let count = |ph: &str| events.iter().filter(|e| e["ph"] == ph).count() as u64;
    let done = live["completed"].as_u64().unwrap() + live["failed"].as_u64().unwrap();
    assert_eq!(count("X"), done, "a slice per job");
    assert_eq!(count("b"), done);
    assert!(count("C") > 0, "queue depth and busy workers");
    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .filter_map(|e| e["args"]["name"].as_str())
        .collect();
    for w in 1..=3 {
        assert!(names.contains(&format!("worker {w}").as_str()), "{names:?}");
    }
    let slice = events.iter().find(|e| e["ph"] == "X").unwrap();
    for arg in ["queue_wait_ms", "demand_ms", "outcome"] {
        assert!(!slice["args"][arg].is_null(), "{arg} in {slice}");
    }
    let failed = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .filter(|e| e["args"]["outcome"].as_str().unwrap().starts_with("failed"))
        .count() as u64;
    assert_eq!(failed, live["failed"].as_u64().unwrap());
}

#[test]
fn a_scenario_exports_its_changes_and_captions_and_a_window_cuts_the_rest() {
    let args = ["--scenario", "falling-behind", "--speed", TEST_SPEED];
    let (trace, _) = perfetto_of(&args, "window", &["--from", "20s", "--to", "30s"]);
    let events = events_of(&trace);
    assert_trace_format(events);
    let instants: Vec<&str> = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["s"] == "g")
        .filter_map(|e| e["name"].as_str())
        .collect();
    // The step at 25 s: 5 workers, its caption.
    assert!(
        instants
            .iter()
            .any(|n| n.contains("workers 4 → 5") && n.contains("(step)")),
        "{instants:?}"
    );
    assert!(instants.len() >= 2, "{instants:?}");
    for e in events.iter().filter(|e| e["ph"] == "X") {
        let ts = e["ts"].as_f64().unwrap();
        assert!((20e6..=30e6).contains(&ts), "{e} outside the window");
    }
}

#[test]
fn bad_logs_get_one_line_and_exit_2() {
    let random = scratch("random.blog");
    std::fs::write(&random, b"\x00\x01 not a log at all").unwrap();
    let other_version = scratch("v9.blog");
    std::fs::write(&other_version, b"backlog-run\n\x09\x00rest").unwrap();
    let header_only = scratch("header.blog");
    std::fs::write(&header_only, b"backlog-run\n\x01\x00").unwrap();
    let missing = scratch("missing.blog");
    for (path, needle) in [
        (&random, "not a backlog run log"),
        (&other_version, "version 9"),
        (&header_only, "cut short before its first snapshot"),
        (&missing, "cannot read"),
    ] {
        for args in [
            vec!["replay", path.to_str().unwrap(), "--headless", "--json"],
            vec!["export", path.to_str().unwrap(), "--perfetto", "/dev/null"],
        ] {
            let out = backlog(&args);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
            assert!(err.contains(needle), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    let unwritable = backlog(&[
        "--events",
        "3",
        "--headless",
        "--save-run",
        "/nonexistent/dir/x.blog",
    ]);
    assert_eq!(unwritable.status.code(), Some(2));
    assert!(
        stderr(&unwritable).contains("--save-run"),
        "{}",
        stderr(&unwritable)
    );
    for p in [random, other_version, header_only] {
        std::fs::remove_file(p).ok();
    }
}

#[test]
fn a_log_cut_short_by_a_kill_replays_what_it_holds() {
    let (live, path) = save(
        "killed.blog",
        &[
            "--rate",
            "100/s",
            "--service",
            "5ms",
            "--events",
            "400",
            "--speed",
            "2",
        ],
    );
    let bytes = std::fs::read(&path).unwrap();
    // As if killed in the middle of writing: the end, and part of a frame, are gone.
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = backlog(&["replay", path.to_str().unwrap(), "--headless", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("cut short"), "{}", stderr(&out));
    let replayed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let duration = |v: &Value| v["duration_s"].as_f64().unwrap();
    assert!(duration(&replayed) < duration(&live));
    assert!(duration(&replayed) > 0.0);
    std::fs::remove_file(path).ok();
}

/// The first snapshot that shows the first settings change of the log: its model time and the
/// worker count.
fn first_change(path: &Path) -> (u64, usize, u64) {
    let log = RunLog::open(path).unwrap();
    let change = log
        .marks()
        .iter()
        .find(|m| m.kind == MarkKind::Change)
        .expect("a settings change in the log")
        .at_ns;
    let shown = log
        .snapshots()
        .map(Result::unwrap)
        .find(|s| s.now_ns >= change)
        .unwrap();
    let last = log.last_snapshot().unwrap();
    (shown.now_ns, shown.settings.workers, last.now_ns)
}

#[test]
fn the_replay_monitor_seeks_to_a_change_and_to_the_end_and_is_read_only() {
    use backlog::ui::format::clock;
    let (_, path) = save(
        "tui.blog",
        &["--scenario", "falling-behind", "--speed", TEST_SPEED],
    );
    let (change_ns, workers, end_ns) = first_change(&path);
    let mut session = pty::Session::start(&["replay", path.to_str().unwrap()], 30, 100);
    session.wait_for_panels();
    session.wait_for("the position bar", pty::STEP, |screen| {
        screen.contains("▶ replay ")
    });
    session.press(" ");
    session.wait_for("paused", pty::STEP, |screen| screen.contains("‖ replay "));
    session.wait_for("4 workers at the start", pty::STEP, |s| {
        s.contains("workers 4")
    });
    session.press("n");
    let at = format!("replay {:.3}s", change_ns as f64 / 1e9);
    let header = format!("t {}", clock(change_ns));
    let count = format!("workers {workers}");
    session.wait_for("the first change", pty::STEP, |screen| {
        screen.contains(&at) && screen.contains(&header) && screen.contains(&count)
    });
    session.press("+");
    session.wait_for("read only", pty::STEP, |s| s.contains("replay: read only"));
    session.press("\x1b[F");
    let end = format!("t {}", clock(end_ns));
    session.wait_for("the end", pty::STEP, |s| {
        s.contains(&end) && s.contains("finished")
    });
    session.press("\x1b[H");
    session.wait_for("back at the start", pty::STEP, |s| s.contains("t 0:00"));
    session.press("q");
    let (exit, _) = session.wait_exit(pty::STEP);
    assert_eq!(exit.code, 0, "{}", session.screen());
    session.assert_restored("after q");
    std::fs::remove_file(path).ok();
}

#[test]
fn a_cast_recording_marks_each_caption_and_change_as_a_chapter() {
    let cast = scratch("chapters.cast");
    let saved = scratch("offscreen.blog");
    let out = backlog(&[
        "--scenario",
        "falling-behind",
        "--speed",
        TEST_SPEED,
        "--offscreen",
        "--record",
        cast.to_str().unwrap(),
        "--save-run",
        saved.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The monitor's run saved too: its captions and changes, and a run that finished.
    let log = RunLog::open(&saved).unwrap();
    let kinds = |kind| log.marks().iter().filter(|m| m.kind == kind).count();
    assert_eq!(kinds(MarkKind::Change), 2, "{:?}", log.marks());
    assert!(kinds(MarkKind::Caption) >= 3, "{:?}", log.marks());
    assert!(log.end.is_some() && log.last_snapshot().unwrap().state.is_over());
    std::fs::remove_file(saved).ok();
    let text = std::fs::read_to_string(&cast).unwrap();
    let markers: Vec<(f64, String)> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e[1] == "m")
        .map(|e| (e[0].as_f64().unwrap(), e[2].as_str().unwrap().to_string()))
        .collect();
    let scenario = backlog::control::scenario::load("falling-behind").unwrap();
    for caption in scenario.steps.iter().filter_map(|s| s.caption.as_deref()) {
        if !caption.is_empty() {
            assert!(
                markers.iter().any(|(_, m)| m == caption),
                "{caption}: {markers:?}"
            );
        }
    }
    assert!(
        markers
            .iter()
            .any(|(_, m)| m.contains("(step): workers 4 → 5")),
        "{markers:?}"
    );
    assert!(
        markers.windows(2).all(|w| w[0].0 <= w[1].0),
        "in time order"
    );
    std::fs::remove_file(cast).ok();
}

/// A writer too far behind the engine drops what waits, counts it, marks where, and the run's
/// warning names the count: never silent, and the engine never waited for it.
#[test]
fn a_writer_that_falls_behind_drops_counts_and_marks_what_it_lost() {
    let path = scratch("lost.blog");
    let (tx, rx) = flume::unbounded();
    let n = backlog::runlog::writer::TRACE_BACKLOG as u64 + 10;
    for id in 0..n {
        tx.send(Trace::Submitted {
            id,
            at_ns: id,
            blocked_ns: 0,
        })
        .unwrap();
    }
    let info = RunInfo::of(&EngineConfig::default(), None);
    let writer = RunLogFile::create(&path, &info)
        .unwrap()
        .start(Some(rx), false)
        .unwrap();
    let snapshots = some_snapshots(3);
    for s in &snapshots {
        writer.sender().snapshot(s);
    }
    drop(tx);
    let end = writer.finish(snapshots.last()).unwrap();
    assert_eq!((end.lost_traces, end.traces), (n, 0));
    let warning = backlog::runlog::lost_warning(&end).expect("a warning");
    assert!(
        warning.contains(&format!("lost {n} trace records")),
        "{warning}"
    );
    let log = RunLog::open(&path).unwrap();
    let lost = log.marks().iter().find(|m| m.kind == MarkKind::Lost);
    assert!(
        lost.is_some_and(|m| m.text.contains(&n.to_string())),
        "{:?}",
        log.marks()
    );
    // The snapshots, which the replay's figures come from, are all there.
    assert_eq!(log.snapshots().count(), snapshots.len());
    std::fs::remove_file(path).ok();
}
