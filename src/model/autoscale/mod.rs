//! Autoscaling policies: each a pure function of what it has seen of the snapshots and of model
//! time, deciding a worker count (`Policy::evaluate`); `AutoscaleSpec` parses
//! `POLICY[:key=value,...]`. The driver that feeds them snapshots and sends their commands is
//! `crate::autoscaler`; what the faces show of them is `AutoscaleView`.

pub mod celery;
pub mod hpa;
pub mod keda;
mod params;
pub mod target_wait;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::snapshot::WorkerActivity;
use crate::model::theory::TheoryInput;

pub use params::{AutoscaleSpec, POLICY_FORMS, PolicyParams};

/// What a policy reads of one snapshot, at one evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Model time, ns since the run began.
    pub now_ns: u64,
    /// The pool's worker count now (the target the last command set).
    pub workers: usize,
    /// Workers holding an event now.
    pub busy: usize,
    /// Events waiting: in the queue and held at the source.
    pub backlog: u64,
    /// Fraction of the workers' time spent on events since the last evaluation, 0..=1.
    pub utilization: f64,
    /// Arrivals per model second since the last evaluation (the snapshot's recent window
    /// at the first: that window is wall time, so at `--speed 20` it spans 200 s of model
    /// time, far too slow for a policy).
    pub arrival_rate_per_s: f64,
    /// The settings as the theory reads them (service, distributions, cores, queue), with the
    /// measured load where the settings do not describe it.
    pub theory: TheoryInput,
    /// The most workers the pool can have.
    pub max_workers: usize,
}

impl Observation {
    /// Reads `s`; `utilization` comes from the meter, which remembers the last evaluation.
    pub fn of(s: &Snapshot, meter: &mut UtilizationMeter) -> Self {
        let busy = s
            .workers
            .iter()
            .filter(|w| matches!(w.activity, WorkerActivity::Busy { .. }))
            .count();
        let mut theory = TheoryInput::from_settings(&s.settings, s.cores);
        // A measured service (stdin, a trace, exec work) stands in for the settings'.
        if s.theory.measured.is_some_and(|m| m.service.is_some()) {
            theory.service_mean_s = s.theory.service_mean_s;
        }
        Self {
            now_ns: s.now_ns,
            workers: s.settings.workers,
            busy,
            backlog: s.counters.backlog(),
            utilization: meter.measure(s),
            arrival_rate_per_s: meter.arrival_rate(s).unwrap_or_else(|| first_look_rate(s)),
            theory,
            max_workers: s.settings.max_workers,
        }
    }
}

/// The arrival rate at a policy's first look: the recent window's once the series has a point,
/// else the run's so far (at 20 times speed the first look came before the first point, read
/// 0/s with 33 queued, and target-wait scaled down to 1 worker).
fn first_look_rate(s: &Snapshot) -> f64 {
    if s.series.is_empty() {
        s.arrival_rate_per_s
    } else {
        s.recent_arrival_rate_per_s
    }
}

/// What a policy measures between two of its evaluations: the workers' busy share (from each
/// worker's busy and alive time) and the arrival rate.
#[derive(Debug, Default, Clone)]
pub struct UtilizationMeter {
    /// Per worker id: (busy ns, alive ns) at the last measure.
    last: HashMap<u32, (u64, u64)>,
    /// (model ns, events generated) at the last arrival rate.
    last_generated: Option<(u64, u64)>,
}

impl UtilizationMeter {
    /// Events generated per model second since the last call; none at the first.
    pub fn arrival_rate(&mut self, s: &Snapshot) -> Option<f64> {
        let now = (s.now_ns, s.counters.generated);
        let last = self.last_generated.replace(now)?;
        let dt_s = now.0.checked_sub(last.0).filter(|&dt| dt > 0)? as f64 / 1e9;
        Some(now.1.saturating_sub(last.1) as f64 / dt_s)
    }

    /// Busy time over alive time since the last call, over the workers alive now (a worker
    /// that has left takes its last moments with it); the busy share right now if no time
    /// has passed.
    pub fn measure(&mut self, s: &Snapshot) -> f64 {
        let (mut busy, mut alive) = (0u64, 0u64);
        let mut seen = HashMap::with_capacity(s.workers.len());
        for w in &s.workers {
            let (b0, a0) = self.last.get(&w.id).copied().unwrap_or((0, 0));
            // A reset of the statistics starts the totals again.
            let (b0, a0) = if w.alive_ns < a0 { (0, 0) } else { (b0, a0) };
            busy += w.busy_ns.saturating_sub(b0);
            alive += w.alive_ns.saturating_sub(a0);
            seen.insert(w.id, (w.busy_ns, w.alive_ns));
        }
        self.last = seen;
        if alive == 0 {
            let n = s.workers.len().max(1);
            let busy_now = s
                .workers
                .iter()
                .filter(|w| matches!(w.activity, WorkerActivity::Busy { .. }))
                .count();
            return busy_now as f64 / n as f64;
        }
        (busy as f64 / alive as f64).clamp(0.0, 1.0)
    }
}

/// What held a recommendation back from the count the policy's formula asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// The metric was within the tolerance of its target: no change.
    Tolerance,
    /// A higher recommendation within the scale-down stabilization window (or a lower one
    /// within the scale-up window) held it.
    Stabilization,
    /// The scale-up or scale-down rate limit held it.
    RateLimit,
    /// The policy's min or max held it.
    Bounds,
    /// Celery: the last scale-up is younger than the keepalive.
    Keepalive,
}

impl Hold {
    pub fn name(self) -> &'static str {
        match self {
            Hold::Tolerance => "tolerance",
            Hold::Stabilization => "stabilization",
            Hold::RateLimit => "rate limit",
            Hold::Bounds => "bounds",
            Hold::Keepalive => "keepalive",
        }
    }
}

/// One evaluation of a policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// Model ns since the run began.
    pub at_ns: u64,
    /// The worker count it found.
    pub current: usize,
    /// What the formula asked for, before stabilization, rate limits and bounds.
    pub recommended: usize,
    /// The count to set.
    pub desired: usize,
    /// The inputs as words: "queue/worker 14.2 vs 10".
    pub inputs: String,
    /// The formula with its numbers: "ceil(4 × 1.42) = 6".
    pub formula: String,
    /// What held the recommendation back, if anything did.
    pub held: Option<Hold>,
}

impl Decision {
    /// Whether it changes the worker count.
    pub fn changes(&self) -> bool {
        self.desired != self.current
    }
}

/// The footer's line: "hpa: queue/worker 14.2 vs 10 → 6 workers".
pub struct DecisionLine<'a>(pub &'a str, pub &'a Decision);

impl fmt::Display for DecisionLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DecisionLine(policy, d) = *self;
        write!(f, "{policy}: {} → {} workers", d.inputs, d.desired)?;
        if let Some(held) = d.held {
            write!(f, " (held by {})", held.name())?;
        }
        Ok(())
    }
}

/// The log's line for one evaluation: model time, inputs, formula, what held it, the output.
/// `12.000s autoscale hpa: queue/worker 14.2 vs 10, 4 workers; ceil(4 × 1.42) = 6 → 6 workers`
pub struct DecisionLogLine<'a>(pub &'a str, pub &'a Decision);

impl fmt::Display for DecisionLogLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DecisionLogLine(policy, d) = *self;
        let t = d.at_ns as f64 / 1e9;
        write!(
            f,
            "{t:.3}s autoscale {policy}: {}, {} workers; {} → {} workers",
            d.inputs, d.current, d.formula, d.desired
        )?;
        if let Some(held) = d.held {
            write!(
                f,
                " (held by {}: recommended {})",
                held.name(),
                d.recommended
            )?;
        }
        Ok(())
    }
}

/// A policy's lowest and highest worker counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: usize,
    /// None: the pool's `max_workers`.
    pub max: Option<usize>,
}

impl Bounds {
    /// The highest count, given the pool's limit.
    pub fn max_for(&self, obs: &Observation) -> usize {
        self.max
            .unwrap_or(obs.max_workers)
            .min(obs.max_workers)
            .max(1)
    }

    /// `n` within the bounds; whether they held it.
    pub fn clamp(&self, n: usize, obs: &Observation) -> (usize, bool) {
        let max = self.max_for(obs);
        let min = self.min.min(max);
        let clamped = n.clamp(min, max);
        (clamped, clamped != n)
    }
}

/// An autoscaling policy: its own state and clock, fed one observation per evaluation.
pub trait Policy: Send {
    /// `hpa`, `keda`, `celery`, `target-wait`.
    fn name(&self) -> &'static str;
    /// Model time between evaluations, ns.
    fn interval_ns(&self) -> u64;
    /// Decides the worker count from what it sees now and what it has seen before.
    fn evaluate(&mut self, obs: &Observation) -> Decision;
}

/// What the faces show of the policy: its name and parameters, whether it is paused, its
/// latest decision, a bounded history of desired and actual workers, and its tallies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoscaleView {
    pub policy: String,
    /// Every parameter with the value in force, defaults included, in the policy's order.
    pub params: Vec<(String, String)>,
    /// Paused by the `A` key, or by `+` / `-` (a person took over).
    pub paused: bool,
    pub last: Option<Decision>,
    /// (model ns, desired, actual), oldest first, at most `HISTORY` points.
    pub history: std::collections::VecDeque<(u64, usize, usize)>,
    /// Evaluations made, and how many changed the worker count.
    pub decisions: u64,
    pub changes: u64,
    /// Workers alive integrated over model time, worker·s.
    pub worker_seconds: f64,
    /// The most workers alive at once.
    pub max_workers_used: usize,
}

/// Points of desired and actual workers kept for the monitor's line.
pub const HISTORY: usize = 600;

impl AutoscaleView {
    /// The header's words: "hpa" or "hpa (paused)".
    pub fn label(&self) -> String {
        if self.paused {
            format!("{} (paused)", self.policy)
        } else {
            self.policy.clone()
        }
    }

    /// The desired count of the latest decision, if there was one.
    pub fn desired(&self) -> Option<usize> {
        self.last.as_ref().map(|d| d.desired)
    }

    /// Adds a point to the history, dropping the oldest past `HISTORY`.
    pub fn record(&mut self, at_ns: u64, desired: usize, actual: usize) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((at_ns, desired, actual));
    }
}

/// The JSON summary's `autoscale` object (read back from a run log by the replay).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct AutoscaleJson {
    pub policy: String,
    pub params: std::collections::BTreeMap<String, String>,
    pub decisions: u64,
    pub changes: u64,
    pub worker_seconds: f64,
    pub max_workers_used: usize,
}

impl From<&AutoscaleView> for AutoscaleJson {
    fn from(v: &AutoscaleView) -> Self {
        Self {
            policy: v.policy.clone(),
            params: v.params.iter().cloned().collect(),
            decisions: v.decisions,
            changes: v.changes,
            worker_seconds: v.worker_seconds,
            max_workers_used: v.max_workers_used,
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Observations built by hand, for the policies' unit tests.
    use super::Observation;
    use crate::engine::Settings;
    use crate::model::theory::TheoryInput;

    pub fn obs(now_s: u64, workers: usize, backlog: u64) -> Observation {
        Observation {
            now_ns: now_s * 1_000_000_000,
            workers,
            busy: workers,
            backlog,
            utilization: 1.0,
            arrival_rate_per_s: 0.0,
            theory: TheoryInput::from_settings(&Settings::default(), 2),
            max_workers: 256,
        }
    }
}
