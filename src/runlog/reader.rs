//! Reading a run log: the header checked, the frames indexed on open (headers only, so a large
//! log opens at once), bodies decompressed when asked for; a log cut short reads up to its last
//! whole frame.

use std::path::Path;
use std::sync::Arc;

use super::RunLogError;
use super::format::{
    EndInfo, FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameHeader, FrameKind, MAGIC, Mark, RunInfo,
    TraceDecoder, VERSION,
};
use crate::engine::{Snapshot, Trace};

/// One frame's place in the file.
#[derive(Debug, Clone, Copy)]
struct Frame {
    header: FrameHeader,
    /// Where its packed body starts.
    offset: usize,
}

/// An opened run log.
pub struct RunLog {
    /// The path as given, for messages.
    name: String,
    bytes: Vec<u8>,
    pub info: RunInfo,
    snapshot_frames: Vec<Frame>,
    trace_frames: Vec<Frame>,
    marks: Vec<Mark>,
    /// The writer's closing counts; none if the log was cut short.
    pub end: Option<EndInfo>,
    /// Where the log was cut, if its last frame is incomplete or its end is missing.
    pub cut_at: Option<usize>,
}

impl RunLog {
    pub fn open(path: &Path) -> Result<Self, RunLogError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| RunLogError::Unreadable {
            path: name.clone(),
            source,
        })?;
        Self::from_bytes(name, bytes)
    }

    /// Reads a log from memory; `name` is how messages call it.
    pub fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Self, RunLogError> {
        check_file_header(&name, &bytes)?;
        let mut log = Self {
            name,
            bytes,
            info: placeholder_info(),
            snapshot_frames: Vec::new(),
            trace_frames: Vec::new(),
            marks: Vec::new(),
            end: None,
            cut_at: None,
        };
        let mut seen_info = false;
        let mut at = FILE_HEADER_LEN;
        while at < log.bytes.len() {
            let Some(frame) = log.frame_at(at)? else {
                log.cut_at = Some(at);
                break;
            };
            at = frame.offset + frame.header.packed_len as usize;
            log.take_frame(frame, &mut seen_info)?;
        }
        if log.end.is_none() && log.cut_at.is_none() {
            log.cut_at = Some(log.bytes.len());
        }
        // Without its settings frame the file ended early (a frame of another kind first is
        // refused as damaged above).
        if !seen_info || log.snapshot_frames.is_empty() {
            return Err(RunLogError::Empty { path: log.name });
        }
        log.marks.sort_by_key(|m| m.at_ns);
        Ok(log)
    }

    /// The frame at byte `at`, or none if the file ends inside it (cut short).
    fn frame_at(&self, at: usize) -> Result<Option<Frame>, RunLogError> {
        let head = self
            .bytes
            .get(at..at + FRAME_HEADER_LEN)
            .and_then(|h| <&[u8; FRAME_HEADER_LEN]>::try_from(h).ok());
        let Some(head) = head else {
            return Ok(None);
        };
        let header = FrameHeader::decode(head).map_err(|what| self.corrupt(at, &what))?;
        let offset = at + FRAME_HEADER_LEN;
        if self.bytes.len() - offset < header.packed_len as usize {
            return Ok(None);
        }
        Ok(Some(Frame { header, offset }))
    }

    fn take_frame(&mut self, frame: Frame, seen_info: &mut bool) -> Result<(), RunLogError> {
        match frame.header.kind {
            FrameKind::Info if !*seen_info => {
                self.info = self.json(frame)?;
                *seen_info = true;
            }
            _ if !*seen_info => {
                return Err(self.corrupt(frame.offset, "the settings frame is not first"));
            }
            FrameKind::Info => return Err(self.corrupt(frame.offset, "a second settings frame")),
            FrameKind::Snapshots => self.snapshot_frames.push(frame),
            FrameKind::Traces => self.trace_frames.push(frame),
            FrameKind::Marks => {
                let marks = self.json_lines::<Mark>(frame)?;
                self.marks.extend(marks);
            }
            FrameKind::End => self.end = Some(self.json(frame)?),
        }
        Ok(())
    }

    fn corrupt(&self, offset: usize, what: &str) -> RunLogError {
        RunLogError::Corrupt {
            path: self.name.clone(),
            offset,
            what: what.to_string(),
        }
    }

    /// A frame's body, decompressed and checked against its stated length.
    fn body(&self, frame: Frame) -> Result<Vec<u8>, RunLogError> {
        let packed = &self.bytes[frame.offset..frame.offset + frame.header.packed_len as usize];
        let raw = zstd::bulk::decompress(packed, frame.header.raw_len as usize)
            .map_err(|e| self.corrupt(frame.offset, &format!("cannot decompress a frame ({e})")))?;
        if raw.len() != frame.header.raw_len as usize {
            return Err(self.corrupt(frame.offset, "a frame's length does not match its header"));
        }
        Ok(raw)
    }

    fn json<T: serde::de::DeserializeOwned>(&self, frame: Frame) -> Result<T, RunLogError> {
        let raw = self.body(frame)?;
        serde_json::from_slice(&raw)
            .map_err(|e| self.corrupt(frame.offset, &format!("unreadable record ({e})")))
    }

    fn json_lines<T: serde::de::DeserializeOwned>(
        &self,
        frame: Frame,
    ) -> Result<Vec<T>, RunLogError> {
        let raw = self.body(frame)?;
        let records: Result<Vec<T>, _> = raw
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(serde_json::from_slice)
            .collect();
        let records =
            records.map_err(|e| self.corrupt(frame.offset, &format!("unreadable record ({e})")))?;
        if records.len() != frame.header.count as usize {
            return Err(self.corrupt(frame.offset, "a frame's count does not match its records"));
        }
        Ok(records)
    }

    /// The path as given.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Captions, steps, changes and losses, in time order.
    pub fn marks(&self) -> &[Mark] {
        &self.marks
    }

    /// Frames of snapshots: seek reads one of them.
    pub fn snapshot_frame_count(&self) -> usize {
        self.snapshot_frames.len()
    }

    /// The snapshots of frame `index`, in order.
    pub fn snapshot_frame(&self, index: usize) -> Result<Vec<Arc<Snapshot>>, RunLogError> {
        let frame = self.snapshot_frames[index];
        Ok(self
            .json_lines::<Snapshot>(frame)?
            .into_iter()
            .map(Arc::new)
            .collect())
    }

    /// The index of the frame holding the last snapshot at or before `t_ns` (the first frame if
    /// `t_ns` comes before every snapshot).
    pub fn frame_for(&self, t_ns: u64) -> usize {
        self.snapshot_frames
            .partition_point(|f| f.header.first_ns <= t_ns)
            .saturating_sub(1)
    }

    /// Model time of the first and the last snapshot.
    pub fn span_ns(&self) -> (u64, u64) {
        let first = self
            .snapshot_frames
            .first()
            .map_or(0, |f| f.header.first_ns);
        let last = self.snapshot_frames.last().map_or(0, |f| f.header.last_ns);
        (first, last)
    }

    /// The last snapshot at or before `t_ns` (the first one if none is).
    pub fn snapshot_at(&self, t_ns: u64) -> Result<Arc<Snapshot>, RunLogError> {
        let frame = self.snapshot_frame(self.frame_for(t_ns))?;
        let at = frame
            .partition_point(|s| s.now_ns <= t_ns)
            .saturating_sub(1);
        frame
            .get(at)
            .cloned()
            .ok_or_else(|| self.corrupt(0, "an empty snapshot frame"))
    }

    /// Every snapshot, in order, one frame decompressed at a time.
    pub fn snapshots(&self) -> impl Iterator<Item = Result<Arc<Snapshot>, RunLogError>> + '_ {
        (0..self.snapshot_frames.len()).flat_map(move |i| match self.snapshot_frame(i) {
            Ok(frame) => frame.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e)],
        })
    }

    /// The last snapshot: the run's end, or as far as a log cut short goes.
    pub fn last_snapshot(&self) -> Result<Arc<Snapshot>, RunLogError> {
        let frame = self.snapshot_frame(self.snapshot_frames.len() - 1)?;
        frame
            .last()
            .cloned()
            .ok_or_else(|| self.corrupt(0, "an empty snapshot frame"))
    }

    /// Every trace record, in the order written (nearly time order: see `Reorder`).
    pub fn traces(&self) -> Result<Vec<Trace>, RunLogError> {
        let mut all = Vec::new();
        for &frame in &self.trace_frames {
            let raw = self.body(frame)?;
            for record in TraceDecoder::new(&raw) {
                all.push(record.map_err(|what| self.corrupt(frame.offset, &what))?);
            }
        }
        Ok(all)
    }

    /// Bytes on disk per trace record and per event (the log's whole size over the records).
    pub fn size_bytes(&self) -> usize {
        self.bytes.len()
    }
}

fn check_file_header(name: &str, bytes: &[u8]) -> Result<(), RunLogError> {
    // A file that ends inside the magic was cut short; one that differs from it is not a log.
    if bytes.len() < FILE_HEADER_LEN && MAGIC.starts_with(&bytes[..bytes.len().min(MAGIC.len())]) {
        return Err(RunLogError::Empty {
            path: name.to_string(),
        });
    }
    if bytes.len() < FILE_HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(RunLogError::NotARunLog {
            path: name.to_string(),
        });
    }
    let found = u16::from_le_bytes([bytes[MAGIC.len()], bytes[MAGIC.len() + 1]]);
    if found != VERSION {
        return Err(RunLogError::Version {
            path: name.to_string(),
            found,
        });
    }
    Ok(())
}

/// Replaced by the log's own as soon as its first frame is read.
fn placeholder_info() -> RunInfo {
    RunInfo {
        backlog_version: String::new(),
        settings: crate::engine::Settings::default(),
        seed: 0,
        speed: 1.0,
        source: String::new(),
        scenario: None,
        max_events: None,
        duration_ns: None,
    }
}
