//! The footer: the main keys, and a short-lived notice when an action had something to say.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::theme;

/// The keys worth a place on screen all the time (the rest are in the help).
const MAIN_KEYS: &[(&str, &str)] = &[
    ("+/-", "workers"),
    ("↑↓", "rate"),
    ("←→", "service"),
    ("space", "pause"),
    ("tab", "latency"),
    ("v", "window"),
    ("?", "help"),
    ("q", "quit"),
];

pub struct Footer<'a> {
    /// The current notice, if any; it takes the footer's right end.
    pub notice: Option<&'a str>,
}

impl Widget for &Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let keys: Vec<Span> = MAIN_KEYS
            .iter()
            .flat_map(|(key, what)| {
                [
                    Span::styled(format!(" {key}"), theme::KEY),
                    Span::styled(format!(" {what} "), theme::DIM),
                ]
            })
            .collect();
        Paragraph::new(Line::from(keys)).render(area, buf);
        if let Some(notice) = self.notice {
            Paragraph::new(Line::styled(format!(" {notice} "), theme::NOTICE).right_aligned())
                .render(area, buf);
        }
    }
}
