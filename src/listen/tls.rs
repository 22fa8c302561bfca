//! TLS for `listen` (rustls, the same library and crypto provider the HTTP client uses): the
//! server's certificate chain and key from PEM files, and, with `--client-ca`, a client
//! certificate required and checked against that CA, as Adobe documents for its delivery
//! service (certificates chained to DigiCert Global Root CA). What is not checked yet: the
//! certificate's subject (`*.prod.eventsubscriptions.workfront.com`), which needs an X.509
//! reader; the CA alone admits any certificate it issued.
//!
//! Handshakes are done in the accept loop with a time limit, so a client that never finishes
//! one holds the loop for at most [`HANDSHAKE_TIMEOUT`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::console;
use crate::error::{Error, Result};

/// How long a client may take to finish its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

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
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
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

/// A TCP listener whose connections are TLS, for `axum::serve`.
pub struct TlsListener {
    pub tcp: TcpListener,
    pub acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                // A refused client certificate, plain HTTP, a scan: said at -v, not served.
                Ok(Err(e)) => console::verbose(format!("TLS handshake with {addr} failed: {e}")),
                Err(_) => console::verbose(format!("TLS handshake with {addr} timed out")),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}
