//! TLS to PostgreSQL through the process's rustls and ring (src/crypto.rs), as reqwest's
//! client makes it: the platform verifier (the system's roots) for `verify-full`, or the roots
//! of `sslrootcert`; `verify-ca` drops the name check; `prefer` and `require` encrypt without
//! checking the certificate, as libpq does (the handshake's signatures are still checked).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use super::target::TlsMode;
use crate::error::{Error, Result};

/// What tokio-postgres calls for a TLS connection.
#[derive(Clone)]
pub struct MakeRustls(Arc<rustls::ClientConfig>);

impl MakeRustls {
    /// The client configuration for `mode` (unused for `disable`).
    pub fn new(mode: TlsMode, root_cert: Option<&std::path::Path>) -> Result<MakeRustls> {
        crate::crypto::install();
        let provider = crate::crypto::tls_provider();
        let any_name = mode == TlsMode::VerifyCa;
        let verifier: Arc<dyn ServerCertVerifier> = match (mode, root_cert) {
            (TlsMode::Disable | TlsMode::Prefer | TlsMode::Require, _) => {
                Arc::new(Unchecked(provider.clone()))
            }
            (_, Some(path)) => {
                let mut roots = rustls::RootCertStore::empty();
                let mut listed = Vec::new();
                let pem = std::fs::read(path).map_err(|e| {
                    Error::usage(format!("cannot read sslrootcert {}: {e}", path.display()))
                })?;
                for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&pem) {
                    let cert: CertificateDer<'static> = cert.map_err(|e| {
                        Error::usage(format!("sslrootcert {}: {e}", path.display()))
                    })?;
                    listed.push(cert.clone());
                    roots.add(cert).map_err(|e| {
                        Error::usage(format!("sslrootcert {}: {e}", path.display()))
                    })?;
                }
                let chains = rustls::client::WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider.clone(),
                )
                .build()
                .map_err(|e| Error::usage(format!("sslrootcert {}: {e}", path.display())))?;
                Arc::new(Checked {
                    chains,
                    listed,
                    any_name,
                })
            }
            (_, None) => Arc::new(Checked {
                chains: Arc::new(
                    rustls_platform_verifier::Verifier::new(provider.clone())
                        .map_err(|e| Error::Internal(format!("the system's roots: {e}")))?,
                ),
                listed: Vec::new(),
                any_name,
            }),
        };
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Internal(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(MakeRustls(Arc::new(config)))
    }
}

impl<S> MakeTlsConnect<S> for MakeRustls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<Connect> {
        let name = ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Ok(Connect(self.0.clone(), name))
    }
}

/// One connection's handshake.
pub struct Connect(Arc<rustls::ClientConfig>, ServerName<'static>);

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let Connect(config, name) = self;
        Box::pin(async move {
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, stream)
                .await?;
            Ok(Stream(tls))
        })
    }
}

/// A TLS connection to the server.
pub struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM's channel binding is left out (tokio-postgres then authenticates without
        // it, as libpq's default channel_binding=prefer does with a server that offers none).
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// `prefer` and `require`: any certificate, as libpq takes it in those modes; the handshake
/// is still signed by the certificate's key.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The verify modes: the chain checked by `chains` (the system's roots, or `sslrootcert`'s).
/// As libpq (OpenSSL) does, a server certificate that is itself one of the `listed` roots (a
/// self-signed server, Debian's default, its own certificate given as `sslrootcert`) is taken:
/// webpki refuses a trust anchor as the end certificate, so that one is taken when its bytes
/// are a listed certificate's, its name (webpki) and validity period (x509-parser) checked as
/// any certificate's. `verify-ca` (`any_name`) takes a certificate issued for another name.
/// The handshake's signature is always checked with the certificate's key.
#[derive(Debug)]
struct Checked {
    chains: Arc<dyn ServerCertVerifier>,
    listed: Vec<CertificateDer<'static>>,
    any_name: bool,
}

impl Checked {
    /// A listed root presented as the server's own certificate: its name and validity.
    fn as_listed(
        &self,
        end_entity: &CertificateDer<'_>,
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|e| {
            rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                Arc::new(e),
            )))
        })?;
        cert.verify_is_valid_for_subject_name(name)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::NotValidForName))?;
        let valid = x509_parser::parse_x509_certificate(end_entity.as_ref())
            .ok()
            .zip(x509_parser::time::ASN1Time::from_timestamp(now.as_secs() as i64).ok())
            .is_some_and(|((_, c), at)| c.validity().is_valid_at(at));
        if !valid {
            return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
        }
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let mut checked =
            self.chains
                .verify_server_cert(end_entity, intermediates, name, ocsp, now);
        let anchor = matches!(
            checked,
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::Other(_)
            ))
        ) && self
            .listed
            .iter()
            .any(|c| c.as_ref() == end_entity.as_ref());
        if anchor {
            checked = self.as_listed(end_entity, name, now);
        }
        match checked {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if self.any_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.chains.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.chains.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chains.supported_verify_schemes()
    }
}
