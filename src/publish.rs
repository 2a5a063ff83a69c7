//! `backlog publish URL`: drives a broker with the engine's own generator. Each message is a
//! `payload::Message` (its sequence number, its scheduled time, its demand) on the generator's
//! schedule, sent with XADD (Redis) or at QoS 1 (MQTT, confirmed by PUBACK). What the broker did
//! not confirm while it was down is sent again (Redis: each message for up to `RETRY_FOR`;
//! MQTT: rumqttc resends unconfirmed messages on the resumed session); what was never confirmed
//! is counted as failed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::Xoshiro256PlusPlus;

use crate::engine::settings::{ArrivalProcess, Rate, ServiceDist};
use crate::engine::source::broker::payload::{Message, unix_now_ns};
use crate::engine::source::broker::{BrokerUrl, Protocol, backoff, redis as stream};
use crate::engine::source::generator::{
    ARRIVAL_STREAM, ArrivalSchedule, SERVICE_STREAM, sample_demand_ns, stream_rng,
};

/// A message the broker does not confirm is sent again for this long, then counted as failed.
pub const RETRY_FOR: Duration = Duration::from_secs(10);
/// Messages sent in one round trip, at most (Redis pipelines them).
const SEND_BATCH: usize = 256;

/// What to publish, where.
#[derive(Debug, Clone)]
pub struct PublishPlan {
    pub url: BrokerUrl,
    pub arrival: ArrivalProcess,
    pub rate: Rate,
    pub burst: u32,
    pub service: Duration,
    pub service_dist: ServiceDist,
    pub events: Option<u64>,
    pub duration: Option<Duration>,
    pub seed: u64,
}

/// What a publisher did, counted as it goes (the progress line reads it).
#[derive(Debug, Default)]
pub struct Progress {
    pub published: AtomicU64,
    pub confirmed: AtomicU64,
    pub failed: AtomicU64,
}

/// A publisher's run, at its end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishSummary {
    pub published: u64,
    pub confirmed: u64,
    pub failed: u64,
    pub elapsed: Duration,
    pub target_per_s: f64,
}

impl PublishSummary {
    pub fn achieved_per_s(&self) -> f64 {
        self.confirmed as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for PublishSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "published {}, confirmed {}, failed {} in {:.2}s: {:.1}/s confirmed (target {:.1}/s)",
            self.published,
            self.confirmed,
            self.failed,
            self.elapsed.as_secs_f64(),
            self.achieved_per_s(),
            self.target_per_s
        )
    }
}

/// The generator's messages, due in order: the same schedule and demands the engine draws.
pub struct Messages {
    plan: PublishPlan,
    schedule: ArrivalSchedule,
    arrivals: Xoshiro256PlusPlus,
    service: Xoshiro256PlusPlus,
    start_unix_ns: u64,
    run: String,
    next_seq: u64,
}

impl Messages {
    pub fn new(plan: &PublishPlan) -> Self {
        let mut arrivals = stream_rng(plan.seed, ARRIVAL_STREAM);
        let schedule =
            ArrivalSchedule::new(plan.arrival, plan.rate.get(), plan.burst, 0, &mut arrivals);
        let start_unix_ns = unix_now_ns();
        Self {
            plan: plan.clone(),
            schedule,
            arrivals,
            service: stream_rng(plan.seed, SERVICE_STREAM),
            start_unix_ns,
            run: format!("{start_unix_ns:x}"),
            next_seq: 1,
        }
    }

    /// ns after the start the next message is due; `None` past `--events` or `--duration`.
    pub fn next_due_ns(&self) -> Option<u64> {
        let due = self.schedule.next_due_ns();
        let past_events = self.plan.events.is_some_and(|n| self.next_seq > n);
        let past_end = self
            .plan
            .duration
            .is_some_and(|d| u128::from(due) > d.as_nanos());
        (!past_events && !past_end).then_some(due)
    }

    /// The next message (call when it is due).
    pub fn take(&mut self) -> Message {
        let due = self.schedule.next_due_ns();
        let demand = sample_demand_ns(self.plan.service_dist, self.plan.service, &mut self.service);
        self.schedule.advance(&mut self.arrivals);
        let seq = self.next_seq;
        self.next_seq += 1;
        Message {
            seq: Some(seq),
            scheduled_ns: Some(self.start_unix_ns + due),
            demand_ns: Some(demand),
            run: Some(self.run.clone()),
        }
    }

    /// Every message due by `elapsed`, up to `max`.
    pub fn due(&mut self, elapsed: Duration, max: usize) -> Vec<Message> {
        let now = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mut due = Vec::new();
        while due.len() < max && self.next_due_ns().is_some_and(|at| at <= now) {
            due.push(self.take());
        }
        due
    }
}

/// Publishes `plan` until its end or `stop`; `progress` counts as it goes.
pub fn run(
    plan: &PublishPlan,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<PublishSummary, String> {
    let started = Instant::now();
    match plan.url.protocol {
        Protocol::Redis => publish_redis(plan, progress, stop, started)?,
        Protocol::Mqtt => publish_mqtt(plan, progress, stop, started)?,
    }
    Ok(PublishSummary {
        published: progress.published.load(Ordering::Relaxed),
        confirmed: progress.confirmed.load(Ordering::Relaxed),
        failed: progress.failed.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        target_per_s: plan.rate.get(),
    })
}

/// Waits until `due_ns` after `started` (or `stop`), in short steps.
fn wait_until(started: Instant, due_ns: Option<u64>, stop: &AtomicBool) {
    let Some(due_ns) = due_ns else { return };
    let at = started + Duration::from_nanos(due_ns);
    while !stop.load(Ordering::Relaxed) {
        let left = at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}

fn publish_redis(
    plan: &PublishPlan,
    progress: &Progress,
    stop: &AtomicBool,
    started: Instant,
) -> Result<(), String> {
    let mut conn = Some(stream::connect(&plan.url)?);
    let mut messages = Messages::new(plan);
    while !stop.load(Ordering::Relaxed) {
        let batch = messages.due(started.elapsed(), SEND_BATCH);
        if batch.is_empty() {
            if messages.next_due_ns().is_none() {
                break;
            }
            wait_until(started, messages.next_due_ns(), stop);
            continue;
        }
        progress
            .published
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        xadd_until_confirmed(&plan.url, &mut conn, &batch, progress, stop);
    }
    Ok(())
}

/// XADDs `batch` in one pipeline, reconnecting and sending again while the server does not
/// answer, for up to `RETRY_FOR`; then counts the batch as failed.
fn xadd_until_confirmed(
    url: &BrokerUrl,
    conn: &mut Option<redis::Connection>,
    batch: &[Message],
    progress: &Progress,
    stop: &AtomicBool,
) {
    let first_try = Instant::now();
    let mut attempt = 0;
    while first_try.elapsed() < RETRY_FOR && !stop.load(Ordering::Relaxed) {
        if conn.is_none() {
            *conn = stream::connect(url).ok();
        }
        if let Some(c) = conn.as_mut() {
            let mut pipe = redis::pipe();
            for message in batch {
                pipe.cmd("XADD")
                    .arg(&url.name)
                    .arg("*")
                    .arg("payload")
                    .arg(message.encode());
            }
            match pipe.query::<Vec<redis::Value>>(c) {
                Ok(_) => {
                    progress
                        .confirmed
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    return;
                }
                Err(_) => *conn = None,
            }
        }
        std::thread::sleep(backoff(attempt));
        attempt += 1;
    }
    progress
        .failed
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
}

fn publish_mqtt(
    plan: &PublishPlan,
    progress: &Progress,
    stop: &AtomicBool,
    started: Instant,
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the publisher's runtime: {e}"))?;
    runtime.block_on(mqtt::publish(plan, progress, stop, started))
}

mod mqtt {
    //! Publishing at QoS 1: the event loop polled on a task of its own, which counts PUBACKs.

    use super::*;
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};

    /// Messages sent and not yet confirmed, at most.
    const IN_FLIGHT: u16 = 256;

    pub async fn publish(
        plan: &PublishPlan,
        progress: &Progress,
        stop: &AtomicBool,
        started: Instant,
    ) -> Result<(), String> {
        let url = &plan.url;
        let (client, mut eventloop) = AsyncClient::new(options(url)?, usize::from(IN_FLIGHT));
        let confirmed = Arc::new(AtomicU64::new(0));
        // The first connection must come up, or the address is wrong.
        first_connection(&mut eventloop, url).await?;
        let poller = tokio::spawn(poll(eventloop, Arc::clone(&confirmed)));
        let mut messages = Messages::new(plan);
        while !stop.load(Ordering::Relaxed) {
            let batch = messages.due(started.elapsed(), SEND_BATCH);
            if batch.is_empty() {
                let Some(due) = messages.next_due_ns() else {
                    break;
                };
                let at = started + Duration::from_nanos(due);
                tokio::time::sleep_until(at.min(Instant::now() + Duration::from_millis(50)).into())
                    .await;
                continue;
            }
            for message in batch {
                progress.published.fetch_add(1, Ordering::Relaxed);
                if client
                    .publish(url.name.clone(), QoS::AtLeastOnce, false, message.encode())
                    .await
                    .is_err()
                {
                    progress.failed.fetch_add(1, Ordering::Relaxed);
                }
                progress
                    .confirmed
                    .store(confirmed.load(Ordering::Relaxed), Ordering::Relaxed);
            }
        }
        settle(&confirmed, progress, stop).await;
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), poller).await;
        Ok(())
    }

    /// A persistent session (the broker keeps what it has not confirmed across a reconnect),
    /// at most `IN_FLIGHT` unconfirmed.
    fn options(url: &BrokerUrl) -> Result<MqttOptions, String> {
        let client_id = format!("backlog-publish-{}", std::process::id());
        let mut options = MqttOptions::new(client_id, url.host.clone(), url.port);
        crate::engine::source::broker::mqtt::secure(&mut options, url)?;
        options
            .set_keep_alive(Duration::from_secs(5))
            .set_clean_start(false)
            .set_session_expiry_interval(Some(
                crate::engine::source::broker::mqtt::SESSION_EXPIRY_S,
            ))
            .set_outgoing_inflight_upper_limit(IN_FLIGHT)
            .set_connection_timeout(crate::engine::source::broker::CONNECT_TIMEOUT.as_secs());
        if let Some(password) = url.password() {
            options.set_credentials(url.user.clone().unwrap_or_default(), password);
        }
        Ok(options)
    }

    /// The first connection, within the connect timeout: else the address is wrong.
    async fn first_connection(
        eventloop: &mut rumqttc::v5::EventLoop,
        url: &BrokerUrl,
    ) -> Result<(), String> {
        let timeout = crate::engine::source::broker::CONNECT_TIMEOUT;
        match tokio::time::timeout(timeout, eventloop.poll()).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!(
                "cannot connect to the MQTT broker at {}: {}",
                url.address(),
                crate::engine::source::broker::tls::explain(&e.to_string())
            )),
            Err(_) => Err(format!(
                "cannot connect to the MQTT broker at {}: no answer within {}s",
                url.address(),
                timeout.as_secs()
            )),
        }
    }

    /// Waits for the last confirmations (the broker may be down for a while), then counts what
    /// never was confirmed as failed.
    async fn settle(confirmed: &AtomicU64, progress: &Progress, stop: &AtomicBool) {
        let waited = Instant::now();
        let expected =
            progress.published.load(Ordering::Relaxed) - progress.failed.load(Ordering::Relaxed);
        while confirmed.load(Ordering::Relaxed) < expected
            && waited.elapsed() < RETRY_FOR
            && !stop.load(Ordering::Relaxed)
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let confirmed = confirmed.load(Ordering::Relaxed).min(expected);
        progress.confirmed.store(confirmed, Ordering::Relaxed);
        progress
            .failed
            .fetch_add(expected - confirmed, Ordering::Relaxed);
    }

    /// Polls until the disconnect, counting PUBACKs; rumqttc reconnects on the next poll.
    async fn poll(mut eventloop: rumqttc::v5::EventLoop, confirmed: Arc<AtomicU64>) {
        let mut attempt = 0;
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    confirmed.fetch_add(1, Ordering::Relaxed);
                    attempt = 0;
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                Ok(_) => attempt = 0,
                Err(_) => {
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(events: Option<u64>, duration: Option<Duration>) -> PublishPlan {
        PublishPlan {
            url: BrokerUrl::parse("redis:///s").unwrap(),
            arrival: ArrivalProcess::Fixed,
            rate: Rate::per_s(10.0).unwrap(),
            burst: 1,
            service: Duration::from_millis(5),
            service_dist: ServiceDist::Fixed,
            events,
            duration,
            seed: 1,
        }
    }

    #[test]
    fn messages_follow_the_generators_schedule_and_end_where_told() {
        let mut messages = Messages::new(&plan(Some(3), None));
        // 10/s fixed: due at 100 ms, 200 ms, 300 ms; --events 3 ends there.
        let due = messages.due(Duration::from_millis(250), 100);
        assert_eq!(due.len(), 2);
        assert_eq!(due[0].seq, Some(1));
        assert_eq!(
            due[1].scheduled_ns.unwrap() - due[0].scheduled_ns.unwrap(),
            100_000_000
        );
        assert_eq!(due[0].demand_ns, Some(5_000_000));
        assert_eq!(messages.due(Duration::from_secs(9), 100).len(), 1);
        assert_eq!(messages.next_due_ns(), None);
        // --duration 1s: ten messages, the last due at exactly 1 s.
        let mut messages = Messages::new(&plan(None, Some(Duration::from_secs(1))));
        assert_eq!(messages.due(Duration::from_secs(5), 100).len(), 10);
    }
}
