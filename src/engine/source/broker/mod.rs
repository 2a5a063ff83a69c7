//! Sources that read a real broker: an MQTT v5 subscription (`mqtt.rs`) or a Redis stream's
//! consumer group (`redis.rs`). What they share lives here: the address and options
//! ([`BrokerSource`]), the counters the snapshot shows ([`BrokerCounters`]), and the [`Inbox`]
//! that turns a message into an event (its payload decoded, its duplicate counted, its broker
//! token kept until the event is settled, see `engine::ack`).
//!
//! Delivery is at least once: a message is acked only when its event's work has finished (or
//! the event was dropped, or its payload was malformed), so whatever the broker had when an
//! instance died is delivered again, to it or to another member of the group.

pub mod mqtt;
pub mod payload;
pub mod redis;
pub mod tls;
pub mod url;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;

use super::SourceIo;
use super::generator::{SERVICE_STREAM, sample_demand_ns, stream_rng};
use crate::engine::ack::Pending;
use crate::engine::event::Event;
use crate::engine::settings::Settings;
use crate::engine::snapshot::{BrokerView, SourceType};
use payload::Message;
pub use url::{BrokerUrl, Protocol};

/// How long connecting may take before it counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Waits between attempts to reconnect grow from the first to the last.
pub const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));
/// Malformed payloads kept for the log and the JSON.
const REJECTED_KEPT: usize = 3;

/// Everything `--source mqtt://...` or `redis://...` and its options say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerOptions {
    /// `--share GROUP` (MQTT: `$share/GROUP/TOPIC`) or `--group GROUP` (Redis).
    pub group: Option<String>,
    /// `--client-id` (MQTT) or `--consumer` (Redis); derived when not given.
    pub consumer: Option<String>,
    /// Redis: take over entries another consumer left pending longer than this.
    pub claim_after: Duration,
    /// End the source when no message has come for this long.
    pub idle_end: Option<Duration>,
}

impl Default for BrokerOptions {
    fn default() -> Self {
        Self {
            group: None,
            consumer: None,
            claim_after: Duration::from_secs(30),
            idle_end: None,
        }
    }
}

/// A broker source as configured, and its live counters.
#[derive(Debug)]
pub struct BrokerSource {
    pub url: BrokerUrl,
    pub options: BrokerOptions,
    pub counters: Arc<BrokerCounters>,
}

impl PartialEq for BrokerSource {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url && self.options == other.options
    }
}

impl BrokerSource {
    pub fn new(url: BrokerUrl, options: BrokerOptions) -> Self {
        Self {
            url,
            options,
            counters: Arc::default(),
        }
    }

    pub fn kind(&self) -> SourceType {
        match self.url.protocol {
            Protocol::Mqtt => SourceType::Mqtt,
            Protocol::Redis => SourceType::Redis,
        }
    }

    /// The group, as the broker names it.
    pub fn group_label(&self) -> Option<String> {
        let group = self.options.group.as_ref()?;
        Some(match self.url.protocol {
            Protocol::Mqtt => format!("$share/{group}/{}", self.url.name),
            Protocol::Redis => group.clone(),
        })
    }

    /// The MQTT client id or Redis consumer name: given, or this host and process (two
    /// instances on one machine must never share one).
    pub fn consumer(&self) -> String {
        self.options.consumer.clone().unwrap_or_else(|| {
            let group = self.options.group.as_deref().unwrap_or("solo");
            format!("backlog-{group}-{}-{}", host_name(), std::process::id())
        })
    }

    /// Whether the broker answers at all, within `timeout`: checked before a headless run, so an
    /// address that is wrong is bad input, not a run that waits forever.
    pub fn probe(&self, timeout: Duration) -> Result<(), String> {
        use std::net::{TcpStream, ToSocketAddrs};
        let address = self.url.address();
        let what = format!("{} broker at {address}", self.url.protocol.name());
        let addrs: Vec<_> = address
            .to_socket_addrs()
            .map_err(|e| format!("--source: cannot resolve the {what}: {e}"))?
            .collect();
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(stream) if self.url.tls => {
                    return tls::handshake(stream, &self.url.host, &self.url.trust, timeout)
                        .map_err(|e| format!("--source: the {what}: {e}"));
                }
                Ok(_) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(format!(
            "--source: cannot reach the {what}: {} (waited up to {}s); is it running?",
            last.map_or_else(|| "no address".to_string(), |e| e.to_string()),
            timeout.as_secs()
        ))
    }

    /// The view of it in a snapshot.
    pub(crate) fn view(&self) -> BrokerView {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let known = |a: &AtomicU64| Some(load(a)).filter(|&v| v != UNKNOWN);
        BrokerView {
            url: self.url.to_string(),
            group: self.group_label(),
            consumer: self.consumer(),
            connected: c.connected.load(Ordering::Relaxed),
            connection_since_ns: load(&c.connection_since_ns),
            received: load(&c.received),
            acked: load(&c.acked),
            duplicates: load(&c.duplicates),
            reconnects: load(&c.reconnects),
            resubscribes: load(&c.resubscribes),
            claimed: load(&c.claimed),
            group_lag: known(&c.group_lag),
            group_pending: known(&c.group_pending),
            first_rejected: c
                .first_rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// The source that reads `broker`.
pub fn open(broker: Arc<BrokerSource>, seed: u64) -> Box<dyn super::EventSource> {
    match broker.url.protocol {
        Protocol::Mqtt => Box::new(mqtt::MqttSource::new(broker, seed)),
        Protocol::Redis => Box::new(redis::RedisSource::new(broker, seed)),
    }
}

/// This machine's name, for default client ids (`HOSTNAME`, else /etc/hostname, else "host").
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// A server figure not (yet) known.
const UNKNOWN: u64 = u64::MAX;

/// A broker source's counters, written by its threads, read for each snapshot.
#[derive(Debug)]
pub struct BrokerCounters {
    pub connected: AtomicBool,
    pub connection_since_ns: AtomicU64,
    pub received: AtomicU64,
    pub acked: AtomicU64,
    pub duplicates: AtomicU64,
    pub reconnects: AtomicU64,
    pub resubscribes: AtomicU64,
    pub claimed: AtomicU64,
    pub group_lag: AtomicU64,
    pub group_pending: AtomicU64,
    first_rejected: Mutex<Vec<String>>,
}

impl Default for BrokerCounters {
    fn default() -> Self {
        Self {
            connected: AtomicBool::new(false),
            connection_since_ns: AtomicU64::new(0),
            received: AtomicU64::new(0),
            acked: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            resubscribes: AtomicU64::new(0),
            claimed: AtomicU64::new(0),
            group_lag: AtomicU64::new(UNKNOWN),
            group_pending: AtomicU64::new(UNKNOWN),
            first_rejected: Mutex::new(Vec::new()),
        }
    }
}

impl BrokerCounters {
    /// The connection came up (or went down) at model time `now_ns`; a connection after the
    /// first one counts as a reconnect.
    pub fn set_connected(&self, up: bool, now_ns: u64, ever_connected: bool) {
        if self.connected.swap(up, Ordering::AcqRel) != up {
            self.connection_since_ns.store(now_ns, Ordering::Relaxed);
            if up && ever_connected {
                self.reconnects.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn add(&self, counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_server(&self, lag: Option<u64>, pending: Option<u64>) {
        self.group_lag
            .store(lag.unwrap_or(UNKNOWN), Ordering::Relaxed);
        self.group_pending
            .store(pending.unwrap_or(UNKNOWN), Ordering::Relaxed);
    }

    fn keep_rejected(&self, text: String) {
        let mut kept = self
            .first_rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if kept.len() < REJECTED_KEPT {
            kept.push(text);
        }
    }
}

/// Sequence numbers seen in the current publisher's run, as bits: a publisher's sequence is
/// dense from 1, so a million messages take 125 kB. Numbers past `MAX_TRACKED` are not checked.
#[derive(Debug, Default)]
pub struct SeenSeqs {
    run: Option<String>,
    bits: Vec<u64>,
}

/// The highest sequence number checked for duplicates (16 MB of bits).
const MAX_TRACKED: u64 = 1 << 27;

impl SeenSeqs {
    /// Records `seq` of `run`; false if it was seen before (a duplicate). A new run starts over.
    pub fn insert(&mut self, run: Option<&str>, seq: u64) -> bool {
        if self.run.as_deref() != run {
            self.run = run.map(str::to_string);
            self.bits.clear();
        }
        if seq >= MAX_TRACKED {
            return true;
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let fresh = self.bits[word] & (1 << bit) == 0;
        self.bits[word] |= 1 << bit;
        fresh
    }
}

/// Where a broker source's messages become events: between its connection and the queue.
pub(crate) struct Inbox<'a, T> {
    pub io: &'a mut SourceIo,
    pub pending: Arc<Pending<T>>,
    pub counters: Arc<BrokerCounters>,
    pub settings: Settings,
    seen: SeenSeqs,
    service: Xoshiro256PlusPlus,
    next_id: u64,
    last_message: Instant,
}

impl<'a, T> Inbox<'a, T> {
    pub fn new(io: &'a mut SourceIo, counters: Arc<BrokerCounters>, seed: u64) -> Self {
        let settings = io.settings.borrow_and_update().clone();
        // Nothing is scheduled: idle workers wait on the queue, not for a due time.
        io.shared.next_due_ns.store(u64::MAX, Ordering::Relaxed);
        Self {
            io,
            pending: Arc::default(),
            counters,
            settings,
            seen: SeenSeqs::default(),
            service: stream_rng(seed, SERVICE_STREAM),
            next_id: 1,
            last_message: Instant::now(),
        }
    }

    pub fn now_ns(&self) -> u64 {
        self.io.shared.clock.now_ns()
    }

    /// Takes new settings, if any; lets events held at the source in as room allows.
    pub fn refresh(&mut self) {
        if self.io.settings.has_changed().unwrap_or(false) {
            self.settings = self.io.settings.borrow_and_update().clone();
        }
        let (cap, overflow) = (self.settings.queue_cap, self.settings.overflow);
        self.io.admission.admit_held(cap, overflow);
    }

    /// Why the source should read no more, if it should: the engine's end or stop, the run's
    /// `--events` or `--duration`, or `--idle-end`.
    pub fn reading_over(&self, idle_end: Option<Duration>) -> bool {
        self.io.should_end()
            || self.io.max_events.is_some_and(|max| self.next_id > max)
            || self.io.duration_ns.is_some_and(|end| self.now_ns() >= end)
            || idle_end.is_some_and(|idle| self.last_message.elapsed() >= idle)
    }

    /// How many more messages to take now: the broker keeps the rest, so a group shares them.
    /// Up to the queue's cap (else two per worker) counting what is queued and held.
    pub fn room(&self) -> usize {
        if self.settings.paused {
            return 0;
        }
        let limit = prefetch(&self.settings);
        let taken =
            self.io.admission.queued() + self.io.shared.held.load(Ordering::Relaxed) as usize;
        let left = self.io.max_events.map_or(usize::MAX, |max| {
            usize::try_from((max + 1).saturating_sub(self.next_id)).unwrap_or(usize::MAX)
        });
        limit.saturating_sub(taken).min(left)
    }

    /// A message came with `bytes`; `token` acks it. Gives the token back when the message must
    /// be acked at once: its payload is malformed (counted as rejected, never an event).
    pub fn deliver(&mut self, bytes: &[u8], token: T) -> Option<T> {
        self.last_message = Instant::now();
        self.counters.add(&self.counters.received, 1);
        let message = match Message::decode(bytes) {
            Ok(message) => message,
            Err(why) => {
                self.io.shared.rejected.fetch_add(1, Ordering::AcqRel);
                self.counters
                    .keep_rejected(format!("{}: {why}", payload::preview(bytes)));
                return Some(token);
            }
        };
        if let Some(seq) = message.seq {
            if !self.seen.insert(message.run.as_deref(), seq) {
                self.counters.add(&self.counters.duplicates, 1);
            }
        }
        let event = self.event_of(&message, bytes);
        self.pending.insert(event.id, token);
        let (cap, overflow) = (self.settings.queue_cap, self.settings.overflow);
        self.io.admission.offer(event, cap, overflow);
        None
    }

    /// The event for a message: it arrived when it was scheduled (by this machine's clock, at
    /// the run's start at the earliest), with its stated demand or one drawn.
    fn event_of(&mut self, message: &Message, bytes: &[u8]) -> Event {
        let clock = self.io.shared.clock;
        let now_ns = clock.now_ns();
        let arrival_ns = message
            .age(payload::unix_now_ns())
            .map_or(now_ns, |age| now_ns.saturating_sub(clock.model_ns(age)));
        let demand_ns = message.demand_ns.unwrap_or_else(|| {
            sample_demand_ns(
                self.settings.service_dist,
                self.settings.service,
                &mut self.service,
            )
        });
        let event = Event::new(self.next_id, arrival_ns)
            .with_demand(demand_ns)
            .with_payload(bytes.to_vec());
        self.next_id += 1;
        event
    }

    /// Reading is over: an end (`e`, `--duration`) drops the events held at the source, as the
    /// generator's does; the source's end is recorded now, whatever draining follows.
    pub fn end_reading(&mut self) {
        let shared = &self.io.shared;
        let ended = shared.end_requested.load(Ordering::Relaxed)
            || self.io.duration_ns.is_some_and(|end| self.now_ns() >= end);
        if ended && !shared.stop.load(Ordering::Relaxed) {
            self.io.admission.abandon_held();
        }
        self.io.ended_at_ns = Some(self.now_ns());
    }

    /// Whether every event let in has been settled (or the engine stopped): the connection may go.
    pub fn drained(&self) -> bool {
        self.io.shared.stop.load(Ordering::Relaxed) || self.pending.is_empty()
    }
}

/// Messages a broker source holds at once (queued, held): the queue's cap, else two per worker.
pub fn prefetch(settings: &Settings) -> usize {
    settings
        .queue_cap
        .unwrap_or(settings.workers.saturating_mul(2))
        .max(1)
}

/// Sleeps with a doubling backoff: `attempt` 0 waits the shortest.
pub fn backoff(attempt: u32) -> Duration {
    let (first, last) = BACKOFF;
    first.saturating_mul(1 << attempt.min(8)).min(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sequence_number_seen_twice_is_a_duplicate_within_one_run() {
        let mut seen = SeenSeqs::default();
        assert!(seen.insert(Some("a"), 1));
        assert!(seen.insert(Some("a"), 64));
        assert!(!seen.insert(Some("a"), 1));
        // A new publisher's run starts its numbers again.
        assert!(seen.insert(Some("b"), 1));
        assert!(seen.insert(None, MAX_TRACKED + 5));
        assert!(seen.insert(None, MAX_TRACKED + 5));
    }

    /// A source's plumbing with a queue the test reads.
    fn io() -> (SourceIo, flume::Receiver<Event>) {
        use crate::engine::queue::Admission;
        use crate::engine::shared::Shared;
        let settings = Settings {
            workers: 2,
            ..Settings::default()
        };
        let plan = crate::engine::work::Plan::of(&settings, 1);
        let shared = Arc::new(Shared::new(crate::engine::Clock::start(1.0), 2, 2, plan));
        let (tx, rx) = flume::unbounded();
        let (_settings_tx, settings_rx) = tokio::sync::watch::channel(settings);
        let io = SourceIo {
            shared: Arc::clone(&shared),
            settings: settings_rx,
            admission: Admission::new(Arc::clone(&shared), tx, rx.clone(), None),
            pacing: super::super::Pacing::new(shared),
            max_events: Some(3),
            duration_ns: None,
            ended_at_ns: None,
        };
        (io, rx)
    }

    #[test]
    fn a_message_becomes_an_event_with_its_demand_and_its_token_kept() {
        let (mut io, queue) = io();
        let counters = Arc::new(BrokerCounters::default());
        let mut inbox = Inbox::new(&mut io, Arc::clone(&counters), 1);
        assert_eq!(inbox.room(), 3, "two per worker, then --events 3 caps it");
        let hour_ago = payload::unix_now_ns() - 3_600_000_000_000;
        let message = Message {
            seq: Some(1),
            scheduled_ns: Some(hour_ago),
            demand_ns: Some(7),
            run: Some("r".into()),
        };
        assert_eq!(inbox.deliver(&message.encode(), "t1"), None);
        assert_eq!(
            inbox.deliver(b"junk", "t2"),
            Some("t2"),
            "malformed: acked at once"
        );
        assert_eq!(inbox.deliver(&message.encode(), "t3"), None);
        assert_eq!(inbox.pending.len(), 2);
        let events: Vec<Event> = queue.try_iter().collect();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].id, events[0].demand_ns()), (1, Some(7)));
        // Scheduled before the run began: it arrived at the run's start.
        assert_eq!(events[0].arrival_ns, 0);
        assert_eq!(events[0].payload(), Some(&message.encode()[..]));
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        assert_eq!(
            (load(&counters.received), load(&counters.duplicates)),
            (3, 1)
        );
        assert_eq!(inbox.io.shared.rejected.load(Ordering::Relaxed), 1);
        assert_eq!(inbox.io.shared.generated.load(Ordering::Relaxed), 2);
        assert!(!inbox.reading_over(None));
        assert!(inbox.reading_over(Some(Duration::ZERO)), "--idle-end");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(backoff(0), BACKOFF.0);
        assert_eq!(backoff(1), BACKOFF.0 * 2);
        assert_eq!(backoff(30), BACKOFF.1);
    }
}
