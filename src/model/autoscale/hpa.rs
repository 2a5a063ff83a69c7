//! The Kubernetes Horizontal Pod Autoscaler's algorithm (pkg/controller/podautoscaler in
//! kubernetes/kubernetes): desired = ceil(current × metric / target), no change within the
//! tolerance, a stabilization window per direction (the highest recommendation of the last
//! 300 s before scaling down), rate limits per direction (`behavior` policies), min and max.

use std::collections::VecDeque;

use super::{Bounds, Decision, Hold, Observation, Policy};

const NS: u64 = 1_000_000_000;

/// What the HPA compares with its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// The workers' busy share in whole percent, as Kubernetes computes CPU utilization
    /// (integer percent of the request); the target in percent.
    Utilization { target_percent: u32 },
    /// An AverageValue metric: the backlog per worker against `target` events per worker.
    Queue { target: f64 },
}

/// Every HPA parameter; the defaults are Kubernetes' (`HpaParams::default`).
#[derive(Debug, Clone, PartialEq)]
pub struct HpaParams {
    /// `hpa` or `keda` (KEDA feeds an HPA: same algorithm, its own defaults).
    pub name: &'static str,
    pub metric: Metric,
    /// No change while |metric / target − 1| ≤ tolerance (`--horizontal-pod-autoscaler-tolerance`, 0.1).
    pub tolerance: f64,
    /// Evaluated every sync period (`--horizontal-pod-autoscaler-sync-period`, 15 s).
    pub sync_ns: u64,
    /// Scale-down stabilization window (`behavior.scaleDown.stabilizationWindowSeconds`, 300 s).
    pub down_window_ns: u64,
    /// Scale-up stabilization window (`behavior.scaleUp.stabilizationWindowSeconds`, 0).
    pub up_window_ns: u64,
    /// Scale-up policies, the larger wins: `up_pods` workers or `up_percent`% per `up_period`
    /// (4 pods and 100% per 15 s).
    pub up_pods: usize,
    pub up_percent: f64,
    pub up_period_ns: u64,
    /// Scale-down policy: `down_percent`% per `down_period` (100% per 15 s).
    pub down_percent: f64,
    pub down_period_ns: u64,
    pub bounds: Bounds,
}

impl Default for HpaParams {
    fn default() -> Self {
        Self {
            name: "hpa",
            metric: Metric::Utilization { target_percent: 80 },
            tolerance: 0.1,
            sync_ns: 15 * NS,
            down_window_ns: 300 * NS,
            up_window_ns: 0,
            up_pods: 4,
            up_percent: 100.0,
            up_period_ns: 15 * NS,
            down_percent: 100.0,
            down_period_ns: 15 * NS,
            bounds: Bounds { min: 1, max: None },
        }
    }
}

/// An HPA and what it remembers: its recommendations (for stabilization) and its scaling
/// events (for the rate limits).
#[derive(Debug, Clone)]
pub struct Hpa {
    params: HpaParams,
    /// (model ns, recommendation), oldest first.
    recommendations: VecDeque<(u64, usize)>,
    /// (model ns, workers added (+) or removed (−)), oldest first.
    events: VecDeque<(u64, i64)>,
}

impl Hpa {
    pub fn new(params: HpaParams) -> Self {
        Self {
            params,
            recommendations: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The metric's value, its words, and the usage ratio metric / target.
    fn ratio(&self, obs: &Observation) -> (f64, String) {
        let current = obs.workers.max(1);
        match self.params.metric {
            Metric::Utilization { target_percent } => {
                let percent = (obs.utilization * 100.0).floor() as u32;
                let ratio = f64::from(percent) / f64::from(target_percent);
                (
                    ratio,
                    format!("utilization {percent}% vs {target_percent}%"),
                )
            }
            Metric::Queue { target } => {
                let per_worker = obs.backlog as f64 / current as f64;
                (
                    per_worker / target,
                    format!(
                        "queue {} = {per_worker:.2}/worker vs {}",
                        obs.backlog,
                        trim(target)
                    ),
                )
            }
        }
    }

    /// The stabilized recommendation (Kubernetes' `stabilizeRecommendationWithBehaviors`): no
    /// lower than the lowest recommendation in the scale-up window, no higher than the
    /// highest in the scale-down window, and otherwise the current count.
    fn stabilize(&mut self, now_ns: u64, current: usize, recommendation: usize) -> usize {
        let keep = self.params.down_window_ns.max(self.params.up_window_ns);
        while self
            .recommendations
            .front()
            .is_some_and(|(t, _)| now_ns.saturating_sub(*t) > keep)
        {
            self.recommendations.pop_front();
        }
        let (mut up, mut down) = (recommendation, recommendation);
        for &(t, r) in &self.recommendations {
            let age = now_ns - t;
            if age < self.params.up_window_ns {
                up = up.min(r);
            }
            if age < self.params.down_window_ns {
                down = down.max(r);
            }
        }
        self.recommendations.push_back((now_ns, recommendation));
        current.max(up).min(down)
    }

    /// Workers added (positive) or removed (negative, as a positive count) within `period_ns`.
    fn changed_within(&self, now_ns: u64, period_ns: u64, up: bool) -> usize {
        self.events
            .iter()
            .filter(|(t, _)| now_ns.saturating_sub(*t) < period_ns)
            .map(|&(_, d)| if up { d.max(0) } else { (-d).max(0) })
            .sum::<i64>() as usize
    }

    /// The most workers the scale-up policies allow now (`calculateScaleUpLimitWithScalingRules`).
    pub fn scale_up_limit(&self, now_ns: u64, current: usize) -> usize {
        let p = &self.params;
        let start = current.saturating_sub(self.changed_within(now_ns, p.up_period_ns, true));
        let by_pods = start + p.up_pods;
        let by_percent = (start as f64 * (1.0 + p.up_percent / 100.0)).ceil() as usize;
        by_pods.max(by_percent)
    }

    /// The fewest workers the scale-down policy allows now.
    pub fn scale_down_limit(&self, now_ns: u64, current: usize) -> usize {
        let p = &self.params;
        let start = current + self.changed_within(now_ns, p.down_period_ns, false);
        (start as f64 * (1.0 - p.down_percent / 100.0)).max(0.0) as usize
    }

    /// The rate limits and the bounds (`convertDesiredReplicasWithBehaviorRate`).
    fn limit(&self, obs: &Observation, current: usize, stabilized: usize) -> (usize, Option<Hold>) {
        let max = self.params.bounds.max_for(obs);
        let min = self.params.bounds.min.min(max);
        if stabilized > current {
            let limit = self.scale_up_limit(obs.now_ns, current);
            if stabilized > limit && limit < max {
                return (limit.max(min), Some(Hold::RateLimit));
            }
        } else if stabilized < current {
            let limit = self.scale_down_limit(obs.now_ns, current);
            if stabilized < limit && limit > min {
                return (limit.min(max), Some(Hold::RateLimit));
            }
        }
        let (n, held) = self.params.bounds.clamp(stabilized, obs);
        (n, held.then_some(Hold::Bounds))
    }
}

impl Policy for Hpa {
    fn name(&self) -> &'static str {
        self.params.name
    }

    fn interval_ns(&self) -> u64 {
        self.params.sync_ns
    }

    fn evaluate(&mut self, obs: &Observation) -> Decision {
        let current = obs.workers.max(1);
        let (ratio, inputs) = self.ratio(obs);
        let within = (ratio - 1.0).abs() <= self.params.tolerance;
        let recommended = if within {
            current
        } else {
            (current as f64 * ratio).ceil().max(0.0) as usize
        };
        let formula = if within {
            format!(
                "ratio {ratio:.4} within tolerance {}",
                trim(self.params.tolerance)
            )
        } else {
            format!("ceil({current} × {ratio:.4}) = {recommended}")
        };
        let stabilized = self.stabilize(obs.now_ns, current, recommended);
        let (desired, limited) = self.limit(obs, current, stabilized);
        let held = if limited.is_some() {
            limited
        } else if stabilized != recommended {
            Some(Hold::Stabilization)
        } else if within {
            Some(Hold::Tolerance)
        } else {
            None
        };
        if desired != current {
            self.events
                .push_back((obs.now_ns, desired as i64 - current as i64));
            let keep = self.params.up_period_ns.max(self.params.down_period_ns);
            while self
                .events
                .front()
                .is_some_and(|(t, _)| obs.now_ns.saturating_sub(*t) >= keep)
            {
                self.events.pop_front();
            }
        }
        Decision {
            at_ns: obs.now_ns,
            current,
            recommended,
            desired,
            inputs,
            formula,
            held,
        }
    }
}

/// A number without a trailing `.0`: 10, 0.8.
pub(crate) fn trim(x: f64) -> String {
    let text = format!("{x}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::autoscale::testing::obs;

    fn queue_hpa(target: f64) -> Hpa {
        Hpa::new(HpaParams {
            metric: Metric::Queue { target },
            ..HpaParams::default()
        })
    }

    #[test]
    fn desired_is_the_ceiling_of_current_times_the_ratio() {
        let mut hpa = queue_hpa(10.0);
        // 4 workers, 57 queued: 14.25 per worker against 10: ceil(4 × 1.425) = 6.
        let d = hpa.evaluate(&obs(0, 4, 57));
        assert_eq!((d.recommended, d.desired, d.held), (6, 6, None));
        assert!(d.inputs.contains("14.25/worker vs 10"), "{}", d.inputs);
    }

    #[test]
    fn within_the_tolerance_nothing_changes() {
        let mut hpa = queue_hpa(10.0);
        // 4 workers, 43 queued: ratio 1.075, within 0.1.
        let d = hpa.evaluate(&obs(0, 4, 43));
        assert_eq!((d.desired, d.held), (4, Some(Hold::Tolerance)));
        // 45 queued: 1.125, outside: ceil(4.5) = 5.
        let d = hpa.evaluate(&obs(15, 4, 45));
        assert_eq!(d.desired, 5);
    }

    #[test]
    fn scaling_down_waits_for_the_highest_recommendation_in_the_window() {
        let mut hpa = queue_hpa(10.0);
        assert_eq!(hpa.evaluate(&obs(0, 4, 80)).desired, 8);
        // The queue empties: the formula says 1, but 8 was recommended 15 s ago.
        let d = hpa.evaluate(&obs(15, 8, 0));
        assert_eq!((d.recommended, d.desired), (0, 8));
        assert_eq!(d.held, Some(Hold::Stabilization));
        // Still inside 300 s of the 8.
        assert_eq!(hpa.evaluate(&obs(299, 8, 0)).desired, 8);
        // 300 s after the 8, the highest left in the window is 0: down to the minimum, 1.
        let d = hpa.evaluate(&obs(300, 8, 0));
        assert_eq!(d.desired, 1);
        assert_eq!(d.held, Some(Hold::Bounds));
    }

    #[test]
    fn scaling_up_is_limited_to_double_or_four_more_per_period() {
        let mut hpa = queue_hpa(1.0);
        // 2 workers, 100 queued: the formula wants 100; max(2 + 4, 2 × 2) = 6.
        let d = hpa.evaluate(&obs(0, 2, 100));
        assert_eq!(
            (d.recommended, d.desired, d.held),
            (100, 6, Some(Hold::RateLimit))
        );
        // 5 s later, still in the same 15 s period: it started at 2, so still at most 6.
        let d = hpa.evaluate(&obs(5, 6, 100));
        assert_eq!((d.desired, d.held), (6, Some(Hold::RateLimit)));
        // A period on: from 6, max(10, 12) = 12.
        assert_eq!(hpa.evaluate(&obs(15, 6, 100)).desired, 12);
        assert_eq!(hpa.scale_up_limit(15, 12), 12);
    }

    #[test]
    fn a_custom_down_rate_limits_scaling_down() {
        let mut hpa = Hpa::new(HpaParams {
            metric: Metric::Queue { target: 10.0 },
            down_window_ns: 0,
            down_percent: 50.0,
            ..HpaParams::default()
        });
        let d = hpa.evaluate(&obs(0, 16, 0));
        assert_eq!((d.desired, d.held), (8, Some(Hold::RateLimit)));
        // Within the period the start was 16: 16 × 0.5 = 8 again, so no further.
        assert_eq!(hpa.evaluate(&obs(10, 8, 0)).desired, 8);
        assert_eq!(hpa.evaluate(&obs(15, 8, 0)).desired, 4);
    }

    #[test]
    fn utilization_is_compared_in_whole_percent() {
        let mut hpa = Hpa::new(HpaParams::default());
        let mut o = obs(0, 4, 0);
        o.utilization = 0.999;
        // 99% vs 80%: ceil(4 × 1.2375) = 5.
        let d = hpa.evaluate(&o);
        assert_eq!(d.desired, 5);
        assert!(d.inputs.contains("utilization 99% vs 80%"), "{}", d.inputs);
    }

    #[test]
    fn max_bounds_the_result() {
        let mut hpa = Hpa::new(HpaParams {
            metric: Metric::Queue { target: 1.0 },
            bounds: Bounds {
                min: 2,
                max: Some(5),
            },
            ..HpaParams::default()
        });
        let d = hpa.evaluate(&obs(0, 4, 100));
        assert_eq!((d.desired, d.held), (5, Some(Hold::Bounds)));
    }
}
