//! The source's achieved rate as every face states it: arrivals over the source's active time.

use crate::engine::{RunState, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Achieved {
    /// The source is paused: no rate to state.
    Paused,
    Rate(f64),
}

/// Arrivals over the source's active time: over the recent window, or over the run when the
/// source was not active in the window (it ended a while ago); paused while it is.
pub fn achieved(s: &Snapshot) -> Achieved {
    if s.state == RunState::Paused {
        return Achieved::Paused;
    }
    Achieved::Rate(s.recent_achieved_rate_per_s.unwrap_or(s.arrival_rate_per_s))
}

/// The figure as the source panel shows it: "paused", or a rate.
pub fn text(s: &Snapshot) -> String {
    match achieved(s) {
        Achieved::Paused => "paused".to_string(),
        Achieved::Rate(rate) => crate::units::per_s(rate),
    }
}
