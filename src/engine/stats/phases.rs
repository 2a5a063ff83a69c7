//! Phases: every change of settings starts one, and each keeps what was measured for the events
//! that arrived in it, so a run of three settings is three comparisons, not one blurred one.
//!
//! An event belongs to the phase it arrived in (by its scheduled arrival): its queue wait and
//! its outcome count there even when it starts or ends in a later phase. What is counted on the
//! statistics ticks (arrivals, drops, the backlog, its fitted growth, when it first emptied, the
//! area under it) is counted from the tick that saw the change: within one tick (50 ms of wall
//! time) of the change itself.

use hdrhistogram::Histogram;

use super::SourceCounts;
use super::histogram::{WHOLE_SIGFIG, new_histogram, summarise};
use crate::engine::settings::Settings;
use crate::engine::shared::ChangeMark;
use crate::engine::snapshot::{Phase, PhaseCause, PhaseMeasured, PhaseStart};

/// Phases kept; past this many, changes extend the last phase (a key held down for an hour).
pub const MAX_PHASES: usize = 1_000;

/// What the phase log needs of a statistics tick.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseTick {
    pub now_ns: u64,
    pub source: SourceCounts,
    /// Queued plus held at the source.
    pub backlog: u64,
    /// The area under the backlog curve since the run began, event·ns (`TakenTotals::area`).
    pub area: f64,
}

/// Least squares of the backlog against time, in sums (t in seconds from the phase's start).
#[derive(Debug, Clone, Copy, Default)]
struct Fit {
    n: f64,
    t: f64,
    q: f64,
    tt: f64,
    tq: f64,
}

impl Fit {
    fn add(&mut self, t: f64, q: f64) {
        self.n += 1.0;
        self.t += t;
        self.q += q;
        self.tt += t * t;
        self.tq += t * q;
    }

    /// The slope, once three points span some time.
    fn slope(&self) -> Option<f64> {
        let denominator = self.n * self.tt - self.t * self.t;
        (self.n >= 3.0 && denominator > 1e-12)
            .then(|| (self.n * self.tq - self.t * self.q) / denominator)
    }
}

struct Track {
    phase: Phase,
    waits: Histogram<u64>,
    wait_sum_ns: u128,
    /// Waits recorded since the summary was last made.
    dirty: bool,
    generated_at_start: u64,
    dropped_at_start: u64,
    area_at_start: f64,
    fit: Fit,
}

/// Every phase of the run, the current one last.
#[derive(Default)]
pub(crate) struct PhaseLog {
    tracks: Vec<Track>,
}

impl PhaseLog {
    /// On each tick: starts a phase if the settings changed (or none has started), then
    /// accounts the tick in the current one. `mark` is the change the engine marked since the
    /// last tick: the new phase starts at its moment and counts from the source's counts then
    /// (without one, at the tick). A change within `merge_ns` of the current phase's start (the
    /// commands of one scenario step, keys pressed in a row) joins that phase.
    pub fn tick(
        &mut self,
        tick: PhaseTick,
        settings: &Settings,
        mark: Option<ChangeMark>,
        start: impl FnOnce() -> PhaseStart,
        merge_ns: u64,
    ) {
        let count = self.tracks.len();
        match self.tracks.last_mut() {
            None => {
                // The run's first phase starts with the run.
                let mark = ChangeMark {
                    at_ns: 0,
                    cause: PhaseCause::Start,
                    generated: 0,
                    dropped: 0,
                };
                self.open(tick, mark, settings, start());
            }
            Some(track) if track.phase.settings != *settings => {
                let young = tick.now_ns.saturating_sub(track.phase.start_ns) < merge_ns;
                if (young && count > 1) || count >= MAX_PHASES {
                    track.phase.settings = settings.clone();
                } else {
                    let begun = track.phase.start_ns;
                    let mark = mark
                        .filter(|m| (begun..=tick.now_ns).contains(&m.at_ns))
                        .unwrap_or_else(|| Self::at_tick(tick));
                    self.open(tick, mark, settings, start());
                }
            }
            Some(_) => {}
        }
        if let Some(track) = self.tracks.last_mut() {
            track.account(tick);
        }
        for track in self.tracks.iter_mut().filter(|t| t.dirty) {
            track.summarise_waits();
        }
    }

    /// A change seen only on this tick (no mark): it counts from the tick.
    fn at_tick(tick: PhaseTick) -> ChangeMark {
        ChangeMark {
            at_ns: tick.now_ns,
            cause: PhaseCause::Command,
            generated: tick.source.generated,
            dropped: tick.source.dropped,
        }
    }

    fn open(&mut self, tick: PhaseTick, mark: ChangeMark, settings: &Settings, start: PhaseStart) {
        if let Some(last) = self.tracks.last_mut() {
            last.close(mark);
        }
        // The backlog and its area at the change, from the tick's: arrivals in between
        // are few (one tick), so they are taken as waiting since the change.
        let since_ns = tick.now_ns.saturating_sub(mark.at_ns) as f64;
        let area_at_start = (tick.area - tick.backlog as f64 * since_ns).max(0.0);
        // The run starts empty; a phase that starts empty is drained from its start.
        let queue_start = if mark.cause == PhaseCause::Start {
            0
        } else {
            tick.backlog
        };
        let measured = PhaseMeasured {
            queue_start,
            drained_at_ns: (queue_start == 0).then_some(mark.at_ns),
            ..PhaseMeasured::default()
        };
        self.tracks.push(Track {
            phase: Phase {
                index: self.tracks.len() + 1,
                start_ns: mark.at_ns,
                end_ns: tick.now_ns,
                current: true,
                cause: mark.cause,
                settings: settings.clone(),
                start,
                measured,
            },
            waits: new_histogram(WHOLE_SIGFIG),
            wait_sum_ns: 0,
            dirty: false,
            generated_at_start: mark.generated,
            dropped_at_start: mark.dropped,
            area_at_start,
            fit: Fit::default(),
        });
    }

    /// The phase an event that arrived at `arrival_ns` belongs to.
    fn of(&mut self, arrival_ns: u64) -> Option<&mut Track> {
        // Phases start in order; most events belong to the last one.
        let i = self
            .tracks
            .partition_point(|t| t.phase.start_ns <= arrival_ns);
        self.tracks.get_mut(i.saturating_sub(1))
    }

    /// A worker started an event that arrived at `arrival_ns`, after waiting `wait_ns`.
    pub fn started(&mut self, arrival_ns: u64, wait_ns: u64) {
        if let Some(track) = self.of(arrival_ns) {
            track.waits.saturating_record(wait_ns);
            track.wait_sum_ns += u128::from(wait_ns);
            track.phase.measured.started += 1;
            track.dirty = true;
        }
    }

    /// An event that arrived at `arrival_ns` ended, succeeded or not.
    pub fn finished(&mut self, arrival_ns: u64, success: bool) {
        if let Some(track) = self.of(arrival_ns) {
            let m = &mut track.phase.measured;
            if success {
                m.completed += 1;
            } else {
                m.failed += 1;
            }
        }
    }

    /// Every phase so far, as of the last tick (waits recorded since then are summarised on
    /// the next).
    pub fn phases(&self) -> Vec<Phase> {
        self.tracks
            .iter()
            .map(|track| track.phase.clone())
            .collect()
    }
}

impl Track {
    /// Ends the phase at the change `mark`: what arrived before it is the phase's.
    fn close(&mut self, mark: ChangeMark) {
        let phase = &mut self.phase;
        phase.current = false;
        phase.end_ns = mark.at_ns.max(phase.start_ns);
        let m = &mut phase.measured;
        m.arrivals = mark.generated.saturating_sub(self.generated_at_start);
        m.dropped = mark.dropped.saturating_sub(self.dropped_at_start);
    }

    fn account(&mut self, tick: PhaseTick) {
        let phase = &mut self.phase;
        phase.end_ns = phase.end_ns.max(tick.now_ns);
        let m = &mut phase.measured;
        m.arrivals = tick
            .source
            .generated
            .saturating_sub(self.generated_at_start);
        m.dropped = tick.source.dropped.saturating_sub(self.dropped_at_start);
        m.queue_end = tick.backlog;
        if tick.backlog == 0 && m.drained_at_ns.is_none() {
            m.drained_at_ns = Some(tick.now_ns);
        }
        let since_s = tick.now_ns.saturating_sub(phase.start_ns) as f64 / 1e9;
        self.fit.add(since_s, tick.backlog as f64);
        m.growth_per_s = self.fit.slope();
        let span_ns = tick.now_ns.saturating_sub(phase.start_ns);
        if span_ns > 0 {
            m.mean_queue_len = ((tick.area - self.area_at_start) / span_ns as f64).max(0.0);
        }
    }

    fn summarise_waits(&mut self) {
        let summary = summarise(&self.waits);
        let m = &mut self.phase.measured;
        m.mean_wait_ns = if m.started == 0 {
            0.0
        } else {
            self.wait_sum_ns as f64 / m.started as f64
        };
        m.p50_wait_ns = summary.p50_ns;
        m.p90_wait_ns = summary.p90_ns;
        m.p99_wait_ns = summary.p99_ns;
        self.dirty = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick(now_s: f64, generated: u64, backlog: u64) -> PhaseTick {
        PhaseTick {
            now_ns: (now_s * 1e9) as u64,
            source: SourceCounts {
                generated,
                ..SourceCounts::default()
            },
            backlog,
            area: 0.0,
        }
    }

    fn settings(workers: usize) -> Settings {
        Settings {
            workers,
            ..Settings::default()
        }
    }

    #[test]
    fn a_change_of_settings_starts_a_phase_and_events_count_where_they_arrived() {
        let mut log = PhaseLog::default();
        let key = Some(ChangeMark {
            at_ns: 10_400_000_000,
            cause: PhaseCause::Key,
            generated: 104,
            dropped: 0,
        });
        // Phase 1: the backlog grows by 2 a second.
        for i in 0..=10 {
            let t = i as f64;
            log.tick(
                tick(t, i * 10, i * 2),
                &settings(4),
                None,
                PhaseStart::default,
                0,
            );
        }
        log.tick(
            tick(10.5, 105, 21),
            &settings(6),
            key,
            PhaseStart::default,
            0,
        );
        // An event of phase 1 starts in phase 2: its wait counts in phase 1.
        log.started(9_000_000_000, 3_000_000_000);
        log.started(10_450_000_000, 0);
        log.finished(9_000_000_000, true);
        for i in 0..4 {
            let t = 11.0 + i as f64;
            log.tick(tick(t, 110, 20), &settings(6), None, PhaseStart::default, 0);
        }
        let phases = log.phases();
        assert_eq!(phases.len(), 2);
        let (one, two) = (&phases[0], &phases[1]);
        assert_eq!(
            (one.index, one.cause, one.current),
            (1, PhaseCause::Start, false)
        );
        assert_eq!(
            (two.index, two.cause, two.current),
            (2, PhaseCause::Key, true)
        );
        assert_eq!(one.settings.workers, 4);
        assert_eq!(two.settings.workers, 6);
        assert!((one.measured.growth_per_s.unwrap() - 2.0).abs() < 1e-9);
        assert!(two.measured.growth_per_s.unwrap().abs() < 0.2);
        assert_eq!(one.measured.started, 1);
        assert_eq!(one.measured.completed, 1);
        assert_eq!(one.measured.mean_wait_ns, 3e9);
        assert_eq!(two.measured.started, 1);
        // Counted from the change's own moment and counts, not the tick's.
        assert_eq!(one.measured.arrivals, 104);
        assert_eq!(two.measured.arrivals, 6);
        assert_eq!((two.measured.queue_start, two.measured.queue_end), (21, 20));
        // Phase 1 started empty; phase 2 never emptied.
        assert_eq!(one.measured.drained_at_ns, Some(0));
        assert_eq!(two.measured.drained_at_ns, None);
        assert_eq!(one.end_ns, 10_400_000_000);
        assert_eq!(two.start_ns, 10_400_000_000);
    }

    #[test]
    fn changes_in_quick_succession_are_one_phase() {
        let mut log = PhaseLog::default();
        let merge_ns = 1_000_000_000;
        let step = |at_s: f64| {
            Some(ChangeMark {
                at_ns: (at_s * 1e9) as u64,
                cause: PhaseCause::Step,
                generated: 0,
                dropped: 0,
            })
        };
        log.tick(
            tick(0.0, 0, 0),
            &settings(4),
            None,
            PhaseStart::default,
            merge_ns,
        );
        log.tick(
            tick(5.0, 0, 0),
            &settings(5),
            step(4.99),
            PhaseStart::default,
            merge_ns,
        );
        log.tick(
            tick(5.1, 0, 0),
            &settings(6),
            step(5.05),
            PhaseStart::default,
            merge_ns,
        );
        let phases = log.phases();
        assert_eq!(phases.len(), 2, "{phases:?}");
        assert_eq!(phases[1].settings.workers, 6);
        assert_eq!(phases[1].cause, PhaseCause::Step);
    }
}
