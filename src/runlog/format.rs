//! The run log's bytes: the file's header, the frames, and the compact encoding of trace records.
//!
//! A log is `MAGIC`, the format version (u16, little-endian), then frames. Each frame is a fixed
//! 29-byte header (kind, record count, first and last model time, raw and packed length) and a
//! zstd-compressed body. A frame is written whole and flushed, so a log cut short (a crash,
//! `kill -9`) loses at most the frame being written. See docs/runlog.md.

use serde::{Deserialize, Serialize};

use crate::engine::Trace;
use crate::engine::event::DropReason;
use crate::engine::settings::Settings;
use crate::engine::work::{Failure, Outcome};

/// The first bytes of every run log.
pub const MAGIC: &[u8; 12] = b"backlog-run\n";
/// The format this build writes and reads. Bump it on any change a reader of the old one would
/// misread.
pub const VERSION: u16 = 1;
/// Magic and version.
pub const FILE_HEADER_LEN: usize = MAGIC.len() + 2;
pub const FRAME_HEADER_LEN: usize = 29;
/// Largest frame body accepted, packed or raw: a corrupt length cannot ask for more memory.
pub const MAX_FRAME_BYTES: u32 = 1 << 28;

/// What a frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// The run's settings and seed (`RunInfo`, JSON): always the first frame.
    Info = 1,
    /// Published snapshots, one JSON document a line: the replay's checkpoints.
    Snapshots = 2,
    /// Trace records, binary (`TraceEncoder`).
    Traces = 3,
    /// Captions, steps, settings changes, losses (`Mark`, one JSON document a line).
    Marks = 4,
    /// The writer's closing counts (`EndInfo`, JSON): absent from a log cut short.
    End = 5,
}

impl FrameKind {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            1 => FrameKind::Info,
            2 => FrameKind::Snapshots,
            3 => FrameKind::Traces,
            4 => FrameKind::Marks,
            5 => FrameKind::End,
            _ => return None,
        })
    }
}

/// A frame's header: what it holds and how long it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub kind: FrameKind,
    /// Records in the body.
    pub count: u32,
    /// Model time of the first and last record, ns (seek reads these, not the body).
    pub first_ns: u64,
    pub last_ns: u64,
    pub raw_len: u32,
    pub packed_len: u32,
}

impl FrameHeader {
    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut out = [0u8; FRAME_HEADER_LEN];
        out[0] = self.kind as u8;
        out[1..5].copy_from_slice(&self.count.to_le_bytes());
        out[5..13].copy_from_slice(&self.first_ns.to_le_bytes());
        out[13..21].copy_from_slice(&self.last_ns.to_le_bytes());
        out[21..25].copy_from_slice(&self.raw_len.to_le_bytes());
        out[25..29].copy_from_slice(&self.packed_len.to_le_bytes());
        out
    }

    /// Reads a header; says what is wrong with one that cannot be.
    pub fn decode(bytes: &[u8; FRAME_HEADER_LEN]) -> Result<Self, String> {
        let kind = FrameKind::from_byte(bytes[0])
            .ok_or_else(|| format!("unknown frame kind {}", bytes[0]))?;
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_le_bytes(b)
        };
        let header = Self {
            kind,
            count: u32_at(1),
            first_ns: u64_at(5),
            last_ns: u64_at(13),
            raw_len: u32_at(21),
            packed_len: u32_at(25),
        };
        if header.raw_len > MAX_FRAME_BYTES || header.packed_len > MAX_FRAME_BYTES {
            return Err(format!(
                "a frame claims {} bytes (at most {MAX_FRAME_BYTES})",
                header.raw_len.max(header.packed_len)
            ));
        }
        if header.first_ns > header.last_ns {
            return Err("a frame ends before it starts".into());
        }
        Ok(header)
    }
}

/// What the log knows of the run before it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The version of backlog that wrote the log.
    pub backlog_version: String,
    pub settings: Settings,
    pub seed: u64,
    pub speed: f64,
    /// `gen`, `stdin` or `trace`.
    pub source: String,
    /// The scenario played, by name, if any.
    pub scenario: Option<String>,
    pub max_events: Option<u64>,
    pub duration_ns: Option<u64>,
}

/// A moment worth a name: a settings change, a caption, a scenario step, a loss.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub at_ns: u64,
    pub kind: MarkKind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// A change of settings (a new phase), with its cause: `phase 2 (key): workers 4 → 5`.
    Change,
    /// A scenario's caption.
    Caption,
    /// A scenario step's line, as the headless log prints it.
    Step,
    /// The writer could not keep up and lost records: `lost 1200 trace records`.
    Lost,
    /// The autoscaling policy's tallies at the end of a headless run: the JSON summary's
    /// `autoscale` object, as JSON (it lives outside the engine, so no snapshot has it).
    Autoscale,
}

/// The writer's closing counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndInfo {
    pub traces: u64,
    pub snapshots: u64,
    /// Trace records dropped because the writer fell too far behind the engine.
    pub lost_traces: u64,
    /// Snapshots dropped because the writer's buffer was full.
    pub lost_snapshots: u64,
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// Encodes trace records: a tag byte, then varints; times and ids as signed deltas from the
/// previous record's (records come from several threads, slightly out of order). A new encoder
/// per frame, so each frame decodes on its own.
#[derive(Debug, Default)]
pub struct TraceEncoder {
    last_ns: u64,
    last_id: u64,
}

const TAG_SUBMITTED: u8 = 1;
const TAG_DROPPED: u8 = 2;
const TAG_STARTED: u8 = 3;
const TAG_FINISHED: u8 = 4;
const TAG_WORKER_UP: u8 = 5;
const TAG_WORKER_DOWN: u8 = 6;
const TAG_SOURCE_ENDED: u8 = 7;

impl TraceEncoder {
    fn time(&mut self, at_ns: u64, out: &mut Vec<u8>) {
        put_varint(zigzag(at_ns.wrapping_sub(self.last_ns) as i64), out);
        self.last_ns = at_ns;
    }

    fn id(&mut self, id: u64, out: &mut Vec<u8>) {
        put_varint(zigzag(id.wrapping_sub(self.last_id) as i64), out);
        self.last_id = id;
    }

    pub fn encode(&mut self, trace: &Trace, out: &mut Vec<u8>) {
        match *trace {
            Trace::Submitted {
                id,
                at_ns,
                blocked_ns,
            } => {
                out.push(TAG_SUBMITTED);
                self.time(at_ns, out);
                self.id(id, out);
                put_varint(blocked_ns, out);
            }
            Trace::Dropped { id, at_ns, reason } => {
                out.push(TAG_DROPPED);
                self.time(at_ns, out);
                self.id(id, out);
                out.push(reason_byte(reason));
            }
            Trace::Started {
                worker,
                id,
                at_ns,
                demand_ns,
            } => {
                out.push(TAG_STARTED);
                self.time(at_ns, out);
                self.id(id, out);
                put_varint(u64::from(worker), out);
                put_varint(demand_ns, out);
            }
            Trace::Finished {
                worker,
                id,
                at_ns,
                outcome,
            } => {
                out.push(TAG_FINISHED);
                self.time(at_ns, out);
                self.id(id, out);
                put_varint(u64::from(worker), out);
                put_outcome(outcome, out);
            }
            Trace::WorkerUp { worker, at_ns } | Trace::WorkerDown { worker, at_ns } => {
                let up = matches!(trace, Trace::WorkerUp { .. });
                out.push(if up { TAG_WORKER_UP } else { TAG_WORKER_DOWN });
                self.time(at_ns, out);
                put_varint(u64::from(worker), out);
            }
            Trace::SourceEnded { at_ns } => {
                out.push(TAG_SOURCE_ENDED);
                self.time(at_ns, out);
            }
        }
    }
}

fn reason_byte(reason: DropReason) -> u8 {
    match reason {
        DropReason::QueueFull => 0,
        DropReason::Evicted => 1,
        DropReason::SourceEnded => 2,
    }
}

fn put_outcome(outcome: Outcome, out: &mut Vec<u8>) {
    match outcome {
        Outcome::Succeeded { result: None } => out.push(0),
        Outcome::Succeeded { result: Some(r) } => {
            out.push(1);
            put_varint(r, out);
        }
        Outcome::Failed(failure) => match failure {
            Failure::Error => out.push(2),
            Failure::Panic => out.push(3),
            Failure::ExitStatus(code) => {
                out.push(4);
                put_varint(zigzag(i64::from(code)), out);
            }
            Failure::Signal(signal) => {
                out.push(5);
                put_varint(zigzag(i64::from(signal)), out);
            }
            Failure::TimedOut => out.push(6),
            Failure::CannotStart => out.push(7),
        },
    }
}

/// Reads back what a `TraceEncoder` wrote into one frame's body.
pub struct TraceDecoder<'a> {
    bytes: &'a [u8],
    pos: usize,
    last_ns: u64,
    last_id: u64,
}

impl<'a> TraceDecoder<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            last_ns: 0,
            last_id: 0,
        }
    }

    fn byte(&mut self) -> Result<u8, String> {
        let byte = *self
            .bytes
            .get(self.pos)
            .ok_or("a trace record ends early")?;
        self.pos += 1;
        Ok(byte)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a number in a trace record is too long".into())
    }

    fn small(&mut self) -> Result<u32, String> {
        u32::try_from(self.varint()?).map_err(|_| "a worker number out of range".to_string())
    }

    fn signed32(&mut self) -> Result<i32, String> {
        i32::try_from(unzigzag(self.varint()?)).map_err(|_| "a status out of range".to_string())
    }

    fn time(&mut self) -> Result<u64, String> {
        self.last_ns = self.last_ns.wrapping_add(unzigzag(self.varint()?) as u64);
        Ok(self.last_ns)
    }

    fn id(&mut self) -> Result<u64, String> {
        self.last_id = self.last_id.wrapping_add(unzigzag(self.varint()?) as u64);
        Ok(self.last_id)
    }

    fn outcome(&mut self) -> Result<Outcome, String> {
        Ok(match self.byte()? {
            0 => Outcome::Succeeded { result: None },
            1 => Outcome::Succeeded {
                result: Some(self.varint()?),
            },
            2 => Outcome::Failed(Failure::Error),
            3 => Outcome::Failed(Failure::Panic),
            4 => Outcome::Failed(Failure::ExitStatus(self.signed32()?)),
            5 => Outcome::Failed(Failure::Signal(self.signed32()?)),
            6 => Outcome::Failed(Failure::TimedOut),
            7 => Outcome::Failed(Failure::CannotStart),
            other => return Err(format!("unknown outcome {other}")),
        })
    }

    fn reason(&mut self) -> Result<DropReason, String> {
        Ok(match self.byte()? {
            0 => DropReason::QueueFull,
            1 => DropReason::Evicted,
            2 => DropReason::SourceEnded,
            other => return Err(format!("unknown drop reason {other}")),
        })
    }

    fn record(&mut self) -> Result<Trace, String> {
        Ok(match self.byte()? {
            TAG_SUBMITTED => Trace::Submitted {
                at_ns: self.time()?,
                id: self.id()?,
                blocked_ns: self.varint()?,
            },
            TAG_DROPPED => Trace::Dropped {
                at_ns: self.time()?,
                id: self.id()?,
                reason: self.reason()?,
            },
            TAG_STARTED => Trace::Started {
                at_ns: self.time()?,
                id: self.id()?,
                worker: self.small()?,
                demand_ns: self.varint()?,
            },
            TAG_FINISHED => Trace::Finished {
                at_ns: self.time()?,
                id: self.id()?,
                worker: self.small()?,
                outcome: self.outcome()?,
            },
            TAG_WORKER_UP => Trace::WorkerUp {
                at_ns: self.time()?,
                worker: self.small()?,
            },
            TAG_WORKER_DOWN => Trace::WorkerDown {
                at_ns: self.time()?,
                worker: self.small()?,
            },
            TAG_SOURCE_ENDED => Trace::SourceEnded {
                at_ns: self.time()?,
            },
            other => return Err(format!("unknown trace record {other}")),
        })
    }
}

impl Iterator for TraceDecoder<'_> {
    type Item = Result<Trace, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        let record = self.record();
        if record.is_err() {
            // One error, then nothing: the rest of the frame cannot be trusted.
            self.pos = self.bytes.len();
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Trace> {
        vec![
            Trace::WorkerUp {
                worker: 1,
                at_ns: 0,
            },
            Trace::Submitted {
                id: 1,
                at_ns: 1_000_000_000,
                blocked_ns: 0,
            },
            Trace::Started {
                worker: 1,
                id: 1,
                at_ns: 1_000_040_000,
                demand_ns: 5_000_000_000,
            },
            // Out of order, as records from two threads arrive.
            Trace::Submitted {
                id: 2,
                at_ns: 999_000_000,
                blocked_ns: 7,
            },
            Trace::Dropped {
                id: 3,
                at_ns: 2_000_000_000,
                reason: DropReason::Evicted,
            },
            Trace::Finished {
                worker: 1,
                id: 1,
                at_ns: 6_000_000_000,
                outcome: Outcome::Succeeded { result: Some(1) },
            },
            Trace::Finished {
                worker: 4096,
                id: u64::MAX,
                at_ns: u64::MAX,
                outcome: Outcome::Failed(Failure::ExitStatus(-3)),
            },
            Trace::Finished {
                worker: 2,
                id: 0,
                at_ns: 0,
                outcome: Outcome::Failed(Failure::Signal(9)),
            },
            Trace::WorkerDown {
                worker: 2,
                at_ns: 7,
            },
            Trace::SourceEnded { at_ns: 8 },
        ]
    }

    #[test]
    fn every_kind_of_record_reads_back_as_written() {
        let records = every_kind();
        let mut encoder = TraceEncoder::default();
        let mut bytes = Vec::new();
        for r in &records {
            encoder.encode(r, &mut bytes);
        }
        let back: Result<Vec<Trace>, String> = TraceDecoder::new(&bytes).collect();
        assert_eq!(back.unwrap(), records);
    }

    #[test]
    fn a_record_cut_short_is_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        TraceEncoder::default().encode(&every_kind()[2], &mut bytes);
        for cut in 1..bytes.len() {
            let back: Vec<_> = TraceDecoder::new(&bytes[..cut]).collect();
            assert_eq!(back.len(), 1, "cut at {cut}");
            assert!(back[0].is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_frame_header_reads_back_and_refuses_nonsense() {
        let header = FrameHeader {
            kind: FrameKind::Traces,
            count: 3,
            first_ns: 10,
            last_ns: 20,
            raw_len: 100,
            packed_len: 40,
        };
        assert_eq!(FrameHeader::decode(&header.encode()), Ok(header));
        let mut bad = header.encode();
        bad[0] = 99;
        assert!(FrameHeader::decode(&bad).unwrap_err().contains("kind"));
        let huge = FrameHeader {
            raw_len: u32::MAX,
            ..header
        };
        assert!(FrameHeader::decode(&huge.encode()).is_err());
    }

    #[test]
    fn zigzag_round_trips_the_extremes() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 12345, -98765] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }
}
