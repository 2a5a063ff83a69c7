//! Real brokers for tests: mosquitto and redis-server from Debian's packages, each started on a
//! free loopback port with a generated configuration, waited for until it answers, and killed
//! when dropped (a failing test too). Where a binary is missing the test is skipped and says
//! so, unless `BACKLOG_REQUIRE_BROKERS=1` (CI), where that is a failure.
#![allow(dead_code)] // each test file uses part of it

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Set in CI: a missing broker fails the test instead of skipping it.
pub const REQUIRE_VAR: &str = "BACKLOG_REQUIRE_BROKERS";

/// How long a broker may take to answer after it starts (2 busy cores).
const START_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mosquitto,
    Redis,
}

/// A broker process on a loopback port; killed on drop.
pub struct Broker {
    pub kind: Kind,
    pub port: u16,
    pub dir: PathBuf,
    child: Option<Child>,
    /// Extra lines for the configuration (mosquitto) or arguments (redis).
    extra: Vec<String>,
    /// Serve TLS only, with these files.
    pub tls: Option<TlsFiles>,
}

/// A CA made at test time (rcgen) and a server certificate it signed for 127.0.0.1 and
/// localhost, as PEM files in `dir`.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsFiles {
    pub fn make(dir: &Path) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        std::fs::create_dir_all(dir).expect("a directory for the certificates");
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "backlog test CA");
        let ca = ca_params.self_signed(&ca_key).expect("the CA certificate");
        let key = KeyPair::generate().expect("a server key");
        let params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
            .expect("server params");
        let cert = params
            .signed_by(&key, &ca, &ca_key)
            .expect("the server certificate");
        let files = Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        std::fs::write(&files.ca, ca.pem()).expect("ca.pem");
        std::fs::write(&files.cert, cert.pem()).expect("server.pem");
        std::fs::write(&files.key, key.serialize_pem()).expect("server.key");
        files
    }

    pub fn ca_arg(&self) -> &str {
        self.ca.to_str().expect("a UTF-8 path")
    }
}

/// The binary's path, if it is installed (Debian puts mosquitto in /usr/sbin).
fn find(binary: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"])
        .map(|dir| Path::new(dir).join(binary))
        .find(|p| p.is_file())
}

/// The binary for `test`, or `None` after saying why the test is skipped (a panic in CI).
fn binary_for(binary: &str, test: &str) -> Option<PathBuf> {
    let found = find(binary);
    if found.is_none() {
        let why = format!(
            "{test}: skipped, `{binary}` is not installed (apt-get install mosquitto mosquitto-clients redis-server)"
        );
        if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
            panic!("{why}, and {REQUIRE_VAR}=1 makes a missing broker a failure");
        }
        eprintln!("{why}");
    }
    found
}

/// A free loopback port (the OS's choice, released for the broker to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Broker {
    /// mosquitto 2.x: one anonymous listener on loopback, no persistence (unless `extra` says).
    pub fn mosquitto(test: &str, extra: &[&str]) -> Option<Self> {
        binary_for("mosquitto", test)?;
        Self::start(Kind::Mosquitto, test, extra)
    }

    /// redis-server on loopback, saving nothing (unless `extra` says).
    pub fn redis(test: &str, extra: &[&str]) -> Option<Self> {
        binary_for("redis-server", test)?;
        Self::start(Kind::Redis, test, extra)
    }

    /// mosquitto or redis-server serving TLS only, with a CA and a certificate made now.
    pub fn with_tls(kind: Kind, test: &str) -> Option<Self> {
        match kind {
            Kind::Mosquitto => binary_for("mosquitto", test)?,
            Kind::Redis => binary_for("redis-server", test)?,
        };
        Self::start_with(kind, test, &[], true)
    }

    fn start(kind: Kind, test: &str, extra: &[&str]) -> Option<Self> {
        Self::start_with(kind, test, extra, false)
    }

    fn start_with(kind: Kind, test: &str, extra: &[&str], tls: bool) -> Option<Self> {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("backlog-{test}-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a broker directory");
        let tls = tls.then(|| TlsFiles::make(&dir.join("tls")));
        let mut extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        if let Some(files) = &tls {
            extra.extend(tls_options(kind, port, files));
        }
        let mut broker = Self {
            kind,
            port,
            dir,
            child: None,
            extra,
            tls,
        };
        broker.launch();
        Some(broker)
    }

    /// Starts the process (again, on the same port and directory) and waits until it answers
    /// (a TCP connection: a TLS port answers it too).
    pub fn launch(&mut self) {
        let mut command = match self.kind {
            Kind::Mosquitto => {
                let config = self.dir.join("mosquitto.conf");
                let mut text = format!(
                    "listener {} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1000000\nmax_inflight_messages 0\nlog_dest file {}\nlog_type all\npersistence_location {}/\n{}",
                    self.port,
                    self.dir.join("mosquitto.log").display(),
                    self.dir.display(),
                    // Run as root (CI), it would switch to the user mosquitto, which cannot
                    // write this directory: keep root.
                    if unsafe { libc::geteuid() } == 0 {
                        "user root\n"
                    } else {
                        ""
                    }
                );
                for line in &self.extra {
                    text.push_str(line);
                    text.push('\n');
                }
                std::fs::write(&config, text).expect("the mosquitto config");
                let mut c = Command::new(find("mosquitto").expect("mosquitto"));
                c.arg("-c").arg(config);
                c
            }
            Kind::Redis => {
                let mut c = Command::new(find("redis-server").expect("redis-server"));
                c.args([
                    "--port",
                    &self.port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                ])
                .arg("--dir")
                .arg(&self.dir);
                if !self.extra.iter().any(|a| a == "--appendonly") {
                    c.args(["--appendonly", "no"]);
                }
                c.args(&self.extra);
                c
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the broker starts");
        self.child = Some(child);
        self.wait_until_answers();
    }

    fn wait_until_answers(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{:?} on port {} did not answer within {START_TIMEOUT:?}",
            self.kind, self.port
        );
    }

    /// Sends `signal` (libc's number) and waits for the process to end.
    pub fn stop_with(&mut self, signal: i32) {
        if let Some(mut child) = self.child.take() {
            unsafe { libc::kill(child.id() as i32, signal) };
            let _ = child.wait();
        }
    }

    /// The address of `name` (a topic or a stream) on this broker.
    pub fn url(&self, name: &str) -> String {
        match self.kind {
            Kind::Mosquitto => format!("{}://127.0.0.1:{}/{name}", self.scheme("mqtt"), self.port),
            Kind::Redis => format!("{}://127.0.0.1:{}/{name}", self.scheme("redis"), self.port),
        }
    }

    /// `plain`, or its TLS form when the broker serves TLS.
    fn scheme(&self, plain: &str) -> String {
        if self.tls.is_some() {
            format!("{plain}s")
        } else {
            plain.to_string()
        }
    }

    /// Waits until mosquitto has logged `count` subscriptions from clients whose id starts
    /// with `client` (20 s at most).
    pub fn wait_for_subscribe(&self, client: &str, count: usize) {
        let text = format!("Received SUBSCRIBE from {client}");
        self.wait_for_log(&text, count, Duration::from_secs(20));
    }

    /// Waits until the broker's log has `count` lines containing `text` (mosquitto).
    pub fn wait_for_log(&self, text: &str, count: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let path = self.dir.join("mosquitto.log");
        loop {
            let seen = std::fs::File::open(&path)
                .map(|f| {
                    BufReader::new(f)
                        .lines()
                        .map_while(Result::ok)
                        .filter(|l| l.contains(text))
                        .count()
                })
                .unwrap_or(0);
            if seen >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the broker's log never had {count} lines with '{text}'"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What makes the broker serve TLS only on `port`: mosquitto's listener options (they follow
/// its one listener line), redis-server's arguments (its plain port closed).
fn tls_options(kind: Kind, port: u16, files: &TlsFiles) -> Vec<String> {
    let path = |p: &Path| p.display().to_string();
    match kind {
        Kind::Mosquitto => vec![
            format!("cafile {}", path(&files.ca)),
            format!("certfile {}", path(&files.cert)),
            format!("keyfile {}", path(&files.key)),
        ],
        Kind::Redis => [
            "--port".to_string(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            path(&files.cert),
            "--tls-key-file".into(),
            path(&files.key),
            "--tls-ca-cert-file".into(),
            path(&files.ca),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
        .into(),
    }
}

/// The binary with `args`, started (not waited for), its output piped.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_backlog"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

/// Runs the binary with `args` to its end.
pub fn run(args: &[&str]) -> Output {
    spawn(args).wait_with_output().expect("the binary ends")
}

/// The JSON summary of a finished headless run.
pub fn summary_of(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON summary")
}

/// `events` published to `url` at `rate`, each carrying a `fixed` demand of `service`.
pub fn publish_fixed(url: &str, events: u64, rate: &str, service: &str) -> String {
    publish(
        url,
        events,
        &[
            "--rate",
            rate,
            "--service",
            service,
            "--service-dist",
            "fixed",
        ],
    )
}

/// `backlog publish` to `url` with `args`: its summary line, checked to have confirmed `events`.
pub fn publish(url: &str, events: u64, args: &[&str]) -> String {
    let events_text = events.to_string();
    let mut all = vec!["publish", url, "--events", &events_text];
    all.extend_from_slice(args);
    let out = run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("confirmed {events}, failed 0")),
        "{stdout}"
    );
    stdout
}
