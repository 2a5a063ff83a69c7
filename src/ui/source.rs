//! The source panel: target vs achieved arrival rate, event counts, an arrivals/s sparkline
//! and the ids of the newest events.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use crate::engine::settings::Settings;
use crate::engine::snapshot::Snapshot;
use crate::model::achieved;

use super::format;
use super::theme;

/// The sparkline stops growing here; taller panels give the rows to the event ids.
const MAX_SPARK_HEIGHT: u16 = 5;

pub struct SourcePanel<'a> {
    pub snapshot: &'a Snapshot,
    pub settings: &'a Settings,
}

impl Widget for &SourcePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = super::panel_block("Source");
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let rest = inner.height.saturating_sub(4);
        let spark_height = rest.saturating_sub(1).clamp(1, MAX_SPARK_HEIGHT);
        let [facts, label, spark, newest] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(spark_height),
            Constraint::Min(1),
        ])
        .areas(inner);
        Paragraph::new(self.facts()).render(facts, buf);
        self.render_sparkline(label, spark, buf);
        render_newest_ids(self.snapshot.counters.generated, newest, buf);
    }
}

impl SourcePanel<'_> {
    fn facts(&self) -> Vec<Line<'static>> {
        let s = self.snapshot;
        let target = if self.settings.paused {
            Span::styled(format!("{} (paused)", self.settings.rate), theme::WARN)
        } else {
            Span::styled(self.settings.rate.to_string(), theme::VALUE)
        };
        let c = &s.counters;
        vec![
            Line::from(vec![
                Span::styled("target ", theme::LABEL),
                target,
                Span::styled("  achieved ", theme::LABEL),
                Span::styled(achieved::text(s), theme::VALUE),
            ]),
            Line::from(vec![
                Span::styled("generated ", theme::LABEL),
                Span::styled(format::count(c.generated), theme::VALUE),
            ]),
            Line::from(vec![
                Span::styled("dropped ", theme::LABEL),
                count_span(c.dropped),
                Span::styled("  failed ", theme::LABEL),
                count_span(c.failed),
            ]),
        ]
    }

    /// Events that arrived in each sample interval, newest on the right: at low rates each
    /// bar is one event arriving.
    fn render_sparkline(&self, label: Rect, area: Rect, buf: &mut Buffer) {
        let s = self.snapshot;
        let interval_s = s.series_interval_ns as f64 / 1e9;
        let shown = s.series.len().min(area.width as usize);
        let data: Vec<u64> = s.series[s.series.len() - shown..]
            .iter()
            .map(|p| (p.arrivals_per_s * interval_s).max(0.0).round() as u64)
            .collect();
        let peak = data.iter().copied().max().unwrap_or(0);
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!("arrivals per {}", format::duration_ns(s.series_interval_ns)),
                theme::ARRIVALS,
            ),
            Span::styled(format!(" · max {peak}"), theme::DIM),
        ]))
        .render(label, buf);
        Sparkline::default()
            .data(&data)
            .max(peak.max(1))
            .style(theme::ARRIVALS)
            .render(area, buf);
    }
}

/// Red and marked when anything was lost.
fn count_span(n: u64) -> Span<'static> {
    if n > 0 {
        Span::styled(format!("{} !", format::count(n)), theme::ERROR)
    } else {
        Span::styled("0", theme::VALUE)
    }
}

/// "newest #119 #120 ... #123": as many of the latest ids as fit the rows, newest last
/// (bottom right), so new events push the older ones up and left.
fn render_newest_ids(generated: u64, area: Rect, buf: &mut Buffer) {
    const LABEL: &str = "newest";
    if area.is_empty() {
        return;
    }
    if generated == 0 {
        Paragraph::new(Line::styled("no events yet", theme::DIM)).render(area, buf);
        return;
    }
    let width = usize::from(area.width);
    let mut id = generated;
    // Fill rows from the bottom up; the top row starts with the label.
    for y in (area.top()..area.bottom()).rev() {
        let room = if y == area.top() {
            width.saturating_sub(LABEL.len())
        } else {
            width
        };
        let mut ids = Vec::new();
        let mut used = 0;
        while id >= 1 {
            let text = format!(" #{id}");
            if used + text.len() > room {
                break;
            }
            used += text.len();
            ids.push((id, text));
            id -= 1;
        }
        let mut spans = Vec::with_capacity(ids.len() + 1);
        if y == area.top() {
            spans.push(Span::styled(LABEL, theme::LABEL));
        }
        spans.extend(ids.into_iter().rev().map(|(event, text)| {
            let style = if event == generated {
                theme::ARRIVALS
            } else {
                theme::DIM
            };
            Span::styled(text, style)
        }));
        Paragraph::new(Line::from(spans)).render(
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
        if id == 0 {
            break;
        }
    }
    // Few events: they all fit below the top row, which still gets its label.
    buf.set_stringn(area.x, area.y, LABEL, width, theme::LABEL);
}
