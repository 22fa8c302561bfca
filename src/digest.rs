//! SHA-256 digests as lower-case hexadecimal text: what manifests, state digests and record ids
//! are written with (the hashing is the `sha2` crate's).

use sha2::{Digest, Sha256};

/// The SHA-256 of `bytes`, as hexadecimal text.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
