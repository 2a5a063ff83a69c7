//! Admission to the queue: every source's events enter here, and a full bounded queue applies
//! its overflow policy (the event is held at the source, the new event is dropped, or the
//! oldest is evicted).
//!
//! `block` holds events at the source: an event that arrives while the queue is full has
//! arrived (it counts as generated, at its arrival time) and waits, in order, for room. The
//! policy in force applies to held events each time the source lets events in, so a switch to
//! `drop-new` drops them, `drop-old` lets them in by evicting the oldest, and a larger cap (or
//! none) lets them in at once. A pause stops new arrivals only; the end of the source's own
//! events (`--events`) waits for the held ones; an end (`e`, `--duration`, a scenario's end)
//! stops at once and drops the held events, counted with the reason `source ended`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use flume::{Receiver, Sender};

use super::ack::Settled;
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
    /// Events that arrived while a `block` queue was full, oldest first.
    held: VecDeque<Event>,
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
            held: VecDeque::new(),
        }
    }

    /// An event arrives: it enters the queue, is held at the source (`block`, full queue, or
    /// older events still held), or is dropped by the overflow policy.
    pub fn offer(&mut self, event: Event, cap: Option<usize>, overflow: Overflow) {
        self.arrived(event.arrival_ns);
        if !self.held.is_empty() {
            self.hold(event);
            self.admit_held(cap, overflow);
        } else if let Err(event) = self.admit(event, false, cap, overflow) {
            self.hold(event);
        }
    }

    /// An event arrives while others are held, and the source keeps it itself (the generator
    /// draws it again when its turn comes): counted as arrived and held, like [`Self::offer`]
    /// would, without being kept here. It comes back through [`Self::offer_held`].
    pub fn arrive_held(&mut self, arrival_ns: u64) {
        self.arrived(arrival_ns);
        self.shared.held.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts an arrival, at its scheduled time.
    fn arrived(&self, arrival_ns: u64) {
        self.shared.arrivals.arrived(arrival_ns);
        self.shared.generated.fetch_add(1, Ordering::AcqRel);
    }

    /// A held event the source kept itself, in its turn: let in by the policy in force, or
    /// kept here, first in line, if it must still wait.
    pub fn offer_held(&mut self, event: Event, cap: Option<usize>, overflow: Overflow) {
        debug_assert!(self.held.is_empty(), "held events enter oldest first");
        match self.admit(event, true, cap, overflow) {
            Ok(()) => {
                self.shared.held.fetch_sub(1, Ordering::AcqRel);
            }
            Err(event) => self.held.push_back(event),
        }
    }

    /// A held event the source kept itself never enters: the source ended at once.
    pub fn abandon(&mut self, event: &Event) {
        self.abandon_at(event, self.shared.clock.now_ns());
    }

    fn abandon_at(&mut self, event: &Event, at_ns: u64) {
        self.drop_event(event, at_ns, DropReason::SourceEnded);
        self.shared.held.fetch_sub(1, Ordering::AcqRel);
    }

    /// Events in the queue now (not those held at the source).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Whether events are held at the source, waiting for room.
    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Lets held events in, oldest first, by the policy in force now; stops at the first that
    /// must still wait.
    pub fn admit_held(&mut self, cap: Option<usize>, overflow: Overflow) {
        while let Some(event) = self.held.pop_front() {
            if let Err(event) = self.admit(event, true, cap, overflow) {
                self.held.push_front(event);
                break;
            }
            self.shared.held.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The source ends at once: the events still held never enter, and are counted as dropped.
    pub fn abandon_held(&mut self) {
        let at_ns = self.shared.clock.now_ns();
        while let Some(event) = self.held.pop_front() {
            self.abandon_at(&event, at_ns);
        }
    }

    /// Waits until a held event may have room (a worker took an event, or `ROOM_POLL`), or
    /// the engine stops. Returns at once if there is room under `cap` already.
    pub async fn room(&self, cap: Option<usize>) {
        self.shared.source_blocked.store(true, Ordering::Release);
        if cap.is_none_or(|cap| self.queue.len() < cap) || self.shared.stop.load(Ordering::Relaxed)
        {
            return;
        }
        tokio::select! {
            () = self.shared.room.notified() => {}
            () = tokio::time::sleep(ROOM_POLL) => {}
        }
    }

    fn hold(&mut self, event: Event) {
        self.shared.held.fetch_add(1, Ordering::AcqRel);
        self.held.push_back(event);
    }

    /// Puts one event in the queue, applying a bounded queue's overflow policy; gives the event
    /// back if it must wait for room (`block`). `held`: it has waited at the source.
    fn admit(
        &mut self,
        event: Event,
        held: bool,
        cap: Option<usize>,
        overflow: Overflow,
    ) -> Result<(), Event> {
        if self.room_cap != cap {
            self.room = 0;
            self.room_cap = cap;
        }
        let held_ns = if held {
            self.shared.clock.now_ns().saturating_sub(event.arrival_ns)
        } else {
            0
        };
        if let Some(cap) = cap {
            if self.room == 0 {
                self.room = cap.saturating_sub(self.queue.len());
            }
            if self.room == 0 {
                match overflow {
                    Overflow::DropNew => {
                        self.submitted(&event, held_ns);
                        let at_ns = event.arrival_ns + held_ns;
                        self.drop_event(&event, at_ns, DropReason::QueueFull);
                        return Ok(());
                    }
                    Overflow::DropOld => {
                        if let Ok(old) = self.evict.try_recv() {
                            self.shared.dequeued(&old);
                            let at_ns = event.arrival_ns + held_ns;
                            self.drop_event(&old, at_ns, DropReason::Evicted);
                        }
                    }
                    Overflow::Block => return Err(event),
                }
            }
            self.room = self.room.saturating_sub(1);
        }
        self.submitted(&event, held_ns);
        self.shared.enqueued(&event);
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
        Ok(())
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

    fn drop_event(&self, event: &Event, at_ns: u64, reason: DropReason) {
        let id = event.id;
        self.shared.settle(Settled::Dropped(id));
        self.shared.arrivals.dropped(event.arrival_ns, at_ns);
        self.shared.dropped.fetch_add(1, Ordering::AcqRel);
        if let Some(trace) = &self.trace {
            let _ = trace.send(Trace::Dropped { id, at_ns, reason });
        }
    }
}
