//! The chart under the table: p99 and mean wait against the swept value, measured (with the
//! p99's 95% interval) and predicted, drawn with the monitor's chart widget and theme into a
//! buffer, then printed: in colour on a terminal, plain text otherwise.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget};

use super::point::Point;
use crate::ui::theme;
use crate::units;

/// What the chart plots, in the chart's units (x: the swept value; y: seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartData {
    /// "workers" or "rate (/s)".
    pub x_name: &'static str,
    pub p99: Vec<(f64, f64)>,
    /// Each measured p99's 95% interval, a vertical segment.
    pub p99_ci: Vec<[(f64, f64); 2]>,
    pub mean: Vec<(f64, f64)>,
    pub predicted_p99: Vec<(f64, f64)>,
    pub predicted_mean: Vec<(f64, f64)>,
    /// Swept values of the overloaded points (their waits grow without bound).
    pub overloaded: Vec<f64>,
}

impl ChartData {
    /// The points of a sweep along one parameter: workers if they vary, else the rate.
    /// `None` for a two-parameter grid (the SVG and the JSON show those).
    pub fn of(points: &[Point]) -> Option<Self> {
        let first = points.first()?;
        let varies = |f: fn(&Point) -> f64| points.iter().any(|p| f(p) != f(first));
        let by_workers = varies(|p| p.workers as f64);
        if by_workers && varies(|p| p.rate_per_s) {
            return None;
        }
        let (x_name, x): (&'static str, fn(&Point) -> f64) =
            if by_workers || !varies(|p| p.rate_per_s) {
                ("workers", |p| p.workers as f64)
            } else {
                ("rate (/s)", |p| p.rate_per_s)
            };
        let s = |ms: f64| ms / 1e3;
        let mut data = ChartData {
            x_name,
            ..ChartData::default()
        };
        for p in points {
            let (m, pr) = (&p.measured.figures, &p.predicted.figures);
            if p.overloaded {
                data.overloaded.push(x(p));
                continue;
            }
            if let Some(v) = m.p99_wait_ms {
                data.p99.push((x(p), s(v)));
            }
            if let Some([lo, hi]) = m.p99_wait_ms_ci95 {
                data.p99_ci.push([(x(p), s(lo)), (x(p), s(hi))]);
            }
            if let Some(v) = m.mean_wait_ms {
                data.mean.push((x(p), s(v)));
            }
            if let Some(v) = pr.p99_wait_ms {
                data.predicted_p99.push((x(p), s(v)));
            }
            if let Some(v) = pr.mean_wait_ms {
                data.predicted_mean.push((x(p), s(v)));
            }
        }
        Some(data)
    }

    /// The x range, widened a little when it is a single value.
    pub fn x_bounds(&self) -> [f64; 2] {
        let xs = self
            .p99
            .iter()
            .chain(&self.predicted_p99)
            .map(|p| p.0)
            .chain(self.overloaded.iter().copied());
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
        if !lo.is_finite() {
            return [0.0, 1.0];
        }
        if hi - lo < 1e-9 {
            [lo - 1.0, hi + 1.0]
        } else {
            [lo, hi]
        }
    }

    /// The top of the y axis, seconds: a round value above everything drawn.
    pub fn y_top_s(&self) -> f64 {
        let top = self
            .p99_ci
            .iter()
            .map(|bar| bar[1])
            .chain(self.p99.iter().copied())
            .chain(self.predicted_p99.iter().copied())
            .chain(self.mean.iter().copied())
            .map(|p| p.1)
            .fold(0.0, f64::max);
        nice_ceiling(top)
    }
}

/// 1, 2 or 5 times a power of ten at or above `v` (for round axis labels).
pub fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|top| *top >= v * (1.0 + 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// The chart widget: borrows what it draws.
pub struct WaitChart<'a> {
    pub data: &'a ChartData,
}

impl Widget for &WaitChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 20 || area.height < 5 {
            return;
        }
        let [legend, plot] =
            Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(area);
        Paragraph::new(legend_lines(self.data)).render(legend, buf);
        let d = self.data;
        let top = d.y_top_s();
        let overloaded: Vec<(f64, f64)> = d.overloaded.iter().map(|&x| (x, top)).collect();
        let mut datasets = vec![
            line(&d.predicted_mean, Marker::Braille, theme::DIM),
            line(&d.predicted_p99, Marker::Braille, theme::FORECAST),
        ];
        datasets.extend(
            d.p99_ci
                .iter()
                .map(|bar| line(bar, Marker::Braille, theme::P99)),
        );
        datasets.push(scatter(&d.mean, Marker::Dot, theme::HISTOGRAM));
        datasets.push(scatter(&d.p99, Marker::Block, theme::P99));
        datasets.push(scatter(&overloaded, Marker::Bar, theme::ERROR));
        let [x_lo, x_hi] = d.x_bounds();
        let x_label = units::compact;
        Chart::new(datasets)
            .x_axis(
                Axis::default()
                    .bounds([x_lo, x_hi])
                    .labels([x_label(x_lo), x_label((x_lo + x_hi) / 2.0), x_label(x_hi)])
                    .style(theme::DIM),
            )
            .y_axis(
                Axis::default()
                    .bounds([0.0, top])
                    .labels([
                        "0".to_string(),
                        units::duration_s(top / 2.0),
                        units::duration_s(top),
                    ])
                    .style(theme::DIM),
            )
            .legend_position(None)
            .render(plot, buf);
    }
}

/// What each mark is, in words, so the chart reads without colour.
fn legend_lines(d: &ChartData) -> Vec<Line<'static>> {
    let mut first = vec![
        Span::styled(format!("queue wait against {}:  ", d.x_name), theme::LABEL),
        Span::styled("█ p99 measured, ⡇ its 95% CI  ", theme::P99),
        Span::styled("• mean measured", theme::HISTOGRAM),
    ];
    if d.p99.is_empty() && d.mean.is_empty() {
        first.push(Span::styled("  (no stable point)", theme::DIM));
    }
    let mut second = vec![
        Span::styled("⠒ p99 predicted  ", theme::FORECAST),
        Span::styled("⠤ mean predicted", theme::DIM),
    ];
    if !d.overloaded.is_empty() {
        second.push(Span::styled(
            "  ▄ overloaded (grows without bound)",
            theme::ERROR,
        ));
    }
    vec![Line::from(first), Line::from(second)]
}

fn line<'a>(points: &'a [(f64, f64)], marker: Marker, style: ratatui::style::Style) -> Dataset<'a> {
    Dataset::default()
        .data(points)
        .marker(marker)
        .graph_type(GraphType::Line)
        .style(style)
}

fn scatter<'a>(
    points: &'a [(f64, f64)],
    marker: Marker,
    style: ratatui::style::Style,
) -> Dataset<'a> {
    Dataset::default()
        .data(points)
        .marker(marker)
        .graph_type(GraphType::Scatter)
        .style(style)
}

/// The chart drawn `width` × `height`, as lines of text: with ANSI colours if `colour`.
pub fn text(data: &ChartData, width: u16, height: u16, colour: bool) -> String {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    (&WaitChart { data }).render(area, &mut buf);
    buffer_text(&buf, colour)
}

/// A buffer's cells row by row, trailing blanks trimmed.
pub fn buffer_text(buf: &Buffer, colour: bool) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut row = String::new();
        let mut current: Option<u8> = None;
        for x in 0..buf.area.width {
            let cell = &buf[(x, y)];
            let code = ansi(cell.fg).filter(|_| colour && cell.symbol() != " ");
            if code != current {
                row.push_str(&match code {
                    Some(c) => format!("\x1b[{c}m"),
                    None => "\x1b[0m".to_string(),
                });
                current = code;
            }
            row.push_str(cell.symbol());
        }
        if current.is_some() {
            row.push_str("\x1b[0m");
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
    out
}

/// The ANSI foreground code of a 16-colour theme colour.
fn ansi(color: Color) -> Option<u8> {
    Some(match color {
        Color::Black => 30,
        Color::Red => 31,
        Color::Green => 32,
        Color::Yellow => 33,
        Color::Blue => 34,
        Color::Magenta => 35,
        Color::Cyan => 36,
        Color::Gray => 37,
        Color::DarkGray => 90,
        Color::LightRed => 91,
        Color::LightGreen => 92,
        Color::LightYellow => 93,
        Color::LightBlue => 94,
        Color::LightMagenta => 95,
        Color::LightCyan => 96,
        Color::White => 97,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_tops() {
        assert_eq!(nice_ceiling(1.25), 2.0);
        assert_eq!(nice_ceiling(4.3), 5.0);
        assert_eq!(nice_ceiling(0.03), 0.05);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn tiny_areas_draw_nothing_and_do_not_panic() {
        let data = ChartData {
            p99: vec![(1.0, 1.0)],
            ..ChartData::default()
        };
        for (w, h) in [(0, 0), (1, 1), (19, 30), (80, 4)] {
            let text = text(&data, w, h, false);
            assert!(
                text.chars().all(|c| c == '\n' || c == ' '),
                "{w}x{h}: {text}"
            );
        }
    }
}
