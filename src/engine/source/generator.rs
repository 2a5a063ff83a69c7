//! The built-in generator: a tokio task that creates events on an absolute schedule.
//!
//! Event k is due at anchor + k/rate (fixed), at the running sum of exponential gaps (poisson), or in
//! groups (bursty). On each wake the source emits every event already due, so the achieved rate does
//! not depend on how precisely tokio sleeps. A change of rate or process re-anchors the schedule at
//! the current time, so no "missed" events burst out.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng, rngs::Xoshiro256PlusPlus};
use rand_distr::{Distribution, Exp, LogNormal};

use super::draws::{Deferred, Draws, Schedule};
use super::trace::{Replay, TraceFile};
use super::{EventSource, SourceIo};
use crate::engine::settings::{ArrivalProcess, LOGNORMAL_CV, ServiceDist, Settings};
use crate::engine::work::{self, Spin};

/// How many events the source emits before yielding to the runtime.
const EMIT_BUDGET: usize = 1024;
/// The clock is read for the lateness of one event in this many of a wake's (and its first).
const LATENESS_STRIDE: usize = 64;
/// Within this of a due time the source stops using tokio's timer and waits precisely.
const PRECISE_WINDOW: Duration = Duration::from_millis(2);

/// Independent random streams derived from one seed, so that e.g. service demands never shift
/// which events arrive when.
pub fn stream_rng(seed: u64, stream: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
pub const ARRIVAL_STREAM: u64 = 1;
pub const SERVICE_STREAM: u64 = 2;

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
                // Exp(1) scaled by the mean gap; 1 - u avoids ln(0). (The ziggurat's Exp1 is
                // faster, but it would give every seed another stream, and seeded runs and
                // their tests are pinned to these.)
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

/// The built-in source: fixed, Poisson or bursty arrivals at the configured rate, each event
/// with a service demand drawn from the configured distribution; or a trace's rows replayed on
/// the same schedule, with their own demands.
pub struct Generator {
    seed: u64,
    replay: Option<(Arc<TraceFile>, u64)>,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self { seed, replay: None }
    }

    /// Replays `trace` `passes` times (the settings' rate scales its gaps).
    pub fn replaying(seed: u64, trace: Arc<TraceFile>, passes: u64) -> Self {
        Self {
            seed,
            replay: Some((trace, passes)),
        }
    }
}

impl EventSource for Generator {
    fn run(self: Box<Self>, io: &mut SourceIo) {
        // A tokio runtime of this thread's own, so precise waits near a due time block nothing else.
        match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime.block_on(Emitter::new(self.seed, self.replay, io).run()),
            Err(e) => io
                .shared
                .fail_with(format!("cannot start the source's runtime: {e}")),
        }
    }
}

/// The generator's running state between wakes.
struct Emitter<'a> {
    io: &'a mut SourceIo,
    draws: Draws,
    /// Events held at the source while a `block` queue is full, as the draws that make them.
    deferred: Deferred,
    settings: Settings,
}

impl<'a> Emitter<'a> {
    fn new(seed: u64, replay: Option<(Arc<TraceFile>, u64)>, io: &'a mut SourceIo) -> Self {
        let settings = io.settings.borrow_and_update().clone();
        let mut arrivals = stream_rng(seed, ARRIVAL_STREAM);
        let schedule = match replay {
            Some((trace, passes)) => {
                Schedule::Replay(Replay::new(trace, passes, 0, settings.rate.get()))
            }
            None => Schedule::Drawn(ArrivalSchedule::new(
                settings.arrival,
                settings.rate.get(),
                settings.burst,
                0,
                &mut arrivals,
            )),
        };
        let service = stream_rng(seed, SERVICE_STREAM);
        Self {
            draws: Draws::new(schedule, arrivals, service, &settings),
            deferred: Deferred::default(),
            io,
            settings,
        }
    }

    async fn run(mut self) {
        let clock = self.io.shared.clock;
        loop {
            if self.io.should_end() {
                break;
            }
            let now = clock.now_ns();
            // Events due exactly at the end still arrive; none after it.
            let until = self.io.duration_ns.map_or(now, |end| now.min(end));
            self.admit_held();
            if !self.settings.paused && !self.exhausted() {
                self.emit_due(until).await;
            }
            self.io.pacing.publish_if_due();
            if self.io.duration_ns.is_some_and(|end| now >= end) {
                break;
            }
            if self.exhausted() && !self.io.admission.is_holding() {
                return;
            }
            if !self.wait_for_next().await {
                break;
            }
        }
        // Ended (or stopped) at once: events held at the source never enter. On a stop they stay
        // counted as held, like the queued ones as queued.
        if !self.io.shared.stop.load(Ordering::Relaxed) {
            self.io.admission.abandon_held();
            while let Some(event) = self.deferred.take() {
                self.io.admission.abandon(&event);
            }
        }
    }

    /// Whether the source has created all the events it may (`--events`).
    fn exhausted(&self) -> bool {
        self.io
            .max_events
            .is_some_and(|max| self.draws.next_id() > max)
            || self.draws.next_due_ns() == u64::MAX
    }

    /// Lets events held at the source in, oldest first, by the queue's cap and policy now:
    /// those the admission keeps, then those drawn again. The first that must still wait is
    /// kept by the admission, so while any is held, the admission is holding.
    fn admit_held(&mut self) {
        let (cap, overflow) = (self.settings.queue_cap, self.settings.overflow);
        self.io.admission.admit_held(cap, overflow);
        while !self.io.admission.is_holding() {
            match self.deferred.take() {
                Some(event) => self.io.admission.offer_held(event, cap, overflow),
                None => break,
            }
        }
    }

    /// Waits until the next event is due, the settings change, the source is woken, or (with
    /// events held at the source) a worker makes room; false if the settings are gone (the
    /// engine was dropped).
    async fn wait_for_next(&mut self) -> bool {
        let clock = self.io.shared.clock;
        let mut wake_ns = if self.settings.paused || self.exhausted() {
            u64::MAX
        } else {
            self.draws.next_due_ns()
        };
        self.io.shared.next_due_ns.store(
            match self.io.duration_ns {
                Some(end) if wake_ns > end => u64::MAX,
                _ => wake_ns,
            },
            Ordering::Relaxed,
        );
        if let Some(end) = self.io.duration_ns {
            wake_ns = wake_ns.min(end);
        }
        let wake_at = (wake_ns != u64::MAX).then(|| clock.instant_at(wake_ns));
        let holding = self.io.admission.is_holding();
        // Close to the due time, wait precisely on this (the source's own) thread: tokio's
        // timer wheel rounds up to 1 ms, which would show up as queue wait. Not while events are
        // held: those wait for room, and a new arrival joins them anyway.
        if let Some(at) = wake_at.filter(|_| !holding) {
            if at.saturating_duration_since(Instant::now()) <= PRECISE_WINDOW {
                let _ = work::wait_until(at, &self.io.shared.stop, Spin::Always);
                if self.io.settings.has_changed().unwrap_or(false) {
                    self.apply_change();
                }
                return true;
            }
        }
        let lead = if holding {
            Duration::ZERO
        } else {
            PRECISE_WINDOW
        };
        let sleep = async {
            match wake_at {
                Some(at) => tokio::time::sleep_until((at - lead).into()).await,
                None => std::future::pending::<()>().await,
            }
        };
        let cap = self.settings.queue_cap;
        tokio::select! {
            () = sleep => {}
            () = self.io.admission.room(cap), if holding => {}
            () = self.io.shared.wake_source.notified() => {}
            changed = self.io.settings.changed() => {
                if changed.is_err() {
                    return false;
                }
                self.apply_change();
            }
        }
        true
    }

    /// Takes the new settings; re-anchors the schedule at now if the arrival pattern changed.
    fn apply_change(&mut self) {
        let new = self.io.settings.borrow_and_update().clone();
        let now = self.io.shared.clock.now_ns();
        self.draws
            .change(&new, retime_needed(&self.settings, &new), now);
        self.deferred.cut();
        self.settings = new;
    }

    /// Emits every event due by `now`, up to the event limit.
    async fn emit_due(&mut self, now: u64) {
        let mut emitted = 0;
        // When the latest event entered the queue: read after the first of a wake and every
        // LATENESS_STRIDE-th after it (a clock read per event would cost the hot path), so
        // the others' lateness is at most that many hand-offs short.
        let mut entered_ns = 0;
        while self.draws.next_due_ns() <= now && !self.exhausted() {
            if self.io.should_end() {
                return;
            }
            // While events are held, a new one joins them: counted now, drawn again later.
            let holding = self.io.admission.is_holding();
            if holding {
                self.deferred.hold(&self.draws);
            }
            let event = self.draws.next_event();
            let due_ns = event.arrival_ns;
            if self.draws.next_due_ns() > now {
                // The last of the events due now: before it goes out, so the worker that takes
                // it already sees when the next one is due.
                self.io
                    .shared
                    .next_due_ns
                    .store(self.draws.next_due_ns(), Ordering::Relaxed);
            }
            if holding {
                self.io.admission.arrive_held(due_ns);
            } else {
                let (cap, overflow) = (self.settings.queue_cap, self.settings.overflow);
                self.io.admission.offer(event, cap, overflow);
            }
            if emitted % LATENESS_STRIDE == 0 {
                entered_ns = self.io.shared.clock.now_ns();
            }
            self.io.pacing.record(due_ns, entered_ns);
            emitted += 1;
            if emitted % EMIT_BUDGET == 0 {
                tokio::task::yield_now().await;
                self.admit_held();
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

    /// The count in a window of T is Poisson(lambda T): over many seeds its variance is its mean.
    #[test]
    fn poisson_counts_have_the_poisson_distribution() {
        let (rate, window_ns, seeds) = (100.0, 1_000_000_000, 2_000u64);
        let counts: Vec<f64> = (0..seeds)
            .map(|seed| {
                let mut rng = stream_rng(seed, ARRIVAL_STREAM);
                let mut s = ArrivalSchedule::new(ArrivalProcess::Poisson, rate, 1, 0, &mut rng);
                let mut n = 0;
                while s.next_due_ns() <= window_ns {
                    n += 1;
                    s.advance(&mut rng);
                }
                n as f64
            })
            .collect();
        let mean = counts.iter().sum::<f64>() / seeds as f64;
        let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (seeds - 1) as f64;
        // lambda T = 100: the mean's standard error is 0.22, the variance's about 3.2.
        assert!((mean - 100.0).abs() < 1.0, "mean {mean}");
        assert!((var / mean - 1.0).abs() < 0.12, "dispersion {}", var / mean);
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
}
