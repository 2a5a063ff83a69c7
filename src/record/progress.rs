//! Progress of an offscreen recording on stderr: a bar redrawn in place when stderr is a
//! terminal, otherwise a plain line at each quarter.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::engine::snapshot::{RunState, Snapshot};

/// How far the run has to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// The source ends at this model time, ns.
    ModelNs(u64),
    /// The source ends after this many events.
    Events(u64),
}

pub struct Progress {
    label: String,
    total: Option<Total>,
    bar: bool,
    last_draw: Option<Instant>,
    quarters_told: u32,
}

const BAR_WIDTH: usize = 30;
const REDRAW_EVERY: Duration = Duration::from_millis(100);

impl Progress {
    pub fn new(label: impl Into<String>, total: Option<Total>) -> Self {
        Self {
            label: label.into(),
            total,
            bar: io::stderr().is_terminal(),
            last_draw: None,
            quarters_told: 0,
        }
    }

    /// Fraction done (0..=1) of the source's part of the run, if the end is known.
    fn fraction(&self, s: &Snapshot) -> Option<f64> {
        let f = match self.total? {
            Total::ModelNs(ns) => s.now_ns as f64 / ns.max(1) as f64,
            Total::Events(n) => s.counters.generated as f64 / n.max(1) as f64,
        };
        Some(f.clamp(0.0, 1.0))
    }

    fn status(&self, s: &Snapshot) -> String {
        let mut text = format!("{:.1}s", s.elapsed_s());
        match self.total {
            Some(Total::ModelNs(ns)) => text.push_str(&format!(" of {:.0}s", ns as f64 / 1e9)),
            Some(Total::Events(n)) => {
                text = format!("{} of {n} events, {text}", s.counters.generated);
            }
            None => {}
        }
        text.push_str(" model time");
        if s.counters.queued > 0 && s.state == RunState::Draining {
            text.push_str(&format!(", draining {} queued", s.counters.queued));
        }
        text
    }

    /// Reports the run's progress (throttled).
    pub fn update(&mut self, s: &Snapshot) {
        let fraction = self.fraction(s);
        if self.bar {
            if self.last_draw.is_some_and(|t| t.elapsed() < REDRAW_EVERY) {
                return;
            }
            self.last_draw = Some(Instant::now());
            let filled = (fraction.unwrap_or(0.0) * BAR_WIDTH as f64).round() as usize;
            let bar = format!("{}{}", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled));
            let percent = fraction.map_or(String::new(), |f| format!(" {:3.0}%", f * 100.0));
            let mut err = io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K{} {bar}{percent}  {}",
                self.label,
                self.status(s)
            );
            let _ = err.flush();
        } else if let Some(f) = fraction {
            let quarter = (f * 4.0).floor() as u32;
            if quarter > self.quarters_told && quarter < 4 {
                self.quarters_told = quarter;
                eprintln!("{}: {}% ({})", self.label, quarter * 25, self.status(s));
            }
        }
    }

    /// Ends the bar and prints `message` on a line of its own.
    pub fn finish(&mut self, message: &str) {
        if self.bar {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{message}");
    }
}
