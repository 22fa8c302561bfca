//! The evidence format and nothing else: the out-dir and its names, manifests and their
//! SHA-256 chain, the lock, the state file, the snapshot state database, reading back the ids a
//! data file delivered, `verify` (the one definition of intact), and the [`append::Appender`]
//! every runner (`sync`, `snapshot`, `listen`) adds to a series through; manifest signatures
//! (`signing.rs`) and who may make them (`allowed_signers.rs`).
//!
//! The out-dir is the source of truth. Each run commits one data file and then its manifest
//! (the commit point); the newest manifest's window end is the watermark. The state file is a
//! cache of that, cross-checked on every run, so a lost or stale state file costs nothing.
//! Nothing here imports a runner.

pub mod allowed_signers;
pub mod append;
pub mod delivered;
pub mod files;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod signing;
pub mod state;
pub mod state_db;
pub mod timestamp;
pub mod verify;

/// Names inside an out-dir that are not evidence.
pub const LOCK_FILE: &str = ".jrnle-sync.lock";
pub const STATE_FILE: &str = ".jrnle-sync-state.json";
pub use crate::output::atomic::PARTIAL_SUFFIX;
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// A `listen` out-dir's journal of the deliveries it acknowledged (hashed range by range in
/// its manifests), and its quarantine of refused bodies.
pub const JOURNAL_FILE: &str = "deliveries.journal";
pub const QUARANTINE_FILE: &str = "quarantine.journal";
/// A `snapshot` out-dir's state: the last known values of each object (see [`state_db`]).
pub const STATE_DB: &str = state_db::STATE_DB;

/// Whether `dir` never was an out-dir: no manifest, and none of the files a run of `sync`,
/// `snapshot` or `listen` leaves. A command given such a directory was given the wrong path
/// (exit 2), where an out-dir whose manifests were removed is altered evidence (exit 5).
pub fn never_an_out_dir(dir: &std::path::Path) -> bool {
    let Ok(names) = files::read_dir(dir) else {
        return false;
    };
    let markers = [
        LOCK_FILE,
        STATE_FILE,
        JOURNAL_FILE,
        QUARANTINE_FILE,
        STATE_DB,
    ];
    !names
        .iter()
        .any(|n| n.ends_with(MANIFEST_SUFFIX) || markers.contains(&n.as_str()))
}
