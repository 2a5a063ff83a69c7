//! Work off the hot path: a thread of its own, at the lowest priority short of idle, that turns the newest request
//! into an output and keeps the latest one for whoever reads it. Requests not yet started are
//! replaced by newer ones; nobody ever waits for an output. A panic in the work makes the
//! outputs unavailable for the rest of the run (with the panic's message); the run goes on.
//! The twin's steady-state estimates (`twin_thread`) and the forecasts (`forecast_thread`) run
//! here.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// What the thread has for its requests.
#[derive(Debug, Clone, PartialEq)]
pub enum Latest<R, O> {
    /// Nothing yet (or the newest request is still being worked on, if the owner says so).
    Pending,
    /// The output of `request`.
    Ready { request: R, output: O },
    /// The work panicked (a bug): no output for the rest of the run.
    Unavailable(String),
}

/// The thread: `request` hands it work, `latest` shows what it found.
pub struct Background<R, O> {
    requests: Option<flume::Sender<R>>,
    latest: Arc<Mutex<Latest<R, O>>>,
    thread: Option<JoinHandle<()>>,
}

impl<R: Send + 'static, O: Send + 'static> Background<R, O> {
    /// Starts the thread `name`, which does `work` on each newest request.
    pub fn spawn(name: &str, work: impl Fn(&R) -> O + Send + 'static) -> std::io::Result<Self> {
        let (requests, inbox) = flume::unbounded::<R>();
        let latest = Arc::new(Mutex::new(Latest::Pending));
        let out = Arc::clone(&latest);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                crate::engine::work::background_priority();
                while let Ok(mut request) = inbox.recv() {
                    // Only the newest request matters.
                    while let Ok(newer) = inbox.try_recv() {
                        request = newer;
                    }
                    let done = match catch_unwind(AssertUnwindSafe(|| work(&request))) {
                        Ok(output) => Latest::Ready { request, output },
                        Err(panic) => Latest::Unavailable(panic_text(&*panic)),
                    };
                    let failed = matches!(done, Latest::Unavailable(_));
                    *lock(&out) = done;
                    if failed {
                        return;
                    }
                }
            })?;
        Ok(Self {
            requests: Some(requests),
            latest,
            thread: Some(thread),
        })
    }

    /// Hands the thread a request (replacing any not yet started); returns at once.
    pub fn request(&self, request: R) {
        if let Some(requests) = &self.requests {
            let _ = requests.send(request);
        }
    }

    /// The latest output, locked for as long as the guard lives (keep it short).
    pub fn latest(&self) -> MutexGuard<'_, Latest<R, O>> {
        lock(&self.latest)
    }
}

impl<R, O> Drop for Background<R, O> {
    fn drop(&mut self) {
        // Closing the inbox ends the thread after its current work.
        self.requests.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A panic's message, for saying why the outputs are unavailable.
pub(crate) fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the background work panicked".into())
}
