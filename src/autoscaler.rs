//! The autoscaler's driver: reads the engine's snapshots, evaluates the policy when its interval
//! comes round in model time, sends `SetWorkers` like a key would (the phase it starts says
//! `autoscale`), and publishes what the faces show (`AutoscaleView`). The policy itself is pure
//! (`model::autoscale`); this is the part with a clock.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, watch};

use crate::control::Controlled;
use crate::engine::{Command, EngineHandle, PhaseCause, Snapshot};
use crate::model::autoscale::{
    AutoscaleSpec, AutoscaleView, DecisionLogLine, Observation, Policy, UtilizationMeter,
};

/// Who paused the policy, and a policy to switch to (a scenario step): what the faces send
/// the driver. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct AutoscaleControl {
    paused: Arc<AtomicBool>,
    switch: Arc<Mutex<Option<AutoscaleSpec>>>,
}

impl AutoscaleControl {
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Pauses a running policy or resumes a paused one; returns whether it is paused now.
    pub fn toggle(&self) -> bool {
        !self.paused.fetch_xor(true, Ordering::Relaxed)
    }

    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Replaces the policy at its next look (with a fresh history), and resumes it.
    pub fn switch_to(&self, spec: AutoscaleSpec) {
        *self.switch.lock().unwrap_or_else(PoisonError::into_inner) = Some(spec);
        self.set_paused(false);
    }

    fn take_switch(&self) -> Option<AutoscaleSpec> {
        self.switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// The policy, what it has seen, and its schedule.
pub struct Driver {
    policy: Box<dyn Policy>,
    meter: UtilizationMeter,
    next_eval_ns: u64,
    last_ns: Option<u64>,
    view: AutoscaleView,
    control: AutoscaleControl,
}

impl Driver {
    pub fn new(spec: &AutoscaleSpec, control: AutoscaleControl) -> Self {
        let mut driver = Self {
            policy: spec.policy(),
            meter: UtilizationMeter::default(),
            next_eval_ns: 0,
            last_ns: None,
            view: AutoscaleView::default(),
            control,
        };
        driver.start(spec, 0);
        driver
    }

    /// A fresh policy from `spec`, first evaluated one interval after `now_ns`.
    fn start(&mut self, spec: &AutoscaleSpec, now_ns: u64) {
        self.policy = spec.policy();
        self.meter = UtilizationMeter::default();
        self.next_eval_ns = now_ns.saturating_add(self.policy.interval_ns());
        self.view.policy = spec.name().to_string();
        self.view.params = spec.values();
        self.view.last = None;
    }

    pub fn view(&self) -> &AutoscaleView {
        &self.view
    }

    /// Model time of the next evaluation, ns.
    pub fn next_eval_ns(&self) -> u64 {
        self.next_eval_ns
    }

    /// Reads one snapshot: accounts the workers' time, and when an evaluation is due (and the
    /// policy is not paused) evaluates it and sends the change to `target`. Returns the log
    /// line of the evaluation, if one was made.
    pub fn step(&mut self, s: &Snapshot, target: &impl Controlled) -> Option<(u64, String)> {
        self.account(s);
        self.view.paused = self.control.paused();
        let due = s.now_ns >= self.next_eval_ns;
        if !due || s.state.is_over() {
            return None;
        }
        // Evaluations keep to the interval's grid, like the HPA's sync loop: each is made at
        // its scheduled model time, from the first snapshot at or after it, so a late snapshot
        // shifts neither the schedule nor the policy's windows.
        let interval = self.policy.interval_ns().max(1);
        let behind = (s.now_ns - self.next_eval_ns) / interval;
        let at_ns = self.next_eval_ns + behind * interval;
        self.next_eval_ns = at_ns + interval;
        let obs = Observation {
            now_ns: at_ns,
            ..Observation::of(s, &mut self.meter)
        };
        if self.view.paused {
            self.view.record(at_ns, obs.workers, s.workers.len());
            return None;
        }
        let decision = self.policy.evaluate(&obs);
        self.view.decisions += 1;
        if decision.changes() {
            self.view.changes += 1;
            target.send(PhaseCause::Autoscale, Command::SetWorkers(decision.desired));
        }
        self.view.record(at_ns, decision.desired, s.workers.len());
        let line = DecisionLogLine(self.policy.name(), &decision).to_string();
        self.view.last = Some(decision);
        Some((at_ns, line))
    }

    /// Worker-seconds and the most workers alive, from each snapshot's workers.
    fn account(&mut self, s: &Snapshot) {
        let alive = s.workers.len();
        if let Some(last) = self.last_ns {
            let dt_s = s.now_ns.saturating_sub(last) as f64 / 1e9;
            self.view.worker_seconds += alive as f64 * dt_s;
        }
        self.last_ns = Some(s.now_ns);
        self.view.max_workers_used = self.view.max_workers_used.max(alive);
    }

    /// A switch asked for by a scenario step, applied at `now_ns`: the new policy, and its
    /// log line.
    fn switch_if_asked(&mut self, now_ns: u64) -> Option<(AutoscaleSpec, String)> {
        let spec = self.control.take_switch()?;
        self.start(&spec, now_ns);
        let line = format!(
            "{:.3}s autoscale policy {}",
            now_ns as f64 / 1e9,
            spec.describe()
        );
        Some((spec, line))
    }
}

/// What runs beside a face: the driver's loop, its view for the faces, and its log lines.
pub struct Autoscaler {
    pub driver: Driver,
    pub view: watch::Sender<AutoscaleView>,
    /// Log lines (model ns, line) for the headless log's notes.
    pub notes: Option<mpsc::UnboundedSender<(u64, String)>>,
}

impl Autoscaler {
    /// Sets up `spec` for the run of `handle`: the engine's warm-up for new workers, the view.
    pub fn new(handle: &EngineHandle, spec: &AutoscaleSpec, control: AutoscaleControl) -> Self {
        handle.set_warmup(spec.warmup);
        let driver = Driver::new(spec, control);
        let (view, _) = watch::channel(driver.view().clone());
        Self {
            driver,
            view,
            notes: None,
        }
    }

    /// A receiver of the view (for the monitor and the JSON summary).
    pub fn subscribe(&self) -> watch::Receiver<AutoscaleView> {
        self.view.subscribe()
    }

    /// Follows the snapshots until the run is over.
    pub async fn run(mut self, handle: &EngineHandle) {
        let mut snapshots = handle.subscribe();
        loop {
            let snapshot = Arc::clone(&snapshots.borrow_and_update());
            if let Some((spec, line)) = self.driver.switch_if_asked(snapshot.now_ns) {
                handle.set_warmup(spec.warmup);
                self.note(snapshot.now_ns, line);
            }
            if let Some((at_ns, line)) = self.driver.step(&snapshot, handle) {
                self.note(at_ns, line);
            }
            self.view.send_replace(self.driver.view().clone());
            if snapshot.state.is_over() || snapshots.changed().await.is_err() {
                return;
            }
        }
    }

    fn note(&self, at_ns: u64, line: String) {
        if let Some(notes) = &self.notes {
            let _ = notes.send((at_ns, line));
        }
    }
}

/// Runs `face` with the autoscaler beside it (if there is one); returns what `face` returns.
pub async fn run_alongside<F: Future>(
    handle: &EngineHandle,
    autoscaler: Option<Autoscaler>,
    face: F,
) -> F::Output {
    let Some(autoscaler) = autoscaler else {
        return face.await;
    };
    let driver = async {
        autoscaler.run(handle).await;
        std::future::pending::<()>().await;
    };
    tokio::select! {
        output = face => output,
        () = driver => unreachable!("the driver never ends by itself"),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::engine::snapshot::{WorkerActivity, WorkerView};

    #[derive(Default)]
    struct Recorder(RefCell<Vec<(PhaseCause, Command)>>);

    impl Controlled for Recorder {
        fn send(&self, cause: PhaseCause, command: Command) {
            self.0.borrow_mut().push((cause, command));
        }
    }

    fn snapshot(now_s: u64, workers: usize, queued: u64) -> Snapshot {
        let mut s = Snapshot {
            now_ns: now_s * 1_000_000_000,
            ..Snapshot::default()
        };
        s.settings.workers = workers;
        s.counters.queued = queued;
        s.workers = (1..=workers as u32)
            .map(|id| WorkerView {
                id,
                activity: WorkerActivity::Idle,
                retiring: false,
                busy_ns: 0,
                alive_ns: 0,
                completed: 0,
                failed: 0,
                cpu_ns: None,
            })
            .collect();
        s
    }

    #[test]
    fn evaluates_on_its_interval_and_sends_what_the_policy_decides() {
        let spec: AutoscaleSpec = "hpa:metric=queue,target=10".parse().unwrap();
        let mut driver = Driver::new(&spec, AutoscaleControl::default());
        let target = Recorder::default();
        assert!(driver.step(&snapshot(10, 4, 57), &target).is_none());
        let (at_ns, line) = driver.step(&snapshot(15, 4, 57), &target).unwrap();
        assert_eq!(at_ns, 15_000_000_000);
        assert!(
            line.starts_with("15.000s autoscale hpa: queue 57"),
            "{line}"
        );
        assert!(line.ends_with("→ 6 workers"), "{line}");
        assert_eq!(
            *target.0.borrow(),
            [(PhaseCause::Autoscale, Command::SetWorkers(6))]
        );
        // The next one is due at 30 s.
        assert!(driver.step(&snapshot(29, 6, 57), &target).is_none());
        assert_eq!(driver.next_eval_ns(), 30_000_000_000);
        // Each snapshot's workers count for the time since the one before: 4 for 10-15 s,
        // then 6 for 15-29 s.
        assert_eq!(driver.view().worker_seconds, 4.0 * 5.0 + 6.0 * 14.0);
        assert_eq!((driver.view().decisions, driver.view().changes), (1, 1));
    }

    #[test]
    fn a_paused_policy_sends_nothing() {
        let spec: AutoscaleSpec = "celery:1,10".parse().unwrap();
        let control = AutoscaleControl::default();
        let mut driver = Driver::new(&spec, control.clone());
        let target = Recorder::default();
        assert!(control.toggle());
        assert!(driver.step(&snapshot(1, 2, 50), &target).is_none());
        assert!(target.0.borrow().is_empty());
        assert!(driver.view().paused);
        assert!(!control.toggle());
        assert!(driver.step(&snapshot(2, 2, 50), &target).is_some());
        assert_eq!(target.0.borrow().len(), 1);
    }
}
