//! What a worker does with an event: a [`Work`] kind turns it into an [`Outcome`]. Kinds live one
//! per file (`sleep`, `cpu`); `faults` injects failures; `spin` holds the precise waits.

pub mod capture;
pub mod cpu;
pub mod exec;
pub mod faults;
pub mod sleep;
pub mod spin;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::event::Event;
use super::settings::{Settings, WorkMode};

pub use capture::{OutputFile, STDERR_LINES};
pub use cpu::{CpuMeter, burn_cpu, thread_cpu_time};
pub use exec::{Exec, ExecError};
pub use faults::{Fate, Faults, InjectedPanic, quiet_injected_panics};
pub use spin::{
    Spin, SpinPermit, background_priority, batch_priority, tighten_timer_slack, wait_until,
};

/// Why work ended early: the engine stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// How an event's work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Done; with the work's result where it has one.
    Succeeded {
        result: Option<u64>,
    },
    Failed(Failure),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Succeeded { .. })
    }
}

/// Why an event's work failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The work returned an error.
    Error,
    /// The work panicked (caught: the worker goes on).
    Panic,
    /// `exec`: the command exited with this status (not 0).
    ExitStatus(i32),
    /// `exec`: the command was killed by this signal.
    Signal(i32),
    /// `exec`: the command ran past `--exec-timeout` and was killed.
    TimedOut,
    /// `exec`: the command could not be started.
    CannotStart,
}

impl Failure {
    /// What happened, for logs: "work returned an error", "exit status 3".
    pub fn text(self) -> String {
        match self {
            Failure::Error => "work returned an error".into(),
            Failure::Panic => "work panicked".into(),
            Failure::ExitStatus(code) => format!("exit status {code}"),
            Failure::Signal(signal) => format!("killed by signal {signal}"),
            Failure::TimedOut => "timed out".into(),
            Failure::CannotStart => "the command could not start".into(),
        }
    }
}

/// The simulated works return what the article's worker returns: the event's number squared.
fn article_result(id: u64) -> Outcome {
    Outcome::Succeeded {
        result: Some(id.wrapping_mul(id)),
    }
}

/// One kind of work. `run` does the job's demand (`wall`, counted from `start`), checking
/// `cancel` often enough that a stop is prompt.
pub trait Work: Send + Sync {
    /// Whether the demand is CPU time (then the start reads the thread's CPU clock).
    fn uses_cpu_clock(&self) -> bool {
        false
    }

    fn run(&self, job: &Job<'_>, cancel: &AtomicBool) -> Result<Outcome, Cancelled>;
}

/// An event as a worker took it: the event, its demand on the wall clock, when its work began.
pub struct Job<'a> {
    pub event: &'a Event,
    pub wall: Duration,
    pub start: Start,
    /// Where cpu work tells the monitor how much CPU time the job has received (see `CpuMeter`).
    pub cpu_meter: Option<&'a CpuMeter>,
}

/// When an event's work began, on the wall clock and (for cpu work) on the thread's CPU clock.
/// The demand is counted from here, so the worker's own overhead after it took the event
/// (reporting the start) is part of the demand instead of being added to it.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Start {
    /// Now; reads the CPU clock (a system call) only `with_cpu`.
    pub fn now(with_cpu: bool) -> Self {
        Self {
            wall: Instant::now(),
            cpu: with_cpu.then(thread_cpu_time),
        }
    }

    pub fn wall(&self) -> Instant {
        self.wall
    }
}

/// The work kind for a mode.
pub fn kind(mode: WorkMode) -> Arc<dyn Work> {
    match mode {
        // Exec work comes with its command (`Plan::with_work`); the engine refuses it without.
        WorkMode::Sleep | WorkMode::Exec => Arc::new(sleep::Sleep),
        WorkMode::Cpu => Arc::new(cpu::Cpu),
    }
}

/// What workers do right now: the work kind and the injected failures.
#[derive(Clone)]
pub struct Plan {
    pub work: Arc<dyn Work>,
    pub faults: Faults,
}

impl Plan {
    pub fn of(settings: &Settings, seed: u64) -> Self {
        Self::with_work(kind(settings.work), settings, seed)
    }

    /// A plan doing `work` whatever the settings' work mode (`--work exec`).
    pub fn with_work(work: Arc<dyn Work>, settings: &Settings, seed: u64) -> Self {
        Self {
            work,
            faults: Faults {
                fail_rate: settings.fail_rate,
                seed,
            },
        }
    }

    /// Runs the job: the work, with its injected failures.
    pub fn run(&self, job: &Job<'_>, cancel: &AtomicBool) -> Result<Outcome, Cancelled> {
        self.faults.run(self.work.as_ref(), job, cancel)
    }
}

/// The live plan, changed by commands and read by every worker once per event: a version
/// number to compare (one atomic load) and the plan behind a lock, taken only when it changed.
pub(crate) struct PlanCell {
    version: AtomicU64,
    plan: Mutex<Arc<Plan>>,
}

impl PlanCell {
    pub fn new(plan: Plan) -> Self {
        Self {
            version: AtomicU64::new(0),
            plan: Mutex::new(Arc::new(plan)),
        }
    }

    pub fn set(&self, plan: Plan) {
        let mut current = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::new(plan);
        self.version.fetch_add(1, Ordering::Release);
    }

    fn load(&self) -> (u64, Arc<Plan>) {
        let plan = self.plan.lock().unwrap_or_else(PoisonError::into_inner);
        (self.version.load(Ordering::Acquire), Arc::clone(&plan))
    }
}

/// A worker's copy of the live plan.
pub(crate) struct PlanCache {
    version: u64,
    plan: Arc<Plan>,
}

impl PlanCache {
    pub fn new(cell: &PlanCell) -> Self {
        let (version, plan) = cell.load();
        Self { version, plan }
    }

    /// The plan in force now.
    pub fn current(&mut self, cell: &PlanCell) -> &Plan {
        if cell.version.load(Ordering::Acquire) != self.version {
            (self.version, self.plan) = cell.load();
        }
        &self.plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(event: &Event, wall: Duration, cpu: bool) -> Job<'_> {
        Job {
            event,
            wall,
            start: Start::now(cpu),
            cpu_meter: None,
        }
    }

    #[test]
    fn cancelled_work_stops() {
        let cancel = AtomicBool::new(true);
        let event = Event::new(1, 0);
        let hour = Duration::from_secs(3600);
        assert_eq!(
            sleep::Sleep.run(&job(&event, hour, false), &cancel),
            Err(Cancelled)
        );
        assert_eq!(
            cpu::Cpu.run(&job(&event, hour, true), &cancel),
            Err(Cancelled)
        );
    }

    #[test]
    fn a_changed_plan_reaches_a_cached_copy() {
        let settings = Settings::default();
        let cell = PlanCell::new(Plan::of(&settings, 1));
        let mut cache = PlanCache::new(&cell);
        assert!(!cache.current(&cell).work.uses_cpu_clock());
        let cpu = Settings {
            work: WorkMode::Cpu,
            fail_rate: 0.5,
            ..settings
        };
        cell.set(Plan::of(&cpu, 1));
        let plan = cache.current(&cell);
        assert!(plan.work.uses_cpu_clock());
        assert_eq!(plan.faults.fail_rate, 0.5);
    }

    #[test]
    fn a_panicking_fate_is_a_counted_failure() {
        let plan = Plan {
            work: kind(WorkMode::Sleep),
            faults: Faults {
                fail_rate: 1.0,
                seed: 3,
            },
        };
        let cancel = AtomicBool::new(false);
        let outcomes: Vec<Outcome> = (1..=200)
            .map(|id| {
                let event = Event::new(id, 0);
                plan.run(&job(&event, Duration::ZERO, false), &cancel)
                    .unwrap()
            })
            .collect();
        assert!(outcomes.contains(&Outcome::Failed(Failure::Panic)));
        assert!(outcomes.contains(&Outcome::Failed(Failure::Error)));
        assert!(outcomes.iter().all(|o| !o.is_success()));
    }
}
