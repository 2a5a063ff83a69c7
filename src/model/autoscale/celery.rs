//! Celery's worker autoscaler (celery/worker/autoscale.py, `--autoscale`): grow at once to
//! min(queued + busy, max); shrink only when the last scale-up is older than the keepalive
//! (`AUTOSCALE_KEEPALIVE`, 30 s), one worker per evaluation. It looks every second.

use super::{Decision, Hold, Observation, Policy};

const NS: u64 = 1_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CeleryParams {
    pub min: usize,
    pub max: usize,
    pub keepalive_ns: u64,
    pub interval_ns: u64,
}

impl CeleryParams {
    pub fn new(min: usize, max: usize) -> Self {
        Self {
            min,
            max,
            keepalive_ns: 30 * NS,
            interval_ns: NS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Celery {
    params: CeleryParams,
    /// Model time of the last scale-up; Celery never shrinks before its first.
    last_scale_up_ns: Option<u64>,
}

impl Celery {
    pub fn new(params: CeleryParams) -> Self {
        Self {
            params,
            last_scale_up_ns: None,
        }
    }
}

impl Policy for Celery {
    fn name(&self) -> &'static str {
        "celery"
    }

    fn interval_ns(&self) -> u64 {
        self.params.interval_ns
    }

    /// `Autoscaler._maybe_scale`: `qty` is the reserved requests, here queued plus busy.
    fn evaluate(&mut self, obs: &Observation) -> Decision {
        let p = self.params;
        let max = p.max.min(obs.max_workers);
        let procs = obs.workers.max(1);
        let qty = obs.backlog as usize + obs.busy;
        let inputs = format!(
            "queued {} + busy {} = {qty}, min {}, max {max}",
            obs.backlog, obs.busy, p.min
        );
        let decision = |desired: usize, recommended: usize, formula: String, held| Decision {
            at_ns: obs.now_ns,
            current: procs,
            recommended,
            desired,
            inputs: inputs.clone(),
            formula,
            held,
        };
        let grow_to = qty.min(max);
        if grow_to > procs {
            self.last_scale_up_ns = Some(obs.now_ns);
            return decision(
                grow_to,
                grow_to,
                format!("grow to min({qty}, {max}) = {grow_to}"),
                None,
            );
        }
        let shrink_to = qty.max(p.min);
        if shrink_to < procs {
            let idle_ns = self.last_scale_up_ns.map(|t| obs.now_ns.saturating_sub(t));
            let formula = format!("shrink toward max({qty}, {}) = {shrink_to}", p.min);
            return match idle_ns {
                Some(idle) if idle > p.keepalive_ns => decision(
                    procs - 1,
                    shrink_to,
                    format!("{formula}, one at a time"),
                    None,
                ),
                _ => decision(procs, shrink_to, formula, Some(Hold::Keepalive)),
            };
        }
        decision(
            procs,
            procs,
            format!(
                "min({qty}, {max}) = {grow_to}, max({qty}, {}) = {shrink_to}: no change",
                p.min
            ),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::autoscale::testing::obs;

    fn celery() -> Celery {
        Celery::new(CeleryParams::new(2, 10))
    }

    #[test]
    fn grows_at_once_to_the_reserved_count_up_to_max() {
        let mut c = celery();
        let mut o = obs(0, 2, 5);
        o.busy = 2;
        assert_eq!(c.evaluate(&o).desired, 7);
        let mut o = obs(1, 7, 20);
        o.busy = 7;
        assert_eq!(c.evaluate(&o).desired, 10);
    }

    #[test]
    fn shrinks_one_at_a_time_only_after_the_keepalive() {
        let mut c = celery();
        let mut o = obs(0, 2, 8);
        o.busy = 2;
        assert_eq!(c.evaluate(&o).desired, 10);
        let mut idle = obs(30, 10, 0);
        idle.busy = 0;
        // 30 s is not older than the keepalive of 30 s.
        let d = c.evaluate(&idle);
        assert_eq!((d.desired, d.held), (10, Some(Hold::Keepalive)));
        idle.now_ns += 1;
        assert_eq!(c.evaluate(&idle).desired, 9);
        idle.workers = 2;
        // Never below min.
        assert_eq!(c.evaluate(&idle).desired, 2);
    }

    #[test]
    fn never_shrinks_before_its_first_scale_up() {
        let mut c = celery();
        let mut idle = obs(1_000, 6, 0);
        idle.busy = 0;
        let d = c.evaluate(&idle);
        assert_eq!((d.desired, d.held), (6, Some(Hold::Keepalive)));
    }
}
