//! What one point measured: every event that arrived in the measurement window, followed
//! through the engine's trace to its start and finish, in batches of arrival time, so each
//! figure gets a 95% interval that allows for the correlation between neighbouring waits.

use std::collections::HashMap;

use hdrhistogram::Histogram;

use super::figures::Figures;
use crate::engine::Trace;
use crate::engine::event::DropReason;
use crate::model::twin::{Estimate, wait_histogram};

/// Slots the window is cut into; the intervals group them into at most [`BATCHES`] batches.
const SLOTS: usize = 64;
/// Batches behind an interval: enough for Student's t, few enough that each holds many events.
const BATCHES: usize = 16;
/// Fewest batches an interval is computed from.
const MIN_BATCHES: usize = 8;

/// One slot of arrival time: the waits and end-to-end times of its events.
struct Slot {
    waits_ns: Histogram<u64>,
    wait_sum_ns: f64,
    e2e_ns: Histogram<u64>,
    e2e_sum_ns: f64,
}

impl Slot {
    fn new() -> Self {
        Self {
            waits_ns: wait_histogram(),
            wait_sum_ns: 0.0,
            e2e_ns: wait_histogram(),
            e2e_sum_ns: 0.0,
        }
    }

    fn merge(&mut self, other: &Slot) {
        let _ = self.waits_ns.add(&other.waits_ns);
        let _ = self.e2e_ns.add(&other.e2e_ns);
        self.wait_sum_ns += other.wait_sum_ns;
        self.e2e_sum_ns += other.e2e_sum_ns;
    }
}

/// Which latency of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Latency {
    Wait,
    EndToEnd,
}

/// Follows the events that arrive in `[start_ns, end_ns)` of model time.
pub struct Collector {
    start_ns: u64,
    end_ns: u64,
    slot_ns: u64,
    slots: Vec<Slot>,
    /// Arrival (and start, once started) of every event of the window not yet finished, by id.
    in_system: HashMap<u64, (u64, Option<(u64, u64)>)>,
    /// The service the window's finished events took and the demand they were drawn with
    /// (where known), summed, ns.
    service_sum_ns: f64,
    demand_sum_ns: f64,
    /// Events that arrived before the window (the warm-up's).
    pub arrived_before: u64,
    /// Events of the window that arrived (entered the queue or were dropped on arrival).
    pub arrived: u64,
    /// Of those, dropped (on arrival, evicted, or held at the source's end).
    pub dropped: u64,
    /// Events that started, and that completed successfully, within the window (whenever
    /// they arrived): the window's throughput, and with the arrivals its backlog's growth.
    pub started_in_window: u64,
    pub completed_in_window: u64,
}

impl Collector {
    pub fn new(start_ns: u64, end_ns: u64) -> Self {
        let end_ns = end_ns.max(start_ns + 1);
        Self {
            start_ns,
            end_ns,
            slot_ns: (end_ns - start_ns).div_ceil(SLOTS as u64).max(1),
            slots: (0..SLOTS).map(|_| Slot::new()).collect(),
            in_system: HashMap::new(),
            service_sum_ns: 0.0,
            demand_sum_ns: 0.0,
            arrived_before: 0,
            arrived: 0,
            dropped: 0,
            started_in_window: 0,
            completed_in_window: 0,
        }
    }

    fn in_window(&self, ns: u64) -> bool {
        (self.start_ns..self.end_ns).contains(&ns)
    }

    /// Ends the window early (the source was stopped at `end_ns`: nothing arrives later).
    pub fn close(&mut self, end_ns: u64) {
        self.end_ns = end_ns.clamp(self.start_ns + 1, self.end_ns);
    }

    /// Model time the window starts, ns.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// Model time the window ends, ns.
    pub fn end_ns(&self) -> u64 {
        self.end_ns
    }

    /// Takes in every trace record the engine has sent so far.
    pub fn drain(&mut self, trace: &flume::Receiver<Trace>) {
        for record in trace.try_iter() {
            self.add(record);
        }
    }

    /// The window's length, model seconds.
    pub fn duration_s(&self) -> f64 {
        (self.end_ns - self.start_ns) as f64 / 1e9
    }

    pub fn add(&mut self, trace: Trace) {
        match trace {
            Trace::Submitted {
                id,
                at_ns,
                blocked_ns,
            } => {
                let arrival_ns = at_ns.saturating_sub(blocked_ns);
                if self.in_window(arrival_ns) {
                    self.arrived += 1;
                    self.in_system.insert(id, (arrival_ns, None));
                } else if arrival_ns < self.start_ns {
                    self.arrived_before += 1;
                }
            }
            Trace::Dropped { id, at_ns, reason } => self.on_drop(id, at_ns, reason),
            Trace::Started {
                id,
                at_ns,
                demand_ns,
                ..
            } => {
                if self.in_window(at_ns) {
                    self.started_in_window += 1;
                }
                if let Some((arrival_ns, started)) = self.in_system.get_mut(&id) {
                    *started = Some((at_ns, demand_ns));
                    let arrival_ns = *arrival_ns;
                    self.record(Latency::Wait, arrival_ns, at_ns);
                }
            }
            Trace::Finished {
                id, at_ns, outcome, ..
            } => {
                if self.in_window(at_ns) && outcome.is_success() {
                    self.completed_in_window += 1;
                }
                if let Some((arrival_ns, started)) = self.in_system.remove(&id) {
                    self.record(Latency::EndToEnd, arrival_ns, at_ns);
                    if let Some((start_ns, demand_ns)) = started.filter(|(_, d)| *d > 0) {
                        self.service_sum_ns += at_ns.saturating_sub(start_ns) as f64;
                        self.demand_sum_ns += demand_ns as f64;
                    }
                }
            }
            Trace::WorkerUp { .. } | Trace::WorkerDown { .. } | Trace::SourceEnded { .. } => {}
        }
    }

    fn on_drop(&mut self, id: u64, at_ns: u64, reason: DropReason) {
        match reason {
            // Evicted from the queue: it entered it, so it was counted if it arrived in time.
            DropReason::Evicted => {
                if self.in_system.remove(&id).is_some() {
                    self.dropped += 1;
                }
            }
            // Dropped as it arrived, or held at the source until its end: never entered.
            DropReason::QueueFull | DropReason::SourceEnded => {
                if self.in_window(at_ns) || reason == DropReason::SourceEnded {
                    self.arrived += 1;
                    self.dropped += 1;
                } else if at_ns < self.start_ns {
                    self.arrived_before += 1;
                }
            }
        }
    }

    fn record(&mut self, latency: Latency, arrival_ns: u64, at_ns: u64) {
        let ns = at_ns.saturating_sub(arrival_ns);
        let index = ((arrival_ns - self.start_ns) / self.slot_ns) as usize;
        let slot = &mut self.slots[index.min(SLOTS - 1)];
        match latency {
            Latency::Wait => {
                slot.waits_ns.saturating_record(ns);
                slot.wait_sum_ns += ns as f64;
            }
            Latency::EndToEnd => {
                slot.e2e_ns.saturating_record(ns);
                slot.e2e_sum_ns += ns as f64;
            }
        }
    }

    /// The slots from the window's start to `until_ns`, grouped into at most [`BATCHES`]
    /// batches of consecutive slots (the last takes what is left over).
    fn batches(&self, until_ns: u64) -> Vec<Slot> {
        let until = until_ns.min(self.end_ns).saturating_sub(self.start_ns);
        let slots = (until.div_ceil(self.slot_ns) as usize).min(SLOTS);
        let per_batch = slots.div_ceil(BATCHES).max(1);
        self.slots[..slots]
            .chunks(per_batch)
            .map(|chunk| {
                let mut batch = Slot::new();
                chunk.iter().for_each(|slot| batch.merge(slot));
                batch
            })
            .collect()
    }

    /// The mean wait and the half-width of its 95% interval over the events that arrived
    /// before `until_ns` (a point that must reach a precision checks it as it goes).
    pub fn mean_wait_half_width(&self, until_ns: u64) -> Option<(f64, f64)> {
        let batches = self.batches(until_ns);
        mean_interval(&batches, Latency::Wait)
    }

    /// The window's figures, once every event of it has been followed to its end.
    pub fn figures(&self) -> Figures {
        let batches = self.batches(self.end_ns);
        let mut all = Slot::new();
        batches.iter().for_each(|batch| all.merge(batch));
        let ms = |ns: f64| ns / 1e6;
        let ci_ms = |(value, h): (f64, f64)| [ms(value - h).max(0.0), ms(value + h)];
        let mean_wait = mean_interval(&batches, Latency::Wait);
        let e2e_mean = mean_interval(&batches, Latency::EndToEnd);
        let wait_q = |q| quantile_interval(&batches, &all, Latency::Wait, q);
        let e2e_p99 = quantile_interval(&batches, &all, Latency::EndToEnd, 0.99);
        let (p50, p95, p99) = (wait_q(0.50), wait_q(0.95), wait_q(0.99));
        let value = |x: Option<(f64, [f64; 2])>| x.map(|(v, _)| ms(v));
        let ci = |x: Option<(f64, [f64; 2])>| x.map(|(_, [lo, hi])| [ms(lo), ms(hi)]);
        Figures {
            throughput_per_s: Some(self.completed_in_window as f64 / self.duration_s()),
            drop_fraction: Some(ratio(self.dropped, self.arrived)),
            mean_wait_ms: mean_wait.map(|(v, _)| ms(v)),
            mean_wait_ms_ci95: mean_wait.map(ci_ms),
            p50_wait_ms: value(p50),
            p95_wait_ms: value(p95),
            p99_wait_ms: value(p99),
            e2e_mean_ms: e2e_mean.map(|(v, _)| ms(v)),
            e2e_p99_ms: value(e2e_p99),
            p50_wait_ms_ci95: ci(p50),
            p95_wait_ms_ci95: ci(p95),
            p99_wait_ms_ci95: ci(p99),
            e2e_mean_ms_ci95: e2e_mean.map(ci_ms),
            e2e_p99_ms_ci95: ci(e2e_p99),
            ..Figures::default()
        }
    }

    /// How much longer the window's events took than their drawn demands, over all (1.0: on
    /// time); none if no demand was known.
    pub fn service_stretch(&self) -> Option<f64> {
        (self.demand_sum_ns > 0.0).then(|| self.service_sum_ns / self.demand_sum_ns)
    }

    /// The backlog's growth over the window, events per model second: what arrived and
    /// stayed, less what started.
    pub fn growth_per_s(&self) -> f64 {
        let stayed = self.arrived.saturating_sub(self.dropped) as f64;
        (stayed - self.started_in_window as f64) / self.duration_s()
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn histogram(slot: &Slot, latency: Latency) -> (&Histogram<u64>, f64) {
    match latency {
        Latency::Wait => (&slot.waits_ns, slot.wait_sum_ns),
        Latency::EndToEnd => (&slot.e2e_ns, slot.e2e_sum_ns),
    }
}

/// The overall mean (ns) and the half-width of its 95% interval from the batches' means;
/// none before anything is measured, an infinite half-width with too few batches.
fn mean_interval(batches: &[Slot], latency: Latency) -> Option<(f64, f64)> {
    let (count, sum) = batches.iter().fold((0u64, 0.0), |(n, s), b| {
        let (h, sum) = histogram(b, latency);
        (n + h.len(), s + sum)
    });
    if count == 0 {
        return None;
    }
    let means: Vec<f64> = batches
        .iter()
        .map(|b| histogram(b, latency))
        .filter(|(h, _)| !h.is_empty())
        .map(|(h, sum)| sum / h.len() as f64)
        .collect();
    Some((sum / count as f64, half_width(&means)))
}

fn half_width(samples: &[f64]) -> f64 {
    if samples.len() < MIN_BATCHES {
        return f64::INFINITY;
    }
    Estimate::of(samples).half_width
}

/// The `q`-quantile (ns) of every event, and its 95% interval: the batches' shares at or
/// below the estimate give an interval for the distribution function there, q ± h, which the
/// whole run's quantiles at q − h and q + h turn back into times.
fn quantile_interval(
    batches: &[Slot],
    all: &Slot,
    latency: Latency,
    q: f64,
) -> Option<(f64, [f64; 2])> {
    let (whole, _) = histogram(all, latency);
    if whole.is_empty() {
        return None;
    }
    let estimate = whole.value_at_quantile(q);
    let shares: Vec<f64> = batches
        .iter()
        .map(|b| histogram(b, latency).0)
        .filter(|h| !h.is_empty())
        .map(|h| h.count_between(0, estimate) as f64 / h.len() as f64)
        .collect();
    let h = half_width(&shares);
    let lo = whole.value_at_quantile((q - h).max(0.0));
    let hi = if q + h >= 1.0 {
        whole.max()
    } else {
        whole.value_at_quantile(q + h)
    };
    Some((estimate as f64, [lo as f64, hi as f64]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::work::Outcome;

    /// Events arriving every 10 ms from 0 to 10 s; event i waits (i mod 100) ms and takes 5 ms.
    fn collector(start_s: u64) -> Collector {
        feed(Collector::new(start_s * 1_000_000_000, 10_000_000_000))
    }

    fn feed(mut c: Collector) -> Collector {
        for id in 0..1000u64 {
            let arrival = id * 10_000_000;
            let start = arrival + (id % 100) * 1_000_000;
            c.add(Trace::Submitted {
                id,
                at_ns: arrival,
                blocked_ns: 0,
            });
            c.add(Trace::Started {
                worker: 1,
                id,
                at_ns: start,
                demand_ns: 5_000_000,
            });
            c.add(Trace::Finished {
                worker: 1,
                id,
                at_ns: start + 5_000_000,
                outcome: Outcome::Succeeded { result: None },
            });
        }
        c
    }

    #[test]
    fn figures_of_known_waits() {
        let f = collector(0).figures();
        assert!((f.mean_wait_ms.unwrap() - 49.5).abs() < 1e-9, "{f:?}");
        assert!((f.e2e_mean_ms.unwrap() - 54.5).abs() < 1e-9);
        // 2 significant digits: 99 ms reads as 99 ms, 49 ms as 49 ms.
        assert!((f.p99_wait_ms.unwrap() - 99.0).abs() <= 1.0, "{f:?}");
        assert!((f.p50_wait_ms.unwrap() - 49.0).abs() <= 1.0, "{f:?}");
        let [lo, hi] = f.mean_wait_ms_ci95.unwrap();
        assert!(lo < 49.5 && 49.5 < hi && hi - lo < 40.0, "{lo}..{hi}");
        let [lo, hi] = f.p99_wait_ms_ci95.unwrap();
        let p99 = f.p99_wait_ms.unwrap();
        assert!(lo <= p99 && p99 <= hi && lo > 90.0, "{lo}..{hi}");
        assert_eq!(f.drop_fraction, Some(0.0));
        // 1000 completions in 10 s, less the few that finish after its end.
        let throughput = f.throughput_per_s.unwrap();
        assert!(throughput > 99.0 && throughput <= 100.0, "{throughput}");
    }

    #[test]
    fn a_window_closed_early_keeps_every_event_that_arrived_in_it() {
        let mut c = Collector::new(0, 10_000_000_000);
        c.close(5_055_000_000);
        let c = feed(c);
        assert_eq!(c.arrived, 506);
        let expected = (0..506u64).map(|i| (i % 100) as f64).sum::<f64>() / 506.0;
        let mean = c.figures().mean_wait_ms.unwrap();
        assert!((mean - expected).abs() < 1e-9, "{mean} against {expected}");
    }

    #[test]
    fn the_warm_up_is_left_out() {
        let c = collector(5);
        assert_eq!((c.arrived_before, c.arrived), (500, 500));
        assert!((c.service_stretch().unwrap() - 1.0).abs() < 1e-12);
        assert!(c.growth_per_s().abs() < 1.0, "{}", c.growth_per_s());
    }

    #[test]
    fn drops_count_against_the_arrivals_of_the_window() {
        let mut c = Collector::new(0, 1_000_000_000);
        c.add(Trace::Submitted {
            id: 1,
            at_ns: 10,
            blocked_ns: 0,
        });
        c.add(Trace::Dropped {
            id: 2,
            at_ns: 20,
            reason: DropReason::QueueFull,
        });
        c.add(Trace::Dropped {
            id: 1,
            at_ns: 30,
            reason: DropReason::Evicted,
        });
        // Evicted but never seen entering (it arrived before the window): not counted.
        c.add(Trace::Dropped {
            id: 99,
            at_ns: 40,
            reason: DropReason::Evicted,
        });
        assert_eq!((c.arrived, c.dropped), (2, 2));
        assert_eq!(c.figures().drop_fraction, Some(1.0));
    }
}
