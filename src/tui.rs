//! The monitor's loop: terminal setup and restore, keys to engine commands, and one frame per
//! tick from the latest snapshot, drawn to the terminal or (offscreen) to a virtual screen; a
//! recorder, when there is one, takes each drawn frame.

use std::io::{self, IsTerminal};
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use crate::app::{Action, App};
use crate::engine::EngineHandle;
use crate::input;
use crate::record::progress::Progress;
use crate::record::{self, Copied, Recorder, Tee};
use crate::ui;

/// The terminal type of the monitor: crossterm over a writer that can copy what it writes.
type MonitorTerminal = Terminal<CrosstermBackend<Tee>>;

pub struct TuiOptions {
    /// Frames drawn per second.
    pub fps: u32,
    /// Return as soon as the run is over instead of showing the finished screen until `q`.
    pub exit_when_done: bool,
    /// The scenario's current caption, if a scenario plays.
    pub captions: Option<watch::Receiver<Option<String>>>,
    /// Record the drawn frames into this file.
    pub record: Option<record::Output>,
    /// Title of the recording.
    pub title: String,
}

impl Default for TuiOptions {
    fn default() -> Self {
        Self {
            fps: 20,
            exit_when_done: false,
            captions: None,
            record: None,
            title: "backlog".into(),
        }
    }
}

/// Shows the run live until the user quits (or the run is over, with `exit_when_done`).
/// Returns the recording's summary, if one was made; the caller stops the engine.
pub async fn run(
    handle: &EngineHandle,
    options: TuiOptions,
) -> io::Result<Option<record::Summary>> {
    if !io::stdout().is_terminal() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the live monitor needs a terminal on stdout",
        ));
    }
    let mut signals = QuitSignals::new()?;
    let copy = copy_for(&options);
    let mut guard = TerminalGuard::new(copy.clone())?;
    let size = guard.terminal.size()?;
    let mut monitor = Monitor::new(handle, options, size.width, size.height, copy)?;
    let mut events = EventStream::new();
    let mut frames = frame_interval(monitor.fps);
    loop {
        tokio::select! {
            _ = frames.tick() => {
                monitor.draw(&mut guard.terminal)?;
                if monitor.exit_when_done && monitor.app.snapshot().state.is_over() {
                    break;
                }
            }
            event = events.next() => on_terminal_event(event, &mut monitor.app, handle)?,
            () = signals.recv() => monitor.app.quit(),
        }
        if monitor.app.should_quit() {
            break;
        }
    }
    monitor.finish()
}

/// Draws the monitor into a virtual `size` screen (no terminal, no keys) until the run is over
/// or a signal arrives, reporting progress on stderr. Returns the recording's summary.
pub async fn run_offscreen(
    handle: &EngineHandle,
    options: TuiOptions,
    size: Rect,
    mut progress: Progress,
) -> io::Result<Option<record::Summary>> {
    let mut signals = QuitSignals::new()?;
    let copy = copy_for(&options);
    let mut terminal = Terminal::with_options(
        CrosstermBackend::new(Tee::new(false, copy.clone())),
        TerminalOptions {
            viewport: Viewport::Fixed(size),
        },
    )?;
    let mut monitor = Monitor::new(handle, options, size.width, size.height, copy)?;
    let mut frames = frame_interval(monitor.fps);
    loop {
        tokio::select! {
            _ = frames.tick() => {
                monitor.draw(&mut terminal)?;
                progress.update(monitor.app.snapshot());
                // The frame just drawn shows the finished screen: the recording ends on it.
                if monitor.app.snapshot().state.is_over() {
                    break;
                }
            }
            () = signals.recv() => break,
        }
    }
    let summary = monitor.finish()?;
    let message = match &summary {
        Some(summary) => summary.to_string(),
        None => format!("offscreen run {}", handle.snapshot().state.name()),
    };
    progress.finish(&message);
    Ok(summary)
}

/// A copy of the backend's bytes, when the recording needs them (a cast does).
fn copy_for(options: &TuiOptions) -> Option<Copied> {
    options
        .record
        .as_ref()
        .filter(|o| o.format() == record::Format::Cast)
        .map(|_| Copied::default())
}

/// The monitor's state between frames: the UI state, the caption source, the recorder.
struct Monitor<'a> {
    handle: &'a EngineHandle,
    app: App,
    fps: u32,
    exit_when_done: bool,
    captions: Option<watch::Receiver<Option<String>>>,
    recorder: Option<Recorder>,
    /// What the backend wrote for the frame being recorded (cast recordings).
    copy: Option<Copied>,
}

impl<'a> Monitor<'a> {
    fn new(
        handle: &'a EngineHandle,
        options: TuiOptions,
        width: u16,
        height: u16,
        copy: Option<Copied>,
    ) -> io::Result<Self> {
        let recorder = match options.record {
            Some(output) => Some(Recorder::start(output, width, height, &options.title)?),
            None => None,
        };
        Ok(Self {
            handle,
            app: App::new(handle.snapshot(), options.fps),
            fps: options.fps,
            exit_when_done: options.exit_when_done,
            captions: options.captions,
            recorder,
            copy,
        })
    }

    /// One frame: the latest snapshot, the engine's live settings (keys act on the latter) and
    /// the current caption, drawn once; then handed to the recorder.
    fn draw(&mut self, terminal: &mut MonitorTerminal) -> io::Result<()> {
        self.app
            .set_snapshot(self.handle.snapshot(), self.handle.settings());
        if let Some(captions) = &self.captions {
            self.app.set_caption(captions.borrow().clone());
        }
        let app = &self.app;
        let completed = terminal.draw(|frame| ui::draw(frame, app))?;
        if let Some(recorder) = &mut self.recorder {
            let bytes = self.copy.as_ref().map(Copied::take).unwrap_or_default();
            recorder.frame(completed.buffer, &bytes)?;
        }
        self.app.tick();
        Ok(())
    }

    fn finish(self) -> io::Result<Option<record::Summary>> {
        self.recorder.map(Recorder::finish).transpose()
    }
}

/// Restores the terminal when dropped: on return, on error and on unwinding panic
/// (ratatui's panic hook restores it too, before the message prints).
struct TerminalGuard {
    terminal: MonitorTerminal,
}

impl TerminalGuard {
    /// Raw mode and the alternate screen (ratatui's init, which also installs its panic hook),
    /// then a terminal whose writer can keep a copy for a recording. No `terminal.clear()`: it
    /// queries the cursor position, which stalls in some pseudo-terminals, and the alternate
    /// screen starts blank.
    fn new(copy: Option<Copied>) -> io::Result<Self> {
        drop(ratatui::try_init()?);
        match Terminal::new(CrosstermBackend::new(Tee::new(true, copy))) {
            Ok(terminal) => Ok(Self { terminal }),
            Err(e) => {
                ratatui::restore();
                Err(e)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

fn frame_interval(fps: u32) -> Interval {
    let period = Duration::from_secs(1) / fps.clamp(1, 240);
    let mut interval = tokio::time::interval(period);
    // A slow frame must not be followed by a burst of catch-up frames.
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// Keys become actions and commands; resizes need nothing (the next frame fits the new size).
fn on_terminal_event(
    event: Option<io::Result<Event>>,
    app: &mut App,
    handle: &EngineHandle,
) -> io::Result<()> {
    match event {
        Some(Ok(Event::Key(key))) => {
            if let Some(action) = input::action_for(key) {
                apply(app, handle, action);
            }
            Ok(())
        }
        Some(Ok(_)) => Ok(()),
        Some(Err(err)) => Err(err),
        // No more terminal input (stdin closed): nothing can quit us any more, so quit now.
        None => {
            app.quit();
            Ok(())
        }
    }
}

fn apply(app: &mut App, handle: &EngineHandle, action: Action) {
    if let Some(command) = app.update(action) {
        handle.send(command);
    }
}

/// Signals that end the monitor cleanly (terminal restored, Ok returned): SIGTERM, SIGHUP (the
/// terminal went away) and SIGINT from outside (in raw mode Ctrl-C arrives as a key instead).
struct QuitSignals {
    terminate: Signal,
    interrupt: Signal,
    hangup: Signal,
}

impl QuitSignals {
    fn new() -> io::Result<Self> {
        Ok(Self {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    async fn recv(&mut self) {
        let received = tokio::select! {
            s = self.terminate.recv() => s,
            s = self.interrupt.recv() => s,
            s = self.hangup.recv() => s,
        };
        // A closed signal stream never fires again: wait forever rather than spin.
        if received.is_none() {
            std::future::pending::<()>().await;
        }
    }
}
