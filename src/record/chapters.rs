//! Chapters of a recording: a marker at each caption and each change of settings, so
//! asciinema's player can jump between them.

use crate::engine::Snapshot;
use crate::runlog::writer::settings_diff;

/// What has been marked so far.
#[derive(Debug, Default)]
pub struct Chapters {
    caption: Option<String>,
    /// Phases already marked (the first is the start, not a change).
    phases: usize,
}

impl Chapters {
    /// The labels of what is new in this frame: a caption shown for the first time, each
    /// phase begun since the last frame.
    pub fn observe(&mut self, snapshot: &Snapshot, caption: Option<&str>) -> Vec<String> {
        let mut labels = Vec::new();
        let new_caption = caption
            .filter(|c| !c.is_empty())
            .filter(|c| self.caption.as_deref() != Some(*c));
        if let Some(text) = new_caption {
            labels.push(text.to_string());
        }
        self.caption = caption.map(str::to_string);
        let phases = &snapshot.phases;
        for i in self.phases.max(1)..phases.len() {
            let (before, after) = (&phases[i - 1], &phases[i]);
            labels.push(format!(
                "{} ({}): {}",
                crate::ui::format::clock(after.start_ns),
                after.cause.name(),
                settings_diff(&before.settings, &after.settings)
            ));
        }
        self.phases = self.phases.max(phases.len());
        labels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::PhaseCause;
    use crate::engine::snapshot::Phase;

    fn phase(index: usize, workers: usize, cause: PhaseCause) -> Phase {
        let mut p = Phase {
            index,
            start_ns: index as u64 * 10_000_000_000,
            cause,
            ..Phase::default()
        };
        p.settings.workers = workers;
        p
    }

    #[test]
    fn a_caption_and_a_change_are_marked_once_each() {
        let mut chapters = Chapters::default();
        let mut s = Snapshot {
            phases: vec![phase(1, 4, PhaseCause::Start)],
            ..Snapshot::default()
        };
        assert!(chapters.observe(&s, None).is_empty());
        assert_eq!(chapters.observe(&s, Some("hello")), ["hello"]);
        assert!(chapters.observe(&s, Some("hello")).is_empty());
        s.phases.push(phase(2, 5, PhaseCause::Key));
        assert_eq!(
            chapters.observe(&s, Some("hello")),
            ["0:20 (key): workers 4 → 5"]
        );
        assert!(chapters.observe(&s, Some("hello")).is_empty());
        // An empty caption hides the banner: nothing to mark.
        assert!(chapters.observe(&s, Some("")).is_empty());
    }
}
