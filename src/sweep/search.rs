//! The SLO search: the first of an ordered list of candidates that meets an objective, when
//! meeting it is monotone (more workers, or less load, never hurts). The prediction's answer
//! is probed first, then its neighbour; past them an exponential step brackets the answer and
//! a bisection closes in. Every probe is a measured run, so there are few.

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The first candidate that meets it.
    At(usize),
    /// Not even the last candidate meets it.
    None,
    /// A probe was interrupted.
    Interrupted,
}

/// The first index in `0..n` for which `meets` holds, starting from `guess`. `meets` returns
/// `None` when its run was interrupted; errors end the search.
pub fn first_meeting<E>(
    n: usize,
    guess: Option<usize>,
    mut meets: impl FnMut(usize) -> Result<Option<bool>, E>,
) -> Result<Found, E> {
    if n == 0 {
        return Ok(Found::None);
    }
    // The largest index known to miss, and the smallest known to meet.
    let (mut misses, mut meets_at): (Option<usize>, Option<usize>) = (None, None);
    let mut step = 1;
    let mut next = guess.unwrap_or(n / 2).min(n - 1);
    loop {
        match meets(next)? {
            None => return Ok(Found::Interrupted),
            Some(true) => meets_at = Some(next),
            Some(false) => misses = Some(next),
        }
        next = match (misses, meets_at) {
            (_, Some(0)) => return Ok(Found::At(0)),
            (Some(lo), Some(hi)) if hi == lo + 1 => return Ok(Found::At(hi)),
            (Some(lo), None) if lo == n - 1 => return Ok(Found::None),
            (Some(lo), Some(hi)) => lo + (hi - lo) / 2,
            (None, Some(hi)) => hi.saturating_sub(step),
            (Some(lo), None) => (lo + step).min(n - 1),
            (None, None) => unreachable!("a probe was recorded"),
        };
        step *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Searches `0..n` for `answer` (`n`: none meets) from `guess`; the indices probed.
    fn probes(n: usize, answer: usize, guess: Option<usize>) -> (Found, Vec<usize>) {
        let mut probed = Vec::new();
        let found = first_meeting::<()>(n, guess, |i| {
            probed.push(i);
            Ok(Some(i >= answer))
        })
        .unwrap();
        (found, probed)
    }

    #[test]
    fn a_right_guess_takes_two_probes() {
        assert_eq!(probes(256, 5, Some(5)), (Found::At(5), vec![5, 4]));
        assert_eq!(probes(256, 0, Some(0)), (Found::At(0), vec![0]));
    }

    #[test]
    fn a_wrong_guess_brackets_then_bisects() {
        for n in [1, 2, 7, 256] {
            for answer in 0..=n {
                for guess in [None, Some(0), Some(n / 3), Some(n - 1)] {
                    let (found, probed) = probes(n, answer, guess);
                    let expected = if answer == n {
                        Found::None
                    } else {
                        Found::At(answer)
                    };
                    assert_eq!(found, expected, "n {n}, answer {answer}, guess {guess:?}");
                    // Logarithmic: a bracket and a bisection, each about log2(n) probes.
                    let bound = 2 * (usize::BITS - n.leading_zeros()) as usize + 2;
                    assert!(probed.len() <= bound, "{probed:?}");
                    let mut distinct = probed.clone();
                    distinct.sort_unstable();
                    distinct.dedup();
                    assert_eq!(distinct.len(), probed.len(), "probed twice: {probed:?}");
                }
            }
        }
    }

    #[test]
    fn an_interrupted_probe_ends_the_search() {
        let found = first_meeting::<()>(10, Some(3), |i| Ok((i != 2).then_some(i >= 2)));
        assert_eq!(found, Ok(Found::Interrupted));
    }
}
