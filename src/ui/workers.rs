//! The workers panel: one row per worker (state, event held, progress bar, utilization,
//! completed) when they fit, else a grid with one cell per worker, scrolled if needed; under
//! them, the last failure (see `failure`).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::engine::snapshot::{LastFailure, Snapshot, WorkerActivity, WorkerView};

use super::failure::FailureLines;
use super::format;
use super::theme::{self, symbol};

pub struct WorkersPanel<'a> {
    pub workers: &'a [WorkerView],
    /// Model time, to compute each busy worker's progress.
    pub now_ns: u64,
    /// First grid row shown when the grid does not fit.
    pub scroll: usize,
    /// Shown under the workers, in at most half the rows.
    pub last_failure: Option<&'a LastFailure>,
}

impl<'a> WorkersPanel<'a> {
    pub fn new(snapshot: &'a Snapshot, scroll: usize) -> Self {
        Self {
            workers: &snapshot.workers,
            now_ns: snapshot.now_ns,
            scroll,
            last_failure: snapshot.last_failure.as_ref(),
        }
    }

    /// The rows for the workers, and below them the rows for the last failure (none without
    /// one): the rows the workers' own rows leave, or half when they are in a grid anyway.
    fn split(&self, inner: Rect) -> (Rect, Rect) {
        let rows = self.last_failure.map_or(0, |failure| {
            let wanted = FailureLines { failure }.wanted_rows();
            if self.grid(inner).is_some() {
                wanted.min(inner.height / 2)
            } else {
                wanted.min(inner.height.saturating_sub(self.workers.len() as u16))
            }
        });
        let workers = Rect {
            height: inner.height - rows,
            ..inner
        };
        let failure = Rect {
            y: workers.bottom(),
            height: rows,
            ..inner
        };
        (workers, failure)
    }
}

impl Widget for &WorkersPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let busy = self
            .workers
            .iter()
            .filter(|w| matches!(w.activity, WorkerActivity::Busy { .. }))
            .count();
        let title = format!("Workers  {busy}/{} busy", self.workers.len());
        let mut block = super::panel_block(&title);
        let (inner, failure_area) = self.split(block.inner(area));
        if let Some(failure) = self.last_failure {
            if failure_area.is_empty() {
                // No row to spare: the failure goes in the bottom border.
                block = block.title_bottom(FailureLines { failure }.status());
            }
        }
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        if let Some(failure) = self.last_failure {
            FailureLines { failure }.render(failure_area, buf);
        }
        if self.workers.is_empty() {
            Paragraph::new(Line::styled("no workers", theme::DIM)).render(inner, buf);
        } else if let Some(grid) = self.grid(inner) {
            grid.render(inner, buf);
        } else {
            self.render_rows(inner, buf);
        }
    }
}

impl WorkersPanel<'_> {
    /// The grid, when one row per worker does not fit in `inner`.
    fn grid(&self, inner: Rect) -> Option<WorkerGrid<'_>> {
        let rows_fit = self.workers.len() <= usize::from(inner.height) && inner.width >= 24;
        (!rows_fit).then_some(WorkerGrid {
            workers: self.workers,
            now_ns: self.now_ns,
            scroll: self.scroll,
        })
    }

    /// The furthest the grid can scroll in a panel drawn in `area` (0 when all is shown).
    pub fn max_scroll(&self, area: Rect) -> usize {
        let (inner, _) = self.split(super::panel_block("").inner(area));
        self.grid(inner)
            .map_or(0, |grid| grid.layout(inner).max_scroll)
    }
}

/// Column widths of the row view, computed once per frame from the widest values.
struct RowColumns {
    id: u16,
    state: u16,
    event: u16,
    /// Utilization and completed count on the right, or 0 when too narrow for them.
    stats: u16,
    done: u16,
}

impl RowColumns {
    const STATE: u16 = 10; // "× retiring"
    const UTIL: u16 = 5; // " 100%"

    fn fit(workers: &[WorkerView], width: u16) -> Self {
        let max_id = workers.iter().map(|w| w.id).max().unwrap_or(0);
        let max_event = workers
            .iter()
            .filter_map(|w| match w.activity {
                WorkerActivity::Busy { event, .. } => Some(event),
                WorkerActivity::Idle => None,
            })
            .max()
            .unwrap_or(0);
        let max_done = workers.iter().map(|w| w.completed).max().unwrap_or(0);
        let id = digits(u64::from(max_id)) + 2;
        // "ev 123 ", and never narrower than its name and a space ("event ").
        let event = (digits(max_event) + 4).max(6);
        let done = (format::count(max_done).len() as u16).max(4) + 1;
        let mut columns = Self {
            id,
            state: Self::STATE,
            event,
            stats: Self::UTIL + done,
            done,
        };
        // Keep at least 8 cells of progress bar; drop the stats first.
        if columns.bar_width(width) < 8 {
            columns.stats = 0;
        }
        columns
    }

    fn bar_width(&self, width: u16) -> u16 {
        width.saturating_sub(self.id + self.state + self.event + self.stats + 5)
    }
}

impl WorkersPanel<'_> {
    fn render_rows(&self, area: Rect, buf: &mut Buffer) {
        let columns = RowColumns::fit(self.workers, area.width);
        let bar_width = columns.bar_width(area.width);
        let mut rows = area;
        // Column names when there is a spare row for them.
        if self.workers.len() < usize::from(area.height) {
            render_column_names(&columns, bar_width, Rect { height: 1, ..area }, buf);
            rows.y += 1;
            rows.height -= 1;
        }
        for (worker, y) in self.workers.iter().zip(rows.top()..rows.bottom()) {
            self.render_row(
                worker,
                &columns,
                bar_width,
                Rect {
                    y,
                    height: 1,
                    ..area
                },
                buf,
            );
        }
    }

    /// "#3  ● busy     ev 118  ████▌····  62%   97%   12"
    fn render_row(
        &self,
        w: &WorkerView,
        c: &RowColumns,
        bar_width: u16,
        row: Rect,
        buf: &mut Buffer,
    ) {
        let (mark, state, style) = describe(w);
        let mut cursor = Cursor { x: row.x, y: row.y };
        cursor.put(buf, &format!("#{}", w.id), c.id, theme::LABEL);
        cursor.put(buf, &format!("{mark} {state}"), c.state, style);
        match (w.activity, w.progress(self.now_ns)) {
            (WorkerActivity::Busy { event, .. }, Some(progress)) => {
                cursor.put(buf, &format!("ev {event}"), c.event, theme::VALUE);
                super::hbar(
                    buf,
                    cursor.x,
                    row.y,
                    bar_width,
                    progress,
                    theme::PROGRESS,
                    ("·", theme::PROGRESS_REST),
                );
                if let Some(ran_ns) = w.stretched_ns(self.now_ns) {
                    put_right(buf, cursor.x, row.y, bar_width, &wall_text(ran_ns));
                }
                cursor.x += bar_width;
                cursor.put(
                    buf,
                    &format!("{:>4}", format::percent(progress)),
                    5,
                    theme::VALUE,
                );
            }
            _ => cursor.x += c.event + bar_width + 5,
        }
        if c.stats > 0 {
            cursor.put(
                buf,
                &format!("{:>4}", format::percent(w.utilization())),
                RowColumns::UTIL,
                theme::DIM,
            );
            let done = format::count(w.completed);
            cursor.put(
                buf,
                &format!("{done:>width$}", width = usize::from(c.done)),
                c.done,
                theme::DIM,
            );
        }
    }
}

/// "id  state     event  progress         util  done", aligned with the rows.
fn render_column_names(c: &RowColumns, bar_width: u16, row: Rect, buf: &mut Buffer) {
    let mut cursor = Cursor { x: row.x, y: row.y };
    cursor.put(buf, "id", c.id, theme::DIM);
    cursor.put(buf, "state", c.state, theme::DIM);
    cursor.put(buf, "event", c.event, theme::DIM);
    cursor.put(buf, "progress", bar_width + 5, theme::DIM);
    if c.stats > 0 {
        cursor.put(buf, &format!("{:>4}", "util"), RowColumns::UTIL, theme::DIM);
        cursor.put(
            buf,
            &format!("{:>w$}", "done", w = usize::from(c.done)),
            c.done,
            theme::DIM,
        );
    }
}

/// " 7.2s wall ": how long a stretched event has run, over the end of its bar.
fn wall_text(ran_ns: u64) -> String {
    format!(" {} wall ", format::duration_ns(ran_ns))
}

/// Writes `text` right-aligned in the `width` cells from (x, y), when it fits.
fn put_right(buf: &mut Buffer, x: u16, y: u16, width: u16, text: &str) {
    let len = text.chars().count() as u16;
    if len <= width {
        buf.set_string(x + width - len, y, text, theme::VALUE);
    }
}

/// Writes fixed-width columns left to right along one row.
struct Cursor {
    x: u16,
    y: u16,
}

impl Cursor {
    fn put(&mut self, buf: &mut Buffer, text: &str, width: u16, style: Style) {
        buf.set_stringn(self.x, self.y, text, usize::from(width), style);
        self.x += width;
    }
}

/// Symbol, word and style of a worker's state.
fn describe(w: &WorkerView) -> (&'static str, &'static str, Style) {
    match (w.retiring, w.activity) {
        (true, _) => (symbol::RETIRING, "retiring", theme::RETIRING),
        (false, WorkerActivity::Busy { .. }) => (symbol::BUSY, "busy", theme::BUSY),
        (false, WorkerActivity::Idle) => (symbol::IDLE, "idle", theme::IDLE),
    }
}

fn digits(n: u64) -> u16 {
    n.checked_ilog10().unwrap_or(0) as u16 + 1
}

/// Many workers: one cell each, a block whose height is the progress of the event it holds.
pub struct WorkerGrid<'a> {
    pub workers: &'a [WorkerView],
    pub now_ns: u64,
    pub scroll: usize,
}

impl WorkerGrid<'_> {
    /// The widest cell layout that shows every worker: "  12▆ ", "▆ ", then "▆" (scrolling).
    fn cell_width(&self, area: Rect) -> u16 {
        let id_cell = digits(
            self.workers
                .iter()
                .map(|w| u64::from(w.id))
                .max()
                .unwrap_or(1),
        ) + 2;
        [id_cell, 2, 1]
            .into_iter()
            .find(|&width| {
                let per_row = usize::from(area.width / width).max(1);
                self.workers.len().div_ceil(per_row) <= usize::from(area.height)
            })
            .unwrap_or(1)
    }
}

/// Where a grid's cells go in its area, and how far it can scroll.
struct GridLayout {
    cells: Rect,
    legend: bool,
    width: u16,
    per_row: usize,
    total_rows: usize,
    max_scroll: usize,
}

impl WorkerGrid<'_> {
    fn layout(&self, area: Rect) -> GridLayout {
        // A legend line when there is room for it and at least one row of cells.
        let legend = area.height >= 3;
        let cells = Rect {
            height: area.height - u16::from(legend),
            ..area
        };
        let width = self.cell_width(cells);
        let per_row = usize::from(cells.width / width).max(1);
        let total_rows = self.workers.len().div_ceil(per_row);
        GridLayout {
            cells,
            legend,
            width,
            per_row,
            total_rows,
            max_scroll: total_rows.saturating_sub(usize::from(cells.height)),
        }
    }
}

impl Widget for WorkerGrid<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let GridLayout {
            cells,
            legend,
            width,
            per_row,
            total_rows,
            max_scroll,
        } = self.layout(area);
        let scroll = self.scroll.min(max_scroll);
        let shown = self.workers.iter().skip(scroll * per_row);
        for (i, w) in shown.take(per_row * usize::from(cells.height)).enumerate() {
            let x = cells.x + (i % per_row) as u16 * width;
            let y = cells.y + (i / per_row) as u16;
            let (glyph, style) = self.glyph(w);
            if width > 2 {
                let id = format!("{:>w$}", w.id, w = usize::from(width - 2));
                buf.set_string(x, y, id, theme::DIM);
            }
            // The glyph comes after the id, and before a space when there is room for one.
            buf.set_string(x + width.saturating_sub(2), y, glyph, style);
        }
        if legend {
            let visible = total_rows.min(usize::from(cells.height));
            let legend_row = Rect {
                y: area.bottom() - 1,
                height: 1,
                ..area
            };
            let mut line = legend_line(scroll, visible, total_rows, false);
            if line.width() > usize::from(area.width) {
                line = legend_line(scroll, visible, total_rows, true);
            }
            Paragraph::new(line).render(legend_row, buf);
        }
    }
}

impl WorkerGrid<'_> {
    fn glyph(&self, w: &WorkerView) -> (&'static str, Style) {
        if w.retiring {
            return (symbol::RETIRING, theme::RETIRING);
        }
        match w.progress(self.now_ns) {
            None => (symbol::IDLE_CELL, theme::IDLE),
            Some(p) => {
                let last = symbol::PROGRESS_CELLS.len() - 1;
                let i = ((p * last as f64).round() as usize).min(last);
                (symbol::PROGRESS_CELLS[i], theme::BUSY)
            }
        }
    }
}

/// What the cells mean, and which rows show when they do not all fit; `short` leaves out how
/// to read a cell's height, for a narrow panel.
fn legend_line(scroll: usize, visible: usize, total_rows: usize, short: bool) -> Line<'static> {
    let busy = if short {
        " busy  "
    } else {
        " busy (height: progress)  "
    };
    let mut spans = vec![
        Span::styled("▆", theme::BUSY),
        Span::styled(busy, theme::DIM),
        Span::styled(symbol::IDLE_CELL, theme::IDLE),
        Span::styled(" idle  ", theme::DIM),
        Span::styled(symbol::RETIRING, theme::RETIRING),
        Span::styled(" retiring", theme::DIM),
    ];
    // Which rows show matters more than the legend: it goes first.
    if visible < total_rows {
        let rows = format!(
            "rows {}-{} of {total_rows} (j/k)  ",
            scroll + 1,
            scroll + visible
        );
        spans.insert(0, Span::styled(rows, theme::WARN));
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(n: u32) -> Vec<WorkerView> {
        (1..=n)
            .map(|id| WorkerView {
                id,
                activity: WorkerActivity::Idle,
                retiring: false,
                busy_ns: 0,
                alive_ns: 1,
                completed: 0,
                failed: 0,
                cpu_ns: None,
            })
            .collect()
    }

    fn drawn(workers: &[WorkerView], scroll: usize, area: Rect) -> Buffer {
        let mut buf = Buffer::empty(area);
        (&WorkersPanel {
            workers,
            now_ns: 0,
            scroll,
            last_failure: None,
        })
            .render(area, &mut buf);
        buf
    }

    #[test]
    fn max_scroll_is_where_the_drawn_grid_stops() {
        let workers = idle(4096);
        let area = Rect::new(0, 0, 60, 10);
        let panel = WorkersPanel {
            workers: &workers,
            now_ns: 0,
            scroll: 0,
            last_failure: None,
        };
        let max = panel.max_scroll(area);
        assert!(max > 0 && max < workers.len(), "{max}");
        // Scrolling further than max draws the same; one row less draws something else.
        assert_eq!(drawn(&workers, max + 50, area), drawn(&workers, max, area));
        assert_ne!(drawn(&workers, max - 1, area), drawn(&workers, max, area));
    }

    #[test]
    fn nothing_scrolls_when_every_worker_has_a_row() {
        let workers = idle(4);
        let panel = WorkersPanel {
            workers: &workers,
            now_ns: 0,
            scroll: 0,
            last_failure: None,
        };
        assert_eq!(panel.max_scroll(Rect::new(0, 0, 60, 10)), 0);
    }
}
