//! The faces' tokio runtimes, built in one place with one error.

use tokio::runtime::{Builder, Runtime};

use crate::error::Error;

/// A runtime of `threads` worker threads named `name`.
pub fn multi_thread(threads: usize, name: &str) -> Result<Runtime, Error> {
    finish(
        Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name(name),
    )
}

/// A runtime on the calling thread.
pub fn current_thread() -> Result<Runtime, Error> {
    finish(&mut Builder::new_current_thread())
}

fn finish(builder: &mut Builder) -> Result<Runtime, Error> {
    builder
        .enable_all()
        .build()
        .map_err(|source| Error::System {
            what: "cannot start the async runtime",
            source,
        })
}
