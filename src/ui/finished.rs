//! The finished banner: shown once the run is over, with the final counts and end-to-end latency.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::engine::snapshot::{RunState, Snapshot};

use super::format;
use super::theme::{self, symbol};

pub struct FinishedBanner<'a> {
    pub snapshot: &'a Snapshot,
}

impl Widget for &FinishedBanner<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.snapshot;
        let title = match s.state {
            RunState::Interrupted => format!(" {} interrupted ", symbol::BAD),
            _ => format!(" {} finished ", symbol::FINISHED),
        };
        let block = Block::bordered()
            .border_type(ratatui::widgets::BorderType::Double)
            .border_style(theme::BANNER)
            .title(Span::styled(title, theme::BANNER));
        Clear.render(area, buf);
        Paragraph::new(self.lines())
            .wrap(Wrap { trim: true })
            .block(block)
            .render(area, buf);
    }
}

impl FinishedBanner<'_> {
    fn lines(&self) -> Vec<Line<'static>> {
        let s = self.snapshot;
        let c = &s.counters;
        let e2e = &s.latency.end_to_end;
        let lost_style = |n: u64| if n > 0 { theme::ERROR } else { theme::VALUE };
        let mut lines = vec![
            Line::from(vec![
                Span::styled(format::count(c.completed), theme::VALUE),
                Span::styled(" completed · ", theme::LABEL),
                Span::styled(format::count(c.dropped), lost_style(c.dropped)),
                Span::styled(" dropped · ", theme::LABEL),
                Span::styled(format::count(c.failed), lost_style(c.failed)),
                Span::styled(" failed", theme::LABEL),
            ]),
            Line::from(vec![
                Span::styled("end-to-end mean ", theme::LABEL),
                Span::styled(
                    format::duration_with_unit(e2e.mean_ns.max(0.0) as u64),
                    theme::VALUE,
                ),
                Span::styled(" · p99 ", theme::LABEL),
                Span::styled(format::duration_with_unit(e2e.p99_ns), theme::VALUE),
                Span::styled(" · max ", theme::LABEL),
                Span::styled(format::duration_with_unit(e2e.max_ns), theme::VALUE),
            ]),
        ];
        // An interrupted run reports what it abandoned.
        if c.backlog() + c.in_flight > 0 {
            let held = if c.held_at_source > 0 {
                format!(", {} held at the source", format::count(c.held_at_source))
            } else {
                String::new()
            };
            lines.push(Line::styled(
                format!(
                    "{} left queued{held}, {} in flight",
                    format::count(c.queued),
                    format::count(c.in_flight)
                ),
                theme::WARN,
            ));
        }
        lines.push(Line::raw(""));
        lines.push(Line::from(vec![
            Span::styled("press ", theme::DIM),
            Span::styled("q", theme::KEY),
            Span::styled(" to quit", theme::DIM),
        ]));
        lines
    }
}
