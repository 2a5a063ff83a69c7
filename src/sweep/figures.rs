//! The figures of one point, measured or predicted, in the JSON's names: what the table, the
//! chart, the SLO and every output read.

use serde::Serialize;

/// A point's figures; `None` where undefined (an overloaded pool has no percentiles, a work
/// kind with no known demand no prediction). Times in model milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub throughput_per_s: Option<f64>,
    pub drop_fraction: Option<f64>,
    pub mean_wait_ms: Option<f64>,
    /// The 95% confidence interval of the mean wait: from batch means for a measurement,
    /// from the twin's replications for a simulated prediction, none for a closed form.
    pub mean_wait_ms_ci95: Option<[f64; 2]>,
    pub p50_wait_ms: Option<f64>,
    pub p95_wait_ms: Option<f64>,
    pub p99_wait_ms: Option<f64>,
    pub e2e_mean_ms: Option<f64>,
    pub e2e_p99_ms: Option<f64>,
    /// Measured only: 95% intervals of the percentiles (from the batches' distribution
    /// functions at the estimate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_wait_ms_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_wait_ms_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_wait_ms_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e_mean_ms_ci95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e2e_p99_ms_ci95: Option<[f64; 2]>,
    /// Predicted only: where 95% of single runs as long as the point's window (after the same
    /// warm-up) land, from the twin's replications. What one measured run is compared with:
    /// near saturation a minute's mean wait varies far more than its batches show.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_wait_ms_run95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p50_wait_ms_run95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p95_wait_ms_run95: Option<[f64; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p99_wait_ms_run95: Option<[f64; 2]>,
}

/// One figure of [`Figures`], by name: what an SLO, a table column and a chart refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    MeanWait,
    P50Wait,
    P95Wait,
    P99Wait,
    E2eMean,
    E2eP99,
    Drop,
}

impl Figure {
    /// The latency figures, in the table's order.
    pub const LATENCIES: [Figure; 6] = [
        Figure::MeanWait,
        Figure::P50Wait,
        Figure::P95Wait,
        Figure::P99Wait,
        Figure::E2eMean,
        Figure::E2eP99,
    ];

    /// Its name in an SLO and a table header.
    pub fn name(self) -> &'static str {
        match self {
            Figure::MeanWait => "mean",
            Figure::P50Wait => "p50",
            Figure::P95Wait => "p95",
            Figure::P99Wait => "p99",
            Figure::E2eMean => "e2e.mean",
            Figure::E2eP99 => "e2e.p99",
            Figure::Drop => "drop",
        }
    }

    pub fn is_latency(self) -> bool {
        self != Figure::Drop
    }
}

impl Figures {
    /// The figure's value (ms, or a fraction for drops) and its 95% interval, if known.
    pub fn get(&self, figure: Figure) -> (Option<f64>, Option<[f64; 2]>) {
        match figure {
            Figure::MeanWait => (self.mean_wait_ms, self.mean_wait_ms_ci95),
            Figure::P50Wait => (self.p50_wait_ms, self.p50_wait_ms_ci95),
            Figure::P95Wait => (self.p95_wait_ms, self.p95_wait_ms_ci95),
            Figure::P99Wait => (self.p99_wait_ms, self.p99_wait_ms_ci95),
            Figure::E2eMean => (self.e2e_mean_ms, self.e2e_mean_ms_ci95),
            Figure::E2eP99 => (self.e2e_p99_ms, self.e2e_p99_ms_ci95),
            Figure::Drop => (self.drop_fraction, None),
        }
    }

    pub fn value(&self, figure: Figure) -> Option<f64> {
        self.get(figure).0
    }

    /// Where single runs of the point's length land (predicted wait figures only).
    pub fn run95(&self, figure: Figure) -> Option<[f64; 2]> {
        match figure {
            Figure::MeanWait => self.mean_wait_ms_run95,
            Figure::P50Wait => self.p50_wait_ms_run95,
            Figure::P95Wait => self.p95_wait_ms_run95,
            Figure::P99Wait => self.p99_wait_ms_run95,
            Figure::E2eMean | Figure::E2eP99 | Figure::Drop => None,
        }
    }

    /// Sets [`Figures::run95`].
    pub fn set_run95(&mut self, figure: Figure, range: Option<[f64; 2]>) {
        match figure {
            Figure::MeanWait => self.mean_wait_ms_run95 = range,
            Figure::P50Wait => self.p50_wait_ms_run95 = range,
            Figure::P95Wait => self.p95_wait_ms_run95 = range,
            Figure::P99Wait => self.p99_wait_ms_run95 = range,
            Figure::E2eMean | Figure::E2eP99 | Figure::Drop => {}
        }
    }
}

/// Whether a measured figure and a prediction disagree beyond their intervals, even widened by
/// `slack` (the engine's own hand-off, which the ideal model does not have): the measured value
/// lies outside where single runs of its length land, where that is known; otherwise the
/// measured interval (or value) and the predicted one (or value) do not meet.
pub fn disagree(measured: &Figures, predicted: &Figures, figure: Figure, slack: f64) -> bool {
    let ((Some(m), m_ci), (Some(p), p_ci)) = (measured.get(figure), predicted.get(figure)) else {
        return false;
    };
    if let Some([lo, hi]) = predicted.run95(figure) {
        return m + slack < lo || m - slack > hi;
    }
    let [m_lo, m_hi] = m_ci.unwrap_or([m, m]);
    let [p_lo, p_hi] = p_ci.unwrap_or([p, p]);
    m_hi + slack < p_lo || m_lo - slack > p_hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreement_needs_the_intervals_apart() {
        let measured = Figures {
            mean_wait_ms: Some(100.0),
            mean_wait_ms_ci95: Some([90.0, 110.0]),
            ..Figures::default()
        };
        let near = Figures {
            mean_wait_ms: Some(108.0),
            ..Figures::default()
        };
        let far = Figures {
            mean_wait_ms: Some(130.0),
            ..Figures::default()
        };
        assert!(!disagree(&measured, &near, Figure::MeanWait, 0.0));
        assert!(disagree(&measured, &far, Figure::MeanWait, 0.0));
        assert!(!disagree(&measured, &far, Figure::MeanWait, 25.0));
        // Where single runs land, when known, is what a measurement is held to.
        let spread = Figures {
            mean_wait_ms_run95: Some([60.0, 140.0]),
            ..far.clone()
        };
        assert!(!disagree(&measured, &spread, Figure::MeanWait, 0.0));
        let narrow = Figures {
            mean_wait_ms_run95: Some([125.0, 135.0]),
            ..far.clone()
        };
        assert!(disagree(&measured, &narrow, Figure::MeanWait, 0.0));
        // Nothing predicted: nothing to disagree with.
        assert!(!disagree(
            &measured,
            &Figures::default(),
            Figure::MeanWait,
            0.0
        ));
    }
}
