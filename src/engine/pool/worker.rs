//! One worker's loop: take an event (waiting off the queue when idle, see `doorbell`), do its
//! work, report the start and the finish in batches.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flume::{RecvTimeoutError, Sender, TryRecvError};

use super::Pool;
use super::doorbell::DoorbellWatch;
use crate::engine::InjectFault;
use crate::engine::ack::Settled;
use crate::engine::event::{Event, Report};
use crate::engine::shared::Shared;
use crate::engine::stats::{INJECTED_PANIC_AFTER, Msg};
use crate::engine::work::{self, Job, PlanCache};

/// An idle worker wakes this often to see whether it should retire or stop.
const IDLE_POLL: Duration = Duration::from_millis(100);
/// How long an idle worker busy-waits for the next event before it blocks (if a core is free).
const IDLE_SPIN: Duration = Duration::from_micros(50);
/// An idle worker wakes this long before the next event is due and waits for it spinning, so
/// its queue wait does not include a thread wake-up (20-30 µs here).
const DOORBELL_LEAD: Duration = Duration::from_micros(200);
/// ...and gives up spinning this long after the due time if the event has not come.
const DOORBELL_GRACE: Duration = Duration::from_micros(100);
/// Reports are sent in batches of at most this many...
const BATCH: usize = 256;
/// ...or after this long, so the aggregator (and the monitor) are never more than a tick behind.
const FLUSH_EVERY: Duration = Duration::from_millis(5);
/// Work shorter than this (wall) is reported once, as `Done`, instead of `Started` then `Finished`.
const COALESCE_BELOW: Duration = Duration::from_micros(100);

impl Pool {
    pub(super) fn run_worker(&self, id: usize, warmup_ns: u64) {
        let worker = id as u32;
        let clock = self.shared.clock;
        let mut outbox = Outbox::new(&self.reports);
        outbox.push(Report::WorkerUp {
            worker,
            at_ns: clock.now_ns(),
        });
        outbox.flush();
        if !self.warm_up(id, warmup_ns, &mut outbox) {
            return;
        }
        let mut plans = PlanCache::new(&self.shared.plan);
        let started = Instant::now();
        // Whether this worker has just finished an event (the next may come within microseconds).
        let mut just_worked = false;
        loop {
            if self.should_leave(id, &mut outbox) {
                break;
            }
            if self.inject_panic && id == 1 && started.elapsed() >= INJECTED_PANIC_AFTER {
                panic!("injected panic in worker 1's loop (BACKLOG_TEST_PANIC=worker)");
            }
            let event = match self.queue.try_recv() {
                Ok(event) => event,
                Err(TryRecvError::Empty) => {
                    match self.next_event_or_timeout(id, &outbox, just_worked) {
                        Ok(event) => event,
                        Err(RecvTimeoutError::Timeout) => {
                            just_worked = false;
                            outbox.flush_if_due();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => {
                            self.leave(id, &mut outbox);
                            break;
                        }
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    self.leave(id, &mut outbox);
                    break;
                }
            };
            // The event starts when it leaves the queue; what the worker does next (making room,
            // calling for help, reporting) is its own overhead, part of the service time.
            let plan = plans.current(&self.shared.plan);
            let job = take(&self.shared, id, &event, plan);
            outbox.took();
            self.shared.made_room();
            self.call_help();
            self.work_on(worker, &job, plan, &mut outbox);
            just_worked = true;
        }
        // If this was the watcher, another idle worker must take over.
        self.call_help();
    }

    /// A new worker's warm-up (`Shared::warmup_ns` when it was started): it takes no events
    /// for that much model time, but leaves at once if the pool shrinks or stops meanwhile.
    /// False if it left.
    fn warm_up(&self, id: usize, warmup_ns: u64, outbox: &mut Outbox<'_>) -> bool {
        if warmup_ns == 0 {
            return true;
        }
        let clock = self.shared.clock;
        let until = clock.instant_at(clock.now_ns().saturating_add(warmup_ns));
        loop {
            if self.should_leave(id, outbox) {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(IDLE_POLL));
        }
    }

    /// Does the job and reports it, unless a test-only fault says otherwise.
    fn work_on(&self, worker: u32, job: &Job<'_>, plan: &work::Plan, outbox: &mut Outbox<'_>) {
        match self.injected_fault(job.event.id) {
            None => self.process(worker, job, plan, outbox),
            // Test only: the event is taken and never reported, or reported twice.
            Some(InjectFault::LoseOneIn(_)) => {}
            Some(InjectFault::StartTwiceOneIn(_)) => {
                self.process(worker, job, plan, outbox);
                self.process(worker, job, plan, outbox);
            }
        }
    }

    /// Test only: the fault to inject for this event, if any (see `InjectFault`).
    fn injected_fault(&self, id: u64) -> Option<InjectFault> {
        self.inject_fault.filter(|fault| id % fault.one_in() == 0)
    }

    /// Waits for the next event. A worker that blocks needs a thread wake-up (tens of µs, all of
    /// it queue wait) when the event comes, so one idle worker, the doorbell's watcher, waits on
    /// the queue and busy-waits (while a core is free for it) whenever an event is likely soon;
    /// the other idle workers park on the bench until the reports are due, the idle poll, or a
    /// call for help.
    fn next_event_or_timeout(
        &self,
        id: usize,
        outbox: &Outbox<'_>,
        just_worked: bool,
    ) -> Result<Event, RecvTimeoutError> {
        let timeout = outbox.idle_wait();
        if let Some(_watch) = DoorbellWatch::take(&self.shared) {
            return self.watch(timeout, just_worked);
        }
        let shared = &self.shared;
        shared.bench.park(timeout, || {
            // Asked while counted as parked: if the watcher stops watching after this, it sees
            // this worker parked and calls for help.
            shared.doorbell_watched.load(Ordering::SeqCst)
                && self.queue.is_empty()
                && !self.queue.is_disconnected()
                && !shared.stop.load(Ordering::Relaxed)
                && id <= shared.target_workers.load(Ordering::SeqCst)
        });
        match self.queue.try_recv() {
            Ok(event) => Ok(event),
            Err(TryRecvError::Empty) => Err(RecvTimeoutError::Timeout),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
        }
    }

    /// The watcher's wait. It busy-waits just after finishing an event (at high rates the next
    /// comes within microseconds) and from shortly before the source's next due time until a
    /// little after it; otherwise it blocks on the queue until then.
    fn watch(&self, timeout: Duration, just_worked: bool) -> Result<Event, RecvTimeoutError> {
        let now = Instant::now();
        let mut spin_until = just_worked.then(|| now + IDLE_SPIN);
        let mut block = timeout;
        if let Some(due) = self.next_due() {
            if due > now + DOORBELL_LEAD {
                block = block.min(due - DOORBELL_LEAD - now);
            } else if now < due + DOORBELL_GRACE {
                spin_until = spin_until.max(Some(due + DOORBELL_GRACE));
            }
        }
        if let Some(until) = spin_until {
            if let Some(_permit) = work::SpinPermit::take_idle() {
                // Nothing yet: back to the loop, which comes back here with a fresh due time.
                return self.spin_for_event(until)?.ok_or(RecvTimeoutError::Timeout);
            }
        }
        self.queue.recv_timeout(block)
    }

    /// After taking an event (or leaving): wakes parked workers for the events still queued, and
    /// one to watch the doorbell if no one does.
    fn call_help(&self) {
        let bench = &self.shared.bench;
        if !bench.is_occupied() {
            return;
        }
        let unwatched = !self.shared.doorbell_watched.load(Ordering::SeqCst);
        bench.wake(self.queue.len() + usize::from(unwatched));
    }

    /// Busy-waits (yielding) for an event until `deadline`.
    fn spin_for_event(&self, deadline: Instant) -> Result<Option<Event>, RecvTimeoutError> {
        while Instant::now() < deadline {
            match self.queue.try_recv() {
                Ok(event) => return Ok(Some(event)),
                Err(TryRecvError::Empty) => std::thread::yield_now(),
                Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
            }
        }
        Ok(None)
    }

    /// When the source's next event is due, if one is scheduled.
    fn next_due(&self) -> Option<Instant> {
        let due_ns = self.shared.next_due_ns.load(Ordering::Relaxed);
        (due_ns != u64::MAX).then(|| self.shared.clock.instant_at(due_ns))
    }

    fn process(&self, worker: u32, job: &Job<'_>, plan: &work::Plan, outbox: &mut Outbox<'_>) {
        let clock = self.shared.clock;
        let event = job.event.meta();
        let start_ns = clock.ns_at(job.start.wall());
        let coalesce = job.wall < COALESCE_BELOW;
        if !coalesce {
            // Long work: the monitor should see it start now, not when the batch fills.
            outbox.push(Report::Started {
                worker,
                event,
                at_ns: start_ns,
            });
            outbox.flush();
        }
        let Ok(outcome) = plan.run(job, &self.shared.stop) else {
            // Abandoned on stop: the event stays in flight in the final report.
            if coalesce {
                outbox.push(Report::Started {
                    worker,
                    event,
                    at_ns: start_ns,
                });
            }
            return;
        };
        let finish_ns = clock.now_ns();
        self.shared.settle(Settled::Finished(event.id));
        outbox.push(if coalesce {
            Report::Done {
                worker,
                event,
                start_ns,
                finish_ns,
                outcome,
            }
        } else {
            Report::Finished {
                worker,
                id: event.id,
                at_ns: finish_ns,
                outcome,
            }
        });
        outbox.flush_if_due();
    }
}

/// An event as it leaves the queue: its demand on the wall clock, and when its work began (read
/// on the CPU clock too for cpu work). The event starts when it leaves the queue; what the worker
/// does next (making room, calling for help, reporting) is its own overhead, part of the service.
/// Cpu work gets worker `id`'s meter, reset before the start is reported.
fn take<'a>(shared: &'a Shared, id: usize, event: &'a Event, plan: &work::Plan) -> Job<'a> {
    shared.dequeued(event);
    let wall = shared.clock.wall(event.demand_ns().unwrap_or(0));
    let with_cpu = plan.work.uses_cpu_clock() && !wall.is_zero();
    let cpu_meter = with_cpu.then(|| &shared.cpu_meters[id - 1]);
    if let Some(meter) = cpu_meter {
        meter.begin(event.id);
    }
    Job {
        event,
        wall,
        start: work::Start::now(with_cpu),
        cpu_meter,
    }
}

/// A worker's reports on their way to the aggregator: sent in batches, so the aggregator is woken
/// at most every `FLUSH_EVERY` per worker (or per `BATCH` reports) instead of once per event.
pub(super) struct Outbox<'a> {
    reports: &'a Sender<Msg>,
    batch: Vec<Report>,
    /// Events taken from the queue since the last flush: counted apart from the reports, so
    /// the aggregator can tell a lost or doubled event from a delayed one.
    taken: u64,
    last_flush: Instant,
}

impl<'a> Outbox<'a> {
    pub(super) fn new(reports: &'a Sender<Msg>) -> Self {
        Self {
            reports,
            batch: Vec::with_capacity(BATCH),
            taken: 0,
            last_flush: Instant::now(),
        }
    }

    /// This worker took an event from the queue.
    fn took(&mut self) {
        self.taken += 1;
    }

    fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.taken == 0
    }

    pub(super) fn push(&mut self, report: Report) {
        self.batch.push(report);
    }

    pub(super) fn flush(&mut self) {
        self.last_flush = Instant::now();
        if !self.is_empty() {
            let reports = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            let taken = std::mem::take(&mut self.taken);
            // The aggregator outlives the pool; if it is gone the run is over anyway.
            let _ = self.reports.send(Msg::Reports { taken, reports });
        }
    }

    /// Flushes when the batch is full or has waited `FLUSH_EVERY`.
    fn flush_if_due(&mut self) {
        if self.batch.len() >= BATCH
            || (!self.is_empty() && self.last_flush.elapsed() >= FLUSH_EVERY)
        {
            self.flush();
        }
    }

    /// How long an idle worker may block for the next event before its reports are due.
    fn idle_wait(&self) -> Duration {
        if self.is_empty() {
            IDLE_POLL
        } else {
            FLUSH_EVERY
                .saturating_sub(self.last_flush.elapsed())
                .max(Duration::from_micros(100))
        }
    }
}
