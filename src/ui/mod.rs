//! The screen: lays out the panels and draws one full frame from an [`App`], without a terminal.

pub mod autoscale;
pub mod caption;
pub mod failure;
pub mod finished;
pub mod footer;
pub mod format;
pub mod header;
pub mod help;
pub mod latency;
pub mod queue;
pub mod source;
pub mod theme;
pub mod theory;
pub mod warnings;
pub mod workers;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Widget};

use crate::app::App;
use crate::model::lints;
use crate::model::trend::Trend;
use crate::model::verdict::Verdict;

/// Smallest screen the panels are laid out for; below it only a message shows.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Draws the whole screen for `app`. Reads only: never changes the app.
pub fn draw(frame: &mut Frame, app: &App) {
    render(app, frame.area(), frame.buffer_mut());
}

/// Draws the whole screen into a buffer (what [`draw`] does, for recorders and benches).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        render_too_small(area, buf);
        return;
    }
    let snapshot = app.snapshot();
    let settings = app.settings();
    let areas = ScreenAreas::for_app(app, area);
    header::Header { snapshot, settings }.render(areas.header, buf);
    if let Some(text) = app.caption() {
        caption::CaptionBanner { text }.render(areas.banner, buf);
    }
    let (queue_area, scale_area) = autoscale::split(areas.queue, app.autoscale().is_some());
    queue::QueuePanel {
        snapshot,
        trend: Trend::of(snapshot),
    }
    .render(queue_area, buf);
    source::SourcePanel { snapshot, settings }.render(areas.source, buf);
    if snapshot.state.is_over() {
        finished::FinishedBanner { snapshot }.render(areas.workers, buf);
    } else {
        workers::WorkersPanel::new(snapshot, app.worker_scroll()).render(areas.workers, buf);
    }
    latency::LatencyPanel::new(snapshot, app.latency_kind(), app.latency_window())
        .render(areas.latency, buf);
    let lints = lints::lints(snapshot);
    let [theory_area, warnings_area] = areas.bottom(!lints.is_empty());
    theory::TheoryPanel {
        snapshot,
        verdict: &Verdict::of(snapshot),
        predictions: app.phase_predictions(),
    }
    .render(theory_area, buf);
    warnings::WarningsPanel { lints: &lints }.render(warnings_area, buf);
    let decision = app.autoscale().and_then(autoscale::footer_text);
    footer::Footer {
        notice: app.notice().or(decision.as_deref()),
    }
    .render(areas.footer, buf);
    if let Some(view) = app.autoscale() {
        render_autoscale(app, view, &areas, scale_area, buf);
    }
    if app.help_visible() {
        help::HelpPopup.render(area, buf);
    }
}

/// The policy's parts: its name in the header, desired vs actual over the workers panel, the
/// chart beside the queue's.
fn render_autoscale(
    app: &App,
    view: &crate::model::autoscale::AutoscaleView,
    areas: &ScreenAreas,
    chart: Rect,
    buf: &mut Buffer,
) {
    let snapshot = app.snapshot();
    autoscale::PolicyTag { view }.render(areas.header, buf);
    if !snapshot.state.is_over() {
        let actual = snapshot.workers.len();
        autoscale::WorkersTitle { view, actual }.render(areas.workers, buf);
    }
    autoscale::ScaleChart {
        history: &view.history,
        min_stable: snapshot.theory.min_stable_workers,
    }
    .render(chart, buf);
}

/// The furthest the worker grid can scroll on a screen of `area` (0 when every worker shows).
/// The app clamps its scroll to this before each frame, so scrolling back starts at once.
pub fn max_worker_scroll(app: &App, area: Rect) -> usize {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT || app.snapshot().state.is_over() {
        return 0;
    }
    workers::WorkersPanel::new(app.snapshot(), 0)
        .max_scroll(ScreenAreas::for_app(app, area).workers)
}

/// Where each panel goes on a screen at least MIN_WIDTH x MIN_HEIGHT.
struct ScreenAreas {
    header: Rect,
    /// The caption banner's rows (empty without a caption).
    banner: Rect,
    queue: Rect,
    source: Rect,
    workers: Rect,
    latency: Rect,
    bottom: Rect,
    footer: Rect,
}

impl ScreenAreas {
    /// The areas for `app`'s screen: room for its caption banner, if it has one.
    fn for_app(app: &App, area: Rect) -> Self {
        let banner_height = app
            .caption()
            .map_or(0, |text| caption::CaptionBanner { text }.height(area.width));
        Self::new(area, banner_height)
    }

    fn new(area: Rect, banner_height: u16) -> Self {
        let bottom_height = if area.height >= 28 { 7 } else { 6 };
        let [header, banner, top, middle, bottom, footer] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(banner_height),
            Constraint::Fill(11),
            Constraint::Fill(9),
            Constraint::Length(bottom_height),
            Constraint::Length(1),
        ])
        .areas(area);
        let source_width = (u32::from(area.width) * 34 / 100).clamp(32, 48) as u16;
        let [queue, source] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Length(source_width)]).areas(top);
        let [workers, latency] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(middle);
        Self {
            header,
            banner,
            queue,
            source,
            workers,
            latency,
            bottom,
            footer,
        }
    }

    /// Theory, and warnings beside it when there are any (otherwise an empty rect).
    fn bottom(&self, with_warnings: bool) -> [Rect; 2] {
        if with_warnings {
            // The verdict line is long; lints wrap.
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(self.bottom)
        } else {
            [self.bottom, Rect::ZERO]
        }
    }
}

/// "terminal too small: 79x24, need 80x24 · q quits", centered, at any size down to 0x0.
pub fn render_too_small(area: Rect, buf: &mut Buffer) {
    let text = format!(
        "terminal too small: {}x{}, need {MIN_WIDTH}x{MIN_HEIGHT} · q quits",
        area.width, area.height
    );
    let [row] = Layout::vertical([Constraint::Length(1)])
        .flex(Flex::Center)
        .areas(area);
    Paragraph::new(Line::styled(text, theme::WARN).centered()).render(row, buf);
}

/// A bordered panel with a title, in the theme.
pub fn panel_block(title: &str) -> Block<'static> {
    Block::bordered()
        .border_style(theme::BORDER)
        .title(Span::styled(format!(" {title} "), theme::TITLE))
}

/// A rectangle of at most `width` x `height`, centered in `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

/// Eighths of a cell, for smooth horizontal bars.
const PARTIAL_BLOCKS: [&str; 8] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/// Draws a horizontal bar of `ratio` (0..=1) of `width` cells at (x, y), straight into the buffer
/// (no allocation): full blocks, one partial block, then `rest` symbols.
pub fn hbar(
    buf: &mut Buffer,
    x: u16,
    y: u16,
    width: u16,
    ratio: f64,
    style: Style,
    rest: (&str, Style),
) {
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (ratio * f64::from(width) * 8.0).round() as u32;
    let (full, partial) = ((eighths / 8) as u16, (eighths % 8) as usize);
    for i in 0..width {
        let Some(cell) = buf.cell_mut((x + i, y)) else {
            return;
        };
        if i < full {
            cell.set_symbol("█").set_style(style);
        } else if i == full && partial > 0 {
            cell.set_symbol(PARTIAL_BLOCKS[partial]).set_style(style);
        } else {
            cell.set_symbol(rest.0).set_style(rest.1);
        }
    }
}
