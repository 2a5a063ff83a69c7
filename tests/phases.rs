//! Phases: every change of settings starts one, and each reports what was measured for the
//! events that arrived in it.

#[path = "common/run.rs"]
mod run;

use run::json_summary;
use serde_json::Value;

/// One run at a time: the runs measure time, and `cpu-bound` needs the cores to itself.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How busy the machine's cores were, and how much CPU this test and the runs it started used,
/// so that what other processes (or the hypervisor) took during a run is the difference.
struct CpuProbe {
    machine_s: f64,
    ours_s: f64,
    at: std::time::Instant,
}

impl CpuProbe {
    /// Now; `None` where `/proc/stat` is not there to read.
    fn start() -> Option<Self> {
        Some(Self {
            machine_s: machine_busy_s()?,
            ours_s: rusage_s(libc::RUSAGE_SELF) + rusage_s(libc::RUSAGE_CHILDREN),
            at: std::time::Instant::now(),
        })
    }

    /// Cores other processes kept busy on average since the start (steal included).
    fn others_cores(&self) -> Option<f64> {
        let machine = machine_busy_s()? - self.machine_s;
        let ours = rusage_s(libc::RUSAGE_SELF) + rusage_s(libc::RUSAGE_CHILDREN) - self.ours_s;
        Some(((machine - ours) / self.at.elapsed().as_secs_f64()).max(0.0))
    }
}

/// Seconds all cores spent busy since boot: `/proc/stat`'s first line less idle and iowait.
fn machine_busy_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|t| t.parse().unwrap_or(0.0))
        .collect();
    let busy: f64 = ticks.iter().sum::<f64>() - ticks.get(3)? - ticks.get(4)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(busy / hz)
}

/// User and system CPU seconds of `who` (this process, or its waited-for children).
fn rusage_s(who: libc::c_int) -> f64 {
    // SAFETY: getrusage fills the struct we own; all-zero is a valid rusage.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `who` is RUSAGE_SELF or RUSAGE_CHILDREN.
    if unsafe { libc::getrusage(who, &mut usage) } != 0 {
        return 0.0;
    }
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(usage.ru_utime) + s(usage.ru_stime)
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// `falling-behind`: 4 workers for 25 s (growth 2/s), 5 until 45 s (none), then 6 (drains).
#[test]
fn falling_behind_has_three_phases_that_tell_its_story() {
    let _serial = serial();
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
    let q = |i: usize, key: &str| phases[i]["predicted"][key].clone();
    // D/D/c: 10 a second arrive and c workers serve c / s a second, where s is the phase's mean
    // service as measured, with the hand-off (the twin's `service_ms`): 500 ms, which stalls stretch
    // by up to 1.1% at 8 times speed (500.2-505.7 ms seen), and that moves a growth of 2/s by
    // up to 0.05/s. So the growth is checked against the service the run had, and the service
    // against its 500 ms.
    let service_s = |i: usize| f(&q(i, "service_ms")) / 1e3;
    for i in 0..3 {
        let s = service_s(i);
        assert!((0.5..=0.51).contains(&s), "phase {} service {s} s", i + 1);
    }
    let growth = |i: usize, c: f64| 10.0 - c / service_s(i);
    // Phase 1 grows by 10 − 4 / 0.5 = 2 a second, measured (the exact slope of the backlog in
    // model time) and predicted (the twin from the phase's start) alike, within 2%.
    let expected = growth(0, 4.0);
    let g1 = f(&m(0, "growth_per_s"));
    let p1 = f(&q(0, "growth_per_s"));
    assert!(
        (g1 - expected).abs() <= 0.02 * expected,
        "phase 1 growth {g1}, not {expected}"
    );
    assert!(
        (p1 - expected).abs() <= 0.02 * expected,
        "phase 1 predicted {p1}, not {expected}"
    );
    // Phase 2 neither grows nor drains (10 − 5 / 0.5 = 0), within 0.1.
    let expected = growth(1, 5.0);
    let g2 = f(&m(1, "growth_per_s"));
    let p2 = f(&q(1, "growth_per_s"));
    assert!(
        (g2 - expected).abs() <= 0.1,
        "phase 2 growth {g2}, not {expected}"
    );
    assert!(
        (p2 - expected).abs() <= 0.1,
        "phase 2 predicted {p2}, not {expected}"
    );
    assert!(m(1, "drained_at_s").is_null());
    // Phase 3 drains its starting backlog at 12 − 10 = 2 a second (one tick either way), and
    // the twin says when within 1 s. The drain takes backlog / (6 / s − 10), which moves 0.3 s
    // per ms of s, and no one phase's mean service is the drain's own (phase 3's is its
    // arrivals', most served after the drain: CI had 502.5 ms and drained as at 500 ms; here
    // 71.6 s against 70.5 s at 500 ms). A sleep never ends early, so the drain comes no sooner
    // than at the nominal 500 ms and no later than at the most stretched phase's service.
    let backlog = f(&m(2, "queue_start"));
    let drained = f(&m(2, "drained_at_s"));
    let stretched_s = (0..3).map(service_s).fold(0.5, f64::max);
    let (soonest, latest) = (
        45.0 + backlog / 2.0,
        45.0 + backlog / (6.0 / stretched_s - 10.0),
    );
    assert!(
        drained >= soonest - 1.0 && drained <= latest + 1.0,
        "drained at {drained}, not within {soonest}-{latest}"
    );
    let predicted = f(&q(2, "drained_at_s"));
    assert!(
        (predicted - drained).abs() <= 1.0,
        "drained at {drained}, predicted {predicted}"
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
    let _serial = serial();
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

/// The bundled scenarios' names, from `--list-scenarios`.
fn bundled_scenarios() -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_backlog"))
        .arg("--list-scenarios")
        .output()
        .expect("the binary runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// Each bundled scenario's phases agree with what the twin predicts from each phase's own
/// start, over its length. The backlog within a phase depends on the phase alone: its end
/// agrees within the predicted 80% band or 15%. Its time-average and the mean wait (the
/// backlog a phase leaves followed under the later phases' worker counts, as the run serves
/// it) lie within the range of 95% of single runs or 15%, but for as many phases as chance
/// puts outside (a binomial allowance), and none far outside. cpu work too: the workers share
/// the cores with the engine's own threads, which the twin gives wholly to them (cpu-bound's
/// waits came out 1.01-1.10 of the prediction). That premise is checked: where other processes kept
/// more than a quarter of a core busy during the run (a busy machine: with a spinning process
/// on one of 2 cores, cpu-bound waited 1.30 times the prediction), its cpu phases are not
/// compared, and the test says so.
#[test]
fn every_bundled_scenarios_phases_agree_with_their_predictions() {
    let _serial = serial();
    let (mut compared, mut misses) = (0, Vec::new());
    for name in bundled_scenarios() {
        let probe = CpuProbe::start();
        let v = json_summary(&["--scenario", &name, "--speed", "8"]);
        let others = probe.and_then(|p| p.others_cores());
        let cores_taken = others.is_some_and(|o| o > 0.25);
        // The engine's own hand-off is in every measured wait and in no predicted one.
        let overhead_ms = f(&v["engine_overhead"]["model_p99_ms"]).max(1.0);
        // The twin cannot simulate a recorded stream: such phases have no prediction.
        if v["source"]["kind"] != "generator" {
            assert!(
                v["phases"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["predicted"].is_null())
            );
            continue;
        }
        let phases = v["phases"].as_array().unwrap();
        for (i, p) in phases.iter().enumerate() {
            // A policy ends a phase because its queue ran high (HPA's busy spell): its end is
            // a stopping time, chosen by what the phase's own queue did, which the twin's fixed
            // horizon does not model (autoscale-compare's first 20/s phase ends when the queue
            // is long: 114 queued on average against 87 over a fixed 15 s). Its start is
            // the twin's too (it starts from the measured state), and a phase that a step or the
            // run's end closes is compared as any other.
            let ended_by_policy = phases.get(i + 1).is_some_and(|n| n["cause"] == "autoscale");
            let (m, q) = (&p["measured"], &p["predicted"]);
            let at = format!("{name} phase {}: {p:#}", p["index"]);
            if cores_taken && p["settings"]["work"] == "cpu" {
                println!(
                    "{name} phase {}: not compared: other processes kept {:.2} of {} cores busy, which the twin gives to the pool",
                    p["index"],
                    others.unwrap_or(0.0),
                    v["cores"]
                );
                continue;
            }
            let rel = 0.15;
            let close = |measured: f64, predicted: f64, slack: f64| {
                (measured - predicted).abs() <= (rel * predicted.abs()).max(slack)
            };
            let end = f(&m["queue_end"]);
            let (p10, p90) = (f(&q["queue_end_p10"]), f(&q["queue_end_p90"]));
            let in_band = end >= p10 * 0.85 - 3.0 && end <= p90 * 1.15 + 3.0;
            assert!(
                in_band || close(end, f(&q["queue_end"]), 3.0) || ended_by_policy,
                "queue end, {at}"
            );
            if ended_by_policy {
                continue;
            }
            let mut missed = Vec::new();
            // Single runs spread: where 95% of the replications' own time-average backlogs
            // fell (a backlog inherited from the phase before is in them, as in the run).
            let mean_len = f(&q["mean_queue_len"]);
            let len_run95 = &q["mean_queue_len_run95"];
            Ranged::of(
                f(&m["mean_queue_len"]),
                mean_len,
                len_run95,
                (rel * mean_len).max(1.0),
            )
            .judge("queue length", &mut missed, &at);
            // A backlog left at the phase's end is served under the later phases' worker
            // counts, in the run and in the twin.
            let mean = f(&q["mean_wait_ms"]);
            let wait_run95 = &q["mean_wait_ms_run95"];
            Ranged::of(
                f(&m["mean_wait_ms"]),
                mean,
                wait_run95,
                (rel * mean).max(overhead_ms),
            )
            .judge("mean wait", &mut missed, &at);
            compared += 1;
            if !missed.is_empty() {
                println!(
                    "{name} phase {}: outside its range: {}",
                    p["index"],
                    missed.join("; ")
                );
                misses.push(format!("{name} phase {}", p["index"]));
            }
        }
    }
    // Each range holds 95% of single runs, so a correct twin leaves about one phase in twenty
    // (one in ten at most: two figures, mostly moving together) outside one of them by chance.
    // More than Binomial(compared, 0.1) allows but once in 10,000 is a twin that is wrong.
    let allowed = binomial_allowance(compared, 0.1, 1e-4);
    println!(
        "{} of {compared} phases outside a single run's range (allowed {allowed}): {misses:?}",
        misses.len()
    );
    assert!(misses.len() <= allowed, "{misses:?}");
}

/// A measured figure beside the range 95% of the twin's single runs fell in, and a slack
/// around the predicted mean (the engine's hand-off, which the ideal model has not, or 15%).
struct Ranged {
    measured: f64,
    mean: f64,
    lo: f64,
    hi: f64,
    slack: f64,
}

impl Ranged {
    fn of(measured: f64, mean: f64, run95: &Value, slack: f64) -> Self {
        let (lo, hi) = match run95.as_array() {
            Some(range) => (f(&range[0]), f(&range[1])),
            None => (mean, mean),
        };
        Self {
            measured,
            mean,
            lo,
            hi,
            slack,
        }
    }

    /// Within the range or the slack agrees; outside both is a miss, which chance makes one
    /// time in twenty; twice as far from the mean as the range reaches (and past the slack),
    /// no chance a test should wait for: fails at once.
    fn judge(&self, what: &str, missed: &mut Vec<String>, at: &str) {
        let Self {
            measured,
            mean,
            lo,
            hi,
            slack,
        } = *self;
        let within = |reach: f64| {
            measured >= (mean - reach * (mean - lo)).min(mean - slack)
                && measured <= (mean + reach * (hi - mean)).max(mean + slack)
        };
        assert!(
            within(2.0),
            "{what} {measured} vs {mean} [{lo}, {hi}], far outside, {at}"
        );
        if !within(1.0) {
            missed.push(format!(
                "{what} {measured:.3} vs {mean:.3} [{lo:.3}, {hi:.3}]"
            ));
        }
    }
}

/// The most misses `n` trials of chance `p` exceed with probability at most `alpha`.
fn binomial_allowance(n: usize, p: f64, alpha: f64) -> usize {
    let mut pmf = (1.0 - p).powi(n as i32);
    let mut tail = 1.0 - pmf;
    let mut k = 0;
    while tail > alpha && k < n {
        pmf *= (n - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
        tail -= pmf;
        k += 1;
    }
    k
}

#[test]
fn the_allowance_is_the_binomial_tail() {
    // Binomial(10, 0.5): P(X > 8) = 11/1024 > 0.01 >= P(X > 9) = 1/1024.
    assert_eq!(binomial_allowance(10, 0.5, 0.01), 9);
    assert_eq!(binomial_allowance(10, 0.5, 0.02), 8);
    assert_eq!(binomial_allowance(0, 0.1, 1e-4), 0);
    // Binomial(60, 0.1): mean 6; P(X > 15) = 2.1e-4, P(X > 16) = 5.6e-5.
    assert_eq!(binomial_allowance(60, 0.1, 1e-4), 16);
}
