//! The state file: a cache of where the series stands (the watermark and the newest manifest's
//! hash). The manifests are the truth; the state file is checked against them on every run,
//! and also lets `verify` notice when the newest committed files were removed.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::files::write_atomic;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub state_version: u32,
    /// The end of the newest committed window: the next run starts here.
    pub watermark: String,
    pub last_manifest: String,
    pub last_manifest_sha256: String,
}

pub fn load(path: &Path) -> Result<Option<State>> {
    match super::files::read_no_follow(path) {
        // A state file that does not read is evidence not as it was written (exit 5, as
        // `verify` says of any altered file), not a usage mistake.
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Verify {
                dir: path
                    .parent()
                    .map_or_else(String::new, |d| d.display().to_string()),
                problems: vec![format!(
                    "the state file {} is not valid ({e}): remove it and sync recovers from the \
                 newest manifest",
                    path.display()
                )],
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(super::files::open_error(path, "cannot read", e)),
    }
}

pub fn save(path: &Path, state: &State) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(state).unwrap_or_default();
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}
