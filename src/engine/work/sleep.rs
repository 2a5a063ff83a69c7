//! `sleep` work: the article's `time.sleep`, a precise wall-clock wait for the event's demand.

use std::sync::atomic::AtomicBool;

use super::spin::{Spin, wait_until};
use super::{Cancelled, Job, Outcome, Work, article_result};

/// Waits out the demand on the wall clock; as many sleeping workers as you like run at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sleep;

impl Work for Sleep {
    fn run(&self, job: &Job<'_>, cancel: &AtomicBool) -> Result<Outcome, Cancelled> {
        if !job.wall.is_zero() {
            wait_until(job.start.wall + job.wall, cancel, Spin::IfCoreFree)?;
        }
        Ok(article_result(job.event.id))
    }
}
