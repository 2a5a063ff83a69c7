//! A run log as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing open: a
//! track per worker with a slice per job, each event's time in the queue as an async slice, the
//! queue depth and busy workers as counters, changes and captions as global instants.

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::{Value, json};

use crate::engine::Trace;
use crate::engine::work::Outcome;
use crate::runlog::{MarkKind, RunLog, RunLogError};

/// The one process of the trace.
const PID: u32 = 1;
/// The track of the source and the queue; workers are tracks 1, 2, ...
const SOURCE_TID: u32 = 0;

/// The part of the run to export, model ns: the jobs that start inside it (with their waits
/// and ends), the counters, changes and drops inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from_ns: u64,
    pub to_ns: u64,
}

impl Window {
    pub const ALL: Window = Window {
        from_ns: 0,
        to_ns: u64::MAX,
    };

    fn holds(&self, t_ns: u64) -> bool {
        (self.from_ns..=self.to_ns).contains(&t_ns)
    }
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    pub events: u64,
    pub jobs: u64,
}

/// One trace event, before it is written: its time orders the file.
struct Entry {
    ts_ns: u64,
    /// The event, serialized (a `Value` per event would take several times the memory).
    line: String,
}

/// Microseconds with the nanoseconds kept (the format's unit is µs; fractions are allowed).
fn us(ns: u64) -> f64 {
    ns as f64 / 1e3
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn outcome_text(outcome: Outcome) -> String {
    match outcome {
        Outcome::Succeeded { result: Some(r) } => format!("succeeded (result {r})"),
        Outcome::Succeeded { result: None } => "succeeded".into(),
        Outcome::Failed(failure) => format!("failed: {}", failure.text()),
    }
}

/// A job a worker holds, waiting for its finish.
struct Held {
    worker: u32,
    start_ns: u64,
    demand_ns: u64,
    wait_ns: u64,
}

/// Turns trace records into trace events; keeps what a job's later records need.
struct Builder {
    window: Window,
    entries: Vec<Entry>,
    arrivals: HashMap<u64, u64>,
    held: HashMap<u64, Held>,
    workers: std::collections::BTreeSet<u32>,
    jobs: u64,
}

impl Builder {
    fn push(&mut self, ts_ns: u64, value: Value) {
        self.entries.push(Entry {
            ts_ns,
            line: value.to_string(),
        });
    }

    fn record(&mut self, trace: &Trace) {
        match *trace {
            Trace::Submitted {
                id,
                at_ns,
                blocked_ns,
            } => {
                self.arrivals.insert(id, at_ns.saturating_sub(blocked_ns));
            }
            Trace::Dropped { id, at_ns, .. } => {
                self.arrivals.remove(&id);
                if self.window.holds(at_ns) {
                    let name = format!("dropped event {id}");
                    self.push(at_ns, instant(&name, "t", SOURCE_TID, at_ns));
                }
            }
            Trace::Started {
                worker,
                id,
                at_ns,
                demand_ns,
            } => self.started(worker, id, at_ns, demand_ns),
            Trace::Finished {
                id, at_ns, outcome, ..
            } => self.finished(id, at_ns, outcome),
            Trace::WorkerUp { worker, .. } => {
                self.workers.insert(worker);
            }
            Trace::WorkerDown { .. } | Trace::SourceEnded { .. } => {}
        }
    }

    fn started(&mut self, worker: u32, id: u64, start_ns: u64, demand_ns: u64) {
        let arrival_ns = self.arrivals.remove(&id).unwrap_or(start_ns).min(start_ns);
        self.workers.insert(worker);
        if !self.window.holds(start_ns) {
            return;
        }
        // The wait: an async slice (waits overlap, which `X` slices on one track cannot).
        let wait = |ph: &str, ts_ns: u64| {
            json!({"ph": ph, "cat": "queue", "name": "queued", "id": id, "pid": PID,
                   "tid": SOURCE_TID, "ts": us(ts_ns), "args": {"event": id}})
        };
        self.push(arrival_ns, wait("b", arrival_ns));
        self.push(start_ns, wait("e", start_ns));
        self.held.insert(
            id,
            Held {
                worker,
                start_ns,
                demand_ns,
                wait_ns: start_ns - arrival_ns,
            },
        );
    }

    fn finished(&mut self, id: u64, end_ns: u64, outcome: Outcome) {
        if let Some(job) = self.held.remove(&id) {
            self.job(id, &job, end_ns.max(job.start_ns), &outcome_text(outcome));
        }
    }

    fn job(&mut self, id: u64, job: &Held, end_ns: u64, outcome: &str) {
        self.jobs += 1;
        let slice = json!({
            "ph": "X", "cat": "job", "name": format!("event {id}"), "pid": PID,
            "tid": job.worker, "ts": us(job.start_ns), "dur": us(end_ns - job.start_ns),
            "args": {"queue_wait_ms": ms(job.wait_ns), "demand_ms": ms(job.demand_ns),
                     "outcome": outcome}
        });
        self.push(job.start_ns, slice);
    }

    /// Jobs still held when the log ends: slices up to its end, marked unfinished.
    fn close(&mut self, end_ns: u64) {
        let mut held: Vec<(u64, Held)> = self.held.drain().collect();
        held.sort_by_key(|(id, _)| *id);
        for (id, job) in held {
            self.job(
                id,
                &job,
                end_ns.max(job.start_ns),
                "unfinished when the log ends",
            );
        }
    }
}

fn instant(name: &str, scope: &str, tid: u32, at_ns: u64) -> Value {
    json!({"ph": "i", "s": scope, "name": name, "pid": PID, "tid": tid, "ts": us(at_ns)})
}

fn metadata(name: &str, tid: u32, value: &str) -> Value {
    json!({"ph": "M", "name": name, "pid": PID, "tid": tid, "args": {"name": value}})
}

/// The counters, from the series the monitor showed (each point once).
fn counters(log: &RunLog, window: Window, entries: &mut Vec<Entry>) -> Result<(), RunLogError> {
    let mut last_t = None;
    for snapshot in log.snapshots() {
        let snapshot = snapshot?;
        for p in &snapshot.series {
            if last_t.is_some_and(|t| p.t_ns <= t) || !window.holds(p.t_ns) {
                continue;
            }
            last_t = Some(p.t_ns);
            let counter = |name: &str, key: &str, v: u64| Entry {
                ts_ns: p.t_ns,
                line: json!({"ph": "C", "name": name, "pid": PID, "ts": us(p.t_ns),
                             "args": {key: v}})
                .to_string(),
            };
            entries.push(counter("queue depth", "queued", p.queue_depth));
            entries.push(counter("busy workers", "busy", u64::from(p.busy_workers)));
        }
    }
    Ok(())
}

/// The trace's events, in time order (metadata first), and what they hold.
pub fn events(log: &RunLog, window: Window) -> Result<(Vec<String>, Written), RunLogError> {
    let mut builder = Builder {
        window,
        entries: Vec::new(),
        arrivals: HashMap::new(),
        held: HashMap::new(),
        workers: std::collections::BTreeSet::new(),
        jobs: 0,
    };
    let mut traces = log.traces()?;
    traces.sort_by_key(Trace::at_ns);
    for trace in &traces {
        builder.record(trace);
    }
    let (_, end_ns) = log.span_ns();
    builder.close(end_ns.max(traces.last().map_or(0, Trace::at_ns)));
    for mark in log.marks() {
        // Changes, captions and losses are moments to see; steps repeat the changes, and the
        // autoscaler's tallies are figures for the summary.
        let moment = !matches!(mark.kind, MarkKind::Step | MarkKind::Autoscale);
        if window.holds(mark.at_ns) && moment {
            builder.push(mark.at_ns, instant(&mark.text, "g", SOURCE_TID, mark.at_ns));
        }
    }
    counters(log, window, &mut builder.entries)?;
    let mut entries = builder.entries;
    entries.sort_by_key(|e| e.ts_ns);
    let mut events = vec![
        json!({"ph": "M", "name": "process_name", "pid": PID, "args": {"name": "backlog"}})
            .to_string(),
        metadata("thread_name", SOURCE_TID, "source and queue").to_string(),
    ];
    events.extend(
        builder
            .workers
            .iter()
            .map(|w| metadata("thread_name", *w, &format!("worker {w}")).to_string()),
    );
    events.extend(entries.into_iter().map(|e| e.line));
    let written = Written {
        events: events.len() as u64,
        jobs: builder.jobs,
    };
    Ok((events, written))
}

/// `{"displayTimeUnit": "ms", "traceEvents": [...]}`, one event a line.
pub fn write_events(out: &mut impl Write, events: &[String]) -> io::Result<()> {
    out.write_all(b"{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n")?;
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            out.write_all(b",\n")?;
        }
        out.write_all(event.as_bytes())?;
    }
    out.write_all(b"\n]}\n")
}
