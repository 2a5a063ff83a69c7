//! Number formatting for the panels: short, human, no more digits than a glance can use.

/// The model's texts use these too, so they live outside the UI.
pub use crate::units::{compact, count, duration_ns, duration_s, per_s};

/// Model time as a clock: `0:07`, `12:34`, `1:02:03`.
pub fn clock(ns: u64) -> String {
    let total_s = ns / 1_000_000_000;
    let (h, m, s) = (total_s / 3600, total_s / 60 % 60, total_s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A duration in ns as [`duration_ns`] writes it, but with its unit even when it is none: `0s`.
pub fn duration_with_unit(ns: u64) -> String {
    if ns == 0 {
        "0s".into()
    } else {
        duration_ns(ns)
    }
}

/// A fraction as a whole percentage: `97%`.
pub fn percent(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.0}%", fraction * 100.0)
    } else {
        "-".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(clock(83_400_000_000), "1:23");
        assert_eq!(clock(3_723_000_000_000), "1:02:03");
        assert_eq!(percent(0.966), "97%");
    }
}
