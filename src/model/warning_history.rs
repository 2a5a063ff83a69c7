//! Which lints held during a run, and when: fed each snapshot in turn, it keeps one span per kind.

use serde::Serialize;

use crate::engine::snapshot::Snapshot;

use super::lints::{Lint, lints};

/// One lint over a run, as the JSON summary reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarningSpan {
    /// The lint's snake_case name ([`Lint::kind`]).
    pub kind: &'static str,
    /// Its words the last time it held (figures such as a p99 ratio change while it holds).
    pub text: String,
    /// Model seconds of the first and the last snapshot it held in. It need not have held in
    /// every snapshot between them.
    pub first_s: f64,
    pub last_s: f64,
}

/// A lint's latest form and the model times it was first and last seen.
#[derive(Debug, Clone)]
struct Held {
    lint: Lint,
    first_ns: u64,
    last_ns: u64,
}

/// Bounded by the number of lint kinds, however long the run: one entry per kind, not per sighting.
#[derive(Debug, Clone, Default)]
pub struct WarningHistory {
    held: Vec<Held>,
}

impl WarningHistory {
    /// Records every lint that holds in `s`; snapshots must come in time order.
    pub fn observe(&mut self, s: &Snapshot) {
        for lint in lints(s) {
            match self.held.iter_mut().find(|h| h.lint.kind() == lint.kind()) {
                Some(held) => {
                    held.lint = lint;
                    held.last_ns = s.now_ns;
                }
                None => self.held.push(Held {
                    lint,
                    first_ns: s.now_ns,
                    last_ns: s.now_ns,
                }),
            }
        }
    }

    /// Every lint that held so far, in the order they first held.
    pub fn spans(&self) -> Vec<WarningSpan> {
        self.held
            .iter()
            .map(|h| WarningSpan {
                kind: h.lint.kind(),
                text: h.lint.text(),
                first_s: h.first_ns as f64 / 1e9,
                last_s: h.last_ns as f64 / 1e9,
            })
            .collect()
    }
}
