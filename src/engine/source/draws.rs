//! The generator's draws, and the events it holds without keeping them.
//!
//! While a `block` queue is full, every arrival still counts at its due time, but the events
//! need not be kept: the draws that made them are deterministic. [`Deferred`] keeps where the
//! draws stood when holding began (and after each change of settings meanwhile) and how many
//! events followed, and draws them again, the same ids, times and demands, in order, as room
//! appears. So an overloaded run with a capped queue holds a few hundred bytes however long
//! it lasts, where keeping each held event took 32 bytes (3.2 MB a second at 100k/s offered).

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::Xoshiro256PlusPlus;

use super::generator::{ArrivalSchedule, sample_demand_ns};
use super::trace::Replay;
use crate::engine::event::Event;
use crate::engine::settings::{ServiceDist, Settings};

/// When events are due: drawn from the arrival settings, or replayed from a trace.
#[derive(Debug, Clone)]
pub(super) enum Schedule {
    Drawn(ArrivalSchedule),
    Replay(Replay),
}

impl Schedule {
    /// Model ns the next event is due; `u64::MAX` once a trace is over.
    fn next_due_ns(&self) -> u64 {
        match self {
            Schedule::Drawn(s) => s.next_due_ns(),
            Schedule::Replay(r) => r.next_due_ns(),
        }
    }

    fn advance(&mut self, rng: &mut Xoshiro256PlusPlus) {
        match self {
            Schedule::Drawn(s) => s.advance(rng),
            Schedule::Replay(r) => r.advance(),
        }
    }

    /// Re-anchors at `now_ns` for `settings` (a new rate or process, or a resume).
    fn retime(&mut self, settings: &Settings, now_ns: u64, rng: &mut Xoshiro256PlusPlus) {
        match self {
            Schedule::Drawn(s) => {
                *s = ArrivalSchedule::new(
                    settings.arrival,
                    settings.rate.get(),
                    settings.burst,
                    now_ns,
                    rng,
                );
            }
            Schedule::Replay(r) => r.retime(now_ns, settings.rate.get()),
        }
    }
}

/// Everything the next event is drawn from: the schedule, the two random streams, the next id
/// and the service settings. A clone draws the same events.
#[derive(Debug, Clone)]
pub(super) struct Draws {
    schedule: Schedule,
    arrivals: Xoshiro256PlusPlus,
    service_rng: Xoshiro256PlusPlus,
    next_id: u64,
    service_dist: ServiceDist,
    service: Duration,
}

impl Draws {
    pub fn new(
        schedule: Schedule,
        arrivals: Xoshiro256PlusPlus,
        service_rng: Xoshiro256PlusPlus,
        settings: &Settings,
    ) -> Self {
        Self {
            schedule,
            arrivals,
            service_rng,
            next_id: 1,
            service_dist: settings.service_dist,
            service: settings.service,
        }
    }

    /// Model ns the next event is due; `u64::MAX` once a trace is over.
    pub fn next_due_ns(&self) -> u64 {
        self.schedule.next_due_ns()
    }

    /// The id the next event gets.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Takes new settings: demands are drawn from them from now on, and `retime` re-anchors
    /// the schedule at `now_ns`.
    pub fn change(&mut self, settings: &Settings, retime: bool, now_ns: u64) {
        if retime {
            self.schedule.retime(settings, now_ns, &mut self.arrivals);
        }
        self.service_dist = settings.service_dist;
        self.service = settings.service;
    }

    /// The event due next, with its demand; moves the schedule on.
    pub fn next_event(&mut self) -> Event {
        let event = Event::new(self.next_id, self.schedule.next_due_ns());
        let event = match &self.schedule {
            Schedule::Replay(replay) => match replay.next_row() {
                Some(row) => {
                    let event = event.with_demand(row.service_ns);
                    match &row.payload {
                        Some(payload) => event.with_payload(payload.clone()),
                        None => event,
                    }
                }
                None => event,
            },
            Schedule::Drawn(_) => event.with_demand(sample_demand_ns(
                self.service_dist,
                self.service,
                &mut self.service_rng,
            )),
        };
        self.next_id += 1;
        self.schedule.advance(&mut self.arrivals);
        event
    }
}

/// Events held at the source as the draws that make them: runs of events, each from where the
/// draws stood at its first.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    /// Oldest first: the draws of a run's next event, and its events left.
    runs: VecDeque<(Draws, u64)>,
    /// Whether the latest run may take more events: not after a change of settings.
    open: bool,
}

impl Deferred {
    /// Holds the event `draws` makes next (the caller then draws it, to count it): it joins
    /// the latest run, or starts another after a [`Self::cut`] or once that run was taken.
    pub fn hold(&mut self, draws: &Draws) {
        match self.runs.back_mut() {
            Some((_, left)) if self.open && *left > 0 => *left += 1,
            _ => {
                self.runs.push_back((draws.clone(), 1));
                self.open = true;
            }
        }
    }

    /// The settings changed: events held from now on are drawn under the new ones, so they
    /// start a run of their own.
    pub fn cut(&mut self) {
        self.open = false;
    }

    /// The oldest held event, drawn again; it is no longer held here.
    pub fn take(&mut self) -> Option<Event> {
        while let Some((draws, left)) = self.runs.front_mut() {
            if *left > 0 {
                *left -= 1;
                return Some(draws.next_event());
            }
            self.runs.pop_front();
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{ArrivalProcess, Rate};
    use crate::engine::source::generator::{ARRIVAL_STREAM, SERVICE_STREAM, stream_rng};

    fn draws(settings: &Settings) -> Draws {
        let mut arrivals = stream_rng(7, ARRIVAL_STREAM);
        let schedule = Schedule::Drawn(ArrivalSchedule::new(
            settings.arrival,
            settings.rate.get(),
            settings.burst,
            0,
            &mut arrivals,
        ));
        Draws::new(schedule, arrivals, stream_rng(7, SERVICE_STREAM), settings)
    }

    /// Held events come back exactly as they were first drawn, in order, across changes of
    /// rate, process and service made while they were held, and interleaved with new holds.
    #[test]
    fn held_events_are_drawn_again_the_same() {
        let mut settings = Settings {
            arrival: ArrivalProcess::Poisson,
            service_dist: ServiceDist::Exp,
            ..Settings::default()
        };
        let mut main = draws(&settings);
        let mut deferred = Deferred::default();
        let mut drawn = Vec::new();
        let mut taken = Vec::new();
        for step in 0..2_000u64 {
            if step % 300 == 299 {
                deferred.cut();
                settings.rate = Rate::per_s(1.0 + step as f64).unwrap();
                settings.arrival =
                    [ArrivalProcess::Fixed, ArrivalProcess::Bursty][step as usize % 2];
                settings.burst = 3;
                settings.service = Duration::from_millis(step);
                main.change(&settings, true, step * 1_000_000);
            }
            deferred.hold(&main);
            drawn.push(main.next_event());
            if step % 7 == 0 {
                taken.extend(deferred.take());
            }
        }
        assert!(taken.len() < drawn.len());
        taken.extend(std::iter::from_fn(|| deferred.take()));
        assert_eq!(deferred.take(), None);
        assert_eq!(taken, drawn);
        // Not one event over and over: the ids run on and the demands vary.
        assert_eq!(taken.last().map(|e| e.id), Some(2_000));
        assert!(
            taken
                .windows(2)
                .any(|w| w[0].demand_ns() != w[1].demand_ns())
        );
    }

    /// A run's size is what was held in it, so a run of one event between two changes is kept.
    #[test]
    fn a_run_held_across_a_change_keeps_both_sides() {
        let settings = Settings::default();
        let mut main = draws(&settings);
        let mut deferred = Deferred::default();
        deferred.hold(&main);
        let first = main.next_event();
        deferred.cut();
        deferred.hold(&main);
        let second = main.next_event();
        assert_eq!(deferred.take(), Some(first));
        assert_eq!(deferred.take(), Some(second));
        assert_eq!(deferred.take(), None);
    }
}
