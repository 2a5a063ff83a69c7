//! Queueing-theory predictions for the current settings: utilization, expected wait, backlog growth and workers needed.

use serde::{Deserialize, Serialize};

use super::exact::{self, MmcK};
use super::twin::SteadyState;
use crate::engine::settings::{
    ArrivalProcess, LOGNORMAL_CV, Overflow, ServiceDist, Settings, WorkMode,
};
use crate::units;

/// Relative slack when judging D/D/c at exactly rho == 1: the article's case (1/s, 5 s, 5 workers)
/// must count as keeping up even if floating point lands a hair above 1.
const DD_TOLERANCE: f64 = 1e-9;

/// M/M/c/K is solved exactly up to this many waiting places (drop-old: a table of about
/// half its square), each time the settings change; past it, the twin answers.
const MAX_EXACT_PLACES: usize = 1_000;
const MAX_EXACT_DROP_OLD_PLACES: usize = 300;

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
    /// The queue's waiting places (the events in service are apart); None: unbounded.
    pub queue_cap: Option<usize>,
    pub overflow: Overflow,
    /// A load nobody configured (stdin, a trace, exec work): what was measured stands in for
    /// the settings' arrivals and service; see [`TheoryInput::with_measured`].
    pub measured: Option<MeasuredLoad>,
}

/// A load as measured over the current phase: the arrivals (rate and the squared coefficient
/// of variation of the gaps) and the service (mean and its squared coefficient of variation),
/// each where the settings do not describe it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MeasuredLoad {
    /// Events per second and ca²; none: the settings' arrival process.
    pub arrival: Option<(f64, f64)>,
    /// Mean service, s, and cs²; none: the settings' service.
    pub service: Option<(f64, f64)>,
}

impl MeasuredLoad {
    /// "measured λ 8.7/s, ca² 1.4; service 412ms, cs² 0.9" (only the measured parts).
    pub fn text(&self) -> String {
        let arrival = self
            .arrival
            .map(|(rate, ca2)| format!("λ {}, ca² {ca2:.2}", units::per_s(rate)));
        let service = self
            .service
            .map(|(mean, cs2)| format!("service {}, cs² {cs2:.2}", units::duration_s(mean)));
        let parts: Vec<String> = arrival.into_iter().chain(service).collect();
        format!("measured {}", parts.join("; "))
    }
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
            queue_cap: settings.queue_cap,
            overflow: settings.overflow,
            measured: None,
        }
    }

    /// The settings' input with what was `measured` in place of the arrivals and the service
    /// it covers: no Kendall letter but G then, no twin (it needs distributions, not moments),
    /// and Allen-Cunneen for the waits, labelled as an approximation on a measured load.
    pub fn with_measured(self, measured: MeasuredLoad) -> Self {
        let mut input = Self {
            measured: Some(measured),
            ..self
        };
        if let Some((rate, _)) = measured.arrival {
            input.rate_per_s = if rate.is_finite() { rate.max(0.0) } else { 0.0 };
        }
        if let Some((mean, cs2)) = measured.service {
            input.service_mean_s = if mean.is_finite() { mean.max(0.0) } else { 0.0 };
            input.service_cv2 = cs2;
            input.service_fixed = false;
            input.service_exponential = false;
        }
        input
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

    /// More cpu workers than cores share them (processor sharing): no FCFS formula holds.
    fn shares_cores(&self) -> bool {
        self.work == WorkMode::Cpu && self.workers > self.cores
    }

    /// The waiting places of a queue that sheds events when full (`drop-new`, `drop-old`);
    /// None if it never does (unbounded, or `block`: the source falls behind instead).
    pub fn shedding_places(&self) -> Option<usize> {
        self.queue_cap.filter(|_| self.overflow != Overflow::Block)
    }

    /// Nothing to queue for: the source is paused or work takes no time.
    fn idle(&self) -> bool {
        !(self.rate_per_s > 0.0 && self.service_mean_s > 0.0)
    }

    /// Offered load a = lambda / mu = lambda * mean service, in erlangs (busy servers needed on average).
    fn offered_load(&self) -> f64 {
        finite(self.rate_per_s * self.service_mean_s)
    }

    /// Whether the twin's estimate would be the best prediction: no closed form fits, and there
    /// is a steady state to estimate. The aggregator asks the twin only then.
    pub fn needs_twin(&self) -> bool {
        if self.measured.is_some() {
            return false;
        }
        let shape = Shape::of(self);
        !self.idle() && stable(self, shape) && closed_form(self, shape).is_none()
    }
}

/// How a prediction was obtained (the JSON's `theory.method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// A closed form that holds exactly for these settings.
    #[default]
    Exact,
    /// The twin's steady-state estimate, with its 95% confidence interval.
    Simulated,
    /// A quick formula standing in while the twin has no answer.
    Approximation,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Simulated => "simulated",
            Method::Approximation => "approximation",
        }
    }
}

/// What the twin has for the current settings, as whoever asked it found it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TwinAnswer {
    /// Not asked, or still simulating these settings.
    Pending,
    Ready(SteadyState),
    /// It failed: there will be no estimate.
    Unavailable,
}

/// Why the prediction is an approximation where the twin would answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TwinState {
    Pending,
    Unavailable,
}

/// Predicted queue-wait percentiles of the events served, s (`exact::WAIT_LEVELS`), and how
/// they were obtained: a closed form's tail, or the twin's histograms (where no closed form
/// gives the distribution, as for M/G/1 or `drop-old`, even when one gives the mean).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WaitPercentiles {
    pub p50_s: f64,
    pub p90_s: f64,
    pub p99_s: f64,
    pub method: Method,
}

impl WaitPercentiles {
    fn of([p50_s, p90_s, p99_s]: [f64; 3], method: Method) -> Self {
        Self {
            p50_s: finite(p50_s),
            p90_s: finite(p90_s),
            p99_s: finite(p99_s),
            method,
        }
    }

    /// From a closed form's survival function P(W > t); `scale_s` brackets a typical wait.
    fn exact(tail: impl Fn(f64) -> f64, scale_s: f64) -> Self {
        let at = |q| exact::wait_quantile(&tail, q, scale_s);
        Self::of(exact::WAIT_LEVELS.map(at), Method::Exact)
    }

    fn of_twin(steady: &SteadyState) -> Self {
        let means = steady.wait_percentiles_s.map(|e| e.mean);
        Self::of(means, Method::Simulated)
    }

    /// The twin's, where it has an answer.
    fn simulated(twin: &TwinAnswer) -> Option<Self> {
        match twin {
            TwinAnswer::Ready(steady) => Some(Self::of_twin(steady)),
            _ => None,
        }
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
    /// How the figures were obtained, and by which formula ("Erlang C", "M/M/c/K", "twin", ...).
    #[serde(default)]
    pub method: Method,
    #[serde(default)]
    pub formula: String,
    /// Fraction of arrivals a full queue sheds (dropped, or evicted): 0 unless `drop-new` or
    /// `drop-old` caps the queue.
    #[serde(default)]
    pub p_drop: f64,
    /// The 95% confidence interval of the mean wait, seconds: simulated predictions only.
    #[serde(default)]
    pub mean_wait_ci95_s: Option<[f64; 2]>,
    /// Events the twin simulated for a simulated prediction.
    #[serde(default)]
    pub simulated_events: Option<u64>,
    /// For an approximation standing in for the twin: whether it is pending or failed.
    #[serde(default)]
    pub twin: Option<TwinState>,
    /// The measured load it was predicted for, when the settings do not describe the load.
    #[serde(default)]
    pub measured: Option<MeasuredLoad>,
    /// Queue-wait percentiles, where a closed form or the twin gives them (stable only).
    #[serde(default)]
    pub wait_percentiles: Option<WaitPercentiles>,
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
            method: Method::Exact,
            formula: String::new(),
            p_drop: 0.0,
            mean_wait_ci95_s: None,
            simulated_events: None,
            twin: None,
            measured: None,
            wait_percentiles: None,
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

    /// The Kendall notation alone: the model without its formula ("M/M/c", "D^B/M/c/K").
    pub fn kendall(&self) -> &str {
        self.model.split(" (").next().unwrap_or_default()
    }

    /// How the figures were obtained, in a few words: "exact: Erlang C", "simulated: 220k
    /// events, ±2%", "approx: Allen-Cunneen (twin pending)".
    pub fn method_label(&self) -> String {
        match self.method {
            Method::Exact if self.formula.is_empty() || self.formula == self.kendall() => {
                "exact".into()
            }
            Method::Exact => format!("exact: {}", self.formula),
            Method::Simulated => {
                let events = units::compact(self.simulated_events.unwrap_or(0) as f64);
                format!("simulated: {events} events, ±{}", self.wait_ci_percent())
            }
            Method::Approximation => {
                let why = match (self.twin, self.measured) {
                    (_, Some(measured)) => format!(" on {}", measured.text()),
                    (Some(TwinState::Pending), _) => " (twin pending)".into(),
                    (Some(TwinState::Unavailable), _) => " (twin failed)".into(),
                    (None, None) => String::new(),
                };
                format!("approx: {}{why}", self.formula)
            }
        }
    }

    /// The simulated mean wait's 95% half-width relative to it: "2%", "0.4%".
    fn wait_ci_percent(&self) -> String {
        let (Some([lo, hi]), Some(mean)) = (self.mean_wait_ci95_s, self.mean_wait_s) else {
            return "?".into();
        };
        if mean <= 0.0 {
            return "0%".into();
        }
        let percent = (hi - lo) / 2.0 / mean * 100.0;
        if percent < 1.0 {
            format!("{percent:.1}%")
        } else {
            format!("{percent:.0}%")
        }
    }
}

/// How variable arrivals and service are, as far as stability and the formulas care.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// D/D/c: no randomness, so no queue while capacity suffices.
    Deterministic,
    /// M/M/c: memoryless on both sides.
    Markov,
    /// Anything else.
    General,
}

/// The closed forms that hold exactly for some settings.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ClosedForm {
    /// D/D/c: nobody waits while it keeps up (a bounded queue never fills).
    Ddc,
    /// M/M/c unbounded (or `block`).
    ErlangC,
    /// M/M/c with a queue of `places` that sheds.
    Mmck { places: usize, drop_old: bool },
    /// M/G/1 unbounded (or `block`).
    PollaczekKhinchine,
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
        let measured_gaps = input.measured.and_then(|m| m.arrival);
        let (arrival, ca2) = match measured_gaps {
            Some((_, ca2)) => ("G", if ca2.is_finite() { ca2.max(0.0) } else { 1.0 }),
            None => arrival_variability(input.arrival, input.burst),
        };
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

    fn kind(self) -> Kind {
        match (self.arrival, self.service) {
            ("D", "D") => Kind::Deterministic,
            ("M", "M") => Kind::Markov,
            _ => Kind::General,
        }
    }

    /// "D^B/G/c", with "/K" for a queue that sheds.
    fn kendall(self, input: &TheoryInput) -> String {
        let k = if input.shedding_places().is_some() {
            "/K"
        } else {
            ""
        };
        format!("{}/{}/c{k}", self.arrival, self.service)
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

/// Whether the pool keeps up. A queue that sheds always does (it cannot grow past its cap);
/// otherwise (`block` too: the source falls behind) the load must fit the servers.
fn stable(input: &TheoryInput, shape: Shape) -> bool {
    if input.shedding_places().is_some() {
        return true;
    }
    let utilization = finite(input.offered_load() / input.servers() as f64);
    match shape.kind() {
        Kind::Deterministic => utilization <= 1.0 + DD_TOLERANCE,
        Kind::Markov | Kind::General => utilization < 1.0,
    }
}

/// The closed form that is exact for these settings, if any (for a stable pool).
fn closed_form(input: &TheoryInput, shape: Shape) -> Option<ClosedForm> {
    if input.shares_cores() {
        return None;
    }
    let keeps_up = input.offered_load() <= input.servers() as f64 * (1.0 + DD_TOLERANCE);
    match (input.shedding_places(), shape.kind()) {
        (Some(_), Kind::Deterministic) if keeps_up => Some(ClosedForm::Ddc),
        (Some(places), Kind::Markov) => {
            let drop_old = input.overflow == Overflow::DropOld;
            let max = if drop_old {
                MAX_EXACT_DROP_OLD_PLACES
            } else {
                MAX_EXACT_PLACES
            };
            (places <= max).then_some(ClosedForm::Mmck { places, drop_old })
        }
        (Some(_), _) => None,
        (None, Kind::Deterministic) => Some(ClosedForm::Ddc),
        (None, Kind::Markov) => Some(ClosedForm::ErlangC),
        (None, Kind::General) if shape.arrival == "M" && input.servers() == 1 => {
            Some(ClosedForm::PollaczekKhinchine)
        }
        (None, Kind::General) => None,
    }
}

/// The stable pool's figures: what the prediction says of waits, queue and drops.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Figures {
    p_wait: f64,
    wait_s: f64,
    queue_len: f64,
    p_drop: f64,
}

impl Figures {
    /// Unbounded queue: Lq = lambda * Wq, nothing dropped.
    fn unbounded(input: &TheoryInput, p_wait: f64, wait_s: f64) -> Self {
        Self {
            p_wait,
            wait_s: finite(wait_s),
            queue_len: finite(input.rate_per_s * wait_s),
            p_drop: 0.0,
        }
    }

    fn of_mmck(q: MmcK) -> Self {
        Self {
            p_wait: finite(q.p_wait),
            wait_s: finite(q.mean_wait_s),
            queue_len: finite(q.mean_queue_len),
            p_drop: finite(q.p_drop),
        }
    }
}

/// Predicts without the twin: exact where a closed form holds, an approximation (labelled,
/// the twin pending) elsewhere. See [`best`].
pub fn predict(input: &TheoryInput) -> Prediction {
    best(input, &TwinAnswer::Pending)
}

/// The best prediction for the settings: a closed form where one is exact (D/D/c; Erlang C;
/// M/M/c/K for a bounded M/M/c that sheds; Pollaczek-Khinchine for M/G/1), else the twin's
/// steady-state estimate if it is ready, else Allen-Cunneen (or M/M/c/K for a queue that
/// sheds) as a labelled approximation. An unstable pool gets its growth λ − cμ (fluid, exact
/// in the long run) and no waits.
pub fn best(input: &TheoryInput, twin: &TwinAnswer) -> Prediction {
    // The twin simulates the settings' distributions: a measured load is not one of them.
    let twin = if input.measured.is_some() {
        &TwinAnswer::Pending
    } else {
        twin
    };
    let shape = Shape::of(input);
    let servers = input.servers();
    let base = Prediction {
        servers,
        rate_per_s: input.rate_per_s,
        service_mean_s: input.service_mean_s,
        ..Prediction::default()
    };
    if input.idle() {
        return idle_prediction(Prediction {
            model: shape.kendall(input),
            ..base
        });
    }
    let load = input.offered_load();
    let base = Prediction {
        utilization: finite(load / servers as f64),
        stable: stable(input, shape),
        min_stable_workers: min_stable_workers(load, shape.kind(), input.server_cap()),
        ..base
    };
    if !base.stable {
        let growth = backlog_growth(input.rate_per_s, servers, input.service_mean_s);
        return Prediction {
            model: unstable_name(shape),
            formula: "fluid".into(),
            backlog_growth_per_s: Some(growth),
            ..base
        };
    }
    match (closed_form(input, shape), twin) {
        (Some(form), _) => exact_prediction(input, shape, form, base, twin),
        (None, TwinAnswer::Ready(steady)) => simulated_prediction(input, shape, steady, base),
        (None, TwinAnswer::Pending) => approximation(input, shape, TwinState::Pending, base),
        (None, TwinAnswer::Unavailable) => {
            approximation(input, shape, TwinState::Unavailable, base)
        }
    }
}

fn with_figures(base: Prediction, f: Figures) -> Prediction {
    Prediction {
        p_wait: Some(f.p_wait.clamp(0.0, 1.0)),
        mean_wait_s: Some(f.wait_s.max(0.0)),
        mean_queue_len: Some(f.queue_len.max(0.0)),
        p_drop: f.p_drop.clamp(0.0, 1.0),
        ..base
    }
}

fn exact_prediction(
    input: &TheoryInput,
    shape: Shape,
    form: ClosedForm,
    base: Prediction,
    twin: &TwinAnswer,
) -> Prediction {
    let (servers, load, s) = (base.servers, input.offered_load(), input.service_mean_s);
    let rate = input.rate_per_s;
    let (model, formula, figures, percentiles) = match form {
        ClosedForm::Ddc => {
            let none_wait = WaitPercentiles::of([0.0; 3], Method::Exact);
            let figures = Figures::unbounded(input, 0.0, 0.0);
            ("D/D/c".into(), "D/D/c", figures, Some(none_wait))
        }
        ClosedForm::ErlangC => {
            let (p_wait, wait_s) = erlang_wait(servers, load, s);
            let figures = Figures::unbounded(input, p_wait, wait_s);
            let spare_per_s = servers as f64 / s - rate;
            let at = |q| exact::erlang_c_wait_quantile(p_wait, spare_per_s, q);
            let percentiles = WaitPercentiles::of(exact::WAIT_LEVELS.map(at), Method::Exact);
            (
                "M/M/c (Erlang C)".into(),
                "Erlang C",
                figures,
                Some(percentiles),
            )
        }
        ClosedForm::Mmck { places, drop_old } => {
            let k = servers + places;
            let (q, percentiles) = if drop_old {
                let simulated = WaitPercentiles::simulated(twin);
                (exact::mmck_drop_old(rate, s, servers, k), simulated)
            } else {
                let tail = exact::mmck_wait_tail(rate, s, servers, k);
                let exact = WaitPercentiles::exact(tail, s);
                (exact::mmck(rate, s, servers, k), Some(exact))
            };
            (
                "M/M/c/K".into(),
                "M/M/c/K",
                Figures::of_mmck(q),
                percentiles,
            )
        }
        ClosedForm::PollaczekKhinchine => {
            let wait_s = exact::pollaczek_khinchine(rate, s, shape.cs2).unwrap_or(0.0);
            let figures = Figures::unbounded(input, load.min(1.0), wait_s);
            let model = format!("M/{}/1 (P-K)", shape.service);
            let simulated = WaitPercentiles::simulated(twin);
            (model, "Pollaczek-Khinchine", figures, simulated)
        }
    };
    with_figures(
        Prediction {
            model,
            formula: formula.into(),
            method: Method::Exact,
            wait_percentiles: percentiles,
            ..base
        },
        figures,
    )
}

fn simulated_prediction(
    input: &TheoryInput,
    shape: Shape,
    steady: &SteadyState,
    base: Prediction,
) -> Prediction {
    let wait = steady.mean_wait_s;
    let figures = Figures {
        p_wait: steady.p_wait.mean,
        wait_s: wait.mean,
        queue_len: steady.mean_queue_len.mean,
        p_drop: steady.p_drop.mean,
    };
    let ci = [
        finite(wait.mean - wait.half_width).max(0.0),
        finite(wait.mean + wait.half_width),
    ];
    with_figures(
        Prediction {
            model: format!("{} (twin)", shape.kendall(input)),
            formula: "twin".into(),
            method: Method::Simulated,
            mean_wait_ci95_s: Some(ci),
            simulated_events: Some(steady.events),
            wait_percentiles: Some(WaitPercentiles::of_twin(steady)),
            ..base
        },
        figures,
    )
}

/// Allen-Cunneen (the M/M/c wait scaled by (ca2 + cs2) / 2, `p_wait` Erlang C's); for a queue
/// that sheds, M/M/c/K at the same load (its places capped for the cost).
fn approximation(
    input: &TheoryInput,
    shape: Shape,
    twin: TwinState,
    base: Prediction,
) -> Prediction {
    let (servers, load, s) = (base.servers, input.offered_load(), input.service_mean_s);
    let (model, formula, figures) = match input.shedding_places() {
        Some(places) => {
            let places = places.min(MAX_EXACT_PLACES);
            let q = exact::mmck(input.rate_per_s, s, servers, servers + places);
            let model = format!("{} (approx.)", shape.kendall(input));
            (model, "M/M/c/K", Figures::of_mmck(q))
        }
        None => {
            let (p_wait, mm_wait_s) = erlang_wait(servers, load, s);
            let wait_s = mm_wait_s * (shape.ca2 + shape.cs2) / 2.0;
            let model = format!("{} (Allen-Cunneen)", shape.kendall(input));
            (
                model,
                "Allen-Cunneen",
                Figures::unbounded(input, p_wait, wait_s),
            )
        }
    };
    with_figures(
        Prediction {
            model,
            formula: formula.into(),
            method: Method::Approximation,
            twin: input.measured.is_none().then_some(twin),
            measured: input.measured,
            ..base
        },
        figures,
    )
}

/// An overloaded pool's model: its Kendall notation and what gives its growth.
fn unstable_name(shape: Shape) -> String {
    match shape.kind() {
        Kind::Deterministic => "D/D/c".into(),
        Kind::Markov => "M/M/c (Erlang C)".into(),
        Kind::General => format!("{}/{}/c (fluid)", shape.arrival, shape.service),
    }
}

/// Paused source or zero-time work: nothing ever waits and one worker is plenty.
fn idle_prediction(base: Prediction) -> Prediction {
    Prediction {
        formula: "no load".into(),
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
fn min_stable_workers(load: f64, kind: Kind, cap: Option<usize>) -> Option<usize> {
    let needed = match kind {
        Kind::Deterministic => (load / (1.0 + DD_TOLERANCE)).ceil(),
        Kind::Markov | Kind::General => load.floor() + 1.0,
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
            queue_cap: None,
            overflow: Overflow::Block,
            measured: None,
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
            assert_eq!(md1.model, "M/D/1 (P-K)");
            assert_eq!(
                (md1.method, md1.formula.as_str()),
                (Method::Exact, "Pollaczek-Khinchine")
            );
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

    fn bounded(inp: TheoryInput, places: usize, overflow: Overflow) -> TheoryInput {
        TheoryInput {
            queue_cap: Some(places),
            overflow,
            ..inp
        }
    }

    fn label(p: &Prediction) -> (Method, &str) {
        (p.method, p.formula.as_str())
    }

    fn twin_says(wait_s: f64, p_drop: f64) -> TwinAnswer {
        let est = |mean: f64| crate::model::twin::Estimate {
            mean,
            half_width: 0.02 * mean,
        };
        TwinAnswer::Ready(SteadyState {
            mean_wait_s: est(wait_s),
            mean_queue_len: est(2.0 * wait_s),
            p_drop: est(p_drop),
            p_wait: est(0.5),
            wait_percentiles_s: [est(0.0), est(2.0 * wait_s), est(5.0 * wait_s)],
            events: 220_000,
        })
    }

    /// Percentiles come from the closed form's distribution where there is one, from the
    /// twin's histograms where a closed form gives only the mean (M/G/1) or nothing.
    #[test]
    fn wait_percentiles_say_where_they_come_from() {
        let twin = twin_says(0.2, 0.0);
        let erlang = best(&mm(3.0, 1.0, 4), &twin).wait_percentiles.unwrap();
        assert_eq!(erlang.method, Method::Exact);
        let tail = exact::erlang_c_wait_tail(erlang_c(4, 3.0), 4, 3.0, 1.0);
        let p99 = exact::wait_quantile(&tail, 0.99, 1.0);
        assert!(close(erlang.p99_s, p99, 1e-6), "{erlang:?}");
        let md1 = input(ArrivalProcess::Poisson, 7.0, 0.1, ServiceDist::Fixed, 1);
        let pk = best(&md1, &twin);
        assert_eq!(pk.formula, "Pollaczek-Khinchine");
        let simulated = pk.wait_percentiles.unwrap();
        assert_eq!(simulated.method, Method::Simulated);
        assert!(close(simulated.p99_s, 1.0, 1e-12), "{simulated:?}");
        assert_eq!(best(&md1, &TwinAnswer::Pending).wait_percentiles, None);
        let bursty = input(ArrivalProcess::Bursty, 10.0, 0.3, ServiceDist::Exp, 4);
        let from_twin = best(&bursty, &twin).wait_percentiles.unwrap();
        assert_eq!(
            (from_twin.method, from_twin.p90_s),
            (Method::Simulated, 0.4)
        );
        let dd = input(ArrivalProcess::Fixed, 1.0, 5.0, ServiceDist::Fixed, 5);
        assert_eq!(predict(&dd).wait_percentiles.unwrap().p99_s, 0.0);
        let overloaded = input(ArrivalProcess::Poisson, 10.0, 1.0, ServiceDist::Exp, 2);
        assert_eq!(best(&overloaded, &twin).wait_percentiles, None);
    }

    #[test]
    fn the_method_label_says_how_in_a_few_words() {
        assert_eq!(predict(&mm(3.0, 1.0, 4)).method_label(), "exact: Erlang C");
        let dd = input(ArrivalProcess::Fixed, 1.0, 5.0, ServiceDist::Fixed, 5);
        assert_eq!(predict(&dd).method_label(), "exact");
        let bursty = input(ArrivalProcess::Bursty, 10.0, 0.3, ServiceDist::Exp, 4);
        assert_eq!(
            predict(&bursty).method_label(),
            "approx: Allen-Cunneen (twin pending)"
        );
        assert_eq!(
            best(&bursty, &TwinAnswer::Unavailable).method_label(),
            "approx: Allen-Cunneen (twin failed)"
        );
        let simulated = best(&bursty, &twin_says(0.55, 0.0));
        assert_eq!(simulated.method_label(), "simulated: 220k events, ±2%");
        assert_eq!(simulated.kendall(), "D^B/M/c");
    }

    #[test]
    fn closed_forms_are_exact_where_they_hold() {
        let dd = input(ArrivalProcess::Fixed, 1.0, 5.0, ServiceDist::Fixed, 5);
        assert_eq!(label(&predict(&dd)), (Method::Exact, "D/D/c"));
        // A D/D/c that keeps up never fills its queue, whatever it drops.
        let dd_capped = predict(&bounded(dd, 3, Overflow::DropNew));
        assert_eq!(label(&dd_capped), (Method::Exact, "D/D/c"));
        assert_eq!(dd_capped.p_drop, 0.0);
        let mm = predict(&mm(3.0, 1.0, 4));
        assert_eq!(label(&mm), (Method::Exact, "Erlang C"));
        assert_eq!((mm.p_drop, mm.mean_wait_ci95_s, mm.twin), (0.0, None, None));
        let mg1 = input(ArrivalProcess::Poisson, 0.5, 1.0, ServiceDist::Lognormal, 1);
        assert_eq!(
            label(&predict(&mg1)),
            (Method::Exact, "Pollaczek-Khinchine")
        );
        // Paused: nothing waits, exactly.
        let paused = TheoryInput {
            rate_per_s: 0.0,
            ..mg1
        };
        assert_eq!(label(&predict(&paused)), (Method::Exact, "no load"));
    }

    #[test]
    fn a_bounded_mmc_that_sheds_is_mmck_and_never_unstable() {
        // The case: 120/s, 2 workers of 20 ms, 10 places: M/M/2/12 drops 18.55%.
        let capped = bounded(mm(120.0, 0.020, 2), 10, Overflow::DropNew);
        let p = predict(&capped);
        assert_eq!(label(&p), (Method::Exact, "M/M/c/K"));
        assert_eq!(p.model, "M/M/c/K");
        assert!(close(p.p_drop, 0.1855, 0.03), "{p:?}");
        assert!(p.stable && p.backlog_growth_per_s.is_none(), "{p:?}");
        // Drop-old loses as many (evicted instead of new), and those served wait less.
        let old = predict(&bounded(mm(120.0, 0.020, 2), 10, Overflow::DropOld));
        assert_eq!(label(&old), (Method::Exact, "M/M/c/K"));
        assert!(close(old.p_drop, p.p_drop, 1e-12));
        assert!(old.mean_wait_s.unwrap() < p.mean_wait_s.unwrap());
        // Far past capacity it still keeps up, by shedding most arrivals.
        let flooded = predict(&bounded(mm(1_000.0, 0.020, 2), 10, Overflow::DropNew));
        assert!(flooded.stable && flooded.p_drop > 0.85, "{flooded:?}");
        // Block sheds nothing: the source falls behind, waits as unbounded (Erlang C).
        let block = predict(&bounded(mm(90.0, 0.020, 2), 10, Overflow::Block));
        assert_eq!(label(&block), (Method::Exact, "Erlang C"));
        assert_eq!(block.p_drop, 0.0);
        assert!(!predict(&bounded(mm(120.0, 0.020, 2), 10, Overflow::Block)).stable);
    }

    #[test]
    fn without_a_closed_form_the_twin_answers_once_ready() {
        let bursty = TheoryInput {
            burst: 20,
            ..input(ArrivalProcess::Bursty, 10.0, 0.3, ServiceDist::Exp, 4)
        };
        assert!(bursty.needs_twin());
        let pending = predict(&bursty);
        assert_eq!(label(&pending), (Method::Approximation, "Allen-Cunneen"));
        assert_eq!(pending.twin, Some(TwinState::Pending));
        let p = best(&bursty, &twin_says(0.55, 0.0));
        assert_eq!(label(&p), (Method::Simulated, "twin"));
        assert_eq!(p.model, "D^B/M/c (twin)");
        assert_eq!(p.mean_wait_s, Some(0.55));
        let [lo, hi] = p.mean_wait_ci95_s.unwrap();
        assert!(close(lo, 0.55 * 0.98, 1e-12) && close(hi, 0.55 * 1.02, 1e-12));
        assert_eq!((p.simulated_events, p.twin), (Some(220_000), None));
        let failed = best(&bursty, &TwinAnswer::Unavailable);
        assert_eq!(label(&failed), (Method::Approximation, "Allen-Cunneen"));
        assert_eq!(failed.twin, Some(TwinState::Unavailable));
        // Exact settings ignore the twin, and need none.
        let exact = mm(3.0, 1.0, 4);
        assert!(!exact.needs_twin());
        assert_eq!(best(&exact, &twin_says(9.0, 0.0)), predict(&exact));
    }

    #[test]
    fn a_shedding_queue_without_a_closed_form_is_simulated_or_approximated_by_mmck() {
        let bursty = bounded(
            input(ArrivalProcess::Bursty, 10.0, 0.3, ServiceDist::Exp, 4),
            10,
            Overflow::DropNew,
        );
        assert!(bursty.needs_twin());
        let pending = predict(&bursty);
        assert_eq!(label(&pending), (Method::Approximation, "M/M/c/K"));
        assert!(pending.stable && pending.p_drop > 0.0);
        let p = best(&bursty, &twin_says(0.2, 0.12));
        assert_eq!(label(&p), (Method::Simulated, "twin"));
        assert_eq!((p.model.as_str(), p.p_drop), ("D^B/M/c/K (twin)", 0.12));
    }

    #[test]
    fn cpu_work_sharing_the_cores_has_no_closed_form() {
        let shared = TheoryInput {
            work: WorkMode::Cpu,
            cores: 2,
            ..mm(80.0, 0.020, 4)
        };
        assert!(shared.needs_twin());
        assert_eq!(predict(&shared).method, Method::Approximation);
        // Within the cores it is plain M/M/c.
        let within = TheoryInput {
            workers: 2,
            ..shared
        };
        assert_eq!(label(&predict(&within)), (Method::Exact, "Erlang C"));
    }

    #[test]
    fn an_overloaded_pool_needs_no_twin_its_growth_is_fluid() {
        let over = input(ArrivalProcess::Bursty, 30.0, 0.3, ServiceDist::Exp, 4);
        assert!(!over.needs_twin());
        let p = best(&over, &twin_says(1.0, 0.0));
        assert_eq!(label(&p), (Method::Exact, "fluid"));
        assert!(!p.stable && p.mean_wait_s.is_none());
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
                                        check_sane(&bounded(inp, 7, Overflow::DropOld));
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
        assert!((0.0..=1.0).contains(&p.p_drop), "{inp:?} -> {p:?}");
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

    #[test]
    fn a_measured_load_replaces_the_settings_and_says_so() {
        // The settings say D/D at 1/s; the stream measured 8/s with Poisson-like gaps and a
        // service of 0.4 s with cs² 0.5: Allen-Cunneen on those, never the twin.
        let settings = input(ArrivalProcess::Fixed, 1.0, 5.0, ServiceDist::Fixed, 4);
        let load = MeasuredLoad {
            arrival: Some((8.0, 1.0)),
            service: Some((0.4, 0.5)),
        };
        let measured = settings.with_measured(load);
        assert!(!measured.needs_twin());
        let p = best(&measured, &twin_says(9.0, 0.0));
        assert_eq!(p.method, Method::Approximation);
        assert_eq!(p.formula, "Allen-Cunneen");
        assert_eq!(p.kendall(), "G/G/c");
        let (p_wait, mm_wait) = erlang_wait(4, 8.0 * 0.4, 0.4);
        assert!(close(
            p.mean_wait_s.unwrap(),
            mm_wait * (1.0 + 0.5) / 2.0,
            1e-12
        ));
        assert_eq!(p.p_wait, Some(p_wait));
        assert_eq!(p.rate_per_s, 8.0);
        assert_eq!(
            p.method_label(),
            "approx: Allen-Cunneen on measured λ 8/s, ca² 1.00; service 400ms, cs² 0.50"
        );
        // Only the service measured (exec work on the generator's arrivals).
        let exec = settings.with_measured(MeasuredLoad {
            arrival: None,
            service: Some((0.4, 0.5)),
        });
        assert_eq!(best(&exec, &TwinAnswer::Pending).kendall(), "D/G/c");
    }
}
