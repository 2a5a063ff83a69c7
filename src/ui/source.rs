//! The source panel: what the source is and its own counters (the generator's target vs
//! achieved rate; stdin's lines read and rejected; a trace's file, row and pass), the events
//! lost, an arrivals/s sparkline and the ids of the newest events.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline, Widget};

use crate::engine::settings::Settings;
use crate::engine::snapshot::{BrokerView, Snapshot, SourceState, SourceType, TraceProgress};
use crate::model::achieved;
use crate::model::broker::connection_text;

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
        let block = super::panel_block(&self.title());
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let facts_lines = self.facts();
        let facts_height = facts_lines.len() as u16;
        let rest = inner.height.saturating_sub(facts_height + 1);
        let spark_height = rest.saturating_sub(1).clamp(1, MAX_SPARK_HEIGHT);
        let [facts, label, spark, newest] = Layout::vertical([
            Constraint::Length(facts_height),
            Constraint::Length(1),
            Constraint::Length(spark_height),
            Constraint::Min(1),
        ])
        .areas(inner);
        Paragraph::new(facts_lines).render(facts, buf);
        self.render_sparkline(label, spark, buf);
        render_newest_ids(self.snapshot.counters.generated, newest, buf);
    }
}

impl SourcePanel<'_> {
    /// "Source" for the generator; a real source says what it is and where it is: "Source ·
    /// stdin · reading", "Source · trace · replaying".
    fn title(&self) -> String {
        let source = &self.snapshot.source;
        let state = match (source.kind, source.state, &source.broker) {
            (SourceType::Trace, SourceState::Reading, _) => "replaying",
            (_, SourceState::Reading, Some(broker)) if !broker.connected => "reconnecting",
            (_, state, _) => state.name(),
        };
        match source.kind {
            SourceType::Generator => "Source".into(),
            kind => format!("Source · {} · {state}", kind.name()),
        }
    }

    fn facts(&self) -> Vec<Line<'static>> {
        let source = &self.snapshot.source;
        let mut lines = match (source.kind, &source.trace, &source.broker) {
            (SourceType::Stdin, _, _) => self.stdin_facts(),
            (SourceType::Trace, Some(trace), _) => self.trace_facts(trace),
            (_, _, Some(broker)) => self.broker_facts(broker),
            _ => return self.generator_facts(),
        };
        lines.push(self.losses());
        if let Some(error) = &source.error {
            lines.push(Line::styled(error.clone(), theme::ERROR));
        }
        lines
    }

    fn achieved(&self) -> Line<'static> {
        Line::from(vec![
            Span::styled("achieved ", theme::LABEL),
            Span::styled(achieved::text(self.snapshot), theme::VALUE),
        ])
    }

    /// Lines read and rejected (lines over the longest accepted).
    fn stdin_facts(&self) -> Vec<Line<'static>> {
        let source = &self.snapshot.source;
        vec![
            self.achieved(),
            Line::from(vec![
                Span::styled("lines ", theme::LABEL),
                Span::styled(format::count(source.lines_read.unwrap_or(0)), theme::VALUE),
                Span::styled("  rejected ", theme::LABEL),
                count_span(source.rejected.unwrap_or(0)),
            ]),
        ]
    }

    /// The broker and the connection; messages received, acked, duplicated and rejected; a
    /// Redis group's lag and pending count.
    fn broker_facts(&self, broker: &BrokerView) -> Vec<Line<'static>> {
        let s = self.snapshot;
        let connection_style = if broker.connected {
            theme::VALUE
        } else {
            theme::WARN
        };
        let mut lines = vec![
            Line::styled(
                broker.group.clone().unwrap_or_else(|| broker.url.clone()),
                theme::VALUE,
            ),
            Line::from(vec![
                Span::styled(connection_text(broker, s.now_ns), connection_style),
                Span::styled("  reconnects ", theme::LABEL),
                Span::styled(format::count(broker.reconnects), theme::VALUE),
            ]),
            Line::from(vec![
                Span::styled("received ", theme::LABEL),
                Span::styled(format::count(broker.received), theme::VALUE),
                Span::styled("  acked ", theme::LABEL),
                Span::styled(format::count(broker.acked), theme::VALUE),
            ]),
            Line::from(vec![
                Span::styled("duplicates ", theme::LABEL),
                Span::styled(format::count(broker.duplicates), theme::VALUE),
                Span::styled("  rejected ", theme::LABEL),
                count_span(s.source.rejected.unwrap_or(0)),
            ]),
        ];
        if let (Some(lag), Some(pending)) = (broker.group_lag, broker.group_pending) {
            lines.push(Line::from(vec![
                Span::styled("group lag ", theme::LABEL),
                Span::styled(format::count(lag), theme::VALUE),
                Span::styled("  pending ", theme::LABEL),
                Span::styled(format::count(pending), theme::VALUE),
            ]));
        }
        lines
    }

    /// The file, the row reached in this pass, and the pass of how many.
    fn trace_facts(&self, trace: &TraceProgress) -> Vec<Line<'static>> {
        let mut progress = vec![
            Span::styled("row ", theme::LABEL),
            Span::styled(
                format!(
                    "{}/{}",
                    format::count(trace.row_in_pass()),
                    format::count(trace.rows)
                ),
                theme::VALUE,
            ),
        ];
        if trace.passes > 1 {
            progress.push(Span::styled("  pass ", theme::LABEL));
            progress.push(Span::styled(
                format!("{}/{}", trace.pass, trace.passes),
                theme::VALUE,
            ));
        }
        vec![
            self.achieved(),
            Line::styled(trace.file_name().to_string(), theme::VALUE),
            Line::from(progress),
        ]
    }

    fn losses(&self) -> Line<'static> {
        let c = &self.snapshot.counters;
        Line::from(vec![
            Span::styled("dropped ", theme::LABEL),
            count_span(c.dropped),
            Span::styled("  failed ", theme::LABEL),
            count_span(c.failed),
        ])
    }

    fn generator_facts(&self) -> Vec<Line<'static>> {
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
            self.losses(),
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
/// (bottom right), so new events push the older ones up and left. When every id fits, they
/// follow the label from the top row, with no blank rows between.
fn render_newest_ids(generated: u64, area: Rect, buf: &mut Buffer) {
    if area.is_empty() {
        return;
    }
    if generated == 0 {
        Paragraph::new(Line::styled("no events yet", theme::DIM)).render(area, buf);
        return;
    }
    let width = usize::from(area.width);
    let rows = usize::from(area.height);
    // Rows from the bottom up, each holding ids newest first; the last row packed is the top one.
    let mut packed: Vec<Vec<u64>> = Vec::new();
    let mut id = generated;
    while id >= 1 && packed.len() < rows {
        let room = width.saturating_sub(if packed.len() + 1 == rows {
            NEWEST_LABEL.len()
        } else {
            0
        });
        let row = pack_row(&mut id, room);
        if row.is_empty() {
            break;
        }
        packed.push(row);
    }
    // Top row first. When every id fit in fewer rows, they start after the label instead.
    packed.reverse();
    if id == 0 && packed.len() < rows {
        packed = repack_from_first(generated, width, rows);
    }
    for (row, y) in packed.iter().zip(area.top()..area.bottom()) {
        let line = newest_line(row, generated, y == area.top());
        Paragraph::new(line).render(
            Rect {
                y,
                height: 1,
                ..area
            },
            buf,
        );
    }
    buf.set_stringn(area.x, area.y, NEWEST_LABEL, width, theme::LABEL);
}

const NEWEST_LABEL: &str = "newest";

/// Takes as many ids as fit `room` cells (" #12" each), counting down from `*id`.
fn pack_row(id: &mut u64, room: usize) -> Vec<u64> {
    let mut row = Vec::new();
    let mut used = 0;
    while *id >= 1 {
        let len = id_text(*id).len();
        if used + len > room {
            break;
        }
        used += len;
        row.push(*id);
        *id -= 1;
    }
    row.reverse();
    row
}

/// Every id from #1 up, packed top-down after the label, in at most `max_rows` rows.
fn repack_from_first(generated: u64, width: usize, max_rows: usize) -> Vec<Vec<u64>> {
    let mut rows: Vec<Vec<u64>> = Vec::new();
    let mut next = 1;
    while next <= generated && rows.len() < max_rows {
        let mut room = width.saturating_sub(if rows.is_empty() {
            NEWEST_LABEL.len()
        } else {
            0
        });
        let mut row = Vec::new();
        while next <= generated && id_text(next).len() <= room {
            room -= id_text(next).len();
            row.push(next);
            next += 1;
        }
        if row.is_empty() {
            break;
        }
        rows.push(row);
    }
    rows
}

fn id_text(id: u64) -> String {
    format!(" #{id}")
}

/// One row of ids, oldest first, the newest highlighted; the top row starts with the label.
fn newest_line(ids: &[u64], generated: u64, top: bool) -> Line<'static> {
    let mut spans = Vec::with_capacity(ids.len() + 1);
    if top {
        spans.push(Span::styled(NEWEST_LABEL, theme::LABEL));
    }
    spans.extend(ids.iter().map(|&event| {
        let style = if event == generated {
            theme::ARRIVALS
        } else {
            theme::DIM
        };
        Span::styled(id_text(event), style)
    }));
    Line::from(spans)
}
