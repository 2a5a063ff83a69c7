//! The theory panel: a plain verdict (keeping up, overloaded, draining, finished), then the
//! queueing model's predictions beside what was measured.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::engine::settings::WorkMode;
use crate::engine::snapshot::Snapshot;

use super::format;
use super::theme::{self, symbol};

/// Backlogs that clear faster than this (model seconds) are noise, not draining.
const MIN_DRAIN_S: f64 = 2.0;

/// The one-line answer to "is the pool keeping up?".
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    KeepingUp,
    /// Capacity only just matches arrivals: a backlog left from earlier never shrinks.
    NotCatchingUp {
        queued: u64,
    },
    Overloaded {
        growth_per_s: f64,
        /// Smallest worker count that keeps up; None if none can (cpu work past the cores).
        needs: Option<usize>,
    },
    Draining {
        seconds: f64,
    },
    Finished,
}

impl Verdict {
    pub fn of(s: &Snapshot) -> Self {
        if s.state.is_over() {
            return Verdict::Finished;
        }
        let theory = &s.theory;
        if !theory.stable {
            return Verdict::Overloaded {
                growth_per_s: theory.backlog_growth_per_s.unwrap_or(0.0),
                needs: theory.min_stable_workers,
            };
        }
        let queued = s.counters.queued;
        // Random arrivals queue a little even when all is well: only a backlog well above what
        // theory expects, and that takes a while to clear, counts as something to drain.
        let expected = theory.mean_queue_len.unwrap_or(0.0);
        if (queued as f64) <= (2.0 * expected).max(1.0) {
            return Verdict::KeepingUp;
        }
        let worth_saying_s = (2.0 * theory.service_mean_s).max(MIN_DRAIN_S);
        match theory.drain_time_s(queued) {
            Some(seconds) if seconds >= worth_saying_s => Verdict::Draining { seconds },
            Some(_) => Verdict::KeepingUp,
            None => Verdict::NotCatchingUp { queued },
        }
    }

    /// The verdict's text and style; the leading symbol says it without colour.
    pub fn line(&self) -> (String, Style) {
        match *self {
            Verdict::KeepingUp => (format!("{} keeping up", symbol::OK), theme::GOOD),
            Verdict::NotCatchingUp { queued } => (
                format!(
                    "{} keeping up, not catching up: backlog of {} stays",
                    symbol::STEADY,
                    format::count(queued)
                ),
                theme::WARN,
            ),
            Verdict::Overloaded {
                growth_per_s,
                needs,
            } => {
                let needs = match needs {
                    Some(n) => format!(", needs ≥ {n} workers"),
                    None => ", more workers cannot help (cpu work, all cores busy)".into(),
                };
                let growth = format::per_s(growth_per_s);
                (
                    format!(
                        "{} overloaded: backlog grows by {growth}{needs}",
                        symbol::BAD
                    ),
                    theme::ERROR,
                )
            }
            Verdict::Draining { seconds } => (
                format!(
                    "{} draining: empty in about {}",
                    symbol::DRAIN,
                    format::duration_s(seconds)
                ),
                theme::WARN,
            ),
            Verdict::Finished => (format!("{} finished", symbol::FINISHED), theme::BANNER),
        }
    }
}

pub struct TheoryPanel<'a> {
    pub snapshot: &'a Snapshot,
}

impl Widget for &TheoryPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = super::panel_block("Theory vs measured");
        let inner = block.inner(area);
        block.render(area, buf);
        if inner.is_empty() {
            return;
        }
        // Wrapping keeps a long verdict whole on a narrow panel.
        Paragraph::new(self.lines())
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }
}

impl TheoryPanel<'_> {
    /// Verdict first (the line that matters most survives a short panel), then the model and table.
    fn lines(&self) -> Vec<Line<'static>> {
        let s = self.snapshot;
        let t = &s.theory;
        let (verdict, style) = Verdict::of(s).line();
        let mut lines = vec![Line::styled(verdict, style)];
        if !t.model.is_empty() {
            lines.push(model_line(s));
        }
        if let Some(note) = cpu_note(s) {
            lines.push(note);
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{:<14}", ""), theme::LABEL),
            Span::styled(format!("{:<11}", "theory"), theme::LABEL),
            Span::styled("measured", theme::LABEL),
        ]));
        let measured_wait = (s.latency.queue_wait.count > 0)
            .then(|| format::duration_ns(s.latency.queue_wait.mean_ns as u64));
        lines.push(compare_row(
            "mean wait",
            t.mean_wait_s.map(format::duration_s),
            t.stable,
            measured_wait,
        ));
        let measured_len = Some(queue_len_text(s.mean_queue_len));
        lines.push(compare_row(
            "queue length",
            t.mean_queue_len.map(queue_len_text),
            t.stable,
            measured_len,
        ));
        lines
    }
}

/// "M/M/c (Erlang C) · 5 servers · ρ 96% · P(wait) 72%"
fn model_line(s: &Snapshot) -> Line<'static> {
    let t = &s.theory;
    let sep = || Span::styled(" · ", theme::DIM);
    // D/D/c at exactly 100% keeps up: red only when theory says the queue grows.
    let rho_style = if t.stable { theme::VALUE } else { theme::ERROR };
    let mut spans = vec![
        Span::styled(t.model.clone(), theme::VALUE),
        sep(),
        Span::styled(format!("{} servers", t.servers), theme::LABEL),
        sep(),
        Span::styled("ρ ", theme::LABEL),
        Span::styled(format::percent(t.utilization), rho_style),
    ];
    if let Some(p) = t.p_wait {
        spans.extend([
            sep(),
            Span::styled("P(wait) ", theme::LABEL),
            Span::styled(format::percent(p), theme::VALUE),
        ]);
    }
    Line::from(spans)
}

/// In cpu mode, workers past the core count add nothing: say so.
fn cpu_note(s: &Snapshot) -> Option<Line<'static>> {
    (s.settings.work == WorkMode::Cpu && s.settings.workers > s.cores).then(|| {
        Line::styled(
            format!(
                "{} cpu work: {} workers share {} cores",
                symbol::WARN,
                s.settings.workers,
                s.cores
            ),
            theme::WARN,
        )
    })
}

/// A row of the table. Theory gives no figure for an unstable queue: its wait only grows.
fn compare_row(
    label: &'static str,
    theory: Option<String>,
    stable: bool,
    measured: Option<String>,
) -> Line<'static> {
    let (theory, theory_style) = match theory {
        Some(text) => (text, theme::VALUE),
        None if !stable => ("grows".to_string(), theme::ERROR),
        None => ("-".to_string(), theme::DIM),
    };
    Line::from(vec![
        Span::styled(format!("{label:<14}"), theme::LABEL),
        Span::styled(format!("{theory:<11}"), theory_style),
        Span::styled(measured.unwrap_or_else(|| "-".into()), theme::VALUE),
    ])
}

/// Queue lengths below 10 keep two decimals (0.42), larger ones 3 significant digits.
fn queue_len_text(len: f64) -> String {
    if len < 10.0 {
        format!("{len:.2}")
    } else {
        format::compact(len)
    }
}
