//! The twin against every exact result it can be checked with: Erlang C (M/M/c), M/M/c/K for
//! bounded queues (drop-new and drop-old), Pollaczek-Khinchine (M/D/1, M/G/1), deterministic
//! pools and bursts worked out by hand, and processor sharing (M/M/1-PS). Seeded, so each
//! check gives the same figures on every run.

use std::time::Duration;

#[path = "common/fixtures.rs"]
mod fixtures;

use backlog::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
use backlog::model::exact::{
    WAIT_LEVELS, erlang_c_wait_tail, mmck, mmck_drop_old, mmck_wait_tail, pollaczek_khinchine,
    wait_quantile,
};
use backlog::model::theory::erlang_c;
use backlog::model::twin::{Estimate, TwinConfig, simulate, steady_state};

const SEED: u64 = 20261201;

fn config(rate_per_s: f64, service_ms: u64, servers: usize) -> TwinConfig {
    TwinConfig {
        arrival: ArrivalProcess::Poisson,
        rate_per_s,
        burst: 1,
        service: Duration::from_millis(service_ms),
        service_dist: ServiceDist::Exp,
        servers,
        cores: None,
        queue_cap: None,
        overflow: Overflow::Block,
    }
}

/// `estimate` is tight (its 95% interval within `width` of the mean) and covers `exact`
/// (within the interval, plus 1% for the warm-up's bias).
fn agrees(estimate: Estimate, exact: f64, width: f64) {
    assert!(
        estimate.half_width <= width * estimate.mean,
        "interval too wide to tell: {estimate:?}"
    );
    assert!(
        estimate.covers(exact, 0.01),
        "{estimate:?} does not cover the exact {exact}"
    );
}

#[test]
fn an_unbounded_mmc_pool_waits_as_erlang_c_says() {
    // M/M/3 at ρ = 0.8 (2.4 erlangs): Wq = C(3, 2.4) / (3μ − λ).
    let c = config(24.0, 100, 3);
    let twin = steady_state(&c, SEED, 10, 200_000);
    let exact = erlang_c(3, 2.4) / (3.0 / 0.1 - 24.0);
    agrees(twin.mean_wait_s, exact, 0.04);
    // Little's law: Lq = λ Wq.
    agrees(twin.mean_queue_len, 24.0 * exact, 0.04);
    // The whole distribution: P(W > t) = C e^{−(cμ − λ)t}. The histograms are to 1%.
    let tail = erlang_c_wait_tail(erlang_c(3, 2.4), 3, 24.0, 0.1);
    for (estimate, q) in twin.wait_percentiles_s.into_iter().zip(WAIT_LEVELS) {
        agrees_within_histogram(estimate, wait_quantile(&tail, q, 0.1), q);
    }
}

/// A percentile from the twin's histograms: as `agrees`, with the histograms' 1% on top.
fn agrees_within_histogram(estimate: Estimate, exact: f64, q: f64) {
    assert!(
        estimate.covers(exact, 0.02),
        "p{}: {estimate:?} does not cover the exact {exact}",
        q * 100.0
    );
}

#[test]
fn a_bounded_queue_drops_as_mmck_says_whichever_end_it_drops() {
    // The issue's case: 120/s against 2 workers of 20 ms, 10 places: M/M/2/12 drops 18.6%.
    let exact = mmck(120.0, 0.020, 2, 12);
    for overflow in [Overflow::DropNew, Overflow::DropOld] {
        let c = TwinConfig {
            queue_cap: Some(10),
            overflow,
            ..config(120.0, 20, 2)
        };
        let twin = steady_state(&c, SEED, 10, 200_000);
        agrees(twin.p_drop, exact.p_drop, 0.02);
        assert!(
            (twin.p_drop.mean - 0.1855).abs() < 0.03 * 0.1855,
            "{overflow:?}"
        );
        // The queue's length does not depend on which end is dropped.
        agrees(twin.mean_queue_len, exact.mean_queue_len, 0.02);
        // The served events' waits do: drop-old evicts those that waited longest.
        let served_wait = match overflow {
            Overflow::DropOld => mmck_drop_old(120.0, 0.020, 2, 12).mean_wait_s,
            _ => exact.mean_wait_s,
        };
        agrees(twin.mean_wait_s, served_wait, 0.02);
        if overflow == Overflow::DropNew {
            // An admitted arrival that finds n waits an Erlang(n − c + 1, cμ) time.
            let tail = mmck_wait_tail(120.0, 0.020, 2, 12);
            for (estimate, q) in twin.wait_percentiles_s.into_iter().zip(WAIT_LEVELS) {
                agrees_within_histogram(estimate, wait_quantile(&tail, q, 0.02), q);
            }
        }
    }
}

#[test]
fn a_block_queue_waits_as_an_unbounded_one_and_drops_nothing() {
    // Arrivals held at the source wait all the same, in the same order.
    let unbounded = config(120.0, 20, 2);
    let block = TwinConfig {
        queue_cap: Some(10),
        ..unbounded.clone()
    };
    let (a, b) = (
        simulate(&unbounded, SEED, 0, 50_000),
        simulate(&block, SEED, 0, 50_000),
    );
    assert_eq!(b.dropped, 0);
    assert_eq!(a.wait_sum_s, b.wait_sum_s);
}

#[test]
fn one_server_waits_as_pollaczek_khinchine_says() {
    // M/D/1 and M/G/1 (uniform: cv² = 1/3) at ρ = 0.7.
    for (dist, cv2) in [(ServiceDist::Fixed, 0.0), (ServiceDist::Uniform, 1.0 / 3.0)] {
        let c = TwinConfig {
            service_dist: dist,
            ..config(7.0, 100, 1)
        };
        let twin = steady_state(&c, SEED, 10, 200_000);
        let exact = pollaczek_khinchine(7.0, 0.1, cv2).unwrap();
        agrees(twin.mean_wait_s, exact, 0.04);
    }
}

#[test]
fn the_articles_pool_keeps_exactly_up_and_one_worker_fewer_falls_behind() {
    // D/D/5: one event a second, 5 s each: nobody waits.
    let article = TwinConfig {
        arrival: ArrivalProcess::Fixed,
        service_dist: ServiceDist::Fixed,
        ..config(1.0, 5_000, 5)
    };
    let run = simulate(&article, SEED, 0, 1_000);
    assert_eq!((run.started, run.wait_sum_s), (1_000, 0.0));
    let short = TwinConfig {
        servers: 4,
        ..article
    };
    let run = simulate(&short, SEED, 0, 1_000);
    // The pool serves 0.8/s while 1/s arrive: event k starts about 1.25 k s in, after waiting
    // 0.25 k s; over 1,000 events, a mean of 124.5 s (the same recursion in Python).
    let mean = run.mean_wait_s();
    assert!((mean - 124.5).abs() < 0.05, "{mean}");
}

#[test]
fn a_burst_waits_its_turn_in_rows_of_servers() {
    // Groups of 20 every 2 s, 300 ms fixed, 4 workers: the k-th of a group (from 0) waits
    // floor(k / 4) × 0.3 s, a mean of 0.6 s; the pool is idle before each group.
    let burst = TwinConfig {
        arrival: ArrivalProcess::Bursty,
        burst: 20,
        rate_per_s: 10.0,
        service_dist: ServiceDist::Fixed,
        ..config(10.0, 300, 4)
    };
    let run = simulate(&burst, SEED, 0, 20_000);
    assert!(
        (run.mean_wait_s() - 0.6).abs() < 1e-6,
        "{}",
        run.mean_wait_s()
    );
}

#[test]
fn shared_cores_stretch_service_as_processor_sharing_does() {
    // One core shared by as many workers as there are events (64 is plenty at ρ = 0.5):
    // M/M/1-PS, whose mean time in the system is E[S] / (1 − ρ) = 200 ms whatever the
    // distribution; nobody waits in the queue.
    for dist in [ServiceDist::Exp, ServiceDist::Fixed] {
        let c = TwinConfig {
            service_dist: dist,
            cores: Some(1),
            ..config(5.0, 100, 64)
        };
        let run = simulate(&c, SEED, 10_000, 200_000);
        let sojourn = run.mean_sojourn_s();
        assert!((sojourn - 0.2).abs() < 0.2 * 0.04, "{dist:?}: {sojourn}");
        assert_eq!(run.wait_sum_s, 0.0);
    }
    // Within the cores, sharing changes nothing: 2 workers on 2 cores is M/M/2.
    let within = TwinConfig {
        cores: Some(2),
        ..config(15.0, 100, 2)
    };
    let plain = TwinConfig {
        cores: None,
        ..within.clone()
    };
    let (a, b) = (
        simulate(&within, SEED, 0, 20_000),
        simulate(&plain, SEED, 0, 20_000),
    );
    assert!((a.mean_sojourn_s() - b.mean_sojourn_s()).abs() < 1e-9);
}

#[test]
fn a_seed_gives_the_same_run_and_another_seed_another() {
    let c = config(24.0, 100, 3);
    let (a, b) = (simulate(&c, SEED, 0, 10_000), simulate(&c, SEED, 0, 10_000));
    assert_eq!((a.wait_sum_s, a.queue_area), (b.wait_sum_s, b.queue_area));
    let other = simulate(&c, SEED + 1, 0, 10_000);
    assert_ne!(a.wait_sum_s, other.wait_sum_s);
}

#[test]
fn the_issues_bounded_queue_is_predicted_exactly_and_the_twin_thread_s_estimate_covers_it() {
    // --rate 120/s --service 20ms --service-dist exp --workers 2 --queue-cap 10 --overflow
    // drop-new: the prediction is M/M/2/12, exact; the estimate the run's twin would make of
    // the same settings (its replications and events) covers it.
    use backlog::model::theory::{Method, TheoryInput, predict};
    use backlog::model::twin_thread::{EVENTS, REPLICATIONS};
    let settings = fixtures::dropping_settings();
    let p = predict(&TheoryInput::from_settings(&settings, 2));
    assert_eq!((p.method, p.formula.as_str()), (Method::Exact, "M/M/c/K"));
    assert!((p.p_drop / 0.1855 - 1.0).abs() < 0.03, "{p:?}");
    let twin = steady_state(
        &TwinConfig::from_settings(&settings, 2),
        1,
        REPLICATIONS,
        EVENTS,
    );
    eprintln!("predicted {:.4}, the twin {:?}", p.p_drop, twin.p_drop);
    agrees(twin.p_drop, p.p_drop, 0.05);
}

#[test]
fn the_wait_histogram_holds_long_waits() {
    // falling-behind's start, 10/s against 4 workers of 500 ms: waits grow linearly, so the
    // median wait is the mean wait and the longest is the last event's.
    let c = TwinConfig {
        arrival: ArrivalProcess::Fixed,
        service_dist: ServiceDist::Fixed,
        ..config(10.0, 500, 4)
    };
    let run = simulate(&c, SEED, 0, 1200);
    let median_s = run.waits_ns.value_at_quantile(0.5) as f64 / 1e9;
    let mean_s = run.mean_wait_s();
    assert!(mean_s > 10.0, "{mean_s}");
    assert!(
        (median_s - mean_s).abs() < 0.02 * mean_s,
        "median {median_s} vs mean {mean_s}"
    );
}
