//! The sweep's wall-time goal: the 8-point sweep (`--workers 1..8 --rate 9/s --service
//! 500ms --service-dist exp --speed 20 --point-duration 60s`) finishes within 60 s on 2 cores.
//!
//! `cargo bench --bench sweep` (about half a minute): runs the release binary once and prints
//! the wall time beside the target, and each point's share of it.

use std::time::{Duration, Instant};

#[path = "../tests/common/run.rs"]
mod run;

const TARGET: Duration = Duration::from_secs(60);

fn main() {
    let args = run::EIGHT_POINT_SWEEP;
    println!("backlog {}", args.join(" "));
    let started = Instant::now();
    let out = run::run_ok(args);
    let wall = started.elapsed();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for point in report["points"].as_array().expect("points") {
        println!(
            "  workers {:>2}: {:>5.1} s wall (warm-up {:>4.1} s, window {:.0} s model){}",
            point["workers"],
            point["measured"]["wall_s"].as_f64().unwrap_or(f64::NAN),
            point["measured"]["warmup_s"].as_f64().unwrap_or(f64::NAN),
            point["measured"]["duration_s"].as_f64().unwrap_or(f64::NAN),
            if point["overloaded"] == true {
                ", overloaded"
            } else {
                ""
            }
        );
    }
    let met = wall <= TARGET;
    println!(
        "  {:<40} {:>8.1} s   target {:>4} s   {}",
        "8-point sweep, wall time",
        wall.as_secs_f64(),
        TARGET.as_secs(),
        if met { "met" } else { "MISSED" }
    );
}
