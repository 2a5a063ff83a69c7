//! Micro-benchmarks of the per-event and per-frame hot paths: `cargo bench --bench hot_paths`.

use std::sync::Arc;

use backlog::app::App;
use backlog::engine::event::{Event, EventMeta, Report};
use backlog::engine::settings::Settings;
use backlog::engine::snapshot::RunState;
use backlog::engine::stats::{SnapshotContext, SourceCounts, Stats};
use backlog::engine::work::Outcome;
use backlog::model::theory::TwinAnswer;
use divan::{Bencher, black_box};
use hdrhistogram::Histogram;
use ratatui::{buffer::Buffer, layout::Rect};

#[path = "../tests/common/fixtures.rs"]
mod fixtures;

fn main() {
    divan::main();
}

/// A finished event with spread-out latencies (log-uniform, 1 ns to ~1 s), like a real run's.
fn done(id: u64, worker: u32) -> Report {
    let h = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let wait = 1u64 << ((h >> 59) % 30);
    let service = 1u64 << ((h >> 32) % 30);
    let arrival_ns = id * 1_000;
    let event = EventMeta {
        id,
        arrival_ns,
        demand_ns: service,
    };
    let start_ns = arrival_ns + wait;
    Report::Done {
        worker,
        event,
        start_ns,
        finish_ns: start_ns + service,
        outcome: Outcome::Succeeded { result: Some(id) },
    }
}

/// One latency recorded into an HDR histogram (the aggregator does three per event).
#[divan::bench]
fn histogram_record(bencher: Bencher) {
    let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 2).unwrap();
    let mut v = 1u64;
    bencher.bench_local(|| {
        v = v
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        h.saturating_record(black_box(v >> 40));
    });
}

/// The aggregator's work per event: one coalesced Started+Finished report applied to all stats.
#[divan::bench]
fn stats_apply_per_event(bencher: Bencher) {
    let mut stats = Stats::new(256, 10_000_000_000, None);
    let mut id = 0;
    bencher.bench_local(|| {
        id += 1;
        stats.apply(black_box(done(id, (id % 2) as u32 + 1)));
    });
}

/// Channel + report + stats per event, on one thread: send an event through flume, build the
/// report, send it in a batch of 256 over the report channel, apply it.
#[divan::bench]
fn channel_report_stats_per_event(bencher: Bencher) {
    let (tx, rx) = flume::bounded::<Event>(1024);
    let (rtx, rrx) = flume::unbounded::<Vec<Report>>();
    let mut stats = Stats::new(256, 10_000_000_000, None);
    let mut batch = Vec::with_capacity(256);
    let mut id = 0;
    bencher.bench_local(|| {
        id += 1;
        tx.send(Event::new(id, id).with_demand(0)).unwrap();
        let event = rx.recv().unwrap().meta();
        batch.push(Report::Done {
            worker: 1,
            event,
            start_ns: id + 5,
            finish_ns: id + 9,
            outcome: Outcome::Succeeded { result: Some(id) },
        });
        if batch.len() == 256 {
            rtx.send(std::mem::replace(&mut batch, Vec::with_capacity(256)))
                .unwrap();
            for r in rrx.recv().unwrap() {
                stats.apply(r);
            }
        }
    });
}

/// Building a snapshot with fresh latency summaries (published 20 times a second; the
/// summaries are refreshed 5 times a second) after a million events over 64 workers.
#[divan::bench]
fn snapshot_64_workers(bencher: Bencher) {
    let mut stats = Stats::new(256, 10_000_000_000, None);
    for id in 1..=1_000_000u64 {
        stats.apply(done(id, (id % 64) as u32 + 1));
    }
    for t in 0..2400u64 {
        stats.observe(t * 250_000_000, t % 50);
        stats.sample(t * 250_000_000, t % 50, t * 400);
    }
    let settings = Settings {
        workers: 64,
        ..Settings::default()
    };
    let context = SnapshotContext {
        state: RunState::Running,
        now_ns: 2400 * 250_000_000,
        settings: &settings,
        seed: 1,
        speed: 1.0,
        cores: 2,
        source: SourceCounts {
            generated: 1_000_000,
            ..SourceCounts::default()
        },
        source_end_ns: None,
        series_interval_ns: 250_000_000,
        twin: &TwinAnswer::Pending,
        measured_arrivals: false,
    };
    bencher.bench_local(|| black_box(stats.snapshot(&context, stats.latency())));
}

/// One full monitor frame at 120x40 with 64 workers and a full series (budget: 2 ms).
#[divan::bench]
fn frame_render_120x40_64_workers(bencher: Bencher) {
    let app = App::new(Arc::new(fixtures::many_workers()), 20);
    let area = Rect::new(0, 0, 120, 40);
    let mut buf = Buffer::empty(area);
    bencher.bench_local(|| {
        buf.reset();
        backlog::ui::render(&app, area, &mut buf);
        black_box(&buf);
    });
}

/// The twin, 100,000 Poisson arrivals with exp service at ρ = 0.8 on 2 workers: unbounded
/// FCFS, a queue of 10 dropping new arrivals, and 8 workers sharing 2 cores. The goal is
/// 20 M events/s for unbounded FCFS (divan prints items/s).
#[divan::bench(args = ["unbounded", "drop-new", "shared-cores"])]
fn twin_events(bencher: Bencher, kind: &str) {
    use backlog::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
    use backlog::model::twin::{TwinConfig, simulate};
    const EVENTS: u64 = 100_000;
    let base = TwinConfig {
        arrival: ArrivalProcess::Poisson,
        rate_per_s: 16.0,
        burst: 1,
        service: std::time::Duration::from_millis(100),
        service_dist: ServiceDist::Exp,
        servers: 2,
        cores: None,
        queue_cap: None,
        overflow: Overflow::Block,
    };
    let config = match kind {
        "drop-new" => TwinConfig {
            queue_cap: Some(10),
            overflow: Overflow::DropNew,
            ..base
        },
        "shared-cores" => TwinConfig {
            servers: 8,
            cores: Some(2),
            ..base
        },
        _ => base,
    };
    bencher
        .counter(divan::counter::ItemsCount::new(EVENTS))
        .bench_local(|| black_box(simulate(&config, 1, 0, EVENTS)));
}

/// One live forecast (100 replications of a 60 s horizon, 41 points) from an empty pool at
/// ρ = 0.8 (Poisson arrivals, exp service of 100 ms): at 1/s and 100/s it is simulated in
/// full, at 1000/s it is the fluid approximation. The goal is at most 100 ms each.
#[divan::bench(args = [1.0, 100.0, 1000.0])]
fn twin_forecast(bencher: Bencher, rate_per_s: f64) {
    use backlog::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
    use backlog::model::forecast::{POINTS, REPLICATIONS, TwinState, forecast};
    use backlog::model::twin::TwinConfig;
    let config = TwinConfig {
        arrival: ArrivalProcess::Poisson,
        rate_per_s,
        burst: 1,
        service: std::time::Duration::from_millis(100),
        service_dist: ServiceDist::Exp,
        servers: (rate_per_s * 0.1 / 0.8).ceil() as usize,
        cores: None,
        queue_cap: None,
        overflow: Overflow::Block,
    };
    let state = TwinState::default();
    bencher.bench_local(|| black_box(forecast(&config, &state, 60.0, POINTS, REPLICATIONS, 1)));
}
