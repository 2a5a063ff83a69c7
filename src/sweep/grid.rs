//! The swept values of `--workers` and `--rate`: one value, a range, evenly or log-spaced
//! points of a range, or a list.

use crate::engine::settings::{RATE_FORMS, Rate};

/// Most points a sweep may have, its two parameters multiplied.
pub const MAX_POINTS: usize = 10_000;

const WORKER_FORMS: &str = "expected a count (4), A..B (every count from A to B), A..B:N (N evenly spaced counts), A..B:N:log (log-spaced) or a list such as 1,2,4,8, counts from 1";
const RATE_GRID_FORMS: &str = "expected a rate (9/s), A..B:N (N evenly spaced rates, such as 5/s..50/s:10), A..B:N:log (log-spaced) or a list such as 5/s,10/s,20/s";

/// The worker counts of a sweep, ascending, each once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerGrid(pub Vec<usize>);

/// The arrival rates of a sweep, events per second, ascending, each once.
#[derive(Debug, Clone, PartialEq)]
pub struct RateGrid(pub Vec<f64>);

/// What a grid's text says, before its values are parsed.
#[derive(Debug, PartialEq)]
enum Spec<'a> {
    List(Vec<&'a str>),
    Range {
        from: &'a str,
        to: &'a str,
        points: Option<usize>,
        log: bool,
    },
}

/// Splits `A..B[:N[:log]]` or `A,B,C` (a single value is a list of one).
fn spec(text: &str) -> Result<Spec<'_>, String> {
    let text = text.trim();
    let Some((from, rest)) = text.split_once("..") else {
        let items: Vec<&str> = text.split(',').map(str::trim).collect();
        if items.iter().any(|item| item.is_empty()) {
            return Err(format!("'{text}' has an empty item"));
        }
        return Ok(Spec::List(items));
    };
    let mut parts = rest.split(':').map(str::trim);
    let to = parts.next().unwrap_or_default();
    let points = parts.next();
    let log = match parts.next() {
        None => false,
        Some("log") => true,
        Some(other) => return Err(format!("'{other}' after the points is not 'log'")),
    };
    if parts.next().is_some() {
        return Err(format!("'{text}' has more parts than A..B:N:log"));
    }
    let points = match points {
        None => None,
        Some(n) => Some(n.parse::<usize>().map_err(|_| {
            format!("'{n}' is not a number of points (A..B:N takes a whole number N)")
        })?),
    };
    if points == Some(0) {
        return Err("a range needs at least one point".into());
    }
    Ok(Spec::Range {
        from: from.trim(),
        to,
        points,
        log,
    })
}

/// `n` values from `from` to `to`, both included: evenly spaced, or evenly in logarithm.
fn spaced(from: f64, to: f64, n: usize, log: bool) -> Vec<f64> {
    if n == 1 {
        return vec![from];
    }
    (0..n)
        .map(|i| {
            let f = i as f64 / (n - 1) as f64;
            if log {
                (from.ln() + (to.ln() - from.ln()) * f).exp()
            } else {
                from + (to - from) * f
            }
        })
        .collect()
}

fn too_many(n: usize) -> String {
    format!("{n} points is more than the {MAX_POINTS} a sweep may have")
}

/// Parses a `--workers` grid (clap's value parser).
pub fn parse_workers(text: &str) -> Result<WorkerGrid, String> {
    workers(text).map_err(|problem| format!("{problem}; {WORKER_FORMS}"))
}

fn workers(text: &str) -> Result<WorkerGrid, String> {
    let count = |t: &str| -> Result<usize, String> {
        let n: usize = t
            .parse()
            .map_err(|_| format!("'{t}' is not a worker count"))?;
        if n == 0 {
            return Err("worker counts start at 1, got 0".into());
        }
        Ok(n)
    };
    let values = grid(text, count, |range| {
        let (from, to) = range.bounds;
        let n = range.points.unwrap_or(to - from + 1);
        if n > MAX_POINTS {
            return Err(too_many(n));
        }
        if range.points.is_none() && range.log {
            return Err("a log-spaced range needs its number of points: A..B:N:log".into());
        }
        Ok(spaced(from as f64, to as f64, n, range.log)
            .into_iter()
            .map(|v| v.round() as usize)
            .collect())
    })?;
    Ok(WorkerGrid(values))
}

/// A range of a grid, its bounds parsed, for the kind of grid to fill in.
struct Range<'a, T> {
    bounds: (T, T),
    /// As written, for messages.
    text: (&'a str, &'a str),
    points: Option<usize>,
    log: bool,
}

/// The sorted distinct values of a grid: a list of `value`s, or a range `fill` spaces out.
fn grid<T: Copy + PartialOrd>(
    text: &str,
    value: impl Fn(&str) -> Result<T, String>,
    fill: impl FnOnce(Range<'_, T>) -> Result<Vec<T>, String>,
) -> Result<Vec<T>, String> {
    let mut values: Vec<T> = match spec(text)? {
        Spec::List(items) => items.into_iter().map(value).collect::<Result<_, _>>()?,
        Spec::Range {
            from,
            to,
            points,
            log,
        } => {
            let bounds = (value(from)?, value(to)?);
            if bounds.0 > bounds.1 {
                return Err(format!(
                    "the range {from}..{to} goes down; write {to}..{from}"
                ));
            }
            fill(Range {
                bounds,
                text: (from, to),
                points,
                log,
            })?
        }
    };
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.dedup();
    if values.len() > MAX_POINTS {
        return Err(too_many(values.len()));
    }
    Ok(values)
}

/// Parses a `--rate` grid (clap's value parser).
pub fn parse_rates(text: &str) -> Result<RateGrid, String> {
    rates(text).map_err(|problem| {
        // A bad single rate already names the rate forms.
        if problem.contains(RATE_FORMS) {
            problem
        } else {
            format!("{problem}; {RATE_GRID_FORMS}")
        }
    })
}

fn rates(text: &str) -> Result<RateGrid, String> {
    let rate = |t: &str| t.parse::<Rate>().map(Rate::get);
    let values = grid(text, rate, |range| {
        let (from, to) = range.text;
        let Some(n) = range.points else {
            return Err(format!(
                "a range of rates needs its number of points: {from}..{to}:N"
            ));
        };
        if n > MAX_POINTS {
            return Err(too_many(n));
        }
        Ok(spaced(range.bounds.0, range.bounds.1, n, range.log))
    })?;
    Ok(RateGrid(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_grids_in_every_form() {
        assert_eq!(parse_workers("3").unwrap().0, vec![3]);
        assert_eq!(parse_workers("1..4").unwrap().0, vec![1, 2, 3, 4]);
        assert_eq!(parse_workers("8,1,4,2,4").unwrap().0, vec![1, 2, 4, 8]);
        assert_eq!(parse_workers("1..32:4").unwrap().0, vec![1, 11, 22, 32]);
        assert_eq!(
            parse_workers("1..1000:4:log").unwrap().0,
            vec![1, 10, 100, 1000]
        );
        // More points than counts: each count once.
        assert_eq!(parse_workers("1..3:10").unwrap().0, vec![1, 2, 3]);
    }

    #[test]
    fn rate_grids_in_every_form() {
        let g = parse_rates("5/s..50/s:10").unwrap().0;
        assert_eq!(g.len(), 10);
        assert!((g[0] - 5.0).abs() < 1e-12 && (g[9] - 50.0).abs() < 1e-12);
        assert!((g[1] - 10.0).abs() < 1e-12);
        let g = parse_rates("1/s..100/s:3:log").unwrap().0;
        assert!((g[1] - 10.0).abs() < 1e-9, "{g:?}");
        assert_eq!(parse_rates("600/min").unwrap().0, vec![10.0]);
        assert_eq!(parse_rates("20/s,5/s").unwrap().0, vec![5.0, 20.0]);
    }

    #[test]
    fn bad_grids_say_what_is_wrong_and_what_is_accepted() {
        for (text, problem) in [
            ("0..3", "start at 1"),
            ("5..1", "goes down; write 1..5"),
            ("1..20000", "more than the 10000"),
            ("1..8:x", "not a number of points"),
            ("1..8:4:lin", "is not 'log'"),
            ("1,,2", "empty item"),
            ("many", "not a worker count"),
        ] {
            let err = parse_workers(text).unwrap_err();
            assert!(err.contains(problem), "{text}: {err}");
            assert!(err.contains("expected"), "{text}: {err}");
            assert!(!err.contains('\n'), "{text}: {err}");
        }
        for (text, problem) in [
            ("5/s..50/s", "needs its number of points"),
            ("50/s..5/s:3", "goes down"),
            ("1/s..2/s:20000", "more than the 10000"),
            ("fast", "not a rate"),
        ] {
            let err = parse_rates(text).unwrap_err();
            assert!(err.contains(problem), "{text}: {err}");
            assert!(err.contains("expected"), "{text}: {err}");
        }
    }
}
