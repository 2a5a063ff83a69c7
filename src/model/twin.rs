//! The twin: a discrete-event simulation of the ideal pool for the current settings, for what
//! no formula answers (bursts, bounded queues, processor sharing, transients).
//!
//! It draws arrivals and demands with the engine's own generators (`ArrivalSchedule`,
//! `sample_demand_ns`), so under the same seed it simulates the very events the engine runs.
//! Servers take the queue in order (FCFS); a bounded queue applies its overflow policy; `block`
//! holds arrivals at the source, which for waits is the same as an unbounded queue; `cpu` work
//! with more busy workers than cores shares the cores equally (processor sharing).
//!
//! Times are model seconds (f64). No clock, no threads: a caller runs it where it likes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use hdrhistogram::Histogram;
use rand::rngs::Xoshiro256PlusPlus;

use crate::engine::settings::{ArrivalProcess, Overflow, ServiceDist, Settings, WorkMode};
use crate::engine::source::generator::{
    ARRIVAL_STREAM, ArrivalSchedule, SERVICE_STREAM, sample_demand_ns, stream_rng,
};

/// What the twin simulates: the settings that shape the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct TwinConfig {
    pub arrival: ArrivalProcess,
    pub rate_per_s: f64,
    pub burst: u32,
    pub service: Duration,
    pub service_dist: ServiceDist,
    /// Workers: each takes one event at a time.
    pub servers: usize,
    /// With `cpu` work: the cores the busy workers share; `None` for wall-clock (sleep) work.
    pub cores: Option<usize>,
    pub queue_cap: Option<usize>,
    pub overflow: Overflow,
}

impl TwinConfig {
    pub fn from_settings(settings: &Settings, cores: usize) -> Self {
        Self {
            arrival: settings.arrival,
            rate_per_s: settings.rate.get(),
            burst: settings.burst,
            service: settings.service,
            service_dist: settings.service_dist,
            servers: settings.workers,
            cores: (settings.work == WorkMode::Cpu && settings.workers > cores).then_some(cores),
            queue_cap: settings.queue_cap,
            overflow: settings.overflow,
        }
    }

    /// Whether a full queue sheds arrivals (`drop-new`, `drop-old`) rather than holding them.
    pub(crate) fn drops(&self) -> Option<usize> {
        self.queue_cap.filter(|_| self.overflow != Overflow::Block)
    }
}

/// What one simulated run measured.
#[derive(Debug, Clone)]
pub struct TwinRun {
    /// Events that arrived.
    pub arrivals: u64,
    /// Events that entered service.
    pub started: u64,
    /// Events a full queue dropped (`drop-new`) or evicted (`drop-old`).
    pub dropped: u64,
    /// Queue wait (arrival to start) of every event that started, ns.
    pub waits_ns: Histogram<u64>,
    /// Sum of the queue waits of the events that started, s.
    pub wait_sum_s: f64,
    /// Events that finished, and the sum of their times in the system (arrival to end), s.
    pub finished: u64,
    pub sojourn_sum_s: f64,
    /// ∫ (events waiting) dt, over the run: divide by `span_s` for the time-average.
    pub queue_area: f64,
    /// Model seconds from the first arrival to the last.
    pub span_s: f64,
}

impl TwinRun {
    /// Nothing measured yet.
    pub fn empty() -> Self {
        // Bounded: `saturating_record` clamps to the highest trackable value, which for an
        // auto-resizing histogram is its initial 2 ns.
        Self::recording_into(wait_histogram())
    }

    /// Nothing measured yet; waits are added to `waits_ns` (a forecast's replications share one).
    pub(crate) fn recording_into(waits_ns: Histogram<u64>) -> Self {
        Self {
            arrivals: 0,
            started: 0,
            dropped: 0,
            waits_ns,
            wait_sum_s: 0.0,
            finished: 0,
            sojourn_sum_s: 0.0,
            queue_area: 0.0,
            span_s: 0.0,
        }
    }

    pub fn mean_wait_s(&self) -> f64 {
        if self.started == 0 {
            0.0
        } else {
            self.wait_sum_s / self.started as f64
        }
    }

    /// Mean time in the system (queue wait plus service, stretched where cores are shared).
    pub fn mean_sojourn_s(&self) -> f64 {
        if self.finished == 0 {
            0.0
        } else {
            self.sojourn_sum_s / self.finished as f64
        }
    }

    /// Time-average number waiting (queued or held at the source).
    pub fn mean_queue_len(&self) -> f64 {
        if self.span_s > 0.0 {
            self.queue_area / self.span_s
        } else {
            0.0
        }
    }

    /// Fraction of the events that started that waited first (a wait above the histogram's
    /// zero bucket).
    pub fn p_wait(&self) -> f64 {
        let started = self.waits_ns.len();
        if started == 0 {
            0.0
        } else {
            1.0 - self.waits_ns.count_at(0) as f64 / started as f64
        }
    }

    /// The `q`-quantile of the queue waits of the events that started, s (0 if none did).
    pub fn wait_quantile_s(&self, q: f64) -> f64 {
        if self.waits_ns.is_empty() {
            0.0
        } else {
            self.waits_ns.value_at_quantile(q) as f64 / 1e9
        }
    }

    /// Fraction of arrivals dropped.
    pub fn p_drop(&self) -> f64 {
        if self.arrivals == 0 {
            0.0
        } else {
            self.dropped as f64 / self.arrivals as f64
        }
    }
}

/// A histogram of waits from 1 µs to a year, to 2 significant digits (1%: percentiles need no
/// more, and it stays small enough, ~30 kB, to make one per run).
pub(crate) fn wait_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1_000, 365 * 86_400 * 1_000_000_000, 2).expect("valid bounds")
}

/// One waiting event: when it arrived and its demand, s.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Waiting {
    pub(crate) arrival_s: f64,
    pub(crate) demand_s: f64,
}

/// Simulates `events` arrivals under `config` with `seed`, after `warmup` arrivals that are
/// simulated but not counted (so a steady-state estimate does not start from an empty pool).
pub fn simulate(config: &TwinConfig, seed: u64, warmup: u64, events: u64) -> TwinRun {
    let mut arrivals = Arrivals::new(config, seed);
    let mut run = TwinRun::empty();
    match config.cores {
        Some(cores) if config.servers > cores => {
            let mut pool = SharedCores::new(config.servers, cores);
            pool.run(config, &mut arrivals, warmup, events, &mut run);
        }
        _ if config.drops().is_none() => {
            lindley(config.servers, &mut arrivals, warmup, events, &mut run)
        }
        _ => {
            let mut pool = Servers::new(config.servers);
            pool.run(config, &mut arrivals, warmup, events, &mut run);
        }
    }
    run
}

/// Unbounded FCFS on `servers` full-speed servers, by the multi-server Lindley recursion: each
/// event starts when it arrives or when the earliest server frees up, whichever is later. No
/// queue is kept: over the run, the queue's area is the sum of the waits (each waiting event
/// adds its wait), which is exact for the events measured.
fn lindley(servers: usize, arrivals: &mut Arrivals, warmup: u64, events: u64, run: &mut TwinRun) {
    if servers <= FEW_SERVERS {
        let free_at = FewServers(vec![0.0; servers.max(1)]);
        lindley_on(free_at, arrivals, warmup, events, run);
    } else {
        lindley_on(Servers::new(servers), arrivals, warmup, events, run);
    }
}

/// Up to this many servers, a linear scan for the earliest free one beats a heap.
const FEW_SERVERS: usize = 8;

/// Servers' free times, as the Lindley step uses them.
trait FreeTimes {
    /// An event arriving at `arrival_s` takes the earliest free server and holds it for
    /// `demand_s`; returns when it starts.
    fn take(&mut self, arrival_s: f64, demand_s: f64) -> f64;
}

impl FreeTimes for Servers {
    fn take(&mut self, arrival_s: f64, demand_s: f64) -> f64 {
        Servers::take(self, arrival_s, demand_s)
    }
}

/// A few servers' free times, scanned.
struct FewServers(Vec<f64>);

impl FreeTimes for FewServers {
    fn take(&mut self, arrival_s: f64, demand_s: f64) -> f64 {
        let mut earliest = 0;
        for (i, &free) in self.0.iter().enumerate() {
            if free < self.0[earliest] {
                earliest = i;
            }
        }
        let start = self.0[earliest].max(arrival_s);
        self.0[earliest] = start + demand_s;
        start
    }
}

fn lindley_on(
    mut free_at: impl FreeTimes,
    arrivals: &mut Arrivals,
    warmup: u64,
    events: u64,
    run: &mut TwinRun,
) {
    let mut first_s = 0.0;
    // Events that did not wait, recorded in the histogram at once at the end (most do not,
    // and a record costs more than the rest of the step).
    let mut no_wait = 0u64;
    for n in 0..warmup + events {
        let event = arrivals.next();
        let start = free_at.take(event.arrival_s, event.demand_s);
        let end = start + event.demand_s;
        if n < warmup {
            continue;
        }
        if n == warmup {
            first_s = event.arrival_s;
        }
        let wait = start - event.arrival_s;
        run.arrivals += 1;
        run.started += 1;
        run.wait_sum_s += wait;
        if wait > 0.0 {
            run.waits_ns.saturating_record((wait * 1e9) as u64);
        } else {
            no_wait += 1;
        }
        run.finished += 1;
        run.sojourn_sum_s += end - event.arrival_s;
        run.span_s = event.arrival_s - first_s;
    }
    run.waits_ns.saturating_record_n(0, no_wait);
    run.queue_area = run.wait_sum_s;
}

/// The arrivals and their demands, drawn as the engine's generator draws them.
pub(crate) struct Arrivals {
    schedule: ArrivalSchedule,
    arrival_rng: Xoshiro256PlusPlus,
    service_rng: Xoshiro256PlusPlus,
    dist: ServiceDist,
    mean: Duration,
}

impl Arrivals {
    pub(crate) fn new(config: &TwinConfig, seed: u64) -> Self {
        let mut arrival_rng = stream_rng(seed, ARRIVAL_STREAM);
        let schedule = ArrivalSchedule::new(
            config.arrival,
            config.rate_per_s,
            config.burst,
            0,
            &mut arrival_rng,
        );
        Self {
            schedule,
            arrival_rng,
            service_rng: stream_rng(seed, SERVICE_STREAM),
            dist: config.service_dist,
            mean: config.service,
        }
    }

    pub(crate) fn next(&mut self) -> Waiting {
        // Multiplied, not divided: a division costs as much as the rest of a Lindley step.
        let arrival_s = self.schedule.next_due_ns() as f64 * 1e-9;
        self.schedule.advance(&mut self.arrival_rng);
        Waiting {
            arrival_s,
            demand_s: self.demand_s(),
        }
    }

    /// One demand drawn from the service distribution, s.
    pub(crate) fn demand_s(&mut self) -> f64 {
        sample_demand_ns(self.dist, self.mean, &mut self.service_rng) as f64 * 1e-9
    }
}

/// A pool's side of the simulation: what happens up to an arrival, and at it.
pub(crate) trait Pool {
    /// Starts queued events on servers that free up by `now` (in order), recording their waits.
    fn advance(&mut self, now: f64, queue: &mut VecDeque<Waiting>, run: &mut Recorder<'_>);
    /// Starts `event` at once if a server is free at its arrival; gives it back if not.
    fn try_start(&mut self, event: Waiting, run: &mut Recorder<'_>) -> Option<Waiting>;
    /// From `at_s` on, `servers` servers (a later phase's worker count). Workers sharing the
    /// cores keep theirs.
    fn resize_at(&mut self, _at_s: f64, _servers: usize) {}

    fn run(
        &mut self,
        config: &TwinConfig,
        arrivals: &mut Arrivals,
        warmup: u64,
        events: u64,
        out: &mut TwinRun,
    ) {
        let mut queue: VecDeque<Waiting> = VecDeque::new();
        let mut recorder = Recorder::new(out, warmup == 0);
        for n in 0..warmup + events {
            let event = arrivals.next();
            if n == warmup {
                recorder.begin(event.arrival_s, queue.len());
            }
            self.offer(config, event, &mut queue, &mut recorder);
        }
        // The events still waiting at the last arrival start too, so the long waits at the end
        // count (a run cut there would leave them out); the time-average ends at that arrival.
        recorder.last_arrival();
        self.advance(f64::INFINITY, &mut queue, &mut recorder);
    }

    /// One arrival: the pool catches up to it, then it starts, waits, or a full queue drops.
    fn offer(
        &mut self,
        config: &TwinConfig,
        event: Waiting,
        queue: &mut VecDeque<Waiting>,
        recorder: &mut Recorder<'_>,
    ) {
        self.advance(event.arrival_s, queue, recorder);
        recorder.arrive(event.arrival_s);
        let waiting = if queue.is_empty() {
            self.try_start(event, recorder)
        } else {
            Some(event)
        };
        let Some(event) = waiting else { return };
        match config.drops() {
            Some(cap) if queue.len() >= cap => {
                recorder.drop_one();
                if config.overflow == Overflow::DropOld && cap > 0 {
                    queue.pop_front();
                    queue.push_back(event);
                }
            }
            _ => queue.push_back(event),
        }
        recorder.queue_is(event.arrival_s, queue.len());
    }
}

/// Counts what happens after the warm-up, and integrates the queue length over time.
pub(crate) struct Recorder<'a> {
    pub(crate) out: &'a mut TwinRun,
    counting: bool,
    first_s: f64,
    last_s: f64,
    queue_len: usize,
    /// After the last arrival: waits still count, the queue's time-average no longer.
    ended: bool,
    /// When a start first left the queue empty (a forecast's drain time).
    pub(crate) emptied_at_s: Option<f64>,
}

impl<'a> Recorder<'a> {
    pub(crate) fn new(out: &'a mut TwinRun, counting: bool) -> Self {
        Self {
            out,
            counting,
            first_s: 0.0,
            last_s: 0.0,
            queue_len: 0,
            ended: false,
            emptied_at_s: None,
        }
    }

    pub(crate) fn begin(&mut self, now: f64, queue_len: usize) {
        self.counting = true;
        self.first_s = now;
        self.last_s = now;
        self.queue_len = queue_len;
    }

    /// The queue holds `len` events from `now` on.
    pub(crate) fn queue_is(&mut self, now: f64, len: usize) {
        if self.counting && !self.ended && now > self.last_s {
            self.out.queue_area += self.queue_len as f64 * (now - self.last_s);
            self.out.span_s = now - self.first_s;
            self.last_s = now;
        }
        self.queue_len = len;
    }

    pub(crate) fn last_arrival(&mut self) {
        self.ended = true;
    }

    fn arrive(&mut self, now: f64) {
        if self.counting {
            self.out.arrivals += 1;
            self.queue_is(now, self.queue_len);
        }
    }

    fn drop_one(&mut self) {
        if self.counting {
            self.out.dropped += 1;
        }
    }

    /// An event that arrived at `arrival_s` ends at `end_s`.
    fn finish(&mut self, arrival_s: f64, end_s: f64) {
        if self.counting && arrival_s >= self.first_s {
            self.out.finished += 1;
            self.out.sojourn_sum_s += end_s - arrival_s;
        }
    }

    /// An event that arrived at `arrival_s` starts at `start_s`; `queue_len` wait after it.
    fn start(&mut self, arrival_s: f64, start_s: f64, queue_len: usize) {
        // Events that arrived in the warm-up are not counted, even if they start after it.
        if self.counting && arrival_s >= self.first_s {
            let wait = (start_s - arrival_s).max(0.0);
            self.out.started += 1;
            self.out.wait_sum_s += wait;
            self.out.waits_ns.saturating_record((wait * 1e9) as u64);
        }
        if queue_len == 0 && self.emptied_at_s.is_none() {
            self.emptied_at_s = Some(start_s);
        }
        self.queue_is(start_s, queue_len);
    }
}

/// `c` servers, each serving one event at full speed (sleep work, or cpu work within the
/// cores): a min-heap of the times they free up.
pub(crate) struct Servers {
    free_at: BinaryHeap<Reverse<Time>>,
}

impl Servers {
    fn new(servers: usize) -> Self {
        Self::with_busy(servers, &[])
    }

    /// `servers` servers, the first of them busy for the `remaining_s` given (model s from 0).
    pub(crate) fn with_busy(servers: usize, remaining_s: &[f64]) -> Self {
        let servers = servers.max(1);
        let busy = remaining_s.iter().take(servers).map(|&r| r.max(0.0));
        let idle = std::iter::repeat_n(0.0, servers.saturating_sub(remaining_s.len()));
        Self {
            free_at: busy.chain(idle).map(|t| Reverse(Time(t))).collect(),
        }
    }
}

impl Servers {
    /// When the first server is free, s.
    pub(crate) fn earliest_free_s(&self) -> f64 {
        self.free_at.peek().map_or(f64::INFINITY, |r| r.0.0)
    }

    /// From `at_s` on, `servers` servers (at least 1): new ones are free at `at_s`; when fewer,
    /// idle ones go first, then busy ones after their event (as the engine's workers leave),
    /// in no particular order.
    pub(crate) fn resize_at(&mut self, at_s: f64, servers: usize) {
        let servers = servers.max(1);
        let mut free_at = std::mem::take(&mut self.free_at).into_vec();
        if servers > free_at.len() {
            free_at.resize(servers, Reverse(Time(at_s)));
        } else {
            // Idle ones (free by `at_s`) to the back, then drop from the back.
            free_at.sort_by_key(|r| r.0.0 <= at_s);
            free_at.truncate(servers);
        }
        self.free_at = free_at.into();
    }

    /// The Lindley step: an event arriving at `arrival_s` takes the earliest free server (FCFS,
    /// in arrival order) and holds it for `demand_s`; returns when it starts.
    pub(crate) fn take(&mut self, arrival_s: f64, demand_s: f64) -> f64 {
        let Some(mut earliest) = self.free_at.peek_mut() else {
            return arrival_s;
        };
        let start = earliest.0.0.max(arrival_s);
        *earliest = Reverse(Time(start + demand_s));
        start
    }
}

impl Pool for Servers {
    fn resize_at(&mut self, at_s: f64, servers: usize) {
        Servers::resize_at(self, at_s, servers);
    }

    fn advance(&mut self, now: f64, queue: &mut VecDeque<Waiting>, run: &mut Recorder<'_>) {
        while let Some(&Reverse(Time(free))) = self.free_at.peek() {
            if free > now {
                break;
            }
            let Some(event) = queue.pop_front() else {
                break;
            };
            // Waiting events start the moment a server frees up.
            let start = free.max(event.arrival_s);
            self.free_at.pop();
            self.free_at.push(Reverse(Time(start + event.demand_s)));
            run.start(event.arrival_s, start, queue.len());
            run.finish(event.arrival_s, start + event.demand_s);
        }
    }

    fn try_start(&mut self, event: Waiting, run: &mut Recorder<'_>) -> Option<Waiting> {
        let Reverse(Time(free)) = *self.free_at.peek()?;
        if free > event.arrival_s {
            return Some(event);
        }
        self.free_at.pop();
        self.free_at
            .push(Reverse(Time(event.arrival_s + event.demand_s)));
        run.start(event.arrival_s, event.arrival_s, 0);
        run.finish(event.arrival_s, event.arrival_s + event.demand_s);
        None
    }
}

/// `workers` servers sharing `cores` equally: with n busy, each runs at min(1, cores / n).
/// Work is counted on a virtual clock that advances at that rate, so a job's end on it is
/// fixed when it starts (its start plus its demand) and a min-heap finds the next.
pub(crate) struct SharedCores {
    workers: usize,
    cores: usize,
    /// Virtual-clock ends of the jobs in service, with their arrival times.
    ends: BinaryHeap<Reverse<(Time, Time)>>,
    /// Real and virtual time of the last update.
    now: f64,
    virtual_now: f64,
}

impl SharedCores {
    fn new(workers: usize, cores: usize) -> Self {
        Self::with_busy(workers, cores, &[])
    }

    /// The pool with jobs already in service, each with `remaining_s` of work left (their
    /// arrival before any counted, so their waits are not recorded).
    pub(crate) fn with_busy(workers: usize, cores: usize, remaining_s: &[f64]) -> Self {
        let workers = workers.max(1);
        let ends = remaining_s
            .iter()
            .take(workers)
            .map(|&r| Reverse((Time(r.max(0.0)), Time(f64::NEG_INFINITY))))
            .collect();
        Self {
            workers,
            cores: cores.max(1),
            ends,
            now: 0.0,
            virtual_now: 0.0,
        }
    }

    /// Virtual time passes at this rate per real second.
    fn rate(&self) -> f64 {
        let busy = self.ends.len();
        if busy <= self.cores {
            1.0
        } else {
            self.cores as f64 / busy as f64
        }
    }

    /// The real time the next job ends, if any is in service.
    fn next_end(&self) -> Option<f64> {
        let Reverse((Time(end), _)) = *self.ends.peek()?;
        Some(self.now + (end - self.virtual_now).max(0.0) / self.rate())
    }

    /// A worker takes `event` now.
    fn begin(&mut self, event: Waiting) {
        let end = Time(self.virtual_now + event.demand_s);
        self.ends.push(Reverse((end, Time(event.arrival_s))));
    }

    /// Moves both clocks to `to` (no job ends before it).
    fn move_to(&mut self, to: f64) {
        self.virtual_now += (to - self.now) * self.rate();
        self.now = to;
    }
}

impl Pool for SharedCores {
    fn advance(&mut self, now: f64, queue: &mut VecDeque<Waiting>, run: &mut Recorder<'_>) {
        while let Some(end) = self.next_end().filter(|&end| end <= now) {
            self.move_to(end);
            if let Some(Reverse((_, Time(arrival_s)))) = self.ends.pop() {
                run.finish(arrival_s, end);
            }
            if let Some(event) = queue.pop_front() {
                self.begin(event);
                run.start(event.arrival_s, end, queue.len());
            }
        }
        self.move_to(now.max(self.now));
    }

    fn try_start(&mut self, event: Waiting, run: &mut Recorder<'_>) -> Option<Waiting> {
        if self.ends.len() >= self.workers {
            return Some(event);
        }
        self.begin(event);
        run.start(event.arrival_s, event.arrival_s, 0);
        None
    }
}

/// A time that orders (never NaN here: every time is a sum of finite draws).
#[derive(Debug, Clone, Copy)]
struct Time(f64);

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Time {}

impl PartialOrd for Time {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Time {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// A steady-state estimate from independent replications, with a 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    /// Half-width of the 95% confidence interval (Student's t over the replications).
    pub half_width: f64,
}

impl Estimate {
    pub(crate) fn of(samples: &[f64]) -> Self {
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        if samples.len() < 2 {
            return Self {
                mean,
                half_width: f64::INFINITY,
            };
        }
        let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Self {
            mean,
            half_width: t_975(samples.len() - 1) * (var / n).sqrt(),
        }
    }

    /// Whether `value` lies in the interval widened by `slack` (relative to the mean).
    pub fn covers(&self, value: f64, slack: f64) -> bool {
        (value - self.mean).abs() <= self.half_width + slack * self.mean.abs()
    }
}

/// The steady state under `config`: mean wait, time-average queue length and drop fraction,
/// each from `replications` independent runs of `events` arrivals after a warm-up of a tenth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SteadyState {
    pub mean_wait_s: Estimate,
    pub mean_queue_len: Estimate,
    pub p_drop: Estimate,
    /// Probability that an event served waited first.
    pub p_wait: Estimate,
    /// Queue-wait percentiles of the events served at `exact::WAIT_LEVELS` (p50, p90, p99), s:
    /// each replication's, averaged, with the CI over the replications.
    pub wait_percentiles_s: [Estimate; 3],
    /// Events simulated in all (warm-ups included).
    pub events: u64,
}

pub fn steady_state(
    config: &TwinConfig,
    seed: u64,
    replications: usize,
    events: u64,
) -> SteadyState {
    let warmup = events / 10;
    let runs: Vec<TwinRun> = (0..replications.max(2) as u64)
        .map(|r| simulate(config, seed_of_replication(seed, r), warmup, events))
        .collect();
    let of = |f: fn(&TwinRun) -> f64| Estimate::of(&runs.iter().map(f).collect::<Vec<_>>());
    SteadyState {
        mean_wait_s: of(TwinRun::mean_wait_s),
        mean_queue_len: of(TwinRun::mean_queue_len),
        p_drop: of(TwinRun::p_drop),
        p_wait: of(TwinRun::p_wait),
        wait_percentiles_s: crate::model::exact::WAIT_LEVELS.map(|q| {
            Estimate::of(
                &runs
                    .iter()
                    .map(|r| r.wait_quantile_s(q))
                    .collect::<Vec<_>>(),
            )
        }),
        events: runs.len() as u64 * (warmup + events),
    }
}

/// The seed of replication `r` of a run seeded `seed`: independent streams for each.
pub(crate) fn seed_of_replication(seed: u64, r: u64) -> u64 {
    seed.wrapping_add(r.wrapping_mul(0x5851_F42D))
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (table, then the normal).
fn t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    TABLE.get(df.wrapping_sub(1)).copied().unwrap_or(1.960)
}
