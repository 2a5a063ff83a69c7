//! The sweep's table: a row per point, each latency measured with the prediction beside it
//! in brackets and `!` where the two disagree beyond their 95% intervals; an overloaded point
//! says how fast its backlog grows instead of printing percentiles that only measure the run.

use super::figures::{Figure, disagree};
use super::point::Point;
use crate::units;

/// The header: the point, its load, then the latencies.
const HEAD: [&str; 5] = ["workers", "rate", "ρ", "done/s", "drops"];

/// The table, lines ending in `\n`.
pub fn render(points: &[Point]) -> String {
    let mut rows: Vec<Vec<String>> = vec![header()];
    rows.extend(points.iter().map(row));
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter(|r| r.len() == columns || c + 1 < r.len())
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                // The overloaded note spans the latency columns: not padded.
                if row.len() < columns && c + 1 == row.len() {
                    cell.clone()
                } else {
                    format!("{cell:>width$}", width = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(LEGEND);
    out
}

const LEGEND: &str = "(in brackets: predicted; !: measured and predicted disagree beyond their 95% intervals; waits are queue waits, e2e is arrival to finish)\n";

fn header() -> Vec<String> {
    let mut head: Vec<String> = HEAD.iter().map(|h| h.to_string()).collect();
    head.extend(Figure::LATENCIES.iter().map(|f| match f {
        Figure::MeanWait => "wait mean".to_string(),
        Figure::E2eMean => "e2e mean".to_string(),
        Figure::E2eP99 => "e2e p99".to_string(),
        other => other.name().to_string(),
    }));
    head
}

fn row(p: &Point) -> Vec<String> {
    let measured = &p.measured.figures;
    let predicted = &p.predicted.figures;
    let drops = measured
        .drop_fraction
        .map_or("-".into(), |f| format!("{}%", trim(f * 100.0)));
    let mut cells = vec![
        p.workers.to_string(),
        units::per_s(p.rate_per_s),
        p.rho.map_or("-".into(), |rho| format!("{rho:.2}")),
        measured.throughput_per_s.map_or("-".into(), units::compact),
        drops,
    ];
    if p.overloaded {
        let predicted = p
            .predicted
            .growth_per_s
            .map(|g| format!(" (predicted {})", units::per_s(g)))
            .unwrap_or_default();
        cells.push(format!(
            "overloaded: grows {}{predicted}",
            units::per_s(p.growth_per_s.max(0.0))
        ));
        return cells;
    }
    let slack = p.measured.overhead_ms;
    cells.extend(Figure::LATENCIES.iter().map(|&figure| {
        let value = measured.value(figure).map_or("-".into(), ms);
        let beside = predicted
            .value(figure)
            .map(|v| format!(" ({})", ms(v)))
            .unwrap_or_default();
        let mark = if disagree(measured, predicted, figure, slack) {
            "!"
        } else {
            ""
        };
        format!("{value}{beside}{mark}")
    }));
    cells
}

fn ms(value_ms: f64) -> String {
    units::duration_s(value_ms / 1e3)
}

fn trim(v: f64) -> String {
    crate::engine::settings::trim_float(units::round_significant(v, 2))
}
