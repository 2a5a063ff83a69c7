//! `backlog sweep`: the real pipeline run once per point of a grid of worker counts and rates,
//! each point's measurements beside theory's prediction, and the search for the fewest workers
//! (or the highest rate) that meet an SLO. Its faces: a table and a chart on stdout, JSON, CSV
//! and SVG.

pub mod args;
pub mod chart;
pub mod figures;
pub mod grid;
pub mod measure;
pub mod output;
pub mod point;
pub mod predict;
pub mod progress;
pub mod runner;
pub mod search;
pub mod slo;
pub mod svg;
pub mod table;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use args::SweepArgs;

use crate::engine::{EngineConfig, SourceKind};
use crate::error::Error;
use point::PointPlan;
use slo::Slo;

/// How a sweep ended, for the exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Every point ran (or Ctrl-C stopped it and the points done were printed); an SLO, if
    /// asked, was met.
    Done,
    /// No candidate meets the SLO: the message says so (exit code 1).
    SloUnmet(String),
}

/// Which parameter an SLO search moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Searched {
    Workers,
    Rate,
}

/// A sweep, checked before anything runs.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The base configuration: the run options, the swept values not yet applied.
    pub base: EngineConfig,
    pub workers: Vec<usize>,
    pub rates: Vec<f64>,
    pub plan: PointPlan,
    pub slo: Option<(Slo, Searched)>,
}

impl Sweep {
    /// The sweep the options ask for; bad input is an error that exits 2.
    pub fn plan(args: &SweepArgs) -> Result<Self, Error> {
        if let Some((option, why)) = args.refused_option() {
            return Err(Error::Usage(format!(
                "{option} does not apply to sweep: {why} (see backlog sweep --help)"
            )));
        }
        let base = args.base.plan()?.config;
        if base.source == SourceKind::Stdin {
            return Err(Error::Usage(
                "--source stdin cannot be swept: each point needs its own events; use gen or trace:FILE".into(),
            ));
        }
        let slo_given = args.slo.is_some();
        let workers = match &args.workers {
            Some(grid) => grid.0.clone(),
            None if slo_given && args.rate.as_ref().is_none_or(|r| r.0.len() == 1) => {
                (1..=base.settings.max_workers).collect()
            }
            None => vec![base.settings.workers],
        };
        let rates = match &args.rate {
            Some(grid) => grid.0.clone(),
            None => vec![base.settings.rate.get()],
        };
        let points = workers.len().saturating_mul(rates.len());
        if points > grid::MAX_POINTS {
            return Err(Error::Usage(format!(
                "--workers and --rate make {points} points, more than the {} a sweep may have",
                grid::MAX_POINTS
            )));
        }
        // A value not swept is part of the base (what the JSON's `base` shows).
        let mut base = base;
        if let [workers] = workers[..] {
            base.settings.workers = workers;
        }
        if let [rate] = rates[..] {
            base.settings.rate = crate::engine::settings::Rate::per_s(rate)
                .map_err(|e| Error::Usage(format!("--rate {e}")))?;
        }
        let slo = match &args.slo {
            Some(slo) => Some((slo.clone(), searched(&workers, &rates)?)),
            None => None,
        };
        let sweep = Self {
            slo,
            base,
            workers,
            rates,
            plan: PointPlan {
                duration: args.point_duration,
                precision: args.precision,
            },
        };
        sweep.check_points()?;
        Ok(sweep)
    }

    /// Every point's settings are valid (a worker count above --max-workers is refused here).
    fn check_points(&self) -> Result<(), Error> {
        for (workers, rate) in self.grid() {
            self.settings(workers, rate)?.validate()?;
        }
        Ok(())
    }

    /// The grid's points, rate by rate, workers within.
    pub fn grid(&self) -> impl Iterator<Item = (usize, f64)> + '_ {
        self.rates
            .iter()
            .flat_map(|&rate| self.workers.iter().map(move |&workers| (workers, rate)))
    }

    /// The base settings with a point's values.
    pub fn settings(
        &self,
        workers: usize,
        rate_per_s: f64,
    ) -> Result<crate::engine::Settings, Error> {
        let rate = crate::engine::settings::Rate::per_s(rate_per_s)
            .map_err(|e| Error::Usage(format!("--rate {e}")))?;
        Ok(crate::engine::Settings {
            workers,
            rate,
            ..self.base.settings.clone()
        })
    }
}

/// What an SLO search moves: the workers, unless only the rate is swept; both is refused.
fn searched(workers: &[usize], rates: &[f64]) -> Result<Searched, Error> {
    match (workers.len() > 1, rates.len() > 1) {
        (true, true) => Err(Error::Usage(
            "--slo searches one parameter: sweep --workers or --rate, not both".into(),
        )),
        (false, true) => Ok(Searched::Rate),
        _ => Ok(Searched::Workers),
    }
}

/// Runs `backlog sweep`: checks the options, runs the points (Ctrl-C, SIGTERM or SIGHUP stops
/// the one running and reports those done), writes every output asked for.
pub fn run(args: &SweepArgs) -> Result<Ending, Error> {
    let sweep = Sweep::plan(args)?;
    let outputs = output::Outputs::open(args)?;
    let runtime = crate::runtime::multi_thread(1, "backlog-signals")?;
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals = runtime
        .block_on(async { crate::terminal::QuitSignals::new() })
        .map_err(|source| Error::System {
            what: "cannot watch for signals",
            source,
        })?;
    let raised = Arc::clone(&stop);
    runtime.spawn(async move {
        signals.recv().await;
        raised.store(true, Ordering::Release);
    });
    let results = runner::run(&sweep, &stop)?;
    outputs.write(&sweep, &results)?;
    Ok(match &results.slo {
        Some(answer) if answer.answer.is_none() && !results.interrupted => {
            Ending::SloUnmet(answer.message.clone())
        }
        _ => Ending::Done,
    })
}

/// For tests: M/M/c at 9 events/s and 500 ms (the sweep's defaults) with `workers`.
#[cfg(test)]
pub(crate) fn mmc_at_9_per_s(workers: usize) -> crate::engine::Settings {
    use crate::engine::settings::{ArrivalProcess, Rate, ServiceDist};
    crate::engine::Settings {
        arrival: ArrivalProcess::Poisson,
        rate: Rate::per_s(9.0).expect("a rate"),
        service: std::time::Duration::from_millis(500),
        service_dist: ServiceDist::Exp,
        workers,
        ..crate::engine::Settings::default()
    }
}
