//! The caption banner: what the scenario says is happening, across the screen under the header.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::theme::{self, symbol};

/// Columns before the caption's text: " ▶ ".
const GUTTER: u16 = 3;

pub struct CaptionBanner<'a> {
    pub text: &'a str,
}

impl CaptionBanner<'_> {
    /// Rows the banner needs at `width`: one, or two when the caption is long.
    pub fn height(&self, width: u16) -> u16 {
        let room = usize::from(width.saturating_sub(GUTTER + 1));
        if self.text.chars().count() > room {
            2
        } else {
            1
        }
    }
}

impl Widget for &CaptionBanner<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        buf.set_style(area, theme::CAPTION);
        let [gutter, text] =
            Layout::horizontal([Constraint::Length(GUTTER), Constraint::Fill(1)]).areas(area);
        Line::styled(format!(" {}", symbol::CAPTION), theme::CAPTION).render(gutter, buf);
        Paragraph::new(self.text)
            .style(theme::CAPTION)
            .wrap(Wrap { trim: true })
            .render(text, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_captions_wrap_under_the_text() {
        let banner = CaptionBanner {
            text: "one two three four five six",
        };
        assert_eq!(banner.height(40), 1);
        assert_eq!(banner.height(20), 2);
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 2));
        banner.render(buf.area, &mut buf);
        let mut expected = Buffer::with_lines([" ▶ one two three    ", "   four five six    "]);
        expected.set_style(expected.area, theme::CAPTION);
        assert_eq!(buf, expected);
        // Degenerate sizes draw nothing and do not panic.
        for (w, h) in [(0, 0), (1, 1), (3, 1), (4, 1)] {
            let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
            banner.render(buf.area, &mut buf);
        }
    }
}
