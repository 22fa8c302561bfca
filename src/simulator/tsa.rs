//! An RFC 3161 time-stamping authority (`simulate --tsa`, the tests, `--demo`): `POST /tsa`
//! answers a TimeStampReq with a TimeStampResp whose token is a CMS SignedData signed by a
//! fixed, test-only key (ring's RSA PKCS#1 v1.5 with SHA-256), in the ways a real TSA
//! answers and fails: granted, rejection, a token over another hash, too slow, down. `GET
//! /tsa/ca.pem` serves the CA that issued its certificate.
//!
//! The CA and TSA certificates and the TSA's key (`tsa/`) were made once with the openssl CLI:
//! RSA-2048, valid 2020-01-01 to 2099-12-31, the TSA's certificate with extendedKeyUsage
//! critical timeStamping (what `openssl ts -verify` and RFC 3161 §2.3 require). They are no
//! secret: anyone can mint tokens with them, so trust them for tests only.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cmpv2::status::{PkiFailureInfoValues, PkiStatus, PkiStatusInfo};
use cms::cert::x509::Certificate;
use cms::cert::x509::attr::Attribute;
use cms::cert::x509::ext::pkix::name::GeneralName;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, Int, ObjectIdentifier, OctetString, SetOfVec, Utf8StringRef};
use der::{Decode, Encode, Sequence, Tag};
use sha2::Digest;
use x509_tsp::{MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

/// The CA that issued the simulator TSA's certificate (PEM): what `verify --tsa-ca` takes.
pub const CA_PEM: &str = include_str!("tsa/ca.pem");
const CERT_PEM: &str = include_str!("tsa/tsa-cert.pem");
const KEY_PKCS8: &[u8] = include_bytes!("tsa/tsa-key.pk8");

/// The policy of the simulator's tokens: under IANA's enterprise number 32473, which RFC 5612
/// reserves for documentation and examples, so it names no real TSA's policy.
pub const POLICY: &str = "1.3.6.1.4.1.32473.1.1";

const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// How the TSA answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsaMode {
    /// Status 0 with a signed token over the hash sent.
    Granted,
    /// Status 2 (rejection) with failInfo systemFailure and no token.
    Rejection,
    /// Status 0 with a signed token over another hash than the one sent.
    WrongImprint,
    /// Granted, after [`Tsa::slow_for`]: longer than a client waits.
    Slow,
    /// HTTP 503, as a TSA behind a proxy that is down.
    Down,
}

impl TsaMode {
    pub const NAMES: [&str; 5] = ["granted", "rejection", "wrong-imprint", "slow", "down"];

    pub fn named(name: &str) -> Option<TsaMode> {
        const ALL: [TsaMode; 5] = [
            TsaMode::Granted,
            TsaMode::Rejection,
            TsaMode::WrongImprint,
            TsaMode::Slow,
            TsaMode::Down,
        ];
        TsaMode::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| ALL[i])
    }
}

/// The TSA's state, shared by its requests.
pub(crate) struct Tsa {
    pub(crate) enabled: bool,
    pub(crate) mode: Mutex<TsaMode>,
    /// Added to the clock the tokens' genTime is read from (a test's way to a token older
    /// than what it stamps).
    pub(crate) clock_offset: Mutex<chrono::Duration>,
    /// How long [`TsaMode::Slow`] holds an answer.
    pub(crate) slow_for: Mutex<Duration>,
    serial: AtomicU64,
}

impl Tsa {
    pub(crate) fn new(enabled: bool) -> Tsa {
        Tsa {
            enabled,
            mode: Mutex::new(TsaMode::Granted),
            clock_offset: Mutex::new(chrono::Duration::zero()),
            slow_for: Mutex::new(Duration::from_secs(15)),
            serial: AtomicU64::new(0),
        }
    }

    fn mode(&self) -> TsaMode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The answer the TSA gives `request` in `mode`, dated `offset` from now, without HTTP:
/// for the tests of what reads answers.
pub fn respond(request: &[u8], mode: TsaMode, offset: chrono::Duration) -> Vec<u8> {
    let tsa = Tsa::new(true);
    *tsa.clock_offset.lock().unwrap_or_else(|e| e.into_inner()) = offset;
    answer(&tsa, mode, request)
}

/// `GET /tsa/ca.pem`.
pub(crate) async fn ca(State(shared): State<std::sync::Arc<super::Shared>>) -> Response {
    if !shared.tsa.enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "application/x-pem-file")], CA_PEM).into_response()
}

/// `POST /tsa`: RFC 3161 over HTTP (§3.4): a TimeStampReq in, a TimeStampResp out.
pub(crate) async fn handle(
    State(shared): State<std::sync::Arc<super::Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let tsa = &shared.tsa;
    if !tsa.enabled {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mode = tsa.mode();
    match mode {
        TsaMode::Down => {
            return (StatusCode::SERVICE_UNAVAILABLE, "TSA unavailable\n").into_response();
        }
        TsaMode::Slow => {
            let wait = *tsa.slow_for.lock().unwrap_or_else(|e| e.into_inner());
            tokio::time::sleep(wait).await;
        }
        _ => {}
    }
    let query = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/timestamp-query");
    if !query {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/timestamp-query\n",
        )
            .into_response();
    }
    let der = answer(tsa, mode, &body);
    ([(header::CONTENT_TYPE, "application/timestamp-reply")], der).into_response()
}

/// The TimeStampResp to a request's bytes, in `mode`.
fn answer(tsa: &Tsa, mode: TsaMode, body: &[u8]) -> Vec<u8> {
    let req = match TimeStampReq::from_der(body) {
        Ok(req) => req,
        Err(_) => return refusal(PkiFailureInfoValues::BadDataFormat, "not a TimeStampReq"),
    };
    let imprint = &req.message_imprint;
    if imprint.hash_algorithm.oid != ID_SHA256 || imprint.hashed_message.as_bytes().len() != 32 {
        return refusal(PkiFailureInfoValues::BadAlg, "only SHA-256 imprints");
    }
    if mode == TsaMode::Rejection {
        return refusal(PkiFailureInfoValues::SystemFailure, "simulated rejection");
    }
    let mut imprint = imprint.clone();
    if mode == TsaMode::WrongImprint {
        let other = sha2::Sha256::digest(imprint.hashed_message.as_bytes());
        imprint.hashed_message = OctetString::new(other.to_vec()).expect("32 bytes");
    }
    let serial = tsa.serial.fetch_add(1, Ordering::SeqCst) + 1;
    let offset = *tsa.clock_offset.lock().unwrap_or_else(|e| e.into_inner());
    let now = chrono::Utc::now() + offset;
    match grant(&req, imprint, serial, now) {
        Ok(der) => der,
        Err(_) => refusal(PkiFailureInfoValues::SystemFailure, "cannot sign"),
    }
}

/// A rejection (status 2) with `why` as failInfo and a statusString.
fn refusal(why: PkiFailureInfoValues, text: &str) -> Vec<u8> {
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Rejection,
            status_string: Utf8StringRef::new(text).ok().map(|s| vec![s]),
            fail_info: Some(why.into()),
        },
        time_stamp_token: None,
    };
    resp.to_der().expect("a TimeStampResp encodes")
}

/// TSTInfo (RFC 3161 §2.4.2) with genTime as a GeneralizedTime carrying milliseconds, which
/// `der` 0.7's own type cannot (so `x509-tsp`'s `TstInfo` is not used to write it).
#[derive(Clone, Debug, Sequence)]
struct TstInfo {
    version: TspVersion,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: Any,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
}

/// ESSCertIDv2 (RFC 5035) with its hashAlgorithm left at the default, SHA-256.
#[derive(Clone, Debug, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// SigningCertificateV2 (RFC 5035): binds the signer's certificate into what is signed, as
/// RFC 5816 asks of a TSA (and `openssl ts -verify` requires).
#[derive(Clone, Debug, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// `20250107120000.123Z`: DER's GeneralizedTime, its fraction without trailing zeros.
fn generalized(at: chrono::DateTime<chrono::Utc>) -> Any {
    let millis = at.format("%3f").to_string();
    let fraction = millis.trim_end_matches('0');
    let text = if fraction.is_empty() {
        at.format("%Y%m%d%H%M%SZ").to_string()
    } else {
        format!("{}.{fraction}Z", at.format("%Y%m%d%H%M%S"))
    };
    Any::new(Tag::GeneralizedTime, text.into_bytes()).expect("a short time")
}

fn attribute(oid: ObjectIdentifier, value: Any) -> der::Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// A granted TimeStampResp: the token over `imprint`, the request's nonce echoed.
fn grant(
    req: &TimeStampReq,
    imprint: MessageImprint,
    serial: u64,
    now: chrono::DateTime<chrono::Utc>,
) -> der::Result<Vec<u8>> {
    let cert_der = rustls_pki_types::pem::PemObject::from_pem_slice(CERT_PEM.as_bytes())
        .map(|c: rustls_pki_types::CertificateDer<'static>| c.to_vec())
        .map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
    let cert = Certificate::from_der(&cert_der)?;
    let tst = TstInfo {
        version: TspVersion::V1,
        policy: ObjectIdentifier::new_unwrap(POLICY),
        message_imprint: imprint,
        serial_number: Int::new(&serial_bytes(serial))?,
        gen_time: generalized(now),
        nonce: req.nonce.clone(),
        tsa: Some(GeneralName::DirectoryName(
            cert.tbs_certificate.subject.clone(),
        )),
    }
    .to_der()?;
    let signer = signer_info(&cert, &cert_der, &tst)?;
    let signed = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![sha256()])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::encode_from(&OctetString::new(tst)?)?),
        },
        certificates: Some(CertificateSet::try_from(vec![
            cms::cert::CertificateChoices::Certificate(cert),
        ])?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![signer])?,
    };
    TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Accepted,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed)?,
        }),
    }
    .to_der()
}

/// An INTEGER's bytes of a positive serial number.
fn serial_bytes(n: u64) -> Vec<u8> {
    let mut v = vec![0];
    v.extend_from_slice(&n.to_be_bytes());
    let start = (1..v.len())
        .find(|&i| v[i - 1] != 0 || v[i] & 0x80 != 0)
        .map_or(v.len() - 1, |i| i - 1);
    v[start..].to_vec()
}

fn sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: None,
    }
}

/// The SignerInfo: the signed attributes (contentType, messageDigest of the TSTInfo,
/// signingCertificateV2) signed with the TSA's key.
fn signer_info(cert: &Certificate, cert_der: &[u8], tst: &[u8]) -> der::Result<SignerInfo> {
    let essv2 = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(sha2::Sha256::digest(cert_der).to_vec())?,
        }],
    };
    let attrs = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(sha2::Sha256::digest(tst).to_vec())?)?,
        )?,
        attribute(ID_SIGNING_CERTIFICATE_V2, Any::encode_from(&essv2)?)?,
    ])?;
    let signature = sign(&attrs.to_der()?).ok_or(der::ErrorKind::Failed)?;
    Ok(SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(cms::cert::IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256(),
        signed_attrs: Some(attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: SHA256_WITH_RSA,
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    })
}

/// RSA PKCS#1 v1.5 with SHA-256 by the TSA's key (ring).
fn sign(message: &[u8]) -> Option<Vec<u8>> {
    let key = ring::signature::RsaKeyPair::from_pkcs8(KEY_PKCS8).ok()?;
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        message,
        &mut signature,
    )
    .ok()?;
    Some(signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_encode_as_positive_minimal_integers() {
        assert_eq!(serial_bytes(1), [1]);
        assert_eq!(serial_bytes(0x80), [0, 0x80]);
        assert_eq!(serial_bytes(0x1234), [0x12, 0x34]);
    }

    #[test]
    fn gen_time_has_milliseconds_without_trailing_zeros() {
        let t = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
        let text = |a: Any| String::from_utf8(a.value().to_vec()).unwrap();
        assert_eq!(
            text(generalized(t("2025-01-07T12:00:00.120Z"))),
            "20250107120000.12Z"
        );
        assert_eq!(
            text(generalized(t("2025-01-07T12:00:00Z"))),
            "20250107120000Z"
        );
    }

    #[test]
    fn a_request_that_does_not_read_is_refused_with_bad_data_format() {
        let der = answer(&Tsa::new(true), TsaMode::Granted, b"junk");
        let resp = TimeStampResp::from_der(&der).unwrap();
        assert_eq!(resp.status.status, PkiStatus::Rejection);
        assert!(resp.time_stamp_token.is_none());
        assert!(
            resp.status
                .fail_info
                .unwrap()
                .contains(PkiFailureInfoValues::BadDataFormat)
        );
    }
}
