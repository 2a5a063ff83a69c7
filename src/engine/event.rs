//! What flows through the engine: events in the queue, reports from the workers, trace records for logs.

use serde::Serialize;

use super::work::Outcome;

/// An event's payload: the bytes a real source delivered (a line, a message). Data, never code.
pub type Payload = Box<[u8]>;

/// One event in the queue. Times are model ns since the run began.
///
/// 32 bytes, so a million queued events take 32 MB: the demand is kept as a number with one
/// value meaning "unknown", and a payload (rare: real sources only) sits behind a thin pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: u64,
    /// Scheduled arrival: latency counts from here, even if the source ran late.
    pub arrival_ns: u64,
    /// Service demand, model ns, or `UNKNOWN_DEMAND`; see `demand_ns`.
    demand_ns: u64,
    payload: Option<Box<Payload>>,
}

/// The stored demand of an event whose source does not know it.
const UNKNOWN_DEMAND: u64 = u64::MAX;

impl Event {
    /// An event with no known demand and no payload.
    pub fn new(id: u64, arrival_ns: u64) -> Self {
        Self {
            id,
            arrival_ns,
            demand_ns: UNKNOWN_DEMAND,
            payload: None,
        }
    }

    /// The same event with a known demand (model ns; at most about 584 years).
    pub fn with_demand(self, demand_ns: u64) -> Self {
        Self {
            demand_ns: demand_ns.min(UNKNOWN_DEMAND - 1),
            ..self
        }
    }

    /// The same event carrying `bytes`.
    pub fn with_payload(self, bytes: impl Into<Payload>) -> Self {
        Self {
            payload: Some(Box::new(bytes.into())),
            ..self
        }
    }

    /// Service demand, model ns, where the source knows it (the generator draws it).
    pub fn demand_ns(&self) -> Option<u64> {
        (self.demand_ns != UNKNOWN_DEMAND).then_some(self.demand_ns)
    }

    /// The bytes the source delivered, if any.
    pub fn payload(&self) -> Option<&[u8]> {
        self.payload.as_deref().map(|bytes| &**bytes)
    }

    /// What the statistics need to know of it.
    pub fn meta(&self) -> EventMeta {
        EventMeta {
            id: self.id,
            arrival_ns: self.arrival_ns,
            demand_ns: self.demand_ns().unwrap_or(0),
        }
    }
}

/// An event as the statistics see it: no payload, a demand (0 where unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMeta {
    pub id: u64,
    pub arrival_ns: u64,
    pub demand_ns: u64,
}

/// What workers tell the aggregator. Sent in batches (`Vec<Report>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    WorkerUp {
        worker: u32,
        at_ns: u64,
    },
    WorkerDown {
        worker: u32,
        at_ns: u64,
    },
    Started {
        worker: u32,
        event: EventMeta,
        at_ns: u64,
    },
    Finished {
        worker: u32,
        id: u64,
        at_ns: u64,
        outcome: Outcome,
    },
    /// A short event started and finished before the worker flushed its reports: both in one.
    Done {
        worker: u32,
        event: EventMeta,
        start_ns: u64,
        finish_ns: u64,
        outcome: Outcome,
    },
}

/// Why the source dropped an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// `drop-new`: the queue was full when it arrived.
    QueueFull,
    /// `drop-old`: it was the oldest in a full queue when a new one arrived.
    Evicted,
    /// `block`: it was held at the source, waiting for room, when the source was ended.
    SourceEnded,
}

/// One happening, for logs (only produced when tracing is on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trace {
    /// Entered the queue at `at_ns`; `blocked_ns` is how long it waited for room in a full
    /// `block` queue after its arrival (0 normally).
    Submitted {
        id: u64,
        at_ns: u64,
        blocked_ns: u64,
    },
    Dropped {
        id: u64,
        at_ns: u64,
        reason: DropReason,
    },
    /// `demand_ns` is the event's service demand as the source drew it (0 where unknown), so a
    /// trace shows what each event asked of its worker.
    Started {
        worker: u32,
        id: u64,
        at_ns: u64,
        demand_ns: u64,
    },
    Finished {
        worker: u32,
        id: u64,
        at_ns: u64,
        outcome: Outcome,
    },
    WorkerUp {
        worker: u32,
        at_ns: u64,
    },
    WorkerDown {
        worker: u32,
        at_ns: u64,
    },
    SourceEnded {
        at_ns: u64,
    },
}

impl Trace {
    pub fn at_ns(&self) -> u64 {
        match *self {
            Trace::Submitted { at_ns, .. }
            | Trace::Dropped { at_ns, .. }
            | Trace::Started { at_ns, .. }
            | Trace::Finished { at_ns, .. }
            | Trace::WorkerUp { at_ns, .. }
            | Trace::WorkerDown { at_ns, .. }
            | Trace::SourceEnded { at_ns } => at_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_32_bytes_whatever_it_carries() {
        // The memory goal (a million queued events in 32 MB) depends on it.
        assert_eq!(std::mem::size_of::<Event>(), 32);
    }

    #[test]
    fn demand_and_payload_read_back_as_given() {
        let bare = Event::new(7, 100);
        assert_eq!((bare.demand_ns(), bare.payload()), (None, None));
        assert_eq!(bare.meta().demand_ns, 0);
        let full = Event::new(7, 100)
            .with_demand(0)
            .with_payload(b"line".to_vec());
        assert_eq!(full.demand_ns(), Some(0));
        assert_eq!(full.payload(), Some(&b"line"[..]));
        // The one value kept for "unknown" is never a known demand.
        assert_eq!(
            Event::new(1, 0).with_demand(u64::MAX).demand_ns(),
            Some(u64::MAX - 1)
        );
    }
}
