//! Manifest signatures: a detached OpenSSH signature (SSHSIG, armored, namespace
//! `jrnle-audit`) over each manifest's exact bytes, in `<manifest>.sig` beside it, so that
//! `ssh-keygen -Y verify` checks it with no help from this tool. The cryptography is
//! RustCrypto's `ssh-key` (Ed25519 through `ed25519-dalek`, OpenSSH's key encryption through
//! `bcrypt-pbkdf` and AES); nothing here signs or hashes by hand.

use std::path::Path;

use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The SSHSIG namespace of every manifest signature (`ssh-keygen -Y verify -n jrnle-audit`).
pub const NAMESPACE: &str = "jrnle-audit";

/// A manifest's signature file: `<manifest file name>.sig`.
pub const SIG_SUFFIX: &str = ".sig";

/// The signature file of the manifest `manifest_name`.
pub fn signature_name(manifest_name: &str) -> String {
    format!("{manifest_name}{SIG_SUFFIX}")
}

/// The environment variable holding the key's passphrase, when the key has one.
pub const PASSPHRASE_VAR: &str = "JRNLE_SIGNING_KEY_PASSPHRASE";

/// The hash SSHSIG signs over: `ssh-keygen -Y sign`'s default.
const HASH: HashAlg = HashAlg::Sha512;

/// The key manifests are signed with: read once at the start of a run, held only here (its
/// bytes are zeroed when dropped, by `ssh-key`), and shown only as its public fingerprint.
pub struct SigningKey {
    key: PrivateKey,
    fingerprint: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint)
    }
}

impl SigningKey {
    /// Read an OpenSSH Ed25519 private key (as `ssh-keygen -t ed25519` writes it) from
    /// `path`, decrypting it with `passphrase` when it is encrypted. Every refusal is a usage
    /// error (exit 2) naming the file and what to do, never quoting the file.
    pub fn load(path: &Path, passphrase: Option<Zeroizing<String>>) -> Result<SigningKey> {
        let shown = path.display();
        refuse_readable_by_others(path)?;
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!(
                "cannot read the signing key {shown}: {e}; give an OpenSSH private key file \
                 (ssh-keygen -t ed25519 -f {shown})"
            ))
        })?);
        let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|_| {
            // An OpenSSH key of a type this tool does not read (ECDSA) fails to parse too.
            let what = if text
                .trim_start()
                .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")
            {
                "is an OpenSSH private key of a type other than Ed25519"
            } else {
                "is not an OpenSSH private key (a public key or another format?)"
            };
            Error::usage(format!(
                "the signing key {shown} {what}: give an Ed25519 key, as ssh-keygen -t ed25519 \
                 writes it"
            ))
        })?;
        let key = if key.is_encrypted() {
            let Some(passphrase) = passphrase else {
                return Err(Error::usage(format!(
                    "the signing key {shown} is encrypted: set {PASSPHRASE_VAR} to its passphrase"
                )));
            };
            key.decrypt(passphrase.as_bytes()).map_err(|_| {
                Error::usage(format!(
                    "the signing key {shown} does not decrypt with the passphrase in \
                     {PASSPHRASE_VAR}: check the passphrase"
                ))
            })?
        } else {
            key
        };
        if key.algorithm() != ssh_key::Algorithm::Ed25519 {
            return Err(Error::usage(format!(
                "the signing key {shown} is an {} key: manifests are signed with Ed25519 keys \
                 (ssh-keygen -t ed25519)",
                key.algorithm()
            )));
        }
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        Ok(SigningKey { key, fingerprint })
    }

    /// The public key's fingerprint as `ssh-keygen -l` prints it (`SHA256:…`).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The armored SSHSIG of `message` (a manifest's bytes), as `ssh-keygen -Y sign -n
    /// jrnle-audit` writes it.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let failed = |e: ssh_key::Error| Error::Internal(format!("cannot sign the manifest: {e}"));
        let sig = self.key.sign(NAMESPACE, HASH, message).map_err(failed)?;
        let pem = sig.to_pem(LineEnding::LF).map_err(failed)?;
        Ok(pem.into_bytes())
    }
}

/// A key file others can read is refused, as a stored login is: whoever reads it can sign
/// evidence in this tool's name.
fn refuse_readable_by_others(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::usage(format!(
            "cannot read the signing key {shown}: {e}; give the private key file \
             ssh-keygen -t ed25519 wrote"
        ))
    })?;
    if !meta.is_file() {
        return Err(Error::usage(format!(
            "the signing key {shown} is not a regular file: give the private key file \
             ssh-keygen -t ed25519 wrote"
        )));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(Error::usage(format!(
            "the signing key {shown} can be read by others (mode {:o}): run chmod 600 {shown}",
            mode & 0o777
        )));
    }
    Ok(())
}

/// A signature file read back: the signature and the fingerprint of the key that made it.
pub struct Signature {
    pub sig: SshSig,
    pub fingerprint: String,
}

/// Parse an armored SSHSIG.
pub fn parse(armored: &[u8]) -> std::result::Result<Signature, String> {
    let sig = SshSig::from_pem(armored).map_err(|e| format!("not an SSH signature ({e})"))?;
    let fingerprint = sig.public_key().fingerprint(HashAlg::Sha256).to_string();
    Ok(Signature { sig, fingerprint })
}

impl Signature {
    /// Whether it signs `message` in this tool's namespace, by the key it names.
    pub fn check(&self, message: &[u8]) -> std::result::Result<(), String> {
        if self.sig.namespace() != NAMESPACE {
            return Err(format!(
                "signed in namespace {:?}, not {NAMESPACE:?}",
                self.sig.namespace()
            ));
        }
        ssh_key::PublicKey::from(self.sig.public_key().clone())
            .verify(NAMESPACE, message, &self.sig)
            .map_err(|_| "the signature does not match the manifest's bytes".to_string())
    }

    /// The signing key's public part, as an allowed-signers line holds it.
    pub fn key(&self) -> &ssh_key::public::KeyData {
        self.sig.public_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unencrypted Ed25519 key (a test key: it signs nothing but these tests).
    fn key() -> SigningKey {
        let pair = ssh_key::private::Ed25519Keypair::from_seed(&[7; 32]);
        let key = PrivateKey::from(pair);
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        SigningKey { key, fingerprint }
    }

    #[test]
    fn a_signature_checks_against_its_bytes_only() {
        let key = key();
        let armored = key.sign(b"manifest bytes\n").unwrap();
        assert!(armored.starts_with(b"-----BEGIN SSH SIGNATURE-----\n"));
        let sig = parse(&armored).unwrap();
        assert_eq!(sig.fingerprint, key.fingerprint());
        assert!(sig.check(b"manifest bytes\n").is_ok());
        assert!(sig.check(b"manifest bytes \n").is_err());
    }

    #[test]
    fn debug_shows_the_fingerprint_only() {
        let key = key();
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("SigningKey({})", key.fingerprint()));
        assert!(shown.starts_with("SigningKey(SHA256:"));
    }
}
