//! The replay's clock: where in the recorded run the monitor is, how fast it moves, and the
//! jumps the keys ask for (pure: no terminal, no wall clock; the loop says how much time passed).

use std::time::Duration;

const NS_PER_S: u64 = 1_000_000_000;
/// Slowest and fastest replay, model time per wall time.
pub const MIN_SPEED: f64 = 1.0 / 64.0;
pub const MAX_SPEED: f64 = 1024.0;

#[derive(Debug, Clone, PartialEq)]
pub struct ReplayClock {
    position_ns: u64,
    start_ns: u64,
    end_ns: u64,
    playing: bool,
    speed: f64,
}

impl ReplayClock {
    /// A clock at the run's start, playing at `speed`.
    pub fn new(start_ns: u64, end_ns: u64, speed: f64) -> Self {
        Self {
            position_ns: start_ns,
            start_ns,
            end_ns: end_ns.max(start_ns),
            playing: true,
            speed: speed.clamp(MIN_SPEED, MAX_SPEED),
        }
    }

    pub fn position_ns(&self) -> u64 {
        self.position_ns
    }

    pub fn span_ns(&self) -> (u64, u64) {
        (self.start_ns, self.end_ns)
    }

    pub fn playing(&self) -> bool {
        self.playing
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Moves on by `wall` of wall time (while playing); stops at the end.
    pub fn advance(&mut self, wall: Duration) {
        if !self.playing {
            return;
        }
        let step = (wall.as_secs_f64() * self.speed * 1e9) as u64;
        self.seek_to(self.position_ns.saturating_add(step));
        if self.position_ns == self.end_ns {
            self.playing = false;
        }
    }

    /// Play or pause; playing from the end starts again from the start.
    pub fn toggle(&mut self) {
        if !self.playing && self.position_ns == self.end_ns {
            self.position_ns = self.start_ns;
        }
        self.playing = !self.playing;
    }

    pub fn faster(&mut self) {
        self.speed = (self.speed * 2.0).min(MAX_SPEED);
    }

    pub fn slower(&mut self) {
        self.speed = (self.speed / 2.0).max(MIN_SPEED);
    }

    pub fn seek_to(&mut self, t_ns: u64) {
        self.position_ns = t_ns.clamp(self.start_ns, self.end_ns);
    }

    /// Seeks `seconds` (model time) forward, or back when negative.
    pub fn seek_by(&mut self, seconds: i64) {
        let delta = seconds.unsigned_abs().saturating_mul(NS_PER_S);
        let t = if seconds < 0 {
            self.position_ns.saturating_sub(delta)
        } else {
            self.position_ns.saturating_add(delta)
        };
        self.seek_to(t);
    }
}

/// The first change after `now_ns`, if any (`changes` in time order).
pub fn next_change(changes: &[u64], now_ns: u64) -> Option<u64> {
    changes.iter().copied().find(|&t| t > now_ns)
}

/// The last change before `now_ns`, if any; standing on one goes to the one before it.
pub fn previous_change(changes: &[u64], now_ns: u64) -> Option<u64> {
    changes.iter().copied().rev().find(|&t| t < now_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;

    #[test]
    fn playing_moves_at_the_speed_and_stops_at_the_end() {
        let mut clock = ReplayClock::new(0, 10 * S, 1.0);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.position_ns(), 2 * S);
        clock.faster();
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.position_ns(), 6 * S);
        clock.advance(Duration::from_secs(60));
        assert_eq!(clock.position_ns(), 10 * S);
        assert!(!clock.playing());
        // Play again from the end starts over.
        clock.toggle();
        assert!(clock.playing());
        assert_eq!(clock.position_ns(), 0);
    }

    #[test]
    fn a_paused_clock_stays_and_seeks_stay_inside_the_run() {
        let mut clock = ReplayClock::new(S, 100 * S, 1.0);
        clock.toggle();
        clock.advance(Duration::from_secs(5));
        assert_eq!(clock.position_ns(), S);
        clock.seek_by(-30);
        assert_eq!(clock.position_ns(), S);
        clock.seek_by(30);
        assert_eq!(clock.position_ns(), 31 * S);
        clock.seek_by(5);
        assert_eq!(clock.position_ns(), 36 * S);
        clock.seek_by(1000);
        assert_eq!(clock.position_ns(), 100 * S);
    }

    #[test]
    fn speed_doubles_and_halves_within_its_limits() {
        let mut clock = ReplayClock::new(0, S, 1.0);
        for _ in 0..20 {
            clock.faster();
        }
        assert_eq!(clock.speed(), MAX_SPEED);
        for _ in 0..40 {
            clock.slower();
        }
        assert_eq!(clock.speed(), MIN_SPEED);
    }

    #[test]
    fn next_and_previous_change_step_over_the_marks() {
        let changes = [10, 20, 30];
        assert_eq!(next_change(&changes, 0), Some(10));
        assert_eq!(next_change(&changes, 10), Some(20));
        assert_eq!(next_change(&changes, 30), None);
        assert_eq!(previous_change(&changes, 25), Some(20));
        assert_eq!(previous_change(&changes, 20), Some(10));
        assert_eq!(previous_change(&changes, 10), None);
    }
}
