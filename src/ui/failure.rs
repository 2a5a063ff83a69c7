//! The last failure, under the workers: which event, what ended it, and the last lines of its
//! command's stderr (`exec` work), as many as the rows given allow.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::engine::snapshot::LastFailure;

use super::theme::{self, symbol};

pub struct FailureLines<'a> {
    pub failure: &'a LastFailure,
}

impl FailureLines<'_> {
    /// The rows it would fill: its own and one per stderr line.
    pub fn wanted_rows(&self) -> u16 {
        1 + self.failure.stderr.len() as u16
    }

    /// "✗ last failure ev 17 · exit status 3".
    pub fn status(&self) -> Line<'static> {
        let f = self.failure;
        Line::from(vec![
            Span::styled(format!("{} ", symbol::BAD), theme::ERROR),
            Span::styled("last failure ", theme::LABEL),
            Span::styled(
                format!("ev {} · {}", f.event, f.failure.text()),
                theme::ERROR,
            ),
        ])
    }
}

impl Widget for &FailureLines<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let stderr = &self.failure.stderr;
        // The newest stderr lines that fit under the status, oldest first.
        let room = usize::from(area.height - 1);
        let shown = &stderr[stderr.len().saturating_sub(room)..];
        let lines = std::iter::once(self.status()).chain(
            shown
                .iter()
                .map(|l| Line::from(vec![Span::raw("  "), Span::styled(l.clone(), theme::DIM)])),
        );
        Paragraph::new(lines.collect::<Vec<_>>()).render(area, buf);
    }
}
