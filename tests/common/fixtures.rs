//! Hand-built, deterministic snapshots for UI tests: no clock, no randomness, no engine running.
#![allow(dead_code)]

use std::time::Duration;

use backlog::engine::settings::{ArrivalProcess, Rate, ServiceDist, Settings, WorkMode};
use backlog::engine::snapshot::{
    Counters, LastFailure, LatencySet, LatencySummary, RunState, SeriesPoint, Snapshot,
    SourceState, SourceType, SourceView, TraceProgress, WorkerActivity, WorkerView,
};
use backlog::model::theory::{Prediction, TheoryInput, predict};

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
/// The engine samples every 250 ms of wall time; at speed 1 that is 250 ms of model time.
const INTERVAL_NS: u64 = 250 * MS;
const RECENT_NS: u64 = 10 * S;

/// The article's pipeline with 4 workers instead of 5: one event a second, 5 s of work each.
/// After 185 s the backlog is 37 and grows by 0.2/s.
pub fn overloaded() -> Snapshot {
    let settings = Settings {
        workers: 4,
        ..Settings::default()
    };
    let now_ns = 185 * S;
    let series = series(now_ns, |t_s, k| {
        let depth = (t_s * 0.2).floor() as u64;
        let arrivals = if k % 4 == 0 { 4.0 } else { 0.0 };
        let completions = if k % 5 == 0 { 4.0 } else { 0.0 };
        (depth, arrivals, completions, 4)
    });
    let workers = (0..4)
        .map(|i| {
            busy_worker(
                i + 1,
                145 + u64::from(i),
                now_ns - (1 + u64::from(i)) * 1_200 * MS,
                5 * S,
                now_ns,
                36,
            )
        })
        .collect();
    // Waits grew from 0 to ~37 s: spread them evenly.
    let waits: Vec<u64> = (0..144).map(|i| i * 180 * MS).collect();
    let recent_waits: Vec<u64> = (0..8).map(|i| (28 + i) * S).collect();
    let services = vec![5 * S; 144];
    Snapshot {
        counters: Counters {
            generated: 185,
            completed: 144,
            failed: 0,
            dropped: 0,
            queued: 37,
            in_flight: 4,
            held_at_source: 0,
            rejected: 0,
        },
        max_queue_depth: 37,
        arrival_rate_per_s: 1.0,
        throughput_per_s: 0.78,
        recent_arrival_rate_per_s: 1.0,
        recent_achieved_rate_per_s: Some(1.0),
        recent_throughput_per_s: 0.8,
        mean_queue_len: 18.4,
        workers,
        latency: latency_of(&waits, &services),
        recent_latency: latency_of(&recent_waits, &[5 * S; 8]),
        series,
        // Fixed or mean 5 s demands, as drawn at arrival.
        queued_work_ns: 37 * 5 * S,
        ..base(settings, RunState::Running, now_ns)
    }
}

/// Poisson arrivals at 1/s, exponential 5 s service, 7 workers: rho 71%, a small queue that
/// comes and goes.
pub fn keeping_up() -> Snapshot {
    let settings = Settings {
        arrival: ArrivalProcess::Poisson,
        service_dist: ServiceDist::Exp,
        workers: 7,
        ..Settings::default()
    };
    let now_ns = 300 * S;
    let series = series(now_ns, |_, k| {
        let depth = [0, 0, 1, 0, 2, 1, 0, 0, 0, 3, 1, 0][k % 12];
        let arrivals = [0.0, 4.0, 0.0, 0.0, 8.0, 0.0, 4.0, 0.0][k % 8];
        let completions = [4.0, 0.0, 0.0, 4.0, 0.0, 0.0, 4.0, 0.0, 0.0][k % 9];
        (depth, arrivals, completions, 5)
    });
    let mut workers: Vec<WorkerView> = (0..5)
        .map(|i| {
            busy_worker(
                i + 1,
                290 + u64::from(i),
                now_ns - u64::from(i + 1) * 900 * MS,
                (3 + u64::from(i)) * S,
                now_ns,
                41,
            )
        })
        .collect();
    workers.extend((5..7).map(|i| idle_worker(i + 1, 38)));
    let waits: Vec<u64> = (0..290)
        .map(|i| if i % 3 == 0 { (i % 40) * 120 * MS } else { 0 })
        .collect();
    let services: Vec<u64> = (0..290).map(|i| (1 + i % 23) * 430 * MS).collect();
    let latency = latency_of(&waits, &services);
    Snapshot {
        counters: Counters {
            generated: 296,
            completed: 290,
            failed: 0,
            dropped: 0,
            queued: 1,
            in_flight: 5,
            held_at_source: 0,
            rejected: 0,
        },
        max_queue_depth: 6,
        arrival_rate_per_s: 0.99,
        throughput_per_s: 0.97,
        recent_arrival_rate_per_s: 1.1,
        recent_achieved_rate_per_s: Some(1.1),
        recent_throughput_per_s: 0.9,
        mean_queue_len: 0.62,
        workers,
        recent_latency: latency.clone(),
        latency,
        series,
        // Fixed or mean 5 s demands, as drawn at arrival.
        queued_work_ns: 5 * S,
        ..base(settings, RunState::Running, now_ns)
    }
}

/// A 10-minute run that ended and emptied its queue.
pub fn finished() -> Snapshot {
    let mut s = keeping_up();
    s.state = RunState::Finished;
    s.now_ns = 605 * S;
    s.counters = Counters {
        generated: 600,
        completed: 598,
        failed: 2,
        dropped: 0,
        queued: 0,
        in_flight: 0,
        held_at_source: 0,
        rejected: 0,
    };
    s.queued_work_ns = 0;
    for w in &mut s.workers {
        w.activity = WorkerActivity::Idle;
    }
    s
}

/// 64 workers (the last two retiring: the target is 62) at 50/s with 1 s exponential service.
pub fn many_workers() -> Snapshot {
    let settings = Settings {
        arrival: ArrivalProcess::Poisson,
        rate: Rate::per_s(50.0).unwrap(),
        service: Duration::from_secs(1),
        service_dist: ServiceDist::Exp,
        workers: 62,
        ..Settings::default()
    };
    let now_ns = 120 * S;
    let series = series(now_ns, |_, k| {
        let wobble = (k % 7) as f64;
        ((k % 5) as u64, 48.0 + wobble, 47.0 + (k % 5) as f64, 50)
    });
    let workers = (0..64u32)
        .map(|i| {
            let mut w = if i % 5 == 4 {
                idle_worker(i + 1, 90)
            } else {
                let started = now_ns - u64::from(i % 9 + 1) * 110 * MS;
                busy_worker(i + 1, 5_900 + u64::from(i), started, S, now_ns, 92)
            };
            w.retiring = i >= 62;
            if w.retiring {
                w = busy_worker(
                    i + 1,
                    5_990 + u64::from(i),
                    now_ns - 500 * MS,
                    S,
                    now_ns,
                    80,
                );
                w.retiring = true;
            }
            w
        })
        .collect();
    let waits: Vec<u64> = (0..5_900)
        .map(|i| if i % 4 == 0 { (i % 97) * 3 * MS } else { 0 })
        .collect();
    let services: Vec<u64> = (0..5_900).map(|i| (1 + i % 61) * 33 * MS).collect();
    let latency = latency_of(&waits, &services);
    Snapshot {
        counters: Counters {
            generated: 5_960,
            completed: 5_900,
            failed: 0,
            dropped: 7,
            queued: 3,
            in_flight: 50,
            held_at_source: 0,
            rejected: 0,
        },
        max_queue_depth: 41,
        arrival_rate_per_s: 49.7,
        throughput_per_s: 49.2,
        recent_arrival_rate_per_s: 50.4,
        recent_achieved_rate_per_s: Some(50.4),
        recent_throughput_per_s: 49.9,
        mean_queue_len: 1.9,
        workers,
        recent_latency: latency.clone(),
        latency,
        series,
        // Fixed or mean 5 s demands, as drawn at arrival.
        queued_work_ns: 3 * S,
        ..base(settings, RunState::Running, now_ns)
    }
}

/// An empty snapshot for `settings` at `now_ns`, with theory computed from the settings
/// (deterministic: `predict` is pure).
pub fn base(settings: Settings, state: RunState, now_ns: u64) -> Snapshot {
    let cores = 8;
    let theory = predict(&TheoryInput::from_settings(&settings, cores));
    Snapshot {
        state,
        now_ns,
        settings,
        seed: 1,
        speed: 1.0,
        cores,
        recent_window_ns: RECENT_NS,
        series_interval_ns: INTERVAL_NS,
        theory,
        ..Snapshot::default()
    }
}

/// `overloaded()` with `workers` workers, its theory predicted again for them (the backlog of
/// 37 stays: 5 workers only keep up, 10 drain it).
pub fn overloaded_with_workers(workers: usize) -> Snapshot {
    let mut s = overloaded();
    s.settings.workers = workers;
    s.theory = predict(&TheoryInput::from_settings(&s.settings, s.cores));
    s
}

/// `keeping_up()` as cpu work with 12 workers on its 8 cores.
pub fn cpu_past_cores() -> Snapshot {
    let mut s = keeping_up();
    s.settings.work = WorkMode::Cpu;
    s.settings.workers = 12;
    s
}

/// `overloaded()` with a queue bounded at 40 that drops new arrivals: 6 dropped so far. It
/// keeps up by dropping (no closed form for a D/D/c that sheds: an approximation, the twin
/// pending).
pub fn bounded() -> Snapshot {
    let mut s = overloaded();
    s.settings.queue_cap = Some(40);
    s.settings.overflow = backlog::engine::settings::Overflow::DropNew;
    s.counters.dropped = 6;
    s.counters.generated += 6;
    s.theory = predict(&TheoryInput::from_settings(&s.settings, s.cores));
    s
}

/// A snapshot at the very start: nothing generated, no samples, no latencies.
pub fn empty() -> Snapshot {
    let mut s = base(Settings::default(), RunState::Running, 0);
    s.theory = Prediction::default();
    s
}

/// One sample every 250 ms up to `now_ns`; `point(t_s, k)` gives (depth, arrivals/s, completions/s, busy).
fn series(now_ns: u64, point: impl Fn(f64, usize) -> (u64, f64, f64, u32)) -> Vec<SeriesPoint> {
    (1..=now_ns / INTERVAL_NS)
        .map(|k| {
            let t_ns = k * INTERVAL_NS;
            let (queue_depth, arrivals_per_s, completions_per_s, busy_workers) =
                point(t_ns as f64 / 1e9, k as usize);
            SeriesPoint {
                t_ns,
                queue_depth,
                arrivals_per_s,
                completions_per_s,
                busy_workers,
            }
        })
        .collect()
}

pub fn busy_worker(
    id: u32,
    event: u64,
    started_ns: u64,
    demand_ns: u64,
    now_ns: u64,
    completed: u64,
) -> WorkerView {
    WorkerView {
        id,
        activity: WorkerActivity::Busy {
            event,
            started_ns,
            demand_ns,
        },
        retiring: false,
        busy_ns: now_ns / 10 * 9,
        alive_ns: now_ns,
        completed,
        failed: 0,
        cpu_ns: None,
    }
}

pub fn idle_worker(id: u32, completed: u64) -> WorkerView {
    WorkerView {
        id,
        activity: WorkerActivity::Idle,
        retiring: false,
        busy_ns: 60 * S,
        alive_ns: 100 * S,
        completed,
        failed: 0,
        cpu_ns: None,
    }
}

/// Summarises values like the engine does: percentiles by rank, log-2 buckets from 1 µs
/// (upper bound, count), from the first non-empty bucket to the one holding the maximum.
/// The latency of events that waited `waits_ns` and were served `services_ns` (pairwise).
pub fn latency_of(waits_ns: &[u64], services_ns: &[u64]) -> LatencySet {
    let end_to_end: Vec<u64> = waits_ns
        .iter()
        .zip(services_ns)
        .map(|(w, s)| w + s)
        .collect();
    LatencySet {
        queue_wait: summary(waits_ns),
        service: summary(services_ns),
        end_to_end: summary(&end_to_end),
    }
}

pub fn summary(values_ns: &[u64]) -> LatencySummary {
    if values_ns.is_empty() {
        return LatencySummary::default();
    }
    let mut sorted = values_ns.to_vec();
    sorted.sort_unstable();
    let at =
        |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
    let max = sorted[sorted.len() - 1];
    let mut buckets = Vec::new();
    let mut lower = 0u64;
    let mut upper = 1_000u64;
    loop {
        let count = sorted.iter().filter(|&&v| v >= lower && v < upper).count() as u64;
        buckets.push((upper, count));
        if upper > max {
            break;
        }
        lower = upper;
        upper *= 2;
    }
    let first = buckets.iter().position(|b| b.1 > 0).unwrap_or(0);
    buckets.drain(..first);
    LatencySummary {
        count: sorted.len() as u64,
        mean_ns: sorted.iter().sum::<u64>() as f64 / sorted.len() as f64,
        p50_ns: at(0.5),
        p90_ns: at(0.9),
        p99_ns: at(0.99),
        p999_ns: at(0.999),
        max_ns: max,
        buckets,
    }
}

/// `keeping_up`, its events lines from stdin: 297 read, one of them rejected (too long).
pub fn from_stdin() -> Snapshot {
    let mut s = keeping_up();
    s.counters.rejected = 1;
    s.source = SourceView {
        kind: SourceType::Stdin,
        state: SourceState::Reading,
        lines_read: Some(297),
        rejected: Some(1),
        ..SourceView::default()
    };
    s
}

/// `keeping_up`, its events a trace of 120 rows played 3 times: 296 replayed, in the third pass.
pub fn replaying_trace() -> Snapshot {
    let mut s = keeping_up();
    s.source = SourceView {
        kind: SourceType::Trace,
        state: SourceState::Reading,
        trace: Some(TraceProgress::new(
            "assets/traces/bursty-api.csv".into(),
            120,
            3,
            296,
        )),
        ..SourceView::default()
    };
    s
}

/// `from_stdin`, whose input failed.
pub fn stdin_failed() -> Snapshot {
    let mut s = from_stdin();
    s.source.state = SourceState::Error;
    s.source.error = Some("Is a directory (os error 21)".into());
    s
}

/// `from_stdin` with exec work whose event 291 failed with exit status 3 and three lines of stderr.
pub fn exec_failing() -> Snapshot {
    let mut s = from_stdin();
    s.settings.work = WorkMode::Exec;
    s.counters.failed = 4;
    s.counters.completed -= 4;
    s.last_failure = Some(LastFailure {
        event: 291,
        worker: 2,
        at_ns: 298 * S,
        failure: backlog::engine::work::Failure::ExitStatus(3),
        stderr: vec![
            "convert: reading image.png".into(),
            "convert: improper image header `image.png'".into(),
            "convert: no images defined `out.png'".into(),
        ],
    });
    s
}

/// The bounded queue: `--rate 120/s --service 20ms --service-dist exp --workers 2
/// --queue-cap 10 --overflow drop-new` (M/M/2/12).
pub fn dropping_settings() -> Settings {
    Settings {
        arrival: ArrivalProcess::Poisson,
        rate: Rate::per_s(120.0).unwrap(),
        service: Duration::from_millis(20),
        service_dist: ServiceDist::Exp,
        workers: 2,
        queue_cap: Some(10),
        overflow: backlog::engine::settings::Overflow::DropNew,
        ..Settings::default()
    }
}

/// The bounded queue a minute in: Poisson 120/s against 2 workers of 20 ms (exp), 10
/// places, `drop-new` (M/M/2/12: 18.55% dropped); the queue full, 1,336 of 7,200 dropped.
pub fn dropping() -> Snapshot {
    let settings = dropping_settings();
    let now_ns = 60 * S;
    let series = series(now_ns, |_, k| {
        let depth = [10, 9, 10, 7, 10, 10, 8, 10][k % 8];
        (depth, 120.0, 97.0 + (k % 5) as f64, 2)
    });
    let workers = (0..2)
        .map(|i| {
            busy_worker(
                i + 1,
                7188 + u64::from(i),
                now_ns - 5 * MS,
                20 * MS,
                now_ns,
                2927,
            )
        })
        .collect();
    let waits: Vec<u64> = (0..5852).map(|i| (i % 11) * 9 * MS).collect();
    let services: Vec<u64> = (0..5852).map(|i| (1 + i % 39) * MS).collect();
    let latency = latency_of(&waits, &services);
    Snapshot {
        counters: Counters {
            generated: 7200,
            completed: 5852,
            failed: 0,
            dropped: 1336,
            queued: 10,
            in_flight: 2,
            held_at_source: 0,
            rejected: 0,
        },
        max_queue_depth: 10,
        arrival_rate_per_s: 120.0,
        throughput_per_s: 97.5,
        recent_arrival_rate_per_s: 121.0,
        recent_achieved_rate_per_s: Some(121.0),
        recent_throughput_per_s: 98.0,
        mean_queue_len: 5.4,
        workers,
        recent_latency: latency.clone(),
        latency,
        series,
        queued_work_ns: 200 * MS,
        ..base(settings, RunState::Running, now_ns)
    }
}

/// `overloaded()` with the forecast the engine would make from it (seeded: the same on every
/// run), over the chart's horizon, made at the snapshot's time.
pub fn overloaded_with_forecast() -> Snapshot {
    use backlog::model::forecast::{
        POINTS, REPLICATIONS, TwinState, forecast, horizon_for, live_config,
    };
    let mut s = overloaded();
    s.settings.arrival = ArrivalProcess::Poisson;
    s.settings.service_dist = ServiceDist::Exp;
    s.theory = predict(&TheoryInput::from_settings(&s.settings, s.cores));
    let f = forecast(
        &live_config(&s),
        &TwinState::of(&s),
        horizon_for(&s),
        POINTS,
        REPLICATIONS,
        7,
    );
    s.forecast = Some(f);
    s.forecast_from_ns = s.now_ns;
    s
}
