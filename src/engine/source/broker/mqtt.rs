//! `--source mqtt://HOST:PORT/TOPIC`: messages of an MQTT v5 subscription, at QoS 1, acked by
//! hand only when each event is settled (at least once: whatever the broker had when an
//! instance died is delivered again). `--share GROUP` subscribes as `$share/GROUP/TOPIC`, so the
//! members of the group split the stream (mosquitto hands it round-robin).
//!
//! The session persists (`clean_start` off, an expiry), with a client id of its own, so a
//! reconnect resumes it; when the broker had lost it, the source subscribes again itself
//! (rumqttc does not, #250, #857). Receive Maximum is the source's prefetch (the queue's cap,
//! else two per worker): the broker sends no more unacked messages than that.
//!
//! rumqttc freezes if an ack is awaited on the task that polls its event loop (#1025): the
//! event loop is polled on a task of its own that forwards what it yields; the source's task
//! turns messages into events and sends the acks.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, Packet, Publish, SubscribeReasonCode};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions};

use rumqttc::{TlsConfiguration, Transport};

use super::tls::explain;
use super::{BrokerSource, BrokerUrl, Inbox, backoff, payload::MAX_PAYLOAD, prefetch};
use crate::engine::ack::{self, Settled};
use crate::engine::settings::Settings;
use crate::engine::source::{EventSource, SourceIo};

/// How long the broker keeps the session of an instance that went away, seconds.
pub const SESSION_EXPIRY_S: u32 = 3600;
/// How often the source looks at its end and its settings while nothing comes.
const TICK: Duration = Duration::from_millis(100);
/// After the last ack, how long the disconnect may take.
const DISCONNECT_WAIT: Duration = Duration::from_secs(2);

/// The MQTT source.
pub struct MqttSource {
    source: Arc<BrokerSource>,
    seed: u64,
}

impl MqttSource {
    pub fn new(source: Arc<BrokerSource>, seed: u64) -> Self {
        Self { source, seed }
    }

    /// The subscription: `$share/GROUP/TOPIC` in a group, else the topic.
    fn filter(&self) -> String {
        self.source
            .group_label()
            .unwrap_or_else(|| self.source.url.name.clone())
    }
}

/// The client's options for `source`, the prefetch as Receive Maximum.
pub fn options(
    source: &BrokerSource,
    client_id: String,
    settings: &Settings,
) -> Result<MqttOptions, String> {
    let url = &source.url;
    let mut options = MqttOptions::new(client_id, url.host.clone(), url.port);
    secure(&mut options, url)?;
    let receive_max = u16::try_from(prefetch(settings)).unwrap_or(u16::MAX).max(1);
    options
        .set_keep_alive(Duration::from_secs(5))
        .set_clean_start(false)
        .set_session_expiry_interval(Some(SESSION_EXPIRY_S))
        .set_manual_acks(true)
        .set_receive_maximum(Some(receive_max))
        .set_max_packet_size(Some(MAX_PAYLOAD as u32 + 1024))
        .set_connection_timeout(super::CONNECT_TIMEOUT.as_secs());
    if let Some(password) = url.password() {
        options.set_credentials(url.user.clone().unwrap_or_default(), password);
    } else if let Some(user) = &url.user {
        options.set_credentials(user.clone(), String::new());
    }
    Ok(options)
}

/// TLS for an `mqtts://` address: the server verified against the URL's trust (the host
/// name or address of the URL is the one its certificate must name).
pub fn secure(options: &mut MqttOptions, url: &BrokerUrl) -> Result<(), String> {
    if url.tls {
        let config = url.trust.client_config()?;
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
    }
    Ok(())
}

impl EventSource for MqttSource {
    fn run(self: Box<Self>, io: &mut SourceIo) {
        let (settle_tx, settled) = ack::channel();
        let _ = io.shared.acks.set(settle_tx);
        match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => {
                let counters = Arc::clone(&self.source.counters);
                let inbox = Inbox::new(io, counters, self.seed);
                runtime.block_on(self.consume(inbox, settled));
            }
            Err(e) => io
                .shared
                .fail_with(format!("cannot start the source's runtime: {e}")),
        }
    }
}

/// What the event loop's task forwards: a packet, or the connection lost (and why).
type Polled = Result<Event, String>;

impl MqttSource {
    async fn consume(&self, mut inbox: Inbox<'_, Publish>, settled: flume::Receiver<Settled>) {
        let options = match options(&self.source, self.source.consumer(), &inbox.settings) {
            Ok(options) => options,
            Err(why) => {
                let _ = inbox.io.shared.source_error.set(why);
                inbox.end_reading();
                return;
            }
        };
        let (client, eventloop) = AsyncClient::new(options, 1024);
        let (polled_tx, polled) = flume::unbounded();
        let poller = tokio::spawn(poll_forever(eventloop, polled_tx));
        let mut session = Session::default();
        let idle_end = self.source.options.idle_end;
        let mut reading = true;
        loop {
            inbox.refresh();
            if reading && inbox.reading_over(idle_end) {
                reading = false;
                inbox.end_reading();
            }
            if !reading && inbox.drained() {
                break;
            }
            tokio::select! {
                event = polled.recv_async() => match event {
                    Ok(event) => {
                        let handled = self.on_event(event, &mut inbox, &client, &mut session, reading).await;
                        if let (Err(why), true) = (handled, reading) {
                            let _ = inbox.io.shared.source_error.set(why);
                            reading = false;
                            inbox.end_reading();
                        }
                    }
                    Err(_) => break,
                },
                batch = settled.recv_async() => if let Ok(first) = batch {
                    let batch = ack::rest_of_batch(first, &settled);
                    ack_all(&client, &inbox, inbox.pending.take(&batch).into_iter().map(|(p, _)| p)).await;
                },
                () = tokio::time::sleep(TICK) => {}
            }
        }
        // What finished just before a stop is acked too.
        let rest: Vec<Settled> = settled.try_iter().collect();
        let publishes = inbox.pending.take(&rest).into_iter().map(|(p, _)| p);
        ack_all(&client, &inbox, publishes).await;
        let _ = client.disconnect().await;
        let _ = tokio::time::timeout(DISCONNECT_WAIT, poller).await;
    }

    /// One thing the event loop yielded; an error that ends the source (a refused
    /// subscription, a refused login).
    async fn on_event(
        &self,
        event: Polled,
        inbox: &mut Inbox<'_, Publish>,
        client: &AsyncClient,
        session: &mut Session,
        reading: bool,
    ) -> Result<(), String> {
        let now_ns = inbox.now_ns();
        let counters = Arc::clone(&inbox.counters);
        match event {
            Ok(Event::Incoming(Packet::ConnAck(connack))) => {
                counters.set_connected(true, now_ns, session.ever_connected);
                if !connack.session_present {
                    // A new session, or one the broker lost: subscribe (again) ourselves.
                    if session.ever_connected {
                        counters.add(&counters.resubscribes, 1);
                    }
                    let (client, filter) = (client.clone(), self.filter());
                    tokio::spawn(async move { client.subscribe(filter, QoS::AtLeastOnce).await });
                }
                session.ever_connected = true;
            }
            Ok(Event::Incoming(Packet::SubAck(suback))) => {
                if let Some(refused) = suback.return_codes.iter().find(|c| !at_least_once(**c)) {
                    return Err(self.refusal(*refused));
                }
            }
            Ok(Event::Incoming(Packet::Publish(mut publish))) if reading => {
                let payload = std::mem::take(&mut publish.payload);
                if let Some(token) = inbox.deliver(&payload, publish) {
                    ack_all(client, inbox, [token]).await;
                }
            }
            Ok(_) => {}
            Err(why) => {
                counters.set_connected(false, now_ns, true);
                if let Some(refused) = why.strip_prefix(REFUSED) {
                    return Err(format!(
                        "the MQTT broker at {} refused the connection: {refused}",
                        self.source.url.address()
                    ));
                }
            }
        }
        Ok(())
    }

    fn refusal(&self, code: SubscribeReasonCode) -> String {
        let filter = self.filter();
        match code {
            SubscribeReasonCode::Success(QoS::AtMostOnce) => format!(
                "the MQTT broker at {} granted the subscription to {filter} at QoS 0 only: messages would be lost unacked; the acks after the work need QoS 1 (is its max_qos 0?)",
                self.source.url.address()
            ),
            SubscribeReasonCode::SharedSubscriptionsNotSupported => format!(
                "the MQTT broker at {} does not support shared subscriptions ({filter}): run without --share, or use a broker that has them (MQTT v5)",
                self.source.url.address()
            ),
            other => format!(
                "the MQTT broker at {} refused the subscription to {filter}: {other:?}",
                self.source.url.address()
            ),
        }
    }
}

/// A subscription granted at QoS 1 or 2: a grant at QoS 0 is a refusal here, since its
/// messages come without the acks that make the source at-least-once.
fn at_least_once(code: SubscribeReasonCode) -> bool {
    matches!(
        code,
        SubscribeReasonCode::Success(QoS::AtLeastOnce | QoS::ExactlyOnce)
    )
}

/// Sends the acks for `publishes` (from the source's task, never the event loop's).
async fn ack_all(
    client: &AsyncClient,
    inbox: &Inbox<'_, Publish>,
    publishes: impl IntoIterator<Item = Publish>,
) {
    let mut sent = 0;
    for publish in publishes {
        if client.ack(&publish).await.is_ok() {
            sent += 1;
        }
    }
    inbox.counters.add(&inbox.counters.acked, sent);
}

/// What the source remembers of its connection.
#[derive(Default)]
struct Session {
    ever_connected: bool,
}

/// Marks a refused login in what the event loop's task forwards.
const REFUSED: &str = "refused: ";

/// Polls the event loop until the client disconnects or the source is gone, forwarding each
/// packet; a lost connection is forwarded too, and polled again (rumqttc reconnects) after a
/// growing wait.
async fn poll_forever(mut eventloop: EventLoop, polled: flume::Sender<Polled>) {
    let mut attempt = 0;
    loop {
        match eventloop.poll().await {
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(event) => {
                attempt = 0;
                if polled.send(Ok(event)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let why = match &e {
                    ConnectionError::ConnectionRefused(code) if refused_for_good(*code) => {
                        format!("{REFUSED}{code:?}")
                    }
                    // A certificate that does not verify will not verify on the next try.
                    ConnectionError::Tls(tls) => {
                        format!("{REFUSED}TLS: {}", explain(&tls.to_string()))
                    }
                    other => other.to_string(),
                };
                if polled.send(Err(why)).is_err() {
                    return;
                }
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

/// A refusal that trying again will not change (a login or a client id the broker rejects).
fn refused_for_good(code: ConnectReturnCode) -> bool {
    matches!(
        code,
        ConnectReturnCode::BadUserNamePassword
            | ConnectReturnCode::NotAuthorized
            | ConnectReturnCode::ClientIdentifierNotValid
            | ConnectReturnCode::Banned
            | ConnectReturnCode::BadAuthenticationMethod
    )
}
