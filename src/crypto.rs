//! The cryptography provider, chosen once for the process: `ring`, for TLS (rustls, under
//! reqwest and `listen`) and for the RS256 JWTs of the OAuth2 machine-to-machine flow
//! (jsonwebtoken).
//!
//! Why not the crates' defaults: rustls and jsonwebtoken default to aws-lc-rs, whose C library
//! (aws-lc-sys) took about a third of a fresh release build on a 2-core machine and most of
//! its C compile (BENCHMARKS.md, "Build"). `ring` serves both as well and builds in a fraction
//! of that time. No cryptography is written here: the functions below only hand jsonwebtoken's
//! RS256 signing and verification to ring's `RsaKeyPair` and `UnparsedPublicKey`.
//!
//! [`install`] is idempotent and cheap; every place that builds an HTTP client, a TLS server
//! or signs or checks a JWT calls it first, so no code path depends on an earlier one having
//! run (reqwest panics when no rustls provider is installed).

use std::sync::Once;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{Error as SignatureError, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, DecodingKeyKind, EncodingKey};

/// Install ring as the process's provider for rustls and jsonwebtoken (once).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Either call fails only when a provider is installed already, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let _ = JWT_PROVIDER.install_default();
    });
}

/// The rustls provider, for a configuration built with an explicit provider (`listen`).
pub fn tls_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// jsonwebtoken through ring: RS256 only, the one algorithm Workfront's JWT exchange takes
/// (API notes §2.1); any other algorithm is refused as unsupported.
static JWT_PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: rs256_signer,
    verifier_factory: rs256_verifier,
    key_utils: KeyUtils::new_unimplemented(),
};

/// An RS256 signer over the key's PKCS#1 `RSAPrivateKey` DER (what `EncodingKey::from_rsa_pem`
/// keeps for both PKCS#1 and PKCS#8 PEM). A public key, or anything that is not an RSA private
/// key, is refused here, when the signer is made.
fn rs256_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>> {
    if *algorithm != Algorithm::RS256 || key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    let pair = ring::rsa::KeyPair::from_der(key.as_bytes())
        .map_err(|_| jsonwebtoken::errors::Error::from(ErrorKind::InvalidRsaKey(String::new())))?;
    Ok(Box::new(Rs256Signer(pair)))
}

fn rs256_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>> {
    if *algorithm != Algorithm::RS256 || key.family() != AlgorithmFamily::Rsa {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    match key.kind() {
        DecodingKeyKind::SecretOrDer(der) => Ok(Box::new(Rs256Verifier(der.clone()))),
        DecodingKeyKind::RsaModulusExponent { .. } => Err(ErrorKind::InvalidKeyFormat.into()),
    }
}

struct Rs256Signer(ring::rsa::KeyPair);

impl Signer<Vec<u8>> for Rs256Signer {
    fn try_sign(&self, msg: &[u8]) -> std::result::Result<Vec<u8>, SignatureError> {
        let mut signature = vec![0; self.0.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        self.0
            .sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &rng,
                msg,
                &mut signature,
            )
            .map_err(|_| SignatureError::new())?;
        Ok(signature)
    }
}

impl JwtSigner for Rs256Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

/// A PKCS#1 `RSAPublicKey` DER, as `DecodingKey::from_rsa_pem` keeps it.
struct Rs256Verifier(Vec<u8>);

impl Verifier<Vec<u8>> for Rs256Verifier {
    fn verify(&self, msg: &[u8], signature: &Vec<u8>) -> std::result::Result<(), SignatureError> {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &self.0,
        )
        .verify(msg, signature)
        .map_err(|_| SignatureError::new())
    }
}

impl JwtVerifier for Rs256Verifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
        )
        .unwrap()
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        exp: i64,
    }

    #[test]
    fn rs256_round_trips_and_a_public_key_cannot_sign() {
        install();
        let key = EncodingKey::from_rsa_pem(&fixture("test-only-jwt-private.pem")).unwrap();
        let claims = Claims {
            sub: "u".into(),
            exp: chrono::Utc::now().timestamp() + 60,
        };
        let header = jsonwebtoken::Header::new(Algorithm::RS256);
        let jwt = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        let public = DecodingKey::from_rsa_pem(&fixture("test-only-jwt-public.pem")).unwrap();
        let validation = jsonwebtoken::Validation::new(Algorithm::RS256);
        let read = jsonwebtoken::decode::<Claims>(&jwt, &public, &validation).unwrap();
        assert_eq!(read.claims.sub, "u");
        // A signature by another key does not verify.
        let other = EncodingKey::from_rsa_pem(&fixture("test-only-jwt-other-private.pem")).unwrap();
        let forged = jsonwebtoken::encode(&header, &claims, &other).unwrap();
        assert!(jsonwebtoken::decode::<Claims>(&forged, &public, &validation).is_err());
        // jsonwebtoken reads a public key PEM as an RSA "encoding key"; ring refuses to sign.
        let wrong = EncodingKey::from_rsa_pem(&fixture("test-only-jwt-public.pem")).unwrap();
        assert!(jsonwebtoken::encode(&header, &claims, &wrong).is_err());
    }
}
