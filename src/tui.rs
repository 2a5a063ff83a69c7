//! The live terminal face: terminal setup and restore, and the loop that turns keys into
//! engine commands and draws one frame per tick from the latest snapshot.

use std::io::{self, IsTerminal};
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::time::{Interval, MissedTickBehavior};

use crate::app::{Action, App};
use crate::engine::EngineHandle;
use crate::input;
use crate::ui;

pub struct TuiOptions {
    /// Frames drawn per second.
    pub fps: u32,
    /// Return as soon as the run is over instead of showing the finished screen until `q`.
    pub exit_when_done: bool,
}

impl Default for TuiOptions {
    fn default() -> Self {
        Self {
            fps: 20,
            exit_when_done: false,
        }
    }
}

/// Shows the run live until the user quits (or the run is over, with `exit_when_done`).
/// Returns Ok on quit; the caller stops the engine.
pub async fn run(handle: &EngineHandle, options: TuiOptions) -> io::Result<()> {
    if !io::stdout().is_terminal() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the live monitor needs a terminal on stdout",
        ));
    }
    let mut signals = QuitSignals::new()?;
    let mut guard = TerminalGuard::new()?;
    let mut app = App::new(handle.snapshot(), options.fps);
    let mut events = EventStream::new();
    let mut frames = frame_interval(options.fps);
    loop {
        tokio::select! {
            _ = frames.tick() => {
                draw_frame(&mut guard.terminal, &mut app, handle)?;
                if options.exit_when_done && app.snapshot().state.is_over() {
                    return Ok(());
                }
            }
            event = events.next() => on_terminal_event(event, &mut app, handle)?,
            () = signals.recv() => app.quit(),
        }
        if app.should_quit() {
            return Ok(());
        }
    }
}

/// Restores the terminal when dropped: on return, on error and on unwinding panic
/// (ratatui's panic hook restores it too, before the message prints).
struct TerminalGuard {
    terminal: DefaultTerminal,
}

impl TerminalGuard {
    /// Raw mode and the alternate screen. No `terminal.clear()`: it queries the cursor
    /// position, which stalls in some pseudo-terminals, and the alternate screen starts blank.
    fn new() -> io::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(Self { terminal })
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

/// One frame: the latest snapshot and the engine's live settings (keys act on the latter),
/// drawn once; events in between only change state.
fn draw_frame(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    handle: &EngineHandle,
) -> io::Result<()> {
    app.set_snapshot(handle.snapshot(), handle.settings());
    terminal.draw(|frame| ui::draw(frame, app))?;
    app.tick();
    Ok(())
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
