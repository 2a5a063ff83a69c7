//! Closed forms beyond Erlang C (`theory::erlang_c`): the bounded M/M/c/K queue and M/G/1 by
//! Pollaczek-Khinchine. Each is checked against published values and limits in its tests, and
//! the twin (`twin.rs`) is checked against each.

/// The bounded M/M/c/K queue in its steady state: `K` places in all (`c` in service, `K − c`
/// waiting); an arrival that finds all `K` taken is lost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcK {
    /// Probability an arrival is lost (finds the system full): p_K.
    pub p_drop: f64,
    /// Mean queue wait of the admitted arrivals, s.
    pub mean_wait_s: f64,
    /// Time-average number waiting.
    pub mean_queue_len: f64,
}

/// M/M/c/K with arrivals at `rate_per_s`, mean service `service_s`, `servers` servers and
/// `capacity` places in all (at least `servers`).
pub fn mmck(rate_per_s: f64, service_s: f64, servers: usize, capacity: usize) -> MmcK {
    let c = servers.max(1);
    let k = capacity.max(c);
    let a = rate_per_s * service_s;
    // p_n ∝ a^n / n! for n ≤ c, a^n / (c! c^(n−c)) above: built term by term, no overflow.
    let mut terms = Vec::with_capacity(k + 1);
    terms.push(1.0_f64);
    for n in 1..=k {
        terms.push(terms[n - 1] * a / n.min(c) as f64);
    }
    let total: f64 = terms.iter().sum();
    let p = |n: usize| terms[n] / total;
    let p_drop = p(k);
    let mean_queue_len: f64 = (c..=k).map(|n| (n - c) as f64 * p(n)).sum();
    let admitted_per_s = rate_per_s * (1.0 - p_drop);
    let mean_wait_s = if admitted_per_s > 0.0 {
        mean_queue_len / admitted_per_s
    } else {
        0.0
    };
    MmcK {
        p_drop,
        mean_wait_s,
        mean_queue_len,
    }
}

/// M/G/1 mean queue wait by Pollaczek-Khinchine: λ E[S²] / (2 (1 − ρ)), with E[S²] from the
/// mean and the squared coefficient of variation of the service; `None` when ρ ≥ 1.
pub fn pollaczek_khinchine(rate_per_s: f64, service_s: f64, service_cv2: f64) -> Option<f64> {
    let rho = rate_per_s * service_s;
    if rho >= 1.0 {
        return None;
    }
    let second_moment = service_s * service_s * (1.0 + service_cv2);
    Some(rate_per_s * second_moment / (2.0 * (1.0 - rho)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::theory::erlang_c;

    fn close(actual: f64, expected: f64, rel: f64) -> bool {
        (actual - expected).abs() <= rel * expected.abs()
    }

    #[test]
    fn mm1k_loss_is_the_textbook_closed_form() {
        // p_K = (1 − ρ) ρ^K / (1 − ρ^(K+1)); ρ = 0.9, K = 10: 0.05081 (Gross & Harris).
        let q = mmck(0.9, 1.0, 1, 10);
        let rho: f64 = 0.9;
        let closed = (1.0 - rho) * rho.powi(10) / (1.0 - rho.powi(11));
        assert!(close(q.p_drop, closed, 1e-12), "{q:?}");
        assert!(close(q.p_drop, 0.05081, 1e-3));
    }

    #[test]
    fn the_issues_bounded_mm2_drops_a_little_under_a_fifth() {
        // 120/s against 2 workers of 20 ms with 10 queue places: M/M/2/12.
        let q = mmck(120.0, 0.020, 2, 12);
        assert!(close(q.p_drop, 0.1855, 0.003), "{q:?}");
        // Little's law holds for the admitted arrivals.
        let admitted = 120.0 * (1.0 - q.p_drop);
        assert!(close(q.mean_queue_len, admitted * q.mean_wait_s, 1e-12));
    }

    #[test]
    fn a_large_capacity_is_erlang_c() {
        // M/M/3 at ρ = 0.8: Wq = C(3, 2.4) / (3μ − λ).
        let (rate, service) = (2.4, 1.0);
        let q = mmck(rate, service, 3, 2000);
        let wq = erlang_c(3, 2.4) / (3.0 / service - rate);
        assert!(close(q.mean_wait_s, wq, 1e-9), "{} vs {wq}", q.mean_wait_s);
        assert!(q.p_drop < 1e-100);
    }

    #[test]
    fn no_waiting_room_is_erlang_b() {
        // K = c: nobody waits and the loss is Erlang B; B(2, 1) = 0.2 (a² / 2 over 1 + a + a² / 2).
        let q = mmck(1.0, 1.0, 2, 2);
        assert!(close(q.p_drop, 0.2, 1e-12));
        assert_eq!((q.mean_queue_len, q.mean_wait_s), (0.0, 0.0));
    }

    #[test]
    fn pollaczek_khinchine_halves_the_wait_for_fixed_service() {
        // M/M/1 at ρ = 0.5: Wq = ρ / (μ − λ) = 1 s for μ = 1; M/D/1 half of that.
        assert!(close(
            pollaczek_khinchine(0.5, 1.0, 1.0).unwrap(),
            1.0,
            1e-12
        ));
        assert!(close(
            pollaczek_khinchine(0.5, 1.0, 0.0).unwrap(),
            0.5,
            1e-12
        ));
        assert_eq!(pollaczek_khinchine(1.0, 1.0, 1.0), None);
    }
}
