//! `backlog export FILE`: a run log in another tool's format (Perfetto's, for now).

pub mod perfetto;

use std::io::{BufWriter, Write};

use crate::cli::ExportArgs;
use crate::error::Error;
use crate::runlog::RunLog;

/// Past this size the viewers slow down badly (ui.perfetto.dev keeps the whole trace in the
/// browser's memory; chrome://tracing is slower still).
pub const LARGE_BYTES: u64 = 256 << 20;

pub fn run(args: &ExportArgs) -> Result<(), Error> {
    let window = window(args)?;
    let log = RunLog::open(&args.file)?;
    if let Some(note) = crate::replay::cut_short_note(&log) {
        eprintln!("backlog: {note}");
    }
    let (events, written) = perfetto::events(&log, window)?;
    let unwritable = |source| Error::Unwritable {
        option: "--perfetto",
        path: args.perfetto.clone(),
        source,
    };
    let file = std::fs::File::create(&args.perfetto).map_err(unwritable)?;
    let mut out = BufWriter::new(file);
    perfetto::write_events(&mut out, &events)
        .and_then(|()| out.flush())
        .map_err(Error::Output)?;
    let bytes = std::fs::metadata(&args.perfetto).map_or(0, |m| m.len());
    eprintln!(
        "backlog: wrote {} ({} events, {} jobs, {:.1} MB): open it in ui.perfetto.dev or chrome://tracing",
        args.perfetto.display(),
        written.events,
        written.jobs,
        bytes as f64 / 1e6
    );
    if bytes > LARGE_BYTES {
        eprintln!(
            "backlog: warning: {} is over {} MB: the viewers grow slow past that; export a window with --from and --to",
            args.perfetto.display(),
            LARGE_BYTES >> 20
        );
    }
    if let Some(lost) = log.end.map(|e| e.lost_traces).filter(|n| *n > 0) {
        eprintln!(
            "backlog: warning: the log lost {lost} trace records while it was written: some jobs are missing"
        );
    }
    Ok(())
}

fn window(args: &ExportArgs) -> Result<perfetto::Window, Error> {
    let ns = |d: std::time::Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let from_ns = args.from.map_or(0, ns);
    let to_ns = args.to.map_or(u64::MAX, ns);
    if from_ns >= to_ns {
        return Err(Error::Usage(format!(
            "--from must come before --to (got --from {:.3}s --to {:.3}s)",
            from_ns as f64 / 1e9,
            to_ns as f64 / 1e9
        )));
    }
    Ok(perfetto::Window { from_ns, to_ns })
}
