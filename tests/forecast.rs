//! The forecast against exact results: deterministic pools draining and growing, the steady
//! state from a long horizon (Erlang C), M/M/c/K drops, processor sharing, a bounded queue's
//! cap, and the fluid approximation against the full simulation at high rates. Seeded.

use std::time::Duration;

use backlog::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
use backlog::model::exact::mmck;
use backlog::model::fluid;
use backlog::model::forecast::{
    Forecast, ForecastMethod, REPLICATIONS, TwinState, by_simulation, forecast,
};
use backlog::model::theory::erlang_c;
use backlog::model::twin::TwinConfig;

const SEED: u64 = 20261201;

fn config(
    arrival: ArrivalProcess,
    rate_per_s: f64,
    service: Duration,
    dist: ServiceDist,
    servers: usize,
) -> TwinConfig {
    TwinConfig {
        arrival,
        rate_per_s,
        burst: 1,
        service,
        service_dist: dist,
        servers,
        cores: None,
        queue_cap: None,
        overflow: Overflow::Block,
    }
}

fn fixed(rate_per_s: f64, service: Duration, servers: usize) -> TwinConfig {
    config(
        ArrivalProcess::Fixed,
        rate_per_s,
        service,
        ServiceDist::Fixed,
        servers,
    )
}

fn poisson_exp(rate_per_s: f64, service: Duration, servers: usize) -> TwinConfig {
    config(
        ArrivalProcess::Poisson,
        rate_per_s,
        service,
        ServiceDist::Exp,
        servers,
    )
}

/// `queued` events of `service` each waiting, behind `busy` workers whose remaining work is
/// spread evenly over one service.
fn backlog_of(queued: u64, service: Duration, busy: usize) -> TwinState {
    let s = service.as_secs_f64();
    TwinState {
        queued,
        queued_work_s: queued as f64 * s,
        busy_remaining_s: (1..=busy).map(|k| s * k as f64 / busy as f64).collect(),
        ..TwinState::default()
    }
}

fn close(value: f64, expected: f64, relative: f64) -> bool {
    (value - expected).abs() <= relative * expected.abs()
}

#[test]
fn a_fixed_pool_drains_a_backlog_linearly() {
    // 1/s against 6 workers of 5 s (1.2/s): 30 queued drain at 0.2/s, empty at 150 s.
    let service = Duration::from_secs(5);
    let c = fixed(1.0, service, 6);
    let f = forecast(&c, &backlog_of(30, service, 6), 200.0, 41, 20, SEED);
    assert_eq!(f.method, ForecastMethod::Simulated { replications: 20 });
    let drain = f.drain_s_p50.expect("drains within the horizon");
    assert!((drain - 150.0).abs() <= 5.0, "{f:?}");
    // Nothing random: every replication drains at the same time.
    assert_eq!(f.drain_s_p10, f.drain_s_p90);
    let before = forecast(&c, &backlog_of(30, service, 6), 140.0, 29, 4, SEED);
    assert!(close(before.growth_per_s, -0.2, 0.05), "{before:?}");
    assert_eq!(f.wait_p99_s, f.wait_p50_s.max(f.wait_p99_s));
}

#[test]
fn an_overloaded_fixed_pool_grows_at_arrivals_less_capacity() {
    // falling-behind's start: 10/s against 4 workers of 500 ms (8/s) grows at 2.0/s.
    let f = forecast(
        &fixed(10.0, Duration::from_millis(500), 4),
        &TwinState::default(),
        60.0,
        41,
        10,
        SEED,
    );
    assert!(close(f.growth_per_s, 2.0, 0.02), "{f:?}");
    assert!(close(f.queue_end.p50, 120.0, 0.03), "{:?}", f.queue_end);
    assert_eq!(f.drain_s_p50, Some(0.0), "starts empty");
    // The newest arrivals wait for the backlog ahead of them: about 120 / 8 = 15 s.
    assert!(close(f.wait_p99_s, 15.0, 0.05), "{f:?}");
}

#[test]
fn a_long_horizon_from_empty_approaches_the_steady_state() {
    // M/M/3 at ρ = 0.8: Wq = C(3, 2.4) / (3μ − λ), Lq = λ Wq.
    let c = poisson_exp(24.0, Duration::from_millis(100), 3);
    let f = forecast(&c, &TwinState::default(), 2000.0, 21, 20, SEED);
    let exact = erlang_c(3, 2.4) / (30.0 - 24.0);
    let half = f.mean_wait_s_half_width.expect("simulated");
    assert!(half < 0.05 * exact, "interval too wide to tell: {f:?}");
    // The interval, plus 2% for starting empty.
    assert!(
        (f.mean_wait_s - exact).abs() <= half + 0.02 * exact,
        "{f:?} vs {exact}"
    );
    let lq = 24.0 * exact;
    assert!(
        close(f.mean_queue_len, lq, 0.02 + half / exact),
        "{f:?} vs Lq {lq}"
    );
}

#[test]
fn a_bounded_queue_drops_as_mmck_says_and_never_passes_its_cap() {
    let exact = mmck(120.0, 0.020, 2, 12).p_drop;
    for overflow in [Overflow::DropNew, Overflow::DropOld] {
        let c = TwinConfig {
            queue_cap: Some(10),
            overflow,
            ..poisson_exp(120.0, Duration::from_millis(20), 2)
        };
        let f = forecast(&c, &TwinState::default(), 300.0, 31, 10, SEED);
        assert!(
            close(f.p_drop, exact, 0.04),
            "{overflow:?}: {} vs {exact}",
            f.p_drop
        );
        // From a full queue, over many short forecasts: never above the cap.
        let full = backlog_of(10, Duration::from_millis(20), 2);
        let short = forecast(&c, &full, 5.0, 101, 50, SEED);
        assert!(
            short.path.iter().all(|p| p.backlog.p90 <= 10.0),
            "{short:?}"
        );
        assert!(
            short.path.iter().any(|p| p.backlog.p90 == 10.0),
            "{short:?}"
        );
    }
}

#[test]
fn busy_workers_on_shared_cores_run_at_the_cores_share() {
    // No arrivals; 4 workers on 2 cores, all busy with 1 s left, 8 queued of 1 s. Sharing,
    // the four finish at 2 s, the next four start then and finish at 4 s, when the last
    // four start: the queue is empty at 4 s (at full speed it would be 2 s).
    let service = Duration::from_secs(1);
    let c = TwinConfig {
        cores: Some(2),
        ..fixed(0.0, service, 4)
    };
    let state = TwinState {
        queued: 8,
        queued_work_s: 8.0,
        busy_remaining_s: vec![1.0; 4],
        ..TwinState::default()
    };
    let f = forecast(&c, &state, 10.0, 11, 2, SEED);
    let drain = f.drain_s_p50.expect("drains");
    assert!((drain - 4.0).abs() < 1e-6, "{f:?}");
    assert_eq!(
        f.path[3].backlog.p50, 4.0,
        "four left from 2 s to 4 s: {f:?}"
    );
}

/// The fluid forecast and the full simulation agree: the fluid's p50 lies in the simulated
/// band (with 3% to spare), the bands are of the same order, and the growth is the same.
fn agree(fluid: &Forecast, simulated: &Forecast) {
    for (a, b) in fluid.path.iter().zip(&simulated.path) {
        let (f, s) = (a.backlog, b.backlog);
        let slack = 0.03 * s.p50.max(100.0);
        assert!(
            f.p50 >= s.p10 - slack && f.p50 <= s.p90 + slack,
            "p50 at {} s: fluid {f:?} vs simulated {s:?}",
            a.t_s
        );
        // The fluid's band is wider from a backlog: it does not know the queued events' total
        // work, which the simulation keeps (it scales their drawn demands to it).
        let (fw, sw) = (f.p90 - f.p10, s.p90 - s.p10);
        assert!(
            sw < 50.0 || (fw >= 0.7 * sw && fw <= 2.5 * sw),
            "band at {} s: fluid {f:?} vs simulated {s:?}",
            a.t_s
        );
    }
    assert!(
        (fluid.growth_per_s - simulated.growth_per_s).abs()
            <= 0.03 * simulated.growth_per_s.abs().max(10.0),
        "growth: {} vs {}",
        fluid.growth_per_s,
        simulated.growth_per_s
    );
}

#[test]
fn the_fluid_approximation_agrees_with_the_simulation_at_a_high_rate() {
    let service = Duration::from_millis(2);
    // Draining: 2000/s against 5 workers of 2 ms (2500/s), 20,000 queued: empty at 40 s.
    let c = poisson_exp(2000.0, service, 5);
    let state = backlog_of(20_000, service, 5);
    let f = forecast(&c, &state, 60.0, 31, REPLICATIONS, SEED);
    assert_eq!(f.method, ForecastMethod::Fluid);
    let s = by_simulation(&c, &state, 60.0, 31, 40, SEED);
    agree(&f, &s);
    let (fd, sd) = (f.drain_s_p50.unwrap(), s.drain_s_p50.unwrap());
    assert!(close(fd, sd, 0.03), "drain: fluid {fd} vs simulated {sd}");
    assert!(
        close(f.mean_wait_s, s.mean_wait_s, 0.05),
        "{} vs {}",
        f.mean_wait_s,
        s.mean_wait_s
    );
    // Overloaded from empty: 3000/s against 2500/s grows at 500/s.
    let c = poisson_exp(3000.0, service, 5);
    let f = fluid::forecast(&c, &TwinState::default(), 30.0, 31);
    let s = by_simulation(&c, &TwinState::default(), 30.0, 31, 40, SEED);
    agree(&f, &s);
    assert!(close(s.growth_per_s, 500.0, 0.03), "{s:?}");
}

#[test]
fn low_rates_are_simulated_in_full_and_high_rates_by_the_fluid() {
    let service = Duration::from_millis(10);
    let low = forecast(
        &poisson_exp(100.0, service, 2),
        &TwinState::default(),
        60.0,
        11,
        REPLICATIONS,
        SEED,
    );
    assert_eq!(
        low.method,
        ForecastMethod::Simulated {
            replications: REPLICATIONS
        }
    );
    let high = forecast(
        &poisson_exp(1000.0, service, 12),
        &TwinState::default(),
        60.0,
        11,
        REPLICATIONS,
        SEED,
    );
    assert_eq!(high.method, ForecastMethod::Fluid);
}

#[test]
fn a_forecast_costs_about_its_events_and_not_a_fixed_overhead_per_replication() {
    // 100 replications of 60 s at 1/s are 6,000 events, at 100/s 600,000: the first must
    // cost a small part of the second (a zeroed wait histogram per replication once made
    // it a third). Relative, so a busy machine slows both alike; the best of three.
    let service = Duration::from_millis(100);
    let cost_ms = |rate: f64, servers: usize| {
        let c = poisson_exp(rate, service, servers);
        (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                let f = forecast(&c, &TwinState::default(), 60.0, 41, REPLICATIONS, SEED);
                assert!(matches!(f.method, ForecastMethod::Simulated { .. }));
                t.elapsed().as_secs_f64() * 1e3
            })
            .fold(f64::INFINITY, f64::min)
    };
    let (slow, fast) = (cost_ms(100.0, 13), cost_ms(1.0, 1));
    assert!(fast < 0.1 * slow, "1/s: {fast:.2} ms, 100/s: {slow:.2} ms");
}

#[test]
fn the_lindley_recursion_and_the_queue_agree_on_an_unbounded_pool() {
    // An unbounded FCFS pool runs by the Lindley recursion; a cap it never reaches sends the
    // same seeded events through the queue instead: the same futures, figure for figure.
    let service = Duration::from_millis(100);
    let lindley = poisson_exp(24.0, service, 3);
    let queue = TwinConfig {
        queue_cap: Some(1_000_000),
        overflow: Overflow::DropNew,
        ..lindley.clone()
    };
    for state in [TwinState::default(), backlog_of(200, service, 3)] {
        let a = forecast(&lindley, &state, 60.0, 31, 20, SEED);
        let b = forecast(&queue, &state, 60.0, 31, 20, SEED);
        assert_eq!(a.path, b.path, "{state:?}");
        assert_eq!(
            (a.drain_s_p10, a.drain_s_p50, a.drain_s_p90),
            (b.drain_s_p10, b.drain_s_p50, b.drain_s_p90)
        );
        assert!((a.mean_wait_s - b.mean_wait_s).abs() < 1e-9, "{a:?} {b:?}");
        assert!((a.mean_queue_len - b.mean_queue_len).abs() < 1e-6 * b.mean_queue_len.max(1.0));
        assert_eq!((a.wait_p50_s, a.wait_p99_s), (b.wait_p50_s, b.wait_p99_s));
    }
}

#[test]
fn extreme_inputs_give_finite_figures() {
    let cases = [
        // Paused (no arrivals) with a backlog; a zero service at a million a second; a
        // hopeless overload; a zero horizon; a bounded queue with no room at all.
        (fixed(0.0, Duration::from_secs(1), 2), 10, 30.0),
        (poisson_exp(1e6, Duration::ZERO, 4), 0, 60.0),
        (poisson_exp(1e6, Duration::from_secs(1), 1), 1000, 60.0),
        (poisson_exp(5.0, Duration::from_millis(100), 1), 3, 0.0),
        (
            TwinConfig {
                queue_cap: Some(0),
                overflow: Overflow::DropOld,
                ..poisson_exp(50.0, Duration::from_millis(100), 2)
            },
            0,
            10.0,
        ),
    ];
    for (config, queued, horizon_s) in cases {
        let state = backlog_of(queued, config.service, 0);
        let f = forecast(&config, &state, horizon_s, 11, 20, SEED);
        let figures = [
            f.p_drop,
            f.mean_wait_s,
            f.wait_p50_s,
            f.wait_p99_s,
            f.mean_queue_len,
            f.queue_end.p10,
            f.queue_end.p90,
            f.growth_per_s,
        ];
        let drains = [f.drain_s_p10, f.drain_s_p50, f.drain_s_p90];
        assert!(
            figures.iter().all(|v| v.is_finite())
                && drains.iter().flatten().all(|v| v.is_finite())
                && f.path.iter().all(|p| p.backlog.p50.is_finite()),
            "{config:?}: {f:?}"
        );
    }
}

/// A backlog left at the horizon is followed under the server counts that come after it (a
/// later phase's workers), by both simulations. Ten events at 0.1 s … 1.0 s, of 1 s each,
/// against one server: by hand, the first starts at 0.1 s, the second at 1.1 s, and at 2 s a
/// hundred servers take the other eight at once: mean wait (0 + 0.9 + Σₖ₌₃¹⁰ (2 − 0.1k)) / 10
/// = 1.17 s. Kept at one server, the k-th starts at k − 0.9 s and waits 0.9(k − 1): a mean of
/// 4.05 s.
#[test]
fn a_backlog_left_at_the_horizon_is_served_by_the_later_server_counts() {
    let later = TwinState {
        arrivals_until_s: Some(1.05),
        servers_after: vec![(2.0, 100)],
        ..TwinState::default()
    };
    let same = TwinState {
        servers_after: vec![],
        ..later.clone()
    };
    for config in [
        fixed(10.0, Duration::from_secs(1), 1),
        // The queue-keeping simulation (a bounded queue that never fills).
        TwinConfig {
            queue_cap: Some(1000),
            overflow: Overflow::DropNew,
            ..fixed(10.0, Duration::from_secs(1), 1)
        },
    ] {
        let chained = forecast(&config, &later, 2.0, 5, 2, SEED);
        assert!((chained.mean_wait_s - 1.17).abs() < 1e-6, "{chained:?}");
        let alone = forecast(&config, &same, 2.0, 5, 2, SEED);
        assert!((alone.mean_wait_s - 4.05).abs() < 1e-6, "{alone:?}");
    }
}
