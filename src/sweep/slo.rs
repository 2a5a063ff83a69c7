//! Service-level objectives: `p99<2s`, `mean<500ms`, `e2e.p99<3s`, `drop<1%`, joined with `,`;
//! parsed once, evaluated on measured or predicted figures.

use super::figures::{Figure, Figures};
use crate::engine::settings::parse_duration;
use crate::units;

const FORMS: &str = "expected METRIC<LIMIT with METRIC one of mean, p50, p95, p99 (queue wait), e2e.mean, e2e.p99 (arrival to finish) or drop, such as p99<2s, e2e.p99<3s or drop<1%, several joined with ','";

/// One clause: a figure under a limit (ms for latencies, a fraction for drops).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clause {
    pub figure: Figure,
    pub limit: f64,
}

/// Every clause must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// As written.
    pub expr: String,
    pub clauses: Vec<Clause>,
}

/// Parses `--slo` (clap's value parser).
pub fn parse(text: &str) -> Result<Slo, String> {
    let clauses = text
        .split(',')
        .map(|c| clause(c.trim()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|problem| format!("{problem}; {FORMS}"))?;
    Ok(Slo {
        expr: text.trim().to_string(),
        clauses,
    })
}

fn clause(text: &str) -> Result<Clause, String> {
    let (name, limit) = text
        .split_once("<=")
        .or_else(|| text.split_once('<'))
        .ok_or_else(|| format!("'{text}' has no '<'"))?;
    let (name, limit) = (name.trim(), limit.trim());
    let figure = match name {
        "mean" | "wait.mean" => Figure::MeanWait,
        "p50" | "wait.p50" => Figure::P50Wait,
        "p95" | "wait.p95" => Figure::P95Wait,
        "p99" | "wait.p99" => Figure::P99Wait,
        "e2e.mean" => Figure::E2eMean,
        "e2e.p99" => Figure::E2eP99,
        "drop" => Figure::Drop,
        _ => return Err(format!("unknown SLO metric '{name}' in '{text}'")),
    };
    let limit = if figure == Figure::Drop {
        fraction(limit)?
    } else {
        parse_duration(limit)?.as_secs_f64() * 1e3
    };
    Ok(Clause { figure, limit })
}

/// `1%`, `0.5%` or `0.01`.
fn fraction(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(n) => (n.trim(), 0.01),
        None => (text, 1.0),
    };
    let value = number
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| (0.0..=1.0).contains(v))
        .ok_or_else(|| format!("'{text}' is not a share of arrivals (1%, 0.5% or 0.01)"))?;
    Ok(value)
}

/// How a point stands against one clause.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    Meets(f64),
    Misses(f64),
    /// Waits grow without bound: every latency limit is missed.
    Unbounded,
    /// The figure is not known (nothing predicted).
    Unknown,
}

impl Clause {
    /// The clause on `figures`; `overloaded` pools miss every latency limit.
    pub fn standing(&self, figures: &Figures, overloaded: bool) -> Standing {
        if overloaded && self.figure.is_latency() {
            return Standing::Unbounded;
        }
        match figures.value(self.figure) {
            Some(v) if v < self.limit => Standing::Meets(v),
            Some(v) => Standing::Misses(v),
            None => Standing::Unknown,
        }
    }

    /// "p99 1.41s (CI 1.30s-1.55s)", "p99 grows without bound", "drop 0.4%".
    pub fn describe(&self, figures: &Figures, overloaded: bool) -> String {
        let name = self.figure.name();
        if overloaded && self.figure.is_latency() {
            return format!("{name} grows without bound");
        }
        let (value, ci) = figures.get(self.figure);
        let Some(value) = value else {
            return format!("{name} unknown");
        };
        let show = |v: f64| self.show(v);
        match ci {
            Some([lo, hi]) => format!("{name} {} (CI {}-{})", show(value), show(lo), show(hi)),
            None => format!("{name} {}", show(value)),
        }
    }

    fn show(&self, value: f64) -> String {
        if self.figure.is_latency() {
            units::duration_s(value / 1e3)
        } else {
            format!("{}%", crate::engine::settings::trim_float(value * 100.0))
        }
    }
}

impl Slo {
    /// Whether every clause holds: `None` when one is unknown and none is missed.
    pub fn meets(&self, figures: &Figures, overloaded: bool) -> Option<bool> {
        let mut known = true;
        for clause in &self.clauses {
            match clause.standing(figures, overloaded) {
                Standing::Meets(_) => {}
                Standing::Misses(_) | Standing::Unbounded => return Some(false),
                Standing::Unknown => known = false,
            }
        }
        known.then_some(true)
    }

    /// Every clause's figure, joined: "p99 1.41s (CI 1.30s-1.55s), drop 0%".
    pub fn describe(&self, figures: &Figures, overloaded: bool) -> String {
        let parts: Vec<String> = self
            .clauses
            .iter()
            .map(|c| c.describe(figures, overloaded))
            .collect();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_in_every_form() {
        let slo = parse("p99<2s, e2e.p99<=3s,drop<1%,mean<250ms").unwrap();
        let figures: Vec<(Figure, f64)> = slo.clauses.iter().map(|c| (c.figure, c.limit)).collect();
        assert_eq!(
            figures,
            vec![
                (Figure::P99Wait, 2000.0),
                (Figure::E2eP99, 3000.0),
                (Figure::Drop, 0.01),
                (Figure::MeanWait, 250.0)
            ]
        );
    }

    #[test]
    fn bad_slos_are_refused_with_the_forms() {
        for (text, problem) in [
            ("p98<2s", "unknown SLO metric 'p98'"),
            ("p99>2s", "has no '<'"),
            ("p99<soon", "not a duration"),
            ("drop<120%", "not a share"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(problem), "{text}: {err}");
            assert!(err.contains("expected METRIC<LIMIT"), "{text}: {err}");
        }
    }

    #[test]
    fn every_clause_must_hold_and_overload_misses_latencies() {
        let slo = parse("p99<2s,drop<1%").unwrap();
        let good = Figures {
            p99_wait_ms: Some(1250.0),
            drop_fraction: Some(0.0),
            ..Figures::default()
        };
        assert_eq!(slo.meets(&good, false), Some(true));
        assert_eq!(slo.meets(&good, true), Some(false));
        let dropping = Figures {
            drop_fraction: Some(0.05),
            ..good.clone()
        };
        assert_eq!(slo.meets(&dropping, false), Some(false));
        let unknown = Figures {
            p99_wait_ms: None,
            ..good.clone()
        };
        assert_eq!(slo.meets(&unknown, false), None);
        assert_eq!(
            slo.describe(&good, true),
            "p99 grows without bound, drop 0%"
        );
        assert_eq!(slo.describe(&good, false), "p99 1.25s, drop 0%");
    }
}
