//! The timeline driver: applies scenario steps when model time reaches them. Pure (`Timeline`
//! is told the time), so anything with a clock can drive it; `play` drives it in real time
//! against the live engine.

use std::convert::Infallible;
use std::future::Future;

use super::Controlled;
use super::scenario::Step;
use crate::engine::{EngineHandle, PhaseCause};

/// Steps in time order and how far they have been played.
pub struct Timeline<'a> {
    steps: &'a [Step],
    next: usize,
}

impl<'a> Timeline<'a> {
    pub fn new(steps: &'a [Step]) -> Self {
        Self { steps, next: 0 }
    }

    /// Model time of the next step, ns; `None` once all are played.
    pub fn next_at_ns(&self) -> Option<u64> {
        self.steps.get(self.next).map(|s| s.at_ns)
    }

    /// Plays every step due by `now_ns` against `target`, calling `on_step` after each (to show
    /// its caption); returns how many were played.
    pub fn advance(
        &mut self,
        now_ns: u64,
        target: &impl Controlled,
        mut on_step: impl FnMut(&Step),
    ) -> usize {
        let start = self.next;
        while let Some(step) = self.steps.get(self.next).filter(|s| s.at_ns <= now_ns) {
            for command in &step.commands {
                target.send(PhaseCause::Step, command.clone());
            }
            on_step(step);
            self.next += 1;
        }
        self.next - start
    }
}

/// Applies each step to the engine when model time reaches it, then calls `on_step`. Waits on
/// the engine's clock, not on snapshots (they lag), so steps land on time at any `--speed`.
pub async fn play(handle: &EngineHandle, steps: &[Step], mut on_step: impl FnMut(&Step)) {
    let clock = handle.clock();
    let mut timeline = Timeline::new(steps);
    while let Some(at_ns) = timeline.next_at_ns() {
        tokio::time::sleep_until(clock.instant_at(at_ns).into()).await;
        // The step's own time: a late wake-up must not play later steps early.
        timeline.advance(at_ns, handle, &mut on_step);
    }
}

/// Runs `face` (the monitor or the headless runner) while the steps play; returns what `face`
/// returns, whether or not every step was reached.
pub async fn play_alongside<F: Future>(
    handle: &EngineHandle,
    steps: &[Step],
    on_step: impl FnMut(&Step),
    face: F,
) -> F::Output {
    let timeline = async {
        play(handle, steps, on_step).await;
        std::future::pending::<Infallible>().await
    };
    tokio::select! {
        output = face => output,
        never = timeline => match never {},
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::engine::Command;

    #[derive(Default)]
    struct Recorder(RefCell<Vec<Command>>);

    impl Controlled for Recorder {
        fn send(&self, cause: PhaseCause, command: Command) {
            assert_eq!(cause, PhaseCause::Step);
            self.0.borrow_mut().push(command);
        }
    }

    fn step(at_ns: u64, workers: usize) -> Step {
        Step {
            at_ns,
            commands: vec![Command::SetWorkers(workers)],
            caption: Some(format!("{workers} workers")),
            autoscale: None,
        }
    }

    #[test]
    fn steps_play_when_their_time_comes_and_only_once() {
        let steps = [step(0, 1), step(10, 2), step(10, 3), step(25, 4)];
        let mut timeline = Timeline::new(&steps);
        let target = Recorder::default();
        let mut captions = Vec::new();
        assert_eq!(timeline.advance(0, &target, |s| captions.push(s.at_ns)), 1);
        assert_eq!(timeline.next_at_ns(), Some(10));
        assert_eq!(timeline.advance(9, &target, |_| {}), 0);
        assert_eq!(timeline.advance(24, &target, |s| captions.push(s.at_ns)), 2);
        assert_eq!(timeline.advance(24, &target, |_| {}), 0);
        assert_eq!(
            timeline.advance(1_000, &target, |s| captions.push(s.at_ns)),
            1
        );
        assert_eq!(timeline.next_at_ns(), None);
        assert_eq!(captions, [0, 10, 10, 25]);
        let workers: Vec<Command> = (1..=4).map(Command::SetWorkers).collect();
        assert_eq!(*target.0.borrow(), workers);
    }
}
