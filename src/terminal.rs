//! The terminal while the monitor holds it (raw mode, the alternate screen), and giving it back on
//! every way out: a return, an error, a panic on any thread, a forced exit.
//!
//! ratatui's `init` is not used: its panic hook restores the terminal on *any* panic, including
//! the ones `--fail-rate` injects into the work and the engine catches, after which the monitor
//! would go on drawing into a restored terminal.

use std::io;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once};
use std::thread::{self, ThreadId};
use std::time::Duration;

use crossterm::{cursor, execute, terminal};
use tokio::signal::unix;

use crate::engine::work::InjectedPanic;

/// Set while raw mode and the alternate screen are on.
static TAKEN: AtomicBool = AtomicBool::new(false);
/// Set by a forced exit: the monitor's writer drops what it is given from then on.
static FROZEN: AtomicBool = AtomicBool::new(false);
/// The thread that draws: a panic there restores the terminal before its message prints.
static OWNER: Mutex<Option<ThreadId>> = Mutex::new(None);
/// Messages of panics on other threads while the terminal was taken: printed once it is
/// restored (printed at once they would land in the alternate screen and vanish with it).
static HELD: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// What leaves the alternate screen and shows the cursor, for writes that bypass crossterm.
const LEAVE: &[u8] = b"\x1b[?1049l\x1b[?25h";

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Raw mode and the alternate screen, given back when dropped (also while unwinding).
pub struct Taken(());

/// Takes the terminal: raw mode, the alternate screen, and a panic hook that gives it back.
pub fn take() -> io::Result<Taken> {
    install_panic_hook();
    *lock(&OWNER) = Some(thread::current().id());
    terminal::enable_raw_mode()?;
    TAKEN.store(true, Ordering::SeqCst);
    let taken = Taken(());
    execute!(io::stdout(), terminal::EnterAlternateScreen)?;
    Ok(taken)
}

impl Drop for Taken {
    fn drop(&mut self) {
        let mut held = lock(&HELD);
        restore();
        for message in held.drain(..) {
            eprintln!("{message}");
        }
    }
}

/// True after a forced exit began: the monitor's frames go nowhere.
pub fn frozen() -> bool {
    FROZEN.load(Ordering::Relaxed)
}

/// Raw mode off, the alternate screen left, the cursor shown; once.
fn restore() {
    if TAKEN.swap(false, Ordering::SeqCst) {
        let _ = terminal::disable_raw_mode();
        let _ = execute!(io::stdout(), terminal::LeaveAlternateScreen, cursor::Show);
    }
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            // The work's injected panics are caught and counted by the engine: not our business.
            if info.payload().is::<InjectedPanic>() || !TAKEN.load(Ordering::SeqCst) {
                return previous(info);
            }
            if *lock(&OWNER) == Some(thread::current().id()) {
                // The drawing thread: nothing draws any more, so restore now and print.
                restore();
                return previous(info);
            }
            // Another thread (an engine thread): the engine stops and reports it, the monitor
            // leaves on its next frame, and the message prints once the terminal is back.
            let mut held = lock(&HELD);
            if TAKEN.load(Ordering::SeqCst) {
                held.push(describe(info));
            } else {
                drop(held);
                previous(info);
            }
        }));
    });
}

/// The panic as the standard hook words it.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let at = info
        .location()
        .map(|l| format!(" at {l}"))
        .unwrap_or_default();
    let current = thread::current();
    let name = current.name().unwrap_or("<unnamed>");
    format!("thread '{name}' panicked{at}:\n{message}")
}

/// Leaves now with `code` after printing `message`, whatever the monitor is doing: it may be
/// stuck writing to a terminal that stopped reading, where a clean quit cannot finish. Gives the
/// terminal back first: raw mode off, frames not yet shown dropped (so the way back gets
/// through), the alternate screen left, the cursor shown; all within about half a second.
pub fn force_exit(code: i32, message: &str) -> ! {
    let taken = TAKEN.swap(false, Ordering::SeqCst);
    if taken {
        // From now on the monitor's frames go nowhere...
        FROZEN.store(true, Ordering::SeqCst);
        // ...the ones the terminal has not taken are dropped, which makes room for a frame
        // write that is stuck; changing the termios (raw mode off) wakes it up, so it finishes
        // and lets go of the terminal's write lock.
        discard_unread_output();
        let _ = terminal::disable_raw_mode();
    }
    let message = format!("{message}\n").into_bytes();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        if taken {
            // The woken frame write has landed by now: drop it too, then the way back.
            thread::sleep(Duration::from_millis(50));
            discard_unread_output();
            write_raw(libc::STDOUT_FILENO, LEAVE);
        }
        write_raw(libc::STDERR_FILENO, &message);
        let _ = done_tx.send(());
    });
    let _ = done_rx.recv_timeout(Duration::from_millis(500));
    // SAFETY: ends the process without destructors or buffer flushes that could block on the
    // same stuck terminal.
    unsafe { libc::_exit(code) }
}

/// Drops output written to the terminal that it has not read yet.
fn discard_unread_output() {
    // SAFETY: tcflush on our own stdout; it fails harmlessly if that is not a terminal.
    unsafe { libc::tcflush(libc::STDOUT_FILENO, libc::TCOFLUSH) };
}

/// Writes to a descriptor directly: the stuck monitor may hold the lock of Rust's stdout.
fn write_raw(fd: libc::c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice to a descriptor of this process.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// Signals that end a run: SIGINT, SIGTERM and SIGHUP (the terminal went away; in the monitor's
/// raw mode Ctrl-C arrives as a key instead). The first asks for a clean end (the monitor quits,
/// a headless run stops and reports); a second forces the exit, for when the clean way is stuck
/// (output to a terminal or pipe that stopped reading blocks every write). They are watched on a
/// task of their own, so a stuck loop still gets them. Needs a tokio runtime.
pub struct QuitSignals {
    first: tokio::sync::mpsc::UnboundedReceiver<()>,
}

impl QuitSignals {
    pub fn new() -> io::Result<Self> {
        let mut terminate = unix::signal(unix::SignalKind::terminate())?;
        let mut interrupt = unix::signal(unix::SignalKind::interrupt())?;
        let mut hangup = unix::signal(unix::SignalKind::hangup())?;
        let (tx, first) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for nth in 0.. {
                let received = tokio::select! {
                    s = terminate.recv() => s,
                    s = interrupt.recv() => s,
                    s = hangup.recv() => s,
                };
                // A closed signal stream never fires again.
                if received.is_none() {
                    return;
                }
                // Once the monitor has gone, the process is already on its way out: a signal
                // then means that way is too slow.
                if nth > 0 || tx.send(()).is_err() {
                    force_exit(130, "backlog: second interrupt, leaving now");
                }
            }
        });
        Ok(Self { first })
    }

    /// The first signal (never, if the signals cannot be watched any more).
    pub async fn recv(&mut self) {
        if self.first.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}
