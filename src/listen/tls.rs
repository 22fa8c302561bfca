//! TLS for `listen` (rustls, the same library and crypto provider the HTTP client uses): the
//! server's certificate chain and key from PEM files, and, with `--client-ca`, a client
//! certificate required, chained to that CA and with a subject common name matching
//! `--client-subject`, as Adobe documents for its delivery service (certificates chained to
//! DigiCert Global Root CA, subject `*.prod.eventsubscriptions.workfront.com`).
//!
//! Each handshake runs in its connection's own task with a deadline (`--handshake-timeout`),
//! so a client that never finishes one holds nothing but its own slot, for that long at most.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::console;
use crate::error::{Error, Result};

/// The acceptor for `--tls-cert`, `--tls-key` and `--client-ca`.
pub fn acceptor(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<TlsAcceptor> {
    let unreadable = |flag: &str, path: &Path, e: String| {
        Error::usage(format!("{flag} {}: {e} (give a PEM file)", path.display()))
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| unreadable("--tls-cert", cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(unreadable(
            "--tls-cert",
            cert,
            "no certificate in it".into(),
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| unreadable("--tls-key", key, e.to_string()))?;
    let provider = crate::crypto::tls_provider();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca)
                .and_then(|certs| certs.collect())
                .map_err(|e| unreadable("--client-ca", ca, e.to_string()))?;
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| unreadable("--client-ca", ca, e.to_string()))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| unreadable("--client-ca", ca, e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| Error::usage(format!("--tls-cert and --tls-key do not make a pair: {e}")))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The subject Workfront's delivery certificates carry in production (API notes §7).
pub const WORKFRONT_SUBJECT: &str = "*.prod.eventsubscriptions.workfront.com";

/// TLS for the connections of `listen`.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// With `--client-ca`: the pattern a client certificate's common name must match.
    pub subject: Option<String>,
}

impl Tls {
    /// The handshake within `deadline`, and the client certificate's subject when one is
    /// required; `None` (said at -v) when it fails: the connection is closed unserved.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        addr: SocketAddr,
        deadline: Duration,
    ) -> Option<TlsStream<TcpStream>> {
        match tokio::time::timeout(deadline, self.acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => {
                let Some(pattern) = &self.subject else {
                    return Some(tls);
                };
                let leaf = tls.get_ref().1.peer_certificates().and_then(|c| c.first());
                if leaf.is_some_and(|der| subject_matches(der, pattern)) {
                    return Some(tls);
                }
                console::verbose(format!(
                    "{addr}: its client certificate's subject does not match {pattern}"
                ));
                None
            }
            // A refused client certificate, plain HTTP, a scan: said at -v, not served.
            Ok(Err(e)) => {
                console::verbose(format!("TLS handshake with {addr} failed: {e}"));
                None
            }
            Err(_) => {
                console::verbose(format!("TLS handshake with {addr} timed out"));
                None
            }
        }
    }
}

/// Whether a certificate (DER) has a subject common name `pattern` matches: exactly, or with
/// a leading `*.` standing for one label.
pub fn subject_matches(der: &[u8], pattern: &str) -> bool {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return false;
    };
    let matches = |name: &str| match pattern.strip_prefix("*.") {
        Some(suffix) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => name.eq_ignore_ascii_case(pattern),
    };
    cert.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .any(matches)
}
