//! RFC 3161 trusted timestamps of manifests, offline: the request a manifest's SHA-256 is sent
//! in (`<manifest>.tsq`), reading the TSA's answer (`<manifest>.tsr`, the DER TimeStampResp),
//! and checking a token against TSA CA certificates (PEM). No network here (`crate::tsa`
//! sends); the ASN.1 is RustCrypto's (`x509-tsp`, `cms`, `der`), the certificate chain and
//! the signature are rustls-webpki's (with ring): none of the cryptography is written here.

use chrono::{DateTime, NaiveDateTime, Utc};
use cms::cert::x509::Certificate;
use cms::cert::x509::ext::Extensions;
use cms::cert::x509::ext::pkix::name::GeneralName;
use cms::cert::x509::spki::AlgorithmIdentifierOwned;
use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Any, Int, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, TrustAnchor, UnixTime};
use sha2::Digest;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion};

/// The suffix of a manifest's timestamp (the TSA's answer, DER TimeStampResp).
pub const TSR_SUFFIX: &str = ".tsr";
/// The suffix of the request it answers (DER TimeStampReq: the nonce `openssl ts -verify
/// -queryfile` checks).
pub const TSQ_SUFFIX: &str = ".tsq";

const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const ID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const ID_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");

/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8), the OID's DER contents as rustls-webpki takes it.
const EKU_TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// `<manifest>.tsr`.
pub fn tsr_name(manifest: &str) -> String {
    format!("{manifest}{TSR_SUFFIX}")
}

/// `<manifest>.tsq`.
pub fn tsq_name(manifest: &str) -> String {
    format!("{manifest}{TSQ_SUFFIX}")
}

/// TSTInfo (RFC 3161 §2.4.2) as `x509-tsp` has it, but with `genTime` kept as read: a
/// GeneralizedTime with fractions of a second (which TSAs send, and the simulator does) does
/// not decode as `der` 0.7's `GeneralizedTime`.
#[derive(Clone, Debug, Sequence)]
struct TstInfo {
    version: TspVersion,
    policy: ObjectIdentifier,
    message_imprint: MessageImprint,
    serial_number: Int,
    gen_time: Any,
    #[asn1(optional = "true")]
    accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// What a timestamp token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// When the TSA saw the hash.
    pub gen_time: DateTime<Utc>,
    /// Who signed it: the signer certificate's subject (RFC 4514), else the token's TSA name.
    pub tsa: String,
    /// The token's serial number, hex.
    pub serial: String,
    /// The nonce, as an unsigned big-endian number without leading zeros.
    pub nonce: Option<Vec<u8>>,
    /// The TSA's policy OID, dotted.
    pub policy: String,
    /// The hash the token is over (SHA-256 when `imprint_sha256`).
    pub imprint: Vec<u8>,
    pub imprint_sha256: bool,
}

/// A DER INTEGER of an unsigned number (minimal, a 0 byte before a high bit).
fn int_of(n: u64) -> Int {
    let bytes = n.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(7);
    let mut v = Vec::with_capacity(9);
    if bytes[start] & 0x80 != 0 {
        v.push(0);
    }
    v.extend_from_slice(&bytes[start..]);
    Int::new(&v).expect("a u64 fits an INTEGER")
}

/// An INTEGER's value as an unsigned big-endian number (leading zeros dropped).
fn magnitude(i: &Int) -> Vec<u8> {
    let b = i.as_bytes();
    let start = b.iter().position(|b| *b != 0).unwrap_or(b.len());
    b[start..].to_vec()
}

/// The nonce as `magnitude` gives it, of a u64.
pub fn nonce_bytes(nonce: u64) -> Vec<u8> {
    magnitude(&int_of(nonce))
}

fn sha256_algorithm() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ID_SHA256,
        parameters: Some(Any::null()),
    }
}

/// The TimeStampReq (DER) of a SHA-256 digest: version 1, the imprint, the nonce, certReq
/// TRUE (the signer certificate comes in the token), no policy.
pub fn request(digest: &[u8; 32], nonce: u64) -> Vec<u8> {
    let req = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: sha256_algorithm(),
            hashed_message: OctetString::new(digest.to_vec()).expect("32 bytes"),
        },
        req_policy: None,
        nonce: Some(int_of(nonce)),
        cert_req: true,
        extensions: None,
    };
    req.to_der().expect("a TimeStampReq encodes")
}

/// The nonce and imprint of a request (`.tsq`).
pub fn read_request(der: &[u8]) -> Result<(Option<Vec<u8>>, Vec<u8>), String> {
    let req = TimeStampReq::from_der(der).map_err(|e| format!("not a TimeStampReq: {e}"))?;
    Ok((
        req.nonce.as_ref().map(magnitude),
        req.message_imprint.hashed_message.as_bytes().to_vec(),
    ))
}

/// An answer taken apart: its token's content and where it came from.
struct Parsed {
    signed: SignedData,
    tst_der: Vec<u8>,
    token: Token,
}

/// Read a TimeStampResp: granted (status 0 or 1) with a token, and what the token says. No
/// trust check: [`verify_token`] does that.
pub fn read_response(der: &[u8]) -> Result<Token, String> {
    parse(der).map(|p| p.token)
}

fn parse(der: &[u8]) -> Result<Parsed, String> {
    use cmpv2::status::PkiStatus;
    let resp = TimeStampResp::from_der(der).map_err(|e| format!("not a TimeStampResp: {e}"))?;
    let status = &resp.status;
    if !matches!(
        status.status,
        PkiStatus::Accepted | PkiStatus::GrantedWithMods
    ) {
        let text: Vec<String> = status
            .status_string
            .iter()
            .flatten()
            .map(|s| s.as_str().to_string())
            .collect();
        let fail = status
            .fail_info
            .map(|f| format!(", failInfo {f:?}"))
            .unwrap_or_default();
        return Err(format!(
            "the TSA did not grant it: status {:?}{fail}{}",
            status.status,
            if text.is_empty() {
                String::new()
            } else {
                format!(" ({})", text.join("; "))
            }
        ));
    }
    let ci: ContentInfo = resp
        .time_stamp_token
        .ok_or("granted, but no token in the answer")?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(format!(
            "the token is a {}, not SignedData",
            ci.content_type
        ));
    }
    let signed: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| format!("the token's SignedData does not read: {e}"))?;
    let encap = &signed.encap_content_info;
    if encap.econtent_type != ID_CT_TST_INFO {
        return Err(format!(
            "the token holds a {}, not TSTInfo",
            encap.econtent_type
        ));
    }
    let tst_der = encap
        .econtent
        .as_ref()
        .ok_or("the token holds no TSTInfo")?
        .decode_as::<OctetString>()
        .map_err(|e| format!("the token's content does not read: {e}"))?
        .as_bytes()
        .to_vec();
    let token = token_of(&signed, &tst_der)?;
    Ok(Parsed {
        signed,
        tst_der,
        token,
    })
}

fn token_of(signed: &SignedData, tst_der: &[u8]) -> Result<Token, String> {
    let tst = TstInfo::from_der(tst_der).map_err(|e| format!("TSTInfo does not read: {e}"))?;
    let gen_time = generalized_time(&tst.gen_time)?;
    let signer = signed
        .signer_infos
        .0
        .iter()
        .next()
        .and_then(|si| signer_certificate(signed, si));
    let tsa = match (signer, &tst.tsa) {
        (Some(cert), _) => cert.tbs_certificate.subject.to_string(),
        (None, Some(GeneralName::DirectoryName(name))) => name.to_string(),
        _ => String::from("(unnamed TSA)"),
    };
    Ok(Token {
        gen_time,
        tsa,
        serial: crate::digest::hex(&magnitude(&tst.serial_number)),
        nonce: tst.nonce.as_ref().map(magnitude),
        policy: tst.policy.to_string(),
        imprint: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        imprint_sha256: tst.message_imprint.hash_algorithm.oid == ID_SHA256,
    })
}

/// A GeneralizedTime as DER has it: `YYYYMMDDHHMMSS[.f*]Z`.
fn generalized_time(any: &Any) -> Result<DateTime<Utc>, String> {
    let bad = || "genTime is not a GeneralizedTime in UTC".to_string();
    if any.tag() != Tag::GeneralizedTime {
        return Err(bad());
    }
    let text = std::str::from_utf8(any.value()).map_err(|_| bad())?;
    let text = text.strip_suffix('Z').ok_or_else(bad)?;
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let at = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").map_err(|_| bad())?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 9 {
        return Err(bad());
    }
    let nanos = format!("{fraction:0<9}")
        .parse::<i64>()
        .map_err(|_| bad())?;
    Ok(at.and_utc() + chrono::Duration::nanoseconds(nanos))
}

/// The certificate the signer identifies, among the token's certificates.
fn signer_certificate<'a>(signed: &'a SignedData, si: &SignerInfo) -> Option<&'a Certificate> {
    let certs = signed.certificates.as_ref()?;
    certificates(certs).find(|cert| match &si.sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            cert.tbs_certificate.issuer == isn.issuer
                && cert.tbs_certificate.serial_number == isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(skid) => cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .filter(|e| e.extn_id == ID_SUBJECT_KEY_IDENTIFIER)
            .any(|e| e.extn_value.as_bytes().ends_with(skid.0.as_bytes())),
    })
}

fn certificates(set: &CertificateSet) -> impl Iterator<Item = &Certificate> {
    set.0.iter().filter_map(|c| match c {
        cms::cert::CertificateChoices::Certificate(cert) => Some(cert),
        _ => None,
    })
}

/// The CA certificates TSA tokens are checked against.
#[derive(Debug)]
pub struct TsaRoots {
    anchors: Vec<TrustAnchor<'static>>,
}

impl TsaRoots {
    /// Every certificate of a PEM file; none is an error.
    pub fn from_pem(pem: &[u8]) -> Result<TsaRoots, String> {
        let mut anchors = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("not a PEM certificate file: {e}"))?;
            let anchor = webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| format!("a certificate does not read: {e}"))?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err("no certificate in it".to_string());
        }
        Ok(TsaRoots { anchors })
    }
}

/// Whether a token's imprint is the SHA-256 `expected`.
pub fn check_imprint(token: &Token, expected: &[u8; 32]) -> Result<(), String> {
    if !token.imprint_sha256 {
        return Err("the token's imprint is not a SHA-256".to_string());
    }
    if token.imprint != expected {
        return Err(format!(
            "the token is for another hash ({}), not this file's",
            crate::digest::hex(&token.imprint)
        ));
    }
    Ok(())
}

/// Check a TimeStampResp offline: granted, over `expected`, signed by a certificate for time
/// stamping that chains to `roots` at the token's time, the signature over the signed
/// attributes, whose messageDigest is the TSTInfo's hash and contentType TSTInfo.
pub fn verify_token(
    resp_der: &[u8],
    expected: &[u8; 32],
    roots: &TsaRoots,
) -> Result<Token, String> {
    let parsed = parse(resp_der)?;
    check_imprint(&parsed.token, expected)?;
    verify_signed(&parsed, roots)?;
    Ok(parsed.token)
}

fn verify_signed(p: &Parsed, roots: &TsaRoots) -> Result<(), String> {
    let mut signers = p.signed.signer_infos.0.iter();
    let (Some(si), None) = (signers.next(), signers.next()) else {
        return Err("a token has exactly one signer".to_string());
    };
    let attrs = si
        .signed_attrs
        .as_ref()
        .ok_or("the token has no signed attributes")?;
    let attr = |oid: ObjectIdentifier| {
        let mut found = attrs.iter().filter(|a| a.oid == oid);
        match (found.next(), found.next()) {
            (Some(a), None) if a.values.len() == 1 => a.values.iter().next(),
            _ => None,
        }
    };
    let content_type = attr(ID_CONTENT_TYPE)
        .and_then(|v| v.decode_as::<ObjectIdentifier>().ok())
        .ok_or("the signed attributes carry no contentType")?;
    if content_type != ID_CT_TST_INFO {
        return Err("the signed contentType is not TSTInfo".to_string());
    }
    let digest = attr(ID_MESSAGE_DIGEST)
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or("the signed attributes carry no messageDigest")?;
    if digest.as_bytes() != hash(&si.digest_alg.oid, &p.tst_der)? {
        return Err("the signed messageDigest is not the TSTInfo's hash (altered)".to_string());
    }
    let cert =
        signer_certificate(&p.signed, si).ok_or("the signer's certificate is not in the token")?;
    let cert_der = der_of(cert)?;
    let others: Vec<CertificateDer<'static>> = p
        .signed
        .certificates
        .iter()
        .flat_map(certificates)
        .filter(|c| *c != cert)
        .map(der_of)
        .collect::<Result<_, _>>()?;
    let ee = webpki::EndEntityCert::try_from(&cert_der)
        .map_err(|e| format!("the signer's certificate does not read: {e}"))?;
    let at = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        p.token.gen_time.timestamp().max(0) as u64,
    ));
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &roots.anchors,
        &others,
        at,
        webpki::KeyUsage::required(EKU_TIME_STAMPING),
        None,
        None,
    )
    .map_err(|e| format!("the TSA's certificate is not trusted for time stamping: {e:?}"))?;
    let message = attrs
        .to_der()
        .map_err(|e| format!("the signed attributes do not encode: {e}"))?;
    let signature = si.signature.as_bytes();
    let verified = algorithms(&si.signature_algorithm.oid, &si.digest_alg.oid)?
        .iter()
        .any(|alg| ee.verify_signature(*alg, &message, signature).is_ok());
    if !verified {
        return Err("the token's signature does not verify (altered, or another key)".to_string());
    }
    Ok(())
}

fn der_of(cert: &Certificate) -> Result<CertificateDer<'static>, String> {
    cert.to_der()
        .map(CertificateDer::from)
        .map_err(|e| format!("a certificate does not encode: {e}"))
}

/// The hash of `data` by the digest algorithm `oid` (SHA-2 only).
fn hash(oid: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match *oid {
        ID_SHA256 => sha2::Sha256::digest(data).to_vec(),
        ID_SHA384 => sha2::Sha384::digest(data).to_vec(),
        ID_SHA512 => sha2::Sha512::digest(data).to_vec(),
        other => return Err(format!("unsupported digest algorithm {other}")),
    })
}

/// The verification algorithms a SignerInfo's signature algorithm and digest name: RSA
/// PKCS#1 v1.5 with SHA-2, ECDSA P-256/P-384 (which curve the key says).
fn algorithms(
    sig: &ObjectIdentifier,
    digest: &ObjectIdentifier,
) -> Result<Vec<&'static dyn SignatureVerificationAlgorithm>, String> {
    use webpki::ring as alg;
    Ok(match (*sig, *digest) {
        (SHA256_WITH_RSA, _) | (RSA_ENCRYPTION, ID_SHA256) => vec![alg::RSA_PKCS1_2048_8192_SHA256],
        (SHA384_WITH_RSA, _) | (RSA_ENCRYPTION, ID_SHA384) => vec![alg::RSA_PKCS1_2048_8192_SHA384],
        (SHA512_WITH_RSA, _) | (RSA_ENCRYPTION, ID_SHA512) => vec![alg::RSA_PKCS1_2048_8192_SHA512],
        (ECDSA_SHA256, _) => vec![alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        (ECDSA_SHA384, _) => vec![alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        (other, _) => return Err(format!("unsupported signature algorithm {other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::tsa::{CA_PEM, TsaMode, respond};

    const DIGEST: [u8; 32] = [7; 32];
    const OTHER_CA: &str = include_str!("../../fixtures/tsa-other-ca.pem");

    fn roots() -> TsaRoots {
        TsaRoots::from_pem(CA_PEM.as_bytes()).unwrap()
    }

    fn granted(nonce: u64) -> Vec<u8> {
        respond(
            &request(&DIGEST, nonce),
            TsaMode::Granted,
            chrono::Duration::zero(),
        )
    }

    #[test]
    fn a_request_asks_for_the_sha256_with_the_nonce_and_the_certificate() {
        let der = request(&DIGEST, 0x8000_0000_0000_0001);
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.version, TspVersion::V1);
        assert_eq!(req.message_imprint.hash_algorithm.oid, ID_SHA256);
        assert!(req.cert_req);
        assert!(req.req_policy.is_none());
        let (nonce, imprint) = read_request(&der).unwrap();
        assert_eq!(imprint, DIGEST);
        assert_eq!(nonce.unwrap(), 0x8000_0000_0000_0001u64.to_be_bytes());
        // A high bit is a positive INTEGER's: a 0 byte before it.
        assert_eq!(int_of(0x80).as_bytes(), [0, 0x80]);
        assert_eq!(nonce_bytes(5), [5]);
    }

    #[test]
    fn a_simulator_token_verifies_against_its_ca() {
        let token = verify_token(&granted(42), &DIGEST, &roots()).unwrap();
        assert!(token.tsa.contains("simulator TSA"), "{}", token.tsa);
        assert_eq!(token.nonce, Some(vec![42]));
        assert_eq!(token.policy, crate::simulator::tsa::POLICY);
        assert!((Utc::now() - token.gen_time).num_seconds().abs() < 60);
        assert_eq!(read_response(&granted(42)).unwrap().imprint, DIGEST);
    }

    #[test]
    fn a_token_whose_signature_byte_is_flipped_is_refused() {
        let mut der = granted(1);
        // The signature is the last field of the last SignerInfo: the answer's last byte.
        *der.last_mut().unwrap() ^= 1;
        let e = verify_token(&der, &DIGEST, &roots()).unwrap_err();
        assert!(e.contains("signature does not verify"), "{e}");
    }

    #[test]
    fn a_token_for_another_digest_is_refused() {
        let e = verify_token(&granted(1), &[8; 32], &roots()).unwrap_err();
        assert!(e.contains("another hash"), "{e}");
        let wrong = respond(
            &request(&DIGEST, 1),
            TsaMode::WrongImprint,
            chrono::Duration::zero(),
        );
        assert!(verify_token(&wrong, &DIGEST, &roots()).is_err());
    }

    #[test]
    fn a_token_is_refused_against_another_ca() {
        let other = TsaRoots::from_pem(OTHER_CA.as_bytes()).unwrap();
        let e = verify_token(&granted(1), &DIGEST, &other).unwrap_err();
        assert!(e.contains("not trusted for time stamping"), "{e}");
    }

    #[test]
    fn a_rejection_reads_as_its_status_and_failure() {
        let der = respond(
            &request(&DIGEST, 1),
            TsaMode::Rejection,
            chrono::Duration::zero(),
        );
        let e = read_response(&der).unwrap_err();
        assert!(
            e.contains("Rejection") && e.contains("SystemFailure"),
            "{e}"
        );
        assert!(TsaRoots::from_pem(b"not pem").is_err());
    }

    #[test]
    fn gen_time_reads_with_and_without_fractions() {
        let t = |s: &str| Any::new(Tag::GeneralizedTime, s.as_bytes().to_vec()).unwrap();
        let at = generalized_time(&t("20250107120000.12Z")).unwrap();
        assert_eq!(at.to_rfc3339(), "2025-01-07T12:00:00.120+00:00");
        let at = generalized_time(&t("20250107120000Z")).unwrap();
        assert_eq!(at.to_rfc3339(), "2025-01-07T12:00:00+00:00");
        assert!(generalized_time(&t("20250107120000+0100")).is_err());
    }
}
