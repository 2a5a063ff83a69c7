//! Commands the faces send to a running engine (keys, scenario steps, signals).

use std::time::Duration;

use super::settings::{
    ArrivalProcess, MAX_BURST, MAX_SERVICE, Overflow, Rate, ServiceDist, Settings, WorkMode,
};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Target worker count; clamped to 1..=max_workers by the engine.
    SetWorkers(usize),
    SetRate(Rate),
    SetArrival(ArrivalProcess),
    SetBurst(u32),
    /// Mean service demand (model time).
    SetService(Duration),
    SetServiceDist(ServiceDist),
    SetWork(WorkMode),
    /// `None` makes the queue unbounded. Changing it keeps every queued event.
    SetQueueCap(Option<usize>),
    SetOverflow(Overflow),
    SetFailRate(f64),
    /// Pause (true) or resume (false) the source.
    Pause(bool),
    /// Clear statistics (histograms, series, maxima); counts of events still in the system stay.
    ResetStats,
    /// End the source now; the pool drains what is queued, then the run finishes.
    EndSource,
    /// Stop now: end the source, abandon the queue and in-flight work, report them as such.
    Stop,
}

impl Command {
    /// Whether it changes the settings (run commands do not).
    pub fn changes_settings(&self) -> bool {
        !matches!(
            self,
            Command::ResetStats | Command::EndSource | Command::Stop
        )
    }
}

impl Settings {
    /// Applies a settings command, clamping values to what the engine accepts (workers to
    /// 1..=max_workers, service to MAX_SERVICE, burst to 1..=MAX_BURST, a queue cap to at least
    /// 1, a fail rate to 0..=1). The engine's settings, the monitor's copy of them and a
    /// scenario's starting settings all change through here. Run commands (reset, end, stop)
    /// change nothing.
    pub fn apply(&mut self, command: &Command) {
        match *command {
            Command::SetWorkers(n) => self.workers = n.clamp(1, self.max_workers),
            Command::SetRate(rate) => self.rate = rate,
            Command::SetArrival(arrival) => self.arrival = arrival,
            Command::SetBurst(burst) => self.burst = burst.clamp(1, MAX_BURST),
            Command::SetService(service) => self.service = service.min(MAX_SERVICE),
            Command::SetServiceDist(dist) => self.service_dist = dist,
            Command::SetWork(mode) => self.work = mode,
            Command::SetQueueCap(cap) => self.queue_cap = cap.map(|c| c.max(1)),
            Command::SetOverflow(overflow) => self.overflow = overflow,
            Command::SetFailRate(p) => self.fail_rate = p.clamp(0.0, 1.0),
            Command::Pause(paused) => self.paused = paused,
            Command::ResetStats | Command::EndSource | Command::Stop => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_clamped_to_what_the_engine_accepts() {
        let mut s = Settings {
            max_workers: 8,
            ..Settings::default()
        };
        let before = s.clone();
        for command in [Command::ResetStats, Command::EndSource, Command::Stop] {
            s.apply(&command);
        }
        assert_eq!(s, before);
        s.apply(&Command::SetWorkers(0));
        assert_eq!(s.workers, 1);
        s.apply(&Command::SetWorkers(100));
        assert_eq!(s.workers, 8);
        s.apply(&Command::SetService(Duration::from_secs(3 * 86_400)));
        assert_eq!(s.service, MAX_SERVICE);
        s.apply(&Command::SetBurst(0));
        assert_eq!(s.burst, 1);
        s.apply(&Command::SetQueueCap(Some(0)));
        assert_eq!(s.queue_cap, Some(1));
        s.apply(&Command::SetFailRate(1.5));
        assert_eq!(s.fail_rate, 1.0);
        s.apply(&Command::Pause(true));
        assert!(s.paused);
        assert!(s.validate().is_ok());
    }
}
