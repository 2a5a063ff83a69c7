//! KEDA's queue scalers (kedacore/keda): the queue length is an HPA `AverageValue` metric, so
//! desired = ceil(queue / target per worker), run by the HPA's algorithm (tolerance,
//! stabilization, rate limits) once per polling interval (`pollingInterval`, 30 s).

use super::hpa::{HpaParams, Metric};

const NS: u64 = 1_000_000_000;

/// KEDA's defaults: 5 events per worker (the Redis list scaler's `listLength`), polled every
/// 30 s, the HPA's defaults for the rest.
pub fn default_params() -> HpaParams {
    HpaParams {
        name: "keda",
        metric: Metric::Queue { target: 5.0 },
        sync_ns: 30 * NS,
        ..HpaParams::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::autoscale::Policy;
    use crate::model::autoscale::hpa::Hpa;
    use crate::model::autoscale::testing::obs;

    #[test]
    fn keda_asks_for_the_queue_over_the_target_per_worker() {
        let mut keda = Hpa::new(default_params());
        assert_eq!(keda.name(), "keda");
        assert_eq!(keda.interval_ns(), 30 * NS);
        // 3 workers, 31 queued, 5 per worker: ceil(3 × 31 / 15) = ceil(31 / 5) = 7.
        let d = keda.evaluate(&obs(0, 3, 31));
        assert_eq!(d.desired, 7);
        assert_eq!(d.desired, (31.0_f64 / 5.0).ceil() as usize);
    }
}
