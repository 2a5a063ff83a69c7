//! Control: whatever sends commands on a clock. `timeline` plays a scenario's steps; `scenario`
//! reads them from files.

pub mod scenario;
pub mod timeline;

use crate::engine::{Command, EngineHandle};

/// Anything that takes commands: the live engine now; a simulation or a sweep later.
pub trait Controlled {
    fn send(&self, command: Command);
}

impl Controlled for EngineHandle {
    fn send(&self, command: Command) {
        EngineHandle::send(self, command);
    }
}
