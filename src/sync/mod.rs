//! Scheduled compliance exports: incremental `sync` with exactly-once delivery, hash-chained
//! manifests, and `verify`.
//!
//! The out-dir is the source of truth. Each run commits one data file and then its manifest
//! (the commit point); the newest manifest's window end is the watermark. The state file is a
//! cache of that, cross-checked on every run, so a lost or stale state file costs nothing.

pub mod files;
pub mod lock;
pub mod manifest;
pub mod run;
pub mod state;
pub mod verify;

/// Names inside an out-dir that are not evidence.
pub const LOCK_FILE: &str = ".jrnle-sync.lock";
pub const STATE_FILE: &str = ".jrnle-sync-state.json";
pub const PARTIAL_SUFFIX: &str = ".partial";
pub const MANIFEST_SUFFIX: &str = ".manifest.json";
/// A `listen` out-dir's journal of the deliveries it acknowledged (hashed range by range in
/// its manifests), and its quarantine of refused bodies.
pub const JOURNAL_FILE: &str = "deliveries.journal";
pub const QUARANTINE_FILE: &str = "quarantine.journal";
