//! A sweep's progress on stderr: a bar redrawn in place, with the point and an ETA, when
//! stderr is a terminal; otherwise a line as each point ends.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

const BAR_WIDTH: usize = 24;
const REDRAW_EVERY: Duration = Duration::from_millis(100);

pub struct Progress {
    /// Points to run, when known (a search does not know it).
    total: Option<usize>,
    done: usize,
    bar: bool,
    started: Instant,
    last_draw: Option<Instant>,
    /// What the current point is: "workers 5, 9/s".
    label: String,
}

impl Progress {
    pub fn new(total: Option<usize>) -> Self {
        Self {
            total,
            done: 0,
            bar: io::stderr().is_terminal(),
            started: Instant::now(),
            last_draw: None,
            label: String::new(),
        }
    }

    /// "3/8" with a total, "3" without.
    fn ordinal(&self) -> String {
        match self.total {
            Some(total) => format!("{}/{total}", self.done + 1),
            None => format!("{}", self.done + 1),
        }
    }

    /// A point starts.
    pub fn start(&mut self, label: String) {
        self.label = label;
        self.last_draw = None;
    }

    /// Seconds left, from the time the points so far took (and this one's share done).
    fn eta_s(&self, fraction: f64) -> Option<f64> {
        let total = self.total? as f64;
        let done = self.done as f64 + fraction;
        if done <= 0.0 {
            return None;
        }
        let per_point = self.started.elapsed().as_secs_f64() / done;
        Some(per_point * (total - done).max(0.0))
    }

    /// The current point is `fraction` done: redraws the bar (at most every 100 ms).
    pub fn update(&mut self, fraction: f64) {
        if !self.bar || self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
            return;
        }
        self.last_draw = Some(Instant::now());
        let filled = ((fraction.clamp(0.0, 1.0) * BAR_WIDTH as f64) as usize).min(BAR_WIDTH);
        let eta = self
            .eta_s(fraction)
            .map(|s| format!(", ETA {}", clock(s)))
            .unwrap_or_default();
        let line = format!(
            "\r\x1b[Ksweep: point {} ({}) [{}{}] {:>3.0}%{eta}",
            self.ordinal(),
            self.label,
            "█".repeat(filled),
            "░".repeat(BAR_WIDTH - filled),
            fraction * 100.0
        );
        let mut err = io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }

    /// The current point ended, with `summary` ("p99 1.41s" or "overloaded").
    pub fn point_done(&mut self, summary: &str, wall_s: f64) {
        let eta = self
            .eta_s(1.0)
            .filter(|s| *s > 0.0)
            .map(|s| format!("; ETA {}", clock(s)))
            .unwrap_or_default();
        let clear = if self.bar { "\r\x1b[K" } else { "" };
        eprintln!(
            "{clear}sweep: point {} ({}) done in {wall_s:.1}s: {summary}{eta}",
            self.ordinal(),
            self.label
        );
        self.done += 1;
    }

    /// Clears the bar (before a message or the end).
    pub fn clear(&self) {
        if self.bar {
            eprint!("\r\x1b[K");
        }
    }
}

/// "42s", "3m05s".
fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_minutes_past_a_minute() {
        assert_eq!(clock(42.4), "42s");
        assert_eq!(clock(185.0), "3m05s");
    }
}
