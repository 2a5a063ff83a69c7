//! The arrivals ledger: what the statistics need of every event that arrived and has not been
//! taken, so the time-average queue length is exact in model time, not sampled.
//!
//! The area under the queue-length curve is the sum, over events, of the model time each spent
//! waiting (from its scheduled arrival, like the queue wait). An event taken contributes its
//! wait, from its `Started` report; an event dropped, the time until its drop (from here); an
//! event still waiting, `now − arrival`, which needs the count and the sum of the arrival times
//! of the waiting ones: the source keeps those here, under one lock, so they are read together.

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
}

/// The source's side: a lock per event, uncontended (the aggregator reads once per tick).
#[derive(Debug, Default)]
pub(crate) struct ArrivalLedger(Mutex<ArrivalTotals>);

impl ArrivalLedger {
    fn update(&self, f: impl FnOnce(&mut ArrivalTotals)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// An event arrived (scheduled at `arrival_ns`), whatever becomes of it.
    pub fn arrived(&self, arrival_ns: u64) {
        self.update(|t| {
            t.kept += 1;
            t.kept_arrival_sum_ns += u128::from(arrival_ns);
        });
    }

    /// An event that arrived at `arrival_ns` was dropped at `at_ns`.
    pub fn dropped(&self, arrival_ns: u64, at_ns: u64) {
        self.update(|t| {
            t.kept -= 1;
            t.kept_arrival_sum_ns -= u128::from(arrival_ns);
            t.dropped_wait_sum_ns += u128::from(at_ns.saturating_sub(arrival_ns));
        });
    }

    pub fn totals(&self) -> ArrivalTotals {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The aggregator's side: what the `Started` reports say of the events taken.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TakenTotals {
    taken: u64,
    arrival_sum_ns: u128,
    wait_sum_ns: u128,
}

impl TakenTotals {
    /// A worker started an event that arrived at `arrival_ns`, at `start_ns`.
    pub fn started(&mut self, arrival_ns: u64, start_ns: u64) {
        self.taken += 1;
        self.arrival_sum_ns += u128::from(arrival_ns);
        self.wait_sum_ns += u128::from(start_ns.saturating_sub(arrival_ns));
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
    }
}
