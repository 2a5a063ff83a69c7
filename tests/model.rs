//! The model's decisions from hand-built snapshots: the verdict and its changes, the lints and
//! their history, the queue trend, with their names and words (the monitor's drawing of them is
//! tests/ui_render.rs).

#[path = "common/fixtures.rs"]
mod fixtures;

use backlog::engine::settings::{ArrivalProcess, ServiceDist};
use backlog::engine::snapshot::{SeriesPoint, Snapshot};
use backlog::model::forecast::{TwinState, forecast, live_config};
use backlog::model::lints::{Lint, lints};
use backlog::model::theory::{TheoryInput, predict};
use backlog::model::trend::{Trend, trend_per_s};
use backlog::model::verdict::Verdict;
use backlog::model::verdict_changes::{VerdictChange, VerdictChanges};
use backlog::model::warning_history::{WarningHistory, WarningSpan};

const MS: u64 = 1_000_000;

/// `s` as if taken at model time `t_ms` (the verdict and the lints do not read the clock).
fn at(mut s: Snapshot, t_ms: u64) -> Snapshot {
    s.now_ns = t_ms * MS;
    s
}

// ---- the verdict ----

#[test]
fn draining_verdict_gives_time_to_empty() {
    let s = fixtures::overloaded_with_workers(10);
    // 10 workers serve 2/s against 1/s arriving: 37 queued drain in 37 s.
    assert_eq!(
        Verdict::of(&s),
        Verdict::Draining {
            seconds: 37.0,
            p10_s: None,
            p90_s: None
        }
    );
    let verdict = Verdict::of(&s);
    assert_eq!(verdict.text(), "draining: empty in about 37s");
    assert_eq!(verdict.kind(), "draining");
    assert_eq!(
        (verdict.drain_s(), verdict.growth_per_s()),
        (Some(37.0), None)
    );
}

#[test]
fn events_held_at_the_source_count_in_the_time_to_drain() {
    let mut s = fixtures::overloaded_with_workers(10);
    // 37 queued and 13 held before a full `block` queue: 50 to drain at 1/s net.
    s.counters.held_at_source = 13;
    assert_eq!(
        Verdict::of(&s),
        Verdict::Draining {
            seconds: 50.0,
            p10_s: None,
            p90_s: None
        }
    );
}

/// `s` with the forecast the engine would make from it.
fn with_forecast(mut s: Snapshot) -> Snapshot {
    let f = forecast(&live_config(&s), &TwinState::of(&s), 60.0, 41, 50, 7);
    s.forecast = Some(f);
    s
}

#[test]
fn a_draining_verdict_from_the_forecast_gives_its_band() {
    // 10 workers of 5 s (2/s) against 1/s: the 37 queued drain at 1/s net. The fixture has 4
    // busy workers, so 6 of the 37 start at once and the rest drain in about 31 s (the closed
    // form's 37 s ignores the idle workers). Fixed, every replication drains then: no band.
    let s = with_forecast(fixtures::overloaded_with_workers(10));
    let verdict = Verdict::of(&s);
    let seconds = verdict.drain_s().expect("draining");
    assert!((29.0..=33.0).contains(&seconds), "{verdict:?}");
    assert_eq!(
        verdict.text(),
        format!(
            "draining: empty in about {}",
            backlog::units::duration_s(seconds)
        )
    );
    // Random arrivals and demands: a band around the median.
    let mut random = fixtures::overloaded_with_workers(10);
    random.settings.arrival = ArrivalProcess::Poisson;
    random.settings.service_dist = ServiceDist::Exp;
    let s = with_forecast(random);
    let f = s.forecast.clone().unwrap();
    let verdict = Verdict::of(&s);
    assert_eq!(verdict.kind(), "draining");
    assert_eq!(verdict.drain_s(), f.drain_s_p50);
    assert_eq!(verdict.drain_band_s(), (f.drain_s_p10, f.drain_s_p90));
    let (lo, hi) = (f.drain_s_p10.unwrap(), f.drain_s_p90.unwrap());
    assert!(lo < hi, "{f:?}");
    let words = format!(
        "draining: empty in about {} (80%: {}-{})",
        backlog::units::duration_s(f.drain_s_p50.unwrap()),
        backlog::units::duration_s(lo),
        backlog::units::duration_s(hi)
    );
    assert_eq!(verdict.text(), words);
}

#[test]
fn an_overloaded_verdict_from_the_forecast_says_how_many_when() {
    // 4 workers of 5 s (0.8/s) against 1/s: +0.2/s, 37 queued now, about 49 in 60 s.
    let s = with_forecast(fixtures::overloaded());
    let verdict = Verdict::of(&s);
    let growth = verdict.growth_per_s().expect("overloaded");
    assert!((growth - 0.2).abs() < 0.02, "{verdict:?}");
    let Verdict::Overloaded {
        queued_in: Some((queued, in_s)),
        ..
    } = verdict
    else {
        panic!("{verdict:?}")
    };
    assert_eq!(in_s, 60.0);
    assert!((47..=50).contains(&queued), "{verdict:?}");
    assert!(
        verdict.text().starts_with(&format!(
            "overloaded: +{}, {queued} queued in 1m",
            backlog::units::per_s(growth)
        )),
        "{}",
        verdict.text()
    );
}

#[test]
fn a_backlog_that_shrinks_but_outlasts_the_forecast_is_draining() {
    // The same 31 s drain as above, forecast over 20 s only: it shrinks at 1/s, and the
    // verdict says so with the drain extrapolated at that rate, not "not catching up".
    let mut s = fixtures::overloaded_with_workers(10);
    s.forecast = Some(forecast(
        &live_config(&s),
        &TwinState::of(&s),
        20.0,
        41,
        20,
        7,
    ));
    let verdict = Verdict::of(&s);
    let seconds = verdict.drain_s().unwrap_or_else(|| panic!("{verdict:?}"));
    assert!((27.0..=36.0).contains(&seconds), "{verdict:?}");
    assert_eq!(verdict.drain_band_s(), (None, None));
}

#[test]
fn a_forecast_that_never_drains_a_flat_backlog_does_not_catch_up() {
    // The article's pool, 5 workers against 1/s: the 37 queued stay.
    let s = with_forecast(fixtures::overloaded_with_workers(5));
    assert_eq!(Verdict::of(&s), Verdict::NotCatchingUp { queued: 37 });
}

#[test]
fn article_case_with_backlog_does_not_catch_up() {
    let s = fixtures::overloaded_with_workers(5);
    assert_eq!(Verdict::of(&s), Verdict::NotCatchingUp { queued: 37 });
    assert_eq!(
        Verdict::of(&s).text(),
        "keeping up, not catching up: backlog of 37 stays"
    );
    assert_eq!(Verdict::of(&s).kind(), "not_catching_up");
}

#[test]
fn overloaded_verdict_says_what_to_do() {
    let verdict = Verdict::of(&fixtures::overloaded());
    assert_eq!(verdict.kind(), "overloaded");
    assert_eq!(
        verdict.text(),
        "overloaded: backlog grows by 0.2/s, needs ≥ 5 workers"
    );
    let growth = verdict.growth_per_s().expect("a growth rate");
    assert!((growth - 0.2).abs() < 1e-9, "{growth}");
    assert_eq!(verdict.drain_s(), None);
    let hopeless = Verdict::Overloaded {
        growth_per_s: 1.0,
        needs: None,
        queued_in: None,
    };
    assert_eq!(
        hopeless.text(),
        "overloaded: backlog grows by 1/s, more workers cannot help (cpu work, all cores busy)"
    );
}

#[test]
fn a_bounded_queue_that_sheds_a_material_share_is_dropping() {
    let verdict = Verdict::of(&fixtures::dropping());
    let Verdict::Dropping { p_drop } = verdict else {
        panic!("{verdict:?}");
    };
    assert!((p_drop / 0.1855 - 1.0).abs() < 0.03, "{p_drop}");
    assert_eq!(verdict.kind(), "dropping");
    assert_eq!(verdict.text(), "bounded queue: drops about 19% of arrivals");
    assert_eq!((verdict.drain_s(), verdict.growth_per_s()), (None, None));
    // At a third of the load it hardly ever fills: keeping up, not dropping.
    let mut light = fixtures::dropping();
    light.settings.rate = backlog::engine::settings::Rate::per_s(40.0).unwrap();
    light.counters.queued = 0;
    light.theory = predict(&TheoryInput::from_settings(&light.settings, light.cores));
    assert!(light.theory.p_drop < 0.01, "{:?}", light.theory);
    assert_eq!(Verdict::of(&light), Verdict::KeepingUp);
    // A full `block` queue drops nothing: the source falls behind, and the pool is overloaded.
    let mut block = fixtures::dropping();
    block.settings.overflow = backlog::engine::settings::Overflow::Block;
    block.theory = predict(&TheoryInput::from_settings(&block.settings, block.cores));
    assert_eq!(Verdict::of(&block).kind(), "overloaded");
    // Over is over.
    let mut over = fixtures::dropping();
    over.state = backlog::engine::RunState::Finished;
    assert_eq!(Verdict::of(&over), Verdict::Finished);
}

/// A backlog within what the steady state usually holds is no news: at ρ = 0.71 (M/M/7, a
/// mean queue of 0.81) five queued is within its p99 (5.7), ten is not. Twice the mean, the old
/// rule, called five "draining" (12.5 s at 0.4/s net) and flapped as the queue came and went.
#[test]
fn a_backlog_the_steady_state_usually_holds_is_keeping_up() {
    let mut s = fixtures::keeping_up();
    let mean = s.theory.mean_queue_len.expect("stable");
    assert!(
        (0.75..0.85).contains(&mean),
        "the fixture's premise: {mean}"
    );
    s.counters.queued = 5;
    assert_eq!(Verdict::of(&s), Verdict::KeepingUp);
    s.counters.queued = 10;
    assert_eq!(Verdict::of(&s).kind(), "draining", "{:?}", Verdict::of(&s));
}

#[test]
fn keeping_up_and_finished_verdicts() {
    let keeping_up = Verdict::of(&fixtures::keeping_up());
    assert_eq!(keeping_up, Verdict::KeepingUp);
    assert_eq!(
        (keeping_up.kind(), keeping_up.text()),
        ("keeping_up", "keeping up".into())
    );
    // Over is over, whatever the theory said: an interrupted run is finished too.
    let mut interrupted = fixtures::overloaded();
    interrupted.state = backlog::engine::RunState::Interrupted;
    for s in [fixtures::finished(), interrupted] {
        let verdict = Verdict::of(&s);
        assert_eq!(verdict, Verdict::Finished);
        assert_eq!(
            (verdict.kind(), verdict.text()),
            ("finished", "finished".into())
        );
        assert_eq!((verdict.drain_s(), verdict.growth_per_s()), (None, None));
    }
}

// ---- lints ----

#[test]
fn lints_hold_only_when_they_should() {
    assert_eq!(lints(&fixtures::keeping_up()), vec![]);
    assert_eq!(lints(&fixtures::finished()), vec![]);
    // Recent p99 wait 35 s is 7x the 5 s service: under the 10x threshold.
    assert_eq!(lints(&fixtures::overloaded()), vec![Lint::Overloaded]);
}

#[test]
fn long_tail_lint() {
    let mut s = fixtures::overloaded();
    s.settings.service = std::time::Duration::from_secs(1);
    // Recent p99 wait is 35 s against 1 s of service.
    assert!(
        lints(&s).contains(&Lint::LongTail { ratio: 35 }),
        "{:?}",
        lints(&s)
    );
}

#[test]
fn idle_workers_with_queue_lint_needs_the_whole_tail() {
    let mut s = fixtures::keeping_up();
    s.counters.queued = 4;
    for p in s.series.iter_mut().rev().take(4) {
        p.queue_depth = 4;
        p.busy_workers = 5;
    }
    assert!(lints(&s).contains(&Lint::IdleWithQueue));
    // One sample in the tail with an empty queue: a passing moment, not a stall.
    let last = s.series.len() - 2;
    s.series[last].queue_depth = 0;
    assert!(!lints(&s).contains(&Lint::IdleWithQueue));
}

#[test]
fn cpu_workers_past_cores_lint() {
    let s = fixtures::cpu_past_cores();
    assert!(lints(&s).contains(&Lint::MoreWorkersThanCores {
        workers: 12,
        cores: 8
    }));
}

#[test]
fn littles_law_lint() {
    let mut s = fixtures::keeping_up();
    // Measured: mean wait 1.2 s at 0.99/s arrivals means L ≈ 1.19; report 3 instead.
    s.latency.queue_wait.mean_ns = 1.2e9;
    s.mean_queue_len = 3.0;
    assert!(
        matches!(lints(&s)[..], [Lint::LittlesLaw { .. }]),
        "{:?}",
        lints(&s)
    );
    s.mean_queue_len = 1.25;
    assert_eq!(lints(&s), vec![]);
    // Once events were dropped the check does not apply: an evicted event spent time in the
    // queue (in L) and never had a wait (in W).
    s.mean_queue_len = 3.0;
    s.counters.dropped = 1;
    assert_eq!(lints(&s), vec![]);
}

#[test]
fn lint_kinds_and_words() {
    let cases = [
        (
            Lint::Overloaded,
            "overloaded",
            "utilisation ≥ 1: the backlog can only grow",
        ),
        (
            Lint::LongTail { ratio: 35 },
            "long_tail",
            "p99 queue wait is 35× the service time",
        ),
        (
            Lint::IdleWithQueue,
            "idle_with_queue",
            "workers idle while the queue is not empty",
        ),
        (
            Lint::MoreWorkersThanCores {
                workers: 12,
                cores: 8,
            },
            "more_workers_than_cores",
            "more cpu workers than cores (12 > 8): extra workers add no capacity",
        ),
        (
            Lint::LittlesLaw {
                measured: 3.0,
                expected: 1.188,
            },
            "littles_law",
            "Little's law check fails: mean queue length 3 vs arrival rate × mean wait 1.19",
        ),
    ];
    for (lint, kind, text) in cases {
        assert_eq!((lint.kind(), lint.text().as_str()), (kind, text));
    }
}

// ---- the queue trend ----

#[test]
fn trend_of_a_growing_queue() {
    // The overloaded fixture's depth is floor(0.2 t): a staircase that steps every 5 s, so a
    // fit over its 10 s window (two steps) lands within a quarter of 0.2/s.
    let s = fixtures::overloaded();
    let per_s = trend_per_s(&s.series, s.recent_window_ns, 0).expect("a trend");
    assert!((per_s - 0.2).abs() < 0.05, "{per_s}");
    assert!(matches!(Trend::of(&s), Trend::Rising { .. }));
    assert_eq!(
        Trend::of(&s).text(),
        format!("+{}", backlog::units::per_s(per_s))
    );
}

#[test]
fn trend_steady_falling_and_unknown() {
    let point = |t_s: u64, queue_depth: u64| SeriesPoint {
        t_ns: t_s * 1_000_000_000,
        queue_depth,
        ..SeriesPoint::default()
    };
    let mut s = fixtures::keeping_up();
    // Only the points inside the window count: 20 queued long before it changes nothing.
    // The slope is the least-squares fit: 12, 7, 2 at 291, 295, 300 s fall by 45/40.67 a second.
    s.series = vec![point(1, 20), point(291, 12), point(295, 7), point(300, 2)];
    let fit = -45.0 / (122.0 / 3.0);
    let per_s = trend_per_s(&s.series, s.recent_window_ns, 0).unwrap();
    assert!((per_s - fit).abs() < 1e-9, "{per_s}");
    assert_eq!(Trend::of(&s), Trend::Falling { per_s: -per_s });
    assert_eq!(Trend::of(&s).text(), "-1.11/s");
    // A phase that began at 295 s (a change of settings) starts the trend afresh.
    let since = 295_000_000_000;
    assert_eq!(
        trend_per_s(&s.series, s.recent_window_ns, since),
        Some(-1.0)
    );
    s.phases = vec![backlog::engine::snapshot::Phase {
        start_ns: since,
        ..Default::default()
    }];
    assert_eq!(Trend::of(&s), Trend::Falling { per_s: 1.0 });
    s.phases.clear();
    s.series = vec![point(291, 3), point(300, 3)];
    assert_eq!(Trend::of(&s), Trend::Steady);
    assert_eq!(Trend::of(&s).text(), "steady");
    // One sample, or none: no trend yet.
    for series in [vec![point(300, 3)], vec![]] {
        s.series = series;
        assert_eq!(trend_per_s(&s.series, s.recent_window_ns, 0), None);
        assert_eq!(Trend::of(&s), Trend::Unknown);
        assert_eq!(Trend::of(&s).text(), "trend -");
    }
}

// ---- the warning history ----

#[test]
fn warning_history_keeps_each_lint_with_its_first_and_last_sighting() {
    let mut history = WarningHistory::default();
    assert_eq!(history.spans(), vec![]);
    let mut long_tail = fixtures::overloaded();
    long_tail.settings.service = std::time::Duration::from_secs(1);
    let mut shorter_tail = long_tail.clone();
    shorter_tail.settings.service = std::time::Duration::from_secs(2);
    let snapshots = [
        at(fixtures::keeping_up(), 1_000),
        at(fixtures::overloaded(), 10_000),
        at(long_tail, 12_000),
        at(shorter_tail, 13_000),
        // Nothing holds for a while, then the overload is back, then the run is over.
        at(fixtures::keeping_up(), 20_000),
        at(fixtures::overloaded(), 30_000),
        at(fixtures::finished(), 40_000),
    ];
    for s in &snapshots {
        history.observe(s);
    }
    assert_eq!(
        history.spans(),
        vec![
            WarningSpan {
                kind: "overloaded",
                text: "utilisation ≥ 1: the backlog can only grow".into(),
                first_s: 10.0,
                last_s: 30.0,
            },
            // 35 s of p99 wait against 2 s of service: the words of the last sighting.
            WarningSpan {
                kind: "long_tail",
                text: "p99 queue wait is 18× the service time".into(),
                first_s: 12.0,
                last_s: 13.0,
            },
        ]
    );
}

#[test]
fn warning_history_stays_one_entry_per_kind() {
    let mut history = WarningHistory::default();
    for k in 0..10_000 {
        history.observe(&at(fixtures::overloaded(), 50 * k));
    }
    let spans = history.spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    assert_eq!((spans[0].first_s, spans[0].last_s), (0.0, 499.95));
}

// ---- the verdict's changes ----

/// Feeds `snapshots` in turn; returns what each one confirmed.
fn changes(watch: &mut VerdictChanges, snapshots: Vec<Snapshot>) -> Vec<Option<VerdictChange>> {
    snapshots.iter().map(|s| watch.observe(s)).collect()
}

#[test]
fn a_verdict_change_is_news_once_it_held_half_a_second_of_snapshots() {
    let mut watch = VerdictChanges::default();
    // Snapshots every 50 ms: the first verdict of the run is confirmed at 500 ms, dated 0.
    let start = changes(
        &mut watch,
        (0..=10)
            .map(|k| at(fixtures::keeping_up(), 50 * k))
            .collect(),
    );
    assert!(start[..10].iter().all(Option::is_none), "{start:?}");
    assert_eq!(
        start[10],
        Some(VerdictChange {
            at_ns: 0,
            verdict: Verdict::KeepingUp
        })
    );
    assert_eq!(watch.pending_since_ns(), None);
    // A blip of two snapshots is noise: nothing is reported, and nothing stays pending.
    let blip = changes(
        &mut watch,
        vec![
            at(fixtures::overloaded(), 550),
            at(fixtures::overloaded(), 600),
        ],
    );
    assert_eq!(blip, vec![None, None]);
    assert_eq!(watch.pending_since_ns(), Some(550 * MS));
    assert_eq!(watch.observe(&at(fixtures::keeping_up(), 650)), None);
    assert_eq!(watch.pending_since_ns(), None);
    // An overload that lasts is reported once, dated when it was first seen.
    let overload = changes(
        &mut watch,
        (0..=20)
            .map(|k| at(fixtures::overloaded(), 700 + 50 * k))
            .collect(),
    );
    let reported: Vec<_> = overload
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_some())
        .collect();
    assert_eq!(reported.len(), 1, "{overload:?}");
    let (index, change) = reported[0];
    assert_eq!(index, 10, "confirmed at 1200 ms");
    let change = change.as_ref().unwrap();
    assert_eq!(change.at_ns, 700 * MS);
    assert_eq!(
        change.verdict.text(),
        "overloaded: backlog grows by 0.2/s, needs ≥ 5 workers"
    );
}

#[test]
fn at_a_high_speed_a_change_needs_three_snapshots() {
    let mut watch = VerdictChanges::default();
    // --speed 40: 50 ms of wall time between snapshots is 2 s of model time.
    let seen = changes(
        &mut watch,
        (0..3)
            .map(|k| at(fixtures::overloaded(), 2_000 * k))
            .collect(),
    );
    assert_eq!(seen[..2], [None, None]);
    assert_eq!(seen[2].as_ref().map(|c| c.at_ns), Some(0));
}

#[test]
fn the_end_of_the_run_is_not_a_verdict_change() {
    let mut watch = VerdictChanges::default();
    changes(
        &mut watch,
        (0..=10)
            .map(|k| at(fixtures::overloaded(), 50 * k))
            .collect(),
    );
    assert_eq!(watch.observe(&at(fixtures::keeping_up(), 550)), None);
    assert_eq!(watch.pending_since_ns(), Some(550 * MS));
    // Over: the pending change is dropped, and the finish itself is left to the closing line.
    for t_ms in [600, 650, 700, 1_200] {
        assert_eq!(watch.observe(&at(fixtures::finished(), t_ms)), None);
        assert_eq!(watch.pending_since_ns(), None);
    }
}

#[test]
fn the_achieved_rate_says_paused_and_outlives_the_source() {
    use backlog::engine::RunState;
    use backlog::model::achieved::{self, Achieved};
    let mut s = fixtures::keeping_up();
    assert_eq!(achieved::achieved(&s), Achieved::Rate(1.1));
    s.state = RunState::Paused;
    assert_eq!(achieved::text(&s), "paused");
    // Finished long after the source ended: no active time in the recent window, so the
    // rate over the source's active time, not a figure that decays after the end.
    s.state = RunState::Finished;
    s.recent_achieved_rate_per_s = None;
    assert_eq!(achieved::achieved(&s), Achieved::Rate(s.arrival_rate_per_s));
}

#[test]
fn the_engines_own_wait_is_stated_in_model_and_wall_time_when_sped_up() {
    use backlog::model::overhead::EngineOverhead;
    let mut s = fixtures::keeping_up();
    s.engine_overhead = fixtures::summary(&[5_000_000; 100]);
    // At speed 1 a wait is what it is: nothing to tell apart.
    assert_eq!(EngineOverhead::note(&s), None);
    s.speed = 10.0;
    let o = EngineOverhead::of(&s);
    assert_eq!(o.wall_p99_ns * 10.0, o.model_p99_ns as f64);
    let note = EngineOverhead::note(&s).unwrap();
    assert!(note.starts_with("engine's own wait p99 5"), "{note}");
    assert!(note.ends_with("wall × 10)"), "{note}");
}
