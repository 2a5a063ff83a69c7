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

/// Keys the footer keeps to the last: how to get help and how to leave.
const ALWAYS_SHOWN: usize = 2;

/// The main keys that fit `width`, whole; the others go first, from the end of the list.
fn keys_line(width: u16) -> Line<'static> {
    let entry = |(key, what): &(&str, &str)| {
        [
            Span::styled(format!(" {key}"), theme::KEY),
            Span::styled(format!(" {what} "), theme::DIM),
        ]
    };
    let entry_width = |k: &(&str, &str)| k.0.chars().count() + k.1.chars().count() + 3;
    let (optional, always) = MAIN_KEYS.split_at(MAIN_KEYS.len() - ALWAYS_SHOWN);
    let mut room = usize::from(width).saturating_sub(always.iter().map(entry_width).sum());
    let shown = optional
        .iter()
        .take_while(|k| {
            let fits = entry_width(k) <= room;
            room = room.saturating_sub(entry_width(k));
            fits
        })
        .count();
    let spans: Vec<Span> = optional[..shown]
        .iter()
        .chain(always)
        .flat_map(entry)
        .collect();
    Line::from(spans)
}

pub struct Footer<'a> {
    /// The current notice, if any; it takes the footer's right end.
    pub notice: Option<&'a str>,
}

impl Widget for &Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        Paragraph::new(keys_line(area.width)).render(area, buf);
        if let Some(notice) = self.notice {
            Paragraph::new(Line::styled(format!(" {notice} "), theme::NOTICE).right_aligned())
                .render(area, buf);
        }
    }
}
