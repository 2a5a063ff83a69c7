//! Repeated measurements summarised: the median over the runs and their range, so that no single
//! run (the best, or any other) stands for them all. The benchmarks report every figure and
//! ratio they repeat this way (see docs/performance.md).

/// The median of some runs, the lowest and the highest, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub low: f64,
    pub high: f64,
    pub runs: usize,
}

impl Spread {
    /// The spread of `runs`; none for no runs. An even count's median is the mean of its two
    /// middle runs.
    pub fn of(runs: &[f64]) -> Option<Self> {
        let mut sorted = runs.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (&low, &high) = (sorted.first()?, sorted.last()?);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 0 {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        } else {
            sorted[mid]
        };
        Some(Self {
            median,
            low,
            high,
            runs: sorted.len(),
        })
    }

    /// One line: `median 100% (3 runs: 91-120%)`, or `5.00 M/s (one run: no range)`; the
    /// figures with `decimals` decimals, each followed by `unit`.
    pub fn text(&self, decimals: usize, unit: &str) -> String {
        let Self {
            median,
            low,
            high,
            runs,
        } = *self;
        if runs == 1 {
            return format!("{median:.decimals$}{unit} (one run: no range)");
        }
        format!(
            "median {median:.decimals$}{unit} ({runs} runs: {low:.decimals$}-{high:.decimals$}{unit})"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(runs: &[f64]) -> Spread {
        Spread::of(runs).unwrap()
    }

    #[test]
    fn an_odd_count_has_its_middle_run_for_median() {
        let s = spread(&[120.0, 91.0, 100.0]);
        assert_eq!((s.median, s.low, s.high, s.runs), (100.0, 91.0, 120.0, 3));
    }

    #[test]
    fn an_even_count_has_the_mean_of_its_two_middle_runs_for_median() {
        let s = spread(&[4.0, 1.0, 3.0, 2.0]);
        assert_eq!((s.median, s.low, s.high, s.runs), (2.5, 1.0, 4.0, 4));
    }

    #[test]
    fn the_text_says_median_and_the_range() {
        let text = spread(&[120.0, 91.0, 100.0]).text(0, "%");
        assert!(text.contains("median 100%"), "{text}");
        assert!(text.contains("3 runs: 91-120%"), "{text}");
        let text = spread(&[3.0, 2.6, 2.64]).text(2, " M/s");
        assert!(text.contains("median 2.64 M/s"), "{text}");
        assert!(text.contains("2.60-3.00 M/s"), "{text}");
    }

    #[test]
    fn a_single_run_has_no_range_and_says_so() {
        let s = spread(&[5.0]);
        assert_eq!((s.median, s.low, s.high, s.runs), (5.0, 5.0, 5.0, 1));
        let text = s.text(2, " M/s");
        assert!(
            text.contains("5.00 M/s") && text.contains("one run"),
            "{text}"
        );
        assert!(!text.contains("median") && !text.contains('-'), "{text}");
    }

    #[test]
    fn no_runs_have_no_spread() {
        assert_eq!(Spread::of(&[]), None);
    }
}
