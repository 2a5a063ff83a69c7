//! The autoscaling policy on screen: its name in the header, desired vs actual workers in the
//! workers panel's title, a chart of both over time beside the queue chart (with the fewest
//! workers that keep up, from theory), and its latest decision in the footer.

use std::collections::VecDeque;

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Paragraph, Widget};

use super::queue::line;
use super::theme;
use crate::model::autoscale::{AutoscaleView, DecisionLine};

/// The chart beside the queue chart takes this share of the queue panel's width...
const CHART_PERCENT: u16 = 30;
/// ...and is left out below this many columns.
const CHART_MIN_WIDTH: u16 = 24;

/// The queue panel's area and the chart's, when a policy runs and there is room.
pub fn split(area: Rect, with_policy: bool) -> (Rect, Rect) {
    let width = area.width * CHART_PERCENT / 100;
    if !with_policy || width < CHART_MIN_WIDTH {
        return (area, Rect::ZERO);
    }
    let [queue, chart] =
        Layout::horizontal([Constraint::Fill(1), Constraint::Length(width)]).areas(area);
    (queue, chart)
}

/// The footer's text when no notice is up: "hpa: queue 57 = 14.25/worker vs 10 → 6 workers".
pub fn footer_text(view: &AutoscaleView) -> Option<String> {
    let decision = view.last.as_ref()?;
    let line = DecisionLine(&view.policy, decision).to_string();
    Some(if view.paused {
        format!("{line} · paused (A resumes)")
    } else {
        line
    })
}

/// "autoscale hpa" (or "autoscale hpa (paused)"), centred on the header's first row.
pub struct PolicyTag<'a> {
    pub view: &'a AutoscaleView,
}

impl Widget for &PolicyTag<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let style = if self.view.paused {
            theme::WARN
        } else {
            theme::TITLE
        };
        let line = Line::from(vec![
            Span::styled(" autoscale ", theme::LABEL),
            Span::styled(format!("{} ", self.view.label()), style),
        ]);
        let top = Rect { height: 1, ..area };
        Paragraph::new(line)
            .alignment(Alignment::Center)
            .render(top, buf);
    }
}

/// " desired 6 · actual 4 " at the right of the workers panel's top border.
pub struct WorkersTitle<'a> {
    pub view: &'a AutoscaleView,
    /// Workers alive now.
    pub actual: usize,
}

impl Widget for &WorkersTitle<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 4 || area.height == 0 {
            return;
        }
        let desired = self
            .view
            .desired()
            .map_or_else(|| "-".to_string(), |d| d.to_string());
        let line = Line::from(vec![
            Span::styled(" desired ", theme::LABEL),
            Span::styled(desired, theme::VALUE),
            Span::styled(" · actual ", theme::LABEL),
            Span::styled(format!("{} ", self.actual), theme::VALUE),
        ]);
        let row = Rect {
            x: area.x + 1,
            width: area.width - 2,
            height: 1,
            ..area
        };
        Paragraph::new(line)
            .alignment(Alignment::Right)
            .render(row, buf);
    }
}

/// Desired and actual workers over time, and the fewest that keep up (from theory).
pub struct ScaleChart<'a> {
    pub history: &'a VecDeque<(u64, usize, usize)>,
    pub min_stable: Option<usize>,
}

impl ScaleChart<'_> {
    fn series(&self, pick: impl Fn(&(u64, usize, usize)) -> usize) -> Vec<(f64, f64)> {
        self.history
            .iter()
            .map(|p| (p.0 as f64 / 1e9, pick(p) as f64))
            .collect()
    }
}

impl Widget for &ScaleChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 4 || area.height < 3 {
            return;
        }
        let desired = self.series(|p| p.1);
        let actual = self.series(|p| p.2);
        let t0 = desired.first().map_or(0.0, |p| p.0);
        let t1 = desired.last().map_or(1.0, |p| p.0).max(t0 + 1.0);
        let stable: Vec<(f64, f64)> = self
            .min_stable
            .map(|m| vec![(t0, m as f64), (t1, m as f64)])
            .unwrap_or_default();
        let top = desired
            .iter()
            .chain(&actual)
            .chain(&stable)
            .map(|p| p.1)
            .fold(1.0, f64::max)
            * 1.1;
        let datasets = vec![
            line(&stable, theme::DIM),
            line(&desired, theme::FORECAST),
            line(&actual, theme::BUSY),
        ];
        // The lines' names in their colours: what the workers should be, what they are, and
        // the fewest that keep up (theory's `min_stable_workers`).
        let title = Line::from(vec![
            Span::styled(" desired", theme::FORECAST),
            Span::styled(" actual", theme::BUSY),
            Span::styled(" min ", theme::LABEL),
        ]);
        Chart::new(datasets)
            .block(Block::bordered().border_style(theme::BORDER).title(title))
            .x_axis(Axis::default().bounds([t0, t1]))
            .y_axis(
                Axis::default()
                    .bounds([0.0, top])
                    .labels([Line::from("0"), Line::from(format!("{}", top.floor()))])
                    .style(theme::DIM),
            )
            .legend_position(None)
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> AutoscaleView {
        let mut v = AutoscaleView {
            policy: "hpa".into(),
            ..AutoscaleView::default()
        };
        for t in 0..20u64 {
            v.record(
                t * 1_000_000_000,
                4 + (t as usize) / 5,
                4 + (t as usize) / 6,
            );
        }
        v
    }

    #[test]
    fn every_part_draws_at_any_size_without_panicking() {
        let v = view();
        for (w, h) in [(0, 0), (1, 1), (3, 2), (30, 8), (120, 30)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            PolicyTag { view: &v }.render(area, &mut buf);
            WorkersTitle {
                view: &v,
                actual: 4,
            }
            .render(area, &mut buf);
            ScaleChart {
                history: &v.history,
                min_stable: Some(5),
            }
            .render(area, &mut buf);
        }
    }

    #[test]
    fn the_title_says_desired_and_actual() {
        let mut v = view();
        v.last = Some(crate::model::autoscale::Decision {
            at_ns: 0,
            current: 4,
            recommended: 6,
            desired: 6,
            inputs: "queue 57 = 14.25/worker vs 10".into(),
            formula: String::new(),
            held: None,
        });
        let area = Rect::new(0, 0, 40, 1);
        let mut buf = Buffer::empty(area);
        WorkersTitle {
            view: &v,
            actual: 4,
        }
        .render(area, &mut buf);
        let text: String = (0..40).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(text.contains("desired 6 · actual 4"), "{text}");
        assert_eq!(
            footer_text(&v).unwrap(),
            "hpa: queue 57 = 14.25/worker vs 10 → 6 workers"
        );
    }

    #[test]
    fn no_chart_without_a_policy_or_room() {
        let area = Rect::new(0, 0, 100, 10);
        assert_eq!(split(area, false), (area, Rect::ZERO));
        assert_eq!(split(Rect::new(0, 0, 60, 10), true).1, Rect::ZERO);
        let (queue, chart) = split(area, true);
        assert_eq!((queue.width, chart.width), (70, 30));
    }
}
