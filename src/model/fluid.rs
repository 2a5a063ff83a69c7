//! The forecast at high rates: the fluid path with a diffusion band. The backlog moves at the
//! net rate λ − c/s (c busy servers, s the mean service) and spreads like a Brownian motion
//! with variance rate λ·ca² + (c/s)·cs²; reflected at 0, where it settles to the reflected
//! motion's exponential law (mean σ²/2|drift|), and capped at a dropping queue's cap.

use super::forecast::{
    Forecast, ForecastMethod, PathPoint, Quantiles, TwinState, growth_per_s, ratio,
};
use super::twin::TwinConfig;
use crate::engine::settings::{ArrivalProcess, LOGNORMAL_CV};

/// The standard normal's 90% quantile (and minus it, the 10%).
const Z90: f64 = 1.281_551_565_5;

/// The fluid model of a configuration from a backlog.
struct Fluid {
    backlog: f64,
    arrival_rate: f64,
    capacity_per_s: f64,
    /// Net backlog rate, events per s.
    drift: f64,
    /// Variance rate of the backlog, events² per s.
    variance_rate: f64,
    /// A dropping queue's cap.
    cap: Option<f64>,
}

impl Fluid {
    fn new(config: &TwinConfig, state: &TwinState) -> Self {
        let servers = config
            .cores
            .map_or(config.servers, |c| c.min(config.servers)) as f64;
        let service_s = config.service.as_secs_f64();
        let capacity_per_s = if service_s > 0.0 {
            servers / service_s
        } else {
            1e12
        };
        let arrival_rate = config.rate_per_s.max(0.0);
        let ca2 = match config.arrival {
            ArrivalProcess::Fixed => 0.0,
            ArrivalProcess::Poisson => 1.0,
            ArrivalProcess::Bursty => f64::from(config.burst.max(1)) - 1.0,
        };
        let cs2 = config.service_dist.cv2(LOGNORMAL_CV);
        Self {
            backlog: state.backlog() as f64,
            arrival_rate,
            capacity_per_s,
            drift: arrival_rate - capacity_per_s,
            variance_rate: arrival_rate * ca2 + capacity_per_s.min(1e9) * cs2,
            cap: config.drops().map(|cap| cap as f64),
        }
    }

    /// The backlog's `z`-quantile (z in standard deviations) at `t_s`, for the reflected
    /// law's quantile `p` at 0.
    fn backlog_at(&self, t_s: f64, z: f64, p: f64) -> f64 {
        let free = self.backlog + self.drift * t_s + z * (self.variance_rate * t_s).sqrt();
        let settled = if self.drift < 0.0 {
            -self.variance_rate / (2.0 * -self.drift) * (1.0 - p).ln()
        } else {
            0.0
        };
        let q = free.max(settled).max(0.0);
        self.cap.map_or(q, |cap| q.min(cap))
    }

    fn quantiles_at(&self, t_s: f64) -> Quantiles {
        Quantiles {
            p10: self.backlog_at(t_s, -Z90, 0.10),
            p50: self.backlog_at(t_s, 0.0, 0.50),
            p90: self.backlog_at(t_s, Z90, 0.90),
        }
    }

    /// Drain time quantiles: the first passage to 0 (inverse Gaussian, mean B/|drift|), by
    /// its normal approximation; None past the horizon or when the backlog does not shrink.
    fn drain_s(&self, z: f64, horizon_s: f64) -> Option<f64> {
        if self.backlog <= 0.0 {
            return Some(0.0);
        }
        if self.drift >= 0.0 {
            return None;
        }
        let rate = -self.drift;
        let mean = self.backlog / rate;
        let sd = (self.backlog * self.variance_rate / rate.powi(3)).sqrt();
        Some((mean + z * sd).max(0.0)).filter(|&t| t <= horizon_s)
    }

    /// Dropped fraction of the horizon's arrivals: the excess once the queue is full.
    fn p_drop(&self, horizon_s: f64) -> f64 {
        match self.cap {
            Some(cap) if self.drift > 0.0 => {
                let full_at = (cap - self.backlog).max(0.0) / self.drift;
                let dropped = self.drift * (horizon_s - full_at).max(0.0);
                ratio(dropped, self.arrival_rate * horizon_s)
            }
            _ => 0.0,
        }
    }
}

/// The fluid forecast of the next `horizon_s` from `state`, the backlog at `points` times.
pub fn forecast(config: &TwinConfig, state: &TwinState, horizon_s: f64, points: usize) -> Forecast {
    let fluid = Fluid::new(config, state);
    let path: Vec<PathPoint> = (0..points)
        .map(|i| {
            let t_s = horizon_s * i as f64 / (points - 1) as f64;
            PathPoint {
                t_s,
                backlog: fluid.quantiles_at(t_s),
            }
        })
        .collect();
    // Waits: an arrival at t waits for the backlog ahead of it at the pool's capacity; pooled
    // over the path's times and the band's levels.
    let mut waits: Vec<f64> = Vec::with_capacity(points * 99);
    for point in &path {
        for k in 1..=99 {
            let p = f64::from(k) / 100.0;
            let z = normal_quantile(p);
            let q = fluid.backlog_at(point.t_s, z, p);
            waits.push(q / fluid.capacity_per_s);
        }
    }
    let mean_queue_len = ratio(
        waits.iter().sum::<f64>() * fluid.capacity_per_s,
        waits.len() as f64,
    );
    waits.sort_by(f64::total_cmp);
    let wait_at = |q: f64| waits[((q * waits.len() as f64) as usize).min(waits.len() - 1)];
    Forecast {
        method: ForecastMethod::Fluid,
        horizon_s,
        drain_s_p10: fluid.drain_s(-Z90, horizon_s),
        drain_s_p50: fluid.drain_s(0.0, horizon_s),
        drain_s_p90: fluid.drain_s(Z90, horizon_s),
        p_drop: fluid.p_drop(horizon_s),
        mean_wait_s: ratio(mean_queue_len, fluid.capacity_per_s),
        mean_wait_s_half_width: None,
        mean_wait_s_run95: None,
        mean_queue_len_run95: None,
        wait_p50_s: wait_at(0.50),
        wait_p90_s: wait_at(0.90),
        wait_p99_s: wait_at(0.99),
        mean_queue_len,
        queue_end: path.last().map(|p| p.backlog).unwrap_or_default(),
        growth_per_s: growth_per_s(&path),
        path,
    }
}

/// The standard normal's `p`-quantile (Acklam's rational approximation, |error| < 1.2e-9).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_the_table() {
        assert!((normal_quantile(0.9) - Z90).abs() < 1e-6);
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.01) + 2.326_348).abs() < 1e-5);
        assert!(normal_quantile(0.5).abs() < 1e-12);
    }
}
