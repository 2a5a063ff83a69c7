//! Closed forms beyond Erlang C (`theory::erlang_c`): the bounded M/M/c/K queue and M/G/1 by
//! Pollaczek-Khinchine. Each is checked against published values and limits in its tests, and
//! the twin (`twin.rs`) is checked against each.

/// The bounded M/M/c/K queue in its steady state: `K` places in all (`c` in service, `K − c`
/// waiting); an arrival that finds all `K` taken is lost (`drop-new`), or evicts the oldest
/// waiting event (`drop-old`, see [`mmck_drop_old`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmcK {
    /// Probability an arrival is lost (finds the system full): p_K. With `drop-old` the loss
    /// is an evicted event instead of the arrival, at the same rate.
    pub p_drop: f64,
    /// Probability an event that is served waited first.
    pub p_wait: f64,
    /// Mean queue wait of the events that are served, s.
    pub mean_wait_s: f64,
    /// Time-average number waiting.
    pub mean_queue_len: f64,
}

/// The places of an M/M/c/K queue: `c` servers (at least 1) and `k` places in all (at least c).
fn places(servers: usize, capacity: usize) -> (usize, usize) {
    let c = servers.max(1);
    (c, capacity.max(c))
}

/// p_n, n = 0..=k, the steady-state probability that n events are in the system (PASTA: also
/// what an arrival finds). p_n ∝ a^n / n! for n ≤ c, a^n / (c! c^(n−c)) above: built term by
/// term, rescaled whenever they grow large, so no load overflows them.
fn occupancy(offered_load: f64, c: usize, k: usize) -> Vec<f64> {
    let mut terms = Vec::with_capacity(k + 1);
    terms.push(1.0_f64);
    for n in 1..=k {
        let term = terms[n - 1] * offered_load / n.min(c) as f64;
        terms.push(term);
        if term > 1e200 {
            terms.iter_mut().for_each(|t| *t /= term);
        }
    }
    let total: f64 = terms.iter().sum();
    terms.iter().map(|t| t / total).collect()
}

/// M/M/c/K with arrivals at `rate_per_s`, mean service `service_s`, `servers` servers and
/// `capacity` places in all (at least `servers`); a full system drops the arrival (`drop-new`).
pub fn mmck(rate_per_s: f64, service_s: f64, servers: usize, capacity: usize) -> MmcK {
    let (c, k) = places(servers, capacity);
    let p = occupancy(rate_per_s * service_s, c, k);
    let p_drop = p[k];
    let mean_queue_len: f64 = (c..=k).map(|n| (n - c) as f64 * p[n]).sum();
    let admitted_per_s = rate_per_s * (1.0 - p_drop);
    let mean_wait_s = if admitted_per_s > 0.0 {
        mean_queue_len / admitted_per_s
    } else {
        0.0
    };
    let waited: f64 = p[c..k].iter().sum();
    MmcK {
        p_drop,
        p_wait: if p_drop < 1.0 {
            waited / (1.0 - p_drop)
        } else {
            0.0
        },
        mean_wait_s,
        mean_queue_len,
    }
}

/// M/M/c/K where a full system evicts the oldest waiting event to admit the arrival
/// (`drop-old`). The number in the system moves exactly as with `drop-new`, so the loss, the
/// queue length and who waits are [`mmck`]'s; the waits of the events served are shorter (the
/// evicted ones had waited longest). Their mean follows one arrival through the queue.
pub fn mmck_drop_old(rate_per_s: f64, service_s: f64, servers: usize, capacity: usize) -> MmcK {
    let new = mmck(rate_per_s, service_s, servers, capacity);
    let (c, k) = places(servers, capacity);
    if k == c || rate_per_s <= 0.0 || service_s <= 0.0 {
        return new; // no waiting room (nobody waits, nothing to evict), or no load
    }
    let p = occupancy(rate_per_s * service_s, c, k);
    let tagged = TaggedWait::solve(rate_per_s, c as f64 / service_s, k - c);
    // An arrival that finds n in the system: served at once below c, else at the back of the
    // queue (place n − c + 1; a full queue first evicts its oldest).
    let (mut served, mut wait_sum) = (p[..c].iter().sum::<f64>(), 0.0);
    for (n, &p_n) in p.iter().enumerate().skip(c) {
        let (p_served, wait) = tagged.from((n - c + 1).min(k - c), 0);
        served += p_n * p_served;
        wait_sum += p_n * wait;
    }
    MmcK {
        mean_wait_s: if served > 0.0 { wait_sum / served } else { 0.0 },
        ..new
    }
}

/// One event waiting in a full pool whose queue evicts its oldest (`drop-old`): from place i
/// (1 at the front) with b events behind it, the probability it is served and E[wait · 1{served}].
/// Its place only moves forward (a service ends at rate cμ; an arrival to a full queue evicts
/// the front), so the states solve in order, front first, fullest first.
struct TaggedWait {
    /// (p_served, E[wait · 1{served}]) by [i − 1][b].
    table: Vec<Vec<(f64, f64)>>,
}

impl TaggedWait {
    fn solve(rate_per_s: f64, service_rate_per_s: f64, queue_places: usize) -> Self {
        let total = rate_per_s + service_rate_per_s;
        let (p_arrive, p_serve) = (rate_per_s / total, service_rate_per_s / total);
        let mut table: Vec<Vec<(f64, f64)>> = Vec::with_capacity(queue_places);
        for i in 1..=queue_places {
            let mut row = vec![(0.0, 0.0); queue_places - i + 1];
            for b in (0..row.len()).rev() {
                let ahead = |b: usize| if i == 1 { (1.0, 0.0) } else { table[i - 2][b] };
                let served_next = ahead(b);
                let arrival_next = if i + b < queue_places {
                    row[b + 1]
                } else if i == 1 {
                    (0.0, 0.0) // evicted
                } else {
                    table[i - 2][b + 1]
                };
                let p_served = p_serve * served_next.0 + p_arrive * arrival_next.0;
                let wait = p_served / total + p_serve * served_next.1 + p_arrive * arrival_next.1;
                row[b] = (p_served, wait);
            }
            table.push(row);
        }
        Self { table }
    }

    fn from(&self, place: usize, behind: usize) -> (f64, f64) {
        self.table[place - 1][behind]
    }
}

/// The levels of the wait percentiles every prediction gives beside the measured ones.
pub const WAIT_LEVELS: [f64; 3] = [0.50, 0.90, 0.99];

/// The `q`-quantile of a wait whose survival function P(W > t) is `tail` (non-increasing from
/// `tail(0)`, the probability of waiting at all): 0 when no more than 1 − q wait; otherwise
/// found by bisection to a relative 1e-9 of `scale_s` (a typical wait, to bracket it).
pub fn wait_quantile(tail: impl Fn(f64) -> f64, q: f64, scale_s: f64) -> f64 {
    let beyond = 1.0 - q;
    if scale_s.is_nan() || scale_s <= 0.0 || tail(0.0) <= beyond {
        return 0.0;
    }
    let (mut lo, mut hi) = (0.0, scale_s);
    while tail(hi) > beyond {
        (lo, hi) = (hi, hi * 2.0);
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    while hi - lo > 1e-9 * scale_s {
        let mid = (lo + hi) / 2.0;
        if tail(mid) > beyond {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The `q`-quantile of an M/M/c wait, inverted in closed form: ln(C / (1 − q)) / (cμ − λ) where
/// C > 1 − q (C the probability of waiting, cμ − λ the spare rate, per s), else 0.
pub fn erlang_c_wait_quantile(p_wait: f64, spare_per_s: f64, q: f64) -> f64 {
    if p_wait <= 1.0 - q {
        return 0.0;
    }
    (p_wait / (1.0 - q)).ln() / spare_per_s
}

/// M/M/c waits (Erlang C): P(W > t) = C · e^{−(cμ − λ) t}, with C the probability of waiting.
pub fn erlang_c_wait_tail(
    p_wait: f64,
    servers: usize,
    rate_per_s: f64,
    service_s: f64,
) -> impl Fn(f64) -> f64 {
    let spare_per_s = servers as f64 / service_s - rate_per_s;
    move |t: f64| p_wait * (-spare_per_s * t).exp()
}

/// M/M/c/K waits with `drop-new`: an admitted arrival that finds n ≥ c in the system waits for
/// n − c + 1 service completions at rate cμ, an Erlang(n − c + 1, cμ) time, so
/// P(W > t) = Σ_{n=c}^{K−1} p_n / (1 − p_K) · P(Erlang(n − c + 1, cμ) > t).
pub fn mmck_wait_tail(
    rate_per_s: f64,
    service_s: f64,
    servers: usize,
    capacity: usize,
) -> impl Fn(f64) -> f64 {
    let (c, k) = places(servers, capacity);
    let p = occupancy(rate_per_s * service_s, c, k);
    let admitted = 1.0 - p[k];
    let weights: Vec<f64> = p[c..k].iter().map(|p_n| p_n / admitted).collect();
    let rate = c as f64 / service_s;
    move |t: f64| {
        // P(Erlang(m, r) > t) = Σ_{i<m} e^{−rt} (rt)^i / i!, built up one m at a time (terms in
        // logs, so a long wait does not underflow e^{−rt} before the powers make up for it).
        let rt = rate * t;
        let (mut log_term, mut erlang_tail, mut total) = (-rt, 0.0, 0.0);
        for (i, w) in weights.iter().enumerate() {
            erlang_tail += log_term.exp();
            total += w * erlang_tail;
            log_term += rt.ln() - ((i + 1) as f64).ln();
        }
        total.min(1.0)
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
    fn drop_old_serves_as_many_as_drop_new_and_they_wait_less() {
        let (new, old) = (
            mmck(120.0, 0.020, 2, 12),
            mmck_drop_old(120.0, 0.020, 2, 12),
        );
        assert_eq!(
            (old.p_drop, old.p_wait, old.mean_queue_len),
            (new.p_drop, new.p_wait, new.mean_queue_len)
        );
        assert!(old.mean_wait_s < new.mean_wait_s, "{old:?} {new:?}");
        // The arrivals the chain sees served are the (1 − p_K) that are not lost.
        let (c, k) = (2, 12);
        let p = occupancy(2.4, c, k);
        let tagged = TaggedWait::solve(120.0, 100.0, k - c);
        let served: f64 = p[..c].iter().sum::<f64>()
            + (c..=k)
                .map(|n| p[n] * tagged.from((n - c + 1).min(k - c), 0).0)
                .sum::<f64>();
        assert!(close(served, 1.0 - new.p_drop, 1e-12), "{served}");
    }

    #[test]
    fn drop_old_with_one_place_is_worked_out_by_hand() {
        // M/M/1/2, one waiting place, λ = μ = 1: the waiting event is served if the service ends
        // before the next arrival (1/2), after an exponential time of rate 2 given that: E[W·1] =
        // 1/2 · 1/2 = 1/4. Arrivals find 0, 1, 2 with 1/3 each; those finding 1 or 2 wait.
        let q = mmck_drop_old(1.0, 1.0, 1, 2);
        let served = 1.0 / 3.0 + 2.0 / 3.0 * 0.5;
        let wait_sum = 2.0 / 3.0 * 0.25;
        assert!(close(q.mean_wait_s, wait_sum / served, 1e-12), "{q:?}");
        assert!(close(q.p_drop, 1.0 / 3.0, 1e-12));
    }

    #[test]
    fn p_wait_is_the_share_of_admitted_arrivals_that_find_every_server_busy() {
        // M/M/1/2 at λ = μ: p = 1/3 each; of the 2/3 admitted, the half finding one in service wait.
        assert!(close(mmck(1.0, 1.0, 1, 2).p_wait, 0.5, 1e-12));
        // A large capacity: Erlang C.
        assert!(close(
            mmck(2.4, 1.0, 3, 2000).p_wait,
            erlang_c(3, 2.4),
            1e-9
        ));
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
    fn a_huge_load_fills_the_queue_without_overflowing() {
        // a = 8.64e12 erlangs on 4,096 servers: nearly every arrival is lost, as a fluid says.
        let q = mmck(1e8, 86_400.0, 4_096, 4_103);
        assert!(close(q.p_drop, 1.0 - 4_096.0 / 8.64e12, 1e-6), "{q:?}");
        assert!(close(q.mean_queue_len, 7.0, 1e-6), "{q:?}");
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

    /// The sweep issue's numbers: Poisson 9/s, exp 500 ms. M/M/6's p99 wait is 1.25 s and
    /// M/M/5's 4.3 s; M/M/6's median is 0 (58% do not wait).
    #[test]
    fn erlang_c_percentiles_match_the_published_figures() {
        let quantiles = |c: usize| {
            let p_wait = erlang_c(c, 4.5);
            let tail = erlang_c_wait_tail(p_wait, c, 9.0, 0.5);
            WAIT_LEVELS.map(|q| wait_quantile(&tail, q, 0.5))
        };
        let six = quantiles(6);
        assert_eq!(six[0], 0.0);
        assert!(close(six[1], 0.4797, 1e-3), "{six:?}");
        assert!(close(six[2], 1.2472, 1e-3), "{six:?}");
        let five = quantiles(5);
        assert!(close(five[0], 0.4220, 1e-3), "{five:?}");
        assert!(close(five[2], 4.3340, 1e-3), "{five:?}");
    }

    /// M/M/1/2: an admitted arrival waits only if it finds the one place in service taken,
    /// then for one exp(μ) service: P(W > t) = p_1 / (1 − p_2) · e^{−μt}.
    #[test]
    fn mmck_wait_tail_is_one_exponential_for_one_waiting_place() {
        let (rate, s) = (3.0, 0.25);
        let a: f64 = rate * s;
        let p = [1.0, a, a * a].map(|x| x / (1.0 + a + a * a));
        let tail = mmck_wait_tail(rate, s, 1, 2);
        for t in [0.0, 0.1, 0.5, 2.0] {
            let expected = p[1] / (1.0 - p[2]) * (-t / s).exp();
            assert!(
                close(tail(t), expected, 1e-12),
                "t = {t}: {} vs {expected}",
                tail(t)
            );
        }
    }

    /// With room for far more than ever waits, M/M/c/K's waits are M/M/c's (Erlang C), in the
    /// tail too (Erlang mixtures of up to 400 phases, summed in logs).
    #[test]
    fn mmck_wait_percentiles_tend_to_erlang_c_with_a_large_queue() {
        let (rate, s, c) = (9.0, 0.5, 5);
        let big = mmck_wait_tail(rate, s, c, c + 400);
        let erlang = erlang_c_wait_tail(erlang_c(c, rate * s), c, rate, s);
        for q in WAIT_LEVELS {
            let (a, b) = (wait_quantile(&big, q, s), wait_quantile(&erlang, q, s));
            assert!(close(a, b, 1e-4), "q = {q}: {a} vs {b}");
        }
    }

    #[test]
    fn a_quantile_below_the_share_that_waits_is_zero() {
        assert_eq!(wait_quantile(|_| 0.3, 0.5, 1.0), 0.0);
        assert_eq!(wait_quantile(|t| 0.3 * (-t).exp(), 0.9, 0.0), 0.0);
        let q = wait_quantile(|t: f64| (-t).exp(), 0.5, 1.0);
        assert!(close(q, std::f64::consts::LN_2, 1e-8), "{q}");
    }

    #[test]
    fn erlang_c_quantiles_in_closed_form_equal_the_tail_inverted() {
        for (c, a) in [(5usize, 4.5), (6, 4.5), (2, 1.6)] {
            let p_wait = erlang_c(c, a);
            let tail = erlang_c_wait_tail(p_wait, c, 2.0 * a, 0.5);
            for q in WAIT_LEVELS {
                let closed = erlang_c_wait_quantile(p_wait, c as f64 / 0.5 - 2.0 * a, q);
                let inverted = wait_quantile(&tail, q, 0.5);
                assert!(
                    (closed - inverted).abs() < 1e-6,
                    "c {c}, q {q}: {closed} vs {inverted}"
                );
            }
        }
    }
}
