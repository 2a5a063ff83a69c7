//! The workers: loops on a rayon pool that take events from the queue, do the work and report.
//!
//! rayon pools cannot be resized, so the pool owns a list of rayon pools, each with exactly the
//! threads for a range of worker ids, added when the count first grows past what exists (starting
//! all `max_workers` threads up front would cost 256 thread starts and their scheduling noise).
//! Loops follow a target count: growing claims free slots and spawns loops; shrinking lets loops
//! with an id above the target retire after their current event. A slot is claimed by compare-and-swap, so a worker
//! id never runs twice and an event is only ever taken by one loop.
//!
//! Idle workers: one, the doorbell's watcher, waits on the queue, blocking until shortly before
//! the source's next due time and then spinning for that event, so it starts without a thread
//! wake-up; the others park on the bench (`Shared::bench`), off the queue, because flume would
//! hand an event to a worker blocked on it rather than to the one spinning for it. Whoever
//! takes an event wakes parked workers for the events still queued and, if it was the watcher,
//! one to take over the watch.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use flume::{Receiver, Sender};

mod doorbell;
mod worker;

pub(crate) use doorbell::Bench;

use super::InjectFault;
use super::error::EngineError;
use super::event::{Event, Report};
use super::shared::Shared;
use super::stats::Msg;
use super::work;
use worker::Outbox;

pub(crate) struct Pool {
    /// (last worker id served, the rayon pool with threads for ids after the previous range).
    threads: Mutex<Vec<(usize, rayon::ThreadPool)>>,
    /// `true` while a loop runs with that id (index = id - 1).
    slots: Box<[AtomicBool]>,
    queue: Receiver<Event>,
    reports: Sender<Msg>,
    shared: Arc<Shared>,
    /// Test only: worker 1's loop panics half a second in (see `InjectPanic`).
    inject_panic: bool,
    /// Test only: events lost or started twice (see `InjectFault`).
    inject_fault: Option<InjectFault>,
}

impl Pool {
    pub fn new(
        max_workers: usize,
        queue: Receiver<Event>,
        reports: Sender<Msg>,
        shared: Arc<Shared>,
        inject_panic: bool,
        inject_fault: Option<InjectFault>,
    ) -> Arc<Self> {
        let slots = (0..max_workers).map(|_| AtomicBool::new(false)).collect();
        Arc::new(Self {
            threads: Mutex::new(Vec::new()),
            slots,
            queue,
            reports,
            shared,
            inject_panic,
            inject_fault,
        })
    }

    /// Makes sure rayon threads exist for worker ids up to `id`; each new range at least doubles
    /// what exists, so growing one worker at a time builds few pools.
    fn ensure_threads(
        &self,
        threads: &mut Vec<(usize, rayon::ThreadPool)>,
        id: usize,
    ) -> Result<(), EngineError> {
        let covered = threads.last().map_or(0, |(last, _)| *last);
        if id <= covered {
            return Ok(());
        }
        let last = id.max(covered * 2).min(self.slots.len());
        let first = covered + 1;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(last - covered)
            .thread_name(move |i| format!("backlog-worker-{}", first + i))
            .start_handler(|_| work::tighten_timer_slack())
            .build()
            .map_err(|e| EngineError::Thread {
                what: "worker threads",
                source: std::io::Error::other(e),
            })?;
        threads.push((last, pool));
        Ok(())
    }

    /// Sets the target worker count and starts loops for free slots up to it.
    pub fn resize(self: &Arc<Self>, target: usize) -> Result<(), EngineError> {
        let target = target.clamp(1, self.slots.len());
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        self.ensure_threads(&mut threads, target)?;
        let before = self.shared.target_workers.swap(target, Ordering::SeqCst);
        if target < before {
            // Parked workers above the new target should leave now, not at their next poll.
            self.shared.bench.wake_all();
        }
        // Read here, on the caller's thread: workers started before `set_warmup` (the
        // engine's first ones) do not warm up, however late their thread starts.
        let warmup_ns = self.shared.warmup_ns.load(Ordering::Relaxed);
        for id in 1..=target {
            if self.claim(id) {
                let pool = Arc::clone(self);
                let range = threads.partition_point(|(last, _)| *last < id);
                // A panic here is a bug in the loop (the work's own panics are caught in
                // `work`): without this the rayon thread would abort the process, leaving the
                // terminal raw; instead the engine stops and reports the fault.
                threads[range].1.spawn(move || {
                    if let Err(panic) =
                        catch_unwind(AssertUnwindSafe(|| pool.run_worker(id, warmup_ns)))
                    {
                        pool.shared.fail(&format!("worker {id}"), panic.as_ref());
                        // Gone: the stop need not wait for it.
                        let down = Report::WorkerDown {
                            worker: id as u32,
                            at_ns: pool.shared.clock.now_ns(),
                        };
                        let reports = vec![down];
                        let _ = pool.reports.send(Msg::Reports { taken: 0, reports });
                    }
                });
            }
        }
        Ok(())
    }

    fn claim(&self, id: usize) -> bool {
        self.slots[id - 1]
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Reports this worker gone, then frees its id. In that order: a loop started for the id
    /// once it is free must not have its "up" overtaken by this loop's "down".
    fn leave(&self, id: usize, outbox: &mut Outbox<'_>) {
        outbox.push(Report::WorkerDown {
            worker: id as u32,
            at_ns: self.shared.clock.now_ns(),
        });
        outbox.flush();
        self.slots[id - 1].store(false, Ordering::SeqCst);
    }

    /// True if the worker has left (see `leave`): the engine stopped, or the id is above the
    /// target, unless the target grew back meanwhile.
    fn should_leave(&self, id: usize, outbox: &mut Outbox<'_>) -> bool {
        if self.shared.stop.load(Ordering::Relaxed) {
            self.leave(id, outbox);
            return true;
        }
        if id <= self.shared.target_workers.load(Ordering::SeqCst) {
            return false;
        }
        self.leave(id, outbox);
        // A resize that raised the target again may have seen the slot still taken and spawned
        // nothing: take the slot back and go on, unless another loop already claimed it.
        if id <= self.shared.target_workers.load(Ordering::SeqCst) && self.claim(id) {
            outbox.push(Report::WorkerUp {
                worker: id as u32,
                at_ns: self.shared.clock.now_ns(),
            });
            outbox.flush();
            return false;
        }
        true
    }
}
