//! The replay's position bar: play state, speed, where the replay is, the changes as marks.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;

use crate::engine::settings::trim_float;

/// One line: `▶ replay 12.000s / 95.000s ×2  ━━━━━━●──┃───┃──` (`‖` when paused).
pub struct PositionBar<'a> {
    pub position_ns: u64,
    pub span_ns: (u64, u64),
    pub playing: bool,
    pub speed: f64,
    /// Model times of the settings changes.
    pub changes: &'a [u64],
}

impl PositionBar<'_> {
    fn label(&self) -> String {
        let s = |ns: u64| ns as f64 / 1e9;
        format!(
            "{} replay {:.3}s / {:.3}s ×{}  ",
            if self.playing { "▶" } else { "‖" },
            s(self.position_ns),
            s(self.span_ns.1),
            trim_float(self.speed)
        )
    }

    /// The track's cell of model time `t_ns`, on a track `width` cells wide.
    fn cell(&self, t_ns: u64, width: u16) -> u16 {
        let (start, end) = self.span_ns;
        let length = end.saturating_sub(start).max(1) as f64;
        let at = t_ns.saturating_sub(start) as f64 / length;
        ((at * f64::from(width.saturating_sub(1))).round() as u16).min(width.saturating_sub(1))
    }
}

impl Widget for &PositionBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let label = self.label();
        let shown = buf.set_stringn(
            area.x,
            area.y,
            &label,
            area.width as usize,
            Style::default(),
        );
        let track_x = shown.0;
        let width = (area.x + area.width).saturating_sub(track_x);
        if width < 4 {
            return;
        }
        let here = self.cell(self.position_ns, width);
        for i in 0..width {
            let symbol = if i < here { "━" } else { "─" };
            buf[(track_x + i, area.y)].set_symbol(symbol);
        }
        for &t in self.changes {
            buf[(track_x + self.cell(t, width), area.y)].set_symbol("┃");
        }
        buf[(track_x + here, area.y)]
            .set_symbol("●")
            .set_style(Style::default().add_modifier(Modifier::BOLD));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn line(buf: &Buffer) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect()
    }

    #[test]
    fn the_bar_shows_the_position_and_the_changes() {
        let bar = PositionBar {
            position_ns: 5 * S,
            span_ns: (0, 10 * S),
            playing: false,
            speed: 2.0,
            changes: &[10 * S],
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 40, 1));
        (&bar).render(buf.area, &mut buf);
        let text = line(&buf);
        assert!(text.starts_with("‖ replay 5.000s / 10.000s ×2  "), "{text}");
        // 10 cells of track after the 30 of the label: half way is the 6th; the change at the
        // end is the last.
        assert!(text.ends_with("━━━━━●───┃"), "{text}");
    }

    #[test]
    fn the_bar_draws_in_any_area_without_panicking() {
        let bar = PositionBar {
            position_ns: 0,
            span_ns: (0, 0),
            playing: true,
            speed: 1.0,
            changes: &[0, 5],
        };
        for (w, h) in [(0, 0), (1, 1), (3, 1), (80, 2)] {
            let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
            (&bar).render(buf.area, &mut buf);
        }
    }
}
