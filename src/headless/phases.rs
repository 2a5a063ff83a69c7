//! The phases in the headless face: the JSON's `phases` array, the log's `theory` line at each
//! phase's start, and one closing line per phase.

use serde::Serialize;

use crate::engine::Snapshot;
use crate::engine::settings::Settings;
use crate::engine::snapshot::Phase;
use crate::model::forecast::{Forecast, POINTS, REPLICATIONS, forecast, horizon_for};
use crate::model::phase_prediction::{self, PhasePrediction};
use crate::model::theory::Prediction;
use crate::units;

/// One phase in the JSON summary.
#[derive(Debug, Serialize)]
pub struct PhaseJson {
    pub index: usize,
    pub start_s: f64,
    pub end_s: f64,
    pub cause: &'static str,
    pub settings: Settings,
    pub measured: MeasuredJson,
    /// What the twin predicts for the phase, from the state it began in over its length; null
    /// for a stream it cannot simulate (stdin, a trace: the twin draws the generator's
    /// arrival processes, not a recorded stream).
    pub predicted: Option<PhasePrediction>,
}

/// What was measured for the events that arrived in a phase.
#[derive(Debug, Serialize)]
pub struct MeasuredJson {
    pub arrivals: u64,
    pub completed: u64,
    pub failed: u64,
    pub dropped: u64,
    pub mean_wait_ms: f64,
    pub p50_wait_ms: f64,
    pub p90_wait_ms: f64,
    pub p99_wait_ms: f64,
    pub mean_queue_len: f64,
    pub queue_start: u64,
    pub queue_end: u64,
    pub growth_per_s: Option<f64>,
    pub drained_at_s: Option<f64>,
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

impl PhaseJson {
    /// The phase with the twin's prediction for it (`cores` and `seed` as in the run).
    pub fn of(p: &Phase, predicted: Option<PhasePrediction>) -> Self {
        let m = &p.measured;
        Self {
            predicted,
            index: p.index,
            start_s: secs(p.start_ns),
            end_s: secs(p.end_ns),
            cause: p.cause.name(),
            settings: p.settings.clone(),
            measured: MeasuredJson {
                arrivals: m.arrivals,
                completed: m.completed,
                failed: m.failed,
                dropped: m.dropped,
                mean_wait_ms: m.mean_wait_ns / 1e6,
                p50_wait_ms: ms(m.p50_wait_ns),
                p90_wait_ms: ms(m.p90_wait_ns),
                p99_wait_ms: ms(m.p99_wait_ns),
                mean_queue_len: m.mean_queue_len,
                queue_start: m.queue_start,
                queue_end: m.queue_end,
                growth_per_s: m.growth_per_s,
                drained_at_s: m.drained_at_ns.map(secs),
            },
        }
    }
}

/// Every phase of the run, each with its prediction, for the JSON.
pub fn phases_json(s: &Snapshot) -> Vec<PhaseJson> {
    s.phases
        .iter()
        .zip(phase_prediction::predict_phases(s))
        .map(|(p, predicted)| PhaseJson::of(p, predicted))
        .collect()
}

/// What theory says of the settings, in a few words: the model, how it was obtained, and the
/// wait or the growth.
fn theory_words(t: &Prediction) -> String {
    let outlook = match (t.stable, t.mean_wait_s, t.backlog_growth_per_s) {
        (false, _, Some(growth)) => format!("backlog grows by {}", units::per_s(growth)),
        (_, Some(wait), _) => format!("mean wait {}", units::duration_s(wait)),
        _ => "no prediction".into(),
    };
    format!(
        "{} ({}), {} servers, utilization {:.2}: {outlook}",
        t.kendall(),
        t.method_label(),
        t.servers,
        t.utilization
    )
}

/// The forecast from the phase's start, in a few words: "forecast (simulated ×100, next 20s):
/// backlog 50 → 50 (80%: 48-52)", and when it empties.
fn forecast_words(f: &Forecast) -> String {
    let count = |x: f64| units::count(x.round().max(0.0) as u64);
    let start = f.path.first().map_or(0.0, |p| p.backlog.p50);
    let q = &f.queue_end;
    let empties = f
        .drain_s_p50
        .filter(|&t| t > 0.0)
        .map(|t| format!(", empty in about {}", units::duration_s(t)))
        .unwrap_or_default();
    format!(
        "forecast ({}, next {}): backlog {} → {} (80%: {}-{}){empties}",
        f.method.label(),
        units::duration_s(f.horizon_s),
        count(start),
        count(q.p50),
        count(q.p10),
        count(q.p90),
    )
}

/// The log's line at a phase's start: which phase, why, what theory expects of its settings,
/// and the forecast from the state it starts in.
pub fn phase_start_line(phase: &Phase, theory: &Prediction, forecast: Option<&Forecast>) -> String {
    let forecast = forecast
        .map(|f| format!("; {}", forecast_words(f)))
        .unwrap_or_default();
    format!(
        "{:.3}s theory   phase {} ({}): {}{forecast}",
        secs(phase.start_ns),
        phase.index,
        phase.cause.name(),
        theory_words(theory)
    )
}

/// The forecast from a phase's starting state over the live horizon (the queue chart's), for
/// the log; none for a stream the twin cannot simulate.
fn forecast_from_start(s: &Snapshot, phase: &Phase) -> Option<Forecast> {
    if !phase_prediction::simulable(s) {
        return None;
    }
    let (config, state) = phase_prediction::phase_inputs(phase, &[], s.cores);
    let seed = s.seed ^ phase.index as u64;
    Some(forecast(
        &config,
        &state,
        horizon_for(s),
        POINTS,
        REPLICATIONS,
        seed,
    ))
}

/// The closing summary's line for one phase: what it measured.
pub fn phase_closing_line(p: &Phase, predicted: Option<&PhasePrediction>) -> String {
    let twin = predicted.map(twin_words).unwrap_or_default();
    let m = &p.measured;
    let growth = m
        .growth_per_s
        .map_or_else(|| "-".into(), |g| format!("{g:+.2}/s"));
    let drained = m
        .drained_at_ns
        .map_or_else(|| "never".into(), |t| format!("at {:.1}s", secs(t)));
    format!(
        "# phase {} {:.1}-{:.1}s ({}, {} workers): {} arrived, mean wait {}, p99 {}, queue {} → {} ({growth}), emptied {drained}{twin}",
        p.index,
        secs(p.start_ns),
        secs(p.end_ns),
        p.cause.name(),
        p.settings.workers,
        m.arrivals,
        units::duration_s(m.mean_wait_ns / 1e9),
        units::duration_ns(m.p99_wait_ns),
        m.queue_start,
        m.queue_end,
    )
}

/// "; twin: mean wait 3.09s, queue → 50 (+2.00/s), empty at 68.5s".
fn twin_words(q: &PhasePrediction) -> String {
    let drained = q
        .drained_at_s
        .map_or_else(|| "never empty".into(), |t| format!("empty at {t:.1}s"));
    format!(
        "; twin: mean wait {}, queue → {} ({:+.2}/s), {drained}",
        units::duration_s(q.mean_wait_ms / 1e3),
        units::count(q.queue_end.round().max(0.0) as u64),
        q.growth_per_s,
    )
}

/// Every phase's closing line, each with the twin's prediction where it has one.
pub fn phase_closing_lines(s: &Snapshot) -> Vec<String> {
    phases_json(s)
        .iter()
        .zip(&s.phases)
        .map(|(json, p)| phase_closing_line(p, json.predicted.as_ref()))
        .collect()
}

/// Watches snapshots for new phases, so the log can say when one starts.
#[derive(Debug, Default)]
pub struct PhaseLines {
    seen: usize,
}

impl PhaseLines {
    /// The start lines of the phases `s` shows for the first time.
    pub fn observe(&mut self, s: &Snapshot) -> Vec<(u64, String)> {
        let new = s.phases.get(self.seen..).unwrap_or_default();
        self.seen = s.phases.len();
        new.iter()
            .map(|p| {
                let forecast = forecast_from_start(s, p);
                (
                    p.start_ns,
                    phase_start_line(p, &s.theory, forecast.as_ref()),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::snapshot::{PhaseCause, PhaseMeasured};

    fn phase(index: usize, start_s: u64, workers: usize) -> Phase {
        Phase {
            index,
            start_ns: start_s * 1_000_000_000,
            end_ns: (start_s + 20) * 1_000_000_000,
            cause: PhaseCause::Step,
            settings: Settings {
                workers,
                ..Settings::default()
            },
            measured: PhaseMeasured {
                arrivals: 200,
                growth_per_s: Some(2.0),
                drained_at_ns: None,
                ..PhaseMeasured::default()
            },
            ..Phase::default()
        }
    }

    #[test]
    fn each_new_phase_gets_one_start_line() {
        let mut lines = PhaseLines::default();
        let mut s = Snapshot {
            phases: vec![phase(1, 0, 4)],
            ..Snapshot::default()
        };
        assert_eq!(lines.observe(&s).len(), 1);
        assert!(lines.observe(&s).is_empty());
        s.phases.push(phase(2, 25, 5));
        let new = lines.observe(&s);
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].0, 25_000_000_000);
        assert!(
            new[0].1.starts_with("25.000s theory   phase 2 (step): "),
            "{}",
            new[0].1
        );
    }

    #[test]
    fn the_closing_line_says_what_the_phase_measured() {
        let line = phase_closing_line(&phase(2, 25, 5), None);
        assert!(
            line.starts_with("# phase 2 25.0-45.0s (step, 5 workers): 200 arrived"),
            "{line}"
        );
        assert!(
            line.contains("(+2.00/s)") && line.ends_with("emptied never"),
            "{line}"
        );
    }
}
