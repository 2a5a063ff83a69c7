//! Broker addresses as given to `--source` and `backlog publish`: `mqtt://HOST:PORT/TOPIC`,
//! `redis://HOST:PORT/STREAM` (and their TLS forms `mqtts://`, `rediss://`). A password in the
//! address is refused: it would show in the process list and the shell's history.

use std::fmt;

use super::tls::Trust;

/// The environment variable an MQTT broker's password comes from.
pub const MQTT_PASSWORD_VAR: &str = "BACKLOG_MQTT_PASSWORD";
/// The environment variable a Redis server's password comes from.
pub const REDIS_PASSWORD_VAR: &str = "BACKLOG_REDIS_PASSWORD";

/// Which broker speaks at an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mqtt,
    Redis,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Mqtt => "MQTT",
            Protocol::Redis => "Redis",
        }
    }

    fn default_port(self, tls: bool) -> u16 {
        match (self, tls) {
            (Protocol::Mqtt, false) => 1883,
            (Protocol::Mqtt, true) => 8883,
            (Protocol::Redis, _) => 6379,
        }
    }

    /// The variable its password is read from.
    pub fn password_var(self) -> &'static str {
        match self {
            Protocol::Mqtt => MQTT_PASSWORD_VAR,
            Protocol::Redis => REDIS_PASSWORD_VAR,
        }
    }
}

/// A parsed broker address: no password ever (see `password`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    pub protocol: Protocol,
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// The user name, if the address gave one (`mqtt://alice@host/topic`).
    pub user: Option<String>,
    /// The MQTT topic or the Redis stream's key.
    pub name: String,
    /// With TLS: what the server's certificate must lead to (the system's roots unless
    /// `--ca-file` says).
    pub trust: Trust,
}

/// The forms every error message repeats.
pub const FORMS: &str = "expected mqtt://HOST:PORT/TOPIC, mqtts://..., redis://HOST:PORT/STREAM or rediss://... (the host defaults to 127.0.0.1, a password comes from BACKLOG_MQTT_PASSWORD or BACKLOG_REDIS_PASSWORD)";

impl BrokerUrl {
    /// Whether `text` looks like a broker address at all (has a scheme).
    pub fn is_broker(text: &str) -> bool {
        text.contains("://")
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("'{}' is not a broker address: {why}; {FORMS}", redact(text));
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (protocol, tls) = match scheme.to_ascii_lowercase().as_str() {
            "mqtt" => (Protocol::Mqtt, false),
            "mqtts" => (Protocol::Mqtt, true),
            "redis" => (Protocol::Redis, false),
            "rediss" => (Protocol::Redis, true),
            _ => return Err(bad(&format!("unknown scheme '{scheme}'"))),
        };
        let (authority, name) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => {
                if userinfo.contains(':') {
                    return Err(format!(
                        "a password in the address is refused (it would show in the process list and the shell's history); give the user only ({scheme}://USER@HOST/...) and the password in {}",
                        protocol.password_var()
                    ));
                }
                (
                    Some(userinfo.to_string()).filter(|u| !u.is_empty()),
                    hostport,
                )
            }
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).map_err(|why| bad(&why))?;
        let port = port.unwrap_or(protocol.default_port(tls));
        let name = name.to_string();
        if name.is_empty() {
            let what = match protocol {
                Protocol::Mqtt => "no topic after the host",
                Protocol::Redis => "no stream after the host",
            };
            return Err(bad(what));
        }
        if protocol == Protocol::Mqtt && (name.contains('+') || name.contains('#')) {
            return Err(bad("a topic with wildcards (+ or #): give one topic"));
        }
        Ok(Self {
            protocol,
            tls,
            host,
            port,
            user,
            name,
            trust: Trust::system(),
        })
    }

    /// `host:port`, for connecting.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The password from the protocol's environment variable, if it is set.
    pub fn password(&self) -> Option<String> {
        std::env::var(self.protocol.password_var())
            .ok()
            .filter(|p| !p.is_empty())
    }
}

/// The address as shown everywhere (logs, the JSON, the monitor): never a credential.
impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match (self.protocol, self.tls) {
            (Protocol::Mqtt, false) => "mqtt",
            (Protocol::Mqtt, true) => "mqtts",
            (Protocol::Redis, false) => "redis",
            (Protocol::Redis, true) => "rediss",
        };
        write!(f, "{scheme}://{}/{}", self.address(), self.name)
    }
}

/// `host[:port]`, `[v6]:port`; an empty host is loopback.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let port_of = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("'{p}' is not a port (1 to 65535)"))
    };
    if let Some(v6) = text.strip_prefix('[') {
        let (host, rest) = v6.split_once(']').ok_or("an unclosed '['")?;
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(port_of(p)?),
            None if rest.is_empty() => None,
            None => return Err(format!("'{rest}' after the address")),
        };
        return Ok((host.to_string(), port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, p)) => (host, Some(port_of(p)?)),
        None => (text, None),
    };
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(format!("'{host}' is not a host name"));
    }
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    Ok((host.to_string(), port))
}

/// `text` with every `scheme://user:password@` shown as `scheme://***@`: for messages that
/// quote a command line (clap's repeat the value they refuse).
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '\'' || c == '/')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(a) if tail[..a].contains(':') => {
                out.push_str("***");
                rest = &tail[a..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// The address with anything between the scheme and '@' hidden, for error messages.
fn redact(text: &str) -> String {
    match (text.split_once("://"), text.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &text[at..]),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_defaults() {
        let u = BrokerUrl::parse("mqtt://broker:1884/sensors/temp").unwrap();
        assert_eq!(
            (u.protocol, u.tls, u.host.as_str(), u.port, u.name.as_str()),
            (Protocol::Mqtt, false, "broker", 1884, "sensors/temp")
        );
        let u = BrokerUrl::parse("rediss:///jobs").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 6379, true));
        assert_eq!(BrokerUrl::parse("mqtts://h/t").unwrap().port, 8883);
        let u = BrokerUrl::parse("redis://[::1]:7000/s").unwrap();
        assert_eq!(u.address(), "[::1]:7000");
        let u = BrokerUrl::parse("mqtt://alice@h/t").unwrap();
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.to_string(), "mqtt://h:1883/t");
    }

    #[test]
    fn a_password_in_the_address_is_refused_and_never_repeated() {
        let err = BrokerUrl::parse("redis://bob:hunter2@h/s").unwrap_err();
        assert!(err.contains("BACKLOG_REDIS_PASSWORD"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let err = BrokerUrl::parse("mqtt://bob:hunter2@h:99999/t").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn credentials_in_a_quoted_command_line_are_hidden() {
        assert_eq!(
            redact_credentials("invalid value 'redis://bob:hunter2@h:1/s' for '--source'"),
            "invalid value 'redis://***@h:1/s' for '--source'"
        );
        let plain = "mqtt://alice@h/t and mqtt://h/t";
        assert_eq!(redact_credentials(plain), plain);
    }

    #[test]
    fn bad_addresses_say_what_is_wrong_and_the_forms() {
        for (text, why) in [
            ("amqp://h/q", "unknown scheme"),
            ("mqtt://h", "no topic"),
            ("redis://h:0/s", "not a port"),
            ("redis://h:port/s", "not a port"),
            ("mqtt://h/a/#", "wildcards"),
        ] {
            let err = BrokerUrl::parse(text).unwrap_err();
            assert!(
                err.contains(why) && err.contains("mqtt://HOST:PORT/TOPIC"),
                "{text}: {err}"
            );
        }
    }
}
