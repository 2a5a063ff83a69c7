//! The help overlay: every key binding in a centered popup.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget};

use crate::input::BINDINGS;

use super::theme;

/// Width of the key column.
const KEYS_WIDTH: usize = 20;

pub struct HelpPopup;

impl Widget for HelpPopup {
    /// `area` is the whole screen; the popup centers itself in it.
    fn render(self, area: Rect, buf: &mut Buffer) {
        let width = BINDINGS
            .iter()
            .map(|(_, what)| KEYS_WIDTH + what.chars().count())
            .max()
            .unwrap_or(0) as u16
            + 4;
        let height = BINDINGS.len() as u16 + 4;
        let popup = super::centered(area, width, height);
        Clear.render(popup, buf);
        let mut lines: Vec<Line> = BINDINGS
            .iter()
            .map(|(keys, what)| {
                Line::from(vec![
                    Span::styled(format!(" {keys:<w$}", w = KEYS_WIDTH - 1), theme::KEY),
                    Span::raw(*what),
                ])
            })
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(" ? or Esc closes this help", theme::DIM));
        Paragraph::new(lines)
            .block(super::panel_block("Keys").border_style(theme::TITLE))
            .render(popup, buf);
    }
}
