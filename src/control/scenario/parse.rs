//! The scenario parser: TOML with spans, so every error names file, line and column, in the
//! file's words (not serde's).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{End, Scenario, ScenarioError, Start, Step};
use crate::engine::settings::{
    self, ArrivalProcess, DURATION_FORMS, MAX_BURST, MAX_SERVICE, Overflow, RATE_FORMS, Rate,
    ServiceDist, Settings, WORKER_LIMIT, WorkMode, format_duration,
};
use crate::engine::source::TraceFile;
use crate::engine::{Command, SourceKind};
use crate::model::autoscale::AutoscaleSpec;

/// Parses a scenario from TOML text; `file` names it in errors, `name` is what it is called.
pub fn parse(text: &str, file: &str, name: &str) -> Result<Scenario, ScenarioError> {
    let at = Locator { text, file };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // serde speaks Rust's types; say what the file should hold instead.
        let message = e
            .message()
            .trim_end()
            .replace('\n', "; ")
            .replace("expected i64", "expected a whole number")
            .replace("expected f64", "expected a number");
        at.error(span, message)
    })?;
    let max_workers = match &raw.start {
        Some(start) => match &start.max_workers {
            Some(m) => Some(count_in(&at, m, "max_workers", 1, WORKER_LIMIT as i64)? as usize),
            None => None,
        },
        None => None,
    };
    // Workers allowed when neither the scenario nor the command line says: the default's.
    let worker_limit = max_workers.unwrap_or(Settings::default().max_workers);
    let start = match &raw.start {
        Some(s) => {
            let mut changes = s.changes().commands(&at, worker_limit)?;
            if let Some(paused) = &s.paused {
                changes.push(Command::Pause(*paused.get_ref()));
            }
            let seed = match &s.seed {
                Some(seed) => Some(count_in(&at, seed, "seed", 0, i64::MAX)? as u64),
                None => None,
            };
            let source = match &s.source {
                Some(source) => Some(source_in(&at, source)?),
                None => None,
            };
            Start {
                changes,
                max_workers,
                seed,
                source,
                autoscale: autoscale_in(&at, s.autoscale.as_ref())?,
            }
        }
        None => Start::default(),
    };
    let steps = steps(&at, &raw.step, worker_limit)?;
    let end = match &raw.end {
        Some(end) => end_of(&at, end)?,
        None => End::default(),
    };
    Ok(Scenario {
        name: name.to_string(),
        description: raw
            .description
            .map(|d| one_line(d.get_ref()))
            .unwrap_or_default(),
        start,
        steps,
        end,
    })
}

fn steps(
    at: &Locator,
    raw: &[Spanned<RawStep>],
    worker_limit: usize,
) -> Result<Vec<Step>, ScenarioError> {
    let mut steps: Vec<Step> = Vec::with_capacity(raw.len());
    for spanned in raw {
        let step = spanned.get_ref();
        let Some(time) = &step.at else {
            return Err(at.error(
                spanned.span(),
                "a step needs `at`, its time from the start (such as at = \"20s\")",
            ));
        };
        let at_time = duration_in(at, time, "at")?;
        let at_ns = at_time.as_nanos().min(u128::from(u64::MAX)) as u64;
        if let Some(previous) = steps.last().filter(|p| at_ns < p.at_ns) {
            return Err(at.error(
                time.span(),
                format!(
                    "step at {} is earlier than the previous step at {}; steps must be in time order",
                    format_duration(at_time),
                    format_duration(Duration::from_nanos(previous.at_ns))
                ),
            ));
        }
        let mut commands = step.changes().commands(at, worker_limit)?;
        if let Some(pause) = &step.pause {
            commands.push(Command::Pause(*pause.get_ref()));
        }
        if step.reset_stats.as_ref().is_some_and(|r| *r.get_ref()) {
            commands.push(Command::ResetStats);
        }
        steps.push(Step {
            at_ns,
            commands,
            caption: step.caption.as_ref().map(|c| one_line(c.get_ref())),
            autoscale: autoscale_in(at, step.autoscale.as_ref())?,
        });
    }
    Ok(steps)
}

fn end_of(at: &Locator, end: &Spanned<RawEnd>) -> Result<End, ScenarioError> {
    let raw = end.get_ref();
    let end_at = match &raw.at {
        Some(t) => {
            let d = duration_in(at, t, "at")?;
            if d.is_zero() {
                return Err(at.error(
                    t.span(),
                    "the end must be later than 0 (such as at = \"90s\")",
                ));
            }
            Some(d)
        }
        None => None,
    };
    let events = match &raw.events {
        Some(n) => Some(count_in(at, n, "events", 1, i64::MAX)? as u64),
        None => None,
    };
    if end_at.is_none() && events.is_none() {
        return Err(at.error(
            end.span(),
            "[end] needs `at` (a time such as \"90s\") or `events` (a count such as 100)",
        ));
    }
    Ok(End { at: end_at, events })
}

/// Collapses line breaks: captions and descriptions show on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Turns byte offsets into `file:line:column` errors.
struct Locator<'a> {
    text: &'a str,
    file: &'a str,
}

impl Locator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_column(self.text, span.start);
        ScenarioError {
            file: self.file.to_string(),
            line,
            column,
            // Messages quote values from the file, which may hold line breaks or escapes.
            message: crate::text::escape_controls(&message.into()),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    description: Option<Spanned<String>>,
    start: Option<RawStart>,
    #[serde(default)]
    step: Vec<Spanned<RawStep>>,
    end: Option<Spanned<RawEnd>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnd {
    at: Option<Spanned<toml::Value>>,
    events: Option<Spanned<i64>>,
}

/// Declares a raw table with the settings keys that both `[start]` and `[[step]]` take.
macro_rules! with_settings_keys {
    ($name:ident { $($field:ident : $ty:ty,)* }) => {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            arrival: Option<Spanned<String>>,
            rate: Option<Spanned<toml::Value>>,
            burst: Option<Spanned<i64>>,
            service: Option<Spanned<toml::Value>>,
            service_dist: Option<Spanned<String>>,
            work: Option<Spanned<String>>,
            workers: Option<Spanned<i64>>,
            queue_cap: Option<Spanned<toml::Value>>,
            overflow: Option<Spanned<String>>,
            fail_rate: Option<Spanned<toml::Value>>,
            $($field: $ty,)*
        }

        impl $name {
            fn changes(&self) -> Changes<'_> {
                Changes {
                    arrival: self.arrival.as_ref(),
                    rate: self.rate.as_ref(),
                    burst: self.burst.as_ref(),
                    service: self.service.as_ref(),
                    service_dist: self.service_dist.as_ref(),
                    work: self.work.as_ref(),
                    workers: self.workers.as_ref(),
                    queue_cap: self.queue_cap.as_ref(),
                    overflow: self.overflow.as_ref(),
                    fail_rate: self.fail_rate.as_ref(),
                }
            }
        }
    };
}

with_settings_keys!(RawStart {
    source: Option<Spanned<String>>,
    max_workers: Option<Spanned<i64>>,
    paused: Option<Spanned<bool>>,
    seed: Option<Spanned<i64>>,
    autoscale: Option<Spanned<String>>,
});

with_settings_keys!(RawStep {
    at: Option<Spanned<toml::Value>>,
    caption: Option<Spanned<String>>,
    pause: Option<Spanned<bool>>,
    reset_stats: Option<Spanned<bool>>,
    autoscale: Option<Spanned<String>>,
});

/// The settings keys of one table, borrowed.
struct Changes<'a> {
    arrival: Option<&'a Spanned<String>>,
    rate: Option<&'a Spanned<toml::Value>>,
    burst: Option<&'a Spanned<i64>>,
    service: Option<&'a Spanned<toml::Value>>,
    service_dist: Option<&'a Spanned<String>>,
    work: Option<&'a Spanned<String>>,
    workers: Option<&'a Spanned<i64>>,
    queue_cap: Option<&'a Spanned<toml::Value>>,
    overflow: Option<&'a Spanned<String>>,
    fail_rate: Option<&'a Spanned<toml::Value>>,
}

impl Changes<'_> {
    /// The engine commands these keys ask for, checked; workers first, so a step reads in the
    /// order a person would press the keys.
    fn commands(&self, at: &Locator, worker_limit: usize) -> Result<Vec<Command>, ScenarioError> {
        let mut out = Vec::new();
        if let Some(w) = self.workers {
            out.push(Command::SetWorkers(workers_in(at, w, worker_limit)?));
        }
        if let Some(r) = self.rate {
            out.push(Command::SetRate(rate_in(at, r)?));
        }
        if let Some(a) = self.arrival {
            out.push(Command::SetArrival(named_in::<ArrivalProcess>(
                at, a, "arrival",
            )?));
        }
        if let Some(b) = self.burst {
            out.push(Command::SetBurst(
                count_in(at, b, "burst", 1, i64::from(MAX_BURST))? as u32,
            ));
        }
        if let Some(s) = self.service {
            out.push(Command::SetService(service_in(at, s)?));
        }
        if let Some(d) = self.service_dist {
            out.push(Command::SetServiceDist(named_in::<ServiceDist>(
                at,
                d,
                "service_dist",
            )?));
        }
        if let Some(w) = self.work {
            out.push(Command::SetWork(named_in::<WorkMode>(at, w, "work")?));
        }
        if let Some(q) = self.queue_cap {
            out.push(Command::SetQueueCap(queue_cap_in(at, q)?));
        }
        if let Some(o) = self.overflow {
            out.push(Command::SetOverflow(named_in::<Overflow>(
                at, o, "overflow",
            )?));
        }
        if let Some(f) = self.fail_rate {
            out.push(Command::SetFailRate(fraction_in(at, f, "fail_rate")?));
        }
        Ok(out)
    }
}

/// `autoscale = "hpa:target=0.8"`: a policy for `--autoscale` (at the start, or from a step on).
fn autoscale_in(
    at: &Locator,
    value: Option<&Spanned<String>>,
) -> Result<Option<AutoscaleSpec>, ScenarioError> {
    value
        .map(|v| {
            v.get_ref()
                .parse()
                .map_err(|e: String| at.error(v.span(), format!("autoscale {e}")))
        })
        .transpose()
}

/// `[start] source`: gen, stdin or trace:FILE. A trace's path is read beside the scenario
/// file, else as given; the path of a bundled trace (`assets/traces/NAME.csv`) is the bundled
/// copy when no such file exists, so a bundled scenario replays it from any directory.
fn source_in(at: &Locator, value: &Spanned<String>) -> Result<SourceKind, ScenarioError> {
    let text = value.get_ref();
    let Some(path) = text.strip_prefix("trace:") else {
        return match text.as_str() {
            "gen" => Ok(SourceKind::Generator),
            "stdin" => Ok(SourceKind::Stdin),
            _ => Err(at.error(
                value.span(),
                format!("source must be gen, stdin or trace:FILE, got '{text}'"),
            )),
        };
    };
    let beside = Path::new(at.file)
        .parent()
        .map(|dir| dir.join(path))
        .filter(|p| p.is_file());
    let path = beside.unwrap_or_else(|| PathBuf::from(path));
    TraceFile::open(&path)
        .map(|trace| SourceKind::Trace(trace, 1))
        .map_err(|e| at.error(value.span(), format!("source: {e}")))
}

/// A worker count, within the scenario's worker limit.
fn workers_in(at: &Locator, w: &Spanned<i64>, worker_limit: usize) -> Result<usize, ScenarioError> {
    let n = count_in(at, w, "workers", 1, worker_limit as i64).map_err(|mut e| {
        if *w.get_ref() > worker_limit as i64 && worker_limit < WORKER_LIMIT {
            e.message.push_str(" (raise [start] max_workers for more)");
        }
        e
    })?;
    Ok(n as usize)
}

/// A mean service time, at most `MAX_SERVICE`.
fn service_in(at: &Locator, s: &Spanned<toml::Value>) -> Result<Duration, ScenarioError> {
    let d = duration_in(at, s, "service")?;
    if d > MAX_SERVICE {
        return Err(at.error(
            s.span(),
            format!(
                "service must be at most {}, got {}",
                format_duration(MAX_SERVICE),
                format_duration(d)
            ),
        ));
    }
    Ok(d)
}

fn count_in(
    at: &Locator,
    value: &Spanned<i64>,
    key: &str,
    min: i64,
    max: i64,
) -> Result<i64, ScenarioError> {
    let n = *value.get_ref();
    if n < min || n > max {
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        return Err(at.error(value.span(), format!("{key} must be {range}, got {n}")));
    }
    Ok(n)
}

fn named_in<T: std::str::FromStr<Err = String>>(
    at: &Locator,
    value: &Spanned<String>,
    key: &str,
) -> Result<T, ScenarioError> {
    value
        .get_ref()
        .parse()
        .map_err(|e| at.error(value.span(), format!("{key}: {e}")))
}

fn rate_in(at: &Locator, value: &Spanned<toml::Value>) -> Result<Rate, ScenarioError> {
    let result = match value.get_ref() {
        toml::Value::String(s) => s.parse::<Rate>(),
        toml::Value::Integer(n) => {
            Rate::per_s(*n as f64).map_err(|e| format!("{e}; expected {RATE_FORMS}"))
        }
        toml::Value::Float(x) => Rate::per_s(*x).map_err(|e| format!("{e}; expected {RATE_FORMS}")),
        other => Err(format!(
            "expected {RATE_FORMS} (\"2.5/s\"), got {}",
            other.type_str()
        )),
    };
    result.map_err(|e| at.error(value.span(), format!("bad rate: {e}")))
}

fn duration_in(
    at: &Locator,
    value: &Spanned<toml::Value>,
    key: &str,
) -> Result<Duration, ScenarioError> {
    let result = match value.get_ref() {
        toml::Value::String(s) => settings::parse_duration(s),
        toml::Value::Integer(0) => Ok(Duration::ZERO),
        toml::Value::Integer(n) => Err(format!(
            "{n} has no unit; expected {DURATION_FORMS}, in quotes (\"{n}s\")"
        )),
        other => Err(format!(
            "expected {DURATION_FORMS}, in quotes (\"500ms\"), got {}",
            other.type_str()
        )),
    };
    result.map_err(|e| at.error(value.span(), format!("bad duration for {key}: {e}")))
}

fn queue_cap_in(
    at: &Locator,
    value: &Spanned<toml::Value>,
) -> Result<Option<usize>, ScenarioError> {
    match value.get_ref() {
        toml::Value::Integer(n) if *n >= 1 => Ok(Some(*n as usize)),
        toml::Value::String(s) if s == "unbounded" => Ok(None),
        other => Err(at.error(
            value.span(),
            format!("queue_cap must be a whole number of at least 1 or \"unbounded\", got {other}"),
        )),
    }
}

fn fraction_in(
    at: &Locator,
    value: &Spanned<toml::Value>,
    key: &str,
) -> Result<f64, ScenarioError> {
    let p = match value.get_ref() {
        toml::Value::Integer(n) => *n as f64,
        toml::Value::Float(x) => *x,
        other => {
            return Err(at.error(
                value.span(),
                format!("{key} must be a number from 0 to 1, got {other}"),
            ));
        }
    };
    if !(0.0..=1.0).contains(&p) {
        return Err(at.error(
            value.span(),
            format!("{key} must be between 0 and 1, got {p}"),
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::scenario::{BUNDLED, log_lines};

    fn parse_ok(text: &str) -> Scenario {
        parse(text, "t.toml", "t").unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> ScenarioError {
        parse(text, "t.toml", "t").expect_err("should not parse")
    }

    #[test]
    fn a_full_scenario() {
        let s = parse_ok(
            r#"
description = "two steps"
[start]
rate = "10/s"
service = "500ms"
workers = 4
queue_cap = 20
overflow = "drop-new"
seed = 7
[[step]]
at = "0s"
caption = "start"
[[step]]
at = "2.5s"
workers = 5
rate = 12
pause = true
caption = ""
[end]
at = "1m"
"#,
        );
        assert_eq!(s.description, "two steps");
        assert_eq!(s.start.seed, Some(7));
        assert_eq!(
            s.start.changes,
            vec![
                Command::SetWorkers(4),
                Command::SetRate(Rate::per_s(10.0).unwrap()),
                Command::SetService(Duration::from_millis(500)),
                Command::SetQueueCap(Some(20)),
                Command::SetOverflow(Overflow::DropNew),
            ]
        );
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[1].at_ns, 2_500_000_000);
        assert_eq!(
            s.steps[1].commands,
            vec![
                Command::SetWorkers(5),
                Command::SetRate(Rate::per_s(12.0).unwrap()),
                Command::Pause(true)
            ]
        );
        assert_eq!(s.steps[1].caption.as_deref(), Some(""));
        assert_eq!(s.end.at, Some(Duration::from_secs(60)));
        assert_eq!(
            log_lines(&s.steps[1], s.steps[1].at_ns),
            vec!["2.500s scenario workers 5, rate 12/s, pause"]
        );
        assert_eq!(log_lines(&s.steps[0], 0), vec!["0.000s caption  start"]);
        // The time printed is when the step was applied.
        assert_eq!(
            log_lines(&s.steps[0], 3_000_000),
            vec!["0.003s caption  start"]
        );
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("µx\ny", 2), (1, 2));
    }

    #[test]
    fn errors_point_at_the_value() {
        let e = parse_err("[start]\nworkers = 0\n");
        assert_eq!((e.line, e.column), (2, 11), "{e}");
        assert!(
            e.message.contains("workers must be between 1 and 256"),
            "{e}"
        );
        let e = parse_err("[[step]]\nat = \"soon\"\n");
        assert_eq!((e.line, e.column), (2, 6), "{e}");
        assert!(e.message.contains("bad duration"), "{e}");
    }

    #[test]
    fn every_bundled_scenario_parses() {
        for (name, text) in BUNDLED {
            let s = parse(text, name, name).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.description.is_empty(), "{name} has no description");
            assert!(
                s.end.at.is_some() || s.end.events.is_some(),
                "{name} never ends"
            );
        }
    }
}
