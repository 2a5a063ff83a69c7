//! Rounding and short, human formatting of numbers and durations, for the model's texts and the faces.

use std::time::Duration;

use crate::engine::settings::{format_duration, trim_float};

/// Rounds `x` to `digits` significant digits (keeps values readable: 1.1, 1.2, 1.3...).
pub fn round_significant(x: f64, digits: u32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let magnitude = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(digits as i32 - 1 - magnitude);
    (x * scale).round() / scale
}

/// A latency in ns, rounded to 3 significant digits: `524ms`, `4.19s`, `16.8µs`.
pub fn duration_ns(ns: u64) -> String {
    const MINUTE_NS: f64 = 60e9;
    const HOUR_NS: f64 = 3600e9;
    let ns = ns as f64;
    // format_duration keeps 3 decimals of minutes and hours ("1.118m"): round those here.
    if ns >= HOUR_NS {
        format!("{}h", trim_float(round_significant(ns / HOUR_NS, 3)))
    } else if ns >= MINUTE_NS {
        format!("{}m", trim_float(round_significant(ns / MINUTE_NS, 3)))
    } else {
        format_duration(Duration::from_nanos(round_significant(ns, 3) as u64))
    }
}

/// A duration in seconds (from theory), same style as [`duration_ns`].
pub fn duration_s(seconds: f64) -> String {
    if !seconds.is_finite() || seconds <= 0.0 {
        return "0".into();
    }
    duration_ns((seconds * 1e9).min(u64::MAX as f64) as u64)
}

/// A measured rate in events per second: `0.983/s`, `12.3/s`, `45.6k/s`.
pub fn per_s(rate: f64) -> String {
    format!("{}/s", compact(rate))
}

/// A count: exact up to 99 999, then `123k`, `12.3M`.
pub fn count(n: u64) -> String {
    if n < 100_000 {
        n.to_string()
    } else {
        compact(n as f64)
    }
}

/// A non-negative quantity with 3 significant digits and k/M/G suffixes.
pub fn compact(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return "0".into();
    }
    let (scaled, suffix) = match v {
        v if v >= 1e9 => (v / 1e9, "G"),
        v if v >= 1e6 => (v / 1e6, "M"),
        v if v >= 1e4 => (v / 1e3, "k"),
        v => (v, ""),
    };
    let digits = if scaled >= 1000.0 { 4 } else { 3 };
    format!("{}{suffix}", trim_float(round_significant(scaled, digits)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration_ns(524_288_000), "524ms");
        assert_eq!(duration_ns(4_194_304_000), "4.19s");
        assert_eq!(duration_ns(0), "0");
        assert_eq!(duration_ns(67_100_000_000), "1.12m");
        assert_eq!(duration_ns(5_400_000_000_000), "1.5h");
        assert_eq!(duration_s(5.0), "5s");
        assert_eq!(per_s(0.98312), "0.983/s");
        assert_eq!(per_s(45_600.0), "45.6k/s");
        assert_eq!(per_s(0.0), "0/s");
        assert_eq!(count(1234), "1234");
        assert_eq!(count(12_345_678), "12.3M");
    }
}
