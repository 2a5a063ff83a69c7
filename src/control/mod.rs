//! Control: whatever sends commands on a clock. `timeline` plays a scenario's steps; `scenario`
//! reads them from files.

pub mod scenario;
pub mod timeline;

use crate::engine::{Command, EngineHandle, PhaseCause};

/// Anything that takes commands: the live engine now; a simulation or a sweep later. `cause`
/// says who sends it (a phase that a change of settings starts records it).
pub trait Controlled {
    fn send(&self, cause: PhaseCause, command: Command);
}

impl Controlled for EngineHandle {
    fn send(&self, cause: PhaseCause, command: Command) {
        EngineHandle::send_from(self, cause, command);
    }
}
