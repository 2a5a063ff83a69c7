//! Latency histograms (HDR, auto-resizing) and their one-pass summaries with log buckets.

use hdrhistogram::Histogram;

use crate::engine::snapshot::{LatencyKind, LatencySet, LatencySummary};

/// Histogram range: 1 ns .. 1 hour to start with (auto-resizing past that).
const HIST_MAX_NS: u64 = 3_600 * 1_000_000_000;
/// Whole-run histograms keep 3 significant digits (1 µs at 1 ms: fine enough to see a worker's
/// overshoot); the recent window keeps 2 (1%, plenty for a live view) so that merging its two
/// halves for every snapshot stays cheap.
pub(super) const WHOLE_SIGFIG: u8 = 3;
pub(super) const WINDOW_SIGFIG: u8 = 2;

pub(crate) fn new_histogram(sigfig: u8) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, HIST_MAX_NS, sigfig)
        .expect("static histogram bounds are valid");
    h.auto(true);
    h
}

/// Queue wait, service and end-to-end histograms.
#[derive(Clone)]
pub(super) struct Latencies([Histogram<u64>; 3]);

impl Latencies {
    pub(super) fn new(sigfig: u8) -> Self {
        Self([
            new_histogram(sigfig),
            new_histogram(sigfig),
            new_histogram(sigfig),
        ])
    }

    pub(super) fn record(&mut self, kind: LatencyKind, ns: u64) {
        self.0[kind as usize].saturating_record(ns);
    }

    pub(super) fn reset(&mut self) {
        self.0.iter_mut().for_each(Histogram::reset);
    }

    pub(super) fn add(&mut self, other: &Latencies) {
        for (mine, theirs) in self.0.iter_mut().zip(&other.0) {
            // Both auto-resize, so adding cannot fail on range.
            let _ = mine.add(theirs);
        }
    }

    pub(super) fn summarise(&self) -> LatencySet {
        LatencySet {
            queue_wait: summarise(&self.0[0]),
            service: summarise(&self.0[1]),
            end_to_end: summarise(&self.0[2]),
        }
    }
}

/// Count, mean, percentiles, max and log-2 buckets (from 1 µs) of one histogram, in one pass
/// over its recorded values. Percentiles follow hdrhistogram's `value_at_quantile`: the highest
/// value equivalent to the first recorded value whose cumulative count reaches ceil(q * count).
pub fn summarise(h: &Histogram<u64>) -> LatencySummary {
    const QUANTILES: [f64; 4] = [0.50, 0.90, 0.99, 0.999];
    let total = h.len();
    if total == 0 {
        return LatencySummary::default();
    }
    let thresholds = QUANTILES.map(|q| ((q * total as f64).ceil() as u64).max(1));
    let mut percentiles = [0u64; 4];
    let mut next = 0;
    let mut seen = 0u64;
    let mut sum = 0.0;
    let mut buckets: Vec<(u64, u64)> = Vec::new();
    for v in h.iter_recorded() {
        let value = v.value_iterated_to();
        let count = v.count_at_value();
        seen += count;
        sum += h.median_equivalent(value) as f64 * count as f64;
        while next < 4 && seen >= thresholds[next] {
            percentiles[next] = value;
            next += 1;
        }
        let bucket = log_bucket(value);
        if buckets.is_empty() {
            buckets.push((LOG_BUCKET_BASE_NS << bucket, 0));
        }
        while buckets
            .last()
            .is_some_and(|b| b.0 < LOG_BUCKET_BASE_NS << bucket)
        {
            let upper = buckets.last().map_or(LOG_BUCKET_BASE_NS, |b| b.0 * 2);
            buckets.push((upper, 0));
        }
        if let Some(b) = buckets.last_mut() {
            b.1 += count;
        }
    }
    let [p50_ns, p90_ns, p99_ns, p999_ns] = percentiles;
    LatencySummary {
        count: total,
        mean_ns: sum / total as f64,
        p50_ns,
        p90_ns,
        p99_ns,
        p999_ns,
        max_ns: h.max(),
        buckets,
    }
}

/// Upper bound of the first log bucket: everything up to 1 µs.
const LOG_BUCKET_BASE_NS: u64 = 1_000;

/// Index k of the bucket (LOG_BUCKET_BASE_NS << (k-1), LOG_BUCKET_BASE_NS << k] holding `ns`.
fn log_bucket(ns: u64) -> u32 {
    if ns <= LOG_BUCKET_BASE_NS {
        0
    } else {
        // smallest k with base * 2^k >= ns
        let ratio = ns.div_ceil(LOG_BUCKET_BASE_NS);
        64 - (ratio - 1).leading_zeros()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_summary_matches_hdrhistogram() {
        let mut h = new_histogram(WHOLE_SIGFIG);
        let mut x = 12345u64;
        for _ in 0..100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            // log-uniform from 1 ns to ~1 s
            let v = 1u64 << ((x >> 58) % 30);
            h.record(v + (x >> 40) % v.max(1)).unwrap();
        }
        let s = summarise(&h);
        assert_eq!(s.count, h.len());
        assert_eq!(s.p50_ns, h.value_at_quantile(0.5));
        assert_eq!(s.p90_ns, h.value_at_quantile(0.9));
        assert_eq!(s.p99_ns, h.value_at_quantile(0.99));
        assert_eq!(s.p999_ns, h.value_at_quantile(0.999));
        assert_eq!(s.max_ns, h.max());
        assert!((s.mean_ns / h.mean() - 1.0).abs() < 1e-9);
        assert_eq!(s.buckets.iter().map(|b| b.1).sum::<u64>(), h.len());
        assert!(s.buckets.windows(2).all(|w| w[1].0 == w[0].0 * 2));
        // every value sits at or below its bucket's upper bound
        let under_1us = h.count_between(0, 1_000);
        assert_eq!(s.buckets[0], (1_000, under_1us));
    }

    #[test]
    fn log_buckets_are_powers_of_two_from_a_microsecond() {
        assert_eq!(log_bucket(0), 0);
        assert_eq!(log_bucket(1_000), 0);
        assert_eq!(log_bucket(1_001), 1);
        assert_eq!(log_bucket(2_000), 1);
        assert_eq!(log_bucket(2_001), 2);
        assert_eq!(log_bucket(1_024_000), 10);
    }
}
