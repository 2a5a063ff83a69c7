//! The theory panel: the model's verdict (keeping up, overloaded, draining, finished) with its
//! symbol and style, then the queueing model's predictions beside what was measured.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::engine::settings::Overflow;
use crate::engine::snapshot::{Phase, Snapshot};
use crate::model::lints::{self, Lint};
use crate::model::phase::Measured;
use crate::model::phase_prediction::PhasePrediction;
use crate::model::theory::Method;
use crate::model::verdict::Verdict;

use super::format;
use super::theme::{self, symbol};

/// The verdict as the panel shows it: the leading symbol says it without colour.
pub fn verdict_line(verdict: &Verdict) -> (String, Style) {
    let (mark, style) = match verdict {
        Verdict::KeepingUp => (symbol::OK, theme::GOOD),
        Verdict::NotCatchingUp { .. } => (symbol::STEADY, theme::WARN),
        Verdict::Overloaded { .. } => (symbol::BAD, theme::ERROR),
        Verdict::Draining { .. } => (symbol::DRAIN, theme::WARN),
        Verdict::Dropping { .. } => (symbol::WARN, theme::WARN),
        Verdict::Finished => (symbol::FINISHED, theme::BANNER),
    };
    (format!("{mark} {}", verdict.text()), style)
}

pub struct TheoryPanel<'a> {
    pub snapshot: &'a Snapshot,
    /// The model's verdict on `snapshot`.
    pub verdict: &'a Verdict,
    /// The twin's prediction of each phase, once the run is over (empty before, or when
    /// the settings never changed): the finished screen's table of phases.
    pub predictions: &'a [Option<PhasePrediction>],
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
        Paragraph::new(self.lines_to_fit(inner))
            .wrap(Wrap { trim: false })
            .render(inner, buf);
    }
}

/// Rows `lines` take in `width` cells once wrapped (a close estimate: wrapping breaks at words).
fn wrapped_height(lines: &[Line], width: u16) -> usize {
    let width = usize::from(width.max(1));
    lines.iter().map(|l| l.width().div_ceil(width).max(1)).sum()
}

impl TheoryPanel<'_> {
    /// The full panel when it fits; otherwise the table's header goes, and the figures, labelled
    /// in their rows, come right after the verdict, before the model and the cpu note (which
    /// the warnings repeat): what does not fit is cut from the end.
    fn lines_to_fit(&self, inner: Rect) -> Vec<Line<'static>> {
        let s = self.snapshot;
        let (verdict, style) = verdict_line(self.verdict);
        let verdict = Line::styled(verdict, style);
        if s.state.is_over() && s.phases.len() > 1 && !self.predictions.is_empty() {
            let rows = usize::from(inner.height).saturating_sub(2);
            let mut lines = vec![verdict, phase_header()];
            lines.extend(phase_rows(&s.phases, self.predictions, rows));
            return lines;
        }
        let model = (!s.theory.model.is_empty()).then(|| model_line(s));
        let mut full = vec![verdict.clone()];
        full.extend(model.clone());
        full.extend(cpu_note(s));
        full.extend(split_note(s));
        full.push(Line::from(vec![
            Span::styled(format!("{:<14}", ""), theme::LABEL),
            Span::styled(format!("{:<11}", "theory"), theme::LABEL),
            Span::styled(measured_heading(&Measured::of(s)), theme::LABEL),
        ]));
        full.extend(self.rows(false));
        if wrapped_height(&full, inner.width) <= usize::from(inner.height) {
            return full;
        }
        let mut compact = vec![verdict];
        compact.extend(self.rows(true));
        compact.extend(model);
        compact.extend(cpu_note(s));
        compact.extend(split_note(s));
        compact
    }

    /// The table's rows (a queue that drops has a third, the share of arrivals dropped);
    /// `labelled` names the columns in each row (no header row above), the theory's by its method.
    fn rows(&self, labelled: bool) -> Vec<Line<'static>> {
        let s = self.snapshot;
        let t = &s.theory;
        let m = MeasuredFigures::of(s);
        let mut rows = vec![
            ("mean wait", t.mean_wait_s.map(wait_text), m.wait),
            ("queue length", t.mean_queue_len.map(queue_len_text), m.len),
        ];
        let sheds = s.settings.queue_cap.is_some() && s.settings.overflow != Overflow::Block;
        if sheds {
            rows.push(("dropped", Some(drop_text(t.p_drop)), m.dropped));
        }
        let theory = if labelled && t.stable {
            method_word(t.method)
        } else {
            "theory"
        };
        rows.into_iter()
            .map(|(label, predicted, measured)| {
                let row = Row {
                    label,
                    theory,
                    predicted,
                    measured,
                };
                compare_row(row, t.stable, labelled)
            })
            .collect()
    }
}

/// The finished screen's table of phases: measured beside the twin's prediction.
fn phase_header() -> Line<'static> {
    Line::styled(
        format!(
            "{:<16}{:<9}{:<10}{:<10}{:<10}{}",
            "phase", "workers", "mean wait", "twin", "queue end", "twin"
        ),
        theme::LABEL,
    )
}

/// One row per phase, the last `rows` of them (with a first row saying how many are left out).
fn phase_rows(
    phases: &[Phase],
    predictions: &[Option<PhasePrediction>],
    rows: usize,
) -> Vec<Line<'static>> {
    let shown = rows.min(phases.len());
    let skipped = phases.len() - shown;
    let mut lines = Vec::new();
    let take = if skipped > 0 {
        shown.saturating_sub(1)
    } else {
        shown
    };
    if skipped > 0 && shown > 0 {
        lines.push(Line::styled(
            format!("… {} earlier phases", skipped + 1),
            theme::DIM,
        ));
    }
    let from = phases.len() - take;
    for (p, q) in phases[from..]
        .iter()
        .zip(&predictions[from.min(predictions.len())..])
    {
        let when = format!(
            "{} {}-{}",
            p.index,
            format::duration_s(p.start_ns as f64 / 1e9),
            format::duration_s(p.end_ns as f64 / 1e9)
        );
        let m = &p.measured;
        let (twin_wait, twin_end) = match q {
            Some(q) => (
                wait_text(q.mean_wait_ms / 1e3),
                format::count(q.queue_end.round().max(0.0) as u64),
            ),
            None => ("-".into(), "-".into()),
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{when:<16}"), theme::LABEL),
            Span::styled(format!("{:<9}", p.settings.workers), theme::VALUE),
            Span::styled(
                format!("{:<10}", wait_text(m.mean_wait_ns / 1e9)),
                theme::VALUE,
            ),
            Span::styled(format!("{twin_wait:<10}"), theme::LABEL),
            Span::styled(format!("{:<10}", format::count(m.queue_end)), theme::VALUE),
            Span::styled(twin_end, theme::LABEL),
        ]));
    }
    lines
}

/// The measured column's heading: the whole run, or the phase since the last change.
fn measured_heading(measured: &Measured<'_>) -> String {
    match *measured {
        Measured::Run => "measured".into(),
        Measured::Phase { age_s, .. } => {
            format!("since the change {} ago", format::duration_s(age_s))
        }
        Measured::Settling { age_s } => {
            format!("settling (changed {} ago)", format::duration_s(age_s))
        }
    }
}

/// The measured figures in words, from the whole run or the current phase; "settling" while
/// the phase is too young.
struct MeasuredFigures {
    wait: Option<String>,
    len: Option<String>,
    dropped: Option<String>,
}

impl MeasuredFigures {
    fn of(s: &Snapshot) -> Self {
        let share = |dropped: u64, of: u64| (of > 0).then(|| drop_text(dropped as f64 / of as f64));
        match Measured::of(s) {
            Measured::Run => Self {
                wait: (s.latency.queue_wait.count > 0)
                    .then(|| wait_text(s.latency.queue_wait.mean_ns / 1e9)),
                len: Some(queue_len_text(s.mean_queue_len)),
                dropped: share(s.counters.dropped, s.counters.generated),
            },
            Measured::Phase { phase, .. } => {
                let m = &phase.measured;
                Self {
                    wait: (m.started > 0).then(|| wait_text(m.mean_wait_ns / 1e9)),
                    len: Some(queue_len_text(m.mean_queue_len)),
                    dropped: share(m.dropped, m.arrivals),
                }
            }
            Measured::Settling { .. } => Self {
                wait: Some("settling".into()),
                len: Some("settling".into()),
                dropped: Some("settling".into()),
            },
        }
    }
}

/// "M/M/c · exact: Erlang C · 5 servers · ρ 96% · P(wait) 72%"
fn model_line(s: &Snapshot) -> Line<'static> {
    let t = &s.theory;
    let sep = || Span::styled(" · ", theme::DIM);
    // D/D/c at exactly 100% keeps up: red only when theory says the queue grows.
    let rho_style = if t.stable { theme::VALUE } else { theme::ERROR };
    let mut spans = vec![
        Span::styled(t.kendall().to_string(), theme::VALUE),
        sep(),
        Span::styled(t.method_label(), theme::LABEL),
        sep(),
        Span::styled(plural(t.servers, "server"), theme::LABEL),
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
    let Some(Lint::MoreWorkersThanCores { workers, cores }) = lints::more_workers_than_cores(s)
    else {
        return None;
    };
    Some(Line::styled(
        format!(
            "{} cpu work: {workers} workers share {cores} cores",
            symbol::WARN
        ),
        theme::WARN,
    ))
}

/// A broker source in a group sees part of the stream: which part, and what it means.
fn split_note(s: &Snapshot) -> Option<Line<'static>> {
    let split = crate::model::broker::Split::of(s)?;
    (split != crate::model::broker::Split::Whole)
        .then(|| Line::styled(split.note().to_string(), theme::DIM))
}

/// A row of the table: what it compares, what theory predicts (by `theory`: its method, or
/// just "theory") and what was measured.
struct Row {
    label: &'static str,
    theory: &'static str,
    predicted: Option<String>,
    measured: Option<String>,
}

/// A row of the table. Theory gives no figure for an unstable queue: its wait only grows.
/// `labelled`: "mean wait  exact 810ms  measured 765ms", for a panel with no room for a header.
fn compare_row(row: Row, stable: bool, labelled: bool) -> Line<'static> {
    let (predicted, theory_style) = match row.predicted {
        Some(text) => (text, theme::VALUE),
        None if !stable => ("grows".to_string(), theme::ERROR),
        None => ("-".to_string(), theme::DIM),
    };
    let measured = Span::styled(row.measured.unwrap_or_else(|| "-".into()), theme::VALUE);
    let label = row.label;
    if labelled {
        return Line::from(vec![
            Span::styled(format!("{label}  {} ", row.theory), theme::LABEL),
            Span::styled(predicted, theory_style),
            Span::styled("  measured ", theme::LABEL),
            measured,
        ]);
    }
    Line::from(vec![
        Span::styled(format!("{label:<14}"), theme::LABEL),
        Span::styled(format!("{predicted:<11}"), theory_style),
        measured,
    ])
}

/// The method as a compact row names its theory column: "mean wait  approx 1.53s ...".
fn method_word(method: Method) -> &'static str {
    match method {
        Method::Exact => "exact",
        Method::Simulated => "simulated",
        Method::Approximation => "approx",
    }
}

/// A share of arrivals dropped, to a tenth of a percent: "18.6%".
fn drop_text(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// "1 server", "5 servers".
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A wait with its unit even when it is none: "0s", "4.2s".
fn wait_text(seconds: f64) -> String {
    if seconds.is_finite() && seconds > 0.0 {
        format::duration_s(seconds)
    } else {
        format::duration_with_unit(0)
    }
}

/// Queue lengths below 10 keep two decimals (0.42), larger ones 3 significant digits.
fn queue_len_text(len: f64) -> String {
    if len < 10.0 {
        format!("{len:.2}")
    } else {
        format::compact(len)
    }
}
