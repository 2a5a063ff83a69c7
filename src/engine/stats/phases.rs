//! Phases: every change of settings starts one, and each keeps what was measured for the events
//! that arrived in it, so a run of three settings is three comparisons, not one blurred one.
//!
//! A phase begins at the moment of the change (the engine tells the aggregator at once). An
//! event belongs to the phase it arrived in (by its scheduled arrival): its arrival, its drop,
//! its queue wait and its outcome count there even when they happen in a later phase, so each
//! phase's arrivals end as completed, failed or dropped. The backlog's mean and growth are exact
//! in model time (from the area under it and that area's first moment: the least squares
//! slope of the whole curve over the phase); when it first emptied and its end are read on
//! the statistics ticks.

use hdrhistogram::Histogram;

use super::histogram::{WHOLE_SIGFIG, new_histogram, summarise};
use super::{Moments, PhaseCounts};
use crate::engine::settings::Settings;
use crate::engine::shared::ChangeMark;
use crate::engine::snapshot::{Phase, PhaseCause, PhaseMeasured, PhaseStart};

/// Phases kept; past this many, changes extend the last phase (a key held down for an hour).
pub const MAX_PHASES: usize = 1_000;

/// How long after its end a settled phase keeps its waits' histogram (model time).
const SEAL_AFTER_NS: u64 = 1_000_000_000;

/// The run's first phase starts with it.
const FIRST: ChangeMark = ChangeMark {
    at_ns: 0,
    cause: PhaseCause::Start,
    new_phase: true,
};

/// What the phase log needs of a statistics tick (or of the moment of a change).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseTick {
    pub now_ns: u64,
    /// Queued plus held at the source.
    pub backlog: u64,
    /// The area under the backlog curve since the run began, event·ns (`TakenTotals::area`).
    pub area: f64,
    /// That curve's first moment since the run began, ∫ t·q dt in event·ns²
    /// (`TakenTotals::moment`).
    pub moment: f64,
}

/// The least squares slope of a curve q(t) over [a, a + L], per second, from its area
/// A = ∫ q dt and first moment M = ∫ t·q dt over that span (ns): with s = t − a, the slope is
/// ∫ (s − L/2)·q ds / ∫ (s − L/2)² ds = (M − a·A − A·L/2) / (L³/12).
fn exact_slope_per_s(a_ns: f64, length_ns: f64, area: f64, moment: f64) -> Option<f64> {
    (length_ns > 0.0).then(|| {
        let centred = moment - area * (a_ns + length_ns / 2.0);
        centred / (length_ns.powi(3) / 12.0) * 1e9
    })
}

struct Track {
    phase: Phase,
    /// The waits of the phase's events; `None` once sealed (see `Track::seal`).
    waits: Option<Histogram<u64>>,
    wait_sum_ns: u128,
    /// Waits recorded since the summary was last made.
    dirty: bool,
    area_at_start: f64,
    moment_at_start: f64,
    /// Ticks accounted: a slope needs three, as a fit to points would.
    ticks: u32,
    /// Service times of the phase's finished events, ns.
    service: Moments,
    /// The hand-offs before the phase's events that waited for a worker, summed, ns.
    handoff_sum_ns: f64,
}

/// Every phase of the run, the current one last.
#[derive(Default)]
pub(crate) struct PhaseLog {
    tracks: Vec<Track>,
    /// Phases the arrival ledger has begun (`Shared::mark`), tracked here or not yet.
    begun: usize,
}

impl PhaseLog {
    /// On each tick: starts the run's first phase if none has started, then accounts the tick
    /// in the current phase. Settings that changed without a new phase (a change that joined
    /// the current one, see `ArrivalLedger::begin_phase`) become the phase's.
    pub fn tick(
        &mut self,
        tick: PhaseTick,
        settings: &Settings,
        start: impl FnOnce() -> PhaseStart,
    ) {
        if self.tracks.is_empty() {
            self.open(tick, FIRST, settings, start());
        }
        // A change that begins a phase is in the settings before its mark reaches the
        // statistics (`begin_phase`): until then the current phase keeps its own settings, or a
        // lagging aggregator would give phase 2 of bounded-queue (drop-new) phase 3's drop-old
        // and its prediction with them. Changes merged into the phase (no mark) are taken.
        let mark_pending = self.begun > self.tracks.len();
        if let Some(track) = self.tracks.last_mut() {
            if track.phase.settings != *settings && !mark_pending {
                track.phase.settings = settings.clone();
            }
            track.account(tick);
        }
        for track in self.tracks.iter_mut().filter(|t| t.dirty) {
            track.summarise_waits();
        }
        let now_ns = tick.now_ns;
        for track in self.tracks.iter_mut().filter(|t| t.waits.is_some()) {
            track.seal(now_ns);
        }
    }

    /// How many phases the arrival ledger has begun: those without a track yet are on their
    /// way (see `tick`).
    pub fn set_begun(&mut self, begun: usize) {
        self.begun = begun;
    }

    /// Each phase's arrivals and drops (`ArrivalLedger::phase_counts`), in phase order.
    pub fn set_counts(&mut self, counts: &[PhaseCounts]) {
        for (track, c) in self.tracks.iter_mut().zip(counts) {
            let length_s = track.phase.length_s();
            let m = &mut track.phase.measured;
            m.arrivals = c.arrivals;
            m.dropped = c.dropped;
            m.gap_cv2 = c.gaps.cv2();
            m.first_arrival_ns = c.first_arrival_ns;
            // The rate while events arrive: one over the mean gap (a source that has ended,
            // or a stream that paused, does not dilute it); arrivals over the length before
            // there are gaps, or when every event came at one instant (a broker's stream
            // published before the run: one batch has no rate of its own, and one over a gap
            // of 0 read as f64::MAX in the theory's utilisation).
            m.arrival_rate_per_s = match c.gaps.mean() {
                Some(gap_s) if gap_s > 0.0 => 1.0 / gap_s,
                _ if length_s > 0.0 => c.arrivals as f64 / length_s,
                _ => 0.0,
            };
        }
    }

    /// Starts a phase at the change `mark` (the run's first at 0), in the state `tick` (read
    /// at once on the change) with `settings` (the new ones).
    pub fn open(
        &mut self,
        tick: PhaseTick,
        mark: ChangeMark,
        settings: &Settings,
        start: PhaseStart,
    ) {
        if self.tracks.is_empty() && mark != FIRST {
            self.open(tick, FIRST, settings, start.clone());
        }
        if let Some(last) = self.tracks.last_mut() {
            last.close(mark);
        }
        // The backlog and its area at the change, from the tick's: arrivals in between
        // are few (one tick), so they are taken as waiting since the change.
        let since_ns = tick.now_ns.saturating_sub(mark.at_ns) as f64;
        let area_at_start = (tick.area - tick.backlog as f64 * since_ns).max(0.0);
        let (now, at) = (tick.now_ns as f64, mark.at_ns as f64);
        let moment_at_start =
            (tick.moment - tick.backlog as f64 * (now * now - at * at) / 2.0).max(0.0);
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
                source_end_ns: None,
            },
            waits: Some(new_histogram(WHOLE_SIGFIG)),
            wait_sum_ns: 0,
            dirty: false,
            area_at_start,
            moment_at_start,
            ticks: 0,
            service: Moments::default(),
            handoff_sum_ns: 0.0,
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

    /// A worker started an event that arrived at `arrival_ns`, after waiting `wait_ns`; if the
    /// event was waiting when the worker finished its last one, `handoff_ns` after that.
    pub fn started(&mut self, arrival_ns: u64, wait_ns: u64, handoff_ns: Option<u64>) {
        if let Some(track) = self.of(arrival_ns) {
            track.handoff_sum_ns += handoff_ns.unwrap_or(0) as f64;
            if let Some(waits) = &mut track.waits {
                waits.saturating_record(wait_ns);
            }
            track.wait_sum_ns += u128::from(wait_ns);
            track.phase.measured.started += 1;
            track.dirty = true;
        }
    }

    /// An event that arrived at `arrival_ns` ended after `service_ns` of service, succeeded or
    /// not.
    pub fn finished(&mut self, arrival_ns: u64, service_ns: u64, success: bool) {
        if let Some(track) = self.of(arrival_ns) {
            track.service.add(service_ns as f64);
            let m = &mut track.phase.measured;
            m.service_mean_ns = track.service.mean();
            m.service_cv2 = track.service.cv2();
            m.handoff_per_event_ns = Some(track.handoff_sum_ns / track.service.n as f64);
            if success {
                m.completed += 1;
            } else {
                m.failed += 1;
            }
        }
    }

    /// The source ended at `end_ns`: in the phase it ended in (the first told keeps it).
    pub fn source_ended(&mut self, end_ns: u64) {
        let i = self
            .tracks
            .partition_point(|t| t.phase.start_ns <= end_ns)
            .saturating_sub(1);
        let already = self.tracks.iter().any(|t| t.phase.source_end_ns.is_some());
        if let (Some(track), false) = (self.tracks.get_mut(i), already) {
            track.phase.source_end_ns = Some(end_ns);
        }
    }

    /// Whether the current phase has yet to see its backlog empty.
    pub fn awaits_drain(&self) -> bool {
        self.tracks
            .last()
            .is_some_and(|t| t.phase.measured.drained_at_ns.is_none())
    }

    /// The backlog was seen empty at `now_ns` (between ticks: the queue's own length).
    pub fn drained(&mut self, now_ns: u64) {
        if let Some(track) = self.tracks.last_mut() {
            let m = &mut track.phase.measured;
            if m.drained_at_ns.is_none() && now_ns >= track.phase.start_ns {
                m.drained_at_ns = Some(now_ns);
            }
        }
    }

    /// The current phase, once the first tick has started one.
    pub fn current(&self) -> Option<&Phase> {
        self.tracks.last().map(|t| &t.phase)
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
    }

    fn account(&mut self, tick: PhaseTick) {
        let phase = &mut self.phase;
        phase.end_ns = phase.end_ns.max(tick.now_ns);
        let m = &mut phase.measured;
        m.queue_end = tick.backlog;
        if tick.backlog == 0 && m.drained_at_ns.is_none() {
            m.drained_at_ns = Some(tick.now_ns);
        }
        self.ticks += 1;
        let span_ns = tick.now_ns.saturating_sub(phase.start_ns) as f64;
        let area = tick.area - self.area_at_start;
        if span_ns > 0.0 {
            m.mean_queue_len = (area / span_ns).max(0.0);
        }
        let moment = tick.moment - self.moment_at_start;
        m.growth_per_s = exact_slope_per_s(phase.start_ns as f64, span_ns, area, moment)
            .filter(|_| self.ticks >= 3);
    }

    /// Frees the waits' histogram (tens to hundreds of kB: a thousand phases of a key held
    /// down held 60 MB of them) once no more waits can come: the phase closed at least
    /// `SEAL_AFTER` ago and every arrival counted in it has started or was dropped. The
    /// percentiles stay as last summarised; a straggler (an event the source sent late into a
    /// closed phase) still counts in the mean and the count.
    fn seal(&mut self, now_ns: u64) {
        let m = &self.phase.measured;
        let settled = m.started + m.dropped >= m.arrivals;
        let long_closed = now_ns.saturating_sub(self.phase.end_ns) >= SEAL_AFTER_NS;
        if !self.phase.current && settled && long_closed && !self.dirty {
            self.waits = None;
        }
    }

    fn summarise_waits(&mut self) {
        let m = &mut self.phase.measured;
        if let Some(waits) = &self.waits {
            let summary = summarise(waits);
            m.p50_wait_ns = summary.p50_ns;
            m.p90_wait_ns = summary.p90_ns;
            m.p99_wait_ns = summary.p99_ns;
        }
        m.mean_wait_ns = if m.started == 0 {
            0.0
        } else {
            self.wait_sum_ns as f64 / m.started as f64
        };
        self.dirty = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tick at `now_s` on a backlog of `backlog` (area and moment not followed).
    fn tick(now_s: f64, backlog: u64) -> PhaseTick {
        PhaseTick {
            now_ns: (now_s * 1e9) as u64,
            backlog,
            area: 0.0,
            moment: 0.0,
        }
    }

    /// A tick at `now_s` on the backlog q(t) = rate·t: its area rate·t²/2 and moment rate·t³/3
    /// (in ns).
    fn linear(now_s: f64, rate_per_s: f64) -> PhaseTick {
        let t = now_s * 1e9;
        let rate = rate_per_s / 1e9;
        PhaseTick {
            now_ns: t as u64,
            backlog: (rate * t).round() as u64,
            area: rate * t * t / 2.0,
            moment: rate * t * t * t / 3.0,
        }
    }

    /// The exact slope of a curve from its area and moment: a line's own slope, whatever its
    /// start, and none for a sawtooth around a level (its mean over whole teeth).
    #[test]
    fn the_exact_slope_is_the_least_squares_slope_of_the_whole_curve() {
        // q(t) = 5 + 2(t − 10) over [10 s, 30 s].
        let (a, b) = (10e9, 30e9);
        let q = |t: f64| 5.0 + 2e-9 * (t - a);
        let steps = 20_000;
        let dt = (b - a) / steps as f64;
        let (mut area, mut moment) = (0.0, 0.0);
        for i in 0..steps {
            let t = a + (i as f64 + 0.5) * dt;
            area += q(t) * dt;
            moment += t * q(t) * dt;
        }
        let slope = exact_slope_per_s(a, b - a, area, moment).unwrap();
        assert!((slope - 2.0).abs() < 1e-6, "{slope}");
        // A level of 7: no slope.
        let (area, moment) = (7.0 * (b - a), 7.0 * (b * b - a * a) / 2.0);
        let flat = exact_slope_per_s(a, b - a, area, moment).unwrap();
        assert!(flat.abs() < 1e-9, "{flat}");
        assert_eq!(exact_slope_per_s(a, 0.0, 0.0, 0.0), None);
    }

    fn settings(workers: usize) -> Settings {
        Settings {
            workers,
            ..Settings::default()
        }
    }

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_change_starts_a_phase_and_events_count_where_they_arrived() {
        let mut log = PhaseLog::default();
        // Phase 1: the backlog grows by 2 a second.
        for i in 0..=10 {
            log.tick(linear(i as f64, 2.0), &settings(4), PhaseStart::default);
        }
        let key = ChangeMark {
            at_ns: 10_400_000_000,
            cause: PhaseCause::Key,
            new_phase: true,
        };
        log.open(tick(10.4, 21), key, &settings(6), PhaseStart::default());
        // An event of phase 1 starts in phase 2: its wait and outcome count in phase 1.
        log.started(9 * S, 3 * S, None);
        log.started(10_450_000_000, 0, None);
        log.finished(9 * S, 5 * S, true);
        for i in 0..4 {
            log.tick(tick(11.0 + i as f64, 20), &settings(6), PhaseStart::default);
        }
        let counts = [
            PhaseCounts {
                arrivals: 104,
                dropped: 1,
                ..PhaseCounts::default()
            },
            PhaseCounts {
                arrivals: 6,
                dropped: 0,
                ..PhaseCounts::default()
            },
        ];
        log.set_counts(&counts);
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
        assert_eq!((one.settings.workers, two.settings.workers), (4, 6));
        assert!((one.measured.growth_per_s.unwrap() - 2.0).abs() < 1e-9);
        assert!(two.measured.growth_per_s.unwrap().abs() < 0.2);
        assert_eq!((one.measured.started, one.measured.completed), (1, 1));
        assert_eq!(one.measured.mean_wait_ns, 3e9);
        assert_eq!(two.measured.started, 1);
        assert_eq!((one.measured.arrivals, one.measured.dropped), (104, 1));
        assert_eq!((two.measured.queue_start, two.measured.queue_end), (21, 20));
        // Phase 1 started empty (the run does); phase 2 never emptied.
        assert_eq!(one.measured.drained_at_ns, Some(0));
        assert_eq!(two.measured.drained_at_ns, None);
        // The change's own moment ends one and starts the other.
        assert_eq!((one.end_ns, two.start_ns), (10_400_000_000, 10_400_000_000));
    }

    /// A closed phase whose arrivals have all started or been dropped lets its histogram go a
    /// second after its end, keeping its percentiles; a straggler still counts in its mean.
    #[test]
    fn a_settled_phase_frees_its_waits_and_keeps_its_figures() {
        let mut log = PhaseLog::default();
        log.tick(tick(0.0, 0), &settings(4), PhaseStart::default);
        for wait_ms in [10, 20, 30] {
            log.started(S / 10, wait_ms * 1_000_000, None);
        }
        let key = ChangeMark {
            at_ns: S,
            cause: PhaseCause::Key,
            new_phase: true,
        };
        log.open(tick(1.0, 0), key, &settings(6), PhaseStart::default());
        let counts = |arrivals| PhaseCounts {
            arrivals,
            dropped: 1,
            ..PhaseCounts::default()
        };
        // Four arrivals, three started and one dropped: settled, but closed only 0.5 s ago.
        log.set_counts(&[counts(4), counts(0)]);
        log.tick(tick(1.5, 0), &settings(6), PhaseStart::default);
        assert!(log.tracks[0].waits.is_some());
        // Five arrivals: one is still queued, so the phase keeps its histogram.
        log.set_counts(&[counts(5), counts(0)]);
        log.tick(tick(2.5, 0), &settings(6), PhaseStart::default);
        assert!(log.tracks[0].waits.is_some());
        log.started(S / 5, 40_000_000, None);
        log.tick(tick(2.6, 0), &settings(6), PhaseStart::default);
        assert!(log.tracks[0].waits.is_none());
        assert!(
            log.tracks[1].waits.is_some(),
            "the current phase keeps its own"
        );
        let p99 = log.phases()[0].measured.p99_wait_ns;
        assert!(p99.abs_diff(40_000_000) < 100_000, "{p99}");
        log.started(S / 5, 100_000_000, None);
        log.tick(tick(2.7, 0), &settings(6), PhaseStart::default);
        let one = &log.phases()[0].measured;
        assert_eq!((one.started, one.mean_wait_ns), (5, 40e6));
        assert_eq!(one.p99_wait_ns, p99);
    }

    #[test]
    fn settings_changed_without_a_new_phase_become_the_current_phases() {
        let mut log = PhaseLog::default();
        log.tick(tick(0.0, 0), &settings(4), PhaseStart::default);
        log.tick(tick(0.1, 0), &settings(5), PhaseStart::default);
        let phases = log.phases();
        assert_eq!(phases.len(), 1);
        assert_eq!(phases[0].settings.workers, 5);
    }

    /// A broker's backlog published before the run arrives at one instant: its rate is the
    /// arrivals over the phase, not one over a gap of 0.
    #[test]
    fn arrivals_at_one_instant_are_counted_over_the_phase() {
        let mut log = PhaseLog::default();
        for i in 0..=10 {
            log.tick(tick(i as f64, 0), &settings(2), PhaseStart::default);
        }
        let mut gaps = Moments::default();
        (0..999).for_each(|_| gaps.add(0.0));
        log.set_counts(&[PhaseCounts {
            arrivals: 1000,
            gaps,
            ..PhaseCounts::default()
        }]);
        let rate = log.phases()[0].measured.arrival_rate_per_s;
        assert!((rate - 100.0).abs() < 1.0, "{rate}");
    }

    /// A change that begins a phase reaches the settings before its mark reaches the log: the
    /// current phase keeps its own settings meanwhile (CI: bounded-queue's drop-new phase was
    /// given the next phase's drop-old), and takes a change merged into it (no mark).
    #[test]
    fn a_phase_keeps_its_settings_while_the_next_phases_mark_is_on_its_way() {
        let mut log = PhaseLog::default();
        log.set_begun(1);
        log.tick(tick(0.0, 0), &settings(4), PhaseStart::default);
        log.set_begun(2);
        log.tick(tick(1.0, 0), &settings(7), PhaseStart::default);
        assert_eq!(log.phases()[0].settings.workers, 4);
        log.set_begun(1);
        log.tick(tick(2.0, 0), &settings(5), PhaseStart::default);
        assert_eq!(log.phases()[0].settings.workers, 5);
    }
}
