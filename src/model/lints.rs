//! Lints: checks on a snapshot that point at a problem, each with its name and its words.

use crate::engine::settings::WorkMode;
use crate::engine::snapshot::{RunState, Snapshot, WorkerActivity};
use crate::units;

/// Recent p99 queue wait above this many mean service times is called out.
const TAIL_FACTOR: f64 = 10.0;
/// Series samples in a row that must show idle workers beside a non-empty queue.
const IDLE_SAMPLES: usize = 4;
/// Little's law: relative disagreement tolerated, smallest lengths compared, waits needed.
const LITTLE_TOLERANCE: f64 = 0.25;
const LITTLE_MIN_LEN: f64 = 0.5;
const LITTLE_MIN_EVENTS: u64 = 100;

#[derive(Debug, Clone, PartialEq)]
pub enum Lint {
    /// Utilization at or above 1: no amount of waiting empties the queue.
    Overloaded,
    /// Recent p99 queue wait is `ratio` times the mean service time.
    LongTail { ratio: u64 },
    /// Workers sat idle while events waited (a stall or a pool that is not pulling).
    IdleWithQueue,
    /// CPU work with more workers than cores: the extra workers only share cores.
    MoreWorkersThanCores { workers: usize, cores: usize },
    /// Measured mean queue length disagrees with arrival rate × measured mean wait.
    LittlesLaw { measured: f64, expected: f64 },
}

impl Lint {
    /// A stable snake_case name, for machines (the JSON summary) and for telling lints apart.
    pub fn kind(&self) -> &'static str {
        match self {
            Lint::Overloaded => "overloaded",
            Lint::LongTail { .. } => "long_tail",
            Lint::IdleWithQueue => "idle_with_queue",
            Lint::MoreWorkersThanCores { .. } => "more_workers_than_cores",
            Lint::LittlesLaw { .. } => "littles_law",
        }
    }

    pub fn text(&self) -> String {
        match self {
            Lint::Overloaded => "utilisation ≥ 1: the backlog can only grow".into(),
            Lint::LongTail { ratio } => format!("p99 queue wait is {ratio}× the service time"),
            Lint::IdleWithQueue => "workers idle while the queue is not empty".into(),
            Lint::MoreWorkersThanCores { workers, cores } => {
                format!(
                    "more cpu workers than cores ({workers} > {cores}): extra workers add no capacity"
                )
            }
            Lint::LittlesLaw { measured, expected } => format!(
                "Little's law check fails: mean queue length {} vs arrival rate × mean wait {}",
                units::compact(*measured),
                units::compact(*expected)
            ),
        }
    }
}

/// Every lint that holds for this snapshot, most serious first.
pub fn lints(s: &Snapshot) -> Vec<Lint> {
    if s.state.is_over() {
        return Vec::new();
    }
    let checks = [
        overloaded(s),
        long_tail(s),
        idle_with_queue(s),
        more_workers_than_cores(s),
        littles_law(s),
    ];
    checks.into_iter().flatten().collect()
}

fn overloaded(s: &Snapshot) -> Option<Lint> {
    (!s.theory.stable && s.theory.utilization >= 1.0).then_some(Lint::Overloaded)
}

fn long_tail(s: &Snapshot) -> Option<Lint> {
    let wait = &s.recent_latency.queue_wait;
    let service_ns = s.settings.service.as_nanos() as f64;
    if wait.count == 0 || service_ns <= 0.0 {
        return None;
    }
    let ratio = wait.p99_ns as f64 / service_ns;
    (ratio > TAIL_FACTOR).then(|| Lint::LongTail {
        ratio: ratio.round() as u64,
    })
}

/// Only when it held for the last few samples too: a worker between two events looks idle.
fn idle_with_queue(s: &Snapshot) -> Option<Lint> {
    let idle_now = s
        .workers
        .iter()
        .any(|w| !w.retiring && matches!(w.activity, WorkerActivity::Idle));
    let target = u32::try_from(s.settings.workers).unwrap_or(u32::MAX);
    let tail = s
        .series
        .len()
        .checked_sub(IDLE_SAMPLES)
        .map(|start| &s.series[start..])?;
    let held = tail
        .iter()
        .all(|p| p.queue_depth > 0 && p.busy_workers < target);
    (s.counters.queued > 0 && idle_now && held).then_some(Lint::IdleWithQueue)
}

/// Also read by the theory panel's cpu note, which shows even after the run is over.
pub fn more_workers_than_cores(s: &Snapshot) -> Option<Lint> {
    (s.settings.work == WorkMode::Cpu && s.settings.workers > s.cores).then_some(
        Lint::MoreWorkersThanCores {
            workers: s.settings.workers,
            cores: s.cores,
        },
    )
}

/// L = λW must hold for any stable queue; a disagreement means the measurements are off.
/// Skipped while the queue grows (waits of events still queued are not measured yet), while
/// draining (the source's rate no longer describes the arrivals), and once events were dropped:
/// an evicted event's time in the queue is in L but it never has a wait in W (L = λW holds
/// for the admitted events only, and the run does not measure their own rate apart).
fn littles_law(s: &Snapshot) -> Option<Lint> {
    let wait = &s.latency.queue_wait;
    let skipped = !s.theory.stable || s.state == RunState::Draining || s.counters.dropped > 0;
    if skipped || wait.count < LITTLE_MIN_EVENTS {
        return None;
    }
    let measured = s.mean_queue_len;
    // Over the whole time, pauses included (the achieved rate leaves them out).
    let expected = s.throughput_per_s * wait.mean_ns / 1e9;
    let disagree = (measured - expected).abs() > LITTLE_TOLERANCE * measured.max(expected);
    (measured > LITTLE_MIN_LEN && expected > LITTLE_MIN_LEN && disagree)
        .then_some(Lint::LittlesLaw { measured, expected })
}
