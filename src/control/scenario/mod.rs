//! Scenarios: starting settings, a timeline of steps at model times (settings changes and
//! captions) and an end. `parse` reads them from TOML; `control::timeline` plays the steps.

mod parse;

pub use parse::{line_column, parse};

use std::path::Path;
use std::time::Duration;

use crate::engine::settings::format_duration;
use crate::engine::{Command, SourceKind};
use crate::error::Error;
use crate::model::autoscale::AutoscaleSpec;

/// Scenarios shipped inside the binary, so `--scenario NAME` works from any directory.
pub const BUNDLED: &[(&str, &str)] = &[
    ("seed", include_str!("../../../assets/scenarios/seed.toml")),
    (
        "falling-behind",
        include_str!("../../../assets/scenarios/falling-behind.toml"),
    ),
    (
        "burst",
        include_str!("../../../assets/scenarios/burst.toml"),
    ),
    (
        "cpu-bound",
        include_str!("../../../assets/scenarios/cpu-bound.toml"),
    ),
    (
        "bounded-queue",
        include_str!("../../../assets/scenarios/bounded-queue.toml"),
    ),
    (
        "replay-api",
        include_str!("../../../assets/scenarios/replay-api.toml"),
    ),
    (
        "autoscale-hpa",
        include_str!("../../../assets/scenarios/autoscale-hpa.toml"),
    ),
    (
        "autoscale-compare",
        include_str!("../../../assets/scenarios/autoscale-compare.toml"),
    ),
];

/// A parsed scenario: where the run starts, what changes when, and when it ends.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The file's stem (`falling-behind`).
    pub name: String,
    pub description: String,
    pub start: Start,
    /// In time order.
    pub steps: Vec<Step>,
    pub end: End,
}

/// The starting settings the scenario gives; everything else keeps the command line's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Start {
    /// Settings changes, applied in order to the defaults (see `Settings::apply`).
    pub changes: Vec<Command>,
    pub max_workers: Option<usize>,
    pub seed: Option<u64>,
    /// Where events come from (`source = "trace:..."`); none keeps the command line's.
    pub source: Option<SourceKind>,
    /// An autoscaling policy (`autoscale = "hpa"`); `--autoscale` overrides it.
    pub autoscale: Option<AutoscaleSpec>,
}

/// When the source stops (then the pool drains the queue and the run finishes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct End {
    /// Model time.
    pub at: Option<Duration>,
    pub events: Option<u64>,
}

/// One point of the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Model time, ns since the run began.
    pub at_ns: u64,
    pub commands: Vec<Command>,
    /// A new caption (`Some("")` clears it); `None` keeps the current one.
    pub caption: Option<String>,
    /// The autoscaling policy from here on (a fresh one, resumed if it was paused).
    pub autoscale: Option<AutoscaleSpec>,
}

/// A scenario file that cannot be used, pointing at the place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Finds `name_or_path`: a file if one exists there, else a bundled scenario by name.
pub fn load(name_or_path: &str) -> Result<Scenario, Error> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ScenarioUnreadable {
            path: name_or_path.to_string(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| name_or_path.to_string(), |s| s.to_string_lossy().into());
        return Ok(parse(&text, name_or_path, &name)?);
    }
    let wanted = name_or_path.trim_end_matches(".toml");
    match BUNDLED.iter().find(|(name, _)| *name == wanted) {
        Some((name, text)) => Ok(parse(text, &format!("{name}.toml"), name)?),
        None => Err(Error::ScenarioNotFound {
            name: name_or_path.to_string(),
            suggestion: closest_bundled(wanted),
            bundled: BUNDLED
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// The bundled scenario a mistyped name most likely meant: case aside, at least 70% alike by
/// Damerau-Levenshtein (one letter wrong, missing, extra or swapped in a short name; `_` for
/// `-`), and `None` when no name is that close.
fn closest_bundled(wanted: &str) -> Option<&'static str> {
    let wanted = wanted.to_lowercase();
    BUNDLED
        .iter()
        .map(|(name, _)| (strsim::normalized_damerau_levenshtein(&wanted, name), *name))
        .filter(|(alike, _)| *alike >= 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// `name  description` for each bundled scenario.
pub fn bundled_list() -> Vec<(&'static str, String)> {
    BUNDLED
        .iter()
        .map(|(name, text)| {
            let description = parse(text, name, name)
                .map(|s| s.description)
                .unwrap_or_else(|e| format!("(does not parse: {e})"));
            (*name, description)
        })
        .collect()
}

/// What a command changes, in the words of the settings line: `workers 5`, `rate 10/s`.
pub fn describe(command: &Command) -> String {
    match command {
        Command::SetWorkers(n) => format!("workers {n}"),
        Command::SetRate(rate) => format!("rate {rate}"),
        Command::SetArrival(a) => format!("arrival {a}"),
        Command::SetBurst(b) => format!("burst {b}"),
        Command::SetService(d) => format!("service {}", format_duration(*d)),
        Command::SetServiceDist(d) => format!("service distribution {d}"),
        Command::SetWork(w) => format!("work {w}"),
        Command::SetQueueCap(Some(cap)) => format!("queue cap {cap}"),
        Command::SetQueueCap(None) => "queue unbounded".into(),
        Command::SetOverflow(o) => format!("overflow {o}"),
        Command::SetFailRate(p) => format!("fail rate {p}"),
        Command::Pause(true) => "pause".into(),
        Command::Pause(false) => "resume".into(),
        Command::ResetStats => "reset statistics".into(),
        Command::EndSource => "end the source".into(),
        Command::Stop => "stop".into(),
    }
}

/// A step as log lines (model time first, like the engine's log): what it changes, its caption.
/// `applied_ns` is the model time the step was applied, not its schedule, so a log shows when
/// it really happened.
pub fn log_lines(step: &Step, applied_ns: u64) -> Vec<String> {
    let t = applied_ns as f64 / 1e9;
    let mut lines = Vec::new();
    if !step.commands.is_empty() {
        let changes: Vec<String> = step.commands.iter().map(describe).collect();
        lines.push(format!("{t:.3}s scenario {}", changes.join(", ")));
    }
    if let Some(caption) = step.caption.as_deref().filter(|c| !c.is_empty()) {
        lines.push(format!("{t:.3}s caption  {caption}"));
    }
    lines
}
