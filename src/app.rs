//! UI state of the live monitor: the latest snapshot, view toggles, the footer notice, and the
//! pure mapping from user actions to engine commands.

use crate::engine::snapshot::SourceType;
use crate::model::phase_prediction::{PhasePrediction, predict_phases};
use std::sync::Arc;
use std::time::Duration;

use crate::autoscaler::AutoscaleControl;
use crate::engine::Command;
use crate::engine::WorkMode;
use crate::engine::settings::{
    MAX_RATE_PER_S, MAX_SERVICE, MIN_RATE_PER_S, Rate, Settings, format_duration,
};
use crate::engine::snapshot::{LatencyKind, Snapshot};
use crate::model::autoscale::AutoscaleView;
use crate::units::round_significant;

/// How long a footer notice stays up, in seconds of wall time.
const NOTICE_SECONDS: u64 = 2;
/// Fine rate steps multiply or divide by this.
const RATE_FINE_FACTOR: f64 = 1.1;
/// Coarse rate steps (Shift+arrows, PgUp/PgDn) multiply or divide by this.
const RATE_COARSE_FACTOR: f64 = 2.0;
/// Service time steps multiply or divide by this.
const SERVICE_FACTOR: f64 = 1.25;
/// Going down, the service time stops here before it may drop to zero.
const SERVICE_FLOOR: Duration = Duration::from_millis(1);

/// What the user asked for, independent of the key that asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AddWorker,
    RemoveWorker,
    /// Raise the arrival rate; `coarse` doubles instead of a 10% step.
    RateUp {
        coarse: bool,
    },
    RateDown {
        coarse: bool,
    },
    /// Longer mean service time.
    ServiceUp,
    ServiceDown,
    CycleArrival,
    CycleServiceDist,
    ToggleWorkMode,
    TogglePause,
    ResetStats,
    CycleLatencyKind,
    /// Latency over the whole run vs the recent window.
    ToggleWindow,
    ToggleHelp,
    /// Esc: closes the help overlay if open, otherwise quits.
    Back,
    ScrollWorkers(i32),
    /// `A`: pause or resume the autoscaling policy.
    ToggleAutoscale,
    Quit,
}

/// Which latency figures the latency panel shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyWindow {
    /// The engine's recent window (`Snapshot::recent_latency`).
    Recent,
    /// Everything since the start or the last reset (`Snapshot::latency`).
    WholeRun,
}

/// A short message in the footer that disappears on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notice {
    text: String,
    /// Shown while the frame counter is below this.
    until_frame: u64,
}

/// Everything the screen shows that is not in the snapshot, plus the snapshot itself.
#[derive(Debug, Clone)]
pub struct App {
    snapshot: Arc<Snapshot>,
    /// The live settings keys act on. They run ahead of `snapshot.settings` (published every 50 ms)
    /// so that two quick presses of `+` add two workers.
    settings: Settings,
    latency_kind: LatencyKind,
    latency_window: LatencyWindow,
    help_visible: bool,
    /// First grid row shown when the workers do not fit their panel.
    worker_scroll: usize,
    notice: Option<Notice>,
    /// The scenario's current caption, shown as a banner.
    caption: Option<String>,
    /// Frames drawn so far; the clock of notices, so `update` needs no wall clock.
    frame: u64,
    notice_frames: u64,
    quit: bool,
    /// The twin's prediction of each phase, made once the run is over (for the finished
    /// screen's table of phases).
    phase_predictions: Vec<Option<PhasePrediction>>,
    /// The autoscaling policy's switch (`A`, and `+` / `-` pause it) and what it last showed.
    autoscale: Option<AutoscaleControl>,
    autoscale_view: Option<AutoscaleView>,
}

impl App {
    /// A new UI state showing `snapshot`, drawn at `fps` frames per second.
    pub fn new(snapshot: Arc<Snapshot>, fps: u32) -> Self {
        Self {
            settings: snapshot.settings.clone(),
            snapshot,
            latency_kind: LatencyKind::QueueWait,
            latency_window: LatencyWindow::Recent,
            help_visible: false,
            worker_scroll: 0,
            notice: None,
            caption: None,
            frame: 0,
            notice_frames: u64::from(fps.max(1)) * NOTICE_SECONDS,
            quit: false,
            phase_predictions: Vec::new(),
            autoscale: None,
            autoscale_view: None,
        }
    }

    /// With an autoscaling policy that `A` pauses and resumes, and `+` / `-` pause.
    pub fn with_autoscale(mut self, control: AutoscaleControl, view: AutoscaleView) -> Self {
        self.autoscale = Some(control);
        self.autoscale_view = Some(view);
        self
    }

    /// The policy's latest view (name, decision, history), if a policy runs.
    pub fn autoscale(&self) -> Option<&AutoscaleView> {
        self.autoscale_view.as_ref()
    }

    /// The driver's latest view; paused as the switch says now (the driver sees it later).
    pub fn set_autoscale_view(&mut self, mut view: AutoscaleView) {
        if let Some(control) = &self.autoscale {
            view.paused = control.paused();
        }
        self.autoscale_view = Some(view);
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The live settings (what the next key press starts from).
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn latency_kind(&self) -> LatencyKind {
        self.latency_kind
    }

    pub fn latency_window(&self) -> LatencyWindow {
        self.latency_window
    }

    pub fn help_visible(&self) -> bool {
        self.help_visible
    }

    pub fn worker_scroll(&self) -> usize {
        self.worker_scroll
    }

    /// Keeps the worker scroll within what the screen can scroll (see `ui::max_worker_scroll`).
    pub fn clamp_worker_scroll(&mut self, max: usize) {
        self.worker_scroll = self.worker_scroll.min(max);
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The footer notice, while it has not expired.
    pub fn notice(&self) -> Option<&str> {
        self.notice
            .as_ref()
            .filter(|n| self.frame < n.until_frame)
            .map(|n| n.text.as_str())
    }

    /// The scenario's caption, while one is current.
    pub fn caption(&self) -> Option<&str> {
        self.caption.as_deref().filter(|c| !c.is_empty())
    }

    /// Shows `caption` (a scenario step's) from the next frame on; `None` hides the banner.
    pub fn set_caption(&mut self, caption: Option<String>) {
        self.caption = caption;
    }

    /// Takes a newer snapshot and the engine's current settings.
    pub fn set_snapshot(&mut self, snapshot: Arc<Snapshot>, settings: Settings) {
        // Once, when the run is over: the finished screen compares each phase with the twin.
        let over = snapshot.state.is_over() && snapshot.phases.len() > 1;
        if over && self.phase_predictions.len() != snapshot.phases.len() {
            self.phase_predictions = predict_phases(&snapshot);
        }
        self.snapshot = snapshot;
        self.settings = settings;
    }

    /// The twin's prediction of each phase, once the run is over (empty before).
    pub fn phase_predictions(&self) -> &[Option<PhasePrediction>] {
        &self.phase_predictions
    }

    /// Counts one drawn frame (ages the notice).
    pub fn tick(&mut self) {
        self.frame += 1;
        if self
            .notice
            .as_ref()
            .is_some_and(|n| self.frame >= n.until_frame)
        {
            self.notice = None;
        }
    }

    /// Quits (SIGTERM, Ctrl-C from a signal).
    pub fn quit(&mut self) {
        self.quit = true;
    }

    /// Applies an action to the view and returns the command it asks of the engine, if any.
    /// A command returned is also applied to the live settings, so the next action builds on it.
    pub fn update(&mut self, action: Action) -> Option<Command> {
        let before = self.settings.clone();
        let notice_before = self.notice.clone();
        let command = self.command_for(action);
        if let Some(command) = &command {
            self.settings.apply(command);
            // A limit's own notice (clamped, at maximum) says more than the change would.
            if self.notice == notice_before
                && let Some(text) = change_text(&before, &self.settings, command)
            {
                self.notify(text);
            }
            if matches!(command, Command::SetWorkers(_)) {
                self.pause_autoscale_for_keys();
            }
        }
        command
    }

    /// A person set the workers: the policy would undo it, so it pauses, and the notice says so.
    fn pause_autoscale_for_keys(&mut self) {
        let Some(control) = self.autoscale.clone() else {
            return;
        };
        if control.paused() {
            return;
        }
        control.set_paused(true);
        if let Some(view) = &mut self.autoscale_view {
            view.paused = true;
        }
        let said = self
            .notice
            .as_ref()
            .map(|n| n.text.clone())
            .unwrap_or_default();
        self.notify(format!("{said}; autoscale paused (A resumes)"));
    }

    /// `A`: pauses or resumes the policy.
    fn toggle_autoscale(&mut self) {
        let Some(control) = self.autoscale.clone() else {
            self.notify("no autoscaling policy: start with --autoscale POLICY");
            return;
        };
        let paused = control.toggle();
        if let Some(view) = &mut self.autoscale_view {
            view.paused = paused;
        }
        self.notify(if paused {
            "autoscale paused (A resumes)"
        } else {
            "autoscale resumed"
        });
    }

    /// Why a key does nothing for this run's source or work, if it does not apply: the
    /// arrival keys on a stream that brings its own, the service keys on demands that come
    /// with the events or from a command.
    fn not_applicable(&self, action: Action) -> Option<&'static str> {
        let source = self.snapshot.source.kind;
        let exec = self.settings.work == WorkMode::Exec;
        match action {
            Action::CycleArrival if source == SourceType::Stdin => {
                Some("events come from stdin: a does not apply")
            }
            Action::CycleArrival if source == SourceType::Trace => {
                Some("arrivals come from the trace: a does not apply")
            }
            Action::RateUp { .. } | Action::RateDown { .. } if source == SourceType::Stdin => {
                Some("events come from stdin at their own pace: the rate keys do not apply")
            }
            Action::CycleArrival | Action::RateUp { .. } | Action::RateDown { .. }
                if matches!(source, SourceType::Mqtt | SourceType::Redis) =>
            {
                Some(
                    "events come from the broker at the publisher's pace: a and the rate keys do not apply",
                )
            }
            Action::ServiceUp | Action::ServiceDown | Action::CycleServiceDist if exec => {
                Some("the service is the --exec command's: the service keys do not apply")
            }
            Action::ServiceUp | Action::ServiceDown | Action::CycleServiceDist
                if source == SourceType::Trace =>
            {
                Some("each event's demand comes from the trace: the service keys do not apply")
            }
            _ => None,
        }
    }

    /// The command an action asks of the engine, after any change to the view it makes.
    fn command_for(&mut self, action: Action) -> Option<Command> {
        if let Some(why) = self.not_applicable(action) {
            self.notify(why);
            return None;
        }
        match action {
            Action::AddWorker => self.add_worker(),
            Action::RemoveWorker => self.remove_worker(),
            Action::RateUp { coarse } => self.step_rate(true, coarse),
            Action::RateDown { coarse } => self.step_rate(false, coarse),
            Action::ServiceUp => self.step_service(true),
            Action::ServiceDown => self.step_service(false),
            Action::CycleArrival => Some(Command::SetArrival(self.settings.arrival.next())),
            Action::CycleServiceDist => {
                Some(Command::SetServiceDist(self.settings.service_dist.next()))
            }
            Action::ToggleWorkMode => match self.settings.work {
                WorkMode::Sleep => Some(Command::SetWork(WorkMode::Cpu)),
                WorkMode::Cpu => Some(Command::SetWork(WorkMode::Sleep)),
                WorkMode::Exec => {
                    self.notify("the work is the --exec command: w does not apply");
                    None
                }
            },
            Action::TogglePause => Some(Command::Pause(!self.settings.paused)),
            Action::ResetStats => {
                self.notify("statistics reset");
                Some(Command::ResetStats)
            }
            Action::CycleLatencyKind | Action::ToggleWindow | Action::ToggleHelp | Action::Back => {
                self.update_view(action);
                None
            }
            Action::ScrollWorkers(rows) => {
                // The panel clamps to what it can show; this bound only stops runaway scrolling.
                let last = self.snapshot.workers.len();
                self.worker_scroll = self
                    .worker_scroll
                    .saturating_add_signed(rows as isize)
                    .min(last);
                None
            }
            Action::ToggleAutoscale => {
                self.toggle_autoscale();
                None
            }
            Action::Quit => {
                self.quit = true;
                None
            }
        }
    }

    /// Actions that only change what is shown.
    fn update_view(&mut self, action: Action) {
        match action {
            Action::CycleLatencyKind => {
                self.latency_kind = next_kind(self.latency_kind);
                self.notify(format!("latency: {}", self.latency_kind.name()));
            }
            Action::ToggleWindow => {
                self.latency_window = match self.latency_window {
                    LatencyWindow::Recent => LatencyWindow::WholeRun,
                    LatencyWindow::WholeRun => LatencyWindow::Recent,
                };
                self.notify(match self.latency_window {
                    LatencyWindow::Recent => "latency over the recent window",
                    LatencyWindow::WholeRun => "latency over the whole run",
                });
            }
            Action::ToggleHelp => self.help_visible = !self.help_visible,
            Action::Back if self.help_visible => self.help_visible = false,
            Action::Back => self.quit = true,
            _ => {}
        }
    }

    fn add_worker(&mut self) -> Option<Command> {
        let s = &self.settings;
        if s.workers >= s.max_workers {
            let text = format!("max workers ({}) reached", s.max_workers);
            self.notify(text);
            return None;
        }
        Some(Command::SetWorkers(s.workers + 1))
    }

    fn remove_worker(&mut self) -> Option<Command> {
        if self.settings.workers <= 1 {
            self.notify("already at 1 worker");
            return None;
        }
        Some(Command::SetWorkers(self.settings.workers - 1))
    }

    fn step_rate(&mut self, up: bool, coarse: bool) -> Option<Command> {
        let current = self.settings.rate.get();
        // Fine steps keep 2 significant digits (1, 1.1, 1.2...), coarse ones 3 (1, 2, 4... 128, 256).
        let (factor, digits) = if coarse {
            (RATE_COARSE_FACTOR, 3)
        } else {
            (RATE_FINE_FACTOR, 2)
        };
        let target = if up {
            step_up(current, factor, digits)
        } else {
            step_down(current, factor, digits)
        };
        if up && current >= MAX_RATE_PER_S {
            self.notify(format!("rate at maximum ({})", rate_text(MAX_RATE_PER_S)));
            return None;
        }
        if !up && current <= MIN_RATE_PER_S {
            self.notify("rate at minimum (1/day)");
            return None;
        }
        let clamped = target.clamp(MIN_RATE_PER_S, MAX_RATE_PER_S);
        if clamped != target {
            let which = if up { "maximum" } else { "minimum" };
            self.notify(format!(
                "rate clamped to the {which} ({})",
                rate_text(clamped)
            ));
        }
        Rate::per_s(clamped).ok().map(Command::SetRate)
    }

    fn step_service(&mut self, up: bool) -> Option<Command> {
        let current = self.settings.service;
        let next = if up {
            if current >= MAX_SERVICE {
                self.notify(format!(
                    "service time at maximum ({})",
                    format_duration(MAX_SERVICE)
                ));
                return None;
            }
            service_up(current)
        } else {
            if current.is_zero() {
                self.notify("service time already 0");
                return None;
            }
            service_down(current)
        };
        Some(Command::SetService(next))
    }

    /// Shows `text` in the footer for a few seconds (the replay's "read only" uses it too).
    pub fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some(Notice {
            text: text.into(),
            until_frame: self.frame + self.notice_frames,
        });
    }
}

/// What a command changed, for the footer: "workers 4 → 5", "rate 9/s → 9.9/s", "paused".
/// `None` when nothing visible changed (the notice of a reset is its own).
fn change_text(before: &Settings, after: &Settings, command: &Command) -> Option<String> {
    let arrow = |what: &str, old: String, new: String| Some(format!("{what} {old} → {new}"));
    match command {
        Command::Pause(_) if before.paused != after.paused => {
            Some(if after.paused { "paused" } else { "resumed" }.to_string())
        }
        Command::SetWorkers(_) if before.workers != after.workers => arrow(
            "workers",
            before.workers.to_string(),
            after.workers.to_string(),
        ),
        Command::SetRate(_) => arrow("rate", before.rate.to_string(), after.rate.to_string()),
        Command::SetService(_) => arrow(
            "service",
            format_duration(before.service),
            format_duration(after.service),
        ),
        Command::SetArrival(_) => arrow(
            "arrivals",
            before.arrival.to_string(),
            after.arrival.to_string(),
        ),
        Command::SetServiceDist(_) => arrow(
            "service times",
            before.service_dist.to_string(),
            after.service_dist.to_string(),
        ),
        Command::SetWork(_) => arrow("work", before.work.to_string(), after.work.to_string()),
        _ => None,
    }
}

fn next_kind(kind: LatencyKind) -> LatencyKind {
    let all = LatencyKind::ALL;
    let i = all.iter().position(|k| *k == kind).unwrap_or(0);
    all[(i + 1) % all.len()]
}

fn rate_text(per_s: f64) -> String {
    Rate::per_s(per_s).map_or_else(|_| format!("{per_s}/s"), |r| r.to_string())
}

/// One unit of the last of `digits` significant digits of `x`.
fn significant_unit(x: f64, digits: u32) -> f64 {
    10f64.powi(x.abs().log10().floor() as i32 + 1 - digits as i32)
}

/// `x * factor` rounded, always strictly above `x` (rounding must not undo a step).
fn step_up(x: f64, factor: f64, digits: u32) -> f64 {
    let y = round_significant(x * factor, digits);
    if y > x {
        y
    } else {
        round_significant(x + significant_unit(x, digits), digits)
    }
}

/// `x / factor` rounded, always strictly below `x`.
fn step_down(x: f64, factor: f64, digits: u32) -> f64 {
    let y = round_significant(x / factor, digits);
    if y < x {
        y
    } else {
        // Step one unit at the magnitude just below x so 1.0 goes to 0.99, not 0.
        round_significant(x - significant_unit(x * 0.999_999, digits), digits)
    }
}

/// Next longer service time: from 0 to 1 ms, otherwise ×1.25 rounded to 2 significant digits.
fn service_up(current: Duration) -> Duration {
    if current.is_zero() {
        return SERVICE_FLOOR;
    }
    let secs = step_up(current.as_secs_f64(), SERVICE_FACTOR, 2);
    secs_to_duration(secs).min(MAX_SERVICE)
}

/// Next shorter service time: ÷1.25 rounded, stopping at 1 ms; from 1 ms or less, 0.
fn service_down(current: Duration) -> Duration {
    if current <= SERVICE_FLOOR {
        return Duration::ZERO;
    }
    let secs = step_down(current.as_secs_f64(), SERVICE_FACTOR, 2);
    secs_to_duration(secs).max(SERVICE_FLOOR)
}

/// Whole nanoseconds, so 6.3 s is exactly 6.3 s and not 6.2999999 s.
fn secs_to_duration(secs: f64) -> Duration {
    Duration::from_nanos((secs * 1e9).round().clamp(0.0, u64::MAX as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::settings::{ArrivalProcess, ServiceDist, WorkMode};
    use crate::engine::snapshot::{WorkerActivity, WorkerView};

    fn snapshot(settings: Settings) -> Arc<Snapshot> {
        Arc::new(Snapshot {
            settings,
            seed: 1,
            speed: 1.0,
            cores: 4,
            recent_window_ns: 10_000_000_000,
            series_interval_ns: 250_000_000,
            ..Snapshot::default()
        })
    }

    fn app_with(settings: Settings) -> App {
        App::new(snapshot(settings), 10)
    }

    fn app() -> App {
        app_with(Settings::default())
    }

    fn rate(per_s: f64) -> Rate {
        Rate::per_s(per_s).unwrap()
    }

    #[test]
    fn keys_that_do_not_apply_to_the_source_or_the_work_say_why_and_do_nothing() {
        let with = |kind: SourceType, work: WorkMode| {
            let settings = Settings {
                work,
                ..Settings::default()
            };
            let mut s = (*snapshot(settings.clone())).clone();
            s.source.kind = kind;
            App::new(Arc::new(s), 10)
        };
        let cases = [
            (
                SourceType::Stdin,
                WorkMode::Sleep,
                Action::CycleArrival,
                "stdin",
            ),
            (
                SourceType::Stdin,
                WorkMode::Sleep,
                Action::RateUp { coarse: false },
                "rate keys",
            ),
            (
                SourceType::Trace,
                WorkMode::Sleep,
                Action::CycleArrival,
                "trace",
            ),
            (
                SourceType::Trace,
                WorkMode::Sleep,
                Action::ServiceUp,
                "trace",
            ),
            (
                SourceType::Mqtt,
                WorkMode::Sleep,
                Action::RateDown { coarse: true },
                "broker",
            ),
            (
                SourceType::Redis,
                WorkMode::Sleep,
                Action::CycleArrival,
                "broker",
            ),
            (
                SourceType::Generator,
                WorkMode::Exec,
                Action::ServiceDown,
                "--exec",
            ),
            (
                SourceType::Generator,
                WorkMode::Exec,
                Action::CycleServiceDist,
                "--exec",
            ),
        ];
        for (kind, work, action, says) in cases {
            let mut app = with(kind, work);
            assert_eq!(app.update(action), None, "{kind:?} {work:?} {action:?}");
            let notice = app.notice().unwrap_or_default().to_string();
            assert!(notice.contains(says), "{notice}");
        }
        // What does apply still does: a trace's rate stretches its gaps; stdin takes workers.
        let mut trace = with(SourceType::Trace, WorkMode::Sleep);
        assert!(trace.update(Action::RateUp { coarse: false }).is_some());
        let mut stdin = with(SourceType::Stdin, WorkMode::Sleep);
        assert!(stdin.update(Action::AddWorker).is_some());
        assert!(stdin.update(Action::ServiceUp).is_some());
    }

    #[test]
    fn workers_step_by_one() {
        let mut app = app();
        assert_eq!(app.update(Action::AddWorker), Some(Command::SetWorkers(6)));
        assert_eq!(
            app.update(Action::AddWorker),
            Some(Command::SetWorkers(7)),
            "builds on the last press"
        );
        assert_eq!(
            app.update(Action::RemoveWorker),
            Some(Command::SetWorkers(6))
        );
        assert_eq!(app.notice(), Some("workers 7 → 6"));
    }

    #[test]
    fn no_fewer_than_one_worker() {
        let mut app = app_with(Settings {
            workers: 1,
            ..Settings::default()
        });
        assert_eq!(app.update(Action::RemoveWorker), None);
        assert_eq!(app.notice(), Some("already at 1 worker"));
    }

    #[test]
    fn no_more_than_max_workers() {
        let mut app = app_with(Settings {
            workers: 256,
            max_workers: 256,
            ..Settings::default()
        });
        assert_eq!(app.update(Action::AddWorker), None);
        assert_eq!(app.notice(), Some("max workers (256) reached"));
    }

    #[test]
    fn notice_expires_after_two_seconds_of_frames() {
        let mut app = app_with(Settings {
            workers: 1,
            ..Settings::default()
        });
        app.update(Action::RemoveWorker);
        for _ in 0..19 {
            app.tick();
        }
        assert!(app.notice().is_some());
        app.tick();
        assert_eq!(app.notice(), None);
    }

    #[test]
    fn fine_rate_steps_stay_readable() {
        let mut app = app();
        let mut seen = Vec::new();
        for _ in 0..5 {
            match app.update(Action::RateUp { coarse: false }) {
                Some(Command::SetRate(r)) => seen.push(r.get()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(seen, [1.1, 1.2, 1.3, 1.4, 1.5]);
        let mut app = self::app();
        assert_eq!(
            app.update(Action::RateDown { coarse: false }),
            Some(Command::SetRate(rate(0.91)))
        );
    }

    #[test]
    fn coarse_rate_steps_double_and_halve() {
        let mut app = app();
        assert_eq!(
            app.update(Action::RateUp { coarse: true }),
            Some(Command::SetRate(rate(2.0)))
        );
        assert_eq!(
            app.update(Action::RateUp { coarse: true }),
            Some(Command::SetRate(rate(4.0)))
        );
        let mut app = self::app();
        assert_eq!(
            app.update(Action::RateDown { coarse: true }),
            Some(Command::SetRate(rate(0.5)))
        );
        assert_eq!(
            app.update(Action::RateDown { coarse: true }),
            Some(Command::SetRate(rate(0.25)))
        );
    }

    #[test]
    fn rate_clamps_at_the_limits_and_says_so() {
        let mut app = app_with(Settings {
            rate: rate(8_000_000.0),
            ..Settings::default()
        });
        assert_eq!(
            app.update(Action::RateUp { coarse: true }),
            Some(Command::SetRate(rate(MAX_RATE_PER_S)))
        );
        assert!(
            app.notice().unwrap().contains("maximum"),
            "{:?}",
            app.notice()
        );
        assert_eq!(app.update(Action::RateUp { coarse: false }), None);
        assert_eq!(app.notice(), Some("rate at maximum (10000000/s)"));

        let mut app = app_with(Settings {
            rate: rate(MIN_RATE_PER_S),
            ..Settings::default()
        });
        assert_eq!(app.update(Action::RateDown { coarse: true }), None);
        assert_eq!(app.notice(), Some("rate at minimum (1/day)"));
    }

    #[test]
    fn service_steps() {
        let mut app = app();
        assert_eq!(
            app.update(Action::ServiceUp),
            Some(Command::SetService(Duration::from_millis(6300)))
        );
        let mut app = self::app();
        assert_eq!(
            app.update(Action::ServiceDown),
            Some(Command::SetService(Duration::from_secs(4)))
        );
        assert_eq!(
            app.update(Action::ServiceDown),
            Some(Command::SetService(Duration::from_millis(3200)))
        );
    }

    #[test]
    fn service_floor_then_zero_then_back() {
        let mut app = app_with(Settings {
            service: Duration::from_micros(1100),
            ..Settings::default()
        });
        assert_eq!(
            app.update(Action::ServiceDown),
            Some(Command::SetService(Duration::from_millis(1)))
        );
        assert_eq!(
            app.update(Action::ServiceDown),
            Some(Command::SetService(Duration::ZERO))
        );
        assert_eq!(app.update(Action::ServiceDown), None);
        assert_eq!(app.notice(), Some("service time already 0"));
        assert_eq!(
            app.update(Action::ServiceUp),
            Some(Command::SetService(Duration::from_millis(1)))
        );
    }

    #[test]
    fn service_stops_at_maximum() {
        let mut app = app_with(Settings {
            service: MAX_SERVICE,
            ..Settings::default()
        });
        assert_eq!(app.update(Action::ServiceUp), None);
        assert!(app.notice().unwrap().contains("maximum"));
    }

    #[test]
    fn cycles_and_toggles() {
        let mut app = app();
        assert_eq!(
            app.update(Action::CycleArrival),
            Some(Command::SetArrival(ArrivalProcess::Poisson))
        );
        assert_eq!(
            app.update(Action::CycleServiceDist),
            Some(Command::SetServiceDist(ServiceDist::Exp))
        );
        assert_eq!(
            app.update(Action::ToggleWorkMode),
            Some(Command::SetWork(WorkMode::Cpu))
        );
        assert_eq!(app.update(Action::TogglePause), Some(Command::Pause(true)));
        assert_eq!(app.update(Action::TogglePause), Some(Command::Pause(false)));
        assert_eq!(app.update(Action::ResetStats), Some(Command::ResetStats));
    }

    #[test]
    fn scrolling_back_starts_at_once_after_scrolling_past_the_end() {
        let mut app = app();
        app.set_snapshot(
            Arc::new(Snapshot {
                workers: vec![
                    WorkerView {
                        id: 1,
                        activity: WorkerActivity::Idle,
                        retiring: false,
                        busy_ns: 0,
                        alive_ns: 1,
                        completed: 0,
                        failed: 0,
                        cpu_ns: None,
                    };
                    400
                ],
                ..(*snapshot(Settings::default())).clone()
            }),
            Settings::default(),
        );
        for _ in 0..100 {
            app.update(Action::ScrollWorkers(1));
        }
        // The screen can scroll 7 rows: the next frame clamps, and one step back shows.
        app.clamp_worker_scroll(7);
        app.update(Action::ScrollWorkers(-1));
        assert_eq!(app.worker_scroll(), 6);
    }

    #[test]
    fn view_actions_send_nothing() {
        let mut app = app();
        assert_eq!(app.update(Action::CycleLatencyKind), None);
        assert_eq!(app.latency_kind(), LatencyKind::Service);
        app.update(Action::CycleLatencyKind);
        app.update(Action::CycleLatencyKind);
        assert_eq!(app.latency_kind(), LatencyKind::QueueWait);
        assert_eq!(app.update(Action::ToggleWindow), None);
        assert_eq!(app.latency_window(), LatencyWindow::WholeRun);
        app.update(Action::ScrollWorkers(3));
        app.update(Action::ScrollWorkers(-5));
        assert_eq!(app.worker_scroll(), 0);
    }

    #[test]
    fn esc_closes_help_before_quitting() {
        let mut app = app();
        app.update(Action::ToggleHelp);
        assert!(app.help_visible());
        app.update(Action::Back);
        assert!(!app.help_visible());
        assert!(!app.should_quit());
        app.update(Action::Back);
        assert!(app.should_quit());
    }

    #[test]
    fn q_quits_even_with_help_open() {
        let mut app = app();
        app.update(Action::ToggleHelp);
        assert_eq!(app.update(Action::Quit), None);
        assert!(app.should_quit());
    }

    #[test]
    fn every_key_that_changes_something_says_what_it_did() {
        let mut app = app();
        let cases = [
            (Action::AddWorker, "workers 5 → 6"),
            (Action::RemoveWorker, "workers 6 → 5"),
            (Action::RateUp { coarse: false }, "rate 1/s → 1.1/s"),
            (Action::RateDown { coarse: true }, "rate 1.1/s → 33/min"),
            (Action::ServiceUp, "service 5s → 6.3s"),
            (Action::CycleArrival, "arrivals fixed → poisson"),
            (Action::CycleServiceDist, "service times fixed → exp"),
            (Action::ToggleWorkMode, "work sleep → cpu"),
            (Action::TogglePause, "paused"),
            (Action::TogglePause, "resumed"),
            (Action::CycleLatencyKind, "latency: service"),
            (Action::ToggleWindow, "latency over the whole run"),
        ];
        for (action, expected) in cases {
            app.update(action);
            assert_eq!(app.notice(), Some(expected), "after {action:?}");
        }
    }

    #[test]
    fn rounding() {
        assert_eq!(round_significant(1.21, 2), 1.2);
        assert_eq!(round_significant(0.0909, 2), 0.091);
        assert_eq!(step_up(9.9, 1.1, 2), 11.0);
        assert_eq!(step_down(1.0, 1.1, 2), 0.91);
        assert_eq!(step_up(1024.0, 2.0, 3), 2050.0);
    }

    #[test]
    fn a_pauses_and_resumes_the_policy_and_the_worker_keys_pause_it_and_say_so() {
        let control = AutoscaleControl::default();
        let mut scaled = app().with_autoscale(control.clone(), AutoscaleView::default());
        assert_eq!(scaled.update(Action::ToggleAutoscale), None);
        assert!(control.paused());
        assert_eq!(scaled.notice(), Some("autoscale paused (A resumes)"));
        scaled.update(Action::ToggleAutoscale);
        assert!(!control.paused() && !scaled.autoscale().unwrap().paused);
        assert_eq!(scaled.notice(), Some("autoscale resumed"));
        let command = scaled.update(Action::AddWorker);
        assert_eq!(command, Some(Command::SetWorkers(6)));
        assert!(control.paused() && scaled.autoscale().unwrap().paused);
        assert_eq!(
            scaled.notice(),
            Some("workers 5 → 6; autoscale paused (A resumes)")
        );
        // Already paused: the next key only says what it changed.
        scaled.update(Action::RemoveWorker);
        assert_eq!(scaled.notice(), Some("workers 6 → 5"));
        // Without a policy, A says how to get one.
        let mut plain = app();
        plain.update(Action::ToggleAutoscale);
        assert!(plain.notice().unwrap().contains("--autoscale"));
    }
}
