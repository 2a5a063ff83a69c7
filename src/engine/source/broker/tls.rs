//! TLS for `mqtts://` and `rediss://` (the sources and `backlog publish`): the server's
//! certificate is verified, against the CA certificates of `--ca-file` (PEM) when given, else
//! against the system's roots. There is no switch that turns verification off. The crypto is
//! rustls with ring.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

/// What a TLS connection trusts: the CA certificates of a file, or the system's roots.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Trust {
    /// `--ca-file`: its PEM text, read once when the options were checked.
    ca: Option<(PathBuf, Vec<u8>)>,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.ca {
            Some((path, _)) => write!(f, "Trust(--ca-file {})", path.display()),
            None => f.write_str("Trust(system roots)"),
        }
    }
}

impl Trust {
    /// The system's roots.
    pub fn system() -> Self {
        Self::default()
    }

    /// The CA certificates in `path` (PEM): read and checked now, so a wrong file is bad input
    /// before anything runs.
    pub fn ca_file(path: &Path) -> Result<Self, String> {
        let pem = std::fs::read(path)
            .map_err(|e| format!("--ca-file {}: cannot read it: {e}", path.display()))?;
        let trust = Self {
            ca: Some((path.to_path_buf(), pem)),
        };
        trust.roots()?;
        Ok(trust)
    }

    /// The CA file's PEM, if one was given (the Redis client takes it as it is).
    pub fn ca_pem(&self) -> Option<&[u8]> {
        self.ca.as_ref().map(|(_, pem)| pem.as_slice())
    }

    /// The roots a server's chain must lead to.
    pub fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        match &self.ca {
            Some((path, pem)) => {
                let shown = path.display();
                for (i, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
                    let cert = cert.map_err(|e| {
                        format!("--ca-file {shown}: certificate {} is not PEM: {e}", i + 1)
                    })?;
                    roots.add(cert).map_err(|e| {
                        format!("--ca-file {shown}: certificate {} is not a CA: {e}", i + 1)
                    })?;
                }
                if roots.is_empty() {
                    return Err(format!(
                        "--ca-file {shown}: no certificate in it; expected PEM (-----BEGIN CERTIFICATE-----)"
                    ));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(
                        "TLS: no root certificate found on this system; trust the server's CA with --ca-file PATH (PEM)".into(),
                    );
                }
            }
        }
        Ok(roots)
    }

    /// A client configuration that verifies the server against these roots.
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, String> {
        install_provider();
        let config = ClientConfig::builder()
            .with_root_certificates(self.roots()?)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

/// A TLS handshake over `stream` with the server `host` (a name or an address its certificate
/// must carry), verified against `trust`, within `timeout` per read and write: the probe before
/// a headless run, so a certificate that does not verify is bad input, not a run that retries.
pub fn handshake(
    mut stream: std::net::TcpStream,
    host: &str,
    trust: &Trust,
    timeout: std::time::Duration,
) -> Result<(), String> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("'{host}' is not a server name for TLS: {e}"))?;
    let mut tls = rustls::ClientConnection::new(trust.client_config()?, name)
        .map_err(|e| format!("TLS: {e}"))?;
    let io = |e: std::io::Error| format!("TLS: {}", explain(&e.to_string()));
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    while tls.is_handshaking() {
        tls.complete_io(&mut stream).map_err(io)?;
    }
    tls.send_close_notify();
    let _ = tls.complete_io(&mut stream);
    Ok(())
}

/// Makes ring the process's crypto provider (the Redis client builds its configuration with
/// the default one); once, whoever asks first.
pub fn install_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // An error means a provider is installed already: that one serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The one-line reason of a failed TLS handshake, with what to do about an unknown issuer.
pub fn explain(error: &str) -> String {
    if error.contains("UnknownIssuer") || error.contains("unknown issuer") {
        format!(
            "{error}: the server's certificate is not signed by a trusted CA; trust its CA with --ca-file PATH (PEM)"
        )
    } else {
        error.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_must_hold_a_pem_certificate() {
        let dir = std::env::temp_dir().join(format!("backlog-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = Trust::ca_file(&empty).unwrap_err();
        assert!(err.contains("no certificate in it"), "{err}");
        let missing = Trust::ca_file(&dir.join("missing.pem")).unwrap_err();
        assert!(missing.contains("cannot read it"), "{missing}");
        let garbled = dir.join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = Trust::ca_file(&garbled).unwrap_err();
        assert!(err.contains("certificate 1"), "{err}");
        assert!(err.lines().count() == 1, "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
