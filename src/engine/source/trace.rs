//! Trace replay: a CSV of arrivals and their demands, replayed with its original gaps on the
//! generator's absolute schedule (`generator::Schedule::Replay`).
//!
//! The header names the columns: `arrival_s` or `arrival_ms` (from any origin, never going
//! back), `service_s` or `service_ms`, and optionally `id` and `payload`. `payload`, if present,
//! is the last column and takes the rest of the line, commas included. An event's payload is the
//! `payload` column, else the `id` column. Bad input is refused before the run with
//! `file:line: message`.

use std::path::Path;
use std::sync::Arc;

use super::super::event::Payload;

/// One row: when it arrives (ns after the trace's first arrival) and its demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceRow {
    pub at_ns: u64,
    pub service_ns: u64,
    pub payload: Option<Payload>,
}

/// A trace, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceFile {
    pub name: String,
    pub rows: Vec<TraceRow>,
}

/// Why a trace cannot be replayed: `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TraceError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Where each column is.
struct Columns {
    arrival: (usize, f64),
    service: (usize, f64),
    id: Option<usize>,
    payload: Option<usize>,
    count: usize,
}

/// Traces shipped inside the binary under their path in the repository, so a bundled scenario
/// (or `--source trace:assets/traces/...`) replays them from any directory.
pub const BUNDLED_TRACES: &[(&str, &str)] = &[
    (
        "assets/traces/article.csv",
        include_str!("../../../assets/traces/article.csv"),
    ),
    (
        "assets/traces/bursty-api.csv",
        include_str!("../../../assets/traces/bursty-api.csv"),
    ),
];

impl TraceFile {
    /// The file at `path` if there is one, else the bundled trace of that path (see
    /// [`BUNDLED_TRACES`]).
    pub fn open(path: &Path) -> Result<Arc<Self>, TraceError> {
        if !path.exists() {
            let wanted = path.to_string_lossy();
            let wanted = wanted.trim_start_matches("./");
            if let Some((name, text)) = BUNDLED_TRACES.iter().find(|(name, _)| *name == wanted) {
                return Self::parse(text, name).map(Arc::new);
            }
        }
        Self::load(path)
    }

    pub fn load(path: &Path) -> Result<Arc<Self>, TraceError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TraceError {
            file: name.clone(),
            line: 0,
            message: format!("cannot read the trace: {e}"),
        })?;
        Self::parse(&text, &name).map(Arc::new)
    }

    pub fn parse(text: &str, name: &str) -> Result<Self, TraceError> {
        let fail = |line: usize, message: String| TraceError {
            file: name.to_string(),
            line,
            message,
        };
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
            .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        let (header_line, header) = lines.next().ok_or_else(|| {
            fail(
                1,
                "empty trace: expected a header such as arrival_s,service_s".into(),
            )
        })?;
        let columns = Columns::of(header).map_err(|m| fail(header_line, m))?;
        let mut rows = Vec::new();
        let mut first: Option<f64> = None;
        let mut last = f64::NEG_INFINITY;
        for (n, line) in lines {
            let (arrival, row) = columns.row(line).map_err(|m| fail(n, m))?;
            if arrival < last {
                return Err(fail(
                    n,
                    format!(
                        "arrival {arrival} s comes before the one above it ({last} s): arrivals must never go back"
                    ),
                ));
            }
            last = arrival;
            let origin = *first.get_or_insert(arrival);
            rows.push(TraceRow {
                at_ns: ((arrival - origin) * 1e9).round() as u64,
                ..row
            });
        }
        if rows.is_empty() {
            return Err(fail(
                header_line,
                "the trace has a header and no rows".into(),
            ));
        }
        Ok(Self {
            name: name.to_string(),
            rows,
        })
    }

    /// From the first arrival to the last, ns.
    pub fn span_ns(&self) -> u64 {
        self.rows.last().map_or(0, |r| r.at_ns)
    }

    /// The trace's own mean rate, events per second: rows over their span (one row a second
    /// for a trace of one row or of simultaneous rows).
    pub fn mean_rate_per_s(&self) -> f64 {
        let n = self.rows.len() as f64;
        if self.span_ns() == 0 {
            return n.max(1.0);
        }
        (n - 1.0).max(1.0) / (self.span_ns() as f64 / 1e9)
    }

    /// One pass's length when looping: the span and one mean gap, so the pass after starts one
    /// gap after this one's last arrival.
    pub fn period_ns(&self) -> u64 {
        self.span_ns() + (1e9 / self.mean_rate_per_s()).round() as u64
    }
}

impl Columns {
    fn of(header: &str) -> Result<Self, String> {
        let names: Vec<&str> = header.split(',').map(str::trim).collect();
        let find = |name: &str| names.iter().position(|n| *n == name);
        let timed = |base: &str| match (find(&format!("{base}_s")), find(&format!("{base}_ms"))) {
            (Some(i), None) => Ok((i, 1.0)),
            (None, Some(i)) => Ok((i, 1e-3)),
            (Some(_), Some(_)) => Err(format!(
                "the header has both {base}_s and {base}_ms: keep one"
            )),
            (None, None) => Err(format!(
                "the header needs {base}_s or {base}_ms (got '{header}'); columns: arrival_s|arrival_ms, service_s|service_ms[, id][, payload]"
            )),
        };
        let payload = find("payload");
        if payload.is_some_and(|p| p + 1 != names.len()) {
            return Err("payload must be the last column (it takes the rest of the line)".into());
        }
        if let Some(unknown) = names.iter().find(|n| {
            !matches!(
                **n,
                "arrival_s" | "arrival_ms" | "service_s" | "service_ms" | "id" | "payload"
            )
        }) {
            return Err(format!(
                "unknown column '{unknown}'; columns: arrival_s|arrival_ms, service_s|service_ms[, id][, payload]"
            ));
        }
        Ok(Self {
            arrival: timed("arrival")?,
            service: timed("service")?,
            id: find("id"),
            payload,
            count: names.len(),
        })
    }

    /// A row's arrival (seconds, as written) and the row.
    fn row(&self, line: &str) -> Result<(f64, TraceRow), String> {
        let fields: Vec<&str> = line.splitn(self.count, ',').collect();
        if fields.len() < self.count {
            return Err(format!(
                "expected {} columns, got {}: '{line}'",
                self.count,
                fields.len()
            ));
        }
        let number = |(i, unit): (usize, f64), what: &str| -> Result<f64, String> {
            let text = fields[i].trim();
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * unit),
                _ => Err(format!(
                    "{what} '{text}' is not a number of seconds (or ms) ≥ 0"
                )),
            }
        };
        let arrival = number(self.arrival, "arrival")?;
        let service = number(self.service, "service")?;
        if service > super::super::settings::MAX_SERVICE.as_secs_f64() {
            return Err(format!(
                "service {service} s is longer than the longest accepted (24h)"
            ));
        }
        let payload = self
            .payload
            .or(self.id)
            .map(|i| fields[i].as_bytes().to_vec().into_boxed_slice());
        let row = TraceRow {
            at_ns: 0,
            service_ns: (service * 1e9).round() as u64,
            payload,
        };
        Ok((arrival, row))
    }
}

/// Where a replay is: the next row, the passes left, and how trace time maps to model time.
#[derive(Debug, Clone)]
pub struct Replay {
    file: Arc<TraceFile>,
    index: usize,
    /// Passes still to play after this one.
    loops_left: u64,
    /// Model ns of this pass's trace time zero, and model ns per trace ns.
    base_ns: f64,
    scale: f64,
}

impl Replay {
    /// Plays `file` `passes` times (at least once), its first row at `start_ns`, at `rate_per_s`
    /// (the trace's own rate plays it as recorded).
    pub fn new(file: Arc<TraceFile>, passes: u64, start_ns: u64, rate_per_s: f64) -> Self {
        let scale = file.mean_rate_per_s() / rate_per_s.max(f64::MIN_POSITIVE);
        Self {
            file,
            index: 0,
            loops_left: passes.max(1) - 1,
            base_ns: start_ns as f64,
            scale,
        }
    }

    fn row(&self) -> Option<&TraceRow> {
        self.file.rows.get(self.index)
    }

    /// When the next row is due, model ns; `u64::MAX` when the trace is over.
    pub fn next_due_ns(&self) -> u64 {
        self.row().map_or(u64::MAX, |r| {
            (self.base_ns + r.at_ns as f64 * self.scale).round() as u64
        })
    }

    /// The next row's demand and payload.
    pub fn next_row(&self) -> Option<&TraceRow> {
        self.row()
    }

    /// Moves on to the row after the next, starting another pass after the last if any is left.
    pub fn advance(&mut self) {
        self.index += 1;
        if self.index == self.file.rows.len() && self.loops_left > 0 {
            self.loops_left -= 1;
            self.index = 0;
            self.base_ns += self.file.period_ns() as f64 * self.scale;
        }
    }

    /// Replays from `now_ns` at `rate_per_s`: the next row comes after its own gap (from the row
    /// before it), scaled to the new rate; so a pause does not bring a burst of rows.
    pub fn retime(&mut self, now_ns: u64, rate_per_s: f64) {
        let Some(at_ns) = self.row().map(|r| r.at_ns) else {
            return;
        };
        let gap = match self.index.checked_sub(1) {
            Some(prev) => at_ns - self.file.rows[prev].at_ns,
            None => 0,
        };
        self.scale = self.file.mean_rate_per_s() / rate_per_s.max(f64::MIN_POSITIVE);
        let next = now_ns as f64 + gap as f64 * self.scale;
        self.base_ns = next - at_ns as f64 * self.scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TraceFile, String> {
        TraceFile::parse(text, "t.csv").map_err(|e| e.to_string())
    }

    #[test]
    fn rows_keep_their_gaps_from_the_first_arrival() {
        let t =
            parse("arrival_s,service_ms,payload\n10,5,a\n10.5,7,b,with,commas\n12,0,\n").unwrap();
        let at: Vec<u64> = t.rows.iter().map(|r| r.at_ns).collect();
        assert_eq!(at, [0, 500_000_000, 2_000_000_000]);
        assert_eq!(t.rows[1].service_ns, 7_000_000);
        assert_eq!(t.rows[1].payload.as_deref(), Some(&b"b,with,commas"[..]));
        // 3 rows over 2 s: one a second.
        assert!((t.mean_rate_per_s() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn bad_traces_are_refused_with_file_line_and_what_is_wrong() {
        for (text, says) in [
            ("", "t.csv:1: empty trace"),
            (
                "service_s\n1\n",
                "t.csv:1: the header needs arrival_s or arrival_ms",
            ),
            (
                "arrival_s,service_s,colour\n",
                "t.csv:1: unknown column 'colour'",
            ),
            (
                "arrival_s,service_s\n",
                "t.csv:1: the trace has a header and no rows",
            ),
            (
                "arrival_s,service_s\n1,2\n0.5,1\n",
                "t.csv:3: arrival 0.5 s comes before",
            ),
            (
                "arrival_s,service_s\n1\n",
                "t.csv:2: expected 2 columns, got 1",
            ),
            (
                "arrival_s,service_s\n1,fast\n",
                "t.csv:2: service 'fast' is not a number",
            ),
            (
                "# a comment\narrival_s,service_s\n\n1,-2\n",
                "t.csv:4: service '-2'",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_replay_loops_and_follows_the_rate() {
        let t = Arc::new(parse("arrival_s,service_s\n0,0\n1,0\n2,0\n").unwrap());
        // Twice at the trace's own rate (1/s): 0, 1, 2, then 3, 4, 5 s.
        let mut r = Replay::new(Arc::clone(&t), 2, 0, 1.0);
        let mut due = Vec::new();
        while r.next_due_ns() != u64::MAX {
            due.push(r.next_due_ns() / 1_000_000_000);
            r.advance();
        }
        assert_eq!(due, [0, 1, 2, 3, 4, 5]);
        // At twice the rate from 10 s on, after the first row: gaps of half a second.
        let mut r = Replay::new(t, 1, 0, 1.0);
        r.advance();
        r.retime(10_000_000_000, 2.0);
        assert_eq!(r.next_due_ns(), 10_500_000_000);
        r.advance();
        assert_eq!(r.next_due_ns(), 11_000_000_000);
    }
}
