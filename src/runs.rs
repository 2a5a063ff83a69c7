//! Repeated measurements summarised: the median over the runs and their range, so that no single
//! run (the best, or any other) stands for them all. The benchmarks report every figure and
//! ratio they repeat this way.

/// The median of some runs, the lowest and the highest.
pub fn median_and_range(runs: &[f64]) -> (f64, f64, f64) {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1],
    )
}

/// The median and the range of some runs, as `75% (runs 65-87%)`: no single run, the best or
/// another, stands for them all.
pub fn with_range(runs: &[f64], decimals: usize, unit: &str) -> String {
    let (median, lo, hi) = median_and_range(runs);
    format!("{median:.decimals$}{unit} (runs {lo:.decimals$}-{hi:.decimals$}{unit})")
}
