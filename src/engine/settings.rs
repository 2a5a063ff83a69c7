//! What the engine runs with: the live settings (changeable while running) and their value types.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::SettingsError;

/// Highest arrival rate accepted, events per model second.
pub const MAX_RATE_PER_S: f64 = 10_000_000.0;
/// Lowest arrival rate accepted, events per model second (one a day).
pub const MIN_RATE_PER_S: f64 = 1.0 / 86_400.0;
/// Longest mean service demand accepted.
pub const MAX_SERVICE: Duration = Duration::from_secs(86_400);
/// Largest `--max-workers`.
pub const WORKER_LIMIT: usize = 4096;
/// Largest burst size.
pub const MAX_BURST: u32 = 1_000_000;

/// An arrival rate in events per (model) second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(into = "f64", try_from = "f64")]
pub struct Rate(f64);

impl From<Rate> for f64 {
    fn from(rate: Rate) -> f64 {
        rate.0
    }
}

impl TryFrom<f64> for Rate {
    type Error = String;

    fn try_from(per_s: f64) -> Result<Self, String> {
        Rate::per_s(per_s)
    }
}

impl Rate {
    pub fn per_s(per_s: f64) -> Result<Self, String> {
        if !per_s.is_finite() {
            return Err(format!("rate must be a finite number, got {per_s}"));
        }
        if per_s <= 0.0 {
            return Err(format!("rate must be above zero, got {per_s}"));
        }
        if per_s < MIN_RATE_PER_S {
            return Err(format!(
                "rate {per_s}/s is below the minimum of one event a day (1/d)"
            ));
        }
        if per_s > MAX_RATE_PER_S {
            return Err(format!(
                "rate {per_s}/s is above the maximum of {MAX_RATE_PER_S}/s"
            ));
        }
        Ok(Self(per_s))
    }

    pub fn get(self) -> f64 {
        self.0
    }
}

pub const RATE_FORMS: &str =
    "a number of events per second with an optional unit: 2.5, 2.5/s, 150/min, 3600/h";

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (number, unit) = match text.split_once('/') {
            Some((n, u)) => (n.trim(), u.trim()),
            None => (text, "s"),
        };
        let per_unit_s = match unit {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            "d" | "day" => 86_400.0,
            _ => {
                return Err(format!(
                    "unknown rate unit '/{unit}' in '{text}'; expected {RATE_FORMS}"
                ));
            }
        };
        let value: f64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a rate; expected {RATE_FORMS}"))?;
        Rate::per_s(value / per_unit_s).map_err(|e| format!("{e}; expected {RATE_FORMS}"))
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        if r >= 1.0 {
            write!(f, "{}/s", trim_float(r))
        } else if r * 60.0 >= 1.0 {
            write!(f, "{}/min", trim_float(r * 60.0))
        } else {
            write!(f, "{}/h", trim_float(r * 3600.0))
        }
    }
}

/// Formats a float with at most 3 decimals and no trailing zeros.
pub fn trim_float(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

pub const DURATION_FORMS: &str = "a duration such as 5s, 250ms, 1.5s, 2m, 1h or 0";

/// Parses a duration: humantime forms (`5s`, `250ms`, `1h 30m`), `0`, or decimal seconds with a unit (`1.5s`, `0.25ms`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("'{text}' is negative; expected {DURATION_FORMS}"));
    }
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(d);
    }
    // humantime rejects fractions: accept `<decimal><unit>` for the common units.
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let scale_s = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "'{text}' is not a duration; expected {DURATION_FORMS}"
            ));
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; expected {DURATION_FORMS}"))?;
    let secs = value * scale_s;
    if !secs.is_finite() || !(0.0..=1e12).contains(&secs) {
        return Err(format!(
            "'{text}' is out of range; expected {DURATION_FORMS}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Formats a duration compactly for humans: `5s`, `250ms`, `1.5s`, `12µs`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns == 0.0 {
        "0".into()
    } else if ns < 1e3 {
        format!("{}ns", trim_float(ns))
    } else if ns < 1e6 {
        format!("{}µs", trim_float(ns / 1e3))
    } else if ns < 1e9 {
        format!("{}ms", trim_float(ns / 1e6))
    } else if ns < 60e9 {
        format!("{}s", trim_float(ns / 1e9))
    } else if ns < 3600e9 {
        format!("{}m", trim_float(ns / 60e9))
    } else {
        format!("{}h", trim_float(ns / 3600e9))
    }
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The next value, wrapping around (for keys that cycle).
            pub fn next(self) -> Self {
                let all = Self::ALL;
                let i = all.iter().position(|v| *v == self).unwrap_or(0);
                all[(i + 1) % all.len()]
            }

            pub fn forms() -> String {
                Self::ALL.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name().eq_ignore_ascii_case(text.trim()))
                    .ok_or_else(|| format!("'{text}' is not one of: {}", Self::forms()))
            }
        }
    };
}

named_enum!(
    /// How events arrive.
    ArrivalProcess { Fixed => "fixed", Poisson => "poisson", Bursty => "bursty" }
);
named_enum!(
    /// How each event's service demand is drawn around the mean.
    ServiceDist { Fixed => "fixed", Exp => "exp", Uniform => "uniform", Lognormal => "lognormal" }
);
named_enum!(
    /// What a worker does for an event's demand.
    WorkMode { Sleep => "sleep", Cpu => "cpu", Exec => "exec" }
);
named_enum!(
    /// What a full bounded queue does with a new event.
    Overflow { Block => "block", DropNew => "drop-new", DropOld => "drop-old" }
);

impl ServiceDist {
    /// Squared coefficient of variation of the service demand.
    pub fn cv2(self, lognormal_cv: f64) -> f64 {
        match self {
            ServiceDist::Fixed => 0.0,
            ServiceDist::Exp => 1.0,
            ServiceDist::Uniform => 1.0 / 3.0, // U(0, 2m)
            ServiceDist::Lognormal => lognormal_cv * lognormal_cv,
        }
    }
}

/// Coefficient of variation used for lognormal service demands.
pub const LOGNORMAL_CV: f64 = 1.0;

/// The settings that can change while the engine runs. Times are model time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub arrival: ArrivalProcess,
    pub burst: u32,
    pub rate: Rate,
    #[serde(
        rename = "service_s",
        serialize_with = "ser_secs",
        deserialize_with = "de_secs"
    )]
    pub service: Duration,
    pub service_dist: ServiceDist,
    pub work: WorkMode,
    pub workers: usize,
    pub max_workers: usize,
    pub queue_cap: Option<usize>,
    pub overflow: Overflow,
    pub paused: bool,
    /// Fraction of events whose work fails.
    pub fail_rate: f64,
}

fn ser_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn de_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

impl Default for Settings {
    /// The article's pipeline: one event a second, five seconds of work, five workers.
    fn default() -> Self {
        Self {
            arrival: ArrivalProcess::Fixed,
            burst: 5,
            rate: Rate(1.0),
            service: Duration::from_secs(5),
            service_dist: ServiceDist::Fixed,
            work: WorkMode::Sleep,
            workers: 5,
            max_workers: 256,
            queue_cap: None,
            overflow: Overflow::Block,
            paused: false,
            fail_rate: 0.0,
        }
    }
}

impl Settings {
    /// Checks the cross-field rules.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.max_workers == 0 || self.max_workers > WORKER_LIMIT {
            return Err(SettingsError::MaxWorkers(self.max_workers));
        }
        if self.workers == 0 || self.workers > self.max_workers {
            return Err(SettingsError::Workers {
                max: self.max_workers,
                got: self.workers,
            });
        }
        if self.service > MAX_SERVICE {
            return Err(SettingsError::Service(self.service));
        }
        if self.burst == 0 || self.burst > MAX_BURST {
            return Err(SettingsError::Burst(self.burst));
        }
        if self.queue_cap == Some(0) {
            return Err(SettingsError::QueueCap);
        }
        if !(0.0..=1.0).contains(&self.fail_rate) || self.fail_rate.is_nan() {
            return Err(SettingsError::FailRate(self.fail_rate));
        }
        Ok(())
    }

    /// Mean service rate of one worker, events per model second (infinite for zero demand).
    pub fn service_rate_per_s(&self) -> f64 {
        1.0 / self.service.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_forms() {
        assert_eq!("2.5".parse::<Rate>().unwrap().get(), 2.5);
        assert_eq!("2.5/s".parse::<Rate>().unwrap().get(), 2.5);
        assert_eq!("150/min".parse::<Rate>().unwrap().get(), 2.5);
        assert_eq!("3600/h".parse::<Rate>().unwrap().get(), 1.0);
        assert_eq!("0.2/s".parse::<Rate>().unwrap().get(), 0.2);
        for bad in ["0", "-1", "NaN", "inf", "1e12", "abc", "5/fortnight", ""] {
            let err = bad.parse::<Rate>().unwrap_err();
            assert!(err.contains("2.5/s"), "{bad}: {err}");
        }
    }

    #[test]
    fn rate_display_round_trips() {
        for text in ["2.5/s", "150/min", "12/h"] {
            let r: Rate = text.parse().unwrap();
            assert_eq!(r.to_string().parse::<Rate>().unwrap(), r);
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("five").unwrap_err().contains("250ms"));
        assert!(parse_duration("-1s").is_err());
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_micros(12)), "12µs");
    }

    #[test]
    fn enums_parse_and_cycle() {
        assert_eq!("drop-old".parse::<Overflow>().unwrap(), Overflow::DropOld);
        assert!("lifo".parse::<Overflow>().unwrap_err().contains("drop-new"));
        assert_eq!(WorkMode::Exec.next(), WorkMode::Sleep);
        assert_eq!(ArrivalProcess::Fixed.next(), ArrivalProcess::Poisson);
    }
}
