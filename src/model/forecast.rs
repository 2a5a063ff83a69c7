//! A forecast from now: the twin started from a measured state (the queued events, the busy
//! workers' remaining work) simulates the next horizon many times, and the replications give
//! the backlog path's p10 / p50 / p90, the drain time, drops and waits. Pure: no threads.
//!
//! The same function predicts a phase: start it from the phase's starting state over its
//! actual length. Above a few hundred events/s, where the full simulation would cost more
//! than about 100 ms, a fluid (diffusion) approximation stands in, labelled as such.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use hdrhistogram::Histogram;

use super::fluid;
use super::twin::{Arrivals, Estimate, Pool, Recorder, Servers, SharedCores, TwinConfig, TwinRun};
use super::twin::{Waiting, seed_of_replication, wait_histogram};
use crate::engine::settings::Overflow;
use crate::engine::snapshot::{RunState, Snapshot, WorkerActivity};

/// Events (arrivals plus queued) the simulation may cost over all replications before the
/// fluid approximation takes over: about 100 ms of one busy core. An unbounded FCFS pool runs
/// by the Lindley recursion (measured ~15 M events/s on a shared machine: 100 replications of
/// 60 s in full up to 250 events/s); a bounded queue or shared cores keep a queue (~9 M/s).
pub const SIMULATION_BUDGET_EVENTS: f64 = 1_500_000.0;
pub const QUEUE_SIMULATION_BUDGET_EVENTS: f64 = 1_000_000.0;
/// Replications of a live forecast.
pub const REPLICATIONS: usize = 100;
/// Points on a live forecast's backlog path.
pub const POINTS: usize = 41;
/// The shortest horizon forecast, model s (a run just started has little history to match).
pub const MIN_HORIZON_S: f64 = 10.0;
/// The share of the queue chart's width given to the future, right of "now".
pub const FUTURE_SHARE: f64 = 0.25;

/// Where a forecast starts: what waits, what is in service, and when arrivals resume.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TwinState {
    /// Events in the queue. The engine knows only their count and total work, so their
    /// demands are drawn from the service distribution and scaled to add up to
    /// `queued_work_s` (exact for fixed demands; for others the total, which decides the
    /// drain, and the variability are kept).
    pub queued: u64,
    /// The queued events' total demand, s; 0 when unknown (each then gets the mean demand).
    pub queued_work_s: f64,
    /// Arrived events held at the source by a full `block` queue; their demands are drawn.
    pub held_at_source: u64,
    /// Each busy worker's remaining work, s.
    pub busy_remaining_s: Vec<f64>,
    /// Model s from now at which the arrival schedule restarts (its first event one gap
    /// later); 0 when the phase of the source's schedule is not known.
    pub arrivals_from_s: f64,
    /// Model s from now after which nothing arrives (a source that ended); none: arrivals go on.
    pub arrivals_until_s: Option<f64>,
    /// Server counts from given model s from now on, in order (the later phases' worker
    /// counts), for the events still waiting at the horizon: the twin follows them under these,
    /// as the run serves them. Empty: the config's count throughout. Applied to full-speed
    /// servers only (not to workers sharing the cores).
    pub servers_after: Vec<(f64, usize)>,
}

impl TwinState {
    /// The state a snapshot shows: its queue, the events held at its source, its busy
    /// workers (each with its demand less the time it has run; cpu work on shared cores
    /// is counted at the cores' share).
    pub fn of(s: &Snapshot) -> Self {
        let busy = s
            .workers
            .iter()
            .filter(|w| matches!(w.activity, WorkerActivity::Busy { .. }))
            .count();
        let share = if s.settings.work == crate::engine::settings::WorkMode::Cpu && busy > s.cores {
            s.cores as f64 / busy as f64
        } else {
            1.0
        };
        let busy_remaining_s = s
            .workers
            .iter()
            .filter_map(|w| match w.activity {
                WorkerActivity::Busy {
                    started_ns,
                    demand_ns,
                    ..
                } => {
                    let ran_s = s.now_ns.saturating_sub(started_ns) as f64 / 1e9 * share;
                    Some((demand_ns as f64 / 1e9 - ran_s).max(0.0))
                }
                WorkerActivity::Idle => None,
            })
            .collect();
        Self {
            queued: s.counters.queued,
            queued_work_s: s.queued_work_ns as f64 / 1e9,
            held_at_source: s.counters.held_at_source,
            busy_remaining_s,
            arrivals_from_s: 0.0,
            arrivals_until_s: None,
            servers_after: Vec::new(),
        }
    }

    /// Events waiting (queued or held at the source).
    pub fn backlog(&self) -> u64 {
        self.queued + self.held_at_source
    }
}

/// How a forecast was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "method")]
pub enum ForecastMethod {
    /// Independent replications of the twin.
    Simulated { replications: usize },
    /// The fluid path with a diffusion band (high rates, where the path is nearly certain).
    Fluid,
}

impl ForecastMethod {
    pub fn label(self) -> String {
        match self {
            ForecastMethod::Simulated { replications } => format!("simulated ×{replications}"),
            ForecastMethod::Fluid => "fluid".into(),
        }
    }
}

/// Three quantiles of one figure over the replications.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Quantiles {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// The backlog at one time of the path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PathPoint {
    /// Model s from the forecast's start.
    pub t_s: f64,
    pub backlog: Quantiles,
}

/// What the next `horizon_s` look like under a configuration, from a state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub method: ForecastMethod,
    pub horizon_s: f64,
    /// The backlog (queued and held at the source) at evenly spaced times, 0 to the horizon.
    pub path: Vec<PathPoint>,
    /// When the backlog first empties: p10 / p50 / p90 over the replications; None where
    /// fewer than that fraction emptied within the horizon (0 if it starts empty).
    pub drain_s_p10: Option<f64>,
    pub drain_s_p50: Option<f64>,
    pub drain_s_p90: Option<f64>,
    /// Fraction of the horizon's arrivals a full queue dropped.
    pub p_drop: f64,
    /// Queue wait of the events that arrive within the horizon: the mean, the half-width of
    /// its 95% interval across replications (None for the fluid approximation), percentiles.
    pub mean_wait_s: f64,
    pub mean_wait_s_half_width: Option<f64>,
    /// Where 95% of the replications' own mean waits, and time-average backlogs, fell (their
    /// 2.5% and 97.5% points: a single run's spread, skewed near saturation, so not a normal
    /// interval); None for the fluid approximation.
    pub mean_wait_s_run95: Option<[f64; 2]>,
    pub mean_queue_len_run95: Option<[f64; 2]>,
    pub wait_p50_s: f64,
    pub wait_p90_s: f64,
    pub wait_p99_s: f64,
    /// Time-average backlog over the horizon.
    pub mean_queue_len: f64,
    /// The backlog at the horizon.
    pub queue_end: Quantiles,
    /// Events per s the p50 path grows by (least squares; negative while draining).
    pub growth_per_s: f64,
}

/// Forecasts the next `horizon_s` model seconds under `config` from `state`: `replications`
/// seeded runs (or the fluid approximation when they would cost more than
/// [`SIMULATION_BUDGET_EVENTS`] or [`QUEUE_SIMULATION_BUDGET_EVENTS`]), the backlog at
/// `points` evenly spaced times.
pub fn forecast(
    config: &TwinConfig,
    state: &TwinState,
    horizon_s: f64,
    points: usize,
    replications: usize,
    seed: u64,
) -> Forecast {
    let horizon_s = if horizon_s.is_finite() {
        horizon_s.max(0.0)
    } else {
        0.0
    };
    let points = points.max(2);
    let replications = replications.max(2);
    let budget = if lindley_applies(config) {
        SIMULATION_BUDGET_EVENTS
    } else {
        QUEUE_SIMULATION_BUDGET_EVENTS
    };
    if simulation_cost(config, state, horizon_s, replications) > budget {
        return fluid::forecast(config, state, horizon_s, points);
    }
    by_simulation(config, state, horizon_s, points, replications, seed)
}

/// Events `replications` runs would simulate.
pub fn simulation_cost(
    config: &TwinConfig,
    state: &TwinState,
    horizon_s: f64,
    replications: usize,
) -> f64 {
    (config.rate_per_s.max(0.0) * horizon_s + state.backlog() as f64) * replications as f64
}

/// The configuration a live forecast simulates: the snapshot's settings, with no arrivals
/// while the source is paused or has ended.
pub fn live_config(s: &Snapshot) -> TwinConfig {
    let mut config = TwinConfig::from_settings(&s.settings, s.cores);
    if s.settings.paused || s.state != RunState::Running {
        config.rate_per_s = 0.0;
    }
    config
}

/// The horizon the queue chart shows right of "now" for `history_s` of history left of it:
/// at least the future's share of the width, rounded up to a time that reads well in words
/// ("120 queued in 1.5m"), so the future takes a quarter to a third of the chart.
pub fn horizon_s(history_s: f64) -> f64 {
    const NICE_S: [f64; 16] = [
        10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 450.0, 600.0, 900.0,
        1200.0, 1800.0,
    ];
    let raw = (history_s.max(0.0) * FUTURE_SHARE / (1.0 - FUTURE_SHARE)).max(MIN_HORIZON_S);
    NICE_S
        .iter()
        .copied()
        .find(|&nice| nice >= raw)
        .unwrap_or_else(|| (raw / 3600.0).ceil() * 3600.0)
}

/// The live forecast's horizon for a snapshot, from its series' span as the chart draws it.
pub fn horizon_for(s: &Snapshot) -> f64 {
    let history_ns = match (s.series.first(), s.series.last()) {
        (Some(first), Some(last)) => last.t_ns.saturating_sub(first.t_ns),
        _ => 0,
    };
    horizon_s(history_ns as f64 / 1e9)
}

/// One replication's outcome; its waits go into a histogram all replications share.
struct Replication {
    backlog: Vec<f64>,
    drain_s: Option<f64>,
    /// The run's counts, its wait histogram left empty.
    run: TwinRun,
}

/// The forecast from the full simulation whatever it costs (tests check the fluid against it).
pub fn by_simulation(
    config: &TwinConfig,
    state: &TwinState,
    horizon_s: f64,
    points: usize,
    replications: usize,
    seed: u64,
) -> Forecast {
    let points = points.max(2);
    let replications = replications.max(2);
    let times: Vec<f64> = (0..points)
        .map(|i| horizon_s * i as f64 / (points - 1) as f64)
        .collect();
    // One histogram records every replication's waits: a fresh one each (zeroed, ~50 kB)
    // would cost more than a slow run.
    let mut waits = wait_histogram();
    let mut runs = Vec::with_capacity(replications);
    for r in 0..replications as u64 {
        let seed = seed_of_replication(seed, r);
        let (replication, all_waits) = if lindley_applies(config) {
            replicate_fcfs(config, state, &times, seed, waits)
        } else {
            replicate(config, state, &times, seed, waits)
        };
        waits = all_waits;
        runs.push(replication);
    }
    summarise(&runs, &waits, &times, horizon_s, replications)
}

/// The next arrival, from the forecast's start; never, with a rate of 0 (a paused source).
fn next_arrival(config: &TwinConfig, state: &TwinState, arrivals: &mut Arrivals) -> Waiting {
    if !(config.rate_per_s > 0.0 && config.rate_per_s.is_finite()) {
        return Waiting {
            arrival_s: f64::INFINITY,
            demand_s: 0.0,
        };
    }
    let mut event = arrivals.next();
    event.arrival_s += state.arrivals_from_s;
    if state
        .arrivals_until_s
        .is_some_and(|until| event.arrival_s > until)
    {
        event.arrival_s = f64::INFINITY;
    }
    event
}

/// Whether the pool is unbounded FCFS on full-speed servers, which the Lindley recursion runs.
fn lindley_applies(config: &TwinConfig) -> bool {
    let shared = matches!(config.cores, Some(cores) if config.servers > cores);
    config.drops().is_none() && !shared
}

/// One run of an unbounded FCFS pool by the Lindley recursion (no queue kept, several times
/// faster): starts come in arrival order, so the backlog at t is the events arrived by t less
/// those started by t, counted per sample time; the backlog's area is the waits clipped to the
/// horizon; it first empties at a start after which the next event arrives later.
fn replicate_fcfs(
    config: &TwinConfig,
    state: &TwinState,
    times: &[f64],
    seed: u64,
    waits: Histogram<u64>,
) -> (Replication, Histogram<u64>) {
    let mut arrivals = Arrivals::new(config, seed);
    let preloaded = preload(config, state, &mut arrivals);
    let mut pool = Fcfs {
        servers: Servers::with_busy(config.servers, &state.busy_remaining_s),
        changes: state.servers_after.iter().copied().collect(),
        net: vec![0; times.len() + 1],
        horizon_s: times.last().copied().unwrap_or(0.0),
        step_s: times.last().copied().unwrap_or(0.0) / (times.len() - 1).max(1) as f64,
        drain_s: preloaded.is_empty().then_some(0.0),
        last_start: f64::NEG_INFINITY,
        run: TwinRun::recording_into(waits),
    };
    for event in preloaded {
        pool.take(event);
    }
    loop {
        let event = next_arrival(config, state, &mut arrivals);
        if event.arrival_s > pool.horizon_s {
            return pool.end(event.arrival_s, times.len());
        }
        pool.take(event);
    }
}

/// A Lindley replication under way.
struct Fcfs {
    servers: Servers,
    /// Server counts still to come (`TwinState::servers_after`).
    changes: VecDeque<(f64, usize)>,
    /// Arrivals less starts, by the first sample time at or after each.
    net: Vec<i64>,
    horizon_s: f64,
    step_s: f64,
    drain_s: Option<f64>,
    last_start: f64,
    run: TwinRun,
}

impl Fcfs {
    /// The first sample at or after `t`.
    fn sample_from(&self, t: f64) -> usize {
        if t <= 0.0 || self.step_s <= 0.0 {
            0
        } else {
            ((t / self.step_s).ceil() as usize).min(self.net.len() - 1)
        }
    }

    /// The next event in arrival order takes the earliest free server.
    fn take(&mut self, event: Waiting) {
        self.emptied_before(event.arrival_s);
        // Starts come in order: a change of the server count due by this event's start
        // applies first.
        while let Some(&(at_s, servers)) = self.changes.front() {
            if self.servers.earliest_free_s().max(event.arrival_s) < at_s {
                break;
            }
            self.servers.resize_at(at_s, servers);
            self.changes.pop_front();
        }
        let start = self.servers.take(event.arrival_s, event.demand_s);
        self.last_start = start;
        let (arrived, started) = (self.sample_from(event.arrival_s), self.sample_from(start));
        self.net[arrived] += 1;
        self.net[started] -= 1;
        let run = &mut self.run;
        run.queue_area += (start.min(self.horizon_s) - event.arrival_s.max(0.0)).max(0.0);
        if event.arrival_s >= 0.0 {
            let wait = start - event.arrival_s;
            run.arrivals += 1;
            run.started += 1;
            run.wait_sum_s += wait;
            run.waits_ns.saturating_record((wait * 1e9) as u64);
        }
    }

    /// If every earlier event had started by `arrival_s`, the backlog emptied at the last start.
    fn emptied_before(&mut self, arrival_s: f64) {
        if self.drain_s.is_none() && arrival_s > self.last_start && self.last_start >= 0.0 {
            self.drain_s = Some(self.last_start).filter(|&t| t <= self.horizon_s);
        }
    }

    /// The run, the next arrival past the horizon: the backlog at each of `points` times.
    fn end(mut self, next_arrival_s: f64, points: usize) -> (Replication, Histogram<u64>) {
        self.emptied_before(next_arrival_s);
        let backlog = self.net[..points]
            .iter()
            .scan(0i64, |sum, n| {
                *sum += n;
                Some(*sum as f64)
            })
            .collect();
        let drain_s = self.drain_s.filter(|&t| t <= self.horizon_s);
        finish(self.run, backlog, drain_s)
    }
}

/// A replication's outcome, and the shared wait histogram given back.
fn finish(
    mut run: TwinRun,
    backlog: Vec<f64>,
    drain_s: Option<f64>,
) -> (Replication, Histogram<u64>) {
    let placeholder = Histogram::new(1).expect("1 digit is valid");
    let waits = std::mem::replace(&mut run.waits_ns, placeholder);
    let replication = Replication {
        backlog,
        drain_s,
        run,
    };
    (replication, waits)
}

/// One run from `state` to the last of `times`, reading the backlog at each.
fn replicate(
    config: &TwinConfig,
    state: &TwinState,
    times: &[f64],
    seed: u64,
    waits: Histogram<u64>,
) -> (Replication, Histogram<u64>) {
    let horizon_s = times.last().copied().unwrap_or(0.0);
    let mut arrivals = Arrivals::new(config, seed);
    let mut queue = preload(config, state, &mut arrivals);
    let mut run = TwinRun::recording_into(waits);
    let mut recorder = Recorder::new(&mut run, true);
    recorder.begin(0.0, queue.len());
    if queue.is_empty() {
        recorder.emptied_at_s = Some(0.0);
    }
    let mut pool: Box<dyn Pool> = match config.cores {
        Some(cores) if config.servers > cores => Box::new(SharedCores::with_busy(
            config.servers,
            cores,
            &state.busy_remaining_s,
        )),
        _ => Box::new(Servers::with_busy(config.servers, &state.busy_remaining_s)),
    };
    let mut backlog = Vec::with_capacity(times.len());
    loop {
        let event = next_arrival(config, state, &mut arrivals);
        let until = event.arrival_s.min(horizon_s);
        while let Some(&t) = times.get(backlog.len()).filter(|&&t| t <= until) {
            pool.advance(t, &mut queue, &mut recorder);
            backlog.push(queue.len() as f64);
        }
        if event.arrival_s > horizon_s {
            break;
        }
        pool.offer(config, event, &mut queue, &mut recorder);
    }
    recorder.queue_is(horizon_s, queue.len());
    let drain_s = recorder.emptied_at_s.filter(|&t| t <= horizon_s);
    // The events still waiting start too, so their waits count (exact under FCFS: later
    // arrivals never go ahead of them), under the server counts that come after.
    recorder.last_arrival();
    for &(at_s, servers) in &state.servers_after {
        pool.advance(at_s, &mut queue, &mut recorder);
        pool.resize_at(at_s, servers);
    }
    pool.advance(f64::INFINITY, &mut queue, &mut recorder);
    finish(run, backlog, drain_s)
}

/// The starting queue: the queued events, then the held ones, all arrived before the
/// forecast (so their waits are not the horizon's). Each gets a demand drawn from the service
/// distribution; the queued ones' are scaled so they add up to the work the engine counted
/// (the total decides the drain; the draws keep its variability). A queue that drops holds no
/// more than its cap: the held events meet it full at once and are refused (`drop-new`) or
/// each evict the oldest (`drop-old`), as in the engine when `block` gives way to either (CI:
/// bounded-queue's drop-new phase began with 88 waiting, 68 of them held, and measured 18.7
/// queued on average against the 31.6 of a twin that queued all 88).
fn preload(config: &TwinConfig, state: &TwinState, arrivals: &mut Arrivals) -> VecDeque<Waiting> {
    let mut demands: Vec<f64> = (0..state.backlog()).map(|_| arrivals.demand_s()).collect();
    let queued = (state.queued as usize).min(demands.len());
    let drawn_s: f64 = demands[..queued].iter().sum();
    if state.queued_work_s > 0.0 && drawn_s > 0.0 {
        let scale = state.queued_work_s / drawn_s;
        demands[..queued].iter_mut().for_each(|d| *d *= scale);
    } else if state.queued_work_s > 0.0 {
        // Draws of zero (a zero service): share the counted work evenly.
        let each_s = state.queued_work_s / queued.max(1) as f64;
        demands[..queued].iter_mut().for_each(|d| *d = each_s);
    }
    let mut queue: VecDeque<Waiting> = demands
        .into_iter()
        .map(|demand_s| Waiting {
            arrival_s: f64::NEG_INFINITY,
            demand_s,
        })
        .collect();
    if let Some(cap) = config.queue_cap {
        match config.overflow {
            Overflow::DropNew => queue.truncate(cap),
            Overflow::DropOld => {
                let excess = queue.len().saturating_sub(cap);
                queue.drain(..excess);
            }
            Overflow::Block => {}
        }
    }
    queue
}

fn summarise(
    runs: &[Replication],
    waits: &Histogram<u64>,
    times: &[f64],
    horizon_s: f64,
    replications: usize,
) -> Forecast {
    let path: Vec<PathPoint> = times
        .iter()
        .enumerate()
        .map(|(i, &t_s)| PathPoint {
            t_s,
            backlog: quantiles(runs.iter().map(|r| r.backlog[i]).collect()),
        })
        .collect();
    let drains: Vec<f64> = runs
        .iter()
        .map(|r| r.drain_s.unwrap_or(f64::INFINITY))
        .collect();
    let drain = quantiles(drains);
    let finite = |v: f64| v.is_finite().then_some(v);
    let arrivals: u64 = runs.iter().map(|r| r.run.arrivals).sum();
    let dropped: u64 = runs.iter().map(|r| r.run.dropped).sum();
    let means: Vec<f64> = runs.iter().map(|r| r.run.mean_wait_s()).collect();
    let mean_wait = Estimate::of(&means);
    let wait_at = |q: f64| waits.value_at_quantile(q) as f64 / 1e9;
    let area: f64 = runs.iter().map(|r| r.run.queue_area).sum();
    let lens = runs
        .iter()
        .map(|r| ratio(r.run.queue_area, horizon_s))
        .collect();
    Forecast {
        method: ForecastMethod::Simulated { replications },
        horizon_s,
        drain_s_p10: finite(drain.p10),
        drain_s_p50: finite(drain.p50),
        drain_s_p90: finite(drain.p90),
        p_drop: ratio(dropped as f64, arrivals as f64),
        mean_wait_s: mean_wait.mean,
        mean_wait_s_half_width: Some(mean_wait.half_width),
        mean_wait_s_run95: range95(means),
        mean_queue_len_run95: range95(lens),
        wait_p50_s: wait_at(0.50),
        wait_p90_s: wait_at(0.90),
        wait_p99_s: wait_at(0.99),
        mean_queue_len: ratio(area, horizon_s * runs.len() as f64),
        queue_end: path.last().map(|p| p.backlog).unwrap_or_default(),
        growth_per_s: growth_per_s(&path),
        path,
    }
}

pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The 2.5% and 97.5% points of `values`, interpolated between ranks; None for fewer than 2.
pub(crate) fn range95(mut values: Vec<f64>) -> Option<[f64; 2]> {
    if values.len() < 2 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some([rank(&values, 0.025), rank(&values, 0.975)])
}

/// The `q` point of sorted `values`, interpolated between ranks.
fn rank(values: &[f64], q: f64) -> f64 {
    let h = q * (values.len() - 1) as f64;
    let (lo, hi) = (values[h.floor() as usize], values[h.ceil() as usize]);
    if lo == hi {
        lo
    } else {
        lo + (h - h.floor()) * (hi - lo)
    }
}

/// p10 / p50 / p90 of `values`, interpolated between ranks (an infinite neighbour, a run
/// that never drained, makes the quantile infinite).
pub(crate) fn quantiles(mut values: Vec<f64>) -> Quantiles {
    if values.is_empty() {
        return Quantiles::default();
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| rank(&values, q);
    Quantiles {
        p10: at(0.10),
        p50: at(0.50),
        p90: at(0.90),
    }
}

/// The least-squares slope of the p50 path, events per s.
pub(crate) fn growth_per_s(path: &[PathPoint]) -> f64 {
    let n = path.len() as f64;
    if path.len() < 2 {
        return 0.0;
    }
    let mean_t = path.iter().map(|p| p.t_s).sum::<f64>() / n;
    let mean_q = path.iter().map(|p| p.backlog.p50).sum::<f64>() / n;
    let (num, den) = path.iter().fold((0.0, 0.0), |(num, den), p| {
        let dt = p.t_s - mean_t;
        (num + dt * (p.backlog.p50 - mean_q), den + dt * dt)
    });
    ratio(num, den)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_horizon_is_the_futures_share_of_the_chart_rounded_up_to_a_nice_time() {
        assert_eq!(horizon_s(0.0), MIN_HORIZON_S);
        // 185 s of history: a quarter of the width is 61.7 s, shown as 90 s.
        assert_eq!(horizon_s(185.0), 90.0);
        assert_eq!(horizon_s(90.0), 30.0);
        assert_eq!(horizon_s(20_000.0), 7200.0);
        for history in [10.0, 100.0, 1000.0, 10_000.0] {
            let share = horizon_s(history) / (history + horizon_s(history));
            assert!(share >= FUTURE_SHARE - 1e-9, "{history}: {share}");
        }
    }

    /// A queue capped at 20 that drops, started with 20 queued and 68 held at the source (block
    /// gave way to it): it holds 20 from the start, as the engine's does; under block all 88
    /// wait.
    #[test]
    fn a_dropping_queue_starts_at_its_cap_and_a_blocking_one_with_all_held() {
        use crate::engine::settings::{ArrivalProcess, Rate, ServiceDist, Settings};
        let state = TwinState {
            queued: 20,
            held_at_source: 68,
            busy_remaining_s: vec![0.5; 4],
            ..TwinState::default()
        };
        for (overflow, start) in [
            (Overflow::DropNew, 20.0),
            (Overflow::DropOld, 20.0),
            (Overflow::Block, 88.0),
        ] {
            let settings = Settings {
                arrival: ArrivalProcess::Poisson,
                rate: Rate::per_s(12.0).unwrap(),
                service: std::time::Duration::from_millis(500),
                service_dist: ServiceDist::Exp,
                workers: 4,
                queue_cap: Some(20),
                overflow,
                ..Settings::default()
            };
            let config = TwinConfig::from_settings(&settings, 2);
            let f = by_simulation(&config, &state, 10.0, 11, 20, 1);
            assert_eq!(f.path[0].backlog.p50, start, "{overflow:?}");
        }
    }

    #[test]
    fn quantiles_interpolate_and_an_infinite_neighbour_stays_infinite() {
        let q = quantiles((1..=11).map(f64::from).collect());
        assert_eq!((q.p10, q.p50, q.p90), (2.0, 6.0, 10.0));
        let q = quantiles(vec![1.0, 2.0, f64::INFINITY, f64::INFINITY]);
        assert_eq!(q.p10, 1.3);
        assert!(q.p90.is_infinite());
    }
}
