//! The latency panel: a log-bucket histogram of the selected latency (queue wait, service or
//! end-to-end) beside its percentiles, for the recent window or the whole run.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::LatencyWindow;
use crate::engine::snapshot::{LatencyKind, LatencySummary, Snapshot};
use crate::model::overhead::EngineOverhead;
use crate::model::theory::{Method, WaitPercentiles};

use super::format;
use super::theme;

/// Columns of the percentile table ("p99.9 12.3ms").
const PERCENTILES_WIDTH: u16 = 15;
/// ...with the theory's column beside ("p99   85.0ms   80.1ms").
const PERCENTILES_THEORY_WIDTH: u16 = 23;
/// Narrower than this beside the percentiles, the histogram is dropped.
const MIN_HISTOGRAM_WIDTH: u16 = 20;

pub struct LatencyPanel<'a> {
    pub summary: &'a LatencySummary,
    pub kind: LatencyKind,
    pub window: LatencyWindow,
    pub recent_window_ns: u64,
    /// At `--speed` > 1: how much of a wait is the engine's own (`model::overhead`).
    pub overhead_note: Option<String>,
    /// The predicted queue-wait percentiles (queue wait only, where theory gives them).
    pub theory: Option<WaitPercentiles>,
}

impl<'a> LatencyPanel<'a> {
    pub fn new(snapshot: &'a Snapshot, kind: LatencyKind, window: LatencyWindow) -> Self {
        let set = match window {
            LatencyWindow::Recent => &snapshot.recent_latency,
            LatencyWindow::WholeRun => &snapshot.latency,
        };
        Self {
            summary: set.get(kind),
            kind,
            window,
            // The engine's window reaches back half a window before its start: never show more
            // than the statistics cover.
            recent_window_ns: snapshot
                .recent_window_ns
                .min(snapshot.now_ns.saturating_sub(snapshot.stats_since_ns)),
            overhead_note: EngineOverhead::note(snapshot),
            theory: snapshot
                .theory
                .wait_percentiles
                .filter(|_| kind == LatencyKind::QueueWait),
        }
    }

    fn title(&self) -> String {
        let window = match self.window {
            LatencyWindow::Recent => format!("last {}", window_extent(self.recent_window_ns)),
            LatencyWindow::WholeRun => "whole run".to_string(),
        };
        format!("Latency: {} · {window}", self.kind.name())
    }
}

/// A window's extent, rounded down so it never claims more than it covers: whole seconds from
/// 10 s, tenths below, one significant digit below a second (`12s`, `6.7s`, `400ms`).
fn window_extent(ns: u64) -> String {
    const SECOND_NS: u64 = 1_000_000_000;
    let step = match ns {
        0 => return "0s".into(),
        n if n >= 10 * SECOND_NS => SECOND_NS,
        n if n >= SECOND_NS => SECOND_NS / 10,
        n => 10u64.pow(n.ilog10()),
    };
    format::duration_ns(ns / step * step)
}

impl Widget for &LatencyPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = super::panel_block(&self.title());
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let inner = match &self.overhead_note {
            Some(note) if inner.height >= 3 => {
                let [body, foot] =
                    Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
                Paragraph::new(Line::styled(note.as_str(), theme::DIM)).render(foot, buf);
                body
            }
            _ => inner,
        };
        if self.summary.count == 0 {
            Paragraph::new(vec![
                Line::styled("no events measured yet", theme::DIM),
                Line::styled("tab: kind · v: window", theme::DIM),
            ])
            .render(inner, buf);
            return;
        }
        // The theory's column where there is room for it beside a histogram (or alone).
        let theory = self.theory.filter(|_| {
            inner.width >= PERCENTILES_THEORY_WIDTH + 3 + MIN_HISTOGRAM_WIDTH
                || inner.width < PERCENTILES_WIDTH + 3 + MIN_HISTOGRAM_WIDTH
                    && inner.width >= PERCENTILES_THEORY_WIDTH
        });
        let table_width = if theory.is_some() {
            PERCENTILES_THEORY_WIDTH
        } else {
            PERCENTILES_WIDTH
        };
        let with_histogram = inner.width >= table_width + 3 + MIN_HISTOGRAM_WIDTH;
        if with_histogram {
            let [histogram, separator, table] = Layout::horizontal([
                Constraint::Min(0),
                Constraint::Length(3),
                Constraint::Length(table_width),
            ])
            .areas(inner);
            Histogram {
                summary: self.summary,
            }
            .render(histogram, buf);
            for y in separator.top()..separator.bottom() {
                buf.set_string(separator.x + 1, y, "│", theme::BORDER);
            }
            Percentiles {
                summary: self.summary,
                theory,
            }
            .render(table, buf);
        } else {
            Percentiles {
                summary: self.summary,
                theory,
            }
            .render(inner, buf);
        }
    }
}

/// p50, p90, p99, p99.9, max, mean and count, one per row (as many as fit); with a theory,
/// its p50, p90 and p99 in a column beside, under a header naming the columns.
pub struct Percentiles<'a> {
    pub summary: &'a LatencySummary,
    pub theory: Option<WaitPercentiles>,
}

impl Widget for Percentiles<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.summary;
        let theory = self.theory;
        let row = |label: &'static str, value: String, style: Style| {
            let predicted = match (theory, label) {
                (Some(t), "p50") => Some(t.p50_s),
                (Some(t), "p90") => Some(t.p90_s),
                (Some(t), "p99") => Some(t.p99_s),
                _ => None,
            };
            let mut spans = vec![
                Span::styled(format!("{label:<6}"), theme::LABEL),
                Span::styled(format!("{value:<8}"), style),
            ];
            if let Some(seconds) = predicted {
                let ns = (seconds * 1e9) as u64;
                spans.push(Span::styled(
                    format!(" {}", format::duration_with_unit(ns)),
                    theme::FORECAST,
                ));
            }
            Line::from(spans)
        };
        let mut lines = Vec::new();
        if let Some(t) = theory {
            let column = match t.method {
                Method::Simulated => "twin",
                _ => "theory",
            };
            lines.push(Line::styled(
                format!("{:<6}{:<8} {column}", "", "measured"),
                theme::DIM,
            ));
        }
        // Most telling first: a short panel keeps p50/p99/max.
        lines.extend([
            row("p50", format::duration_with_unit(s.p50_ns), theme::VALUE),
            row(
                "p99",
                format::duration_with_unit(s.p99_ns),
                theme::P99.patch(theme::VALUE),
            ),
            row("max", format::duration_with_unit(s.max_ns), theme::VALUE),
            row("p90", format::duration_with_unit(s.p90_ns), theme::VALUE),
            row(
                "mean",
                format::duration_with_unit(s.mean_ns.max(0.0) as u64),
                theme::VALUE,
            ),
            row("p99.9", format::duration_with_unit(s.p999_ns), theme::VALUE),
            row("n", format::count(s.count), theme::DIM),
        ]);
        Paragraph::new(lines).render(area, buf);
    }
}

/// One horizontal bar per log bucket, labelled with the bucket's upper bound; buckets are
/// merged in pairs until they fit the rows.
pub struct Histogram<'a> {
    pub summary: &'a LatencySummary,
}

impl Histogram<'_> {
    const LABEL_WIDTH: u16 = 8; // "≤16.8ms "
}

impl Widget for Histogram<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let buckets = merge_to_fit(&self.summary.buckets, usize::from(area.height));
        let peak = buckets.iter().map(|b| b.1).max().unwrap_or(0).max(1);
        let count_width = format::count(peak).len() as u16 + 1;
        let marker_width = 5; // " ◂p99"
        let bar_width = area
            .width
            .saturating_sub(Self::LABEL_WIDTH + count_width + marker_width);
        for (&(upper_ns, count), y) in buckets.iter().zip(area.top()..area.bottom()) {
            let label = format!("≤{}", format::duration_ns(upper_ns));
            buf.set_stringn(
                area.x,
                y,
                &label,
                usize::from(Self::LABEL_WIDTH),
                theme::LABEL,
            );
            let x = area.x + Self::LABEL_WIDTH;
            super::hbar(
                buf,
                x,
                y,
                bar_width,
                count as f64 / peak as f64,
                theme::HISTOGRAM,
                (" ", Style::new()),
            );
            let x = x + bar_width;
            let text = format!("{:>w$}", format::count(count), w = usize::from(count_width));
            buf.set_stringn(x, y, &text, usize::from(count_width), theme::DIM);
            let marker = bucket_marker(self.summary, &buckets, upper_ns);
            buf.set_stringn(
                x + count_width,
                y,
                marker,
                usize::from(marker_width),
                theme::P99,
            );
        }
    }
}

/// " ◂p99" on the bucket that holds the p99, " ◂p50" on the one with the median.
fn bucket_marker(s: &LatencySummary, buckets: &[(u64, u64)], upper_ns: u64) -> &'static str {
    let holds = |v: u64| buckets.iter().find(|b| v <= b.0).map(|b| b.0) == Some(upper_ns);
    if holds(s.p99_ns) {
        " ◂p99"
    } else if holds(s.p50_ns) {
        " ◂p50"
    } else {
        ""
    }
}

/// Halves the number of buckets (each pair summed, keeping the upper bound) until they fit.
fn merge_to_fit(buckets: &[(u64, u64)], rows: usize) -> Vec<(u64, u64)> {
    let mut merged = buckets.to_vec();
    while merged.len() > rows.max(1) {
        merged = merged
            .chunks(2)
            .map(|pair| (pair[pair.len() - 1].0, pair.iter().map(|b| b.1).sum()))
            .collect();
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_counts_and_upper_bounds() {
        let buckets: Vec<(u64, u64)> = (0..5).map(|i| (1000 << i, i + 1)).collect();
        let merged = merge_to_fit(&buckets, 2);
        assert_eq!(merged, vec![(8000, 10), (16000, 5)]);
        assert_eq!(merge_to_fit(&buckets, 10), buckets);
    }
}
