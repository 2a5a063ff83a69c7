//! The message `backlog publish` sends and the broker sources read: a JSON object
//! `{"seq": 17, "scheduled_ns": ..., "demand_ns": ..., "run": "..."}`. `seq` counts from 1 in one
//! publisher's run (named by `run`), `scheduled_ns` is when the generator scheduled it (ns since
//! the Unix epoch, so end-to-end latency counts from there), `demand_ns` its service demand.
//!
//! Any other JSON object is accepted too, each field optional (no `seq`: no duplicate check; no
//! `scheduled_ns`: the event arrives when it is received; no `demand_ns`: a demand is drawn from
//! the service settings). A payload that is not a JSON object, or a field of the wrong type, is
//! malformed: rejected, never an event. A payload is data only: it is never executed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A published message's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_ns: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand_ns: Option<u64>,
    /// The publisher's run: duplicates are sequence numbers seen twice within one run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// The longest payload read, bytes: a longer one is rejected.
pub const MAX_PAYLOAD: usize = 1 << 20;

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        // A struct of numbers and a string always serializes.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The message a payload carries; why not, for a malformed one.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_PAYLOAD {
            return Err(format!(
                "{} bytes, over the longest read ({MAX_PAYLOAD})",
                bytes.len()
            ));
        }
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
        if !value.is_object() {
            return Err("not a JSON object".into());
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// How long ago it was scheduled, by this machine's clock (zero if in the future).
    pub fn age(&self, now_unix_ns: u64) -> Option<Duration> {
        self.scheduled_ns
            .map(|at| Duration::from_nanos(now_unix_ns.saturating_sub(at)))
    }
}

/// Now, ns since the Unix epoch.
pub fn unix_now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A short, printable preview of a payload, for the log of rejected ones.
pub fn preview(bytes: &[u8]) -> String {
    const SHOWN: usize = 60;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]);
    let text = crate::text::escape_controls(&text);
    if bytes.len() > SHOWN {
        format!("{text}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reads_back_as_written() {
        let m = Message {
            seq: Some(17),
            scheduled_ns: Some(1_764_612_345_000_000_000),
            demand_ns: Some(2_500_000),
            run: Some("r1".into()),
        };
        assert_eq!(Message::decode(&m.encode()).unwrap(), m);
        assert_eq!(
            Message::decode(br#"{"seq": 3, "other": true}"#)
                .unwrap()
                .seq,
            Some(3)
        );
        assert_eq!(
            m.age(1_764_612_346_000_000_000),
            Some(Duration::from_secs(1))
        );
        assert_eq!(m.age(0), Some(Duration::ZERO));
    }

    #[test]
    fn malformed_payloads_say_why() {
        for (bytes, why) in [
            (&b"hello"[..], "not JSON"),
            (b"[1, 2]", "not a JSON object"),
            (br#"{"seq": "seven"}"#, "invalid type"),
            (br#"{"demand_ns": -1}"#, "invalid value"),
        ] {
            let err = Message::decode(bytes).unwrap_err();
            assert!(
                err.contains(why),
                "{}: {err}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(preview(b"a\nb"), "a\\nb");
    }
}
