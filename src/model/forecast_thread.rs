//! Forecasts off the hot path: a thread of its own, at batch priority, that turns the latest
//! request (a configuration and a measured state) into a forecast. The aggregator asks and
//! never waits; it reads the latest forecast when it publishes. A panic makes forecasts
//! unavailable for the rest of the run; the run goes on.

use super::background::{Background, Latest};
use super::forecast::{
    Forecast, POINTS, REPLICATIONS, TwinState, forecast, horizon_for, live_config,
};
use super::twin::TwinConfig;
use crate::engine::snapshot::Snapshot;

/// What to forecast: the next `horizon_s` under `config` from `state`, measured at `from_ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRequest {
    pub config: TwinConfig,
    pub state: TwinState,
    pub horizon_s: f64,
    /// Model time of the state, ns.
    pub from_ns: u64,
}

impl ForecastRequest {
    /// The live forecast of a snapshot: its state, its settings, the chart's horizon.
    pub fn of(s: &Snapshot) -> Self {
        Self {
            config: live_config(s),
            state: TwinState::of(s),
            horizon_s: horizon_for(s),
            from_ns: s.now_ns,
        }
    }
}

/// Turns a request and a seed into a forecast.
pub type Forecaster = fn(&ForecastRequest, u64) -> Forecast;

/// The latest forecast.
#[derive(Debug, Clone, PartialEq)]
pub enum ForecastStatus {
    /// None made yet.
    Pending,
    Ready {
        config: TwinConfig,
        from_ns: u64,
        forecast: Box<Forecast>,
    },
    /// The forecaster failed (a bug): no forecast for the rest of the run.
    Unavailable(String),
}

/// The forecast thread: `request` hands it a state, `latest` reads what it found.
pub struct ForecastThread(Background<ForecastRequest, Forecast>);

impl ForecastThread {
    pub fn spawn(seed: u64) -> std::io::Result<Self> {
        Self::spawn_with(seed, |r, seed| {
            forecast(&r.config, &r.state, r.horizon_s, POINTS, REPLICATIONS, seed)
        })
    }

    /// The same thread with another forecaster (tests give one that fails).
    pub fn spawn_with(seed: u64, forecaster: Forecaster) -> std::io::Result<Self> {
        Background::spawn("backlog-forecast", move |request| forecaster(request, seed)).map(Self)
    }

    /// Asks for a forecast (replacing any not yet started); returns at once.
    pub fn request(&self, request: ForecastRequest) {
        self.0.request(request);
    }

    pub fn latest(&self) -> ForecastStatus {
        match &*self.0.latest() {
            Latest::Pending => ForecastStatus::Pending,
            Latest::Ready { request, output } => ForecastStatus::Ready {
                config: request.config.clone(),
                from_ns: request.from_ns,
                forecast: Box::new(output.clone()),
            },
            Latest::Unavailable(why) => ForecastStatus::Unavailable(why.clone()),
        }
    }

    /// The latest forecast if it was made for `config`, with the model time it starts from.
    pub fn for_config(&self, config: &TwinConfig) -> Option<(u64, Forecast)> {
        match &*self.0.latest() {
            Latest::Ready { request, output } if request.config == *config => {
                Some((request.from_ns, output.clone()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{ArrivalProcess, Overflow, ServiceDist};
    use std::time::{Duration, Instant};

    fn request(servers: usize) -> ForecastRequest {
        ForecastRequest {
            config: TwinConfig {
                arrival: ArrivalProcess::Fixed,
                rate_per_s: 10.0,
                burst: 1,
                service: Duration::from_millis(500),
                service_dist: ServiceDist::Fixed,
                servers,
                cores: None,
                queue_cap: None,
                overflow: Overflow::Block,
            },
            state: TwinState::default(),
            horizon_s: 20.0,
            from_ns: 7,
        }
    }

    fn wait_until(thread: &ForecastThread, done: impl Fn(&ForecastStatus) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done(&thread.latest()) {
            assert!(Instant::now() < deadline, "{:?}", thread.latest());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_forecast_is_kept_for_the_configuration_it_was_made_for() {
        let thread = ForecastThread::spawn(1).unwrap();
        assert_eq!(thread.latest(), ForecastStatus::Pending);
        thread.request(request(4));
        wait_until(&thread, |s| matches!(s, ForecastStatus::Ready { .. }));
        let (from_ns, four) = thread.for_config(&request(4).config).unwrap();
        assert_eq!(from_ns, 7);
        // 10/s against 8/s: grows by 2/s.
        assert!((four.growth_per_s - 2.0).abs() < 0.1, "{four:?}");
        assert!(thread.for_config(&request(5).config).is_none());
    }

    #[test]
    fn a_panic_makes_forecasts_unavailable_and_nothing_else() {
        let thread = ForecastThread::spawn_with(1, |_, _| panic!("a bug in the forecast")).unwrap();
        thread.request(request(4));
        wait_until(&thread, |s| *s != ForecastStatus::Pending);
        assert_eq!(
            thread.latest(),
            ForecastStatus::Unavailable("a bug in the forecast".into())
        );
        thread.request(request(5));
        assert!(thread.for_config(&request(5).config).is_none());
    }
}
