//! The twin off the hot path: a thread of its own, at batch priority, that simulates each new
//! configuration it is given and publishes the steady-state estimate. Faces read the latest
//! estimate when they draw; nothing waits for it. A panic in the twin makes the estimate
//! unavailable; the run goes on.

use super::background::{Background, Latest};
use super::twin::{SteadyState, TwinConfig, steady_state};

/// Replications per estimate, and arrivals in each (after a tenth as warm-up): about 200,000
/// events, 10-20 ms of one core.
pub const REPLICATIONS: usize = 10;
pub const EVENTS: u64 = 20_000;

/// Turns a configuration and a seed into a steady-state estimate.
pub type Estimator = fn(&TwinConfig, u64) -> SteadyState;

/// What the twin says of a configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum TwinEstimate {
    /// Still simulating the latest configuration (or none given yet).
    Pending,
    Ready {
        config: TwinConfig,
        steady: SteadyState,
    },
    /// The twin failed (a bug): no estimate for the rest of the run.
    Unavailable(String),
}

/// The twin's thread: `predict` hands it a configuration, `estimate` reads what it found.
pub struct TwinThread(Background<TwinConfig, SteadyState>);

impl TwinThread {
    pub fn spawn(seed: u64) -> std::io::Result<Self> {
        Self::spawn_with(seed, |config, seed| {
            steady_state(config, seed, REPLICATIONS, EVENTS)
        })
    }

    /// The same thread with another estimator (tests give one that fails).
    pub fn spawn_with(seed: u64, estimate: Estimator) -> std::io::Result<Self> {
        Background::spawn("backlog-twin", move |config| estimate(config, seed)).map(Self)
    }

    /// Asks for an estimate of `config` (replacing any not yet started). Unchanged configurations
    /// are not simulated again.
    pub fn predict(&self, config: &TwinConfig) {
        {
            let mut latest = self.0.latest();
            match &*latest {
                Latest::Ready { request: done, .. } if done == config => return,
                Latest::Unavailable(_) => return,
                _ => *latest = Latest::Pending,
            }
        }
        self.0.request(config.clone());
    }

    /// The latest estimate.
    pub fn estimate(&self) -> TwinEstimate {
        match &*self.0.latest() {
            Latest::Pending => TwinEstimate::Pending,
            Latest::Ready { request, output } => TwinEstimate::Ready {
                config: request.clone(),
                steady: *output,
            },
            Latest::Unavailable(why) => TwinEstimate::Unavailable(why.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
    use std::time::{Duration, Instant};

    fn config(servers: usize) -> TwinConfig {
        TwinConfig {
            arrival: ArrivalProcess::Poisson,
            rate_per_s: 9.0,
            burst: 1,
            service: Duration::from_millis(500),
            service_dist: ServiceDist::Exp,
            servers,
            cores: None,
            queue_cap: None,
            overflow: Overflow::Block,
        }
    }

    fn wait_ready(twin: &TwinThread) -> (TwinConfig, SteadyState) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let TwinEstimate::Ready { config, steady } = twin.estimate() {
                return (config, steady);
            }
            assert!(
                Instant::now() < deadline,
                "no estimate: {:?}",
                twin.estimate()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn each_new_configuration_gets_its_own_estimate() {
        let twin = TwinThread::spawn(1).unwrap();
        assert_eq!(twin.estimate(), TwinEstimate::Pending);
        twin.predict(&config(6));
        let (done, six) = wait_ready(&twin);
        assert_eq!(done, config(6));
        twin.predict(&config(5));
        assert_eq!(twin.estimate(), TwinEstimate::Pending);
        let (done, five) = wait_ready(&twin);
        assert_eq!(done, config(5));
        // One worker fewer at ρ = 0.9 waits several times as long (M/M/5 vs M/M/6).
        assert!(
            five.mean_wait_s.mean > 3.0 * six.mean_wait_s.mean,
            "{five:?} {six:?}"
        );
    }

    #[test]
    fn a_panic_in_the_twin_makes_the_estimate_unavailable_and_nothing_else() {
        let twin = TwinThread::spawn_with(1, |_, _| panic!("a bug in the twin")).unwrap();
        twin.predict(&config(6));
        let deadline = Instant::now() + Duration::from_secs(30);
        while twin.estimate() == TwinEstimate::Pending {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            twin.estimate(),
            TwinEstimate::Unavailable("a bug in the twin".into())
        );
        // Asking again changes nothing, and dropping the twin does not hang.
        twin.predict(&config(5));
        assert!(matches!(twin.estimate(), TwinEstimate::Unavailable(_)));
    }
}
