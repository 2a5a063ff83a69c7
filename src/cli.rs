//! The command line: clap definitions, presets, and turning flags into an engine configuration.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::control::scenario::{self, Scenario};
use crate::engine::settings::{
    self, ArrivalProcess, MAX_BURST, Overflow, Rate, ServiceDist, Settings, WorkMode,
};
use crate::engine::source::TraceFile;
use crate::engine::source::broker::tls::Trust;
use crate::engine::source::broker::{BrokerOptions, BrokerSource, BrokerUrl, Protocol};
use crate::engine::work::{Exec, OutputFile};
use crate::engine::{EngineConfig, SettingsError, SourceKind};
use crate::error::Error;
use crate::model::autoscale::AutoscaleSpec;
use std::sync::Arc;

const EXAMPLES: &str = "\
Examples:
  backlog                                   live monitor: a pool one worker short, press + to catch up
  backlog --preset seed --headless          the article's run: 1 event/s, 5 s of work, 5 workers, 10 events
  backlog --rate 150/min --service 2s --workers 4
  backlog --arrival poisson --service-dist exp --rate 900/s --service 2ms --workers 2 \\
          --duration 10s --headless --json  M/M/2 at utilisation 0.9, summary as JSON
  backlog --work cpu --workers 8 --service 50ms --rate 30/s   cpu-bound: workers past the cores stop helping
  backlog --queue-cap 20 --overflow drop-old --rate 20/s      a bounded queue that sheds the oldest events
  backlog --scenario falling-behind         a scripted story with captions (see --list-scenarios)
  backlog --scenario falling-behind --speed 4 --offscreen --size 120x36 --record demo.gif
                                            record it as a GIF without a terminal
  backlog completions bash > /etc/bash_completion.d/backlog
";

#[derive(Debug, Parser)]
#[command(
    name = "backlog",
    version,
    about = "Watch a pool of CPU workers keep up with a stream of events, or fall behind.",
    long_about = "Watch a pool of CPU workers keep up with a stream of events, or fall behind.\n\n\
        An async event source (tokio) sends events through a queue (flume) to worker loops on a \
        rayon pool. backlog measures queue wait, service and end-to-end latency, and shows what \
        queueing theory predicts next to what was measured. Change workers and rate with keys \
        while it runs, or run it headless for logs, JSON and CSV.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Tool>,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Tool {
    /// Print shell completions to stdout.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
    /// Publish the generator's events to a broker: mqtt://HOST:PORT/TOPIC or
    /// redis://HOST:PORT/STREAM (see docs/scaling-out.md).
    Publish(PublishArgs),
    /// Replay a run saved with --save-run: the monitor with seek, or --headless for its log,
    /// --json summary or --csv series (see docs/runlog.md).
    Replay(ReplayArgs),
    /// Export a run saved with --save-run: --perfetto OUT.json for ui.perfetto.dev.
    Export(ExportArgs),
    /// Run the pipeline once per point of a grid of workers and rates, each point measured
    /// beside theory's prediction; or search the fewest workers that meet an SLO (docs/sweep.md).
    Sweep(Box<crate::sweep::SweepArgs>),
}

/// `backlog publish URL`: the generator's options, for the messages it sends.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Where to publish: mqtt://HOST:PORT/TOPIC (QoS 1) or redis://HOST:PORT/STREAM (XADD);
    /// a password comes from BACKLOG_MQTT_PASSWORD or BACKLOG_REDIS_PASSWORD.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Arrival process: fixed, poisson, bursty. [default: fixed]
    #[arg(long, value_parser = parse_with::<ArrivalProcess>)]
    pub arrival: Option<ArrivalProcess>,
    /// Mean rate: 2.5, 2.5/s, 150/min. [default: 1/s]
    #[arg(long, value_parser = parse_with::<Rate>, allow_hyphen_values = true)]
    pub rate: Option<Rate>,
    /// Messages per group for bursty arrivals. [default: 5]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_BURST as i64))]
    pub burst: Option<u32>,
    /// Mean service demand each message states: 5s, 250ms, 0. [default: 5s]
    #[arg(long, value_parser = parse_service, allow_hyphen_values = true)]
    pub service: Option<Duration>,
    /// Demand distribution: fixed, exp, uniform, lognormal. [default: fixed]
    #[arg(long, value_parser = parse_with::<ServiceDist>)]
    pub service_dist: Option<ServiceDist>,
    /// Stop after N messages.
    #[arg(long, value_parser = parse_count_u64)]
    pub events: Option<u64>,
    /// Stop after this long.
    #[arg(long, value_parser = parse_positive_duration, allow_hyphen_values = true)]
    pub duration: Option<Duration>,
    /// Seed of the arrivals and demands. [default: 1]
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// With mqtts:// or rediss://: trust the CA certificates in this PEM file instead of the
    /// system's roots (the server's certificate is always verified).
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
}

impl PublishArgs {
    /// What to publish: the article's generator (fixed 1/s, 5 s fixed) unless told otherwise.
    pub fn plan(&self) -> Result<crate::publish::PublishPlan, Error> {
        let mut url =
            BrokerUrl::parse(&self.url).map_err(|e| Error::Usage(format!("publish: {e}")))?;
        trust(&mut url, self.ca_file.as_deref())?;
        let defaults = Settings::default();
        Ok(crate::publish::PublishPlan {
            url,
            arrival: self.arrival.unwrap_or(defaults.arrival),
            rate: self.rate.unwrap_or(defaults.rate),
            burst: self.burst.unwrap_or(defaults.burst),
            service: self.service.unwrap_or(defaults.service),
            service_dist: self.service_dist.unwrap_or(defaults.service_dist),
            events: self.events,
            duration: self.duration,
            seed: self.seed.unwrap_or(1),
        })
    }
}

/// What a TLS address trusts (`--ca-file`, else the system's roots), checked before anything
/// runs; `--ca-file` with a plain address is refused.
fn trust(url: &mut BrokerUrl, ca_file: Option<&std::path::Path>) -> Result<(), Error> {
    match (url.tls, ca_file) {
        (false, Some(_)) => Err(Error::Usage(format!(
            "--ca-file is for TLS addresses (mqtts://, rediss://); {url} is not one"
        ))),
        (false, None) => Ok(()),
        (true, Some(path)) => {
            url.trust = Trust::ca_file(path).map_err(Error::Usage)?;
            Ok(())
        }
        (true, None) => url.trust.roots().map(drop).map_err(Error::Usage),
    }
}

/// `backlog replay FILE`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The run log, written by --save-run FILE.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// No monitor: print the run's log (or --json / --csv), as the live run did.
    #[arg(long)]
    pub headless: bool,

    /// With --headless: the JSON summary the live run printed.
    #[arg(long, requires = "headless")]
    pub json: bool,

    /// With --headless: write the time series to FILE as CSV.
    #[arg(long, value_name = "FILE", requires = "headless")]
    pub csv: Option<PathBuf>,

    /// Replay speed at the start (model time per wall time; ] and [ double and halve it).
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, allow_hyphen_values = true)]
    pub speed: f64,

    /// Monitor frames per second.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub fps: u32,
}

/// `backlog export FILE --perfetto OUT.json`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run log, written by --save-run FILE.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Write Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing) to OUT.json.
    #[arg(long, value_name = "OUT.json")]
    pub perfetto: PathBuf,

    /// Export from this model time on (e.g. 30s): jobs that start or wait from then.
    #[arg(long, value_name = "TIME", value_parser = settings::parse_duration)]
    pub from: Option<Duration>,

    /// Export up to this model time (e.g. 90s).
    #[arg(long, value_name = "TIME", value_parser = parse_positive_duration)]
    pub to: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// The article's program: fixed 1 event/s, 5 s fixed sleep work, 5 workers, 10 events.
    Seed,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Start from a preset; other options override its values.
    #[arg(long, value_enum, conflicts_with = "scenario")]
    pub preset: Option<Preset>,

    /// Play a scenario: a TOML file, or the name of a bundled one (see --list-scenarios). Its
    /// starting settings replace the defaults; options given on the command line override them
    /// (--duration and --events override its end).
    #[arg(long, value_name = "FILE|NAME", help_heading = "Scenarios")]
    pub scenario: Option<String>,

    /// Print the bundled scenarios with their descriptions, and exit.
    #[arg(long, help_heading = "Scenarios")]
    pub list_scenarios: bool,

    /// Where events come from: gen (the built-in generator, shaped by the options below), stdin
    /// (one event per line) or trace:FILE (a CSV of arrival_s,service_s replayed with its gaps;
    /// see docs/sources.md). [default: gen]
    #[arg(long, value_parser = parse_source, help_heading = "Arrivals")]
    pub source: Option<SourceKind>,

    /// With --source trace:FILE: play the trace N times, each pass one mean gap after the last.
    #[arg(long = "loop", value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = "Arrivals")]
    pub loops: Option<u64>,

    /// With an MQTT source: subscribe as $share/GROUP/TOPIC, so the group's members split the
    /// stream.
    #[arg(long, value_name = "GROUP", help_heading = "Brokers")]
    pub share: Option<String>,

    /// With a Redis source: the consumer group (created at the stream's start if missing).
    /// [default: backlog]
    #[arg(long, value_name = "GROUP", help_heading = "Brokers")]
    pub group: Option<String>,

    /// With a Redis source: this consumer's name in the group (give the same one after a
    /// restart to finish its pending entries). [default: backlog-GROUP-HOST-PID]
    #[arg(long, value_name = "NAME", help_heading = "Brokers")]
    pub consumer: Option<String>,

    /// With an MQTT source: the client id, which names the persistent session (give the same
    /// one after a restart to resume it). [default: backlog-GROUP-HOST-PID]
    #[arg(long, value_name = "ID", help_heading = "Brokers")]
    pub client_id: Option<String>,

    /// With a Redis source: take over entries another consumer left pending this long. [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, help_heading = "Brokers")]
    pub claim_after: Option<Duration>,

    /// With a broker source: end when no message has come for this long.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, help_heading = "Brokers")]
    pub idle_end: Option<Duration>,

    /// With mqtts:// or rediss://: trust the CA certificates in this PEM file instead of the
    /// system's roots (the server's certificate is always verified).
    #[arg(long, value_name = "PATH", help_heading = "Brokers")]
    pub ca_file: Option<PathBuf>,

    /// Arrival process: fixed (even gaps), poisson (exponential gaps), bursty (groups of --burst). [default: poisson]
    #[arg(long, value_parser = parse_with::<ArrivalProcess>, help_heading = "Arrivals")]
    pub arrival: Option<ArrivalProcess>,

    /// Mean arrival rate: 2.5, 2.5/s, 150/min, 3600/h. [default: 9/s]
    #[arg(long, value_parser = parse_with::<Rate>, allow_hyphen_values = true, help_heading = "Arrivals")]
    pub rate: Option<Rate>,

    /// Events per group for bursty arrivals (groups come at rate/N per second). [default: 5]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=MAX_BURST as i64), help_heading = "Arrivals")]
    pub burst: Option<u32>,

    /// Mean service demand per event: 5s, 250ms, 0. [default: 500ms]
    #[arg(long, value_parser = parse_service, allow_hyphen_values = true, help_heading = "Work")]
    pub service: Option<Duration>,

    /// Service demand distribution around the mean: fixed, exp, uniform (0 to 2x mean), lognormal (cv 1). [default: exp]
    #[arg(long, value_parser = parse_with::<ServiceDist>, help_heading = "Work")]
    pub service_dist: Option<ServiceDist>,

    /// Work mode: sleep (wait on the wall clock, the article's time.sleep), cpu (burn CPU time) or exec (run --exec per event). [default: sleep]
    #[arg(long, value_parser = parse_with::<WorkMode>, help_heading = "Work")]
    pub work: Option<WorkMode>,

    /// Run this command per event, without a shell (split into words as a shell would): {} is
    /// replaced by the event's payload (or its id), which is also written to its stdin. Exit
    /// status 0 is success. Implies --work exec.
    #[arg(long, value_name = "COMMAND", help_heading = "Work")]
    pub exec: Option<String>,

    /// With --exec: kill a command that runs longer than this (counted as failed).
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, requires = "exec", help_heading = "Work")]
    pub exec_timeout: Option<Duration>,

    /// With --exec: append every command's stdout to FILE, each job's output whole (without it,
    /// stdout is discarded). Opened before the run.
    #[arg(long, value_name = "FILE", requires = "exec", help_heading = "Work")]
    pub exec_output: Option<PathBuf>,

    /// Fraction of events whose work fails (half of them by panicking). [default: 0]
    #[arg(long, value_parser = parse_fraction, allow_hyphen_values = true, help_heading = "Work")]
    pub fail_rate: Option<f64>,

    /// Worker loops at the start (change live with + and -). [default: 4]
    #[arg(long, value_parser = parse_count, allow_hyphen_values = true, help_heading = "Workers and queue")]
    pub workers: Option<usize>,

    /// Most workers the pool can grow to (1..=4096). [default: 256]
    #[arg(long, value_parser = parse_count, help_heading = "Workers and queue")]
    pub max_workers: Option<usize>,

    /// Let a policy set the worker count as the run goes: hpa, keda, celery:MIN,MAX or
    /// target-wait, each with optional :key=value,... (warmup=D delays new workers; see
    /// docs/autoscale.md). `A` pauses and resumes it in the monitor.
    #[arg(long, value_name = "POLICY[:KEY=VALUE,...]", value_parser = parse_with::<AutoscaleSpec>, help_heading = "Workers and queue")]
    pub autoscale: Option<AutoscaleSpec>,

    /// Bound the queue to N events (unbounded if not given).
    #[arg(long, value_parser = parse_count, help_heading = "Workers and queue")]
    pub queue_cap: Option<usize>,

    /// What a full bounded queue does with a new event: block (the source waits), drop-new, drop-old. [default: block]
    #[arg(long, value_parser = parse_with::<Overflow>, help_heading = "Workers and queue")]
    pub overflow: Option<Overflow>,

    /// Stop the source after N events, then drain the queue and finish.
    #[arg(long, value_parser = parse_count_u64, help_heading = "Run")]
    pub events: Option<u64>,

    /// Stop the source after this much (model) time, then drain and finish.
    #[arg(long, value_parser = parse_positive_duration, allow_hyphen_values = true, help_heading = "Run")]
    pub duration: Option<Duration>,

    /// Seed of the random streams (arrivals, service demands, failures): 0 to 2^64-1. [default: 1]
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true, help_heading = "Run")]
    pub seed: Option<u64>,

    /// Run the model this many times faster than the wall clock; all figures stay in model time.
    #[arg(long, default_value_t = 1.0, value_parser = parse_speed, allow_hyphen_values = true, help_heading = "Run")]
    pub speed: f64,

    /// No terminal UI: print a log line per happening (or --json / --csv).
    #[arg(long, help_heading = "Output")]
    pub headless: bool,

    /// With --headless: print one JSON summary at the end instead of the log.
    #[arg(long, requires = "headless", help_heading = "Output")]
    pub json: bool,

    /// With --headless: write the time series (queue depth, rates, busy workers) to FILE as CSV.
    #[arg(
        long,
        value_name = "FILE",
        requires = "headless",
        help_heading = "Output"
    )]
    pub csv: Option<PathBuf>,

    /// Monitor frames per second.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=120), help_heading = "Output")]
    pub fps: u32,

    /// Leave the monitor by itself when the run has finished.
    #[arg(long, help_heading = "Output")]
    pub exit_when_done: bool,

    /// Record the monitor to FILE: .cast (asciicast v2, for asciinema play) or .gif (animated).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "headless",
        help_heading = "Recording"
    )]
    pub record: Option<PathBuf>,

    /// Draw the monitor into a virtual screen instead of a terminal (no tty needed, keys
    /// ignored), for recording in CI or over SSH; ends when the run is over.
    #[arg(long, conflicts_with = "headless", help_heading = "Recording")]
    pub offscreen: bool,

    /// Save the run to FILE: every happening, the snapshots and the settings changes, for
    /// `backlog replay FILE` and `backlog export FILE` (see docs/runlog.md).
    #[arg(long, value_name = "FILE", help_heading = "Recording")]
    pub save_run: Option<PathBuf>,

    /// Size of the virtual screen of --offscreen, COLUMNSxROWS (80x24 to 400x150); only with
    /// --offscreen: the monitor, and a live --record, take the terminal's size. [default: 120x36]
    #[arg(long, value_name = "WxH", value_parser = parse_size, help_heading = "Recording")]
    pub size: Option<ScreenSize>,
}

/// Columns and rows of a virtual screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScreenSize {
    pub width: u16,
    pub height: u16,
}

/// The virtual screen of `--offscreen` when `--size` is not given.
const DEFAULT_SCREEN: ScreenSize = ScreenSize {
    width: 120,
    height: 36,
};

/// Largest virtual screen, columns and rows (a GIF of it stays a sensible size).
const MAX_SCREEN: (u16, u16) = (400, 150);

fn parse_size(text: &str) -> Result<ScreenSize, String> {
    let forms = "expected COLUMNSxROWS such as 120x36";
    let (w, h) = text
        .trim()
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{text}' is not a size; {forms}"))?;
    let number = |t: &str| {
        t.trim()
            .parse::<u16>()
            .map_err(|_| format!("'{text}' is not a size; {forms}"))
    };
    let (width, height) = (number(w)?, number(h)?);
    let (min_w, min_h) = (crate::ui::MIN_WIDTH, crate::ui::MIN_HEIGHT);
    if width < min_w || height < min_h || width > MAX_SCREEN.0 || height > MAX_SCREEN.1 {
        return Err(format!(
            "'{text}' is out of range: from {min_w}x{min_h} (the monitor's smallest) to {}x{}",
            MAX_SCREEN.0, MAX_SCREEN.1
        ));
    }
    Ok(ScreenSize { width, height })
}

fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "'{text}' is not a seed; expected a non-negative whole number from 0 to {}",
            u64::MAX
        )
    })
}

fn parse_with<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T, String> {
    text.parse()
}

fn parse_source(text: &str) -> Result<SourceKind, String> {
    match text {
        "gen" => Ok(SourceKind::Generator),
        "stdin" => Ok(SourceKind::Stdin),
        _ if BrokerUrl::is_broker(text) => BrokerUrl::parse(text).map(|url| {
            SourceKind::Broker(Arc::new(BrokerSource::new(url, BrokerOptions::default())))
        }),
        _ => match text.strip_prefix("trace:") {
            Some(path) => TraceFile::open(std::path::Path::new(path))
                .map(|trace| SourceKind::Trace(trace, 1))
                .map_err(|e| e.to_string()),
            None => Err(format!(
                "'{text}' is not a source; expected gen (the built-in generator), stdin (one event per line) or trace:FILE (a CSV replayed with its timing), mqtt://HOST:PORT/TOPIC or redis://HOST:PORT/STREAM (a broker)"
            )),
        },
    }
}

fn parse_service(text: &str) -> Result<Duration, String> {
    let d = settings::parse_duration(text)?;
    if d > settings::MAX_SERVICE {
        return Err(format!(
            "service demand must be at most {}, got '{text}'",
            settings::format_duration(settings::MAX_SERVICE)
        ));
    }
    Ok(d)
}

fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let d = settings::parse_duration(text)?;
    if d.is_zero() {
        return Err(format!(
            "must be longer than 0, got '{text}'; expected a duration such as 10s, 90s, 2m or 1h"
        ));
    }
    Ok(d)
}

fn parse_count(text: &str) -> Result<usize, String> {
    let n: usize = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a whole number (expected 1, 2, 3, ...)"))?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

fn parse_count_u64(text: &str) -> Result<u64, String> {
    parse_count(text).map(|n| n as u64)
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    let p: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number (expected 0 to 1, e.g. 0.05)"))?;
    if !(0.0..=1.0).contains(&p) {
        return Err(format!("must be between 0 and 1, got {text}"));
    }
    Ok(p)
}

fn parse_speed(text: &str) -> Result<f64, String> {
    let s: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number (expected e.g. 10 or 0.5)"))?;
    if !(s.is_finite() && (0.001..=10_000.0).contains(&s)) {
        return Err(format!("must be between 0.001 and 10000, got {text}"));
    }
    Ok(s)
}

/// The monitor's default: poisson arrivals one worker short of keeping up. One `+` makes it drain.
fn demo_settings() -> Settings {
    Settings {
        arrival: ArrivalProcess::Poisson,
        rate: Rate::per_s(9.0).expect("9/s is a valid rate"),
        service: Duration::from_millis(500),
        service_dist: ServiceDist::Exp,
        workers: 4,
        ..Settings::default()
    }
}

/// What to run: the engine's configuration and the scenario that drives it, if any.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub config: EngineConfig,
    pub scenario: Option<Scenario>,
    /// `--autoscale`, else the scenario's starting policy.
    pub autoscale: Option<AutoscaleSpec>,
}

impl RunArgs {
    /// Builds the engine configuration; errors name the option and what it accepts.
    #[cfg(test)]
    fn engine_config(&self) -> Result<EngineConfig, Error> {
        self.plan().map(|plan| plan.config)
    }

    /// Loads the scenario (if any) and builds the engine configuration: the defaults (or the
    /// preset), then the scenario's starting settings and end, then the options given.
    pub fn plan(&self) -> Result<RunPlan, Error> {
        if self.size.is_some() && !self.offscreen {
            return Err(Error::Usage(
                "--size sets the virtual screen of --offscreen: add --offscreen, or leave --size out (the monitor, and a live --record, take the terminal's size)".into(),
            ));
        }
        let scenario = match &self.scenario {
            Some(name) => Some(scenario::load(name)?),
            None => None,
        };
        let config = self.config_for(scenario.as_ref())?;
        let autoscale = self
            .autoscale
            .clone()
            .or_else(|| scenario.as_ref().and_then(|s| s.start.autoscale.clone()));
        Ok(RunPlan {
            config,
            scenario,
            autoscale,
        })
    }

    /// The source (`--source`, else the scenario's); a trace plays at its own rate unless
    /// `--rate` or the scenario's start says otherwise.
    fn source_for(
        &self,
        settings: &mut Settings,
        scenario: Option<&Scenario>,
    ) -> Result<SourceKind, Error> {
        let start = scenario.map(|s| &s.start);
        let rate_given = self.rate.is_some()
            || start.is_some_and(|s| {
                s.changes
                    .iter()
                    .any(|c| matches!(c, crate::engine::Command::SetRate(_)))
            });
        let source = self
            .source
            .clone()
            .or_else(|| start.and_then(|s| s.source.clone()));
        match source.unwrap_or_default() {
            SourceKind::Trace(trace, _) => {
                if !rate_given {
                    settings.rate = Rate::per_s(trace.mean_rate_per_s())
                        .map_err(|e| Error::Usage(format!("--source {}: {e}", trace.name)))?;
                }
                Ok(SourceKind::Trace(trace, self.loops.unwrap_or(1)))
            }
            SourceKind::Broker(broker) => self.broker_source(&broker),
            _ if self.loops.is_some() => Err(Error::Usage(
                "--loop replays a trace: it needs --source trace:FILE".into(),
            )),
            other => Ok(other),
        }
    }

    /// The broker source with its options, each checked against the protocol it belongs to.
    fn broker_source(&self, broker: &BrokerSource) -> Result<SourceKind, Error> {
        let mut url = broker.url.clone();
        trust(&mut url, self.ca_file.as_deref())?;
        let url = &url;
        let (mqtt, redis) = (
            url.protocol == Protocol::Mqtt,
            url.protocol == Protocol::Redis,
        );
        for (given, option, fits) in [
            (self.share.is_some(), "--share", mqtt),
            (self.client_id.is_some(), "--client-id", mqtt),
            (self.group.is_some(), "--group", redis),
            (self.consumer.is_some(), "--consumer", redis),
            (self.claim_after.is_some(), "--claim-after", redis),
        ] {
            if given && !fits {
                let other = if mqtt { "Redis" } else { "MQTT" };
                return Err(Error::Usage(format!(
                    "{option} is for {other} sources only; with {} use {}",
                    url.protocol.name(),
                    if mqtt {
                        "--share GROUP and --client-id ID"
                    } else {
                        "--group, --consumer and --claim-after"
                    }
                )));
            }
        }
        let options = BrokerOptions {
            group: self.share.clone().or_else(|| self.group.clone()),
            consumer: self.client_id.clone().or_else(|| self.consumer.clone()),
            claim_after: self
                .claim_after
                .unwrap_or(BrokerOptions::default().claim_after),
            idle_end: self.idle_end,
        };
        Ok(SourceKind::Broker(Arc::new(BrokerSource::new(
            url.clone(),
            options,
        ))))
    }

    /// Broker options need a broker source.
    fn check_broker_options(&self, source: &SourceKind) -> Result<(), Error> {
        let given = [
            (self.share.is_some(), "--share"),
            (self.group.is_some(), "--group"),
            (self.consumer.is_some(), "--consumer"),
            (self.client_id.is_some(), "--client-id"),
            (self.claim_after.is_some(), "--claim-after"),
            (self.idle_end.is_some(), "--idle-end"),
            (self.ca_file.is_some(), "--ca-file"),
        ];
        match given.iter().find(|(given, _)| *given) {
            Some((_, option)) if !matches!(source, SourceKind::Broker(_)) => {
                Err(Error::Usage(format!(
                    "{option} needs a broker source: --source mqtt://HOST:PORT/TOPIC or redis://HOST:PORT/STREAM"
                )))
            }
            _ => Ok(()),
        }
    }

    /// The `--exec` command, found before the run; `--exec` makes the work `exec`.
    fn exec_work(&self, settings: &mut Settings) -> Result<Option<Arc<Exec>>, Error> {
        let Some(line) = &self.exec else {
            if settings.work == WorkMode::Exec {
                return Err(SettingsError::ExecWithoutCommand.into());
            }
            return Ok(None);
        };
        if self.work.is_some_and(|w| w != WorkMode::Exec) {
            return Err(Error::Usage(
                "--exec runs a command per event: it cannot go with --work sleep or cpu".into(),
            ));
        }
        settings.work = WorkMode::Exec;
        let mut exec =
            Exec::parse(line, self.exec_timeout).map_err(|e| Error::Usage(e.to_string()))?;
        if let Some(path) = &self.exec_output {
            let file = OutputFile::open(path).map_err(|source| Error::Unwritable {
                option: "--exec-output",
                path: path.clone(),
                source,
            })?;
            exec = exec.with_output(file);
        }
        Ok(Some(Arc::new(exec)))
    }

    /// The virtual screen of `--offscreen`: `--size`, or 120x36.
    pub fn screen_size(&self) -> ScreenSize {
        self.size.unwrap_or(DEFAULT_SCREEN)
    }

    fn config_for(&self, scenario: Option<&Scenario>) -> Result<EngineConfig, Error> {
        let (mut settings, mut max_events) = match self.preset {
            Some(Preset::Seed) => (Settings::default(), Some(10)),
            None => (demo_settings(), None),
        };
        let mut duration = None;
        let mut seed = 1;
        if let Some(scenario) = scenario {
            // The worker limit first: the starting worker count is clamped to it.
            settings.max_workers = scenario.start.max_workers.unwrap_or(settings.max_workers);
            for change in &scenario.start.changes {
                settings.apply(change);
            }
            seed = scenario.start.seed.unwrap_or(seed);
            max_events = scenario.end.events;
            duration = scenario.end.at;
        }
        settings.max_workers = self.max_workers.unwrap_or(settings.max_workers);
        macro_rules! set {
            ($($field:ident),*) => { $(if let Some(v) = self.$field { settings.$field = v; })* };
        }
        set!(
            arrival,
            rate,
            burst,
            service,
            service_dist,
            work,
            fail_rate,
            workers,
            overflow
        );
        settings.queue_cap = self.queue_cap.or(settings.queue_cap);
        if self.events.is_some() {
            max_events = self.events;
        }
        if self.duration.is_some() {
            duration = self.duration;
        }
        // Checked after the merge: a scenario may bound the queue that --overflow applies to.
        if self.overflow.is_some() && settings.queue_cap.is_none() {
            return Err(Error::Usage(
                "--overflow needs a bounded queue: add --queue-cap N (or a scenario that sets queue_cap)"
                    .into(),
            ));
        }
        let exec = self.exec_work(&mut settings)?;
        let source = self.source_for(&mut settings, scenario)?;
        self.check_broker_options(&source)?;
        settings.validate()?;
        Ok(EngineConfig {
            settings,
            seed: self.seed.unwrap_or(seed),
            max_events,
            duration,
            speed: self.speed,
            trace: (self.headless && !self.json) || self.save_run.is_some(),
            source,
            exec,
            ..EngineConfig::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<EngineConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("backlog").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.run.engine_config().map_err(|e| e.to_string())
    }

    #[test]
    fn seed_preset_is_the_article() {
        let c = parse(&["--preset", "seed"]).unwrap();
        assert_eq!(c.settings.rate.get(), 1.0);
        assert_eq!(c.settings.service, Duration::from_secs(5));
        assert_eq!(c.settings.workers, 5);
        assert_eq!(c.settings.arrival, ArrivalProcess::Fixed);
        assert_eq!(c.settings.service_dist, ServiceDist::Fixed);
        assert_eq!(c.max_events, Some(10));
    }

    #[test]
    fn overflow_needs_a_bounded_queue_from_the_flags_or_the_scenario() {
        let c = parse(&["--scenario", "bounded-queue", "--overflow", "drop-new"]).unwrap();
        assert_eq!(c.settings.queue_cap, Some(20));
        assert_eq!(c.settings.overflow, Overflow::DropNew);
        let c = parse(&["--queue-cap", "3", "--overflow", "drop-old"]).unwrap();
        assert_eq!(c.settings.overflow, Overflow::DropOld);
        let err = parse(&["--overflow", "drop-new"]).unwrap_err();
        assert!(err.contains("--queue-cap"), "{err}");
    }

    #[test]
    fn flags_override_the_preset() {
        let c = parse(&["--preset", "seed", "--workers", "4", "--events", "3"]).unwrap();
        assert_eq!(c.settings.workers, 4);
        assert_eq!(c.max_events, Some(3));
    }

    #[test]
    fn default_is_one_worker_short() {
        let c = parse(&[]).unwrap();
        let capacity = c.settings.workers as f64 / c.settings.service.as_secs_f64();
        assert!(c.settings.rate.get() > capacity);
        assert!(
            c.settings.rate.get()
                < (c.settings.workers + 1) as f64 / c.settings.service.as_secs_f64()
        );
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["--workers", "0"][..],
            &["--workers", "300"],
            &["--rate", "0"],
            &["--rate", "1e12"],
            &["--service", "soon"],
            &["--json"],
            &["--overflow", "drop-new"],
            &["--fail-rate", "2"],
        ] {
            assert!(parse(args).is_err(), "{args:?} accepted");
        }
    }
}
