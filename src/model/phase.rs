//! The current phase as the faces read it: what was measured since the last change of settings,
//! and whether the phase is still too young to compare with theory.

use crate::engine::snapshot::{Phase, Snapshot};

/// A phase is settling until it is this many mean service times old...
const SETTLE_SERVICES: f64 = 3.0;
/// ...and this many mean gaps between arrivals...
const SETTLE_GAPS: f64 = 20.0;
/// ...and at least this old (model seconds), with this many of its events started.
const SETTLE_MIN_S: f64 = 2.0;
const SETTLE_EVENTS: u64 = 20;

/// What the measured column compares with theory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measured<'a> {
    /// The whole run: its settings never changed (or it is over).
    Run,
    /// The current phase, begun by a change of settings `age_s` model seconds ago.
    Phase { phase: &'a Phase, age_s: f64 },
    /// The current phase is too young to say anything yet.
    Settling { age_s: f64 },
}

impl<'a> Measured<'a> {
    pub fn of(s: &'a Snapshot) -> Self {
        let Some(phase) = s.phases.last().filter(|_| s.phases.len() > 1) else {
            return Measured::Run;
        };
        if s.state.is_over() {
            return Measured::Run;
        }
        let age_s = s.now_ns.saturating_sub(phase.start_ns) as f64 / 1e9;
        if settling(phase, age_s) {
            Measured::Settling { age_s }
        } else {
            Measured::Phase { phase, age_s }
        }
    }
}

/// Too young to compare: not yet a few service times and a good many arrivals old.
fn settling(phase: &Phase, age_s: f64) -> bool {
    let settings = &phase.settings;
    let service_s = settings.service.as_secs_f64();
    let rate = settings.rate.get();
    let gap_s = if rate > 0.0 { 1.0 / rate } else { 0.0 };
    let settle_s = (SETTLE_SERVICES * service_s)
        .max(SETTLE_GAPS * gap_s)
        .max(SETTLE_MIN_S);
    age_s < settle_s || phase.measured.started < SETTLE_EVENTS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::Settings;
    use crate::engine::snapshot::{PhaseMeasured, RunState};

    fn snapshot(now_s: u64, started: u64) -> Snapshot {
        let phase = |index, start_s: u64| Phase {
            index,
            start_ns: start_s * 1_000_000_000,
            settings: Settings::default(),
            measured: PhaseMeasured {
                started,
                ..PhaseMeasured::default()
            },
            ..Phase::default()
        };
        Snapshot {
            now_ns: now_s * 1_000_000_000,
            phases: vec![phase(1, 0), phase(2, 100)],
            ..Snapshot::default()
        }
    }

    #[test]
    fn the_current_phase_settles_after_a_few_services_and_enough_events() {
        // The article's settings: 5 s of work, one event a second: 20 s and 20 events.
        assert!(matches!(
            Measured::of(&snapshot(110, 50)),
            Measured::Settling { .. }
        ));
        assert!(matches!(
            Measured::of(&snapshot(130, 10)),
            Measured::Settling { .. }
        ));
        match Measured::of(&snapshot(130, 25)) {
            Measured::Phase { phase, age_s } => assert_eq!((phase.index, age_s), (2, 30.0)),
            other => panic!("{other:?}"),
        }
        // One phase, or a run that is over: the whole run.
        let mut one = snapshot(130, 25);
        one.phases.truncate(1);
        assert_eq!(Measured::of(&one), Measured::Run);
        let mut over = snapshot(130, 25);
        over.state = RunState::Finished;
        assert_eq!(Measured::of(&over), Measured::Run);
    }
}
