//! The queue panel: the current depth in big digits, its maximum and trend, a chart of depth
//! over time with the forecast's cone right of "now", and arrivals/s against completions/s
//! under it (growth and draining at a glance).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget};

use crate::engine::snapshot::{SeriesPoint, Snapshot};
use crate::model::forecast::{Forecast, Quantiles};
use crate::model::trend::Trend;
use crate::units::round_significant;

use super::format;
use super::theme::{self, symbol};

/// Rates in the chart are averaged over this much model time.
const SMOOTH_NS: u64 = 5_000_000_000;
/// Width of the y-axis labels of both charts, so their x axes line up.
const Y_LABEL_WIDTH: usize = 6;

pub struct QueuePanel<'a> {
    pub snapshot: &'a Snapshot,
    /// The model's queue trend for `snapshot`.
    pub trend: Trend,
}

impl Widget for &QueuePanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.snapshot;
        let block = super::panel_block("Queue");
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        let queued = s.counters.queued;
        let figure_width = (BigNumber::width_of(queued) + 2)
            .clamp(14, 26)
            .min(inner.width);
        let [figure, charts] =
            Layout::horizontal([Constraint::Length(figure_width), Constraint::Min(0)]).areas(inner);
        render_figures(s, self.trend, figure, buf);
        if charts.width >= 12 && charts.height >= 2 {
            QueueCharts {
                series: &s.series,
                interval_ns: s.series_interval_ns,
                arrivals_per_s: s.recent_arrival_rate_per_s,
                completions_per_s: s.recent_throughput_per_s,
                forecast: s.forecast.as_ref().map(|f| Cone::of(f, s.forecast_from_ns)),
            }
            .render_into(charts, buf);
        }
    }
}

/// Big current depth, then "queued", the work queued, the trend and the maximum.
fn render_figures(s: &Snapshot, trend: Trend, area: Rect, buf: &mut Buffer) {
    let queued = s.counters.queued;
    let big = BigNumber { value: queued };
    let big_height = if area.height >= 6 && BigNumber::width_of(queued) <= area.width {
        BigNumber::HEIGHT
    } else {
        0
    };
    let [number, facts] =
        Layout::vertical([Constraint::Length(big_height), Constraint::Min(0)]).areas(area);
    big.render(number, buf);
    let mut lines = Vec::with_capacity(5);
    if big_height == 0 {
        lines.push(Line::styled(format::count(queued), theme::QUEUE_BIG));
    }
    lines.push(Line::styled("queued", theme::QUEUE));
    // The demands drawn at arrival: whether the queue drains is a matter of work, not count.
    lines.push(Line::from(vec![
        Span::styled("work ", theme::LABEL),
        Span::styled(format::duration_with_unit(s.queued_work_ns), theme::VALUE),
    ]));
    lines.push(trend_line(trend));
    lines.push(Line::from(vec![
        Span::styled("max ", theme::LABEL),
        Span::styled(format::count(s.max_queue_depth), theme::VALUE),
    ]));
    lines.push(Line::from(vec![
        Span::styled("in service ", theme::LABEL),
        Span::styled(format::count(s.counters.in_flight), theme::VALUE),
    ]));
    if s.counters.held_at_source > 0 {
        // Arrived, but a full `block` queue keeps them at the source: backlog too.
        lines.push(Line::from(vec![
            Span::styled(
                format!("+{}", format::count(s.counters.held_at_source)),
                theme::ERROR,
            ),
            Span::styled(" at source", theme::LABEL),
        ]));
    }
    Paragraph::new(lines).render(facts, buf);
}

/// The trend with its symbol (without colour, the arrow says which way) and style.
fn trend_line(trend: Trend) -> Line<'static> {
    let (mark, style) = match trend {
        Trend::Unknown => (None, theme::DIM),
        Trend::Steady => (Some(symbol::STEADY), theme::GOOD),
        Trend::Rising { .. } => (Some(symbol::UP), theme::ERROR),
        Trend::Falling { .. } => (Some(symbol::DOWN), theme::GOOD),
    };
    let text = trend.text();
    match mark {
        Some(mark) => Line::styled(format!("{mark} {text}"), style),
        None => Line::styled(text, style),
    }
}

/// A number in 3-row block digits, readable across a room.
pub struct BigNumber {
    pub value: u64,
}

impl BigNumber {
    pub const HEIGHT: u16 = 3;
    /// Rows of each digit, drawn with half blocks (each cell holds two pixel rows).
    const GLYPHS: [[&'static str; 3]; 10] = [
        ["█▀█", "█ █", "▀▀▀"],
        ["▀█ ", " █ ", "▀▀▀"],
        ["▀▀█", "█▀▀", "▀▀▀"],
        ["▀▀█", " ▀█", "▀▀▀"],
        ["█ █", "▀▀█", "  ▀"],
        ["█▀▀", "▀▀█", "▀▀▀"],
        ["█▀▀", "█▀█", "▀▀▀"],
        ["▀▀█", "  █", "  ▀"],
        ["█▀█", "█▀█", "▀▀▀"],
        ["█▀█", "▀▀█", "▀▀▀"],
    ];

    /// Columns needed: 3 per digit and 1 between digits.
    pub fn width_of(value: u64) -> u16 {
        let digits = value.checked_ilog10().unwrap_or(0) as u16 + 1;
        digits * 4 - 1
    }
}

impl Widget for &BigNumber {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.height < BigNumber::HEIGHT || area.width < BigNumber::width_of(self.value) {
            return;
        }
        let digits = self.value.to_string();
        for (i, digit) in digits.bytes().enumerate() {
            let glyph = &BigNumber::GLYPHS[usize::from(digit - b'0')];
            let x = area.x + i as u16 * 4;
            for (row, text) in glyph.iter().enumerate() {
                buf.set_string(x, area.y + row as u16, text, theme::QUEUE_BIG);
            }
        }
    }
}

/// Depth over time on top, arrivals/s and completions/s under it, on the same time axis.
pub struct QueueCharts<'a> {
    pub series: &'a [SeriesPoint],
    /// Model time between samples.
    pub interval_ns: u64,
    /// Rates over the engine's recent window, for the legend (steadier than the last point).
    pub arrivals_per_s: f64,
    pub completions_per_s: f64,
    /// The forecast's p10 / p50 / p90 backlog, drawn right of the last sample.
    pub forecast: Option<Cone>,
}

/// A forecast's backlog path as chart points: (model s since the run began, backlog).
pub struct Cone {
    pub p10: Vec<(f64, f64)>,
    pub p50: Vec<(f64, f64)>,
    pub p90: Vec<(f64, f64)>,
    /// Model s the forecast ends.
    pub end_s: f64,
}

impl Cone {
    pub fn of(f: &Forecast, from_ns: u64) -> Self {
        let from_s = from_ns as f64 / 1e9;
        let line = |q: fn(&Quantiles) -> f64| -> Vec<(f64, f64)> {
            f.path
                .iter()
                .map(|p| (from_s + p.t_s, q(&p.backlog)))
                .collect()
        };
        Self {
            p10: line(|q| q.p10),
            p50: line(|q| q.p50),
            p90: line(|q| q.p90),
            end_s: from_s + f.horizon_s,
        }
    }

    fn peak(&self) -> f64 {
        self.p90.iter().map(|p| p.1).fold(0.0, f64::max)
    }
}

impl QueueCharts<'_> {
    fn render_into(&self, area: Rect, buf: &mut Buffer) {
        if self.series.len() < 2 {
            Paragraph::new(Line::styled("waiting for samples…", theme::DIM)).render(area, buf);
            return;
        }
        let [depth_area, rates_area] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        // Two plot pixels per column (Braille): more points than that only cost time.
        let max_points =
            usize::from(area.width.saturating_sub(Y_LABEL_WIDTH as u16 + 1)).max(1) * 2;
        let depth = downsample(
            self.series,
            max_points,
            1,
            |p| p.queue_depth as f64,
            Combine::Max,
        );
        // Rates are per sample (250 ms): one event at 1/s reads as 4/s then 0. Averaging over
        // a few seconds shows the rate a person would quote.
        let smooth = (SMOOTH_NS / self.interval_ns.max(1)).max(1) as usize;
        let arrivals = downsample(
            self.series,
            max_points,
            smooth,
            |p| p.arrivals_per_s,
            Combine::Mean,
        );
        let completions = downsample(
            self.series,
            max_points,
            smooth,
            |p| p.completions_per_s,
            Combine::Mean,
        );
        let now_s = t_s(&self.series[self.series.len() - 1]);
        // The future, when forecast, takes the right of both charts (their x axes line up).
        let end_s = self.forecast.as_ref().map_or(now_s, |c| c.end_s.max(now_s));
        let x_bounds = [t_s(&self.series[0]), end_s];
        self.render_depth(&depth, x_bounds, depth_area, buf);
        let legend = (self.arrivals_per_s, self.completions_per_s);
        render_rates(&arrivals, &completions, legend, x_bounds, rates_area, buf);
    }

    fn render_depth(&self, depth: &[(f64, f64)], x_bounds: [f64; 2], area: Rect, buf: &mut Buffer) {
        let peak = depth.iter().map(|p| p.1).fold(0.0, f64::max);
        let [legend, plot] = split_legend(area);
        let mut words = Line::from(vec![
            Span::styled("⣿ queue depth", theme::QUEUE),
            Span::styled(format!("  peak {}", format::compact(peak)), theme::DIM),
        ]);
        if self.forecast.is_some() {
            // Each part only if it fits whole, and the band's words only after the median's.
            for part in [
                Span::styled("  ⠒ forecast", theme::FORECAST),
                Span::styled(" p10-p90", theme::FORECAST_BAND),
            ] {
                if words.width() + part.width() > usize::from(legend.width) {
                    break;
                }
                words.push_span(part);
            }
        }
        Paragraph::new(words).render(legend, buf);
        let y_top = nice_ceiling(self.forecast.as_ref().map_or(peak, |c| c.peak().max(peak)));
        let now = [(depth.last().map_or(x_bounds[0], |p| p.0), 0.0)];
        let now_line = self.forecast.as_ref().map(|_| [now[0], (now[0].0, y_top)]);
        let mut datasets = vec![line(depth, theme::QUEUE)];
        if let (Some(cone), Some(now_line)) = (&self.forecast, &now_line) {
            // The band first, so the median drawn over it stays whole.
            datasets.push(line(now_line, theme::DIM));
            datasets.push(line(&cone.p10, theme::FORECAST_BAND));
            datasets.push(line(&cone.p90, theme::FORECAST_BAND));
            datasets.push(line(&cone.p50, theme::FORECAST));
        }
        Chart::new(datasets)
            .x_axis(Axis::default().bounds(x_bounds))
            .y_axis(
                Axis::default()
                    .bounds([0.0, y_top])
                    .labels([pad(0.0), pad(y_top)])
                    .style(theme::DIM),
            )
            .legend_position(None)
            .render(plot, buf);
    }
}

/// A Braille line through `points`.
pub(super) fn line(points: &[(f64, f64)], style: ratatui::style::Style) -> Dataset<'_> {
    Dataset::default()
        .data(points)
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(style)
}

/// Arrivals (Braille line) and completions (a line of dots): different marks and the rates in
/// words, so they read without colour.
fn render_rates(
    arrivals: &[(f64, f64)],
    completions: &[(f64, f64)],
    (arrivals_per_s, completions_per_s): (f64, f64),
    x_bounds: [f64; 2],
    area: Rect,
    buf: &mut Buffer,
) {
    let (low, high) = arrivals
        .iter()
        .chain(completions)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
            (lo.min(p.1), hi.max(p.1))
        });
    let [legend, plot] = split_legend(area);
    Paragraph::new(Line::from(vec![
        Span::styled(
            format!("⠤ arrivals {}", format::per_s(arrivals_per_s)),
            theme::ARRIVALS,
        ),
        Span::styled(
            format!("  • done {}", format::per_s(completions_per_s)),
            theme::COMPLETIONS,
        ),
    ]))
    .render(legend, buf);
    let y_bounds = zoomed_bounds(low, high);
    let x_axis = time_axis(x_bounds, plot.height);
    // Completions first: where the two meet, the arrivals line drawn last stays visible.
    Chart::new(vec![
        Dataset::default()
            .data(completions)
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(theme::COMPLETIONS),
        Dataset::default()
            .data(arrivals)
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme::ARRIVALS),
    ])
    .x_axis(x_axis)
    .y_axis(
        Axis::default()
            .bounds(y_bounds)
            .labels([pad(y_bounds[0]), pad(y_bounds[1])])
            .style(theme::DIM),
    )
    .legend_position(None)
    .render(plot, buf);
}

/// The time axis; labelled only when there is room for them under a useful plot.
fn time_axis(x_bounds: [f64; 2], plot_height: u16) -> Axis<'static> {
    let axis = Axis::default().bounds(x_bounds);
    if plot_height < 4 {
        return axis;
    }
    axis.labels([
        format::clock(secs_ns(x_bounds[0])),
        format::clock(secs_ns(x_bounds[1])),
    ])
    .style(theme::DIM)
}

/// One line of legend above a chart, when the chart keeps at least two rows.
fn split_legend(area: Rect) -> [Rect; 2] {
    let legend_height = u16::from(area.height >= 3);
    Layout::vertical([Constraint::Length(legend_height), Constraint::Min(0)]).areas(area)
}

/// How the samples of one group become one point.
#[derive(Clone, Copy)]
enum Combine {
    /// Keeps spikes visible (queue depth).
    Max,
    /// Smooths (rates).
    Mean,
}

/// At most `max_points` (t seconds, value) points, each from a group of at least `min_group`
/// samples.
fn downsample(
    series: &[SeriesPoint],
    max_points: usize,
    min_group: usize,
    value: impl Fn(&SeriesPoint) -> f64,
    combine: Combine,
) -> Vec<(f64, f64)> {
    let group = series
        .len()
        .div_ceil(max_points.max(1))
        .max(min_group)
        .max(1);
    // Groups end at the newest sample, so the latest point is a full group too.
    series
        .rchunks(group)
        .rev()
        .map(|chunk| {
            let values = chunk.iter().map(&value);
            let v = match combine {
                Combine::Max => values.fold(0.0, f64::max),
                Combine::Mean => values.sum::<f64>() / chunk.len() as f64,
            };
            (t_s(&chunk[chunk.len() - 1]), v)
        })
        .collect()
}

fn t_s(p: &SeriesPoint) -> f64 {
    p.t_ns as f64 / 1e9
}

fn secs_ns(s: f64) -> u64 {
    (s.max(0.0) * 1e9) as u64
}

/// A y-axis top at or above `v`: 1, 2 or 5 times a power of ten, so labels are round.
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|top| *top >= v)
        .unwrap_or(10.0 * magnitude)
}

/// Y bounds around the rates, rounded to a step of their spread: on a chart a few rows high,
/// 1/s against 0.8/s must land on different rows. Starts at 0 when the rates vary a lot.
fn zoomed_bounds(low: f64, high: f64) -> [f64; 2] {
    if !(high.is_finite() && high > 0.0) {
        return [0.0, 1.0];
    }
    let low = if low.is_finite() { low.max(0.0) } else { 0.0 };
    let spread = (high - low).max(high * 0.1);
    let step = 10f64.powf(spread.log10().floor());
    let top = ((high + spread * 0.1) / step).ceil() * step;
    let bottom = if low < 0.5 * high {
        0.0
    } else {
        ((low - spread * 0.1) / step).floor() * step
    };
    // Multiples of 0.1 carry float noise (0.7000000000000001): trim it.
    [
        round_significant(bottom.max(0.0), 6),
        round_significant(top, 6),
    ]
}

fn pad(v: f64) -> String {
    format!("{:>width$}", format::compact(v), width = Y_LABEL_WIDTH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_bounds_separate_close_rates() {
        assert_eq!(zoomed_bounds(0.8, 1.0), [0.7, 1.1]);
        assert_eq!(zoomed_bounds(0.0, 4.0), [0.0, 5.0]);
        assert_eq!(zoomed_bounds(50.0, 50.0), [49.0, 51.0]);
        assert_eq!(zoomed_bounds(f64::INFINITY, 0.0), [0.0, 1.0]);
    }

    #[test]
    fn big_number_width() {
        assert_eq!(BigNumber::width_of(0), 3);
        assert_eq!(BigNumber::width_of(37), 7);
        assert_eq!(BigNumber::width_of(100_000), 23);
    }
}
