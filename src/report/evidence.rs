//! Where the report's records come from, and the evidence about them an auditor needs:
//! the tenant, the query, when it was extracted, counts, every input file with its size and
//! SHA-256 (computed here from the bytes, so a reader can recompute them), and for a `sync`
//! out-dir what `verify` found and the head of the hash chain.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::evidence::files::{open_error, open_no_follow};
use crate::evidence::manifest::{Committed, hex};
use crate::evidence::{MANIFEST_SUFFIX, verify};
use crate::output::Format;

/// One input file as the report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct FileHash {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Why the file does not verify (a data file left out of the figures); `None` when it
    /// does, or when nothing can say (export files).
    pub damaged: Option<String>,
}

/// What `verify` said about an out-dir, and the chain's head.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub intact: bool,
    pub problems: Vec<String>,
    pub manifests: usize,
    pub series: u32,
    pub head_manifest: Option<String>,
    pub head_sha256: Option<String>,
    /// Who signed the manifests, how many are unsigned.
    pub signatures: crate::evidence::verify::signature::Signatures,
    /// Which TSAs timestamped how many manifests, and when.
    pub timestamps: Option<crate::evidence::verify::timestamp::TimestampSummary>,
}

/// The evidence section, apart from what the records themselves say.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// What was read: a sync out-dir, export files, or the query this report ran.
    pub input: String,
    pub tenant_url: Option<String>,
    pub api_version: Option<String>,
    /// The filters, as `(flag, values)`.
    pub query: Vec<(String, String)>,
    /// `[from, to)` in UTC.
    pub window: Option<(String, String)>,
    /// When the data was extracted (a range for an out-dir: its first and last run).
    pub extracted: Option<String>,
    /// What Workfront counted for the window, when that was recorded.
    pub server_count: Option<u64>,
    /// What the input says of Workfront's count when it is no single number (a Parquet
    /// file's metadata: "checked window by window: ...").
    pub server_count_said: Option<String>,
    pub files: Vec<FileHash>,
    /// The data files written without the formula guard (their manifests say so): their CSV
    /// cells are read as they are.
    pub unguarded: Vec<PathBuf>,
    pub verify: Option<Verified>,
    /// Data warnings from normalization, by kind, when this run normalized the records.
    pub warnings: Vec<(String, u64)>,
    /// Whether `warnings` is known: only when this run normalized the records (files and
    /// manifests do not record the warnings met while they were written).
    pub warnings_known: bool,
    /// The `--field` values asked for, to say which have no entries.
    pub asked_fields: Vec<String>,
    /// What the input cannot say, for the reader.
    pub notes: Vec<String>,
    /// What the records are, after "Audit report of Workfront": journal entries, snapshots
    /// of objects, or event deliveries.
    pub records_are: String,
    /// What the kind of records cannot show (the coverage caveats).
    pub caveats: Vec<String>,
    /// For a series: one row per run of the newest series (the newest [`RUNS_SHOWN`]).
    pub runs: Vec<RunRow>,
    /// Runs of the series left out of `runs` (the oldest).
    pub runs_more: usize,
}

impl RunRow {
    fn of(m: &crate::evidence::manifest::Manifest, intact: bool) -> RunRow {
        RunRow {
            from: m.window.from.clone(),
            to: m.window.to.clone(),
            server_count: m.server_count,
            rows: m.row_count,
            late_rows: m.late_row_count,
            data_file: m.data_file.name.clone(),
            sha256: m.data_file.sha256.clone(),
            intact,
        }
    }
}

/// Runs listed in the reconciliation table: the newest ones; the rest are in the manifests.
pub const RUNS_SHOWN: usize = 200;

/// One run of a series, as its manifest records it, for the reconciliation table.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    pub from: String,
    pub to: String,
    /// What Workfront counted for the window when the run fetched it (`None`: a source that
    /// cannot count, such as `listen`).
    pub server_count: Option<u64>,
    pub rows: u64,
    /// Of `rows`, entries of earlier windows that became visible late.
    pub late_rows: u64,
    pub data_file: String,
    pub sha256: String,
    /// Whether the data file matches its manifest.
    pub intact: bool,
}

/// The caveats of journal entries.
pub fn journal_caveats() -> Vec<String> {
    vec![
        "Workfront journals only tracked fields (at most 300, chosen under Setup → Interface → \
         Update Feeds), no calculated custom fields, and nothing from before tracking began"
            .into(),
        "Workfront records who changed a value and when, never why".into(),
    ]
}

impl Default for Evidence {
    fn default() -> Evidence {
        Evidence {
            input: String::new(),
            tenant_url: None,
            api_version: None,
            query: Vec::new(),
            window: None,
            extracted: None,
            server_count: None,
            server_count_said: None,
            files: Vec::new(),
            unguarded: Vec::new(),
            verify: None,
            warnings: Vec::new(),
            warnings_known: false,
            asked_fields: Vec::new(),
            notes: Vec::new(),
            records_are: "journal entries".into(),
            caveats: journal_caveats(),
            runs: Vec::new(),
            runs_more: 0,
        }
    }
}

/// The size and SHA-256 of a file's bytes, read in pieces.
pub fn hash_file(path: &Path) -> Result<FileHash> {
    let file = File::open(path)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    hash_open(path, file)
}

/// [`hash_file`] for a file of an out-dir: never through a link.
fn hash_evidence(path: &Path) -> Result<FileHash> {
    let file = open_no_follow(path, File::options().read(true))
        .map_err(|e| open_error(path, "cannot read", e))?;
    hash_open(path, file)
}

fn hash_open(path: &Path, mut file: File) -> Result<FileHash> {
    let name = path.display().to_string();
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 20];
    let mut size = 0;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {name}"), e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(FileHash {
        name,
        size,
        sha256: hex(&hasher.finalize()),
        damaged: None,
    })
}

/// The manifests of an out-dir that read (one that does not is among verify's problems
/// already). None at all: no out-dir, which is a usage error (README: exit 2), unless verify
/// found the series' manifests removed (exit 5).
fn manifests(dir: &Path, report: &verify::Report) -> Result<Vec<Committed>> {
    let mut chain: Vec<Committed> = Vec::new();
    for name in crate::evidence::files::read_dir(dir)? {
        if name.ends_with(MANIFEST_SUFFIX)
            && let Ok(c) = crate::evidence::manifest::load_one(dir, &name)
        {
            chain.push(c);
        }
    }
    // Manifests removed from a series (its state file remembers commits): altered evidence.
    if chain.is_empty() && !report.problems.is_empty() && !crate::evidence::never_an_out_dir(dir) {
        return Err(Error::Verify {
            dir: format!("{} (nothing was written)", dir.display()),
            problems: crate::evidence::verify::finding::lines(&report.problems),
        });
    }
    if chain.is_empty() {
        return Err(Error::usage(format!(
            "{} holds no manifest, so no series to read: give the --out-dir of a sync, \
             snapshot or listen, or files export wrote",
            dir.display()
        )));
    }
    Ok(chain)
}

/// A `sync` out-dir: `verify`'s result, then the newest series' data files in order (a
/// new series repeats history under other filters, so series are never added together).
pub fn out_dir(dir: &Path, policy: &verify::Policy) -> Result<(Evidence, Vec<(PathBuf, Format)>)> {
    let report = verify::verify_with(dir, None, policy)?;
    let mut chain = manifests(dir, &report)?;
    let head = chain.last().cloned();
    let series = head.as_ref().map_or(1, |c| c.manifest.series);
    chain.retain(|c| c.manifest.series == series);
    let mut ev = Evidence {
        input: format!("sync out-dir {}", dir.display()),
        ..Evidence::default()
    };
    let mut files = Vec::new();
    let mut server_count = Some(0u64);
    for c in &chain {
        let m = &c.manifest;
        let data = dir.join(&m.data_file.name);
        // Only a data file that matches its manifest is read into the figures; one that does
        // not is listed as damaged, with what can be said of its bytes.
        let mut found = Vec::new();
        verify::check_data_file(dir, c, &mut found);
        if found.is_empty() {
            ev.files.push(hash_evidence(&data)?);
            if let Some(format) = Format::named(&m.query.format) {
                if !m.query.formula_guard {
                    ev.unguarded.push(data.clone());
                }
                files.push((data, format));
            }
        } else {
            // A name that leaves the out-dir is never read (verify says so).
            let inside = verify::snapshot::plain_name(&m.data_file.name);
            ev.files.push(damaged(&data, &found, inside));
        }
        ev.files.push(hash_evidence(&dir.join(&c.name))?);
        server_count = server_count.zip(m.server_count).map(|(a, b)| a + b);
        ev.runs.push(RunRow::of(m, found.is_empty()));
    }
    ev.runs_more = ev.runs.len().saturating_sub(RUNS_SHOWN);
    ev.runs.drain(..ev.runs_more);
    if let (Some(first), Some(last)) = (chain.first(), chain.last()) {
        from_manifests(&mut ev, first, last, chain.len());
        of_other_sources(&mut ev, dir, &last.manifest);
    }
    ev.server_count = server_count;
    if report.series > 1 {
        ev.notes.push(format!(
            "the out-dir holds {} series; this report covers the newest (series {series}), which \
             starts at {}",
            report.series,
            report.series_from.as_deref().unwrap_or("?")
        ));
    }
    ev.notes.push(
        "Workfront's count per window is what the runs counted when they fetched it; entries \
         that became visible late are delivered by a later run and counted in its rows"
            .into(),
    );
    ev.verify = Some(Verified {
        intact: report.problems.is_empty(),
        problems: crate::evidence::verify::finding::lines(&report.problems),
        manifests: report.manifests,
        series: report.series,
        head_manifest: head.as_ref().map(|c| c.name.clone()),
        head_sha256: head.map(|c| c.sha256),
        signatures: report.signatures,
        timestamps: report.timestamps,
    });
    Ok((ev, files))
}

/// A data file that does not verify, as the evidence table lists it: its bytes' size and
/// SHA-256 when they can be read (never through a link), and why it was left out.
fn damaged(path: &Path, found: &[verify::Finding], inside: bool) -> FileHash {
    let why = found
        .iter()
        .map(|f| f.detail.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let name = path.display().to_string();
    match hash_evidence(path).ok().filter(|_| inside) {
        Some(hash) => FileHash {
            damaged: Some(why),
            ..hash
        },
        None => FileHash {
            name,
            size: 0,
            sha256: String::new(),
            damaged: Some(why),
        },
    }
}

/// An out-dir of `snapshot` or `listen` says what its records are and what they cannot show.
fn of_other_sources(ev: &mut Evidence, dir: &Path, head: &crate::evidence::manifest::Manifest) {
    if let Some(s) = &head.snapshot {
        ev.input = format!("snapshot out-dir {}", dir.display());
        ev.records_are = format!("{} objects compared run by run (snapshots)", s.obj_code);
        ev.query = vec![
            ("--obj-code".into(), s.obj_code.clone()),
            ("--fields".into(), s.fields.join(",")),
        ];
        ev.asked_fields = Vec::new();
        ev.notes
            .retain(|n| !n.starts_with("Workfront's count per window"));
        ev.notes.push(
            "each run's window holds the objects whose lastUpdateDate falls in it; an update \
             that became visible late is compared by a later run and counted in its rows"
                .into(),
        );
        ev.caveats = vec![
            "A snapshot compares each object's state at one run with its state at the next: \
             values it held in between, and which of several fields changed first, are not \
             known; a change is dated at the object's last update"
                .into(),
            "The editor is the object's last editor: when several people edited it between two \
             runs, only the last is named"
                .into(),
            "The first run (the baseline) stores every object's state and records no change; \
             a deletion is found only by a run with --detect-deletes, dated at that run"
                .into(),
        ];
    } else if head.deliveries.is_some() {
        ev.input = format!("listen out-dir {}", dir.display());
        ev.records_are = "event subscription deliveries".into();
        ev.query = Vec::new();
        ev.caveats = vec![
            "An event carries only the fields of its object type's event payload; a field \
             outside it never shows a change"
                .into(),
            "Workfront delivers events at least once and drops a delivery after 48 hours of \
             failed retries"
                .into(),
        ];
    }
}

/// What the manifests say of the series: tenant, API version, query, window, when.
fn from_manifests(ev: &mut Evidence, first: &Committed, last: &Committed, runs: usize) {
    let q = &last.manifest.query;
    ev.tenant_url = Some(q.tenant_url.clone());
    ev.api_version = Some(last.manifest.api_version.clone());
    ev.query = query_of(&[
        ("--obj-code", &q.obj_codes[..]),
        ("--field", &q.fields[..]),
        ("--obj-id", &q.obj_ids[..]),
        ("--edited-by", &q.edited_by[..]),
        ("--change-type", &q.change_types[..]),
    ]);
    ev.asked_fields = q.fields.clone();
    // A snapshot's baseline records no change: its window is all that came before it (from
    // 1970 without --since), so the history, and its gaps, start where the baseline ended.
    let start = match &first.manifest.snapshot {
        Some(run) if run.baseline => &first.manifest.window.to,
        _ => &first.manifest.window.from,
    };
    ev.window = Some((start.clone(), last.manifest.window.to.clone()));
    ev.extracted = Some(format!(
        "{}, from {} to {}",
        crate::console::plural(runs as u64, "run", "runs"),
        first.manifest.written_at,
        last.manifest.written_at
    ));
}

/// Files written by `export`, each in the format its first bytes say.
pub fn export_files(paths: &[PathBuf]) -> Result<(Evidence, Vec<(PathBuf, Format)>)> {
    let mut ev = Evidence {
        input: format!(
            "{} written by export",
            crate::console::plural(paths.len() as u64, "file", "files")
        ),
        ..Evidence::default()
    };
    let files = sniff_files(paths)?;
    for path in paths {
        ev.files.push(hash_file(path)?);
    }
    // A Parquet file carries its evidence in its metadata; with one such file, the report
    // shows it (with several, each may tell another query: the note below stands).
    let parquet: Vec<&PathBuf> = (files.iter())
        .filter(|(_, f)| *f == Format::Parquet)
        .map(|(p, _)| p)
        .collect();
    if let ([one], 1) = (parquet.as_slice(), files.len()) {
        let said = crate::output::parquet_evidence(one);
        let get = |key: &str| said.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if let Some(query) = get("query") {
            ev.input = format!("a Parquet file written by export ({})", one.display());
            // As export describes it; no filter is said by the page itself.
            if query != "all journal entries (no filter)" {
                ev.query.push((String::new(), query));
            }
            ev.tenant_url = get("tenant");
            ev.api_version = get("api_version");
            ev.window = get("window_start").zip(get("window_end"));
            ev.extracted = get("extracted");
            let count = get("workfronts_count");
            ev.server_count = count.as_deref().and_then(|c| c.parse().ok());
            ev.server_count_said = count.filter(|_| ev.server_count.is_none());
            ev.notes.push(
                "From the file's metadata, as export wrote it; the metadata is not signed: a \
                 sync out-dir's manifests are the better evidence"
                    .into(),
            );
            return Ok((ev, files));
        }
    }
    ev.notes.push(
        "Export files do not record the tenant, the query, when they were extracted or \
         Workfront's count: a sync out-dir does (its manifests), and is the better evidence"
            .into(),
    );
    Ok((ev, files))
}

/// Each file export wrote, with its format read from its first bytes (nothing hashed: for
/// commands that show no evidence).
pub fn sniff_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Format)>> {
    let mut files = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        // A pipe (`<(…)`, /dev/stdin) cannot be read twice: its first bytes would be gone.
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            return Err(Error::usage(format!(
                "{name} is not a regular file (a pipe or a device): the inputs are read more \
                 than once; save it to a file first"
            )));
        }
        let mut start = [0u8; 64];
        let n = File::open(path)
            .and_then(|mut f| f.read(&mut start))
            .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
        if n == 0 {
            // Export writes a window without entries so; a file cut to nothing looks the same.
            crate::console::warn(format!(
                "{name} is empty: read as a history of no entries (export writes an empty \
                 window so; a sync out-dir's manifests say how many entries a window had)"
            ));
        }
        let format = Format::sniff(&start[..n]).ok_or_else(|| {
            Error::usage(format!(
                "{name} is not a CSV, JSON or JSON Lines file written by export (or a sync \
                 out-dir): give files export wrote, or the --out-dir of a sync"
            ))
        })?;
        files.push((path.clone(), format));
    }
    Ok(files)
}

/// The filters that are set, as `(flag, values)`.
pub fn query_of(lists: &[(&str, &[String])]) -> Vec<(String, String)> {
    lists
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(flag, v)| (flag.to_string(), v.join(", ")))
        .collect()
}
