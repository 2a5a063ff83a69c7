//! The replay monitor: the live monitor's screen drawn from the recorded snapshots on a replay
//! clock, a position bar under it, keys to play, pause, change speed and seek.

use std::io::{self, IsTerminal};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Constraint, Layout};
use ratatui::widgets::Widget;

use super::bar::PositionBar;
use super::clock::{self, ReplayClock};
use crate::app::{Action, App};
use crate::cli::ReplayArgs;
use crate::engine::Snapshot;
use crate::error::Error;
use crate::runlog::{MarkKind, RunLog, RunLogError};
use crate::terminal::{self, QuitSignals};
use crate::{input, ui};

/// Seek steps, model seconds: the arrows, and with Shift.
const SEEK_S: i64 = 5;
const SEEK_FAR_S: i64 = 30;
/// What a key that would change the run says in the footer.
pub const READ_ONLY: &str = "replay: read only";

pub fn run(log: &RunLog, args: &ReplayArgs) -> Result<(), Error> {
    if !io::stdout().is_terminal() {
        return Err(Error::Usage(
            "stdout is not a terminal: the replay monitor needs one; use replay FILE --headless for the log, --json or --csv".into(),
        ));
    }
    let runtime = crate::runtime::current_thread()?;
    runtime.block_on(show(log, args))
}

/// The replay's state between frames.
pub struct Replay<'a> {
    log: &'a RunLog,
    pub clock: ReplayClock,
    pub app: App,
    /// The snapshot frame last read, by index: playing reads the same one many times.
    cached: Option<(usize, Vec<Arc<Snapshot>>)>,
    changes: Vec<u64>,
    captions: Vec<(u64, String)>,
}

impl<'a> Replay<'a> {
    pub fn new(log: &'a RunLog, speed: f64, fps: u32) -> Result<Self, RunLogError> {
        let (start, end) = log.span_ns();
        let first = log.snapshot_at(start)?;
        let marks = log.marks();
        Ok(Self {
            log,
            clock: ReplayClock::new(start, end, speed),
            app: App::new(first, fps),
            cached: None,
            changes: marks
                .iter()
                .filter(|m| m.kind == MarkKind::Change)
                .map(|m| m.at_ns)
                .collect(),
            captions: marks
                .iter()
                .filter(|m| m.kind == MarkKind::Caption)
                .map(|m| (m.at_ns, m.text.clone()))
                .collect(),
        })
    }

    /// The frame's snapshots, read once while the replay stays in it.
    fn frame(&mut self, index: usize) -> Result<&[Arc<Snapshot>], RunLogError> {
        if self.cached.as_ref().is_none_or(|(i, _)| *i != index) {
            self.cached = Some((index, self.log.snapshot_frame(index)?));
        }
        Ok(self.cached.as_ref().map_or(&[][..], |(_, f)| f.as_slice()))
    }

    /// What the live monitor showed at `t_ns`: the last snapshot published by then.
    fn snapshot_at(&mut self, t_ns: u64) -> Result<Arc<Snapshot>, RunLogError> {
        let log = self.log;
        let frame = self.frame(log.frame_for(t_ns))?;
        let at = frame
            .partition_point(|s| s.now_ns <= t_ns)
            .saturating_sub(1);
        frame.get(at).cloned().ok_or_else(|| RunLogError::Empty {
            path: log.name().to_string(),
        })
    }

    /// The first snapshot published at or after `t_ns` (the last one if none was): a change is
    /// shown from the first snapshot that has it.
    fn first_at_or_after(&mut self, t_ns: u64) -> Result<u64, RunLogError> {
        let log = self.log;
        for i in log.frame_for(t_ns)..log.snapshot_frame_count() {
            if let Some(s) = self.frame(i)?.iter().find(|s| s.now_ns >= t_ns) {
                return Ok(s.now_ns);
            }
        }
        Ok(self.clock.span_ns().1)
    }

    /// Shows the moment the clock is at.
    pub fn update_view(&mut self) -> Result<(), RunLogError> {
        let position = self.clock.position_ns();
        let snapshot = self.snapshot_at(position)?;
        let settings = snapshot.settings.clone();
        self.app.set_snapshot(snapshot, settings);
        let caption = self
            .captions
            .iter()
            .rev()
            .find(|(t, _)| *t <= position)
            .map(|(_, text)| text.clone())
            .filter(|text| !text.is_empty());
        self.app.set_caption(caption);
        Ok(())
    }

    /// A key: the replay's own, the monitor's view keys, or a live key that cannot apply.
    pub fn key(&mut self, key: KeyEvent) -> Result<(), RunLogError> {
        if key.kind != KeyEventKind::Press {
            return Ok(());
        }
        let far = key.modifiers.contains(KeyModifiers::SHIFT);
        let seek = if far { SEEK_FAR_S } else { SEEK_S };
        match key.code {
            KeyCode::Char(' ') => self.clock.toggle(),
            KeyCode::Char(']') => self.clock.faster(),
            KeyCode::Char('[') => self.clock.slower(),
            KeyCode::Right => self.clock.seek_by(seek),
            KeyCode::Left => self.clock.seek_by(-seek),
            KeyCode::Home => self.clock.seek_to(0),
            KeyCode::End => self.clock.seek_to(u64::MAX),
            KeyCode::Char('n') => self.next_change()?,
            KeyCode::Char('p') => self.previous_change()?,
            _ => self.monitor_key(key),
        }
        self.update_view()
    }

    /// Seeks to the first change after the position (to the first snapshot that shows it).
    fn next_change(&mut self) -> Result<(), RunLogError> {
        match clock::next_change(&self.changes, self.clock.position_ns()) {
            Some(t) => {
                let at = self.first_at_or_after(t)?;
                self.clock.seek_to(at);
            }
            None => self.app.notify("no later settings change"),
        }
        Ok(())
    }

    /// Seeks to the last change shown before the position: standing on a change, the one before.
    fn previous_change(&mut self) -> Result<(), RunLogError> {
        let position = self.clock.position_ns();
        for t in self.changes.clone().into_iter().rev() {
            let at = self.first_at_or_after(t)?;
            if at < position {
                self.clock.seek_to(at);
                return Ok(());
            }
        }
        self.app.notify("no earlier settings change");
        Ok(())
    }

    fn monitor_key(&mut self, key: KeyEvent) {
        let Some(action) = input::action_for(key) else {
            return;
        };
        match action {
            Action::CycleLatencyKind
            | Action::ToggleWindow
            | Action::ToggleHelp
            | Action::ScrollWorkers(_)
            | Action::Back
            | Action::Quit => {
                // View keys change no setting: no command comes back.
                let _ = self.app.update(action);
            }
            _ => self.app.notify(READ_ONLY),
        }
    }

    /// Draws the monitor's screen above the position bar.
    pub fn draw(&mut self, frame: &mut ratatui::Frame) {
        let [main, bar] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(frame.area());
        ui::render(&self.app, main, frame.buffer_mut());
        let position = PositionBar {
            position_ns: self.clock.position_ns(),
            span_ns: self.clock.span_ns(),
            playing: self.clock.playing(),
            speed: self.clock.speed(),
            changes: &self.changes,
        };
        (&position).render(bar, frame.buffer_mut());
        self.app.tick();
    }
}

async fn show(log: &RunLog, args: &ReplayArgs) -> Result<(), Error> {
    let mut replay = Replay::new(log, args.speed, args.fps)?;
    replay.update_view()?;
    let mut signals = QuitSignals::new().map_err(Error::Terminal)?;
    let _taken = terminal::take().map_err(Error::Terminal)?;
    let mut screen = Terminal::new(CrosstermBackend::new(io::stdout())).map_err(Error::Terminal)?;
    let mut events = EventStream::new();
    let mut frames = tokio::time::interval(Duration::from_secs(1) / args.fps.clamp(1, 120));
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last = Instant::now();
    loop {
        tokio::select! {
            _ = frames.tick() => {
                let now = Instant::now();
                replay.clock.advance(now - last);
                last = now;
                replay.update_view()?;
                screen.draw(|frame| replay.draw(frame)).map_err(Error::Terminal)?;
            }
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => replay.key(key)?,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Error::Terminal(e)),
                None => replay.app.quit(),
            },
            () = signals.recv() => replay.app.quit(),
        }
        if replay.app.should_quit() {
            return Ok(());
        }
    }
}
