//! The queue trend: how fast the queue depth changed over the recent window, in words.

use crate::engine::snapshot::{SeriesPoint, Snapshot};
use crate::units;

/// Depth changes slower than this (events per model second) read as steady.
const STEADY_PER_S: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trend {
    /// Not enough samples in the window to tell.
    Unknown,
    Steady,
    /// The queue grows by `per_s` events a second.
    Rising {
        per_s: f64,
    },
    /// The queue shrinks by `per_s` events a second.
    Falling {
        per_s: f64,
    },
}

impl Trend {
    /// The trend over the snapshot's recent window.
    pub fn of(s: &Snapshot) -> Self {
        match trend_per_s(&s.series, s.recent_window_ns) {
            None => Trend::Unknown,
            Some(t) if t.abs() < STEADY_PER_S => Trend::Steady,
            Some(t) if t > 0.0 => Trend::Rising { per_s: t },
            Some(t) => Trend::Falling { per_s: -t },
        }
    }

    /// The trend in words; each face adds its own symbols and styles.
    pub fn text(&self) -> String {
        match *self {
            Trend::Unknown => "trend -".into(),
            Trend::Steady => "steady".into(),
            Trend::Rising { per_s } => format!("+{}", units::per_s(per_s)),
            Trend::Falling { per_s } => format!("-{}", units::per_s(per_s)),
        }
    }
}

/// Change of the queue depth per model second over the recent window, from the series.
pub fn trend_per_s(series: &[SeriesPoint], window_ns: u64) -> Option<f64> {
    let last = series.last()?;
    let since = last.t_ns.saturating_sub(window_ns);
    let first = series.iter().find(|p| p.t_ns >= since)?;
    let dt_s = (last.t_ns - first.t_ns) as f64 / 1e9;
    (dt_s > 0.0).then(|| (last.queue_depth as f64 - first.queue_depth as f64) / dt_s)
}
