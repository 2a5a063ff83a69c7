//! The two header lines: name, run state, model time, seed and speed; then the live settings.

use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::engine::settings::{ArrivalProcess, Settings, format_duration, trim_float};
use crate::engine::snapshot::{RunState, Snapshot, SourceType, SourceView};

use super::format;
use super::theme::{self, symbol};

/// Borrows the snapshot (state, time, seed) and the live settings (which run ahead of the snapshot).
pub struct Header<'a> {
    pub snapshot: &'a Snapshot,
    pub settings: &'a Settings,
}

impl Widget for &Header<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let top = Rect { height: 1, ..area };
        Paragraph::new(self.status_line()).render(top, buf);
        Paragraph::new(self.run_facts())
            .alignment(Alignment::Right)
            .render(top, buf);
        if area.height > 1 {
            let second = Rect {
                y: area.y + 1,
                height: 1,
                ..area
            };
            let source = &self.snapshot.source;
            let mut line = settings_line(self.settings, source, false);
            if line.width() > usize::from(area.width) {
                line = settings_line(self.settings, source, true);
            }
            Paragraph::new(line).render(second, buf);
        }
    }
}

impl Header<'_> {
    fn status_line(&self) -> Line<'static> {
        let state = self.snapshot.state;
        let (mark, style) = state_mark(state);
        Line::from(vec![
            Span::styled(" backlog ", theme::APP_NAME),
            Span::raw("  "),
            Span::styled(format!("{mark} {}", state.name()), style),
            Span::styled("  t ", theme::LABEL),
            Span::styled(format::clock(self.snapshot.now_ns), theme::VALUE),
        ])
    }

    /// Seed and speed, right-aligned on the first line.
    fn run_facts(&self) -> Line<'static> {
        let mut spans = vec![
            Span::styled("seed ", theme::LABEL),
            Span::styled(self.snapshot.seed.to_string(), theme::VALUE),
        ];
        if self.snapshot.speed != 1.0 {
            spans.push(Span::styled("  speed ", theme::LABEL));
            spans.push(Span::styled(
                format!("×{}", trim_float(self.snapshot.speed)),
                theme::VALUE,
            ));
        }
        spans.push(Span::raw(" "));
        Line::from(spans)
    }
}

/// "arrivals fixed 1/s", "arrivals bursty 10/s ×20".
fn generator_arrivals(
    s: &Settings,
    label: &dyn Fn(&'static str) -> Span<'static>,
) -> Vec<Span<'static>> {
    let mut spans = vec![
        label("arrivals "),
        Span::styled(format!("{} {}", s.arrival, s.rate), theme::VALUE),
    ];
    if s.arrival == ArrivalProcess::Bursty {
        spans.push(Span::styled(format!(" ×{}", s.burst), theme::VALUE));
    }
    spans
}

/// Symbol and style of each run state (the symbol says it without colour).
fn state_mark(state: RunState) -> (&'static str, ratatui::style::Style) {
    match state {
        RunState::Running => (symbol::BUSY, theme::GOOD),
        RunState::Paused => ("‖", theme::WARN),
        RunState::Draining => (symbol::DRAIN, theme::WARN),
        RunState::Finished => (symbol::FINISHED, theme::BANNER),
        RunState::Interrupted => (symbol::BAD, theme::ERROR),
    }
}

/// "arrivals fixed 1/s · service 5s fixed · sleep · workers 5 · queue unbounded"; `compact`
/// drops the words the values speak for ("fixed 1/s · 5s fixed · ... · queue cap 40, drop-new").
/// A real source says what it is instead of the arrival settings ("source stdin", "source trace
/// bursty-api.csv at 16.3/s"), and a trace's service times are its rows'.
fn settings_line(s: &Settings, source: &SourceView, compact: bool) -> Line<'static> {
    let sep = || Span::styled(" · ", theme::DIM);
    let label = |text: &'static str| Span::styled(if compact { "" } else { text }, theme::LABEL);
    let (arrivals, service) = arrival_spans(s, source, &label);
    let mut spans = vec![Span::raw(" ")];
    spans.extend(arrivals);
    if s.paused {
        spans.push(Span::styled(" (paused)", theme::WARN));
    }
    // "from the trace" needs its label even in the compact line.
    let service_label = if service.is_some() {
        Span::styled("service ", theme::LABEL)
    } else {
        label("service ")
    };
    spans.extend([
        sep(),
        service_label,
        Span::styled(
            service.map_or_else(
                || format!("{} {}", format_duration(s.service), s.service_dist),
                str::to_string,
            ),
            theme::VALUE,
        ),
        sep(),
        Span::styled(s.work.name(), theme::VALUE),
        sep(),
        Span::styled("workers ", theme::LABEL),
        Span::styled(s.workers.to_string(), theme::VALUE),
        sep(),
        Span::styled("queue ", theme::LABEL),
    ]);
    match s.queue_cap {
        None => spans.push(Span::styled("unbounded", theme::VALUE)),
        Some(cap) => spans.push(Span::styled(
            format!(
                "cap {cap}, {}{}",
                s.overflow,
                if compact { "" } else { " when full" }
            ),
            theme::VALUE,
        )),
    }
    if s.fail_rate > 0.0 {
        spans.push(sep());
        spans.push(Span::styled("fail ", theme::LABEL));
        spans.push(Span::styled(format::percent(s.fail_rate), theme::VALUE));
    }
    Line::from(spans)
}

/// Where events come from: the generator's arrival settings, or the source itself; and the
/// service's text where the source gives it (a trace's rows).
fn arrival_spans(
    s: &Settings,
    source: &SourceView,
    label: &dyn Fn(&'static str) -> Span<'static>,
) -> (Vec<Span<'static>>, Option<&'static str>) {
    let named = |text: String| vec![label("source "), Span::styled(text, theme::VALUE)];
    match (source.kind, &source.trace) {
        (SourceType::Stdin, _) => (named("stdin".into()), None),
        (SourceType::Mqtt | SourceType::Redis, _) => {
            let url = source
                .broker
                .as_ref()
                .map_or_else(|| source.kind.name().to_string(), |b| b.url.clone());
            (named(url), None)
        }
        (SourceType::Trace, Some(trace)) => (
            named(format!("trace {} at {}", trace.file_name(), s.rate)),
            Some("from the trace"),
        ),
        _ => (generator_arrivals(s, label), None),
    }
}
