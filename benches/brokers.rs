//! The broker sources' speed against baselines on the same broker, in the same run:
//! Redis: a backlog instance (zero work) against a bare XREADGROUP + XACK loop with the same
//! client and batch size; MQTT: a backlog instance (zero work, QoS 1) against `mosquitto_sub -q 1`
//! fed by the same publisher. Goal: at least 80% of each baseline.
//!
//! `cargo bench --bench brokers` (skipped, saying why, without redis-server or mosquitto).
//! `BENCH_QUICK=1` for fewer messages.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use backlog::engine::source::broker::BrokerUrl;
use backlog::engine::source::broker::redis::connect;

#[path = "../tests/common/brokers.rs"]
mod brokers;
#[path = "../tests/common/run.rs"]
mod run;

use brokers::Broker;

fn messages() -> u64 {
    if std::env::var_os("BENCH_QUICK").is_some() {
        20_000
    } else {
        100_000
    }
}

/// The batch both Redis consumers read at once (the instance's `--queue-cap`).
const BATCH: usize = 64;

fn main() {
    println!("backlog broker benchmark");
    let mut missed = 0;
    for (name, ratio) in [("redis", redis_ratio()), ("mqtt", mqtt_ratio())] {
        let Some(ratio) = ratio else { continue };
        let met = ratio >= 0.8;
        missed += usize::from(!met);
        println!(
            "  {name:<6} instance / baseline {:>6.1}%   target >= 80%   {}",
            ratio * 100.0,
            if met { "met" } else { "MISSED" }
        );
    }
    println!("{missed} goals missed");
}

/// Runs the binary to its end with `args`; its wall time.
fn timed(args: &[&str]) -> Duration {
    let started = Instant::now();
    run::run_ok(args);
    started.elapsed()
}

fn publish(url: &str, n: u64) {
    let n = n.to_string();
    timed(&[
        "publish",
        url,
        "--events",
        &n,
        "--rate",
        "1000000/s",
        "--service",
        "0",
    ]);
}

fn redis_ratio() -> Option<f64> {
    let redis = Broker::redis("bench-redis", &[])?;
    let n = messages();
    let (bare_url, instance_url) = (redis.url("bare"), redis.url("instance"));
    publish(&bare_url, n);
    publish(&instance_url, n);
    let bare = bare_loop(&bare_url, n);
    let cap = BATCH.to_string();
    let events = n.to_string();
    let instance = timed(&[
        "--source",
        &instance_url,
        "--queue-cap",
        &cap,
        "--service",
        "0",
        "--workers",
        "2",
        "--events",
        &events,
        "--headless",
        "--json",
    ]);
    let (bare_rate, instance_rate) = (
        n as f64 / bare.as_secs_f64(),
        n as f64 / instance.as_secs_f64(),
    );
    println!(
        "  redis: bare XREADGROUP+XACK {bare_rate:.0}/s, instance {instance_rate:.0}/s (batch {BATCH}, {n} entries)"
    );
    Some(instance_rate / bare_rate)
}

/// XREADGROUP of `BATCH` entries, then XACK of them, until `n` are done.
fn bare_loop(url: &str, n: u64) -> Duration {
    let url = BrokerUrl::parse(url).unwrap();
    let mut conn = connect(&url).unwrap();
    let _: redis::Value = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&url.name)
        .arg("g")
        .arg("0")
        .query(&mut conn)
        .unwrap();
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let reply: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("g")
            .arg("c")
            .arg("COUNT")
            .arg(BATCH)
            .arg("STREAMS")
            .arg(&url.name)
            .arg(">")
            .query(&mut conn)
            .unwrap();
        let ids: Vec<String> = backlog::engine::source::broker::redis::array(reply)
            .into_iter()
            .flat_map(|s| {
                backlog::engine::source::broker::redis::array(s)
                    .into_iter()
                    .nth(1)
                    .map(backlog::engine::source::broker::redis::array)
                    .unwrap_or_default()
            })
            .filter_map(|e| {
                backlog::engine::source::broker::redis::array(e)
                    .into_iter()
                    .next()
                    .and_then(backlog::engine::source::broker::redis::text)
            })
            .collect();
        if ids.is_empty() {
            break;
        }
        done += ids.len() as u64;
        let _: redis::Value = redis::cmd("XACK")
            .arg(&url.name)
            .arg("g")
            .arg(&ids)
            .query(&mut conn)
            .unwrap();
    }
    started.elapsed()
}

fn mqtt_ratio() -> Option<f64> {
    let mosquitto = Broker::mosquitto("bench-mqtt", &[])?;
    let Some(sub) = ["/usr/bin/mosquitto_sub", "/usr/local/bin/mosquitto_sub"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!(
            "mqtt: skipped, mosquitto_sub is not installed (apt-get install mosquitto-clients)"
        );
        return None;
    };
    let n = messages();
    let url = mosquitto.url("bench");
    let count = n.to_string();
    let port = mosquitto.port.to_string();
    // Each consumer subscribes, then the same publisher sends n; its rate is n over the time
    // from the publisher's start to the consumer's last message.
    let baseline = consume_while_publishing(
        &mosquitto,
        &url,
        n,
        "Received SUBSCRIBE from bench-sub",
        || {
            Command::new(sub)
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-t",
                    "bench",
                    "-q",
                    "1",
                    "-C",
                    &count,
                    "-i",
                    "bench-sub",
                    "-V",
                    "mqttv5",
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("mosquitto_sub runs")
        },
    );
    let instance = consume_while_publishing(
        &mosquitto,
        &url,
        n,
        "Received SUBSCRIBE from bench-instance",
        || {
            Command::new(env!("CARGO_BIN_EXE_backlog"))
                .args([
                    "--source",
                    &url,
                    "--client-id",
                    "bench-instance",
                    "--queue-cap",
                    "1000",
                    "--service",
                    "0",
                    "--workers",
                    "2",
                    "--events",
                    &count,
                    "--headless",
                    "--json",
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("the binary runs")
        },
    );
    let (base_rate, rate) = (
        n as f64 / baseline.as_secs_f64(),
        n as f64 / instance.as_secs_f64(),
    );
    println!("  mqtt: mosquitto_sub -q 1 {base_rate:.0}/s, instance {rate:.0}/s ({n} messages)");
    Some(rate / base_rate)
}

fn consume_while_publishing(
    broker: &Broker,
    url: &str,
    n: u64,
    subscribed: &str,
    consumer: impl FnOnce() -> std::process::Child,
) -> Duration {
    let mut child = consumer();
    broker.wait_for_log(subscribed, 1, Duration::from_secs(20));
    let started = Instant::now();
    publish(url, n);
    let _ = child.wait();
    started.elapsed()
}
