//! `backlog replay FILE`: a saved run shown again. Headless, it rebuilds the log, the JSON
//! summary and the CSV from the recorded snapshots through the code the live run uses; without
//! `--headless`, the monitor shows the recorded snapshots on a replay clock, with seek.

pub mod bar;
pub mod clock;
pub mod monitor;

use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use crate::cli::ReplayArgs;
use crate::engine::{Snapshot, Trace};
use crate::error::Error;
use crate::headless::{self, CsvWriter, LogLine, Summary};
use crate::model::warning_history::WarningHistory;
use crate::runlog::{MarkKind, RunLog};

/// Opens the log and shows it as asked.
pub fn run(args: &ReplayArgs) -> Result<(), Error> {
    let log = RunLog::open(&args.file)?;
    if let Some(note) = cut_short_note(&log) {
        eprintln!("backlog: {note}");
    }
    if args.headless {
        headless_replay(&log, args)
    } else {
        monitor::run(&log, args)
    }
}

/// A warning for a log that was cut short (it replays up to its last whole frame).
pub fn cut_short_note(log: &RunLog) -> Option<String> {
    let at = log.cut_at?;
    let (_, last_ns) = log.span_ns();
    Some(format!(
        "note: {} was cut short at byte {at} (the run did not close it): replaying up to {:.3}s, its last whole frame",
        log.name(),
        last_ns as f64 / 1e9
    ))
}

/// The autoscaling policy's tallies, as the live run's summary gave them (its last mark).
fn autoscale_tallies(log: &RunLog) -> Option<crate::model::autoscale::AutoscaleJson> {
    log.marks()
        .iter()
        .rev()
        .find(|m| m.kind == MarkKind::Autoscale)
        .and_then(|m| serde_json::from_str(&m.text).ok())
}

/// The last snapshot and the lints every recorded snapshot showed: what the live summary was
/// made of. Writes the CSV on the way, as the live run does.
pub fn summary_inputs(
    log: &RunLog,
    mut csv: Option<&mut CsvWriter>,
) -> Result<(Arc<Snapshot>, WarningHistory), Error> {
    let mut warnings = WarningHistory::default();
    let mut last = None;
    for snapshot in log.snapshots() {
        let snapshot = snapshot?;
        warnings.observe(&snapshot);
        if let Some(csv) = csv.as_deref_mut() {
            csv.append(&snapshot.series).map_err(Error::Output)?;
        }
        last = Some(snapshot);
    }
    let last =
        last.ok_or_else(|| Error::Usage(format!("{}: no snapshot to replay", log.name())))?;
    Ok((last, warnings))
}

fn headless_replay(log: &RunLog, args: &ReplayArgs) -> Result<(), Error> {
    let mut csv = match &args.csv {
        Some(path) => Some(CsvWriter::create(path).map_err(|source| Error::Unwritable {
            option: "--csv",
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let (last, warnings) = summary_inputs(log, csv.as_mut())?;
    if let Some(csv) = csv {
        csv.finish().map_err(Error::Output)?;
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = if args.json {
        let summary = Summary {
            autoscale: autoscale_tallies(log),
            ..Summary::from_snapshot(&last, &warnings)
        };
        serde_json::to_writer_pretty(&mut out, &summary)
            .map_err(io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        write_log(&mut out, log, &last)
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::Output),
    }
}

/// The log as the live headless run printed it: the settings line, every record and scenario
/// line in time order, the closing lines.
fn write_log(out: &mut impl Write, log: &RunLog, last: &Snapshot) -> io::Result<()> {
    let first = log
        .snapshots()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| Arc::new(last.clone()));
    let info = &log.info;
    writeln!(
        out,
        "{}",
        headless::describe(&info.settings, info.seed, &first.source)
    )?;
    writeln!(out, "# replay of {}", log.name())?;
    let mut traces = log.traces().map_err(io::Error::other)?;
    traces.sort_by_key(Trace::at_ns);
    let mut lines = log
        .marks()
        .iter()
        .filter(|m| matches!(m.kind, MarkKind::Step | MarkKind::Lost))
        .peekable();
    let mut started = false;
    for trace in &traces {
        while let Some(mark) = lines.next_if(|m| m.at_ns <= trace.at_ns()) {
            writeln!(out, "{}", mark_line(mark))?;
        }
        // The pool coming up at the start is not news (as in the live log).
        started |= matches!(trace, Trace::Submitted { .. });
        if started || !matches!(trace, Trace::WorkerUp { .. }) {
            writeln!(out, "{}", LogLine(trace))?;
        }
    }
    for mark in lines {
        writeln!(out, "{}", mark_line(mark))?;
    }
    for line in headless::closing_lines(last) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn mark_line(mark: &crate::runlog::Mark) -> String {
    match mark.kind {
        MarkKind::Lost => format!("# {:.3}s {}", mark.at_ns as f64 / 1e9, mark.text),
        _ => mark.text.clone(),
    }
}
