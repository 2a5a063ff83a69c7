//! The queue trend: how fast the queue depth changed over the recent window of the current
//! phase (a least-squares fit), in words.

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
    /// The trend over the snapshot's recent window, within the current phase: a change of
    /// settings starts the trend afresh, so it never reads the last phase's growth.
    pub fn of(s: &Snapshot) -> Self {
        let since_ns = s.phases.last().map_or(0, |p| p.start_ns);
        match trend_per_s(&s.series, s.recent_window_ns, since_ns) {
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

/// Change of the queue depth per model second: the least-squares slope of the series' points
/// in the recent window that are not older than `since_ns` (the current phase's start). None
/// until two points span some time.
pub fn trend_per_s(series: &[SeriesPoint], window_ns: u64, since_ns: u64) -> Option<f64> {
    let last = series.last()?;
    let from = last.t_ns.saturating_sub(window_ns).max(since_ns);
    let points: Vec<(f64, f64)> = series
        .iter()
        .filter(|p| p.t_ns >= from)
        .map(|p| ((p.t_ns - from) as f64 / 1e9, p.queue_depth as f64))
        .collect();
    let n = points.len() as f64;
    let (st, sq) = points
        .iter()
        .fold((0.0, 0.0), |(a, b), (t, q)| (a + t, b + q));
    let (mt, mq) = (st / n, sq / n);
    let (cov, var) = points.iter().fold((0.0, 0.0), |(c, v), (t, q)| {
        (c + (t - mt) * (q - mq), v + (t - mt) * (t - mt))
    });
    (points.len() >= 2 && var > 1e-12).then(|| cov / var)
}
