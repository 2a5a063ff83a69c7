//! `--source redis://HOST:PORT/STREAM`: entries of a Redis stream read in a consumer group.
//!
//! The group (`--group`, created at the stream's start with MKSTREAM if missing) shares the
//! stream: each consumer pulls only what it has room for (`Inbox::room`), so the group behaves
//! like one queue shared by every instance's workers. An entry is acked (XACK) when its event is
//! settled; entries another consumer left pending longer than `--claim-after` are taken over
//! (XAUTOCLAIM), so the events of a consumer that died are done by the others. A consumer first
//! reads its own pending entries again (a restart with the same `--consumer` finishes them).
//! The acks and the group's figures (XINFO GROUPS, once a second) go on a connection of their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use redis::Value;

use super::{BrokerCounters, BrokerSource, BrokerUrl, CONNECT_TIMEOUT, Inbox, backoff};
use crate::engine::ack::{self, Pending, Settled};
use crate::engine::shared::Shared;
use crate::engine::source::{EventSource, SourceIo};

/// A blocking read waits this long for new entries, so the source answers commands in time.
const BLOCK_MS: u64 = 200;
/// With no room for more, the source looks again this often.
const ROOM_WAIT: Duration = Duration::from_micros(500);
/// At the end, acks the server cannot take for this long are given up (delivered again later).
const GIVE_UP: Duration = Duration::from_secs(10);
/// The group's lag and pending count are read this often.
const SERVER_FIGURES_EVERY: Duration = Duration::from_secs(1);

/// The stream, the group and this consumer, by name.
#[derive(Debug, Clone)]
pub struct StreamNames {
    pub url: BrokerUrl,
    pub group: String,
    pub consumer: String,
    pub claim_after: Duration,
    pub idle_end: Option<Duration>,
}

impl StreamNames {
    pub fn of(source: &BrokerSource) -> Self {
        Self {
            url: source.url.clone(),
            group: source
                .options
                .group
                .clone()
                .unwrap_or_else(|| DEFAULT_GROUP.into()),
            consumer: source.consumer(),
            claim_after: source.options.claim_after,
            idle_end: source.options.idle_end,
        }
    }
}

/// The group when `--group` is not given.
pub const DEFAULT_GROUP: &str = "backlog";

/// A Redis connection to `url` within the connect timeout, logged in when
/// `BACKLOG_REDIS_PASSWORD` is set.
pub fn connect(url: &BrokerUrl) -> Result<redis::Connection, String> {
    let mut conn = client(url)?
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .map_err(|e| {
            let why = if url.tls {
                super::tls::explain(&e.to_string())
            } else {
                e.to_string()
            };
            format!(
                "cannot connect to the Redis server at {}: {why}",
                url.address()
            )
        })?;
    if let Some(password) = url.password() {
        let mut auth = redis::cmd("AUTH");
        if let Some(user) = &url.user {
            auth.arg(user);
        }
        auth.arg(password).query::<Value>(&mut conn).map_err(|e| {
            format!(
                "the Redis server at {} refused the login: {e}",
                url.address()
            )
        })?;
    }
    let timeout = Some(Duration::from_millis(BLOCK_MS) + CONNECT_TIMEOUT);
    conn.set_read_timeout(timeout).map_err(|e| e.to_string())?;
    conn.set_write_timeout(timeout).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// The client for `url`: over TLS (`rediss://`) verifying the server against the URL's
/// trust.
fn client(url: &BrokerUrl) -> Result<redis::Client, String> {
    let bad = |e: redis::RedisError| format!("{url}: {e}");
    if !url.tls {
        return redis::Client::open(format!("redis://{}/", url.address())).map_err(bad);
    }
    super::tls::install_provider();
    let address = format!("rediss://{}/", url.address());
    match url.trust.ca_pem() {
        Some(pem) => redis::Client::build_with_tls(
            address,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            },
        )
        .map_err(bad),
        None => redis::Client::open(address).map_err(bad),
    }
}

/// Creates the group at the stream's start (and the stream) unless it exists.
fn ensure_group(conn: &mut redis::Connection, names: &StreamNames) -> redis::RedisResult<()> {
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&names.url.name)
        .arg(&names.group)
        .arg("0")
        .arg("MKSTREAM")
        .query::<Value>(conn);
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other.map(drop),
    }
}

/// The Redis source.
pub struct RedisSource {
    source: Arc<BrokerSource>,
    seed: u64,
}

impl RedisSource {
    pub fn new(source: Arc<BrokerSource>, seed: u64) -> Self {
        Self { source, seed }
    }
}

impl EventSource for RedisSource {
    fn run(self: Box<Self>, io: &mut SourceIo) {
        let (settle_tx, settled) = ack::channel();
        let _ = io.shared.acks.set(settle_tx);
        let names = StreamNames::of(&self.source);
        let counters = Arc::clone(&self.source.counters);
        let mut inbox = Inbox::new(io, Arc::clone(&counters), self.seed);
        let done = Arc::new(AtomicBool::new(false));
        let acker = Acker {
            names: names.clone(),
            settled,
            pending: Arc::clone(&inbox.pending),
            counters,
            shared: Arc::clone(&inbox.io.shared),
            done: Arc::clone(&done),
        };
        let acks = std::thread::Builder::new()
            .name("backlog-redis-acks".into())
            .spawn(move || acker.run());
        let Ok(acks) = acks else {
            inbox
                .io
                .shared
                .fail_with("cannot start the Redis ack thread".into());
            return;
        };
        Reader::new(names).run(&mut inbox);
        inbox.end_reading();
        while !inbox.drained() {
            inbox.refresh();
            std::thread::sleep(Duration::from_millis(2));
        }
        done.store(true, Ordering::Release);
        let _ = acks.join();
    }
}

/// An entry of the stream: its id (the ack's token) and its payload.
type Entry = (String, Vec<u8>);

/// The reading side: XREADGROUP (own history first, then new entries) and XAUTOCLAIM.
struct Reader {
    names: StreamNames,
    conn: Option<redis::Connection>,
    ever_connected: bool,
    attempt: u32,
    history_done: bool,
    /// Where the reading of this consumer's own pending entries has got to (an entry id).
    history_from: String,
    claim_cursor: String,
    last_claim: Instant,
}

impl Reader {
    fn new(names: StreamNames) -> Self {
        Self {
            names,
            conn: None,
            ever_connected: false,
            attempt: 0,
            history_done: true,
            history_from: "0".into(),
            claim_cursor: "0-0".into(),
            last_claim: Instant::now(),
        }
    }

    fn run(&mut self, inbox: &mut Inbox<'_, String>) {
        loop {
            inbox.refresh();
            if inbox.reading_over(self.names.idle_end) {
                return;
            }
            if !self.connected(inbox) {
                continue;
            }
            let room = inbox.room();
            if room == 0 {
                std::thread::sleep(ROOM_WAIT);
                continue;
            }
            match self.next_entries(room, &inbox.counters) {
                Ok((entries, maybe_held)) => self.deliver(entries, inbox, maybe_held),
                Err(e) => self.lost(&e.to_string(), inbox),
            }
        }
    }

    /// Connects (and makes the group) if not connected; false after a failed attempt (waited).
    fn connected(&mut self, inbox: &mut Inbox<'_, String>) -> bool {
        if self.conn.is_some() {
            return true;
        }
        let made = connect(&self.names.url).and_then(|mut conn| {
            ensure_group(&mut conn, &self.names)
                .map(|()| conn)
                .map_err(|e| format!("cannot make the consumer group: {e}"))
        });
        match made {
            Ok(conn) => {
                self.conn = Some(conn);
                let now_ns = inbox.now_ns();
                inbox
                    .counters
                    .set_connected(true, now_ns, self.ever_connected);
                // Whatever this consumer has pending on the server is read again first: from
                // an earlier run, and after a reconnect too (an XREADGROUP whose reply was lost
                // with the connection left entries pending that it never received: 1 of 1,000
                // after a SIGKILL of Redis). Those it holds already are skipped.
                self.history_done = false;
                self.history_from = "0".into();
                self.ever_connected = true;
                self.attempt = 0;
                true
            }
            Err(e) => {
                self.lost(&e, inbox);
                false
            }
        }
    }

    fn lost(&mut self, _why: &str, inbox: &mut Inbox<'_, String>) {
        self.conn = None;
        let now_ns = inbox.now_ns();
        inbox.counters.set_connected(false, now_ns, true);
        std::thread::sleep(backoff(self.attempt));
        self.attempt += 1;
    }

    /// Claims (when due), this consumer's own pending entries (after a connect), or new ones;
    /// and whether they may be in hand already (all but new ones).
    fn next_entries(
        &mut self,
        room: usize,
        counters: &BrokerCounters,
    ) -> redis::RedisResult<(Vec<Entry>, bool)> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok((Vec::new(), false));
        };
        let claim_every = (self.names.claim_after / 2).max(Duration::from_millis(100));
        if self.last_claim.elapsed() >= claim_every {
            self.last_claim = Instant::now();
            let claimed = claim(conn, &self.names, &mut self.claim_cursor, room)?;
            if !claimed.is_empty() {
                counters.add(&counters.claimed, claimed.len() as u64);
                return Ok((claimed, true));
            }
        }
        if self.history_done {
            return Ok((read_group(conn, &self.names, ">", room)?, false));
        }
        let entries = read_group(conn, &self.names, &self.history_from, room)?;
        match entries.last() {
            Some((id, _)) => self.history_from = id.clone(),
            None => self.history_done = true,
        }
        Ok((entries, true))
    }

    /// Delivers `entries` to the queue; those that `maybe_held` (pending entries read again or
    /// claimed, which may be this consumer's own, still in hand) are skipped if in hand: a
    /// scan of what is in hand, so never for new entries.
    fn deliver(&mut self, entries: Vec<Entry>, inbox: &mut Inbox<'_, String>, maybe_held: bool) {
        let mut malformed = Vec::new();
        for (id, payload) in entries {
            if maybe_held && inbox.pending.holds(&id) {
                continue;
            }
            if let Some(id) = inbox.deliver(&payload, id) {
                malformed.push(id);
            }
        }
        if malformed.is_empty() {
            return;
        }
        // A malformed entry is acked at once, so it is not delivered again and again.
        if let Some(conn) = self.conn.as_mut() {
            if xack(conn, &self.names, &malformed).is_ok() {
                let counters = &inbox.counters;
                counters.add(&counters.acked, malformed.len() as u64);
            }
        }
    }
}

/// XREADGROUP of up to `count` entries after `from` (">" new ones; an id, "0" at first, this
/// consumer's own pending ones after it).
fn read_group(
    conn: &mut redis::Connection,
    names: &StreamNames,
    from: &str,
    count: usize,
) -> redis::RedisResult<Vec<Entry>> {
    let mut cmd = redis::cmd("XREADGROUP");
    cmd.arg("GROUP")
        .arg(&names.group)
        .arg(&names.consumer)
        .arg("COUNT")
        .arg(count);
    if from == ">" {
        cmd.arg("BLOCK").arg(BLOCK_MS);
    }
    let reply: Value = cmd
        .arg("STREAMS")
        .arg(&names.url.name)
        .arg(from)
        .query(conn)?;
    // [[stream, [entry, ...]]], or nil when the block timed out.
    let entries = array(reply)
        .into_iter()
        .flat_map(|stream| {
            array(stream)
                .into_iter()
                .nth(1)
                .map(array)
                .unwrap_or_default()
        })
        .filter_map(entry)
        .collect();
    Ok(entries)
}

/// XAUTOCLAIM of up to `count` entries idle longer than `claim_after`, from `cursor` on.
fn claim(
    conn: &mut redis::Connection,
    names: &StreamNames,
    cursor: &mut String,
    count: usize,
) -> redis::RedisResult<Vec<Entry>> {
    let reply: Value = redis::cmd("XAUTOCLAIM")
        .arg(&names.url.name)
        .arg(&names.group)
        .arg(&names.consumer)
        .arg(names.claim_after.as_millis() as u64)
        .arg(cursor.as_str())
        .arg("COUNT")
        .arg(count)
        .query(conn)?;
    // [next cursor, [entry, ...], [deleted ids]]
    let mut parts = array(reply).into_iter();
    if let Some(next) = parts.next().and_then(text) {
        *cursor = next;
    }
    Ok(parts
        .next()
        .map(array)
        .unwrap_or_default()
        .into_iter()
        .filter_map(entry)
        .collect())
}

/// XACK of entry `ids`.
fn xack(
    conn: &mut redis::Connection,
    names: &StreamNames,
    ids: &[String],
) -> redis::RedisResult<()> {
    redis::cmd("XACK")
        .arg(&names.url.name)
        .arg(&names.group)
        .arg(ids)
        .query::<Value>(conn)
        .map(drop)
}

/// An entry `[id, [field, value, ...]]`: its payload is the field `payload`, or its only value.
/// A deleted entry (nil fields) has an empty payload, which is malformed.
fn entry(value: Value) -> Option<Entry> {
    let mut parts = array(value).into_iter();
    let id = text(parts.next()?)?;
    let fields: Vec<Vec<u8>> = parts
        .next()
        .map(array)
        .unwrap_or_default()
        .into_iter()
        .filter_map(bytes)
        .collect();
    let payload = fields
        .chunks(2)
        .find(|pair| pair[0] == b"payload")
        .and_then(|pair| pair.get(1).cloned())
        .or_else(|| (fields.len() == 2).then(|| fields[1].clone()))
        .unwrap_or_default();
    Some((id, payload))
}

/// The elements of an array reply (nothing for nil or anything else).
pub fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => Vec::new(),
    }
}

pub fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.into_bytes()),
        Value::Okay => Some(b"OK".to_vec()),
        Value::Int(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

pub fn text(value: Value) -> Option<String> {
    bytes(value).map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn number(value: Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(n).ok(),
        other => text(other)?.parse().ok(),
    }
}

/// The acking side, on a connection of its own: XACK of settled events (kept and sent again
/// after a lost connection), and the group's figures once a second.
struct Acker {
    names: StreamNames,
    settled: flume::Receiver<Settled>,
    pending: Arc<Pending<String>>,
    counters: Arc<BrokerCounters>,
    shared: Arc<Shared>,
    /// The source has drained: ack what is left, then stop.
    done: Arc<AtomicBool>,
}

impl Acker {
    fn run(self) {
        let mut conn: Option<redis::Connection> = None;
        let mut unsent: Vec<String> = Vec::new();
        let mut figures_at = Instant::now();
        let mut attempt = 0;
        let mut down_since: Option<Instant> = None;
        loop {
            let stopping = self.shared.stop.load(Ordering::Relaxed);
            let done = self.done.load(Ordering::Acquire);
            let given_up = done && down_since.is_some_and(|t| t.elapsed() >= GIVE_UP);
            if stopping {
                // What finished before the stop is acked if the server takes it now.
                self.ack_last(conn.as_mut(), unsent);
                return;
            }
            if given_up || (done && unsent.is_empty() && self.settled.is_empty()) {
                return;
            }
            let batch =
                ack::next_batch(&self.settled, Duration::from_millis(50)).unwrap_or_default();
            unsent.extend(
                self.pending
                    .take(&batch)
                    .into_iter()
                    .map(|(id, _finished)| id),
            );
            if conn.is_none() {
                match connect(&self.names.url) {
                    Ok(made) => {
                        conn = Some(made);
                        attempt = 0;
                        down_since = None;
                    }
                    Err(_) => {
                        down_since.get_or_insert_with(Instant::now);
                        std::thread::sleep(backoff(attempt));
                        attempt += 1;
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            if !unsent.is_empty() {
                match xack(c, &self.names, &unsent) {
                    Ok(()) => {
                        self.counters.add(&self.counters.acked, unsent.len() as u64);
                        unsent.clear();
                    }
                    Err(_) => conn = None,
                }
            }
            if let Some(c) = conn.as_mut() {
                if figures_at.elapsed() >= SERVER_FIGURES_EVERY {
                    figures_at = Instant::now();
                    if let Ok((lag, pending)) = group_figures(c, &self.names) {
                        self.counters.set_server(lag, pending);
                    }
                }
            }
        }
    }
}

impl Acker {
    /// One last XACK of everything settled, on a stop.
    fn ack_last(&self, conn: Option<&mut redis::Connection>, mut unsent: Vec<String>) {
        let rest: Vec<Settled> = self.settled.try_iter().collect();
        unsent.extend(self.pending.take(&rest).into_iter().map(|(id, _)| id));
        if let (Some(conn), false) = (conn, unsent.is_empty()) {
            if xack(conn, &self.names, &unsent).is_ok() {
                self.counters.add(&self.counters.acked, unsent.len() as u64);
            }
        }
    }
}

/// The group's lag (entries not yet delivered to any consumer) and pending count (delivered,
/// not acked), from XINFO GROUPS.
pub fn group_figures(
    conn: &mut redis::Connection,
    names: &StreamNames,
) -> redis::RedisResult<(Option<u64>, Option<u64>)> {
    let reply: Value = redis::cmd("XINFO")
        .arg("GROUPS")
        .arg(&names.url.name)
        .query(conn)?;
    for group in array(reply) {
        let fields = array(group);
        let mut lag = None;
        let mut pending = None;
        let mut name = None;
        let mut items = fields.into_iter();
        while let (Some(key), Some(value)) = (items.next(), items.next()) {
            match text(key).as_deref() {
                Some("name") => name = text(value),
                Some("lag") => lag = number(value),
                Some("pending") => pending = number(value),
                _ => {}
            }
        }
        if name.as_deref() == Some(names.group.as_str()) {
            return Ok((lag, pending));
        }
    }
    Ok((None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn an_entry_gives_its_payload_field_or_its_only_value() {
        let with = |fields: Vec<Value>| Value::Array(vec![bulk("1-0"), Value::Array(fields)]);
        let e = entry(with(vec![
            bulk("x"),
            bulk("1"),
            bulk("payload"),
            bulk("{}"),
        ]))
        .unwrap();
        assert_eq!(e, ("1-0".to_string(), b"{}".to_vec()));
        let e = entry(with(vec![bulk("data"), bulk("{\"seq\":1}")])).unwrap();
        assert_eq!(e.1, b"{\"seq\":1}".to_vec());
        // A deleted entry: no fields, an empty (malformed) payload.
        let e = entry(Value::Array(vec![bulk("2-0"), Value::Nil])).unwrap();
        assert_eq!(e, ("2-0".to_string(), Vec::new()));
    }
}
