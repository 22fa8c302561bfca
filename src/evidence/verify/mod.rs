//! `verify`: every data file against its manifest, the hash chain from the first manifest to
//! the last, contiguous windows, no file unaccounted for, the state file's record of the
//! newest manifest, and a snapshot out-dir's state database against the newest manifest.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::evidence::signing::SIG_SUFFIX;

/// Files kept beside a committed manifest: its signature, its timestamp request and answer.
const BESIDE: [&str; 3] = [SIG_SUFFIX, ".tsq", ".tsr"];
use crate::output::Format;

use crate::evidence::STATE_DB;
use crate::evidence::files::read_dir;
use crate::evidence::manifest::{Committed, data_file_name, is_data_file_name, load_one};
use crate::evidence::state;
use crate::evidence::{
    JOURNAL_FILE, LOCK_FILE, MANIFEST_SUFFIX, PARTIAL_SUFFIX, QUARANTINE_FILE, STATE_FILE,
};

pub mod finding;
mod journal;
pub mod signature;
pub mod snapshot;
pub mod timestamp;

pub use finding::{Finding, Kind};

use journal::{check_journal, check_uncommitted};
use signature::{SignaturePolicy, Signatures, check_signatures};
use snapshot::check_snapshot_state;

/// What a verification asks beyond the evidence's own consistency: the signers and TSAs it
/// accepts, what must be there, and the head recorded elsewhere. The default is `verify`'s
/// with no flag; [`Policy::appending`] what every run checks before it appends.
#[derive(Debug, Default)]
pub struct Policy {
    pub signatures: SignaturePolicy,
    pub timestamps: timestamp::TimestampPolicy,
    /// `--expect-head`: a head recorded earlier, which must be in the chain.
    pub expect_head: Option<Head>,
}

pub use crate::evidence::manifest::Head;

/// What verification found.
#[derive(Debug, Default)]
pub struct Report {
    pub manifests: usize,
    pub rows: u64,
    pub first_from: Option<String>,
    pub last_to: Option<String>,
    /// How many series the out-dir holds (`--new-series` starts one).
    pub series: u32,
    /// Where the newest series starts.
    pub series_from: Option<String>,
    pub problems: Vec<Finding>,
    /// What a run killed before its commit was complete left (a data file with no manifest
    /// yet, a snapshot transaction unfinished or committed without its manifest file): not
    /// altered evidence; the next run completes or removes it. Said, not counted as problems.
    pub interrupted: Vec<Finding>,
    pub signatures: Signatures,
    pub head: Option<Head>,
    /// With `--expect-head`, when the recorded head is in the chain: how many manifests
    /// follow it.
    pub recorded_head: Option<usize>,
    /// What the timestamp checks saw, when they ran (`timestamp::check_timestamps`).
    pub timestamps: Option<timestamp::TimestampSummary>,
}

/// Check `dir`. `state_path` is the state file to compare with (the default one in `dir` when
/// it exists).
pub fn verify(dir: &Path, state_path: Option<&Path>) -> Result<Report> {
    verify_with(dir, state_path, &Policy::appending())
}

impl Policy {
    /// What a run checks before it appends: everything `verify` checks with no flag, but
    /// a timestamp's delay (how late a token came is the auditor's judgment, and a TSA down
    /// for a day must not stop the series).
    pub fn appending() -> Policy {
        Policy {
            timestamps: timestamp::TimestampPolicy {
                max_delay: None,
                ..timestamp::TimestampPolicy::default()
            },
            ..Policy::default()
        }
    }
}

/// [`verify`], judging signatures and the head by `policy`.
pub fn verify_with(dir: &Path, state_path: Option<&Path>, policy: &Policy) -> Result<Report> {
    let mut report = Report::default();
    let names = read_dir(dir)?;
    let mut chain: Vec<Committed> = Vec::new();
    for name in names.iter().filter(|n| n.ends_with(MANIFEST_SUFFIX)) {
        match load_one(dir, name) {
            Ok(c) => chain.push(c),
            Err(problem) => report.problems.push(problem),
        }
    }
    let mut previous: Option<&Committed> = None;
    for c in &chain {
        check_manifest(c, &mut report.problems);
        check_link(previous, c, &mut report.problems);
        check_data_file(dir, c, &mut report.problems);
        check_journal(dir, c, &mut report.problems);
        report.rows += c.manifest.row_count;
        previous = Some(c);
    }
    report.manifests = chain.len();
    report.first_from = chain.first().map(|c| c.manifest.window.from.clone());
    report.last_to = chain.last().map(|c| c.manifest.window.to.clone());
    report.series = chain.last().map_or(0, |c| c.manifest.series);
    report.series_from = chain
        .iter()
        .find(|c| c.manifest.series == report.series)
        .map(|c| c.manifest.window.from.clone());
    check_unaccounted(dir, &names, &chain, &mut report);
    // A state database that does not read is a finding; one another process holds is an error
    // (exit 1: try again), not damage.
    if let Err(e) = check_snapshot_state(dir, &chain, &mut report) {
        if e.exit_code() != 5 {
            return Err(e);
        }
        report.problems.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::Unreadable,
            format!("does not read as a state database: {}", reason(&e)),
        ));
    }
    check_uncommitted(dir, &chain, &mut report);
    timestamp::check_timestamps(dir, &chain, &policy.timestamps, &mut report);
    // A key's validity is judged at the manifest's timestamp when it has one that checks,
    // else at its written_at.
    let stamped = report
        .timestamps
        .as_ref()
        .map(|t| t.times.clone())
        .unwrap_or_default();
    let time_of = |c: &Committed| stamped.get(&c.name).copied().or_else(|| manifest_time(c));
    report.signatures = check_signatures(
        dir,
        &chain,
        &policy.signatures,
        &time_of,
        &mut report.problems,
    );
    report.head = chain.last().map(|c| Head {
        manifest: c.name.clone(),
        sha256: c.sha256.clone(),
    });
    if let Some(expected) = &policy.expect_head {
        report.recorded_head = check_head(expected, &chain, &mut report.problems);
    }
    let default_state = dir.join(STATE_FILE);
    check_state(state_path.unwrap_or(&default_state), &chain, &mut report)?;
    Ok(report)
}

/// The instant a manifest's signing key must have been valid at: its `written_at`.
fn manifest_time(c: &Committed) -> Option<DateTime<Utc>> {
    crate::model::date::parse_timestamp(&c.manifest.written_at).map(|t| t.with_timezone(&Utc))
}

/// A head recorded elsewhere must still be in the chain (the chain from it on is checked link
/// by link with the rest): a rewrite that recomputed every hash since does not hold it.
/// Returns how many manifests follow it when it holds. The manifest's name is compared
/// only when it was recorded (`--print-head` prints both; a bare hash is enough).
fn check_head(expected: &Head, chain: &[Committed], p: &mut Vec<Finding>) -> Option<usize> {
    let sha256 = expected.sha256.to_ascii_lowercase();
    let Some(at) = chain.iter().position(|c| c.sha256 == sha256) else {
        p.push(Finding::new(
            None,
            Kind::Head,
            format!(
                "the recorded head {sha256} is no manifest of the chain: the manifests since \
                 it was recorded were rewritten or removed"
            ),
        ));
        return None;
    };
    if !expected.manifest.is_empty() && chain[at].name != expected.manifest {
        p.push(Finding::new(
            Some(chain[at].name.clone()),
            Kind::Head,
            format!(
                "has the recorded head's hash, but the head was recorded as {} (renamed?)",
                expected.manifest
            ),
        ));
        return None;
    }
    Some(chain.len() - at - 1)
}

/// How much later than the verifying machine's clock a manifest may say it was written: the
/// evidence may be checked on another machine, whose clock differs a little.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// How far a window may end after its manifest's `written_at` (none but the milliseconds two
/// commits in one millisecond can put between them: `listen` moves a window on by 1 ms).
const WINDOW_PAST_WRITTEN: chrono::Duration = chrono::Duration::seconds(1);

/// A manifest's dates against each other and the clock: a run collects only what has
/// happened, so its window ends before it was written, and it was written in the past. A
/// window ending in 2099 would otherwise stop every later run silently ("nothing to do").
fn check_dates(c: &Committed, now: DateTime<Utc>, p: &mut Vec<Finding>) {
    let m = &c.manifest;
    let Some(written) = crate::model::date::parse_timestamp(&m.written_at) else {
        p.push(Finding::new(
            Some(c.name.to_string()),
            Kind::Dates,
            format!("unreadable written_at {:?}", m.written_at),
        ));
        return;
    };
    let written = written.with_timezone(&Utc);
    if m.window_to()
        .is_some_and(|to| to > written + WINDOW_PAST_WRITTEN)
    {
        p.push(Finding::new(
            Some(c.name.to_string()),
            Kind::Dates,
            format!(
                "its window ends at {}, after it was written ({}): a run cannot collect the \
             future (edited?)",
                m.window.to, m.written_at
            ),
        ));
    }
    if written > now + CLOCK_SKEW {
        p.push(Finding::new(
            Some(c.name.to_string()),
            Kind::Dates,
            format!(
                "written at {}, later than now ({}): the manifest was edited, or the clock \
             that wrote it was wrong",
                m.written_at,
                crate::model::date::format_utc_ms(&now)
            ),
        ));
    }
}

/// A manifest on its own: its name, its window and the data file name the window gives.
fn check_manifest(c: &Committed, p: &mut Vec<Finding>) {
    let m = &c.manifest;
    check_dates(c, Utc::now(), p);
    if c.name != format!("{}{MANIFEST_SUFFIX}", m.data_file.name) {
        p.push(Finding::new(
            Some(c.name.to_string()),
            Kind::Window,
            format!(
                "names data file {}, not the one its own name says",
                m.data_file.name
            ),
        ));
    }
    match (
        m.window_from(),
        m.window_to(),
        Format::named(&m.query.format),
    ) {
        (Some(from), Some(to), Some(format)) => {
            if from >= to {
                p.push(Finding::new(
                    Some(c.name.to_string()),
                    Kind::Window,
                    format!("the window [{}, {}) is empty", m.window.from, m.window.to),
                ));
            }
            if data_file_name(m.series, &from, &to, format) != m.data_file.name {
                p.push(Finding::new(
                    Some(c.name.to_string()),
                    Kind::Window,
                    format!(
                        "the data file name {} does not match the window [{}, {})",
                        m.data_file.name, m.window.from, m.window.to
                    ),
                ));
            }
        }
        _ => p.push(Finding::new(
            Some(c.name.to_string()),
            Kind::Window,
            "unreadable window or format".to_string(),
        )),
    }
}

/// A manifest's link to the one before it: the hash chain and contiguous windows.
pub(super) fn check_link(previous: Option<&Committed>, c: &Committed, p: &mut Vec<Finding>) {
    let m = &c.manifest;
    match previous {
        None if m.previous_manifest_sha256.is_some() => p.push(Finding::new(Some(c.name.to_string()), Kind::Chain, "the first manifest present points to an earlier one: the start of the chain was removed".to_string())),
        Some(prev) => {
            if m.previous_manifest_sha256.as_deref() != Some(prev.sha256.as_str()) {
                p.push(Finding::new(Some(c.name.to_string()), Kind::Chain, format!("chain broken after {}: its previous_manifest_sha256 does not match \
                     (a manifest was removed, edited, added or reordered)", prev.name)));
            }
            let (series, prev_series) = (m.series, prev.manifest.series);
            if series == prev_series && m.window.from != prev.manifest.window.to {
                p.push(Finding::new(Some(c.name.to_string()), Kind::Window, format!("window starts at {} but the previous one ended at {}: not contiguous", m.window.from, prev.manifest.window.to)));
            }
            // A new series (`--new-series`) starts at its own --since; series only ever follow
            // each other one by one.
            if series != prev_series && series != prev_series + 1 {
                p.push(Finding::new(Some(c.name.to_string()), Kind::Chain, format!("series {series} follows series {prev_series}: a series is missing or out of order")));
            }
        }
        None => {}
    }
}

/// Files that no manifest accounts for (added by hand).
fn check_unaccounted(dir: &Path, names: &[String], chain: &[Committed], report: &mut Report) {
    let mut accounted: HashSet<&str> = [LOCK_FILE, STATE_FILE].into_iter().collect();
    // Also with no manifest yet: what a `listen` acknowledged before its first commit.
    if chain.is_empty() || chain.iter().any(|c| c.manifest.deliveries.is_some()) {
        accounted.extend([JOURNAL_FILE, QUARANTINE_FILE]);
    }
    // SQLite's rollback journal of an interrupted run is rolled back on the next open.
    let db_journal = format!("{STATE_DB}-journal");
    // Also with no manifest yet: an interrupted baseline's (`check_snapshot_state`).
    if chain.is_empty() || chain.iter().any(|c| c.manifest.snapshot.is_some()) {
        accounted.extend([STATE_DB, db_journal.as_str()]);
    }
    // A committed manifest's signature and timestamp (request and answer) beside it.
    let beside: Vec<String> = chain
        .iter()
        .flat_map(|c| {
            BESIDE
                .iter()
                .map(move |suffix| format!("{}{suffix}", c.name))
        })
        .collect();
    accounted.extend(beside.iter().map(String::as_str));
    for c in chain {
        accounted.insert(&c.name);
        accounted.insert(&c.manifest.data_file.name);
    }
    // The data file of the window after the newest manifest's, which a run renames into place
    // just before it writes that window's manifest: what a kill between the two leaves, and
    // what the next run removes (or, for a snapshot, completes) before it starts.
    // So is the first data file of the next series (`--new-series`, which starts at its
    // own --since).
    let next = chain.last().and_then(|c| {
        let to = c.manifest.window_to()?;
        Some(format!(
            "{}{}-",
            crate::evidence::manifest::file_prefix(c.manifest.series),
            crate::evidence::manifest::compact(&to)
        ))
    });
    for name in names {
        if accounted.contains(name.as_str()) {
            if std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_symlink()) {
                report.problems.push(Finding::new(
                    Some(name.to_string()),
                    Kind::Link,
                    "a symbolic link where evidence should be (never followed)".to_string(),
                ));
            }
            continue;
        }
        let regular = std::fs::symlink_metadata(dir.join(name)).is_ok_and(|m| m.is_file());
        let head_series = chain.last().map_or(0, |c| c.manifest.series);
        let interrupted = left_by_interrupted(name, regular, next.as_deref(), head_series);
        match interrupted {
            Some(what) => report.interrupted.push(Finding::new(
                Some(name.to_string()),
                Kind::Interrupted,
                what.to_string(),
            )),
            None => report.problems.push(Finding::new(
                Some(name.to_string()),
                Kind::Unlisted,
                "not part of any manifest (added by hand?)".to_string(),
            )),
        }
    }
}

/// What an interrupted run leaves, said as such, or `None` (then the file is unlisted): a
/// `*.partial` file; the next window's data file (prefix `next`), or the first one of a next
/// series; and such a data file's manifest's signature, written before the manifest.
fn left_by_interrupted(
    name: &str,
    regular: bool,
    next: Option<&str>,
    head_series: u32,
) -> Option<&'static str> {
    if name.ends_with(PARTIAL_SUFFIX) {
        return regular.then_some(
            "a file a run was writing when it was interrupted; the next run removes it",
        );
    }
    let (data_name, what) = match name.strip_suffix(&format!("{MANIFEST_SUFFIX}{SIG_SUFFIX}")) {
        Some(data) => (
            data,
            "the signature of a manifest an interrupted run had not yet written; the next run \
             completes or removes it",
        ),
        None => (
            name,
            "the data file of a run interrupted before its manifest was written; the next run \
             completes or removes it",
        ),
    };
    let of = |series: u32| regular && is_data_file_name(data_name, series);
    // The first data file of the first series, or of a next one (`--new-series`, which
    // starts at its own --since).
    ((next.is_some_and(|n| name.starts_with(n)) && of(head_series)) || of(head_series + 1))
        .then_some(what)
}

/// The state file's record of the newest manifest, when there is a state file. Behind (it
/// names a manifest of the chain, as committed, but not the newest) is what a run killed
/// between its manifest and its state file leaves, or a state file restored from a backup:
/// the next run brings it up to date. Naming a manifest that is missing or altered means the
/// newest committed files were removed or edited.
fn check_state(state_path: &Path, chain: &[Committed], report: &mut Report) -> Result<()> {
    // A state file that does not read (not JSON, a link, a directory) is a finding like any
    // other, listed with the rest (and in --json), not an error that hides them.
    let state = match state::load(state_path) {
        Ok(Some(state)) => state,
        Ok(None) => return Ok(()),
        Err(e) => {
            report.problems.push(Finding::new(
                Some(state_path.display().to_string()),
                Kind::Unreadable,
                format!("the state file does not read: {}", reason(&e)),
            ));
            return Ok(());
        }
    };
    let records =
        |c: &Committed| c.name == state.last_manifest && c.sha256 == state.last_manifest_sha256;
    let p = &mut report.problems;
    match chain.iter().rposition(records) {
        Some(at) if at + 1 == chain.len() => {}
        Some(at) => report.interrupted.push(Finding::new(
            None,
            Kind::Interrupted,
            format!(
                "the state file {} records {}, {} behind the newest manifest {}: a run was \
             interrupted just after its commit (or the state file was restored from a backup); \
             the next run brings it up to date",
                state_path.display(),
                state.last_manifest,
                crate::console::plural((chain.len() - at - 1) as u64, "commit", "commits"),
                chain[chain.len() - 1].name
            ),
        )),
        _ => p.push(Finding::new(
            None,
            Kind::State,
            format!(
                "the state file {} records {} as the newest manifest, which is missing or \
             altered: the newest committed files were removed or edited",
                state_path.display(),
                state.last_manifest
            ),
        )),
    }
    Ok(())
}

pub fn check_data_file(dir: &Path, c: &Committed, problems: &mut Vec<Finding>) {
    let data = &c.manifest.data_file;
    if !snapshot::plain_name(&data.name) || data.name.ends_with(MANIFEST_SUFFIX) {
        problems.push(Finding::new(
            Some(c.name.clone()),
            Kind::Altered,
            format!(
                "names the data file {:?}, which is not a file of the out-dir (never read)",
                data.name
            ),
        ));
        return;
    }
    match crate::evidence::files::hash_no_follow(&dir.join(&data.name)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(Finding::new(
                Some(data.name.to_string()),
                Kind::Missing,
                format!("missing (listed in {})", c.name),
            ));
        }
        Err(e) => problems.push(crate::evidence::files::unreadable(&data.name, &e)),
        Ok((size, sha256)) => {
            if size != data.size {
                problems.push(Finding::new(
                    Some(data.name.to_string()),
                    Kind::Altered,
                    format!("{size} bytes, the manifest says {}", data.size),
                ));
            }
            if sha256 != data.sha256 {
                problems.push(Finding::new(
                    Some(data.name.to_string()),
                    Kind::Altered,
                    "SHA-256 does not match its manifest: the file was altered".to_string(),
                ));
            }
        }
    }
}

/// An error's words without the out-dir it names (the finding names its file).
fn reason(e: &crate::error::Error) -> String {
    match e {
        crate::error::Error::Verify { problems, .. } => problems.join("; "),
        e => e.to_string(),
    }
}
