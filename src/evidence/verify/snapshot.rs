//! A snapshot out-dir's state database against the newest manifest: the commit it records,
//! its rows against the digest and count the manifest recorded, and what an interrupted run
//! left (an unfinished transaction, a commit whose manifest file was not written yet).

use std::path::Path;

use crate::error::Result;
use crate::evidence::MANIFEST_SUFFIX;
use crate::evidence::STATE_DB;
use crate::evidence::manifest::{Committed, CommittedManifest, Manifest, sha256_hex};
use crate::evidence::state_db::StateDb;

use super::Report;
use super::finding::{Finding, Kind};

/// A snapshot out-dir's state database against the newest manifest: it records that manifest
/// as its last commit, and its rows sum to the digest and count the manifest recorded. (Only
/// the newest state exists; earlier ones are in the chain of data files.)
pub(super) fn check_snapshot_state(
    dir: &Path,
    chain: &[Committed],
    report: &mut Report,
) -> Result<()> {
    let snapshot = chain.last().and_then(|c| c.manifest.snapshot.as_ref());
    if snapshot.is_none() && !chain.is_empty() {
        return Ok(());
    }
    // An unfinished transaction is rolled back in a copy, and the copy checked: a journal
    // planted beside an edited state must not stop the check.
    let copy = unfinished(dir, report)?;
    let copy = copy.as_ref().map(|c| c.path());
    let p = &mut report.problems;
    let (Some(head), Some(recorded)) = (chain.last(), snapshot) else {
        return check_no_manifest_yet(dir, copy, report);
    };
    let Some(db) = open_state(dir, copy)? else {
        p.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::State,
            format!("missing (the state {} records)", head.name),
        ));
        return Ok(());
    };
    match db.committed_manifest()? {
        Some(m) if m.name == head.name && sha256_hex(&m.bytes) == head.sha256 => {}
        // Committed with the next manifest (chained to the newest), killed before that
        // manifest's file was written: the next run writes it from the database.
        Some(m) if let Some(next) = rolls_forward(dir, &m, Some(head)) => {
            report.interrupted.push(Finding::new(
                Some(STATE_DB.to_string()),
                Kind::Interrupted,
                format!(
                    "a snapshot run committed {} but was interrupted before writing \
                 its file; the next snapshot run writes it",
                    m.name
                ),
            ));
            // The state must still be the one that manifest records.
            if let Some(run) = &next.snapshot {
                let named = Committed {
                    name: m.name.clone(),
                    sha256: sha256_hex(&m.bytes),
                    manifest: next.clone(),
                };
                return check_digest(&db, &named, run, &mut report.problems);
            }
            return Ok(());
        }
        Some(m) => p.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::State,
            format!(
                "records {} as its last commit, not the newest manifest {}: the state \
             or the evidence was replaced or edited",
                m.name, head.name
            ),
        )),
        None => p.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::State,
            format!(
                "records no commit, but {} says it holds the state",
                head.name
            ),
        )),
    }
    check_digest(&db, head, recorded, p)
}

/// The state's rows against the digest and count the newest manifest recorded, and against
/// the running digest the next run starts from (the database's `meta` table: altered, it would
/// make the next honest run record a wrong digest).
fn check_digest(
    db: &StateDb,
    head: &Committed,
    recorded: &crate::evidence::manifest::SnapshotRun,
    p: &mut Vec<Finding>,
) -> Result<()> {
    let state = db.recompute()?;
    if db.summary() != state {
        p.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::Altered,
            "the digest and count it keeps for the next run do not match its rows: \
             the state was altered"
                .to_string(),
        ));
    }
    if state.digest_hex() != recorded.state_digest || state.objects != recorded.state_objects {
        p.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::State,
            format!(
                "its {} objects do not sum to the digest {} records: the state was \
             altered",
                state.objects, head.name
            ),
        ));
    }
    Ok(())
}

/// The state database: read-only in the out-dir, or the rolled-back copy (see [`unfinished`]).
fn open_state(dir: &Path, copy: Option<&Path>) -> Result<Option<StateDb>> {
    match copy {
        Some(c) => StateDb::open(c).map(Some),
        None => StateDb::open_read_only(dir),
    }
}

/// A run killed in its transaction leaves SQLite's rollback journal: until it is rolled back
/// (by the next snapshot run), the database file may hold changes never committed. Not
/// altered evidence, and said so; the state is checked as it will be once rolled back, in a
/// private copy of the database and its journal (the out-dir is not touched).
fn unfinished(dir: &Path, report: &mut Report) -> Result<Option<tempfile::TempDir>> {
    let journal = dir.join(format!("{STATE_DB}-journal"));
    if !std::fs::symlink_metadata(&journal).is_ok_and(|m| m.is_file() && m.len() > 0) {
        return Ok(None);
    }
    report.interrupted.push(Finding::new(
        Some(STATE_DB.to_string()),
        Kind::Interrupted,
        format!(
            "a snapshot run was interrupted and left its transaction unfinished \
             ({STATE_DB}-journal): the next snapshot run rolls it back (the state was checked \
             as rolled back, in a copy)"
        ),
    ));
    let copy = tempfile::tempdir()
        .map_err(|e| crate::error::Error::io("cannot make a temporary directory", e))?;
    for name in [STATE_DB.to_string(), format!("{STATE_DB}-journal")] {
        let bytes = crate::evidence::files::read_no_follow(&dir.join(&name))
            .map_err(|e| crate::evidence::files::open_error(&dir.join(&name), "cannot read", e))?;
        std::fs::write(copy.path().join(&name), bytes)
            .map_err(|e| crate::error::Error::io("cannot copy the state database", e))?;
    }
    Ok(Some(copy))
}

/// The manifest a snapshot's database committed, when it is the one a run killed before
/// writing its file leaves: named as its own data file's manifest (a plain name in the
/// out-dir), that data file present, and coming right after `head` in the chain (or first of
/// all when there is none). Only such a manifest is written by the next run, and said to be
/// an interrupted run's; any other is altered evidence.
pub fn rolls_forward(
    dir: &Path,
    committed: &CommittedManifest,
    head: Option<&Committed>,
) -> Option<Manifest> {
    let m = serde_json::from_slice::<Manifest>(&committed.bytes).ok()?;
    let own_name = format!("{}{MANIFEST_SUFFIX}", m.data_file.name);
    let chained = match head {
        Some(h) => {
            m.previous_manifest_sha256.as_deref() == Some(h.sha256.as_str())
                && m.window.from == h.manifest.window.to
        }
        None => m.previous_manifest_sha256.is_none(),
    };
    let present = std::fs::symlink_metadata(dir.join(&m.data_file.name)).is_ok_and(|f| f.is_file());
    (chained && present && committed.name == own_name && plain_name(&committed.name)).then_some(m)
}

/// A file name that stays in the out-dir: no separator, not `.` or `..`.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// No manifest yet: a state database may only be an interrupted baseline's: uncommitted, or
/// committed with the first manifest, whose file the next run writes.
fn check_no_manifest_yet(dir: &Path, copy: Option<&Path>, report: &mut Report) -> Result<()> {
    let p = &mut report.problems;
    if let Some(db) = open_state(dir, copy)?
        && let Some(m) = db.committed_manifest()?
    {
        if rolls_forward(dir, &m, None).is_some() {
            report.interrupted.push(Finding::new(
                Some(STATE_DB.to_string()),
                Kind::Interrupted,
                format!(
                    "a snapshot baseline committed {} but was interrupted before writing its \
                     file; the next snapshot run writes it",
                    m.name
                ),
            ));
            return Ok(());
        }
        p.push(Finding::new(
            Some(STATE_DB.to_string()),
            Kind::State,
            format!(
                "records a commit ({}) but no manifest is present: the evidence was \
             removed",
                m.name
            ),
        ));
    }
    Ok(())
}
