//! Phases: every change of settings starts one, and each reports what was measured for the
//! events that arrived in it.

#[path = "common/run.rs"]
mod run;

use run::json_summary;
use serde_json::Value;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// `falling-behind`: 4 workers for 25 s (growth 2/s), 5 until 45 s (none), then 6 (drains).
#[test]
fn falling_behind_has_three_phases_that_tell_its_story() {
    let v = json_summary(&["--scenario", "falling-behind", "--speed", "8"]);
    let phases = v["phases"].as_array().expect("a phases array");
    assert_eq!(phases.len(), 3, "{phases:#?}");
    let workers: Vec<_> = phases
        .iter()
        .map(|p| p["settings"]["workers"].as_u64())
        .collect();
    assert_eq!(workers, [Some(4), Some(5), Some(6)]);
    let causes: Vec<_> = phases.iter().map(|p| p["cause"].as_str()).collect();
    assert_eq!(causes, [Some("start"), Some("step"), Some("step")]);
    for (p, (start, end)) in phases.iter().zip([(0.0, 25.0), (25.0, 45.0), (45.0, 80.0)]) {
        assert!((f(&p["start_s"]) - start).abs() < 0.3, "{p:#?}");
        assert!((f(&p["end_s"]) - end).abs() < 0.8, "{p:#?}");
        // 10 events a second arrive in each phase, and each counts once, where it arrived.
        let arrivals = f(&p["measured"]["arrivals"]);
        assert!((arrivals - 10.0 * (end - start)).abs() <= 3.0, "{p:#?}");
    }
    let total: u64 = phases
        .iter()
        .map(|p| p["measured"]["arrivals"].as_u64().unwrap())
        .sum();
    assert_eq!(total, v["generated"].as_u64().unwrap());
    let done: u64 = phases
        .iter()
        .map(|p| p["measured"]["completed"].as_u64().unwrap())
        .sum();
    assert_eq!(done, v["completed"].as_u64().unwrap());

    let m = |i: usize, key: &str| phases[i]["measured"][key].clone();
    // Phase 1 grows by 10 − 4 × 2 = 2 a second; phase 2 neither grows nor drains.
    let g1 = f(&m(0, "growth_per_s"));
    assert!((g1 - 2.0).abs() <= 0.04, "phase 1 growth {g1}");
    let g2 = f(&m(1, "growth_per_s"));
    assert!(g2.abs() <= 0.1, "phase 2 growth {g2}");
    assert!(m(1, "drained_at_s").is_null());
    // Phase 3 drains its starting backlog at 12 − 10 = 2 a second (one tick either way).
    let backlog = f(&m(2, "queue_start"));
    let drained = f(&m(2, "drained_at_s"));
    let expected = 45.0 + backlog / 2.0;
    assert!(
        (drained - expected).abs() <= 1.0,
        "drained at {drained}, not {expected}"
    );
    // A phase's events wait as the backlog they found: about backlog / 10 per second.
    let w2 = f(&m(1, "mean_wait_ms")) / 1e3;
    assert!(
        (w2 - f(&m(1, "queue_start")) / 10.0).abs() < 0.5,
        "phase 2 wait {w2}"
    );
}

/// `bounded-queue`: block, then drop-new, then drop-old, then enough workers. Every event is
/// counted once, in the phase it arrived in, however late it was served or dropped (events
/// held at the source under `block` and dropped by the switch to `drop-new` count in phase 1).
#[test]
fn every_phase_accounts_for_each_of_its_events() {
    let v = json_summary(&["--scenario", "bounded-queue", "--speed", "10"]);
    let phases = v["phases"].as_array().expect("a phases array");
    let policies: Vec<_> = phases
        .iter()
        .map(|p| p["settings"]["overflow"].as_str())
        .collect();
    assert_eq!(
        policies,
        [
            Some("block"),
            Some("drop-new"),
            Some("drop-old"),
            Some("drop-old")
        ]
    );
    let count = |p: &Value, key: &str| p["measured"][key].as_u64().unwrap();
    for p in phases {
        let ended = count(p, "completed") + count(p, "failed") + count(p, "dropped");
        assert_eq!(count(p, "arrivals"), ended, "{p:#?}");
    }
    let sum = |key: &str| phases.iter().map(|p| count(p, key)).sum::<u64>();
    assert_eq!(sum("dropped"), v["dropped"].as_u64().unwrap());
    assert_eq!(sum("arrivals"), v["generated"].as_u64().unwrap());
    // Under drop-new and drop-old a full queue sheds arrivals; with 7 workers (14/s against
    // 12/s) hardly any are lost.
    let share = |p: &Value| count(p, "dropped") as f64 / count(p, "arrivals") as f64;
    assert!(
        share(&phases[1]) > 0.15 && share(&phases[2]) > 0.15,
        "{phases:#?}"
    );
    assert!(share(&phases[3]) < share(&phases[2]) / 2.0, "{phases:#?}");
}
