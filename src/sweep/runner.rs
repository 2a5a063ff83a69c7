//! Runs a sweep's points one after another (they would disturb each other's timing on a small
//! machine): the whole grid, or an SLO search's probes and the longer run that verifies it.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;

use serde::Serialize;

use super::point::{self, Measured, Point, PointPlan};
use super::predict::predict;
use super::progress::Progress;
use super::search::{self, Found};
use super::slo::Slo;
use super::{Searched, Sweep};
use crate::engine::{SourceKind, WorkMode};
use crate::error::Error;
use crate::units;

/// The verifying run is this many times as long as a probe.
const VERIFY_FACTOR: u32 = 3;

/// What a sweep found.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Every point run, by rate, then workers.
    pub points: Vec<Point>,
    pub slo: Option<SloAnswer>,
    /// Ctrl-C (or SIGTERM, SIGHUP) stopped it: `points` are those done.
    pub interrupted: bool,
}

/// An SLO search's answer.
#[derive(Debug, Clone, Serialize)]
pub struct SloAnswer {
    pub expr: String,
    /// None when no candidate meets it (or the search was interrupted).
    pub answer: Option<Answer>,
    /// The verifying run's measured figures.
    pub verified: Option<Measured>,
    /// The answer in words, and how sure it is.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Workers(usize),
    RatePerS(f64),
}

pub fn run(sweep: &Sweep, stop: &AtomicBool) -> Result<Results, Error> {
    match &sweep.slo {
        None => run_grid(sweep, stop),
        Some((slo, searched)) => run_search(sweep, slo, *searched, stop),
    }
}

/// Runs points, showing the progress.
struct Runner<'a> {
    sweep: &'a Sweep,
    stop: &'a AtomicBool,
    progress: Progress,
}

impl Runner<'_> {
    fn point(
        &mut self,
        workers: usize,
        rate: f64,
        plan: &PointPlan,
    ) -> Result<Option<Point>, Error> {
        let settings = self.sweep.settings(workers, rate)?;
        self.progress.start(label(workers, rate));
        let progress = &mut self.progress;
        let point = point::run(&self.sweep.base, settings, plan, self.stop, &mut |f| {
            progress.update(f)
        })?;
        match &point {
            Some(p) => self.progress.point_done(&summary(p), p.measured.wall_s),
            None => self.progress.clear(),
        }
        Ok(point)
    }
}

/// "workers 5, 9/s".
fn label(workers: usize, rate: f64) -> String {
    format!("workers {workers}, {}", units::per_s(rate))
}

/// "p99 1.41s, mean 412ms" or "overloaded: grows 7/s".
pub fn summary(p: &Point) -> String {
    if p.overloaded {
        return format!(
            "overloaded: grows {}",
            units::per_s(p.growth_per_s.max(0.0))
        );
    }
    let show = |ms: Option<f64>| ms.map_or("-".into(), |ms| units::duration_s(ms / 1e3));
    format!(
        "wait p99 {}, mean {}",
        show(p.measured.figures.p99_wait_ms),
        show(p.measured.figures.mean_wait_ms)
    )
}

fn run_grid(sweep: &Sweep, stop: &AtomicBool) -> Result<Results, Error> {
    let total = sweep.workers.len() * sweep.rates.len();
    let mut runner = Runner {
        sweep,
        stop,
        progress: Progress::new(Some(total)),
    };
    let mut points = Vec::with_capacity(total);
    for (workers, rate) in sweep.grid() {
        match runner.point(workers, rate, &sweep.plan)? {
            Some(point) => points.push(point),
            None => {
                return Ok(Results {
                    points,
                    slo: None,
                    interrupted: true,
                });
            }
        }
    }
    Ok(Results {
        points,
        slo: None,
        interrupted: false,
    })
}

/// The search's candidates, ordered so that meeting the SLO is monotone (workers ascending,
/// rates descending), and the core count past which cpu workers add nothing, if that cut them.
fn candidates(sweep: &Sweep, searched: Searched) -> (Vec<(usize, f64)>, Option<usize>) {
    match searched {
        Searched::Rate => {
            let workers = sweep.workers[0];
            let rates = sweep.rates.iter().rev().map(|&r| (workers, r)).collect();
            (rates, None)
        }
        Searched::Workers => {
            let rate = sweep.rates[0];
            let mut workers: Vec<usize> = sweep.workers.clone();
            let cores = sweep.base.cores;
            let mut capped = None;
            let cpu = sweep.base.settings.work == WorkMode::Cpu;
            if cpu && workers.iter().any(|&w| w > cores) {
                let keep = workers.iter().filter(|&&w| w <= cores).count().max(1);
                workers.truncate(keep);
                capped = Some(cores);
            }
            (workers.into_iter().map(|w| (w, rate)).collect(), capped)
        }
    }
}

/// The first candidate theory says meets the SLO; the last (the most capacity) if theory says
/// none does; none if theory cannot tell.
fn predicted_guess(sweep: &Sweep, slo: &Slo, candidates: &[(usize, f64)]) -> Option<usize> {
    if sweep.base.source != SourceKind::Generator {
        return None;
    }
    for (i, &(workers, rate)) in candidates.iter().enumerate() {
        let settings = sweep.settings(workers, rate).ok()?;
        let p = predict(
            &settings,
            sweep.base.cores,
            &sweep.base.source,
            sweep.base.seed,
        );
        match slo.meets(&p.figures, p.stable == Some(false)) {
            Some(true) => return Some(i),
            Some(false) => {}
            None => return None,
        }
    }
    candidates.len().checked_sub(1)
}

fn meets(slo: &Slo, p: &Point) -> bool {
    slo.meets(&p.measured.figures, p.overloaded) == Some(true)
}

/// A search's state: the points probed, by candidate, and those a verifying run refuted.
struct Search<'a> {
    slo: &'a Slo,
    searched: Searched,
    candidates: Vec<(usize, f64)>,
    capped: Option<usize>,
    probed: HashMap<usize, Point>,
    refuted: HashSet<usize>,
    /// The verifying run's plan, also for a probe its interval leaves undecided.
    longer: PointPlan,
}

fn run_search(
    sweep: &Sweep,
    slo: &Slo,
    searched: Searched,
    stop: &AtomicBool,
) -> Result<Results, Error> {
    let (candidates, capped) = candidates(sweep, searched);
    let mut guess = predicted_guess(sweep, slo, &candidates);
    let mut runner = Runner {
        sweep,
        stop,
        progress: Progress::new(None),
    };
    let verify_plan = PointPlan {
        duration: sweep.plan.duration * VERIFY_FACTOR,
        ..sweep.plan
    };
    let mut search = Search {
        slo,
        searched,
        candidates,
        capped,
        probed: HashMap::new(),
        refuted: HashSet::new(),
        longer: verify_plan,
    };
    loop {
        let found = search::first_meeting(search.candidates.len(), guess, |i| {
            search.probe(&mut runner, i)
        })?;
        let i = match found {
            Found::Interrupted => return Ok(search.results(None, None, true)),
            Found::None => return Ok(search.results(None, None, false)),
            Found::At(i) => i,
        };
        let (workers, rate) = search.candidates[i];
        let Some(verified) = runner.point(workers, rate, &verify_plan)? else {
            return Ok(search.results(None, None, true));
        };
        if meets(slo, &verified) {
            return Ok(search.results(Some(i), Some(verified), false));
        }
        // The longer run refutes the probe: the answer lies further on.
        search.refuted.insert(i);
        search.probed.insert(i, verified);
        guess = Some(i + 1).filter(|&next| next < search.candidates.len());
    }
}

impl Search<'_> {
    /// Whether candidate `i` meets the SLO: known, or measured now.
    fn probe(&mut self, runner: &mut Runner, i: usize) -> Result<Option<bool>, Error> {
        if self.refuted.contains(&i) {
            return Ok(Some(false));
        }
        if let Some(p) = self.probed.get(&i) {
            return Ok(Some(meets(self.slo, p)));
        }
        let (workers, rate) = self.candidates[i];
        let plan = runner.sweep.plan;
        let Some(mut point) = runner.point(workers, rate, &plan)? else {
            return Ok(None);
        };
        if self.undecided(&point) {
            // Its interval holds the limit: measured again, as long as a verifying run.
            match runner.point(workers, rate, &self.longer)? {
                Some(longer) => point = longer,
                None => return Ok(None),
            }
        }
        let met = meets(self.slo, &point);
        self.probed.insert(i, point);
        Ok(Some(met))
    }

    /// Whether a stable point's measurement leaves a clause open: the limit lies within the
    /// figure's 95% interval.
    fn undecided(&self, p: &Point) -> bool {
        !p.overloaded
            && self.slo.clauses.iter().any(|c| {
                let (_, ci) = p.measured.figures.get(c.figure);
                ci.is_some_and(|[lo, hi]| lo <= c.limit && c.limit <= hi)
            })
    }

    /// "6 workers", "1 worker", "12/s".
    fn name(&self, i: usize) -> String {
        let (workers, rate) = self.candidates[i];
        match self.searched {
            Searched::Workers if workers == 1 => "1 worker".into(),
            Searched::Workers => format!("{workers} workers"),
            Searched::Rate => units::per_s(rate),
        }
    }

    fn verb(&self, i: usize) -> &'static str {
        match (self.searched, self.candidates[i].0) {
            (Searched::Workers, 1) | (Searched::Rate, _) => "misses",
            (Searched::Workers, _) => "miss",
        }
    }

    /// "6 workers: p99 1.41s (CI 1.30s-1.55s); 5 workers miss it: p99 4.2s".
    fn found_message(&self, i: usize, verified: &Point) -> String {
        let figures = self
            .slo
            .describe(&verified.measured.figures, verified.overloaded);
        let mut message = format!(
            "{}: {figures}, verified by a {} run",
            self.name(i),
            units::duration_s(verified.measured.duration_s)
        );
        let before = i
            .checked_sub(1)
            .and_then(|b| self.probed.get(&b).map(|p| (b, p)));
        match before {
            Some((b, p)) => message.push_str(&format!(
                "; {} {} it: {}",
                self.name(b),
                self.verb(b),
                self.slo.describe(&p.measured.figures, p.overloaded)
            )),
            None if i == 0 => message.push_str(match self.searched {
                Searched::Workers => "; the fewest workers searched",
                Searched::Rate => "; the highest rate searched",
            }),
            None => {}
        }
        message
    }

    /// "no worker count from 1 to 256 meets p99<2s: 2 workers: p99 grows without bound".
    fn none_message(&self) -> String {
        let what = match self.searched {
            Searched::Workers => "worker count",
            Searched::Rate => "rate",
        };
        let last = self.candidates.len().saturating_sub(1);
        let (low, high) = match self.searched {
            Searched::Workers => (self.name(0), self.name(last)),
            Searched::Rate => (self.name(last), self.name(0)),
        };
        let range = format!("from {low} to {high}");
        let range = range.replace(" workers", "").replace(" worker", "");
        let mut message = format!("no {what} {range} meets {}", self.slo.expr);
        if let Some(p) = self.probed.get(&last) {
            let figures = self.slo.describe(&p.measured.figures, p.overloaded);
            message.push_str(&format!(": {}: {figures}", self.name(last)));
        }
        if let Some(cores) = self.capped {
            message.push_str(&format!(
                " (cpu work: workers past the {cores} cores add no capacity)"
            ));
        }
        message
    }

    fn results(
        mut self,
        answer: Option<usize>,
        verified: Option<Point>,
        interrupted: bool,
    ) -> Results {
        let message = match (answer, &verified) {
            (Some(i), Some(v)) => self.found_message(i, v),
            _ if interrupted => "interrupted before the search ended".into(),
            _ => self.none_message(),
        };
        let slo = SloAnswer {
            expr: self.slo.expr.clone(),
            answer: answer.map(|i| match self.searched {
                Searched::Workers => Answer::Workers(self.candidates[i].0),
                Searched::Rate => Answer::RatePerS(self.candidates[i].1),
            }),
            verified: verified.map(|v| v.measured),
            message,
        };
        let mut probed: Vec<(usize, Point)> = self.probed.drain().collect();
        probed.sort_by(|a, b| {
            (a.1.rate_per_s, a.1.workers)
                .partial_cmp(&(b.1.rate_per_s, b.1.workers))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        Results {
            points: probed.into_iter().map(|(_, p)| p).collect(),
            slo: Some(slo),
            interrupted,
        }
    }
}
