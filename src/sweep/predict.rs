//! What theory expects at one point: the closed forms where they hold (Erlang C's wait and
//! sojourn distributions for M/M/c, D/D/c), the twin's replications for the rest, with their
//! interval; nothing for a load no setting describes (a trace, exec work).

use serde::Serialize;

use super::figures::{Figure, Figures};
use crate::engine::SourceKind;
use crate::engine::settings::{Settings, WorkMode};
use crate::model::forecast::range95;
use crate::model::theory::{self, Method, Prediction, TheoryInput};
use crate::model::twin::{self, Estimate, TwinConfig, TwinRun};

/// Twin replications per prediction, and arrivals each (after a tenth more as warm-up).
const REPLICATIONS: u64 = 8;
const EVENTS: u64 = 50_000;

/// A point's prediction.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Predicted {
    #[serde(flatten)]
    pub figures: Figures,
    /// How the figures were obtained: "exact: Erlang C", "simulated: twin, 8 × 50000 events",
    /// "fluid" (overloaded), "none: ..." (no prediction).
    pub method: String,
    /// ρ = λ / (c μ), with c the servers that add capacity; none without a prediction.
    #[serde(skip)]
    pub rho: Option<f64>,
    /// Whether the pool keeps up (a queue that sheds always does); none without a prediction.
    #[serde(skip)]
    pub stable: Option<bool>,
    /// λ − c μ for an overloaded pool, events per second.
    #[serde(skip)]
    pub growth_per_s: Option<f64>,
    /// The servers that add capacity (cpu work: at most the cores).
    #[serde(skip)]
    pub servers: Option<usize>,
    /// The twin replaying the point's very events, once it has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_events: Option<SameEvents>,
}

/// What the ideal pool does with the point's very events: the twin draws the engine's arrivals
/// and demands under the run's seed, so it replays the same stream (the warm-up's arrivals
/// first, then the window's), wall-clock demands stretched as much as the machine stretched
/// them (a busy core wakes a sleeping worker late). What is left between it and the
/// measurement is the engine's own doing; between it and the steady state, the stream's luck.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SameEvents {
    /// Service taken over demand drawn, for the window's events (1: on time).
    pub stretch: f64,
    pub mean_wait_ms: f64,
    pub p99_wait_ms: f64,
}

/// Adds [`SameEvents`] for a stable point whose window saw `events` arrivals after `before`
/// in the warm-up, its services `stretch` times their demands.
pub fn add_same_events(
    predicted: &mut Predicted,
    settings: &Settings,
    cores: usize,
    seed: u64,
    (before, events): (u64, u64),
    stretch: f64,
) {
    if predicted.stable != Some(true) || events == 0 || !stretch.is_finite() {
        return;
    }
    let mut config = TwinConfig::from_settings(settings, cores);
    if settings.work != WorkMode::Cpu {
        config.service = settings.service.mul_f64(stretch.max(0.0));
    }
    let run = twin::simulate(&config, seed, before, events);
    predicted.same_events = Some(SameEvents {
        stretch,
        mean_wait_ms: run.mean_wait_s() * 1e3,
        p99_wait_ms: run.waits_ns.value_at_quantile(0.99) as f64 / 1e6,
    });
}

/// The prediction for `settings` with `cores` cores, for events from `source`.
pub fn predict(settings: &Settings, cores: usize, source: &SourceKind, seed: u64) -> Predicted {
    if let Some(why) = unpredictable(settings, source) {
        return Predicted {
            method: format!("none: {why}"),
            ..Predicted::default()
        };
    }
    let theory = theory::predict(&TheoryInput::from_settings(settings, cores));
    let base = Predicted {
        rho: Some(theory.utilization),
        stable: Some(theory.stable),
        servers: Some(theory.servers),
        ..Predicted::default()
    };
    if !theory.stable {
        return Predicted {
            method: "fluid".into(),
            growth_per_s: theory.backlog_growth_per_s,
            figures: Figures {
                throughput_per_s: Some(theory.servers as f64 / theory.service_mean_s),
                drop_fraction: Some(0.0),
                ..Figures::default()
            },
            ..base
        };
    }
    let (figures, method) = match theory.formula.as_str() {
        "Erlang C" => (erlang_c(&theory), "exact: Erlang C".to_string()),
        "D/D/c" => (deterministic(&theory), "exact: D/D/c".to_string()),
        _ => simulated(settings, cores, seed, &theory),
    };
    Predicted {
        figures,
        method,
        ..base
    }
}

/// Why a point gets no prediction, if it does not.
fn unpredictable(settings: &Settings, source: &SourceKind) -> Option<&'static str> {
    if settings.work == WorkMode::Exec {
        return Some("exec work has no known demand");
    }
    match source {
        SourceKind::Generator => None,
        SourceKind::Trace(..) => Some("the twin cannot replay a trace"),
        SourceKind::Stdin => Some("lines from stdin have no known law"),
        SourceKind::Broker(_) => Some("a broker's stream has no known law"),
    }
}

fn ms(seconds: f64) -> Option<f64> {
    seconds.is_finite().then_some(seconds * 1e3)
}

/// M/M/c: P(wait > t) = C e^(−(cμ − λ) t), and the sojourn adds an independent Exp(μ) service.
fn erlang_c(p: &Prediction) -> Figures {
    let mmc = Mmc::of(p);
    let mean_wait_s = p.mean_wait_s.unwrap_or(0.0);
    Figures {
        throughput_per_s: Some(p.rate_per_s),
        drop_fraction: Some(0.0),
        mean_wait_ms: ms(mean_wait_s),
        p50_wait_ms: ms(mmc.wait_quantile_s(0.50)),
        p95_wait_ms: ms(mmc.wait_quantile_s(0.95)),
        p99_wait_ms: ms(mmc.wait_quantile_s(0.99)),
        e2e_mean_ms: ms(mean_wait_s + p.service_mean_s),
        e2e_p99_ms: ms(mmc.sojourn_quantile_s(0.99)),
        ..Figures::default()
    }
}

/// D/D/c that keeps up: nobody waits, every event takes the service time.
fn deterministic(p: &Prediction) -> Figures {
    Figures {
        throughput_per_s: Some(p.rate_per_s),
        drop_fraction: Some(0.0),
        mean_wait_ms: Some(0.0),
        p50_wait_ms: Some(0.0),
        p95_wait_ms: Some(0.0),
        p99_wait_ms: Some(0.0),
        e2e_mean_ms: ms(p.service_mean_s),
        e2e_p99_ms: ms(p.service_mean_s),
        ..Figures::default()
    }
}

/// A stable M/M/c queue's distributions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mmc {
    /// Erlang C: the probability an arrival waits.
    pub p_wait: f64,
    /// cμ − λ: the rate the tail of the wait decays at, per second.
    pub decay_per_s: f64,
    /// μ, per second.
    pub service_rate_per_s: f64,
}

impl Mmc {
    fn of(p: &Prediction) -> Self {
        let mu = 1.0 / p.service_mean_s;
        Self {
            p_wait: p.p_wait.unwrap_or(0.0),
            decay_per_s: p.servers as f64 * mu - p.rate_per_s,
            service_rate_per_s: mu,
        }
    }

    /// The `q`-quantile of the queue wait, s: 0 while most arrivals do not wait.
    pub fn wait_quantile_s(&self, q: f64) -> f64 {
        crate::model::exact::erlang_c_wait_quantile(self.p_wait, self.decay_per_s, q)
    }

    /// P(wait + service > t): a wait of Exp(cμ − λ) with probability C, then Exp(μ).
    fn sojourn_survival(&self, t: f64) -> f64 {
        let (theta, mu) = (self.decay_per_s, self.service_rate_per_s);
        let both = if (theta - mu).abs() < 1e-9 * mu {
            (1.0 + mu * t) * (-mu * t).exp()
        } else {
            (theta * (-mu * t).exp() - mu * (-theta * t).exp()) / (theta - mu)
        };
        (1.0 - self.p_wait) * (-mu * t).exp() + self.p_wait * both
    }

    /// The `q`-quantile of the time from arrival to finish, s (by bisection).
    pub fn sojourn_quantile_s(&self, q: f64) -> f64 {
        let target = 1.0 - q;
        let mut hi = 1.0 / self.service_rate_per_s;
        while self.sojourn_survival(hi) > target && hi < 1e12 {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..100 {
            let mid = (lo + hi) / 2.0;
            if self.sojourn_survival(mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo + hi) / 2.0
    }
}

/// The twin's replications: the mean wait with its interval, the percentiles of every wait
/// simulated; a closed form's mean (M/M/c/K, Pollaczek-Khinchine) where theory has one.
fn simulated(
    settings: &Settings,
    cores: usize,
    seed: u64,
    theory: &Prediction,
) -> (Figures, String) {
    let config = TwinConfig::from_settings(settings, cores);
    let runs: Vec<TwinRun> = (0..REPLICATIONS)
        .map(|r| {
            twin::simulate(
                &config,
                twin::seed_of_replication(seed, r),
                EVENTS / 10,
                EVENTS,
            )
        })
        .collect();
    let of = |f: fn(&TwinRun) -> f64| Estimate::of(&runs.iter().map(f).collect::<Vec<_>>());
    let wait = of(TwinRun::mean_wait_s);
    let mut waits = twin::wait_histogram();
    for run in &runs {
        let _ = waits.add(&run.waits_ns);
    }
    let quantile_ms = |q: f64| Some(waits.value_at_quantile(q) as f64 / 1e6);
    let p_drop = of(TwinRun::p_drop).mean;
    let twin_method = format!("twin, {REPLICATIONS} × {EVENTS} events");
    let exact_mean = theory.method == Method::Exact;
    let (mean_wait_ms, ci, method) = if exact_mean {
        let method = format!("exact: {}; percentiles: {twin_method}", theory.formula);
        (theory.mean_wait_s.and_then(ms), None, method)
    } else {
        let ci = [wait.mean - wait.half_width, wait.mean + wait.half_width];
        let ci = [ci[0].max(0.0) * 1e3, ci[1] * 1e3];
        (ms(wait.mean), Some(ci), format!("simulated: {twin_method}"))
    };
    let drop = if exact_mean { theory.p_drop } else { p_drop };
    let figures = Figures {
        throughput_per_s: Some(theory.rate_per_s * (1.0 - drop)),
        drop_fraction: Some(drop),
        mean_wait_ms,
        mean_wait_ms_ci95: ci,
        p50_wait_ms: quantile_ms(0.50),
        p95_wait_ms: quantile_ms(0.95),
        p99_wait_ms: quantile_ms(0.99),
        e2e_mean_ms: ms(of(TwinRun::mean_sojourn_s).mean),
        e2e_p99_ms: None,
        ..Figures::default()
    };
    (figures, method)
}

/// Most events the single-run replications of one point may simulate, in all (about 0.2 s of
/// the twin), and their fewest and most replications. A 95% range is a pair of tail quantiles:
/// from 40 runs its ends are each one or two order statistics, and the upper one of a heavy
/// tail comes out low (at M/M/5 and ρ 0.9, 1.43 s against the 2.08 s of 20,000 runs of
/// `bench/mmc_window.py`), so a point runs up to 2,000 when they are short.
const SPREAD_EVENTS: u64 = 4_000_000;
const SPREAD_REPLICATIONS: (u64, u64) = (40, 2_000);

/// Where 95% of single runs of `window_s` after a warm-up of `warmup_s` land (model s), for
/// the mean wait and the wait percentiles: the twin's replications of runs that long, from an
/// empty pool like the point's. Nothing for a point without a prediction or overloaded.
pub fn add_single_run_spread(
    predicted: &mut Predicted,
    settings: &Settings,
    cores: usize,
    seed: u64,
    (warmup_s, window_s): (f64, f64),
) {
    if predicted.stable != Some(true) {
        return;
    }
    let config = TwinConfig::from_settings(settings, cores);
    let warmup = (config.rate_per_s * warmup_s).ceil() as u64;
    let events = ((config.rate_per_s * window_s).ceil() as u64).max(2);
    let replications =
        (SPREAD_EVENTS / (warmup + events)).clamp(SPREAD_REPLICATIONS.0, SPREAD_REPLICATIONS.1);
    let runs: Vec<TwinRun> = (0..replications)
        .map(|r| {
            let seed = twin::seed_of_replication(seed ^ SPREAD_SEED, r);
            twin::simulate(&config, seed, warmup, events)
        })
        .collect();
    let figures = &mut predicted.figures;
    let ms = |s: f64| s * 1e3;
    let means: Vec<f64> = runs.iter().map(|r| ms(r.mean_wait_s())).collect();
    figures.set_run95(Figure::MeanWait, range95(means));
    for (figure, q) in [
        (Figure::P50Wait, 0.50),
        (Figure::P95Wait, 0.95),
        (Figure::P99Wait, 0.99),
    ] {
        let values = runs
            .iter()
            .map(|r| r.waits_ns.value_at_quantile(q) as f64 / 1e6)
            .collect();
        figures.set_run95(figure, range95(values));
    }
}

/// Keeps the single-run replications apart from the steady-state ones.
const SPREAD_SEED: u64 = 0x005E_ED0F_5A3E;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::ServiceDist;

    use crate::sweep::mmc_at_9_per_s as mmc;

    fn predicted(workers: usize) -> Predicted {
        predict(&mmc(workers), 2, &SourceKind::Generator, 1)
    }

    /// The figures: M/M/6 at 9/s and 500 ms has p99 wait 1.25 s, M/M/5 4.3 s. By
    /// hand: C(6, 4.5) = 0.42165, ln(C / 0.01) / (12 − 9) = 1.2472 s; C(5, 4.5) = 0.76249,
    /// ln(C / 0.01) / (10 − 9) = 4.3340 s.
    #[test]
    fn erlang_c_p99_wait_on_the_defaults() {
        let six = predicted(6);
        let p99 = six.figures.p99_wait_ms.unwrap();
        assert!((p99 - 1247.2).abs() < 0.1, "{six:?}");
        assert_eq!((p99 / 10.0).round() / 100.0, 1.25);
        assert_eq!(six.method, "exact: Erlang C");
        let five = predicted(5).figures.p99_wait_ms.unwrap();
        assert!((five - 4334.0).abs() < 0.1, "{five}");
        assert_eq!((five / 100.0).round() / 10.0, 4.3);
        // Mean wait C / (cμ − λ), and p50 0 while fewer than half wait.
        let mean = six.figures.mean_wait_ms.unwrap();
        assert!((mean - 140.55).abs() < 0.01, "{mean}");
        assert_eq!(six.figures.p50_wait_ms, Some(0.0));
        assert!(predicted(4).figures.p99_wait_ms.is_none());
        assert_eq!(predicted(4).stable, Some(false));
        assert!((predicted(4).growth_per_s.unwrap() - 1.0).abs() < 1e-9);
    }

    /// The wait's quantiles invert its distribution, and the sojourn's survival is the
    /// wait's and the service's convolved: checked against a numerical convolution.
    #[test]
    fn mmc_quantiles_invert_their_distributions() {
        let q = Mmc {
            p_wait: 0.6,
            decay_per_s: 3.0,
            service_rate_per_s: 2.0,
        };
        let t = q.wait_quantile_s(0.99);
        assert!((0.6 * (-3.0 * t).exp() - 0.01).abs() < 1e-12);
        assert_eq!(q.wait_quantile_s(0.3), 0.0);
        let t = 1.7;
        let steps = 200_000;
        let dt = t / steps as f64;
        // P(W + S > t) = P(S > t) + ∫ f_W(w) P(S > t − w) dw over w in (0, t), plus P(W > t).
        let mut survival = (1.0 - 0.6) * (-2.0 * t).exp() + 0.6 * (-3.0 * t).exp();
        for i in 0..steps {
            let w = (i as f64 + 0.5) * dt;
            survival += 0.6 * 3.0 * (-3.0 * w).exp() * (-2.0 * (t - w)).exp() * dt;
        }
        assert!((q.sojourn_survival(t) - survival).abs() < 1e-6);
        let p99 = q.sojourn_quantile_s(0.99);
        assert!((q.sojourn_survival(p99) - 0.01).abs() < 1e-9);
        let same = Mmc {
            decay_per_s: 2.0,
            ..q
        };
        assert!((same.sojourn_survival(0.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_twin_predicts_what_no_formula_does_with_its_interval() {
        let settings = Settings {
            service_dist: ServiceDist::Uniform,
            ..mmc(6)
        };
        let p = predict(&settings, 2, &SourceKind::Generator, 1);
        assert!(p.method.starts_with("simulated: twin"), "{p:?}");
        let [lo, hi] = p.figures.mean_wait_ms_ci95.unwrap();
        let mean = p.figures.mean_wait_ms.unwrap();
        assert!(lo < mean && mean < hi, "{p:?}");
        // Less variable service than M/M/6 waits less (Allen-Cunneen's (1 + 1/3) / 2).
        let mm6 = predicted(6).figures.mean_wait_ms.unwrap();
        assert!(mean < mm6 && mean > 0.5 * mm6, "{mean} against {mm6}");
        assert!(p.figures.p99_wait_ms.unwrap() > p.figures.p50_wait_ms.unwrap());
    }

    /// A minute of M/M/5 at ρ 0.9 is far from its steady state's precision: single runs'
    /// means spread widely around Erlang C's 737 ms.
    #[test]
    fn single_runs_spread_around_the_steady_state() {
        let spread = |workers: usize| {
            let s = mmc(workers);
            let mut p = predict(&s, 2, &SourceKind::Generator, 1);
            add_single_run_spread(&mut p, &s, 2, 1, (12.0, 60.0));
            let mean = p.figures.mean_wait_ms.unwrap();
            let [lo, hi] = p.figures.mean_wait_ms_run95.unwrap();
            assert!(
                lo < mean && mean < hi,
                "{workers}: {lo}..{hi} around {mean}"
            );
            let [p99_lo, p99_hi] = p.figures.p99_wait_ms_run95.unwrap();
            assert!(p99_lo < p99_hi);
            (hi - lo) / mean
        };
        assert!(spread(5) > 0.5, "{}", spread(5));
        spread(6);
        let mut overloaded = predicted(4);
        add_single_run_spread(&mut overloaded, &mmc(4), 2, 1, (12.0, 60.0));
        assert_eq!(overloaded.figures.mean_wait_ms_run95, None);
    }

    /// The ends of the range are those of an independent simulation: `python3
    /// bench/mmc_window.py --workers 5` (20,000 runs of a 12 s warm-up and a 60 s window) puts
    /// 95% of M/M/5's minutes between 180 and 2,096 ms, and M/M/6's between 43.3 and 339 ms.
    /// From 40 runs the upper end was 1,430 ms.
    #[test]
    fn single_run_range_matches_an_independent_simulation() {
        for (workers, [lo, hi]) in [(5, [180.0, 2095.7]), (6, [43.3, 339.4])] {
            let s = mmc(workers);
            let mut p = predict(&s, 2, &SourceKind::Generator, 1);
            add_single_run_spread(&mut p, &s, 2, 1, (12.0, 60.0));
            let [twin_lo, twin_hi] = p.figures.mean_wait_ms_run95.unwrap();
            let near = |a: f64, b: f64| (a / b - 1.0).abs() < 0.12;
            assert!(
                near(twin_lo, lo) && near(twin_hi, hi),
                "{workers} workers: twin {twin_lo:.1}-{twin_hi:.1} ms, independent {lo}-{hi} ms"
            );
        }
    }

    #[test]
    fn range95_interpolates_between_order_statistics() {
        let values: Vec<f64> = (0..=40).map(f64::from).collect();
        assert_eq!(range95(values), Some([1.0, 39.0]));
        assert_eq!(range95(vec![3.0]), None);
    }

    #[test]
    fn exec_work_and_traces_get_no_prediction() {
        let settings = Settings {
            work: WorkMode::Exec,
            ..mmc(6)
        };
        let p = predict(&settings, 2, &SourceKind::Generator, 1);
        assert!(p.method.starts_with("none"));
        assert_eq!(p.figures, Figures::default());
        assert_eq!(p.stable, None);
    }
}
