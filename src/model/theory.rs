//! Queueing-theory predictions for the current settings: utilization, expected wait, backlog growth and workers needed.

use serde::{Deserialize, Serialize};

use crate::engine::settings::{ArrivalProcess, LOGNORMAL_CV, ServiceDist, Settings, WorkMode};

/// Relative slack when judging D/D/c at exactly rho == 1: the article's case (1/s, 5 s, 5 workers)
/// must count as keeping up even if floating point lands a hair above 1.
const DD_TOLERANCE: f64 = 1e-9;

/// What theory needs to know; build it from Settings with `TheoryInput::from_settings(&Settings, cores)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TheoryInput {
    pub arrival: ArrivalProcess,
    /// Group size for Bursty arrivals.
    pub burst: u32,
    /// lambda, events per second (0 when the source is paused).
    pub rate_per_s: f64,
    /// Mean service demand, seconds (may be 0).
    pub service_mean_s: f64,
    /// Squared coefficient of variation of the service demand.
    pub service_cv2: f64,
    /// The service demand is the same for every event.
    pub service_fixed: bool,
    /// The service demand is exponential (memoryless): the only case Erlang C is exact for.
    pub service_exponential: bool,
    /// c, the worker count.
    pub workers: usize,
    pub work: WorkMode,
    /// In Cpu mode the effective server count is min(workers, cores).
    pub cores: usize,
}

impl TheoryInput {
    pub fn from_settings(settings: &Settings, cores: usize) -> Self {
        Self {
            arrival: settings.arrival,
            burst: settings.burst,
            rate_per_s: if settings.paused {
                0.0
            } else {
                settings.rate.get()
            },
            service_mean_s: settings.service.as_secs_f64(),
            service_cv2: settings.service_dist.cv2(LOGNORMAL_CV),
            service_fixed: settings.service_dist == ServiceDist::Fixed,
            service_exponential: settings.service_dist == ServiceDist::Exp,
            workers: settings.workers,
            work: settings.work,
            cores,
        }
    }

    /// Workers that actually add capacity: CPU-bound work cannot use more workers than cores.
    fn servers(&self) -> usize {
        match self.work {
            WorkMode::Sleep | WorkMode::Exec => self.workers,
            WorkMode::Cpu => self.workers.min(self.cores),
        }
    }

    /// Extra workers past this many add nothing (None: every worker counts).
    fn server_cap(&self) -> Option<usize> {
        match self.work {
            WorkMode::Sleep | WorkMode::Exec => None,
            WorkMode::Cpu => Some(self.cores),
        }
    }

    /// Nothing to queue for: the source is paused or work takes no time.
    fn idle(&self) -> bool {
        !(self.rate_per_s > 0.0 && self.service_mean_s > 0.0)
    }

    /// Offered load a = lambda / mu = lambda * mean service, in erlangs (busy servers needed on average).
    fn offered_load(&self) -> f64 {
        finite(self.rate_per_s * self.service_mean_s)
    }
}

/// What the theory expects at the given settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Kendall notation and method, short enough for a terminal panel (<= 24 chars).
    pub model: String,
    /// Effective c (cpu mode: min(workers, cores)).
    pub servers: usize,
    /// rho = lambda / (c * mu); 0 when service or rate is 0.
    pub utilization: f64,
    /// Probability an arrival waits; None when unstable.
    pub p_wait: Option<f64>,
    /// Mean queue wait Wq, seconds; None when unstable.
    pub mean_wait_s: Option<f64>,
    /// Lq = lambda * Wq; None when unstable.
    pub mean_queue_len: Option<f64>,
    /// lambda - c * mu, events per second, when unstable; None when stable.
    pub backlog_growth_per_s: Option<f64>,
    /// Smallest worker count that keeps up; None if no count can (cpu mode past the core count).
    pub min_stable_workers: Option<usize>,
    pub stable: bool,
    /// The lambda and mean service demand this was predicted for, so that whoever reads the
    /// prediction (the verdict, a drain time) needs no second copy of the settings' theory input.
    pub rate_per_s: f64,
    pub service_mean_s: f64,
}

impl Default for Prediction {
    fn default() -> Self {
        Self {
            model: String::new(),
            servers: 0,
            utilization: 0.0,
            p_wait: None,
            mean_wait_s: None,
            mean_queue_len: None,
            backlog_growth_per_s: None,
            min_stable_workers: None,
            stable: true,
            rate_per_s: 0.0,
            service_mean_s: 0.0,
        }
    }
}

impl Prediction {
    /// Seconds to empty a backlog of `queued` events at the current settings, if the pool drains
    /// faster than events arrive (capacity c*mu - lambda > 0). None otherwise; 0 when queued == 0
    /// and the pool at least keeps up. A fluid estimate: random arrivals only add noise around it.
    pub fn drain_time_s(&self, queued: u64) -> Option<f64> {
        if self.service_mean_s <= 0.0 {
            return Some(0.0); // infinite service rate: any backlog is gone at once
        }
        let capacity = self.servers as f64 / self.service_mean_s;
        let spare = capacity - self.rate_per_s.max(0.0);
        if spare < -DD_TOLERANCE * capacity {
            return None;
        }
        if queued == 0 {
            return Some(0.0);
        }
        if spare <= 0.0 {
            return None;
        }
        let seconds = queued as f64 / spare;
        seconds.is_finite().then_some(seconds)
    }
}

/// How the wait is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    /// D/D/c: no randomness, so no queue while capacity suffices.
    Exact,
    /// M/M/c: Erlang C is exact.
    ErlangC,
    /// Anything else: Allen-Cunneen scales the M/M/c wait by the variability (ca2 + cs2) / 2.
    AllenCunneen,
}

/// Arrival and service variability, with their Kendall letters.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Shape {
    arrival: &'static str,
    service: &'static str,
    /// Squared coefficient of variation of inter-arrival gaps.
    ca2: f64,
    /// Squared coefficient of variation of service demands.
    cs2: f64,
}

impl Shape {
    fn of(input: &TheoryInput) -> Self {
        let (arrival, ca2) = arrival_variability(input.arrival, input.burst);
        let (service, cs2) = service_variability(
            input.service_fixed,
            input.service_exponential,
            input.service_cv2,
        );
        Self {
            arrival,
            service,
            ca2,
            cs2,
        }
    }

    fn method(self) -> Method {
        match (self.arrival, self.service) {
            ("D", "D") => Method::Exact,
            ("M", "M") => Method::ErlangC,
            _ => Method::AllenCunneen,
        }
    }

    fn name(self) -> String {
        match self.method() {
            Method::Exact => "D/D/c".into(),
            Method::ErlangC => "M/M/c (Erlang C)".into(),
            Method::AllenCunneen => format!("{}/{}/c (Allen-Cunneen)", self.arrival, self.service),
        }
    }
}

/// Kendall letter and squared coefficient of variation (ca2) of the inter-arrival gaps.
///
/// Bursty sends groups of B events at once, groups spaced B/lambda apart (mean gap 1/lambda).
/// Of every B gaps, B-1 are 0 and one is B/lambda, so E[X^2] = (1/B)(B/lambda)^2 = B/lambda^2,
/// Var = B/lambda^2 - 1/lambda^2 = (B-1)/lambda^2 and ca2 = Var * lambda^2 = B - 1.
/// A group of one is plain fixed spacing, so it is named and treated as D.
fn arrival_variability(arrival: ArrivalProcess, burst: u32) -> (&'static str, f64) {
    match arrival {
        ArrivalProcess::Fixed => ("D", 0.0),
        ArrivalProcess::Poisson => ("M", 1.0),
        ArrivalProcess::Bursty if burst <= 1 => ("D", 0.0),
        // "D^B": batch-of-B arrivals at fixed spacing; short enough for the panel.
        ArrivalProcess::Bursty => ("D^B", f64::from(burst) - 1.0),
    }
}

/// Kendall letter and squared coefficient of variation (cs2) of the service demand.
/// Only exponential service is M: a lognormal with cv2 == 1 is still G (Erlang C is not exact for it).
fn service_variability(fixed: bool, exponential: bool, cv2: f64) -> (&'static str, f64) {
    let cv2 = if cv2.is_finite() { cv2.max(0.0) } else { 0.0 };
    if fixed || cv2 == 0.0 {
        ("D", 0.0)
    } else if exponential {
        ("M", 1.0)
    } else {
        ("G", cv2)
    }
}

/// Predicts utilization, wait, queue length, backlog growth and the workers needed.
///
/// For anything but D/D/c and M/M/c this is the Allen-Cunneen approximation: the wait is the
/// M/M/c wait times (ca2 + cs2) / 2, and `p_wait` is simply Erlang C, the M/M/c probability of
/// waiting (an approximation; exact for M/M/c, and for c = 1 the wait matches Pollaczek-Khinchine).
pub fn predict(input: &TheoryInput) -> Prediction {
    let shape = Shape::of(input);
    let method = shape.method();
    let servers = input.servers();
    let base = Prediction {
        model: shape.name(),
        servers,
        rate_per_s: input.rate_per_s,
        service_mean_s: input.service_mean_s,
        ..Prediction::default()
    };
    if input.idle() {
        return idle_prediction(base);
    }

    let load = input.offered_load();
    let utilization = finite(load / servers as f64);
    let stable = match method {
        Method::Exact => utilization <= 1.0 + DD_TOLERANCE,
        Method::ErlangC | Method::AllenCunneen => utilization < 1.0,
    };
    let min_stable_workers = min_stable_workers(load, method, input.server_cap());
    let base = Prediction {
        utilization,
        stable,
        min_stable_workers,
        ..base
    };
    if !stable {
        let growth = backlog_growth(input.rate_per_s, servers, input.service_mean_s);
        return Prediction {
            backlog_growth_per_s: Some(growth),
            ..base
        };
    }

    let (p_wait, wait_s) = match method {
        Method::Exact => (0.0, 0.0),
        Method::ErlangC => erlang_wait(servers, load, input.service_mean_s),
        Method::AllenCunneen => {
            let (p_wait, mm_wait_s) = erlang_wait(servers, load, input.service_mean_s);
            (p_wait, finite(mm_wait_s * (shape.ca2 + shape.cs2) / 2.0))
        }
    };
    Prediction {
        p_wait: Some(p_wait),
        mean_wait_s: Some(wait_s),
        mean_queue_len: Some(finite(input.rate_per_s * wait_s)),
        ..base
    }
}

/// Paused source or zero-time work: nothing ever waits and one worker is plenty.
fn idle_prediction(base: Prediction) -> Prediction {
    Prediction {
        utilization: 0.0,
        p_wait: Some(0.0),
        mean_wait_s: Some(0.0),
        mean_queue_len: Some(0.0),
        backlog_growth_per_s: None,
        min_stable_workers: Some(1),
        stable: true,
        ..base
    }
}

/// M/M/c probability of waiting and mean wait: Wq = C / (c*mu - lambda) = C * s / (c - a).
/// Only called when stable (a < c).
fn erlang_wait(servers: usize, load: f64, service_s: f64) -> (f64, f64) {
    let p_wait = erlang_c(servers, load);
    let spare_servers = servers as f64 - load;
    (p_wait, finite(p_wait * service_s / spare_servers))
}

/// Events per second the backlog grows by when arrivals outpace capacity: lambda - c*mu.
fn backlog_growth(rate_per_s: f64, servers: usize, service_s: f64) -> f64 {
    let growth = rate_per_s - servers as f64 / service_s;
    // Only reachable when unstable, so c*mu <= lambda; a non-finite c*mu cannot happen there,
    // but clamp so a pathological input never yields NaN or a negative rate.
    if growth.is_finite() {
        growth.max(0.0)
    } else {
        finite(rate_per_s)
    }
}

/// Smallest worker count c' that keeps up with offered load `load`: the first c' > a
/// (for D/D/c the first c' >= a, with the same slack as the stability test). With a server cap
/// (cpu mode: cores), workers beyond the cap add nothing, so a load needing more is hopeless.
fn min_stable_workers(load: f64, method: Method, cap: Option<usize>) -> Option<usize> {
    let needed = match method {
        Method::Exact => (load / (1.0 + DD_TOLERANCE)).ceil(),
        Method::ErlangC | Method::AllenCunneen => load.floor() + 1.0,
    }
    .max(1.0);
    // A load beyond any usize (only from absurd inputs) cannot be met by any count.
    if needed.is_nan() || needed >= usize::MAX as f64 {
        return None;
    }
    let needed = needed as usize;
    match cap {
        Some(cap) if needed > cap => None,
        _ => Some(needed),
    }
}

/// Probability of waiting in M/M/c (Erlang C) for `servers` servers and offered load a = lambda/mu.
///
/// Uses the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1, which never forms
/// a^c or c! and so stays accurate for thousands of servers, then C = B / (1 - rho (1 - B)).
/// Returns 1 when the system cannot keep up (a >= c, or no servers) and 0 for no load.
pub fn erlang_c(servers: usize, offered_load: f64) -> f64 {
    if offered_load.is_nan() || offered_load <= 0.0 {
        return 0.0;
    }
    let c = servers as f64;
    if servers == 0 || offered_load >= c {
        return 1.0;
    }
    let a = offered_load;
    let mut b = 1.0;
    for k in 1..=servers {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c;
    let waiting = b / (1.0 - rho * (1.0 - b));
    if waiting.is_finite() {
        waiting.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Keeps results printable: NaN becomes 0, overflow saturates at the largest finite value.
fn finite(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(-f64::MAX, f64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, rel: f64) -> bool {
        (actual - expected).abs() <= rel * expected.abs().max(1e-12)
    }

    fn input(
        arrival: ArrivalProcess,
        rate: f64,
        service: f64,
        service_dist: ServiceDist,
        workers: usize,
    ) -> TheoryInput {
        TheoryInput {
            arrival,
            burst: 5,
            rate_per_s: rate,
            service_mean_s: service,
            service_cv2: service_dist.cv2(LOGNORMAL_CV),
            service_fixed: service_dist == ServiceDist::Fixed,
            service_exponential: service_dist == ServiceDist::Exp,
            workers,
            work: WorkMode::Sleep,
            cores: 4,
        }
    }

    fn mm(rate: f64, service: f64, workers: usize) -> TheoryInput {
        input(
            ArrivalProcess::Poisson,
            rate,
            service,
            ServiceDist::Exp,
            workers,
        )
    }

    /// Textbook Erlang C straight from factorials: only usable for small c, independent of the recursion.
    fn erlang_c_direct(c: usize, a: f64) -> f64 {
        let term = |k: usize| a.powi(k as i32) / (1..=k).map(|i| i as f64).product::<f64>();
        let tail = term(c) * c as f64 / (c as f64 - a);
        let head: f64 = (0..c).map(term).sum();
        tail / (head + tail)
    }

    #[test]
    fn erlang_c_single_server_is_rho() {
        for rho in [0.01, 0.3, 0.5, 0.9, 0.999] {
            assert!(close(erlang_c(1, rho), rho, 1e-12), "rho {rho}");
        }
    }

    #[test]
    fn erlang_c_textbook_values() {
        assert!(close(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12));
        assert!(
            (erlang_c(5, 4.0) - 0.5541).abs() < 1e-4,
            "{}",
            erlang_c(5, 4.0)
        );
        for c in 1..=12 {
            for frac in [0.1, 0.5, 0.8, 0.95, 0.999] {
                let a = c as f64 * frac;
                let (fast, direct) = (erlang_c(c, a), erlang_c_direct(c, a));
                assert!(close(fast, direct, 1e-9), "c {c} a {a}: {fast} vs {direct}");
            }
        }
    }

    #[test]
    fn erlang_c_edges_and_large_c() {
        assert_eq!(erlang_c(3, 0.0), 0.0);
        assert_eq!(erlang_c(3, 3.0), 1.0);
        assert_eq!(erlang_c(3, f64::INFINITY), 1.0);
        assert_eq!(erlang_c(0, 1.0), 1.0);
        // Many servers at light load almost never queue; near saturation almost always.
        assert!(erlang_c(4096, 2000.0) < 1e-12);
        let busy = erlang_c(4096, 4095.9);
        assert!(busy > 0.9 && busy <= 1.0, "{busy}");
        // More servers at the same utilization wait less (economy of scale).
        assert!(erlang_c(4096, 4096.0 * 0.99) < erlang_c(64, 64.0 * 0.99));
    }

    #[test]
    fn mm1_wait_is_rho_over_mu_minus_lambda() {
        let (lambda, service) = (0.8, 1.0);
        let p = predict(&mm(lambda, service, 1));
        assert_eq!(p.model, "M/M/c (Erlang C)");
        let mu = 1.0 / service;
        let rho = lambda / mu;
        assert!(close(p.mean_wait_s.unwrap(), rho / (mu - lambda), 1e-12));
        assert!(close(
            p.mean_queue_len.unwrap(),
            lambda * rho / (mu - lambda),
            1e-12
        ));
        assert!(close(p.p_wait.unwrap(), rho, 1e-12));
        assert!(close(p.utilization, rho, 1e-12));
        assert!(p.stable && p.backlog_growth_per_s.is_none());
    }

    #[test]
    fn mm2_matches_closed_form() {
        // M/M/2: Lq = 2 rho^3 / (1 - rho^2), a standard closed form.
        for rho in [0.5, 0.8, 0.95] {
            let service = 2.0;
            let lambda = rho * 2.0 / service;
            let p = predict(&mm(lambda, service, 2));
            let lq = 2.0 * rho.powi(3) / (1.0 - rho * rho);
            assert!(close(p.mean_queue_len.unwrap(), lq, 1e-9), "rho {rho}");
            assert!(close(p.mean_wait_s.unwrap(), lq / lambda, 1e-9));
        }
        assert!(close(
            predict(&mm(1.0, 1.0, 2)).mean_wait_s.unwrap(),
            1.0 / 3.0,
            1e-12
        ));
    }

    #[test]
    fn the_articles_pipeline_keeps_up_exactly() {
        let settings = Settings::default();
        let five = TheoryInput::from_settings(&settings, 8);
        assert_eq!(
            (five.rate_per_s, five.service_mean_s, five.workers),
            (1.0, 5.0, 5)
        );
        let p = predict(&five);
        assert_eq!(p.model, "D/D/c");
        assert!(p.stable);
        assert_eq!(
            (p.p_wait, p.mean_wait_s, p.mean_queue_len),
            (Some(0.0), Some(0.0), Some(0.0))
        );
        assert_eq!(p.backlog_growth_per_s, None);
        assert_eq!(p.min_stable_workers, Some(5));
        assert!(close(p.utilization, 1.0, 1e-12));

        let four = TheoryInput { workers: 4, ..five };
        let p = predict(&four);
        assert!(!p.stable);
        assert!(close(p.backlog_growth_per_s.unwrap(), 0.2, 1e-9));
        assert_eq!(
            (p.p_wait, p.mean_wait_s, p.mean_queue_len),
            (None, None, None)
        );
        assert_eq!(p.min_stable_workers, Some(5));
        assert_eq!(p.drain_time_s(100), None);
    }

    #[test]
    fn paused_settings_predict_nothing_waits() {
        let settings = Settings {
            paused: true,
            ..Settings::default()
        };
        let p = predict(&TheoryInput::from_settings(&settings, 8));
        assert!(p.stable);
        assert_eq!(p.utilization, 0.0);
        assert_eq!((p.mean_wait_s, p.mean_queue_len), (Some(0.0), Some(0.0)));
        assert_eq!(p.min_stable_workers, Some(1));
    }

    #[test]
    fn zero_service_never_queues() {
        let p = predict(&mm(1e7, 0.0, 1));
        assert!(p.stable);
        assert_eq!(
            (p.utilization, p.p_wait, p.mean_wait_s),
            (0.0, Some(0.0), Some(0.0))
        );
        assert_eq!(p.min_stable_workers, Some(1));
        assert_eq!(p.drain_time_s(1000), Some(0.0));
    }

    #[test]
    fn cpu_mode_caps_servers_at_cores() {
        let base = TheoryInput {
            work: WorkMode::Cpu,
            workers: 8,
            cores: 2,
            ..mm(1.5, 1.0, 8)
        };
        let p = predict(&base);
        assert_eq!(p.servers, 2);
        assert!(close(p.utilization, 0.75, 1e-12));
        assert!(close(p.p_wait.unwrap(), erlang_c(2, 1.5), 1e-12));
        assert_eq!(p.min_stable_workers, Some(2));

        // Load 3 needs 4 servers; 2 cores can never supply them, however many workers.
        let heavy = TheoryInput {
            rate_per_s: 3.0,
            ..base
        };
        let p = predict(&heavy);
        assert!(!p.stable);
        assert!(close(p.backlog_growth_per_s.unwrap(), 1.0, 1e-12));
        assert_eq!(p.min_stable_workers, None);

        // The same load sleeping instead of computing uses all 8 workers.
        let sleeping = predict(&TheoryInput {
            work: WorkMode::Sleep,
            ..heavy
        });
        assert_eq!(sleeping.servers, 8);
        assert!(sleeping.stable);
        assert_eq!(sleeping.min_stable_workers, Some(4));
    }

    #[test]
    fn md1_waits_half_as_long_as_mm1() {
        // Pollaczek-Khinchine: M/D/1 Wq = rho s / (2 (1 - rho)), half of M/M/1.
        for rho in [0.2, 0.5, 0.9] {
            let service = 3.0;
            let lambda = rho / service;
            let md1 = predict(&input(
                ArrivalProcess::Poisson,
                lambda,
                service,
                ServiceDist::Fixed,
                1,
            ));
            let mm1 = predict(&mm(lambda, service, 1));
            assert_eq!(md1.model, "M/D/c (Allen-Cunneen)");
            assert!(close(
                md1.mean_wait_s.unwrap(),
                mm1.mean_wait_s.unwrap() / 2.0,
                1e-12
            ));
            assert!(close(
                md1.mean_wait_s.unwrap(),
                rho * service / (2.0 * (1.0 - rho)),
                1e-12
            ));
        }
    }

    #[test]
    fn allen_cunneen_scales_by_variability() {
        let (lambda, service, c) = (3.0, 1.0, 4);
        let mm_wait = predict(&mm(lambda, service, c)).mean_wait_s.unwrap();
        let uniform = predict(&input(
            ArrivalProcess::Poisson,
            lambda,
            service,
            ServiceDist::Uniform,
            c,
        ));
        assert_eq!(uniform.model, "M/G/c (Allen-Cunneen)");
        assert!(close(
            uniform.mean_wait_s.unwrap(),
            mm_wait * (1.0 + 1.0 / 3.0) / 2.0,
            1e-12
        ));
        let fixed_gaps = predict(&input(
            ArrivalProcess::Fixed,
            lambda,
            service,
            ServiceDist::Exp,
            c,
        ));
        assert_eq!(fixed_gaps.model, "D/M/c (Allen-Cunneen)");
        assert!(close(fixed_gaps.mean_wait_s.unwrap(), mm_wait / 2.0, 1e-12));
        // Bursts of 5: ca2 = 4, so with exponential service the wait is 2.5x M/M/c.
        let bursty = predict(&input(
            ArrivalProcess::Bursty,
            lambda,
            service,
            ServiceDist::Exp,
            c,
        ));
        assert_eq!(bursty.model, "D^B/M/c (Allen-Cunneen)");
        assert!(close(bursty.mean_wait_s.unwrap(), mm_wait * 2.5, 1e-12));
        assert!(close(
            bursty.p_wait.unwrap(),
            erlang_c(c, lambda * service),
            1e-12
        ));
    }

    #[test]
    fn bursty_gap_variability_is_burst_minus_one() {
        // Build the gaps the way the bursty source spaces them and measure their SCV directly.
        let lambda = 2.0;
        for burst in [2u32, 5, 10] {
            let gaps: Vec<f64> = (0..burst * 100)
                .map(|i| {
                    if i % burst == 0 {
                        f64::from(burst) / lambda
                    } else {
                        0.0
                    }
                })
                .collect();
            let n = gaps.len() as f64;
            let mean = gaps.iter().sum::<f64>() / n;
            let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n;
            let (_, ca2) = arrival_variability(ArrivalProcess::Bursty, burst);
            assert!(close(mean, 1.0 / lambda, 1e-12));
            assert!(close(ca2, var / (mean * mean), 1e-9), "burst {burst}");
        }
        // A burst of one is fixed spacing: D/D/c, exact.
        let single = TheoryInput {
            burst: 1,
            ..input(ArrivalProcess::Bursty, 1.0, 5.0, ServiceDist::Fixed, 5)
        };
        assert_eq!(predict(&single).model, "D/D/c");
    }

    #[test]
    fn unstable_mmc_reports_growth_only() {
        let p = predict(&mm(10.0, 1.0, 4));
        assert!(!p.stable);
        assert!(close(p.backlog_growth_per_s.unwrap(), 6.0, 1e-12));
        assert_eq!(
            (p.p_wait, p.mean_wait_s, p.mean_queue_len),
            (None, None, None)
        );
        assert_eq!(p.min_stable_workers, Some(11));
        // Exactly rho == 1 is unstable for anything random.
        assert!(!predict(&mm(4.0, 1.0, 4)).stable);
    }

    #[test]
    fn min_stable_workers_is_the_threshold() {
        let dists = [ServiceDist::Fixed, ServiceDist::Exp, ServiceDist::Lognormal];
        for arrival in ArrivalProcess::ALL.iter().copied() {
            for dist in dists {
                for load in [0.3, 1.0, 2.5, 5.0, 7.999, 40.0] {
                    let probe = |c| predict(&input(arrival, load, 1.0, dist, c));
                    let need = probe(1).min_stable_workers.unwrap();
                    assert!(probe(need).stable, "{arrival} {dist} load {load} c {need}");
                    assert!(
                        need == 1 || !probe(need - 1).stable,
                        "{arrival} {dist} load {load} c {need}"
                    );
                }
            }
        }
    }

    #[test]
    fn drain_time_divides_backlog_by_spare_capacity() {
        let keeping_up = mm(1.5, 1.0, 2); // c*mu - lambda = 0.5/s
        let p = predict(&keeping_up);
        assert!(close(p.drain_time_s(100).unwrap(), 200.0, 1e-12));
        assert_eq!(p.drain_time_s(0), Some(0.0));
        let behind = mm(3.0, 1.0, 2);
        assert_eq!(predict(&behind).drain_time_s(100), None);
        // The article's exact balance: an empty queue stays empty, a backlog never shrinks.
        let balanced = TheoryInput::from_settings(&Settings::default(), 8);
        let p = predict(&balanced);
        assert_eq!(p.drain_time_s(0), Some(0.0));
        assert_eq!(p.drain_time_s(10), None);
    }

    #[test]
    fn model_names_fit_the_panel() {
        for arrival in ArrivalProcess::ALL.iter().copied() {
            for dist in ServiceDist::ALL.iter().copied() {
                let name = predict(&input(arrival, 1.0, 1.0, dist, 2)).model;
                assert!(!name.is_empty() && name.chars().count() <= 24, "{name}");
            }
        }
    }

    #[test]
    fn extreme_inputs_stay_finite_and_non_negative() {
        let rates = [0.0, 1e-5, 1.0 / 86_400.0, 0.5, 1.0, 1e3, 1e7];
        let services = [0.0, 1e-9, 1e-3, 1.0, 5.0, 86_400.0];
        let workers = [1, 2, 5, 64, 4096];
        for arrival in ArrivalProcess::ALL.iter().copied() {
            for dist in ServiceDist::ALL.iter().copied() {
                for work in WorkMode::ALL.iter().copied() {
                    for burst in [1, 5, 1_000_000] {
                        for cores in [1, 4096] {
                            for &rate in &rates {
                                for &service in &services {
                                    for &c in &workers {
                                        let inp = TheoryInput {
                                            burst,
                                            work,
                                            cores,
                                            ..input(arrival, rate, service, dist, c)
                                        };
                                        check_sane(&inp);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_sane(inp: &TheoryInput) {
        let p = predict(inp);
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        let numbers = [
            Some(p.utilization),
            p.p_wait,
            p.mean_wait_s,
            p.mean_queue_len,
            p.backlog_growth_per_s,
        ];
        assert!(numbers.iter().flatten().all(|&v| ok(v)), "{inp:?} -> {p:?}");
        assert!(p.p_wait.is_none_or(|w| w <= 1.0), "{inp:?} -> {p:?}");
        assert_eq!(p.stable, p.mean_wait_s.is_some(), "{inp:?} -> {p:?}");
        assert_eq!(
            p.stable,
            p.backlog_growth_per_s.is_none(),
            "{inp:?} -> {p:?}"
        );
        assert!(p.servers >= 1 && p.servers <= inp.workers);
        for queued in [0, 1, u64::MAX] {
            assert!(p.drain_time_s(queued).is_none_or(ok), "{inp:?} -> {p:?}");
        }
    }
}
