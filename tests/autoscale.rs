//! Autoscaling policies driving the real pool: each policy's logged decisions equal its
//! algorithm recomputed here from the logged inputs; the JSON's `autoscale` object; bad
//! parameters refused; conservation while a policy resizes every second; warm-up; the keys.

use std::collections::VecDeque;
use std::process::{Command as Process, Stdio};
use std::time::Duration;

use backlog::app::App;
use backlog::autoscaler::{AutoscaleControl, Driver};
use backlog::engine::event::Trace;
use backlog::engine::settings::{ArrivalProcess, Rate, ServiceDist, Settings};
use backlog::engine::{Command, Engine, EngineConfig, RunState};
use backlog::model::autoscale::{AutoscaleSpec, AutoscaleView, Decision};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

#[path = "common/fixtures.rs"]
mod fixtures;
#[path = "common/pty.rs"]
mod pty;
#[path = "common/run.rs"]
mod run;

const NS: f64 = 1e9;

/// A load step: fixed arrivals at 20/s for 40 s, then 4/s; fixed 500 ms service; 2 workers.
const STEP_SCENARIO: &str = r#"
description = "a load step for the autoscaling tests"
[start]
arrival = "fixed"
rate = "20/s"
service = "500ms"
service_dist = "fixed"
workers = 2
[[step]]
at = "40s"
rate = "4/s"
[end]
at = "120s"
"#;

/// The same step off the D/D/c boundaries: c workers of 500 ms keep up only with λ < 2c, and a
/// quiet machine's looks read the scenario's rate to a few thousandths, so at 20/s and 4/s
/// (2c for c = 10 and 2) a logged λ of 20.000 or 4.000 allows either count (37 of 60 looks in
/// one run). At 19/s and 3/s a look is two events of its 2 s away from a boundary.
fn off_boundary_step() -> String {
    STEP_SCENARIO
        .replace("rate = \"20/s\"", "rate = \"19/s\"")
        .replace("rate = \"4/s\"", "rate = \"3/s\"")
}

fn scenario_file(name: &str, scenario: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "backlog-autoscale-{name}-{}.toml",
        std::process::id()
    ));
    std::fs::write(&path, scenario).unwrap();
    path
}

/// The headless log of the step scenario under `policy`, at --speed 20.
fn log_of(name: &str, policy: &str) -> String {
    log_of_step(name, STEP_SCENARIO, policy)
}

/// The headless log of `scenario` under `policy`, at --speed 20.
fn log_of_step(name: &str, scenario: &str, policy: &str) -> String {
    let path = scenario_file(name, scenario);
    let out = Process::new(env!("CARGO_BIN_EXE_backlog"))
        .args([
            "--scenario",
            path.to_str().unwrap(),
            "--headless",
            "--speed",
            "20",
        ])
        .args(["--autoscale", policy])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One logged evaluation: model time (s), the numbers it read, the workers it found and the
/// workers it asked for.
#[derive(Debug, Clone)]
struct Logged {
    t_s: f64,
    numbers: Vec<f64>,
    current: usize,
    desired: usize,
    held: Option<String>,
    /// target-wait's own count before its stabilization ("fewest meeting it N").
    recommended: Option<usize>,
}

/// The numbers in `text`, in order ("queue 57 = 14.25/worker vs 5" → 57, 14.25, 5).
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse().ok())
        .collect()
}

/// `12.000s autoscale NAME: INPUTS, C workers; FORMULA → D workers[ (held by WHAT: ...)]`
fn decisions(log: &str, name: &str) -> Vec<Logged> {
    let marker = format!("s autoscale {name}: ");
    log.lines()
        .filter_map(|line| {
            let (t, rest) = line.split_once(&marker)?;
            let (inputs, rest) = rest.split_once(" workers; ")?;
            let (inputs, current) = inputs.rsplit_once(", ")?;
            let (_, output) = rest.rsplit_once(" → ")?;
            let desired = output.split(' ').next()?.parse().ok()?;
            let held = output
                .split_once("(held by ")
                .map(|(_, h)| h.split(':').next().unwrap_or("").to_string());
            let recommended = rest
                .split_once("fewest meeting it ")
                .and_then(|(_, r)| r.split(' ').next()?.parse().ok());
            Some(Logged {
                t_s: t.parse().ok()?,
                numbers: numbers(inputs),
                current: current.parse().ok()?,
                desired,
                held,
                recommended,
            })
        })
        .collect()
}

/// How many of the decisions `what` held back.
fn held_by(logged: &[Logged], what: &str) -> usize {
    logged
        .iter()
        .filter(|d| d.held.as_deref() == Some(what))
        .count()
}

/// Kubernetes' HPA on an AverageValue metric, written out again from its documentation:
/// ratio = (queue / current) / target; within the tolerance no change, else
/// ceil(current × ratio); the highest recommendation of the scale-down window; at most
/// max(+4, ×2) more per 15 s, down by up to 100%; at least 1.
struct ReferenceHpa {
    target: f64,
    tolerance: f64,
    window_s: f64,
    recommendations: VecDeque<(f64, usize)>,
    scale_ups: Vec<(f64, usize)>,
}

impl ReferenceHpa {
    /// The HPA's defaults (a tolerance of 0.1) with `target` and a scale-down `window_s`.
    fn new(target: f64, window_s: f64) -> Self {
        Self {
            target,
            tolerance: 0.1,
            window_s,
            recommendations: VecDeque::new(),
            scale_ups: Vec::new(),
        }
    }

    fn desired(&mut self, t: f64, queue: f64, current: usize) -> usize {
        let ratio = (queue / current as f64) / self.target;
        let recommendation = if (ratio - 1.0).abs() <= self.tolerance {
            current
        } else {
            (current as f64 * ratio).ceil() as usize
        };
        let highest = self
            .recommendations
            .iter()
            .filter(|(at, _)| t - at < self.window_s - 1e-9)
            .map(|(_, r)| *r)
            .fold(recommendation, usize::max);
        self.recommendations.push_back((t, recommendation));
        let mut desired = current.max(recommendation).min(highest);
        if desired > current {
            let added: usize = self
                .scale_ups
                .iter()
                .filter(|(at, _)| t - at < 15.0 - 1e-9)
                .map(|(_, n)| n)
                .sum();
            let start = current - added;
            desired = desired.min((start + 4).max(start * 2));
            self.scale_ups.push((t, desired - current));
        }
        desired.max(1)
    }
}

#[test]
fn hpa_decisions_equal_the_algorithm_recomputed_from_the_log() {
    let log = log_of("hpa", "hpa:metric=queue,target=5,sync=5s,window=30s");
    let logged = decisions(&log, "hpa");
    assert!(logged.len() >= 15, "too few decisions:\n{log}");
    let mut reference = ReferenceHpa::new(5.0, 30.0);
    for (i, d) in logged.iter().enumerate() {
        let queue = d.numbers[0];
        assert_eq!(
            reference.desired(d.t_s, queue, d.current),
            d.desired,
            "decision {i}: {d:?}"
        );
        // The pool took the command before the next evaluation.
        if let Some(next) = logged.get(i + 1) {
            assert_eq!(next.current, d.desired, "{d:?} then {next:?}");
        }
    }
    let held = |what: &str| held_by(&logged, what);
    assert!(
        held("rate limit") >= 1,
        "no rate limit held anything:\n{log}"
    );
    assert!(
        held("stabilization") >= 1,
        "no stabilization held anything:\n{log}"
    );
    assert!(
        log.contains("# autoscale hpa (metric=queue, target=5"),
        "{log}"
    );
}

#[test]
fn keda_decisions_equal_the_hpa_algorithm_on_the_queue_recomputed_from_the_log() {
    let log = log_of("keda", "keda:target=5,interval=5s");
    let logged = decisions(&log, "keda");
    assert!(logged.len() >= 20, "too few decisions:\n{log}");
    // KEDA's defaults under the HPA's: the 300 s scale-down window holds all the run long.
    let mut reference = ReferenceHpa::new(5.0, 300.0);
    for (i, d) in logged.iter().enumerate() {
        let expected = reference.desired(d.t_s, d.numbers[0], d.current);
        assert_eq!(expected, d.desired, "decision {i}: {d:?}");
    }
    let held = |what: &str| held_by(&logged, what);
    assert!(
        held("rate limit") >= 1 && held("stabilization") >= 1,
        "{log}"
    );
}

#[test]
fn celery_decisions_equal_its_rule_recomputed_from_the_log() {
    let log = log_of("celery", "celery:1,30,keepalive=10s");
    let logged = decisions(&log, "celery");
    assert!(logged.len() >= 60, "too few decisions:\n{log}");
    let mut last_up: Option<f64> = None;
    let mut shrank = 0;
    for (i, d) in logged.iter().enumerate() {
        // "queued Q + busy B = qty, min 1, max 30"
        let qty = d.numbers[2] as usize;
        let (min, max) = (1, 30);
        let expected = if qty.min(max) > d.current {
            last_up = Some(d.t_s);
            qty.min(max)
        } else if qty.max(min) < d.current && last_up.is_some_and(|t| d.t_s - t > 10.0) {
            shrank += 1;
            d.current - 1
        } else {
            d.current
        };
        assert_eq!(expected, d.desired, "decision {i}: {d:?}");
    }
    assert!(shrank >= 3, "it never shrank:\n{log}");
    assert!(
        held_by(&logged, "keepalive") > 0,
        "the keepalive never held:\n{log}"
    );
}

/// target-wait on the step's D/D/c (fixed arrivals, fixed 500 ms): nothing waits while the pool
/// is stable, so its fewest count is the fewest stable one (c / 0.5 s > λ) that also drains the
/// backlog within 30 s ((c / 0.5 s − λ) · 30 s ≥ backlog), recomputed here from each logged λ
/// and backlog; the stabilization window (10 s) holds a scale-down to the highest
/// recommendation in it. The measured λ itself is the scenario's: 19/s, then 3/s.
#[test]
fn target_wait_decisions_equal_the_fewest_stable_draining_count_recomputed_from_the_log() {
    let log = log_of_step(
        "target-wait",
        &off_boundary_step(),
        "target-wait:target=1s,interval=2s,window=10s",
    );
    let logged = decisions(&log, "target-wait");
    assert!(logged.len() >= 50, "too few decisions:\n{log}");
    let fewest = |rate: f64, backlog: f64| {
        (1..=256usize)
            .find(|&c| {
                let spare = c as f64 / 0.5 - rate;
                spare > 0.0 && (backlog == 0.0 || spare * 30.0 >= backlog)
            })
            .expect("some count keeps up")
    };
    let mut window: VecDeque<(f64, usize)> = VecDeque::new();
    let mut ambiguous = 0;
    // Per phase (20/s, then 4/s): (events the looks measured, events the scenario sends).
    let mut arrivals = [(0.0f64, 0.0f64); 2];
    for (i, d) in logged.iter().enumerate() {
        let (rate, service_ms, backlog) = (d.numbers[0], d.numbers[1], d.numbers[2]);
        assert_eq!(service_ms, 500.0, "{d:?}");
        // Within four events of the 2 s between looks, or 25%: at 20 times speed a look is
        // 100 ms of wall time, and a host stall holds the source's due arrivals past one look
        // into the next (at 4/s one event is 12.5% of a look's count; CI saw 4.691/s and 5.128/s,
        // ten events in 1.95 s, and 16.025/s at 20/s, eight events held). The looks' counts
        // add up, so each phase's sum is held tighter below; a look that read 0/s (the first
        // look's bug) still fails here.
        let expected_rate: f64 = if d.t_s <= 40.0 { 19.0 } else { 3.0 };
        let slack: f64 = (0.25 * expected_rate).max(4.0 / 2.0);
        assert!(
            (rate - expected_rate).abs() <= slack,
            "decision {i} measured λ {rate}/s, the scenario's is {expected_rate}/s: {d:?}"
        );
        if let Some(prev) = i.checked_sub(1).map(|p| &logged[p]) {
            let phase = usize::from(d.t_s > 40.0);
            if usize::from(prev.t_s > 40.0) == phase {
                let dt = d.t_s - prev.t_s;
                arrivals[phase].0 += rate * dt;
                arrivals[phase].1 += expected_rate * dt;
            }
        }
        // λ is logged to 3 decimals: at a boundary (4.000/s against 2 workers of 500 ms) either
        // side's answer is the one the policy may have seen.
        let (low, high) = (fewest(rate - 5e-4, backlog), fewest(rate + 5e-4, backlog));
        let recommended = d.recommended.expect("target-wait logs its recommendation");
        assert!(
            (low..=high).contains(&recommended),
            "decision {i}: recommended {recommended}, recomputed {low}..={high}: {d:?}"
        );
        ambiguous += usize::from(low != high);
        window.retain(|(at, _)| d.t_s - at < 10.0 - 1e-9);
        window.push_back((d.t_s, recommended));
        let highest = window.iter().map(|(_, r)| *r).max().unwrap_or(recommended);
        let desired = if recommended >= d.current {
            recommended
        } else {
            highest.min(d.current)
        };
        assert_eq!(d.desired, desired, "decision {i}: {d:?}");
        if let Some(next) = logged.get(i + 1) {
            assert_eq!(next.current, d.desired, "{d:?} then {next:?}");
        }
    }
    // Summed over a phase, the looks' counts are the scenario's: a stall only moves arrivals
    // from one look to the next (within three events and 2%; t is logged to 0.1 s).
    for (measured, sent) in arrivals {
        assert!(sent > 50.0, "{arrivals:?}");
        assert!(
            (measured - sent).abs() <= 3.0 + 0.02 * sent,
            "the looks measured {measured:.1} arrivals, the scenario sent {sent:.1}: {arrivals:?}"
        );
    }
    assert!(
        ambiguous * 4 < logged.len(),
        "{ambiguous} of {} at a boundary",
        logged.len()
    );
    assert!(held_by(&logged, "stabilization") >= 1, "{log}");
    // It scaled up for the 19/s (10 workers keep up) and back down after the step.
    let most = logged.iter().map(|d| d.desired).max().unwrap();
    assert!(most >= 10, "{log}");
    assert!(logged.last().unwrap().desired <= 3, "{log}");
}

#[test]
fn the_json_summary_tallies_the_policy() {
    let path = scenario_file("json", STEP_SCENARIO);
    let summary = run::json_summary(&[
        "--scenario",
        path.to_str().unwrap(),
        "--speed",
        "20",
        "--autoscale",
        "keda:target=5,interval=5s",
    ]);
    let _ = std::fs::remove_file(&path);
    let a = &summary["autoscale"];
    assert_eq!(a["policy"], "keda");
    assert_eq!(a["params"]["target"], "5");
    assert_eq!(a["params"]["interval"], "5s");
    let decisions = a["decisions"].as_u64().unwrap();
    assert!((20..=40).contains(&decisions), "{a}");
    assert!(a["changes"].as_u64().unwrap() >= 2, "{a}");
    let max_used = a["max_workers_used"].as_u64().unwrap() as f64;
    assert!(max_used > 2.0, "{a}");
    // Between the fewest workers (1) and the most used, all the run long.
    let duration = summary["duration_s"].as_f64().unwrap();
    let worker_s = a["worker_seconds"].as_f64().unwrap();
    assert!(
        worker_s >= duration * 0.9 && worker_s <= max_used * duration,
        "{a}"
    );
    // Every resize started a phase caused by the policy.
    let phases = summary["phases"].as_array().unwrap();
    assert!(
        phases.iter().any(|p| p["cause"] == "autoscale"),
        "{phases:?}"
    );
}

#[test]
fn bad_parameters_are_refused_with_one_line_and_exit_2() {
    for (policy, says) in [
        ("hpa:target=0", "target=0 is not accepted"),
        ("hpa:wobble=3", "unknown key 'wobble'"),
        ("celery:5,2", "min 5 is above max 2"),
        ("autoscaler", "not an autoscaling policy"),
    ] {
        let out = Process::new(env!("CARGO_BIN_EXE_backlog"))
            .args(["--headless", "--events", "1", "--autoscale", policy])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{policy}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{policy}: {stderr}");
        assert!(stderr.contains(says), "{policy}: {stderr}");
        assert!(!stderr.contains("panicked"), "{policy}: {stderr}");
        assert!(out.stdout.is_empty(), "{policy}: ran anyway");
    }
}

/// A policy that looks every second, with nothing to slow it down.
fn every_second() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..20, 0u32..3).prop_map(|(target, tol)| format!(
            "hpa:metric=queue,target={target},sync=1s,window=0s,tolerance=0.{tol}"
        )),
        (30u32..95).prop_map(|t| format!("hpa:target=0.{t},sync=1s,window=2s,up_period=1s")),
        (1u32..10).prop_map(|t| format!("keda:target={t},interval=1s,window=0s")),
        (1usize..4, 4usize..16).prop_map(|(min, max)| format!("celery:{min},{max},keepalive=1s")),
        (1u64..500).prop_map(|ms| format!("target-wait:target={ms}ms,interval=1s,window=0s")),
    ]
}

/// Runs `policy` beside the engine for 20 s of model time at --speed 25 (Poisson arrivals
/// swinging around the pool's capacity), checking every snapshot for conservation.
fn resize_under_load(policy: &str, seed: u64) -> Result<usize, TestCaseError> {
    let spec: AutoscaleSpec = policy.parse().map_err(TestCaseError::fail)?;
    let settings = Settings {
        arrival: ArrivalProcess::Poisson,
        rate: Rate::per_s(30.0).unwrap(),
        service: Duration::from_millis(200),
        service_dist: ServiceDist::Exp,
        workers: 2,
        max_workers: 32,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        settings,
        seed,
        speed: 25.0,
        duration: Some(Duration::from_secs(20)),
        ..EngineConfig::default()
    })
    .unwrap();
    let mut driver = Driver::new(&spec, AutoscaleControl::default());
    let mut changes = 0;
    loop {
        let s = handle.snapshot();
        prop_assert!(s.counters.conserved(), "{:?}", s.counters);
        if driver.step(&s, &handle).is_some()
            && driver.view().last.as_ref().is_some_and(|d| d.changes())
        {
            changes += 1;
        }
        if s.now_ns > 8_000_000_000 && s.now_ns < 9_000_000_000 {
            handle.send(Command::SetRate(Rate::per_s(60.0).unwrap()));
        }
        if s.state.is_over() {
            let c = s.counters;
            prop_assert_eq!(s.state, RunState::Finished);
            prop_assert_eq!(c.queued + c.in_flight + c.held_at_source, 0);
            prop_assert_eq!(c.generated, c.completed + c.failed + c.dropped);
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(changes)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 8,
        rng_seed: RngSeed::Fixed(18),
        ..ProptestConfig::default()
    })]

    /// Whatever the policy and its parameters, while it resizes the pool every second under a
    /// load that changes: every snapshot conserves events, and the run ends with every event
    /// completed.
    #[test]
    fn conservation_holds_while_a_policy_resizes_every_second(
        policy in every_second(),
        seed in 1u64..1_000,
    ) {
        resize_under_load(&policy, seed)?;
    }
}

#[test]
fn a_new_worker_takes_no_events_during_its_warmup() {
    let settings = Settings {
        arrival: ArrivalProcess::Fixed,
        rate: Rate::per_s(20.0).unwrap(),
        service: Duration::from_millis(500),
        service_dist: ServiceDist::Fixed,
        workers: 1,
        ..Settings::default()
    };
    let handle = Engine::start(EngineConfig {
        settings,
        speed: 10.0,
        trace: true,
        max_events: Some(100),
        ..EngineConfig::default()
    })
    .unwrap();
    let trace = handle.trace().unwrap();
    // Set at once: the engine's first worker, whose thread may start later, is not new.
    handle.set_warmup(Duration::from_secs(3));
    let asked_ns = handle.now_ns();
    handle.send(Command::SetWorkers(3));
    let last = handle.wait(Duration::from_secs(60));
    assert_eq!(last.state, RunState::Finished);
    let records: Vec<Trace> = trace.try_iter().collect();
    let first_of_worker_1 = records
        .iter()
        .find_map(|t| match *t {
            Trace::Started {
                worker: 1, at_ns, ..
            } => Some(at_ns),
            _ => None,
        })
        .unwrap();
    assert!(
        first_of_worker_1 < 1_000_000_000,
        "the first worker warmed up: first event at {first_of_worker_1} ns"
    );
    for worker in [2u32, 3] {
        let first = records
            .iter()
            .filter_map(|t| match *t {
                Trace::Started {
                    worker: w, at_ns, ..
                } if w == worker => Some(at_ns),
                _ => None,
            })
            .min()
            .expect("the new worker took events after its warm-up");
        let after_s = (first - asked_ns) as f64 / NS;
        assert!(
            after_s >= 3.0,
            "worker {worker} started an event {after_s:.3}s after it was added"
        );
        assert!(after_s < 4.0, "worker {worker} waited {after_s:.3}s");
    }
}

#[test]
fn a_pauses_and_resumes_the_policy_and_plus_pauses_it_and_says_so() {
    let mut session = pty::Session::start(
        &[
            "--rate",
            "9/s",
            "--service",
            "500ms",
            "--workers",
            "4",
            "--autoscale",
            "celery:1,8",
        ],
        30,
        100,
    );
    session.wait_for("the policy in the header", pty::STARTUP, |s| {
        s.contains("autoscale celery")
    });
    session.press("A");
    session.wait_for("paused in the header and the footer", pty::STEP, |s| {
        s.contains("celery (paused)") && s.contains("autoscale paused (A resumes)")
    });
    session.press("A");
    session.wait_for("resumed", pty::STEP, |s| {
        s.contains("autoscale resumed") && !s.contains("celery (paused)")
    });
    session.press("+");
    session.wait_for("+ pauses the policy and says so", pty::STEP, |s| {
        s.contains("celery (paused)") && s.contains("autoscale paused (A resumes)")
    });
    session.press("q");
    let (exit, _) = session.wait_exit(pty::STEP * 2);
    assert_eq!(exit.code, 0, "screen:\n{}", session.screen());
    session.assert_restored("after q");
}

/// The whole screen of an overloaded run with `view` as the policy's state, as text.
fn monitor_screen(view: AutoscaleView, width: u16, height: u16) -> String {
    use ratatui::{Terminal, backend::TestBackend};
    let snapshot = std::sync::Arc::new(fixtures::overloaded());
    let app = App::new(snapshot, 20).with_autoscale(AutoscaleControl::default(), view);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| backlog::ui::draw(frame, &app))
        .unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| {
            (0..width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                + "\n"
        })
        .collect()
}

#[test]
fn the_monitor_shows_the_policy_desired_vs_actual_its_chart_and_its_decision() {
    let mut view = AutoscaleView {
        policy: "hpa".into(),
        ..AutoscaleView::default()
    };
    for t in 0..20u64 {
        view.record(t * 15_000_000_000, 4 + t as usize / 4, 4 + t as usize / 5);
    }
    view.last = Some(Decision {
        at_ns: 300_000_000_000,
        current: 4,
        recommended: 6,
        desired: 6,
        inputs: "queue 57 = 14.25/worker vs 10".into(),
        formula: "ceil(4 × 1.4250) = 6".into(),
        held: None,
    });
    let screen = monitor_screen(view.clone(), 140, 44);
    let actual = fixtures::overloaded().workers.len();
    for part in [
        "autoscale hpa".to_string(),
        format!("desired 6 · actual {actual}"),
        "┌ desired actual min ─".to_string(),
        "hpa: queue 57 = 14.25/worker vs 10 → 6 workers".to_string(),
    ] {
        assert!(screen.contains(&part), "no {part:?} on:\n{screen}");
    }
    view.paused = true;
    let screen = monitor_screen(view, 100, 30);
    assert!(screen.contains("hpa (paused)"), "{screen}");
    // The smallest screen still draws (the chart gives way).
    let small = monitor_screen(AutoscaleView::default(), 80, 24);
    assert!(small.contains("Queue"), "{small}");
}
