//! Where a sweep's results go: the table, the chart and the SLO's answer on stdout (or one
//! JSON object), a CSV row per point, an SVG plot. Files are created before anything runs.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Sweep;
use super::chart::{self, ChartData};
use super::figures::Figures;
use super::point::Point;
use super::runner::{Results, SloAnswer};
use super::{SweepArgs, svg, table};
use crate::engine::Settings;
use crate::error::Error;

/// Height of the terminal chart, rows; its width follows the terminal (80 when not one).
const CHART_ROWS: u16 = 18;
const CHART_COLUMNS: u16 = 80;

/// The outputs asked for, their files open.
pub struct Outputs {
    json: bool,
    csv: Option<(PathBuf, File)>,
    svg: Option<(PathBuf, File)>,
}

fn create(option: &'static str, path: &Path) -> Result<(PathBuf, File), Error> {
    File::create(path)
        .map(|file| (path.to_path_buf(), file))
        .map_err(|source| Error::Unwritable {
            option,
            path: path.to_path_buf(),
            source,
        })
}

impl Outputs {
    pub fn open(args: &SweepArgs) -> Result<Self, Error> {
        Ok(Self {
            json: args.base.json,
            csv: args
                .base
                .csv
                .as_deref()
                .map(|p| create("--csv", p))
                .transpose()?,
            svg: args
                .svg
                .as_deref()
                .map(|p| create("--svg", p))
                .transpose()?,
        })
    }

    /// Writes every output. A reader that closed stdout early had what it wanted.
    pub fn write(self, sweep: &Sweep, results: &Results) -> Result<(), Error> {
        let text = if self.json {
            json(sweep, results)
        } else {
            human(results)
        };
        let mut stdout = io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(Error::Output(e)),
            _ => {}
        }
        if let Some((path, file)) = self.csv {
            write_file(file, csv(&results.points).as_bytes(), &path, "--csv")?;
        }
        if let Some((path, file)) = self.svg {
            let plot = svg::render(&results.points, &title(&sweep.base.settings))
                .map_err(|e| Error::Output(io::Error::other(format!("--svg: {e}"))))?;
            write_file(file, plot.as_bytes(), &path, "--svg")?;
        }
        Ok(())
    }
}

fn write_file(
    mut file: File,
    bytes: &[u8],
    path: &Path,
    option: &'static str,
) -> Result<(), Error> {
    file.write_all(bytes)
        .and_then(|()| file.flush())
        .map_err(|source| Error::Unwritable {
            option,
            path: path.to_path_buf(),
            source,
        })
}

/// "backlog sweep: poisson arrivals, exp 500ms service, sleep work".
fn title(s: &Settings) -> String {
    format!(
        "backlog sweep: {} arrivals, {} {} service, {} work",
        s.arrival,
        s.service_dist,
        crate::engine::settings::format_duration(s.service),
        s.work
    )
}

/// The table, the chart (plain text unless stdout is a terminal) and the SLO's answer.
fn human(results: &Results) -> String {
    let mut out = table::render(&results.points);
    let terminal = io::stdout().is_terminal();
    match ChartData::of(&results.points) {
        Some(data) if results.points.len() > 1 => {
            let width = crossterm::terminal::size()
                .ok()
                .filter(|_| terminal)
                .map_or(CHART_COLUMNS, |(w, _)| w.clamp(40, 200));
            out.push('\n');
            out.push_str(&chart::text(&data, width, CHART_ROWS, terminal));
        }
        Some(_) => {}
        None => out.push_str("(no chart for a grid of two parameters: see --svg or --json)\n"),
    }
    if let Some(slo) = &results.slo {
        out.push_str(&format!("\nslo {}: {}\n", slo.expr, slo.message));
    }
    if results.interrupted {
        out.push_str(&format!(
            "\ninterrupted: {} point{} done\n",
            results.points.len(),
            if results.points.len() == 1 { "" } else { "s" }
        ));
    }
    out
}

/// The JSON object of `--json`.
#[derive(Serialize)]
struct Report<'a> {
    grid: Grid<'a>,
    base: Base<'a>,
    points: &'a [Point],
    slo: Option<&'a SloAnswer>,
    interrupted: bool,
}

#[derive(Serialize)]
struct Grid<'a> {
    workers: &'a [usize],
    rate_per_s: &'a [f64],
    point_duration_s: f64,
    precision: Option<f64>,
}

#[derive(Serialize)]
struct Base<'a> {
    #[serde(flatten)]
    settings: &'a Settings,
    source: &'static str,
    seed: u64,
    speed: f64,
    cores: usize,
}

fn json(sweep: &Sweep, results: &Results) -> String {
    let report = Report {
        grid: Grid {
            workers: &sweep.workers,
            rate_per_s: &sweep.rates,
            point_duration_s: sweep.plan.duration.as_secs_f64(),
            precision: sweep.plan.precision,
        },
        base: Base {
            settings: &sweep.base.settings,
            source: sweep.base.source.name(),
            seed: sweep.base.seed,
            speed: sweep.base.speed,
            cores: sweep.base.cores,
        },
        points: &results.points,
        slo: results.slo.as_ref(),
        interrupted: results.interrupted,
    };
    let mut text = serde_json::to_string_pretty(&report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot write the report: {e}\"}}"));
    text.push('\n');
    text
}

type Column = (&'static str, fn(&Figures) -> Option<f64>);

/// The figures of the CSV, measured then predicted, in the JSON's names.
fn csv_figures() -> [Column; 9] {
    [
        ("throughput_per_s", |f| f.throughput_per_s),
        ("drop_fraction", |f| f.drop_fraction),
        ("mean_wait_ms", |f| f.mean_wait_ms),
        ("p50_wait_ms", |f| f.p50_wait_ms),
        ("p95_wait_ms", |f| f.p95_wait_ms),
        ("p99_wait_ms", |f| f.p99_wait_ms),
        ("e2e_mean_ms", |f| f.e2e_mean_ms),
        ("e2e_p99_ms", |f| f.e2e_p99_ms),
        ("mean_wait_ms_ci95_hw", |f| {
            f.mean_wait_ms_ci95.map(|[lo, hi]| (hi - lo) / 2.0)
        }),
    ]
}

/// A row per point; empty cells where a figure is undefined.
pub fn csv(points: &[Point]) -> String {
    let mut head = vec!["workers", "rate_per_s", "rho", "overloaded", "growth_per_s"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let columns = csv_figures();
    for side in ["measured", "predicted"] {
        head.extend(columns.iter().map(|(name, _)| format!("{side}_{name}")));
    }
    head.extend(["duration_s", "warmup_s", "method"].map(String::from));
    let mut out = head.join(",") + "\n";
    let cell = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for p in points {
        let mut row = vec![
            p.workers.to_string(),
            p.rate_per_s.to_string(),
            cell(p.rho),
            p.overloaded.to_string(),
            p.growth_per_s.to_string(),
        ];
        for figures in [&p.measured.figures, &p.predicted.figures] {
            row.extend(columns.iter().map(|(_, f)| cell(f(figures))));
        }
        row.push(p.measured.duration_s.to_string());
        row.push(p.measured.warmup_s.to_string());
        row.push(format!("\"{}\"", p.predicted.method.replace('"', "'")));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}
