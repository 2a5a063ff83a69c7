//! What the faces say about a broker source, decided once from a snapshot: the connection
//! ("connected 12s", "reconnecting 3s") and which theory fits the share of the stream this
//! instance sees (a split stream: round-robin MQTT shares, or Redis consumers pulling).

use crate::engine::snapshot::{BrokerView, Snapshot, SourceType};
use crate::units::duration_s;

/// "connected 12s" / "reconnecting 3s" / "connecting 1s": the state and how long it has held.
pub fn connection_text(view: &BrokerView, now_ns: u64) -> String {
    let held_s = now_ns.saturating_sub(view.connection_since_ns) as f64 / 1e9;
    let state = match (
        view.connected,
        view.reconnects > 0 || view.connection_since_ns > 0,
    ) {
        (true, _) => "connected",
        (false, true) => "reconnecting",
        (false, false) => "connecting",
    };
    format!("{state} {}", duration_s(held_s))
}

/// How the group splits the stream, as the theory panel and the docs explain it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Not in a group: this instance sees the whole stream.
    Whole,
    /// MQTT shared subscription: the broker hands every K-th message to each of K members, so
    /// an instance's arrivals are far more regular than the stream (Erlang-K gaps for Poisson).
    RoundRobin,
    /// Redis consumer group: each consumer pulls when it has room, so the group behaves like
    /// one queue served by every instance's workers.
    Pull,
}

impl Split {
    pub fn of(snapshot: &Snapshot) -> Option<Self> {
        let view = snapshot.source.broker.as_ref()?;
        Some(match (snapshot.source.kind, view.group.is_some()) {
            (SourceType::Mqtt, true) => Split::RoundRobin,
            (SourceType::Redis, true) => Split::Pull,
            _ => Split::Whole,
        })
    }

    /// One line for the theory panel and the log.
    pub fn note(self) -> &'static str {
        match self {
            Split::Whole => "the whole stream: the theory is this instance's",
            Split::RoundRobin => {
                "shared subscription: this instance gets every K-th message (round-robin); K separate queues wait longer than one shared queue"
            }
            Split::Pull => {
                "consumer group: instances pull when they have room, like one queue shared by all their workers; this is this instance's share"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_says_its_state_and_how_long() {
        let mut view = BrokerView {
            connected: false,
            ..BrokerView::default()
        };
        assert!(connection_text(&view, 1_000_000_000).starts_with("connecting"));
        view.connected = true;
        view.connection_since_ns = 1_000_000_000;
        let text = connection_text(&view, 13_000_000_000);
        assert!(text.starts_with("connected 12"), "{text}");
        view.connected = false;
        view.reconnects = 1;
        assert!(connection_text(&view, 14_000_000_000).starts_with("reconnecting"));
    }

    #[test]
    fn the_split_follows_the_broker_and_the_group() {
        let mut s = Snapshot::default();
        assert_eq!(Split::of(&s), None);
        s.source.kind = SourceType::Mqtt;
        s.source.broker = Some(BrokerView {
            group: Some("$share/g/t".into()),
            ..BrokerView::default()
        });
        assert_eq!(Split::of(&s), Some(Split::RoundRobin));
        s.source.kind = SourceType::Redis;
        assert_eq!(Split::of(&s), Some(Split::Pull));
        s.source.broker.as_mut().unwrap().group = None;
        assert_eq!(Split::of(&s), Some(Split::Whole));
    }
}
