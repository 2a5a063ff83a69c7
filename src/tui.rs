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
use tokio::sync::watch;
use tokio::time::{Interval, MissedTickBehavior};

use crate::app::{Action, App};
use crate::autoscaler::AutoscaleControl;
use crate::engine::EngineHandle;
use crate::input;
use crate::model::autoscale::AutoscaleView;
use crate::record::progress::Progress;
use crate::record::{self, Copied, Recorder, Tee};
use crate::terminal::{self, QuitSignals};
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
    /// Test only: panic inside rendering at this frame (the binary sets it from
    /// `BACKLOG_TEST_PANIC=render`).
    #[doc(hidden)]
    pub panic_at_frame: Option<u64>,
    /// The autoscaling policy, if one runs: its view, and the switch `A` and `+` / `-` use.
    pub autoscale: Option<(watch::Receiver<AutoscaleView>, AutoscaleControl)>,
}

impl Default for TuiOptions {
    fn default() -> Self {
        Self {
            fps: 20,
            exit_when_done: false,
            captions: None,
            record: None,
            title: "backlog".into(),
            panic_at_frame: None,
            autoscale: None,
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
                // The engine stopped on a bug: leave, and the caller reports it.
                if handle.fault().is_some() {
                    break;
                }
            }
            event = events.next() => {
                if let Some(Ok(Event::Resize(width, height))) = event {
                    // The size may have changed and changed back since the last frame, and the
                    // terminal may have dropped what it showed meanwhile: draw it all again.
                    guard.terminal.resize(Rect::new(0, 0, width, height))?;
                }
                on_terminal_event(event, &mut monitor.app, handle)?;
            }
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
                if monitor.app.snapshot().state.is_over() || handle.fault().is_some() {
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
    frames_drawn: u64,
    panic_at_frame: Option<u64>,
    /// Captions and changes already marked in the recording.
    chapters: record::chapters::Chapters,
    autoscale: Option<watch::Receiver<AutoscaleView>>,
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
        let app = App::new(handle.snapshot(), options.fps);
        let (app, autoscale) = match options.autoscale {
            Some((view, control)) => {
                let shown = view.borrow().clone();
                (app.with_autoscale(control, shown), Some(view))
            }
            None => (app, None),
        };
        Ok(Self {
            handle,
            app,
            fps: options.fps,
            exit_when_done: options.exit_when_done,
            captions: options.captions,
            recorder,
            copy,
            frames_drawn: 0,
            panic_at_frame: options.panic_at_frame,
            chapters: record::chapters::Chapters::default(),
            autoscale,
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
        if let Some(view) = &self.autoscale {
            self.app.set_autoscale_view(view.borrow().clone());
        }
        let size = terminal.size()?;
        let max_scroll = ui::max_worker_scroll(&self.app, Rect::new(0, 0, size.width, size.height));
        self.app.clamp_worker_scroll(max_scroll);
        let app = &self.app;
        self.frames_drawn += 1;
        let inject_panic = self.panic_at_frame == Some(self.frames_drawn);
        let completed = terminal.draw(|frame| {
            if inject_panic {
                panic!("injected panic while rendering (BACKLOG_TEST_PANIC=render)");
            }
            ui::draw(frame, app);
        })?;
        if let Some(recorder) = &mut self.recorder {
            for label in self
                .chapters
                .observe(self.app.snapshot(), self.app.caption())
            {
                recorder.marker(&label)?;
            }
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

/// The monitor's terminal; raw mode and the alternate screen end when it is dropped: on return,
/// on error and while unwinding from a panic (see [`terminal`]).
struct TerminalGuard {
    terminal: MonitorTerminal,
    _taken: terminal::Taken,
}

impl TerminalGuard {
    /// Raw mode and the alternate screen, then a terminal whose writer can keep a copy for a
    /// recording. No `terminal.clear()`: it queries the cursor position, which stalls in some
    /// pseudo-terminals, and the alternate screen starts blank.
    fn new(copy: Option<Copied>) -> io::Result<Self> {
        let taken = terminal::take()?;
        let terminal = Terminal::new(CrosstermBackend::new(Tee::new(true, copy)))?;
        Ok(Self {
            terminal,
            _taken: taken,
        })
    }
}

fn frame_interval(fps: u32) -> Interval {
    let period = Duration::from_secs(1) / fps.clamp(1, 240);
    let mut interval = tokio::time::interval(period);
    // A slow frame must not be followed by a burst of catch-up frames.
    interval.set_missed_tick_behavior(MissedTickBehavior::Skip);
    interval
}

/// Keys become actions and commands.
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
        handle.send_from(crate::engine::PhaseCause::Key, command);
    }
}
