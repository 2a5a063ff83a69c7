//! One point of a sweep: the real pipeline, headless and in-process, under one setting of the
//! swept parameters; a warm-up, then a measured window, then the queue drained (or the run
//! stopped, when it is overloaded) so every event of the window is followed to its end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::figures::Figures;
use super::measure::Collector;
use super::predict::{Predicted, add_same_events, add_single_run_spread, predict};
use crate::engine::settings::Settings;
use crate::engine::{Command, Engine, EngineConfig, EngineHandle, Trace};
use crate::error::Error;

/// How often the runner takes in the trace and looks at the clock (wall time).
const POLL: Duration = Duration::from_millis(20);
/// The precision is checked every this many polls (it merges every batch's histograms).
const PRECISION_EVERY: u64 = 25;
/// A warm-up is at most this share of the measured window.
const MAX_WARMUP_SHARE: f64 = 0.2;
/// Without a prediction, a point is overloaded if its backlog grew by more than this share of
/// its arrivals, and by more than [`MIN_GROWTH_EVENTS`].
const GROWTH_SHARE: f64 = 0.05;
const MIN_GROWTH_EVENTS: f64 = 10.0;

/// How long each point runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointPlan {
    /// The measured window, model time (with a precision: its longest).
    pub duration: Duration,
    /// Stop the window once the mean wait's 95% half-width is within this share of the mean.
    pub precision: Option<f64>,
}

/// What one point measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    #[serde(flatten)]
    pub figures: Figures,
    /// The measured window and the warm-up before it, model seconds.
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Events that arrived in the window.
    pub events: u64,
    /// The engine's own share of a wait (an event that found a worker free), mean, model ms.
    pub overhead_ms: f64,
    /// Wall-clock seconds the point took, warm-up and drain included.
    pub wall_s: f64,
}

/// One point's measurements beside its prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub workers: usize,
    pub rate_per_s: f64,
    pub rho: Option<f64>,
    /// The pool cannot keep up (ρ ≥ 1 with an unbounded queue): its waits grow with the
    /// run's length, so no latency is reported.
    pub overloaded: bool,
    /// The backlog's growth over the window, measured, events per second.
    pub growth_per_s: f64,
    pub measured: Measured,
    pub predicted: Predicted,
}

/// Runs one point under `settings` (the base configuration's, swept values applied). `None`
/// when `stop` was raised before it finished.
pub fn run(
    base: &EngineConfig,
    settings: Settings,
    plan: &PointPlan,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(f64),
) -> Result<Option<Point>, Error> {
    let wall = Instant::now();
    let predicted = predict(&settings, base.cores, &base.source, base.seed);
    let warmup_ns = warmup_ns(&settings, &predicted, plan.duration);
    let end_ns = warmup_ns.saturating_add(plan.duration.as_nanos().min(u64::MAX as u128) as u64);
    let (handle, trace) = start(base, &settings)?;
    let mut collector = Collector::new(warmup_ns, end_ns);
    let Some(window_end_ns) = measure(&handle, &trace, &mut collector, plan, stop, progress)?
    else {
        return Ok(None);
    };
    collector.close(window_end_ns);
    let overloaded = is_overloaded(&predicted, &collector);
    if !finish(
        &handle,
        &trace,
        &mut collector,
        overloaded,
        plan.duration,
        stop,
    )? {
        return Ok(None);
    }
    let snapshot = handle.snapshot();
    let mut predicted = predicted;
    add_comparisons(&mut predicted, &settings, base, &collector, warmup_ns);
    let figures = reported(collector.figures(), overloaded);
    Ok(Some(Point {
        workers: settings.workers,
        rate_per_s: settings.rate.get(),
        rho: predicted.rho,
        overloaded,
        growth_per_s: collector.growth_per_s(),
        measured: Measured {
            figures,
            duration_s: collector.duration_s(),
            warmup_s: warmup_ns as f64 / 1e9,
            events: collector.arrived,
            overhead_ms: snapshot.engine_overhead.mean_ns / 1e6,
            wall_s: wall.elapsed().as_secs_f64(),
        },
        predicted,
    }))
}

/// The engine under the point's `settings`, with the trace of its events; the run ends when
/// the measurement says.
fn start(
    base: &EngineConfig,
    settings: &Settings,
) -> Result<(EngineHandle, flume::Receiver<Trace>), Error> {
    let config = EngineConfig {
        settings: settings.clone(),
        trace: true,
        duration: None,
        max_events: None,
        ..base.clone()
    };
    let handle = Engine::start(config)?;
    let trace = handle
        .trace()
        .ok_or_else(|| Error::Fault("the engine gave no trace of its events".into()))?;
    Ok((handle, trace))
}

/// What an overloaded point reports: its throughput and drops; its latencies grew with the
/// run's length and say nothing.
fn reported(figures: Figures, overloaded: bool) -> Figures {
    if overloaded {
        Figures {
            throughput_per_s: figures.throughput_per_s,
            drop_fraction: figures.drop_fraction,
            ..Figures::default()
        }
    } else {
        figures
    }
}

/// Beside the prediction: where single runs of the window's length land, and the twin given
/// the window's very events, stretched as the machine stretched their services.
fn add_comparisons(
    predicted: &mut Predicted,
    settings: &Settings,
    base: &EngineConfig,
    collector: &Collector,
    warmup_ns: u64,
) {
    let window = (warmup_ns as f64 / 1e9, collector.duration_s());
    add_single_run_spread(predicted, settings, base.cores, base.seed, window);
    if let Some(stretch) = collector.service_stretch() {
        let events = (collector.arrived_before, collector.arrived);
        add_same_events(predicted, settings, base.cores, base.seed, events, stretch);
    }
}

/// The warm-up before the window: long enough for the queue to forget its empty start (ten
/// services, or the M/M/c relaxation time 1 / (cμ (1 − √ρ)²) where it is longer), at most a
/// fifth of the window.
fn warmup_ns(settings: &Settings, predicted: &Predicted, window: Duration) -> u64 {
    let service_s = settings.service.as_secs_f64();
    let relaxation_s = match (predicted.rho, predicted.stable, predicted.servers) {
        (Some(rho), Some(true), Some(servers)) if rho < 1.0 && servers > 0 => {
            service_s / (servers as f64 * (1.0 - rho.sqrt()).powi(2))
        }
        _ => 0.0,
    };
    let warmup_s = (10.0 * service_s)
        .max(relaxation_s)
        .min(MAX_WARMUP_SHARE * window.as_secs_f64());
    (warmup_s * 1e9) as u64
}

/// Runs until the window's end (or its precision), taking in the trace; the model time the
/// window ends at, or `None` if stopped.
fn measure(
    handle: &EngineHandle,
    trace: &flume::Receiver<Trace>,
    collector: &mut Collector,
    plan: &PointPlan,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(f64),
) -> Result<Option<u64>, Error> {
    let end_ns = collector.end_ns();
    let mut poll = 0u64;
    loop {
        poll += 1;
        collector.drain(trace);
        if stop.load(Ordering::Acquire) {
            return Ok(None);
        }
        engine_fault(handle)?;
        let now_ns = handle.now_ns();
        progress((now_ns as f64 / end_ns.max(1) as f64).min(1.0));
        if now_ns >= end_ns {
            return Ok(Some(end_ns));
        }
        if poll % PRECISION_EVERY == 0 && precise_enough(collector, plan.precision, now_ns) {
            return Ok(Some(now_ns));
        }
        std::thread::sleep(POLL);
    }
}

/// Whether the mean wait is known to the precision asked for. Only the first three quarters
/// of what has arrived so far count: the latest arrivals' waits are not all known yet.
fn precise_enough(collector: &Collector, precision: Option<f64>, now_ns: u64) -> bool {
    let Some(precision) = precision else {
        return false;
    };
    let until_ns = now_ns - now_ns.saturating_sub(collector.start_ns()) / 4;
    match collector.mean_wait_half_width(until_ns) {
        Some((mean, half_width)) => mean > 0.0 && half_width <= precision * mean,
        None => false,
    }
}

/// A point is overloaded if theory says it cannot keep up; without a prediction, if its
/// backlog grew through the window.
fn is_overloaded(predicted: &Predicted, collector: &Collector) -> bool {
    if let Some(stable) = predicted.stable {
        return !stable;
    }
    let grown = collector.growth_per_s() * collector.duration_s();
    grown > MIN_GROWTH_EVENTS && grown > GROWTH_SHARE * collector.arrived as f64
}

/// Ends the source and lets the pool drain what arrived (at most `longest` more model time),
/// or stops an overloaded run at once; takes in the rest of the trace. False if stopped.
fn finish(
    handle: &EngineHandle,
    trace: &flume::Receiver<Trace>,
    collector: &mut Collector,
    overloaded: bool,
    longest: Duration,
    stop: &AtomicBool,
) -> Result<bool, Error> {
    handle.send(if overloaded {
        Command::Stop
    } else {
        Command::EndSource
    });
    let deadline_ns = handle
        .now_ns()
        .saturating_add(longest.as_nanos().min(u64::MAX as u128) as u64);
    loop {
        collector.drain(trace);
        if handle.snapshot().state.is_over() {
            collector.drain(trace);
            return Ok(true);
        }
        if stop.load(Ordering::Acquire) {
            return Ok(false);
        }
        engine_fault(handle)?;
        if handle.now_ns() > deadline_ns {
            handle.send(Command::Stop);
        }
        std::thread::sleep(POLL);
    }
}

fn engine_fault(handle: &EngineHandle) -> Result<(), Error> {
    match handle.fault() {
        Some(fault) => Err(Error::Fault(fault)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SourceKind;

    use crate::sweep::mmc_at_9_per_s as settings;

    #[test]
    fn the_warm_up_grows_near_saturation_and_stays_under_a_fifth() {
        let window = Duration::from_secs(600);
        let warmup_s = |workers: usize| {
            let s = settings(workers);
            let p = predict(&s, 2, &SourceKind::Generator, 1);
            warmup_ns(&s, &p, window) as f64 / 1e9
        };
        // Ten services far from saturation; M/M/5 at ρ 0.9: 0.5 / (5 (1 − √0.9)²) = 38 s.
        assert!((warmup_s(20) - 5.0).abs() < 1e-9);
        assert!((warmup_s(5) - 38.0).abs() < 0.5, "{}", warmup_s(5));
        let s = settings(5);
        let p = predict(&s, 2, &SourceKind::Generator, 1);
        assert_eq!(warmup_ns(&s, &p, Duration::from_secs(60)), 12_000_000_000);
    }
}
