//! The verdict: the one-line answer to "is the pool keeping up?", decided from a snapshot, in words:
//! from its forecast when it has one, else from the closed forms.

use crate::engine::snapshot::Snapshot;
use crate::model::forecast::Forecast;
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
        /// From a forecast: the backlog (p50) at its horizon, and the horizon in model s.
        queued_in: Option<(u64, f64)>,
    },
    Draining {
        seconds: f64,
        /// From a forecast: the drain time's p10 and p90 (None past the forecast's horizon).
        p10_s: Option<f64>,
        p90_s: Option<f64>,
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
        match &s.forecast {
            Some(forecast) => Self::from_forecast(s, forecast),
            None => Self::from_theory(s),
        }
    }

    /// From the forecast made for the current settings (the aggregator shows no other).
    fn from_forecast(s: &Snapshot, f: &Forecast) -> Self {
        let theory = &s.theory;
        // A bounded queue that sheds cannot grow: what it will drop is the news.
        if f.p_drop >= MATERIAL_DROP {
            return Verdict::Dropping { p_drop: f.p_drop };
        }
        // A stable pool's p50 path rises a little from an empty queue to its usual length:
        // only a growth well above that noise is a backlog that grows.
        let noise_per_s = 0.02 * s.settings.rate.get().max(s.arrival_rate_per_s) + 0.1;
        if f.growth_per_s > noise_per_s {
            return Verdict::Overloaded {
                growth_per_s: f.growth_per_s,
                needs: theory.min_stable_workers,
                queued_in: Some((f.queue_end.p50.round() as u64, f.horizon_s)),
            };
        }
        let queued = s.counters.backlog();
        if Self::small_backlog(s, queued) {
            return Verdict::KeepingUp;
        }
        match f.drain_s_p50 {
            Some(seconds) if seconds >= Self::worth_saying_s(s) => Verdict::Draining {
                seconds,
                p10_s: f.drain_s_p10,
                p90_s: f.drain_s_p90,
            },
            Some(_) => Verdict::KeepingUp,
            // Shrinking, but not empty within the horizon: the rest at the same pace.
            None if f.growth_per_s < -noise_per_s => Verdict::Draining {
                seconds: f.horizon_s + f.queue_end.p50 / -f.growth_per_s,
                p10_s: f.drain_s_p10,
                p90_s: None,
            },
            None => Verdict::NotCatchingUp { queued },
        }
    }

    /// Random arrivals queue a little even when all is well: only a backlog past what the
    /// steady state holds 99% of the time counts as something to drain. The queue's length is
    /// taken as geometric with the predicted mean m (the M/M/c queue's shape), so its p99 is
    /// ln 0.01 / ln(m / (1 + m)). Twice the mean, as before, is passed a fifth of the time at
    /// ρ = 0.86 (M/M/7/27, the bounded-queue scenario's last phase), and the verdict flapped
    /// between keeping up and draining.
    fn small_backlog(s: &Snapshot, queued: u64) -> bool {
        let mean = s.theory.mean_queue_len.unwrap_or(0.0).max(0.0);
        let usual = if mean > 0.0 {
            (0.01f64).ln() / (mean / (1.0 + mean)).ln()
        } else {
            0.0
        };
        (queued as f64) <= usual.max(1.0)
    }

    /// A drain shorter than this is not worth a word.
    fn worth_saying_s(s: &Snapshot) -> f64 {
        (2.0 * s.theory.service_mean_s).max(MIN_DRAIN_S)
    }

    /// From the closed forms, before the first forecast is ready: a fluid drain time.
    fn from_theory(s: &Snapshot) -> Self {
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
                queued_in: None,
            };
        }
        // Events held at the source (a full `block` queue) wait as much as the queued ones.
        let queued = s.counters.backlog();
        if Self::small_backlog(s, queued) {
            return Verdict::KeepingUp;
        }
        match theory.drain_time_s(queued) {
            Some(seconds) if seconds >= Self::worth_saying_s(s) => Verdict::Draining {
                seconds,
                p10_s: None,
                p90_s: None,
            },
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
                queued_in,
            } => {
                let needs = match needs {
                    Some(n) => format!(", needs ≥ {n} workers"),
                    None => ", more workers cannot help (cpu work, all cores busy)".into(),
                };
                let growth = units::per_s(growth_per_s);
                match queued_in {
                    Some((queued, in_s)) => format!(
                        "overloaded: +{growth}, {} queued in {}{needs}",
                        units::count(queued),
                        units::duration_s(in_s)
                    ),
                    None => format!("overloaded: backlog grows by {growth}{needs}"),
                }
            }
            Verdict::Draining {
                seconds,
                p10_s,
                p90_s,
            } => {
                let band = match (p10_s.map(units::duration_s), p90_s.map(units::duration_s)) {
                    // A certain drain (fixed arrivals and demands) has no band to speak of.
                    (Some(lo), Some(hi)) if lo == hi => String::new(),
                    (Some(lo), Some(hi)) => format!(" (80%: {lo}-{hi})"),
                    (Some(lo), None) => format!(" (80%: from {lo})"),
                    _ => String::new(),
                };
                format!(
                    "draining: empty in about {}{band}",
                    units::duration_s(seconds)
                )
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
            Verdict::Draining { seconds, .. } => Some(seconds),
            _ => None,
        }
    }

    /// The drain time's p10 and p90 from the forecast, when draining and known.
    pub fn drain_band_s(&self) -> (Option<f64>, Option<f64>) {
        match *self {
            Verdict::Draining { p10_s, p90_s, .. } => (p10_s, p90_s),
            _ => (None, None),
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
