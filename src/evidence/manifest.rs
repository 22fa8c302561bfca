//! Manifests: what each data file holds, its SHA-256, and the SHA-256 of the manifest before
//! it, so the files of an out-dir form a hash chain (as CloudTrail's digest files do).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::evidence::verify::Finding;
use crate::output::Format;

use super::MANIFEST_SUFFIX;
use super::files::read_dir;

pub const MANIFEST_VERSION: u32 = 1;

/// What a series exports. A run with a different query is refused unless it starts a new
/// series; lists are kept sorted so the order of repeated flags does not matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesQuery {
    pub tenant_url: String,
    pub obj_codes: Vec<String>,
    pub fields: Vec<String>,
    pub obj_ids: Vec<String>,
    pub edited_by: Vec<String>,
    pub change_types: Vec<String>,
    pub format: String,
    pub formula_guard: bool,
}

/// `[from, to)`, in UTC with milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataFile {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// One committed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub api_version: String,
    pub query: SeriesQuery,
    /// Which series of the out-dir: 1, then one more each time `--new-series` starts one
    /// (at its `--since`) with other filters, format or tenant. Left out of the file for 1.
    #[serde(default = "first_series", skip_serializing_if = "is_first_series")]
    pub series: u32,
    /// The entries whose instant is in this window; the windows of a series are contiguous.
    pub window: Window,
    /// Where this run looked for entries of earlier windows that became visible late.
    pub lookback_from: String,
    /// Rows in the data file.
    pub row_count: u64,
    /// Of those, entries of earlier windows seen for the first time in this run.
    pub late_row_count: u64,
    /// What Workfront counted for `window` when the run fetched it (`null` from a source
    /// that cannot count).
    pub server_count: Option<u64>,
    pub data_file: DataFile,
    /// SHA-256 of the previous manifest's bytes; `null` for the first.
    pub previous_manifest_sha256: Option<String>,
    pub written_at: String,
    /// `listen` only: the event deliveries the data file holds the changes of (its `window`
    /// is then when they arrived). Left out of the file for `sync`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Deliveries>,
    /// `snapshot` only: what the run compared and the state it left (its `window` is the
    /// objects' `lastUpdateDate`). Left out of the file for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotRun>,
    /// The fingerprint (`SHA256:…`, as `ssh-keygen -l` prints it) of the key whose signature
    /// of these bytes is in `<manifest>.sig`, when the run signed: a `.sig` removed or
    /// replaced by another key's then shows without trusting the out-dir. Left out when the
    /// run did not sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<String>,
}

/// One `snapshot` run: the object type and fields, what it found, and the state it committed
/// (the database in the out-dir, which `verify` checks against the newest manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRun {
    pub obj_code: String,
    /// The fields compared, in the order asked.
    pub fields: Vec<String>,
    /// The first run: it stored every object's state and wrote no change.
    pub baseline: bool,
    pub objects_fetched: u64,
    /// Objects with a changed field (`E` records).
    pub objects_changed: u64,
    /// Objects created after the baseline (`A` records).
    pub objects_created: u64,
    /// Objects first seen after the baseline but created before it: stored, no records.
    pub objects_joined: u64,
    /// Fields asked for that Workfront's answers did not carry (renamed or removed since?):
    /// their values are kept as they were and no change of them is recorded. Left out when
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields_missing: Vec<String>,
    /// Whether the run scanned every id for deletions (`--detect-deletes`).
    pub deletes_checked: bool,
    pub objects_deleted: u64,
    /// The state database's file name in the out-dir.
    pub state_file: String,
    /// How many objects the state holds after this run.
    pub state_objects: u64,
    /// The sum modulo 2^256 of the SHA-256 of every state row, after this run.
    pub state_digest: String,
}

/// The deliveries one `listen` commit covers: how many, when the first and last arrived, and
/// where they are in the out-dir's delivery journal (byte offsets, `[from, to)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    pub count: u64,
    pub first_arrival: Option<String>,
    pub last_arrival: Option<String>,
    pub journal_from: u64,
    pub journal_to: u64,
    /// SHA-256 of the journal's bytes `[journal_from, journal_to)`: the raw deliveries.
    pub journal_sha256: String,
}

fn first_series() -> u32 {
    1
}

fn is_first_series(series: &u32) -> bool {
    *series == 1
}

impl Manifest {
    /// This tool's manifest of `data_file`, written now and chained after `previous`, with no
    /// rows counted yet and no part of its own (`sync`, `listen` and `snapshot` set those).
    pub fn new(
        api_version: &str,
        query: SeriesQuery,
        series: u32,
        window: Window,
        lookback_from: String,
        data_file: DataFile,
        previous: Option<&Committed>,
    ) -> Manifest {
        Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: "jrnle-audit".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            api_version: api_version.into(),
            query,
            series,
            window,
            lookback_from,
            row_count: 0,
            late_row_count: 0,
            server_count: None,
            data_file,
            previous_manifest_sha256: previous.map(|c| c.sha256.clone()),
            written_at: crate::model::date::format_utc_ms(&Utc::now()),
            deliveries: None,
            snapshot: None,
            signed_by: None,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    pub fn window_from(&self) -> Option<DateTime<Utc>> {
        parse_instant(&self.window.from)
    }

    pub fn window_to(&self) -> Option<DateTime<Utc>> {
        parse_instant(&self.window.to)
    }
}

fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    crate::model::date::parse_timestamp(s).map(|d| d.with_timezone(&Utc))
}

/// The newest manifest: what to record elsewhere (`verify --print-head`, every run's summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub manifest: String,
    pub sha256: String,
}

impl std::fmt::Display for Head {
    /// As `sha256sum` prints a file's hash: `<hex>  <name>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {}", self.sha256, self.manifest)
    }
}

impl Head {
    /// The head a commit of `manifest` made (its bytes are [`Manifest::to_bytes`]).
    pub fn of(manifest: &Manifest) -> Head {
        Head {
            manifest: manifest_name(&manifest.data_file.name),
            sha256: sha256_hex(&manifest.to_bytes()),
        }
    }
}

/// A manifest on disk with its name and the hash of its bytes.
#[derive(Debug, Clone)]
pub struct Committed {
    pub name: String,
    pub sha256: String,
    pub manifest: Manifest,
}

/// A manifest as committed: its file name and exact bytes (what is chained, and what a
/// snapshot's state database keeps so that a run killed before writing the file has it
/// written by the next).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedManifest {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub use crate::digest::{hex, sha256_hex};

/// `20250107T000000.000Z`: sorts in time order and is safe in file names everywhere.
pub fn compact(dt: &DateTime<Utc>) -> String {
    dt.format("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// `jrnle-<from>-<to>.<ext>` for the first series, `jrnle-sNNN-<from>-<to>.<ext>` for the
/// ones `--new-series` starts: names sort in the order of the chain, series after series.
pub fn data_file_name(
    series: u32,
    from: &DateTime<Utc>,
    to: &DateTime<Utc>,
    format: Format,
) -> String {
    format!(
        "{}{}-{}.{}",
        file_prefix(series),
        compact(from),
        compact(to),
        format.spec().extension()
    )
}

/// What the data file names of a series start with.
pub fn file_prefix(series: u32) -> String {
    match series {
        0 | 1 => "jrnle-".to_string(),
        n => format!("jrnle-s{n:03}-"),
    }
}

/// Whether `name` is shaped as a data file of `series`: `<prefix><from>-<to>.<ext>`, both
/// instants in the 20-character form of [`compact`], a format's name as the extension.
pub fn is_data_file_name(name: &str, series: u32) -> bool {
    let Some(rest) = name.strip_prefix(&file_prefix(series)) else {
        return false;
    };
    let b = rest.as_bytes();
    if !rest.is_ascii() || b.len() < 43 || b[20] != b'-' || b[41] != b'.' {
        return false;
    }
    let instant = |s: &[u8]| s[8] == b'T' && s[15] == b'.' && s[19] == b'Z';
    instant(&b[..20]) && instant(&b[21..41]) && Format::named(&rest[42..]).is_some()
}

pub fn manifest_name(data_file: &str) -> String {
    format!("{data_file}{MANIFEST_SUFFIX}")
}

/// Which runner writes a series: each out-dir holds one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesKind {
    Sync,
    Snapshot,
    Listen,
}

impl SeriesKind {
    /// The kind a manifest's own sections say.
    pub fn of(m: &Manifest) -> SeriesKind {
        match (&m.snapshot, &m.deliveries) {
            (Some(_), _) => SeriesKind::Snapshot,
            (None, Some(_)) => SeriesKind::Listen,
            (None, None) => SeriesKind::Sync,
        }
    }

    fn command(self) -> &'static str {
        match self {
            SeriesKind::Sync => "sync",
            SeriesKind::Snapshot => "snapshot",
            SeriesKind::Listen => "listen",
        }
    }
}

/// Refuse, before anything is created, an out-dir whose series another kind of run wrote
/// (exit 2: the wrong directory was given, nothing is wrong with the evidence).
pub fn refuse_other_kind(dir: &Path, runner: SeriesKind) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let Some(head) = load_chain(dir)?.pop() else {
        return Ok(());
    };
    let kind = SeriesKind::of(&head.manifest);
    if kind == runner {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{} holds a series that {} wrote, not {}: give {} an --out-dir of its own; nothing \
         was written",
        dir.display(),
        kind.command(),
        runner.command(),
        runner.command()
    )))
}

/// Every manifest in `dir`, in name (= time) order. A manifest that cannot be read is an
/// error here; `verify` reports it as a problem instead.
pub fn load_chain(dir: &Path) -> Result<Vec<Committed>> {
    let mut chain = Vec::new();
    for name in read_dir(dir)? {
        if !name.ends_with(MANIFEST_SUFFIX) {
            continue;
        }
        chain.push(load_one(dir, &name).map_err(|problem| Error::Verify {
            dir: dir.display().to_string(),
            problems: vec![problem.to_string()],
        })?);
    }
    Ok(chain)
}

/// Read and parse one manifest; the error is a problem description.
pub fn load_one(dir: &Path, name: &str) -> Result<Committed, Finding> {
    let bytes = super::files::read_no_follow(&dir.join(name))
        .map_err(|e| super::files::unreadable(name, &e))?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        Finding::new(
            Some(name.to_string()),
            crate::evidence::verify::Kind::Unreadable,
            format!("not a valid manifest: {e}"),
        )
    })?;
    Ok(Committed {
        name: name.to_string(),
        sha256: sha256_hex(&bytes),
        manifest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_time_order_and_say_the_window() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let a = data_file_name(
            1,
            &t("2025-01-07T00:00:00Z"),
            &t("2025-01-08T00:00:00Z"),
            Format::Csv,
        );
        assert_eq!(a, "jrnle-20250107T000000.000Z-20250108T000000.000Z.csv");
        let b = data_file_name(
            1,
            &t("2025-01-08T00:00:00Z"),
            &t("2025-01-08T00:00:00.5Z"),
            Format::Csv,
        );
        let c = data_file_name(
            1,
            &t("2025-01-08T00:00:00.5Z"),
            &t("2025-01-10T00:00:00Z"),
            Format::Csv,
        );
        assert!(a < b && b < c);
        assert_eq!(manifest_name(&a), format!("{a}.manifest.json"));
        assert!(
            manifest_name(&a) < b,
            "a manifest sorts right after its data file"
        );
        // A later series sorts after every file of the earlier ones, though its window starts
        // earlier.
        let s2 = data_file_name(
            2,
            &t("2020-01-01T00:00:00Z"),
            &t("2025-01-10T00:00:00Z"),
            Format::Csv,
        );
        assert_eq!(
            s2,
            "jrnle-s002-20200101T000000.000Z-20250110T000000.000Z.csv"
        );
        assert!(manifest_name(&c) < s2);
        let s10 = data_file_name(
            10,
            &t("2020-01-01T00:00:00Z"),
            &t("2020-01-02T00:00:00Z"),
            Format::Csv,
        );
        assert!(s2 < s10);
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
