//! The verdict: the one-line answer to "is the pool keeping up?", decided from a snapshot, in words.

use crate::engine::snapshot::Snapshot;
use crate::units;

/// Backlogs that clear faster than this (model seconds) are noise, not draining.
const MIN_DRAIN_S: f64 = 2.0;
/// A bounded queue predicted to shed at least this share of arrivals is said to be dropping.
const MATERIAL_DROP: f64 = 0.01;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    KeepingUp,
    /// Capacity only just matches arrivals: a backlog left from earlier never shrinks.
    NotCatchingUp {
        queued: u64,
    },
    Overloaded {
        growth_per_s: f64,
        /// Smallest worker count that keeps up; None if none can (cpu work past the cores).
        needs: Option<usize>,
    },
    Draining {
        seconds: f64,
    },
    /// A bounded queue (`drop-new`, `drop-old`) keeps up by shedding this share of arrivals.
    Dropping {
        p_drop: f64,
    },
    /// The run is over (finished or interrupted): nothing is left to keep up with.
    Finished,
}

impl Verdict {
    pub fn of(s: &Snapshot) -> Self {
        if s.state.is_over() {
            return Verdict::Finished;
        }
        let theory = &s.theory;
        if theory.p_drop >= MATERIAL_DROP {
            return Verdict::Dropping {
                p_drop: theory.p_drop,
            };
        }
        if !theory.stable {
            return Verdict::Overloaded {
                growth_per_s: theory.backlog_growth_per_s.unwrap_or(0.0),
                needs: theory.min_stable_workers,
            };
        }
        // Events held at the source (a full `block` queue) wait as much as the queued ones.
        let queued = s.counters.backlog();
        // Random arrivals queue a little even when all is well: only a backlog well above what
        // theory expects, and that takes a while to clear, counts as something to drain.
        let expected = theory.mean_queue_len.unwrap_or(0.0);
        if (queued as f64) <= (2.0 * expected).max(1.0) {
            return Verdict::KeepingUp;
        }
        let worth_saying_s = (2.0 * theory.service_mean_s).max(MIN_DRAIN_S);
        match theory.drain_time_s(queued) {
            Some(seconds) if seconds >= worth_saying_s => Verdict::Draining { seconds },
            Some(_) => Verdict::KeepingUp,
            None => Verdict::NotCatchingUp { queued },
        }
    }

    /// A stable snake_case name, for machines (the JSON summary) and for spotting a change.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::KeepingUp => "keeping_up",
            Verdict::NotCatchingUp { .. } => "not_catching_up",
            Verdict::Overloaded { .. } => "overloaded",
            Verdict::Draining { .. } => "draining",
            Verdict::Dropping { .. } => "dropping",
            Verdict::Finished => "finished",
        }
    }

    /// The verdict in words; each face adds its own symbols and styles.
    pub fn text(&self) -> String {
        match *self {
            Verdict::KeepingUp => "keeping up".into(),
            Verdict::NotCatchingUp { queued } => format!(
                "keeping up, not catching up: backlog of {} stays",
                units::count(queued)
            ),
            Verdict::Overloaded {
                growth_per_s,
                needs,
            } => {
                let needs = match needs {
                    Some(n) => format!(", needs ≥ {n} workers"),
                    None => ", more workers cannot help (cpu work, all cores busy)".into(),
                };
                let growth = units::per_s(growth_per_s);
                format!("overloaded: backlog grows by {growth}{needs}")
            }
            Verdict::Draining { seconds } => {
                format!("draining: empty in about {}", units::duration_s(seconds))
            }
            Verdict::Dropping { p_drop } => format!(
                "bounded queue: drops about {:.0}% of arrivals",
                p_drop * 100.0
            ),
            Verdict::Finished => "finished".into(),
        }
    }

    /// Model seconds until the backlog is gone, when draining.
    pub fn drain_s(&self) -> Option<f64> {
        match *self {
            Verdict::Draining { seconds } => Some(seconds),
            _ => None,
        }
    }

    /// Events per second the backlog grows by, when overloaded.
    pub fn growth_per_s(&self) -> Option<f64> {
        match *self {
            Verdict::Overloaded { growth_per_s, .. } => Some(growth_per_s),
            _ => None,
        }
    }
}
