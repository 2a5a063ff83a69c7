//! Settling events back to the source that wants to know: a source whose broker needs an ack
//! (MQTT QoS 1, Redis XACK) asks for it, and then every event it let in is settled exactly once,
//! by the worker when its work has finished (completed or failed), or by the admission when it is
//! dropped. No other source pays for it: the pool and the admission check one `OnceLock`.
//!
//! The source keeps its broker's token for each event in a [`Pending`] ledger under the event's
//! id before the event enters the queue, so a settlement always finds it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use flume::{Receiver, RecvTimeoutError, Sender};

/// What became of an event a source is waiting to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Its work finished, completed or failed: ack it.
    Finished(u64),
    /// It was dropped (queue full, evicted, held when the source ended): its work never ran.
    Dropped(u64),
}

impl Settled {
    pub fn id(self) -> u64 {
        match self {
            Settled::Finished(id) | Settled::Dropped(id) => id,
        }
    }
}

/// The channel settlements travel on: the engine keeps the sender, the source the receiver.
pub fn channel() -> (Sender<Settled>, Receiver<Settled>) {
    flume::unbounded()
}

/// Tokens (a message's packet id, a stream entry's id) of the events not yet settled, by event id.
pub struct Pending<T> {
    tokens: Mutex<HashMap<u64, T>>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Self {
            tokens: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Pending<T> {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<u64, T>) -> R) -> R {
        f(&mut self.tokens.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Keeps `token` for event `id` until it is settled (call before the event enters the queue).
    pub fn insert(&self, id: u64, token: T) {
        self.with(|t| t.insert(id, token));
    }

    /// Whether some event not yet settled holds `token` (a broker delivered it again).
    pub fn holds(&self, token: &T) -> bool
    where
        T: PartialEq,
    {
        self.with(|t| t.values().any(|held| held == token))
    }

    pub fn len(&self) -> usize {
        self.with(|t| t.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens of `settled`, taken out, each with whether its work finished.
    pub fn take(&self, settled: &[Settled]) -> Vec<(T, bool)> {
        self.with(|t| {
            settled
                .iter()
                .filter_map(|s| {
                    let finished = matches!(s, Settled::Finished(_));
                    t.remove(&s.id()).map(|token| (token, finished))
                })
                .collect()
        })
    }

    /// Every token still pending (a connection lost: the broker will deliver them again).
    pub fn clear(&self) {
        self.with(HashMap::clear);
    }
}

/// Settlements sent together, at most.
pub const BATCH: usize = 512;

/// Waits up to `timeout` for a settlement, then takes every other one already sent (up to
/// `BATCH`); empty on a timeout. `None` once every sender is gone.
pub fn next_batch(settled: &Receiver<Settled>, timeout: Duration) -> Option<Vec<Settled>> {
    let first = match settled.recv_timeout(timeout) {
        Ok(first) => first,
        Err(RecvTimeoutError::Timeout) => return Some(Vec::new()),
        Err(RecvTimeoutError::Disconnected) => return None,
    };
    Some(rest_of_batch(first, settled))
}

/// `first` and what else is already waiting, up to `BATCH`.
pub fn rest_of_batch(first: Settled, settled: &Receiver<Settled>) -> Vec<Settled> {
    let mut batch = vec![first];
    batch.extend(settled.try_iter().take(BATCH - 1));
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_is_taken_once_with_its_outcome() {
        let pending = Pending::default();
        pending.insert(1, "a");
        pending.insert(2, "b");
        let taken = pending.take(&[
            Settled::Dropped(2),
            Settled::Finished(1),
            Settled::Finished(1),
        ]);
        assert_eq!(taken, vec![("b", false), ("a", true)]);
        assert!(pending.is_empty());
    }

    #[test]
    fn a_batch_takes_what_is_waiting() {
        let (tx, rx) = channel();
        for id in 0..(BATCH as u64 + 10) {
            tx.send(Settled::Finished(id)).unwrap();
        }
        assert_eq!(next_batch(&rx, Duration::ZERO).unwrap().len(), BATCH);
        assert_eq!(next_batch(&rx, Duration::ZERO).unwrap().len(), 10);
        assert!(
            next_batch(&rx, Duration::from_millis(1))
                .unwrap()
                .is_empty()
        );
        drop(tx);
        assert!(next_batch(&rx, Duration::from_millis(1)).is_none());
    }
}
