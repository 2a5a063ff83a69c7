//! Lines from standard input (or any reader): one event per line, the line its payload.
//!
//! A line that is a JSON object may carry `"service"` (a duration as on the command line, or
//! seconds as a number): the event's known demand. Other lines get a demand drawn from the
//! service settings, as the generator draws them. Lines over `MAX_LINE` bytes are rejected and
//! counted; bytes that are not UTF-8 are kept as they are. The event's id is its line number.
//!
//! The reader blocks on its own plain thread (a blocked read cannot be cancelled); the source
//! takes its lines from a small channel, so it answers commands (pause, end, stop) at once.
//! End of input ends the source: the events already read (held ones too) go on to the pool.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;

use super::generator::{SERVICE_STREAM, sample_demand_ns, stream_rng};
use super::{EventSource, SourceIo};
use crate::engine::event::Event;
use crate::engine::settings::{self, Settings};
use crate::engine::shared::Shared;

/// The longest line accepted, bytes (the newline aside).
pub const MAX_LINE: usize = 1 << 20;
/// Batches of lines read ahead of the queue: the reader waits when the source has this many
/// in hand (up to `SEND_BATCH` lines each).
const READ_AHEAD: usize = 16;

/// Events from lines of text.
pub struct Lines {
    reader: Box<dyn Read + Send>,
    seed: u64,
}

impl Lines {
    /// Lines from the process's standard input.
    pub fn stdin(seed: u64) -> Self {
        Self::from_reader(Box::new(std::io::stdin()), seed)
    }

    pub fn from_reader(reader: Box<dyn Read + Send>, seed: u64) -> Self {
        Self { reader, seed }
    }
}

impl EventSource for Lines {
    fn run(self: Box<Self>, io: &mut SourceIo) {
        let (lines, taken) = flume::bounded(READ_AHEAD);
        let shared = Arc::clone(&io.shared);
        let reader = self.reader;
        let started = std::thread::Builder::new()
            .name("backlog-stdin".into())
            .spawn(move || read_lines(BufReader::new(reader), &lines, &shared));
        if let Err(e) = started {
            io.shared
                .fail_with(format!("cannot start the input reader: {e}"));
            return;
        }
        match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
        {
            Ok(runtime) => runtime.block_on(Feeder::new(io, taken, self.seed).run()),
            Err(e) => io
                .shared
                .fail_with(format!("cannot start the source's runtime: {e}")),
        }
    }
}

/// Reads lines until the end of input (or an error, which ends it too and is recorded as the
/// source's), sending each accepted one; a line over `MAX_LINE` is skipped to its end and
/// counted as rejected.
fn read_lines(mut reader: impl BufRead, lines: &flume::Sender<Vec<Vec<u8>>>, shared: &Shared) {
    let mut batch = Batch::new(lines);
    read_into(&mut reader, &mut batch, shared);
    batch.flush();
}

/// Lines on their way to the source, sent together: a line alone would cost a channel send
/// and often a wake of the source each. A batch goes when it is full or when the reader's
/// buffer is used up (the next read may block: what was read must not wait for it).
struct Batch<'a> {
    lines: &'a flume::Sender<Vec<Vec<u8>>>,
    pending: Vec<Vec<u8>>,
    /// The source is gone: nothing more is sent.
    closed: bool,
}

/// Lines sent to the source together, at most.
const SEND_BATCH: usize = 256;

impl<'a> Batch<'a> {
    fn new(lines: &'a flume::Sender<Vec<Vec<u8>>>) -> Self {
        Self {
            lines,
            pending: Vec::with_capacity(SEND_BATCH),
            closed: false,
        }
    }

    /// Adds a line; false when the source is gone.
    fn push(&mut self, line: Vec<u8>) -> bool {
        self.pending.push(line);
        if self.pending.len() >= SEND_BATCH {
            self.flush();
        }
        !self.closed
    }

    fn flush(&mut self) {
        if self.pending.is_empty() || self.closed {
            return;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(SEND_BATCH));
        self.closed = self.lines.send(batch).is_err();
    }
}

fn read_into(reader: &mut impl BufRead, lines: &mut Batch<'_>, shared: &Shared) {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) => break,
            Ok(chunk) => chunk,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = shared
                    .source_error
                    .set(format!("cannot read the input: {e}"));
                break;
            }
        };
        let (part, ended) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1),
            None => (chunk, 0),
        };
        let used = if ended > 0 { ended } else { chunk.len() };
        let drained = used == chunk.len();
        if !too_long && line.len() + part.len() <= MAX_LINE {
            line.extend_from_slice(part);
        } else {
            too_long = true;
            line.clear();
        }
        reader.consume(used);
        if ended > 0 && !finish_line(&mut line, &mut too_long, lines, shared) {
            return;
        }
        // What was read goes before the next read, which may block.
        if drained {
            lines.flush();
        }
    }
    // The last line need not end with a newline.
    if !line.is_empty() || too_long {
        finish_line(&mut line, &mut too_long, lines, shared);
    }
}

/// Sends (or counts as rejected) the line just read; false when the source is gone.
fn finish_line(
    line: &mut Vec<u8>,
    too_long: &mut bool,
    lines: &mut Batch<'_>,
    shared: &Shared,
) -> bool {
    shared.lines_read.fetch_add(1, Ordering::Relaxed);
    if std::mem::take(too_long) {
        shared.rejected.fetch_add(1, Ordering::AcqRel);
        return true;
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    lines.push(std::mem::take(line))
}

/// The demand a line states, if it is a JSON object with a valid `"service"`.
pub fn stated_demand(line: &[u8]) -> Option<Duration> {
    if line.first() != Some(&b'{') {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    let demand = match value.get("service")? {
        serde_json::Value::String(text) => settings::parse_duration(text).ok()?,
        serde_json::Value::Number(n) => Duration::try_from_secs_f64(n.as_f64()?).ok()?,
        _ => return None,
    };
    (demand <= settings::MAX_SERVICE).then_some(demand)
}

/// Takes lines from the reader into the queue, between commands.
struct Feeder<'a> {
    io: &'a mut SourceIo,
    lines: flume::Receiver<Vec<Vec<u8>>>,
    service: Xoshiro256PlusPlus,
    settings: Settings,
    next_id: u64,
    /// The reader has sent its last line.
    input_ended: bool,
}

impl<'a> Feeder<'a> {
    fn new(io: &'a mut SourceIo, lines: flume::Receiver<Vec<Vec<u8>>>, seed: u64) -> Self {
        let settings = io.settings.borrow_and_update().clone();
        // Nothing is scheduled: idle workers wait on the queue, not for a due time.
        io.shared.next_due_ns.store(u64::MAX, Ordering::Relaxed);
        Self {
            io,
            lines,
            service: stream_rng(seed, SERVICE_STREAM),
            settings,
            next_id: 1,
            input_ended: false,
        }
    }

    fn exhausted(&self) -> bool {
        self.input_ended || self.io.max_events.is_some_and(|max| self.next_id > max)
    }

    async fn run(mut self) {
        let clock = self.io.shared.clock;
        loop {
            if self.io.should_end() {
                break;
            }
            let (cap, overflow) = (self.settings.queue_cap, self.settings.overflow);
            self.io.admission.admit_held(cap, overflow);
            let holding = self.io.admission.is_holding();
            if self.exhausted() && !holding {
                return;
            }
            let reading = !self.settings.paused && !self.exhausted();
            let end = self.io.duration_ns.map(|end| clock.instant_at(end));
            if end.is_some_and(|end| std::time::Instant::now() >= end) {
                break;
            }
            let until_end = async {
                match end {
                    Some(end) => tokio::time::sleep_until(end.into()).await,
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                batch = self.lines.recv_async(), if reading => match batch {
                    Ok(batch) => self.take(batch),
                    Err(_) => self.input_ended = true,
                },
                () = self.io.admission.room(cap), if holding => {}
                () = until_end => {}
                () = self.io.shared.wake_source.notified() => {}
                changed = self.io.settings.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    self.settings = self.io.settings.borrow_and_update().clone();
                }
            }
        }
        // Ended at once (`e`, `--duration`): held lines never enter; on a stop they stay held.
        if !self.io.shared.stop.load(Ordering::Relaxed) {
            self.io.admission.abandon_held();
        }
    }

    /// Offers a batch of lines, unless the source ends on the way (`--events`, a stop):
    /// lines past the end are read but never events, as if they had not come.
    fn take(&mut self, batch: Vec<Vec<u8>>) {
        for line in batch {
            if self.exhausted() || self.io.should_end() {
                return;
            }
            self.offer(line);
        }
    }

    fn offer(&mut self, line: Vec<u8>) {
        let settings = &self.settings;
        let demand = stated_demand(&line).map_or_else(
            || sample_demand_ns(settings.service_dist, settings.service, &mut self.service),
            |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        );
        let now_ns = self.io.shared.clock.now_ns();
        let event = Event::new(self.next_id, now_ns)
            .with_demand(demand)
            .with_payload(line);
        self.next_id += 1;
        let (cap, overflow) = (settings.queue_cap, settings.overflow);
        self.io.admission.offer(event, cap, overflow);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_line_states_its_demand_in_either_form() {
        assert_eq!(
            stated_demand(br#"{"service": "250ms", "id": 7}"#),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            stated_demand(br#"{"service": 1.5}"#),
            Some(Duration::from_millis(1500))
        );
        // Not JSON, no service, a bad one, or one over the longest demand: none stated.
        for line in [
            &b"plain text"[..],
            br#"{"id": 1}"#,
            br#"{"service": "fast"}"#,
            br#"{"service": -1}"#,
            br#"{"service": "48h"}"#,
            br#"{"service": "#,
        ] {
            assert_eq!(
                stated_demand(line),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn lines_are_read_whole_and_the_overlong_ones_counted_apart() {
        let shared = Shared::new(crate::engine::Clock::start(1.0), 1, 1, test_plan());
        let mut input = b"first\r\n\xff\xfe junk\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 1));
        input.extend(b"\nlast without newline");
        let (tx, rx) = flume::unbounded();
        // A small buffer, so lines arrive in many pieces.
        read_lines(BufReader::with_capacity(7, &input[..]), &tx, &shared);
        let got: Vec<Vec<u8>> = rx.try_iter().flatten().collect();
        assert_eq!(
            got,
            vec![
                b"first".to_vec(),
                b"\xff\xfe junk".to_vec(),
                b"last without newline".to_vec()
            ]
        );
        assert_eq!(shared.rejected.load(Ordering::Relaxed), 1);
        assert_eq!(shared.lines_read.load(Ordering::Relaxed), 4);
        // A line of exactly the limit is accepted.
        let exact = vec![b'y'; MAX_LINE];
        read_lines(&exact[..], &tx, &shared);
        assert_eq!(rx.try_recv().unwrap()[0].len(), MAX_LINE);
    }

    fn test_plan() -> crate::engine::work::Plan {
        crate::engine::work::Plan::of(&Settings::default(), 1)
    }
}
