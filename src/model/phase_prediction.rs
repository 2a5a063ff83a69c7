//! What the twin predicts for a phase: the ideal pool under the phase's settings, started from
//! the state the phase began in (its backlog, the queued work, each busy worker's remaining
//! demand) and run for the phase's actual length, so a transient phase is compared with a
//! prediction of the same transient. Waits are those of the events that arrive within the
//! phase, followed until they start, like the measured ones: a backlog left at the phase's
//! end is served, in the run and in the twin, by the later phases' worker counts (later
//! arrivals queue behind it, so nothing else of those phases matters to it; cpu workers past
//! the cores count as the cores, and a phase whose own workers share the cores is followed
//! under its own count). The backlog within the phase (its
//! growth, its time-average, its end) depends on the phase alone.

use serde::Serialize;

use super::forecast::{
    Forecast, ForecastMethod, QUEUE_SIMULATION_BUDGET_EVENTS, TwinState, forecast, simulation_cost,
};
use super::twin::TwinConfig;
use std::time::Duration;

use crate::engine::settings::{ArrivalProcess, WorkMode};
use crate::engine::snapshot::{Phase, Snapshot, SourceType};
use crate::engine::source::generator::{ARRIVAL_STREAM, ArrivalSchedule, stream_rng};

/// Replications per phase, at least: a 95% interval of a few per cent on a phase of a few
/// hundred events.
pub const REPLICATIONS: usize = 100;
/// Replications per phase, at most: a single run's range is the replications' own 2.5% and
/// 97.5% points, and a short light phase's mean wait (mostly zero, a rare long wait) puts its
/// upper point on the few runs with a long wait: from 100 replications it rests on two or
/// three of them (autoscale-compare's 8 workers at 8/s: 14.8 ms, where 18.4 ms was measured).
pub const MAX_REPLICATIONS: usize = 1_000;
/// Points on the backlog path (its growth is fitted over them).
const POINTS: usize = 501;

/// What the twin predicts for one phase (times in model seconds since the run's start).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhasePrediction {
    /// `simulated` (replications of the twin) or `fluid` (the diffusion approximation at high
    /// rates).
    pub method: &'static str,
    pub replications: Option<usize>,
    pub mean_wait_ms: f64,
    /// The 95% confidence interval of the expected mean wait, from the replications; none for
    /// the fluid approximation.
    pub mean_wait_ms_ci95: Option<[f64; 2]>,
    /// Where 95% of single runs' mean waits fall (the replications' spread: what one measured
    /// phase is to be compared with); none for the fluid approximation.
    pub mean_wait_ms_run95: Option<[f64; 2]>,
    pub p50_wait_ms: f64,
    pub p90_wait_ms: f64,
    pub p99_wait_ms: f64,
    pub mean_queue_len: f64,
    /// Where 95% of single runs' time-average backlogs fall; none for the fluid approximation.
    pub mean_queue_len_run95: Option<[f64; 2]>,
    /// The backlog at the phase's end: the median and the 80% band over the replications.
    pub queue_end: f64,
    pub queue_end_p10: f64,
    pub queue_end_p90: f64,
    /// Least-squares growth of the median backlog path, events per second.
    pub growth_per_s: f64,
    pub p_drop: f64,
    /// When the median replication first emptied the backlog; none if fewer than half did.
    pub drained_at_s: Option<f64>,
    /// The mean service the twin was given, ms: the phase's own measured mean for wall-clock
    /// work, with the engine's hand-off per event (see [`phase_inputs`]); the setting for cpu
    /// work.
    pub service_ms: f64,
    /// Of `service_ms`, the engine's hand-off per event, ms (0 for cpu work).
    pub handoff_ms: f64,
}

impl PhasePrediction {
    /// Whether a measured phase's mean wait agrees with the prediction: within the range of
    /// single runs or within `rel` of the mean, whichever is wider, and never closer than
    /// `abs_ms` (the engine's own hand-off, which the ideal model does not have).
    pub fn wait_agrees(&self, measured_ms: f64, rel: f64, abs_ms: f64) -> bool {
        let (lo, hi) = self
            .mean_wait_ms_run95
            .map_or((self.mean_wait_ms, self.mean_wait_ms), |[lo, hi]| (lo, hi));
        let slack = (rel * self.mean_wait_ms).max(abs_ms);
        measured_ms >= lo.min(self.mean_wait_ms - slack)
            && measured_ms <= hi.max(self.mean_wait_ms + slack)
    }
}

/// The configuration a phase ran under, and the state it started from.
///
/// For wall-clock work (sleep, exec) the twin is given the mean service the phase's events
/// really took: a phase's few hundred demands land some per cent off their mean (240
/// exponential ones: ±13%, 95% of the time), and waits move more than that, so comparing the
/// queue's behaviour means conditioning on the service it was given. That service includes the
/// engine's hand-off between a worker's events (`handoff_per_event_ns`: a busy pool's workers
/// lose it to every event, and a drain at 12/s against 10/s moves 0.3 s per ms of it). `cpu`
/// work keeps its demand: the twin stretches it itself where workers share the cores.
pub fn phase_inputs(phase: &Phase, later: &[Phase], cores: usize) -> (TwinConfig, TwinState) {
    let mut config = TwinConfig::from_settings(&phase.settings, cores);
    if phase.settings.paused {
        config.rate_per_s = 0.0;
    }
    if let Some(mean_ns) = measured_service_ns(phase) {
        config.service = Duration::from_nanos((mean_ns + handoff_ns(phase)) as u64);
    }
    let start = &phase.start;
    let state = TwinState {
        queued: start.queued,
        queued_work_s: start.queued_work_ns as f64 / 1e9,
        held_at_source: start.held,
        busy_remaining_s: start
            .in_service_left_ns
            .iter()
            .map(|&ns| ns as f64 / 1e9)
            .collect(),
        arrivals_from_s: schedule_offset_s(phase, &config),
        arrivals_until_s: arrivals_until_s(phase),
        servers_after: servers_after(phase, later, cores),
    };
    (config, state)
}

/// The phase's measured mean service, for wall-clock work (`cpu` work keeps its demand).
fn measured_service_ns(phase: &Phase) -> Option<f64> {
    let wall_clock = phase.settings.work != WorkMode::Cpu;
    phase.measured.service_mean_ns.filter(|_| wall_clock)
}

/// The engine's hand-off per event that the twin's service includes: none where the twin is
/// not given the measured service.
fn handoff_ns(phase: &Phase) -> f64 {
    measured_service_ns(phase)
        .and(phase.measured.handoff_per_event_ns)
        .unwrap_or(0.0)
}

/// The later phases' server counts, from the phase's start: the backlog left at its end is
/// served under them in the run, and the twin follows it so. Cpu workers past the cores count
/// as the cores (their capacity; they share them).
fn servers_after(phase: &Phase, later: &[Phase], cores: usize) -> Vec<(f64, usize)> {
    later
        .iter()
        .map(|p| {
            let at_s = p.start_ns.saturating_sub(phase.start_ns) as f64 / 1e9;
            let config = TwinConfig::from_settings(&p.settings, cores);
            let servers = config
                .cores
                .map_or(config.servers, |c| config.servers.min(c));
            (at_s, servers)
        })
        .collect()
}

/// When the phase's arrivals stopped before its end (the source ended, and the run went on
/// to serve what was left), from the phase's start.
fn arrivals_until_s(phase: &Phase) -> Option<f64> {
    let end_ns = phase.source_end_ns?;
    Some(end_ns.saturating_sub(phase.start_ns) as f64 / 1e9)
}

/// Where the twin's schedule starts so that its first arrival falls on the phase's own first
/// arrival: a schedule anchored at the phase's start would put a fixed or bursty stream's
/// arrivals up to a gap away from the run's (a group of 40 every 4 s, 3 s late, leaves its
/// last group no time to drain within the phase). Poisson arrivals have no phase to keep.
fn schedule_offset_s(phase: &Phase, config: &TwinConfig) -> f64 {
    let Some(first_ns) = phase.measured.first_arrival_ns else {
        return 0.0;
    };
    if config.arrival == ArrivalProcess::Poisson || config.rate_per_s <= 0.0 {
        return 0.0;
    }
    let mut rng = stream_rng(0, ARRIVAL_STREAM);
    let schedule =
        ArrivalSchedule::new(config.arrival, config.rate_per_s, config.burst, 0, &mut rng);
    let own_first_s = schedule.next_due_ns() as f64 / 1e9;
    let first_s = first_ns.saturating_sub(phase.start_ns) as f64 / 1e9;
    // Negative when the phase's first arrival came sooner than one gap: the twin's first
    // event then lands on it, never before the phase's start.
    first_s - own_first_s
}

/// Every phase's prediction in `s`; none for a stream the twin cannot simulate (stdin, a
/// trace: it draws the generator's arrival processes, not a recorded stream).
pub fn predict_phases(s: &Snapshot) -> Vec<Option<PhasePrediction>> {
    let simulable = simulable(s);
    s.phases
        .iter()
        .enumerate()
        .map(|(i, p)| simulable.then(|| predict(p, &s.phases[i + 1..], s.cores, s.seed)))
        .collect()
}

/// Whether the twin can simulate the run's arrivals: the generator's, not a recorded stream.
pub fn simulable(s: &Snapshot) -> bool {
    s.source.kind == SourceType::Generator
}

/// The twin's prediction for `phase` (followed by the `later` phases), seeded by the run's
/// seed and the phase's index.
pub fn predict(phase: &Phase, later: &[Phase], cores: usize, seed: u64) -> PhasePrediction {
    let (config, state) = phase_inputs(phase, later, cores);
    let seed = seed ^ (phase.index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let horizon_s = phase.length_s();
    let replications = replications_for(&config, &state, horizon_s);
    let f = forecast(&config, &state, horizon_s, POINTS, replications, seed);
    PhasePrediction {
        handoff_ms: handoff_ns(phase) / 1e6,
        ..of_forecast(
            &f,
            phase.start_ns as f64 / 1e9,
            config.service.as_secs_f64() * 1e3,
        )
    }
}

/// As many replications as the forecast's smaller budget pays for (so more of them never turn
/// a phase to the fluid approximation), within [`REPLICATIONS`] and [`MAX_REPLICATIONS`]: a
/// short phase gets 1,000; one of more than 10,000 events a run, whose mean spreads less, 100.
fn replications_for(config: &TwinConfig, state: &TwinState, horizon_s: f64) -> usize {
    let per_run = simulation_cost(config, state, horizon_s, 1).max(1.0);
    ((QUEUE_SIMULATION_BUDGET_EVENTS / per_run) as usize).clamp(REPLICATIONS, MAX_REPLICATIONS)
}

fn of_forecast(f: &Forecast, start_s: f64, service_ms: f64) -> PhasePrediction {
    let ms = |s: f64| s * 1e3;
    let (method, replications) = match f.method {
        ForecastMethod::Simulated { replications } => ("simulated", Some(replications)),
        ForecastMethod::Fluid => ("fluid", None),
    };
    let around = |h: f64| [ms(f.mean_wait_s - h).max(0.0), ms(f.mean_wait_s + h)];
    PhasePrediction {
        method,
        replications,
        mean_wait_ms: ms(f.mean_wait_s),
        mean_wait_ms_ci95: f.mean_wait_s_half_width.map(&around),
        // The replications' own 2.5% and 97.5% points: near saturation single runs' means
        // are skewed, and mean ± 1.96 sd puts the lower end at 0 and the upper too low
        // (bounded-queue's 7-worker phase: 0-843 ms; its replications' own, 117-900 and
        // 128-974 ms in two runs).
        mean_wait_ms_run95: f.mean_wait_s_run95.map(|[lo, hi]| [ms(lo), ms(hi)]),
        p50_wait_ms: ms(f.wait_p50_s),
        p90_wait_ms: ms(f.wait_p90_s),
        p99_wait_ms: ms(f.wait_p99_s),
        mean_queue_len: f.mean_queue_len,
        mean_queue_len_run95: f.mean_queue_len_run95,
        queue_end: f.queue_end.p50,
        queue_end_p10: f.queue_end.p10,
        queue_end_p90: f.queue_end.p90,
        growth_per_s: f.growth_per_s,
        p_drop: f.p_drop,
        drained_at_s: f.drain_s_p50.map(|t| start_s + t),
        service_ms,
        handoff_ms: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{Rate, ServiceDist, Settings};
    use crate::engine::snapshot::{PhaseMeasured, PhaseStart};

    /// falling-behind's third phase: 6 workers of 500 ms against 10/s, from 50 queued and
    /// 5 busy (0.1 to 0.5 s left). By hand (a D/D/6 pool, one server freeing every 1/12 s
    /// against an arrival every 0.1 s), the queue first empties 24.5 s in.
    #[test]
    fn a_deterministic_phase_drains_when_the_hand_count_says() {
        let settings = Settings {
            rate: Rate::per_s(10.0).unwrap(),
            service: Duration::from_millis(500),
            service_dist: ServiceDist::Fixed,
            workers: 6,
            ..Settings::default()
        };
        let s = 1_000_000_000u64;
        let phase = Phase {
            index: 3,
            start_ns: 45 * s,
            end_ns: 80 * s,
            settings,
            start: PhaseStart {
                queued: 50,
                held: 0,
                queued_work_ns: 25 * s,
                in_service_left_ns: (1..=5).map(|k| k * s / 10).collect(),
            },
            measured: PhaseMeasured {
                first_arrival_ns: Some(45 * s + s / 20),
                ..PhaseMeasured::default()
            },
            ..Phase::default()
        };
        let p = predict(&phase, &[], 2, 1);
        let drained = p.drained_at_s.unwrap();
        assert!((drained - 69.5).abs() < 0.15, "{p:?}");
        assert!(
            (p.growth_per_s + 2.0).abs() < 0.3 || p.growth_per_s < 0.0,
            "{p:?}"
        );
    }
}
