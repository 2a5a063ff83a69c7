//! The warnings panel: the model's lints, shown only while they hold.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::model::lints::Lint;

use super::theme::{self, symbol};

pub struct WarningsPanel<'a> {
    pub lints: &'a [Lint],
}

impl Widget for &WarningsPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if self.lints.is_empty() || area.is_empty() {
            return;
        }
        let title = format!("{} Warnings ({})", symbol::WARN, self.lints.len());
        let block = super::panel_block(&title).border_style(theme::WARN);
        let lines: Vec<Line> = self
            .lints
            .iter()
            .map(|lint| {
                Line::from(vec![
                    Span::styled(format!("{} ", symbol::WARN), theme::WARN),
                    Span::raw(lint.text()),
                ])
            })
            .collect();
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(block)
            .render(area, buf);
    }
}
