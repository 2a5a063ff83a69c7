//! The verdict's changes that are news: a new kind of verdict, once it has held for a while.

use crate::engine::snapshot::Snapshot;

use super::verdict::Verdict;

/// A new verdict must hold this long (model time) before it is news...
const HOLD_NS: u64 = 500_000_000;
/// ...and in at least this many snapshots in a row: at a high --speed a snapshot spans more
/// than HOLD_NS of model time, and one snapshot alone is not a trend.
const MIN_SNAPSHOTS: u32 = 3;

/// A verdict of a new kind that held long enough.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictChange {
    /// Model time of the first snapshot that showed it, ns.
    pub at_ns: u64,
    /// The verdict as that first snapshot showed it.
    pub verdict: Verdict,
}

/// A different verdict seen in the latest snapshots, not yet held long enough.
#[derive(Debug, Clone)]
struct Pending {
    verdict: Verdict,
    since_ns: u64,
    snapshots: u32,
}

/// Fed the snapshots of a run in turn, it reports when the verdict's kind changes. Random
/// arrivals push the verdict across a threshold and back within a few snapshots; a change
/// counts only once it has held for HOLD_NS and MIN_SNAPSHOTS, so noise does not flap it. The
/// first verdict of the run counts as a change; the end of the run does not (there is no later
/// snapshot to confirm it, and the run's closing line says it anyway).
#[derive(Debug, Clone, Default)]
pub struct VerdictChanges {
    reported: Option<&'static str>,
    pending: Option<Pending>,
}

impl VerdictChanges {
    /// Looks at the next snapshot; returns the change it confirms, if any.
    pub fn observe(&mut self, s: &Snapshot) -> Option<VerdictChange> {
        let previous = self.pending.take();
        if s.state.is_over() {
            return None;
        }
        let verdict = Verdict::of(s);
        if self.reported == Some(verdict.kind()) {
            return None;
        }
        let pending = match previous {
            Some(p) if p.verdict.kind() == verdict.kind() => Pending {
                snapshots: p.snapshots + 1,
                ..p
            },
            _ => Pending {
                verdict,
                since_ns: s.now_ns,
                snapshots: 1,
            },
        };
        let held_ns = s.now_ns.saturating_sub(pending.since_ns);
        if pending.snapshots >= MIN_SNAPSHOTS && held_ns >= HOLD_NS {
            self.reported = Some(pending.verdict.kind());
            return Some(VerdictChange {
                at_ns: pending.since_ns,
                verdict: pending.verdict,
            });
        }
        self.pending = Some(pending);
        None
    }

    /// When the change still being decided was first seen: a log stamps the change with this
    /// time, so it holds back later lines until the change is decided.
    pub fn pending_since_ns(&self) -> Option<u64> {
        self.pending.as_ref().map(|p| p.since_ns)
    }
}
