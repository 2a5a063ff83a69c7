//! `backlog sweep`'s options: the run options as the base, with `--workers` and `--rate` taking
//! grids instead of single values, and the sweep's own.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::builder::Resettable;

use super::grid::{self, RateGrid, WorkerGrid};
use super::slo::{self, Slo};
use crate::cli::RunArgs;
use crate::engine::settings;

// The run options keep their ids (so `RunArgs` reads them as always) but `--workers` and
// `--rate` move aside for the grids; `--json` and `--csv` need no `--headless` here; the
// monitor's and the run's own ends are hidden (a sweep is headless, and ends each point
// itself: they are refused if given).
#[derive(Debug, Args)]
#[command(
    mut_arg("workers", |a| a.long("base-workers").hide(true)),
    mut_arg("rate", |a| a.long("base-rate").hide(true)),
    mut_arg("json", |a| a.requires(Resettable::<clap::Id>::Reset).help(
        "Print one JSON object (the grid, the base settings, every point measured beside its prediction, the SLO's answer) instead of the table and chart."
    )),
    mut_arg("csv", |a| a.requires(Resettable::<clap::Id>::Reset).help("Write a row per point to FILE as CSV.")),
    mut_arg("headless", |a| a.hide(true)),
    mut_arg("fps", |a| a.hide(true)),
    mut_arg("exit_when_done", |a| a.hide(true)),
    mut_arg("record", |a| a.hide(true)),
    mut_arg("offscreen", |a| a.hide(true)),
    mut_arg("size", |a| a.hide(true)),
    mut_arg("scenario", |a| a.hide(true)),
    mut_arg("list_scenarios", |a| a.hide(true)),
    mut_arg("duration", |a| a.hide(true)),
    mut_arg("events", |a| a.hide(true)),
)]
pub struct SweepArgs {
    #[command(flatten)]
    pub base: RunArgs,

    /// Worker counts to sweep: 4, 1..12 (every count), 1..32:4 (4 evenly spaced counts),
    /// 1..64:7:log (log-spaced), or 1,2,4,8. [default: 4; with --slo: 1 to --max-workers]
    #[arg(long = "workers", id = "sweep_workers", value_name = "GRID", value_parser = grid::parse_workers, help_heading = "Sweep")]
    pub workers: Option<WorkerGrid>,

    /// Arrival rates to sweep: 9/s, 5/s..50/s:10 (10 evenly spaced rates), 1/s..1000/s:7:log,
    /// or 5/s,10/s,20/s. [default: 9/s]
    #[arg(long = "rate", id = "sweep_rate", value_name = "GRID", value_parser = grid::parse_rates, allow_hyphen_values = true, help_heading = "Sweep")]
    pub rate: Option<RateGrid>,

    /// Model time each point is measured for, after a warm-up it chooses (at most a fifth of
    /// this); with --precision, the longest a point runs.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = positive_duration, help_heading = "Sweep")]
    pub point_duration: Duration,

    /// End a point early once its mean wait's 95% interval is within this share of the mean:
    /// 5% or 0.05.
    #[arg(long, value_name = "SHARE", value_parser = parse_precision, help_heading = "Sweep")]
    pub precision: Option<f64>,

    /// Search the fewest workers (or, when --rate is swept, the highest rate) that meet an
    /// objective: p99<2s, p95<1s, mean<500ms, e2e.p99<3s, drop<1%, joined with ','. Bare
    /// percentiles are of the queue wait. The answer is checked by a run three times longer.
    #[arg(long, value_name = "OBJECTIVE", value_parser = slo::parse, help_heading = "Sweep")]
    pub slo: Option<Slo>,

    /// Plot the p99 and mean waits against the swept value, measured (with their 95% intervals)
    /// and predicted, to FILE as SVG.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub svg: Option<PathBuf>,
}

fn positive_duration(text: &str) -> Result<Duration, String> {
    let d = settings::parse_duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "must be longer than 0, got '{text}'; expected a duration such as 30s, 2m or 1h"
        ));
    }
    Ok(d)
}

fn parse_precision(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.trim().strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (text.trim(), 1.0),
    };
    number
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|p| *p > 0.0 && *p < 1.0)
        .ok_or_else(|| {
            format!("'{text}' is not a precision; expected a share of the mean above 0 and below 1, such as 5% or 0.05")
        })
}

impl SweepArgs {
    /// The run options that make no sense for a sweep, if one was given: named in the error.
    pub fn refused_option(&self) -> Option<(&'static str, &'static str)> {
        let b = &self.base;
        let ends = "each point ends itself: use --point-duration";
        let headless = "a sweep runs headless";
        [
            (b.duration.is_some(), "--duration", ends),
            (b.events.is_some(), "--events", ends),
            (b.record.is_some(), "--record", headless),
            (b.offscreen, "--offscreen", headless),
            (b.size.is_some(), "--size", headless),
            (b.exit_when_done, "--exit-when-done", headless),
            (
                b.scenario.is_some(),
                "--scenario",
                "a sweep runs steady settings, point by point",
            ),
            (
                b.list_scenarios,
                "--list-scenarios",
                "it is an option of the run itself",
            ),
        ]
        .into_iter()
        .find(|(given, ..)| *given)
        .map(|(_, option, why)| (option, why))
    }
}
