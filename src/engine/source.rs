//! The event source: a tokio task that creates events on an absolute schedule and puts them in the queue.
//!
//! Event k is due at anchor + k/rate (fixed), at the running sum of exponential gaps (poisson), or in
//! groups (bursty). On each wake the source emits every event already due, so the achieved rate does
//! not depend on how precisely tokio sleeps. A change of rate or process re-anchors the schedule at
//! the current time, so no "missed" events burst out.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flume::{Receiver, Sender};
use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};
use rand_distr::{Distribution, Exp, LogNormal};
use tokio::sync::watch;

use super::event::{DropReason, Event, Fate, Trace};
use super::settings::{ArrivalProcess, LOGNORMAL_CV, Overflow, ServiceDist, Settings};
use super::shared::Shared;
use super::work::{self, Spin};

/// How many events the source emits before yielding to the runtime.
const EMIT_BUDGET: usize = 1024;
/// Within this of a due time the source stops using tokio's timer and waits precisely.
const PRECISE_WINDOW: Duration = Duration::from_millis(2);
/// A source waiting for room in a full queue re-checks at least this often.
const ROOM_POLL: Duration = Duration::from_millis(5);

/// Independent random streams derived from one seed, so that e.g. service demands never shift
/// which events arrive when.
pub fn stream_rng(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
pub const ARRIVAL_STREAM: u64 = 1;
pub const SERVICE_STREAM: u64 = 2;
pub const FATE_STREAM: u64 = 3;

/// When events are due, in model ns. Pure: no clock, so it can be tested exactly.
#[derive(Debug, Clone)]
pub struct ArrivalSchedule {
    process: ArrivalProcess,
    period_ns: f64,
    burst: u32,
    anchor_ns: f64,
    /// Events (fixed) or groups (bursty) since the anchor.
    k: u64,
    /// Position inside the current group (bursty).
    in_group: u32,
    /// Running time of the last poisson arrival.
    last_ns: f64,
    next_ns: u64,
}

impl ArrivalSchedule {
    /// A schedule whose first event is one gap after `anchor_ns`.
    pub fn new(
        process: ArrivalProcess,
        rate_per_s: f64,
        burst: u32,
        anchor_ns: u64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> Self {
        let mut s = Self {
            process,
            period_ns: 1e9 / rate_per_s,
            burst: burst.max(1),
            anchor_ns: anchor_ns as f64,
            k: 0,
            in_group: 0,
            last_ns: anchor_ns as f64,
            next_ns: 0,
        };
        s.next_ns = s.compute_next(rng);
        s
    }

    /// Due time of the next event.
    pub fn next_due_ns(&self) -> u64 {
        self.next_ns
    }

    /// Moves on to the event after the next one.
    pub fn advance(&mut self, rng: &mut Xoshiro256PlusPlus) {
        self.next_ns = self.compute_next(rng);
    }

    fn compute_next(&mut self, rng: &mut Xoshiro256PlusPlus) -> u64 {
        match self.process {
            ArrivalProcess::Fixed => {
                self.k += 1;
                (self.anchor_ns + self.k as f64 * self.period_ns).round() as u64
            }
            ArrivalProcess::Poisson => {
                // Exp(1) scaled by the mean gap; 1 - u avoids ln(0).
                let u: f64 = rng.random();
                self.last_ns += -(1.0 - u).ln() * self.period_ns;
                self.last_ns.round() as u64
            }
            ArrivalProcess::Bursty => {
                if self.in_group == 0 {
                    self.k += 1;
                }
                self.in_group = (self.in_group + 1) % self.burst;
                (self.anchor_ns + self.k as f64 * self.period_ns * self.burst as f64).round() as u64
            }
        }
    }
}

/// Draws service demands (model ns) around a mean.
pub fn sample_demand_ns(dist: ServiceDist, mean: Duration, rng: &mut Xoshiro256PlusPlus) -> u64 {
    let mean_ns = mean.as_nanos() as f64;
    if mean_ns == 0.0 {
        return 0;
    }
    let ns = match dist {
        ServiceDist::Fixed => mean_ns,
        ServiceDist::Exp => Exp::new(1.0 / mean_ns).map_or(mean_ns, |d| d.sample(rng)),
        ServiceDist::Uniform => rng.random::<f64>() * 2.0 * mean_ns,
        ServiceDist::Lognormal => {
            let sigma2 = (1.0 + LOGNORMAL_CV * LOGNORMAL_CV).ln();
            let mu = mean_ns.ln() - sigma2 / 2.0;
            LogNormal::new(mu, sigma2.sqrt()).map_or(mean_ns, |d| d.sample(rng))
        }
    };
    // Cap a single demand at 1000x the mean so a freak sample cannot stall a demo for days.
    ns.clamp(0.0, mean_ns * 1000.0) as u64
}

pub(crate) struct Source {
    pub shared: Arc<Shared>,
    pub settings: watch::Receiver<Settings>,
    pub queue: Sender<Event>,
    /// For drop-old: the source takes the oldest event out itself.
    pub evict: Receiver<Event>,
    pub trace: Option<Sender<Trace>>,
    pub max_events: Option<u64>,
    pub duration_ns: Option<u64>,
    pub seed: u64,
}

/// The source's running state between wakes.
struct Emitter {
    arrivals: Xoshiro256PlusPlus,
    service: Xoshiro256PlusPlus,
    fate: Xoshiro256PlusPlus,
    next_id: u64,
    /// Known free places in a bounded queue (only the source adds, so it can only grow).
    room: usize,
    /// Model time the source last got room after waiting for it: events due before then were
    /// held up by the full queue, even those that later use the room found then.
    unblocked_ns: u64,
}

impl Source {
    pub async fn run(mut self) {
        let mut settings = self.settings.borrow_and_update().clone();
        let mut em = Emitter {
            arrivals: stream_rng(self.seed, ARRIVAL_STREAM),
            service: stream_rng(self.seed, SERVICE_STREAM),
            fate: stream_rng(self.seed, FATE_STREAM),
            next_id: 1,
            room: 0,
            unblocked_ns: 0,
        };
        let mut schedule = ArrivalSchedule::new(
            settings.arrival,
            settings.rate.get(),
            settings.burst,
            0,
            &mut em.arrivals,
        );
        let clock = self.shared.clock;
        loop {
            if self.shared.source_should_end() {
                break;
            }
            let now = clock.now_ns();
            // Events due exactly at the end still arrive; none after it.
            let until = self.duration_ns.map_or(now, |end| now.min(end));
            if !settings.paused
                && self
                    .emit_due(&mut em, &mut schedule, &settings, until)
                    .await
            {
                break;
            }
            if self.duration_ns.is_some_and(|end| now >= end) {
                break;
            }
            let mut wake_ns = if settings.paused {
                u64::MAX
            } else {
                schedule.next_due_ns()
            };
            self.shared.next_due_ns.store(
                match self.duration_ns {
                    Some(end) if wake_ns > end => u64::MAX,
                    _ => wake_ns,
                },
                Ordering::Relaxed,
            );
            if let Some(end) = self.duration_ns {
                wake_ns = wake_ns.min(end);
            }
            let wake_at = (wake_ns != u64::MAX).then(|| clock.instant_at(wake_ns));
            // Close to the due time, wait precisely on this (the source's own) thread: tokio's
            // timer wheel rounds up to 1 ms, which would show up as queue wait.
            if let Some(at) = wake_at {
                if at.saturating_duration_since(Instant::now()) <= PRECISE_WINDOW {
                    let _ = work::wait_until(at, &self.shared.stop, Spin::Always);
                    if self.settings.has_changed().unwrap_or(false) {
                        settings = self.apply_change(&settings, &mut schedule, &mut em);
                    }
                    continue;
                }
            }
            let sleep = async {
                match wake_at {
                    Some(at) => tokio::time::sleep_until((at - PRECISE_WINDOW).into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = sleep => {}
                () = self.shared.wake_source.notified() => {}
                changed = self.settings.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    settings = self.apply_change(&settings, &mut schedule, &mut em);
                }
            }
        }
        let end_ns = match self.duration_ns {
            Some(end) if !self.shared.stop.load(Ordering::Relaxed) => end.min(clock.now_ns()),
            _ => clock.now_ns(),
        };
        self.shared.source_end_ns.store(end_ns, Ordering::Relaxed);
        self.shared.source_ended.store(true, Ordering::Release);
        if let Some(trace) = &self.trace {
            let _ = trace.send(Trace::SourceEnded { at_ns: end_ns });
        }
    }

    /// Takes the new settings; re-anchors the schedule at now if the arrival pattern changed.
    fn apply_change(
        &mut self,
        old: &Settings,
        schedule: &mut ArrivalSchedule,
        em: &mut Emitter,
    ) -> Settings {
        let new = self.settings.borrow_and_update().clone();
        if retime_needed(old, &new) {
            let now = self.shared.clock.now_ns();
            *schedule = ArrivalSchedule::new(
                new.arrival,
                new.rate.get(),
                new.burst,
                now,
                &mut em.arrivals,
            );
        }
        new
    }

    /// Emits every event due by `now`. Returns true when the event limit is reached.
    async fn emit_due(
        &self,
        em: &mut Emitter,
        schedule: &mut ArrivalSchedule,
        settings: &Settings,
        now: u64,
    ) -> bool {
        let mut emitted = 0;
        while schedule.next_due_ns() <= now {
            if self.max_events.is_some_and(|max| em.next_id > max) {
                return true;
            }
            if self.shared.source_should_end() {
                return false;
            }
            let event = Event {
                id: em.next_id,
                arrival_ns: schedule.next_due_ns(),
                demand_ns: sample_demand_ns(
                    settings.service_dist,
                    settings.service,
                    &mut em.service,
                ),
                fate: draw_fate(settings.fail_rate, &mut em.fate),
            };
            em.next_id += 1;
            schedule.advance(&mut em.arrivals);
            if schedule.next_due_ns() > now {
                // The last of the events due now: before it goes out, so the worker that takes
                // it already sees when the next one is due.
                self.shared
                    .next_due_ns
                    .store(schedule.next_due_ns(), Ordering::Relaxed);
            }
            self.offer(em, event, settings).await;
            emitted += 1;
            if emitted % EMIT_BUDGET == 0 {
                tokio::task::yield_now().await;
            }
        }
        self.max_events.is_some_and(|max| em.next_id > max)
    }

    /// Puts one event in the queue, applying the bounded queue's overflow policy.
    async fn offer(&self, em: &mut Emitter, event: Event, settings: &Settings) {
        self.shared.generated.fetch_add(1, Ordering::AcqRel);
        if let Some(cap) = settings.queue_cap {
            if em.room == 0 {
                em.room = cap.saturating_sub(self.queue.len());
            }
            if em.room == 0 {
                match settings.overflow {
                    Overflow::DropNew => {
                        let held_ns = self.held_ns(em, &event);
                        self.submitted(event, held_ns);
                        let at_ns = event.arrival_ns + held_ns;
                        self.drop_event(event.id, at_ns, DropReason::QueueFull);
                        return;
                    }
                    Overflow::DropOld => {
                        if let Ok(old) = self.evict.try_recv() {
                            let at_ns = event.arrival_ns + self.held_ns(em, &event);
                            self.drop_event(old.id, at_ns, DropReason::Evicted);
                        }
                    }
                    Overflow::Block => {
                        em.room = self.wait_for_room(cap).await;
                        em.unblocked_ns = self.shared.clock.now_ns();
                    }
                }
            }
            em.room = em.room.saturating_sub(1);
        }
        self.submitted(event, self.held_ns(em, &event));
        // The queue never disconnects while the source holds a receiver for evictions.
        let _ = self.queue.send(event);
        // Idle workers park off the queue and only the watcher waits on it: if an earlier event
        // is still waiting, the watcher has not got to it (busy, or off its core), so a parked
        // worker must come instead of letting events wait for it.
        if self.shared.bench.is_occupied() {
            let waiting = self.queue.len();
            if waiting > 1 {
                self.shared.bench.wake(waiting - 1);
            }
        }
    }

    /// How long a full queue held `event` up: events due before the source last got room
    /// enter now, not at their arrival (even those that use room found by an earlier wait).
    fn held_ns(&self, em: &Emitter, event: &Event) -> u64 {
        if event.arrival_ns < em.unblocked_ns {
            self.shared.clock.now_ns().saturating_sub(event.arrival_ns)
        } else {
            0
        }
    }

    /// Traces an event entering the queue: at its arrival, or later if it waited for room.
    fn submitted(&self, event: Event, blocked_ns: u64) {
        if let Some(trace) = &self.trace {
            let at_ns = event.arrival_ns + blocked_ns;
            let _ = trace.send(Trace::Submitted {
                id: event.id,
                at_ns,
                blocked_ns,
            });
        }
    }

    fn drop_event(&self, id: u64, at_ns: u64, reason: DropReason) {
        self.shared.dropped.fetch_add(1, Ordering::AcqRel);
        if let Some(trace) = &self.trace {
            let _ = trace.send(Trace::Dropped { id, at_ns, reason });
        }
    }

    /// Waits until the queue has room (or the engine stops). Returns the room found.
    async fn wait_for_room(&self, cap: usize) -> usize {
        loop {
            let room = cap.saturating_sub(self.queue.len());
            if room > 0 || self.shared.stop.load(Ordering::Relaxed) {
                return room.max(1);
            }
            self.shared.source_blocked.store(true, Ordering::Release);
            if self.queue.len() < cap {
                continue;
            }
            tokio::select! {
                () = self.shared.room.notified() => {}
                () = tokio::time::sleep(ROOM_POLL) => {}
                () = self.shared.wake_source.notified() => {}
            }
        }
    }
}

fn retime_needed(old: &Settings, new: &Settings) -> bool {
    old.rate != new.rate
        || old.arrival != new.arrival
        || old.burst != new.burst
        || (old.paused && !new.paused)
}

fn draw_fate(fail_rate: f64, rng: &mut Xoshiro256PlusPlus) -> Fate {
    if fail_rate <= 0.0 {
        return Fate::Succeed;
    }
    let u: f64 = rng.random();
    if u >= fail_rate {
        Fate::Succeed
    } else if u < fail_rate / 2.0 {
        Fate::Panic
    } else {
        Fate::Fail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due_times(process: ArrivalProcess, rate: f64, burst: u32, n: usize, seed: u64) -> Vec<u64> {
        let mut rng = stream_rng(seed, ARRIVAL_STREAM);
        let mut s = ArrivalSchedule::new(process, rate, burst, 0, &mut rng);
        (0..n)
            .map(|_| {
                let t = s.next_due_ns();
                s.advance(&mut rng);
                t
            })
            .collect()
    }

    #[test]
    fn fixed_is_an_exact_absolute_schedule() {
        let t = due_times(ArrivalProcess::Fixed, 1.0, 1, 10, 0);
        assert_eq!(t, (1..=10).map(|k| k * 1_000_000_000).collect::<Vec<_>>());
        // 3/s does not divide 1e9: no drift after a million events
        let t = due_times(ArrivalProcess::Fixed, 3.0, 1, 1_000_000, 0);
        assert_eq!(*t.last().unwrap(), 333_333_333_333_333);
    }

    #[test]
    fn bursty_groups_arrive_together() {
        let t = due_times(ArrivalProcess::Bursty, 10.0, 5, 10, 0);
        assert_eq!(&t[..5], &[500_000_000; 5]);
        assert_eq!(&t[5..], &[1_000_000_000; 5]);
    }

    #[test]
    fn poisson_gaps_have_the_right_mean_and_spread() {
        let n = 100_000;
        let t = due_times(ArrivalProcess::Poisson, 1000.0, 1, n, 42);
        let gaps: Vec<f64> = t.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64;
        // mean 1 ms within 1.5% (std error 0.3%); exponential: cv = 1
        assert!((mean / 1e6 - 1.0).abs() < 0.015, "mean gap {mean}");
        assert!(
            (var.sqrt() / mean - 1.0).abs() < 0.03,
            "cv {}",
            var.sqrt() / mean
        );
    }

    #[test]
    fn same_seed_same_arrivals_different_seed_different() {
        let a = due_times(ArrivalProcess::Poisson, 5.0, 1, 50, 7);
        assert_eq!(a, due_times(ArrivalProcess::Poisson, 5.0, 1, 50, 7));
        assert_ne!(a, due_times(ArrivalProcess::Poisson, 5.0, 1, 50, 8));
    }

    #[test]
    fn demand_distributions_have_the_requested_mean() {
        let mean = Duration::from_millis(10);
        for dist in ServiceDist::ALL {
            let mut rng = stream_rng(3, SERVICE_STREAM);
            let n = 200_000;
            let samples: Vec<f64> = (0..n)
                .map(|_| sample_demand_ns(*dist, mean, &mut rng) as f64)
                .collect();
            let m = samples.iter().sum::<f64>() / n as f64;
            let var = samples.iter().map(|s| (s - m).powi(2)).sum::<f64>() / n as f64;
            let cv2 = var / (m * m);
            assert!((m / 1e7 - 1.0).abs() < 0.02, "{dist}: mean {m}");
            assert!(
                (cv2 - dist.cv2(LOGNORMAL_CV)).abs() < 0.1,
                "{dist}: cv2 {cv2}"
            );
        }
        let mut rng = stream_rng(3, SERVICE_STREAM);
        assert_eq!(
            sample_demand_ns(ServiceDist::Exp, Duration::ZERO, &mut rng),
            0
        );
    }

    #[test]
    fn fate_follows_the_fail_rate() {
        let mut rng = stream_rng(1, FATE_STREAM);
        assert!((0..1000).all(|_| draw_fate(0.0, &mut rng) == Fate::Succeed));
        let n = 100_000;
        let failing = (0..n)
            .filter(|_| draw_fate(0.2, &mut rng) != Fate::Succeed)
            .count();
        assert!((failing as f64 / n as f64 - 0.2).abs() < 0.01, "{failing}");
    }
}
