//! The arrivals ledger: what the statistics need of every event that arrived and has not been
//! taken, so the time-average queue length is exact in model time, not sampled.
//!
//! The area under the queue-length curve is the sum, over events, of the model time each spent
//! waiting (from its scheduled arrival, like the queue wait). An event taken contributes its
//! wait, from its `Started` report; an event dropped, the time until its drop (from here); an
//! event still waiting, `now − arrival`, which needs the count and the sum of the arrival times
//! of the waiting ones: the source keeps those here, under one lock, so they are read together.
//!
//! The first moment of that curve, ∫ t·q(t) dt, is kept the same way (an event waiting from a
//! to b adds (b² − a²) / 2): with the area it gives a phase's backlog growth as the exact least
//! squares slope of the curve in model time, not a fit to ticks whose moments the host moves.
//! Its sums of squared times are kept modulo 2¹²⁸ (wrapping): only their differences are
//! used, and those are exact.

use std::sync::{Mutex, PoisonError};

/// Totals over every event that arrived, kept by the source (the one writer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArrivalTotals {
    /// Events that arrived and were not dropped.
    pub kept: u64,
    /// Sum of their scheduled arrival times, model ns.
    pub kept_arrival_sum_ns: u128,
    /// Sum, over dropped events, of the model time from arrival to the drop, ns.
    pub dropped_wait_sum_ns: u128,
    /// Sum of the kept events' squared arrival times, ns² (wrapping).
    pub kept_arrival_sq_sum: u128,
    /// Sum, over dropped events, of drop² − arrival², ns² (wrapping).
    pub dropped_moment_sum: u128,
}

/// `t²` in ns², for the moment sums.
fn sq(t_ns: u64) -> u128 {
    u128::from(t_ns) * u128::from(t_ns)
}

/// What the ledger keeps under its lock.
#[derive(Debug)]
struct Ledger {
    totals: ArrivalTotals,
    /// The phases' start times, model ns (the first at 0), and for each, the events that
    /// arrived in it and those of them dropped (at any time since).
    phase_starts: Vec<u64>,
    phase_counts: Vec<PhaseCounts>,
}

/// Events that arrived in a phase (by their scheduled arrival), and of them, those dropped;
/// and the gaps between its arrivals (for the theory of a stream nobody configured).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PhaseCounts {
    pub arrivals: u64,
    pub dropped: u64,
    pub gaps: Moments,
    /// The phase's first and latest arrivals, model ns.
    pub first_arrival_ns: Option<u64>,
    pub last_arrival_ns: Option<u64>,
}

/// Count, sum and sum of squares of a sample: its mean and squared coefficient of variation.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Moments {
    pub fn add(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    /// Variance over the mean squared (population); none before two values or for a zero mean.
    pub fn cv2(&self) -> Option<f64> {
        let mean = self.mean()?;
        let var = (self.sum_sq / self.n as f64 - mean * mean).max(0.0);
        (self.n >= 2 && mean > 0.0).then(|| var / (mean * mean))
    }
}

impl Default for Ledger {
    /// The run's first phase starts with it.
    fn default() -> Self {
        Self {
            totals: ArrivalTotals::default(),
            phase_starts: vec![0],
            phase_counts: vec![PhaseCounts::default()],
        }
    }
}

impl Ledger {
    fn phase_of(&mut self, arrival_ns: u64) -> &mut PhaseCounts {
        let i = self.phase_starts.partition_point(|&s| s <= arrival_ns);
        &mut self.phase_counts[i.saturating_sub(1)]
    }
}

/// The source's side: a lock per event, uncontended (the aggregator reads once per tick).
#[derive(Debug, Default)]
pub(crate) struct ArrivalLedger(Mutex<Ledger>);

impl ArrivalLedger {
    fn update<T>(&self, f: impl FnOnce(&mut Ledger) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// An event arrived (scheduled at `arrival_ns`), whatever becomes of it.
    pub fn arrived(&self, arrival_ns: u64) {
        self.update(|l| {
            l.totals.kept += 1;
            l.totals.kept_arrival_sum_ns += u128::from(arrival_ns);
            l.totals.kept_arrival_sq_sum =
                l.totals.kept_arrival_sq_sum.wrapping_add(sq(arrival_ns));
            let phase = l.phase_of(arrival_ns);
            phase.arrivals += 1;
            phase.first_arrival_ns.get_or_insert(arrival_ns);
            if let Some(last) = phase.last_arrival_ns.replace(arrival_ns) {
                phase.gaps.add(arrival_ns.saturating_sub(last) as f64 / 1e9);
            }
        });
    }

    /// An event that arrived at `arrival_ns` was dropped at `at_ns`.
    pub fn dropped(&self, arrival_ns: u64, at_ns: u64) {
        self.update(|l| {
            let t = &mut l.totals;
            t.kept -= 1;
            t.kept_arrival_sum_ns -= u128::from(arrival_ns);
            t.dropped_wait_sum_ns += u128::from(at_ns.saturating_sub(arrival_ns));
            t.kept_arrival_sq_sum = t.kept_arrival_sq_sum.wrapping_sub(sq(arrival_ns));
            let moment = sq(at_ns.max(arrival_ns)) - sq(arrival_ns);
            t.dropped_moment_sum = t.dropped_moment_sum.wrapping_add(moment);
            l.phase_of(arrival_ns).dropped += 1;
        });
    }

    /// A change of settings at `at_ns` begins a phase, unless it comes within `merge_ns` of
    /// the current phase's start (the commands of one step, a key pressed a few times, a step
    /// at the run's start: one change), or `max` phases are there. Returns whether it began one.
    pub fn begin_phase(&self, at_ns: u64, merge_ns: u64, max: usize) -> bool {
        self.update(|l| {
            let last = l.phase_starts.last().copied().unwrap_or(0);
            let merge = at_ns.saturating_sub(last) < merge_ns;
            let begin = !merge && l.phase_starts.len() < max && at_ns >= last;
            if begin {
                l.phase_starts.push(at_ns);
                l.phase_counts.push(PhaseCounts::default());
            }
            begin
        })
    }

    pub fn totals(&self) -> ArrivalTotals {
        self.update(|l| l.totals)
    }

    /// Each phase's arrivals and drops, by when the events arrived.
    pub fn phase_counts(&self) -> Vec<PhaseCounts> {
        self.update(|l| l.phase_counts.clone())
    }
}

/// The aggregator's side: what the `Started` reports say of the events taken.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TakenTotals {
    taken: u64,
    arrival_sum_ns: u128,
    wait_sum_ns: u128,
    /// Sum of the taken events' squared arrival times, ns² (wrapping).
    arrival_sq_sum: u128,
    /// Sum of start² − arrival², ns² (wrapping).
    moment_sum: u128,
}

impl TakenTotals {
    /// A worker started an event that arrived at `arrival_ns`, at `start_ns`.
    pub fn started(&mut self, arrival_ns: u64, start_ns: u64) {
        self.taken += 1;
        self.arrival_sum_ns += u128::from(arrival_ns);
        self.wait_sum_ns += u128::from(start_ns.saturating_sub(arrival_ns));
        self.arrival_sq_sum = self.arrival_sq_sum.wrapping_add(sq(arrival_ns));
        let moment = sq(start_ns.max(arrival_ns)) - sq(arrival_ns);
        self.moment_sum = self.moment_sum.wrapping_add(moment);
    }

    /// The first moment of the queue-length curve from the start to `now_ns`, ∫ t·q(t) dt in
    /// event·ns²: every event's ∫ t dt over its wait so far (see the module's comment).
    pub fn moment(&self, arrivals: &ArrivalTotals, now_ns: u64) -> f64 {
        let waiting = i128::from(arrivals.kept) - i128::from(self.taken);
        // The wrapped difference is the waiting events' own sum, which fits.
        let waiting_sq = arrivals
            .kept_arrival_sq_sum
            .wrapping_sub(self.arrival_sq_sum) as i128;
        let waiting_moment = (waiting * sq(now_ns) as i128 - waiting_sq).max(0);
        let done = self.moment_sum.wrapping_add(arrivals.dropped_moment_sum);
        (done as f64 + waiting_moment as f64) / 2.0
    }

    /// The area under the queue-length curve from the start to `now_ns`, event·ns: every
    /// event's wait so far (see the module's comment).
    pub fn area(&self, arrivals: &ArrivalTotals, now_ns: u64) -> f64 {
        // The source counts an event before it enters the queue, so one started is in both.
        let waiting = i128::from(arrivals.kept) - i128::from(self.taken);
        let waiting_arrivals = arrivals.kept_arrival_sum_ns as i128 - self.arrival_sum_ns as i128;
        let waiting_area = (waiting * i128::from(now_ns) - waiting_arrivals).max(0);
        (self.wait_sum_ns + arrivals.dropped_wait_sum_ns) as f64 + waiting_area as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_area_is_every_events_wait_so_far() {
        let ledger = ArrivalLedger::default();
        let mut taken = TakenTotals::default();
        // Three arrive at 0, 10 and 20; the first starts at 30, the second is dropped at 25.
        ledger.arrived(0);
        ledger.arrived(10);
        ledger.arrived(20);
        ledger.dropped(10, 25);
        taken.started(0, 30);
        // At 40: 30 (waited) + 15 (until dropped) + 20 (still waiting since 20).
        assert_eq!(taken.area(&ledger.totals(), 40), 65.0);
        // ∫ t dt over each wait: (30² − 0²)/2 + (25² − 10²)/2 + (40² − 20²)/2.
        assert_eq!(taken.moment(&ledger.totals(), 40), 450.0 + 262.5 + 600.0);
    }

    #[test]
    fn each_phase_counts_the_arrivals_and_drops_of_its_own_events() {
        let ledger = ArrivalLedger::default();
        let merge = 100;
        ledger.arrived(10);
        assert!(ledger.begin_phase(1_000, merge, 10));
        // Within the merge window of a phase's start: the same change.
        assert!(!ledger.begin_phase(1_050, merge, 10));
        ledger.arrived(1_010);
        ledger.arrived(1_020);
        // An event of phase 1 dropped in phase 2 counts in phase 1.
        ledger.dropped(10, 1_030);
        assert!(!ledger.begin_phase(2_000, merge, 2), "at most 2 phases");
        let counts: Vec<_> = ledger
            .phase_counts()
            .iter()
            .map(|c| (c.arrivals, c.dropped, c.gaps.mean()))
            .collect();
        assert_eq!(counts, [(1, 1, None), (2, 0, Some(10.0 / 1e9)),]);
    }
}
