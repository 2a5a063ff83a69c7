//! Admission to the queue: every source's events enter here, and a full bounded queue applies
//! its overflow policy (the source waits, the new event is dropped, or the oldest is evicted).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use flume::{Receiver, Sender};

use super::event::{DropReason, Event, Trace};
use super::settings::Overflow;
use super::shared::Shared;

/// A source waiting for room in a full queue re-checks at least this often.
const ROOM_POLL: Duration = Duration::from_millis(5);

/// The queue's entrance, owned by the source.
pub(crate) struct Admission {
    shared: Arc<Shared>,
    queue: Sender<Event>,
    /// For drop-old: the source takes the oldest event out itself.
    evict: Receiver<Event>,
    trace: Option<Sender<Trace>>,
    /// Known free places in a bounded queue (only the source adds, so it can only grow)...
    room: usize,
    /// ...under this cap: a new cap (or none) voids it.
    room_cap: Option<usize>,
    /// Model time the source last got room after waiting for it: events due before then were
    /// held up by the full queue, even those that later use the room found then.
    unblocked_ns: u64,
}

impl Admission {
    pub fn new(
        shared: Arc<Shared>,
        queue: Sender<Event>,
        evict: Receiver<Event>,
        trace: Option<Sender<Trace>>,
    ) -> Self {
        Self {
            shared,
            queue,
            evict,
            trace,
            room: 0,
            room_cap: None,
            unblocked_ns: 0,
        }
    }

    /// Puts one event in the queue, applying a bounded queue's overflow policy.
    pub async fn offer(&mut self, event: Event, cap: Option<usize>, overflow: Overflow) {
        self.shared.generated.fetch_add(1, Ordering::AcqRel);
        if self.room_cap != cap {
            self.room = 0;
            self.room_cap = cap;
        }
        if let Some(cap) = cap {
            if self.room == 0 {
                self.room = cap.saturating_sub(self.queue.len());
            }
            if self.room == 0 {
                match overflow {
                    Overflow::DropNew => {
                        let held_ns = self.held_ns(&event);
                        self.submitted(&event, held_ns);
                        let at_ns = event.arrival_ns + held_ns;
                        self.drop_event(event.id, at_ns, DropReason::QueueFull);
                        return;
                    }
                    Overflow::DropOld => {
                        if let Ok(old) = self.evict.try_recv() {
                            let at_ns = event.arrival_ns + self.held_ns(&event);
                            self.drop_event(old.id, at_ns, DropReason::Evicted);
                        }
                    }
                    Overflow::Block => {
                        self.room = self.wait_for_room(cap).await;
                        self.unblocked_ns = self.shared.clock.now_ns();
                    }
                }
            }
            self.room = self.room.saturating_sub(1);
        }
        self.submitted(&event, self.held_ns(&event));
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
    fn held_ns(&self, event: &Event) -> u64 {
        if event.arrival_ns < self.unblocked_ns {
            self.shared.clock.now_ns().saturating_sub(event.arrival_ns)
        } else {
            0
        }
    }

    /// Traces an event entering the queue: at its arrival, or later if it waited for room.
    fn submitted(&self, event: &Event, blocked_ns: u64) {
        if let Some(trace) = &self.trace {
            let _ = trace.send(Trace::Submitted {
                id: event.id,
                at_ns: event.arrival_ns + blocked_ns,
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
