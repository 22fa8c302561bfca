//! One `snapshot` run: lock, recover, fetch the objects updated in
//! `[watermark − lookback, now − lag)`, write their changes into a data file, and commit the
//! state with the manifest (see [`super::db`] for why a run killed at any instant leaves state
//! and evidence in agreement).
//!
//! The out-dir holds one series: the object type, the fields, the format and the tenant are
//! fixed by the baseline; a run with others is refused (start another out-dir).

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};

use crate::console;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::model::anomaly::Anomalies;
use crate::model::date::format_utc_ms;
use crate::output::{Format, WriteOptions, open_sink};
use crate::source::TimeRange;
use crate::source::snapshot::{Mode, SnapshotSource, Tally};
use crate::sync::files::{AtomicFile, write_atomic};
use crate::sync::lock::DirLock;
use crate::sync::manifest::{
    Committed, DataFile, Manifest, SeriesKind, SeriesQuery, SnapshotRun, Window, data_file_name,
    load_chain, manifest_name, sha256_hex,
};
use crate::sync::verify::check_head;
use crate::workfront::client::Client;

use super::db::{CommittedManifest, STATE_DB, StateDb};

/// A checked snapshot request.
#[derive(Debug, Clone)]
pub struct SnapshotPlan {
    pub out_dir: PathBuf,
    pub obj_code: String,
    pub fields: Vec<String>,
    /// Where the baseline starts (objects updated since); `None`: every object.
    pub since: Option<DateTime<Utc>>,
    pub lag: Duration,
    pub lookback: Duration,
    pub detect_deletes: bool,
    pub format: Format,
    pub formula_guard: bool,
    pub tenant_url: String,
    pub api_version: String,
    pub concurrency: usize,
}

/// What a run committed.
#[derive(Debug)]
pub struct Outcome {
    pub manifest: Manifest,
    pub tally: Tally,
    pub anomalies: Anomalies,
}

impl SnapshotPlan {
    fn series_query(&self) -> SeriesQuery {
        let mut fields = self.fields.clone();
        fields.sort();
        fields.dedup();
        SeriesQuery {
            tenant_url: self.tenant_url.clone(),
            obj_codes: vec![self.obj_code.clone()],
            fields,
            obj_ids: Vec::new(),
            edited_by: Vec::new(),
            change_types: Vec::new(),
            format: self.format.spec().name.to_string(),
            formula_guard: self.formula_guard,
        }
    }
}

/// Where the out-dir stands: its chain, and where this run starts.
struct Start {
    chain: Vec<Committed>,
    from: DateTime<Utc>,
    mode: Mode,
}

/// One run, committed; `None` when the lag leaves nothing to fetch yet.
pub async fn run(
    plan: &SnapshotPlan,
    client: &Client,
    now: DateTime<Utc>,
    progress: indicatif::ProgressBar,
) -> Result<Option<Outcome>> {
    let mut lock = DirLock::open_out_dir(&plan.out_dir)?;
    // Before the state database is created: nothing of a snapshot in another kind's out-dir.
    crate::sync::manifest::refuse_other_kind(&plan.out_dir, SeriesKind::Snapshot)?;
    let mut db = StateDb::open(&plan.out_dir)?;
    roll_forward(plan, &db)?;
    let start = where_it_stands(plan, &db)?;
    let to = (now - chrono::Duration::from_std(plan.lag).unwrap_or_default())
        .duration_trunc(chrono::Duration::milliseconds(1))
        .unwrap_or(now);
    if to <= start.from {
        console::note(format!(
            "nothing to do: the next window starts at {} and --lag puts its end at {}",
            format_utc_ms(&start.from),
            format_utc_ms(&to)
        ));
        return Ok(None);
    }
    crate::sync::run::remove_orphans(&plan.out_dir, 1, &start.from)?;
    db.begin()?;
    let written = write_and_commit(plan, client, &mut db, &start, to, progress).await;
    let (manifest, tally, anomalies) = match written {
        Ok(w) => w,
        Err(e) => {
            drop(db);
            if start.mode == Mode::Baseline {
                // A baseline that failed leaves the out-dir as it found it.
                for name in [STATE_DB.to_string(), format!("{STATE_DB}-journal")] {
                    let _ = std::fs::remove_file(plan.out_dir.join(name));
                }
            }
            return Err(e);
        }
    };
    // Committed: the out-dir and its lock file stay.
    lock.keep();
    Ok(Some(Outcome {
        manifest,
        tally,
        anomalies,
    }))
}

/// A run killed after its commit but before its manifest file was written: the manifest is
/// in the database, and is written now.
fn roll_forward(plan: &SnapshotPlan, db: &StateDb) -> Result<()> {
    let Some(m) = db.committed_manifest()? else {
        return Ok(());
    };
    let path = plan.out_dir.join(&m.name);
    if path.exists() {
        return Ok(());
    }
    write_atomic(&path, &m.bytes)?;
    console::note(format!(
        "wrote {}, the manifest of a run interrupted just after its commit",
        m.name
    ));
    Ok(())
}

/// The chain, checked, and where this run starts: the newest window's end, or (baseline)
/// `--since`. Evidence that does not hold, or a state that is not the newest manifest's, is
/// refused (exit 5); so is a run with another object type, fields, format or tenant.
fn where_it_stands(plan: &SnapshotPlan, db: &StateDb) -> Result<Start> {
    let chain = load_chain(&plan.out_dir)?;
    let mut problems = Vec::new();
    check_head(&plan.out_dir, &chain, &mut problems);
    let committed = db.committed_manifest()?;
    let head = chain.last();
    match (head, &committed) {
        (None, None) => {}
        (Some(h), Some(c)) if h.name == c.name && h.sha256 == sha256_hex(&c.bytes) => {}
        _ => problems.push(format!(
            "the snapshot state {STATE_DB} records manifest {}, but the newest manifest is {}: \
             the state or the evidence was replaced or edited",
            committed.as_ref().map_or("none", |c| c.name.as_str()),
            head.map_or("none", |h| h.name.as_str())
        )),
    }
    if let Some(h) = head
        && h.manifest.snapshot.is_none()
    {
        problems.push(format!(
            "{} is not a snapshot out-dir (its manifests come from sync or listen)",
            plan.out_dir.display()
        ));
    }
    if !problems.is_empty() {
        problems.push(format!(
            "nothing was appended; run `jrnle-audit verify {}`",
            plan.out_dir.display()
        ));
        return Err(Error::Verify {
            dir: plan.out_dir.display().to_string(),
            problems,
        });
    }
    let Some(head) = head else {
        let from = plan.since.unwrap_or(DateTime::UNIX_EPOCH);
        return Ok(Start {
            chain,
            from,
            mode: Mode::Baseline,
        });
    };
    check_same_series(plan, &head.manifest)?;
    let end = |c: &Committed| {
        c.manifest
            .window_to()
            .ok_or_else(|| Error::usage(format!("{}: unreadable window end", c.name)))
    };
    let from = end(head)?;
    let baseline_end = end(&chain[0])?;
    Ok(Start {
        chain,
        from,
        mode: Mode::After { baseline_end },
    })
}

fn check_same_series(plan: &SnapshotPlan, head: &Manifest) -> Result<()> {
    let (old, new) = (&head.query, plan.series_query());
    if *old == new {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{} holds snapshots of {} with fields {} in {} from {}; this run asks for {} with \
         fields {} in {} from {}: use the same ones, or another --out-dir",
        plan.out_dir.display(),
        old.obj_codes.join(","),
        old.fields.join(","),
        old.format,
        old.tenant_url,
        new.obj_codes.join(","),
        new.fields.join(","),
        new.format,
        new.tenant_url
    )))
}

/// Fetch and compare into the data file, then commit: the data file, the state with the
/// manifest's bytes (the commit point), the manifest file.
async fn write_and_commit(
    plan: &SnapshotPlan,
    client: &Client,
    db: &mut StateDb,
    start: &Start,
    to: DateTime<Utc>,
    progress: indicatif::ProgressBar,
) -> Result<(Manifest, Tally, Anomalies)> {
    let baseline = start.mode == Mode::Baseline;
    let lookback = chrono::Duration::from_std(plan.lookback).unwrap_or_default();
    let query_from = match baseline {
        true => start.from,
        false => {
            (start.from - lookback).max(start.chain[0].manifest.window_from().unwrap_or(start.from))
        }
    };
    let name = data_file_name(1, &start.from, &to, plan.format);
    let path = plan.out_dir.join(&name);
    let mut file = AtomicFile::create(&path)?;
    let window = Window {
        from: format_utc_ms(&start.from),
        to: format_utc_ms(&to),
    };
    let sink = data_sink(plan, &mut file, &path)?;
    let mut source = SnapshotSource::new(
        client,
        &plan.obj_code,
        &plan.fields,
        db,
        start.mode,
        plan.detect_deletes && !baseline,
        plan.concurrency,
        progress,
    );
    let none = Default::default();
    let range = TimeRange {
        since: Some(query_from),
        until: to,
    };
    let done = Delivery::new(sink, path)
        .skipping(&none, window.from.clone())
        .run(&mut source, Some(range))
        .await;
    let done = match done {
        Ok(done) => done,
        // Nothing of a failed run stays behind: the states roll back with the transaction.
        Err(e) => {
            file.abandon();
            return Err(unknown_field_hint(e, &plan.obj_code));
        }
    };
    let tally = source.tally;
    let (size, sha256) = file.commit()?;
    let data = DataFile {
        name: name.clone(),
        size,
        sha256,
    };
    let manifest = Manifest {
        row_count: done.written,
        late_row_count: done.late,
        snapshot: Some(snapshot_run(plan, baseline, &tally, db)),
        ..Manifest::new(
            &plan.api_version,
            plan.series_query(),
            1,
            window,
            format_utc_ms(&query_from),
            data,
            start.chain.last(),
        )
    };
    let committed = CommittedManifest {
        name: manifest_name(&name),
        bytes: manifest.to_bytes(),
    };
    db.commit(&committed)?;
    write_atomic(&plan.out_dir.join(&committed.name), &committed.bytes)?;
    Ok((manifest, tally, done.anomalies))
}

/// A sink writing the out-dir's format, with a `source` column, into the data file.
fn data_sink<'f>(
    plan: &SnapshotPlan,
    file: &'f mut AtomicFile,
    path: &std::path::Path,
) -> Result<Box<dyn crate::output::RecordSink + 'f>> {
    let options = WriteOptions {
        formula_guard: plan.formula_guard,
        about: vec![
            (
                "Source".into(),
                format!("{} objects polled by lastUpdateDate", plan.obj_code),
            ),
            ("Fields".into(), plan.fields.join(", ")),
        ],
        source: true,
        ..WriteOptions::default()
    };
    open_sink(plan.format, file, &options).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Workfront refuses a field it does not know with "does not support field X": say what to do,
/// as a field renamed or removed in Workfront makes every later run fail the same way.
fn unknown_field_hint(e: Error, code: &str) -> Error {
    match e {
        Error::Api {
            path,
            status,
            message,
        } if message.contains("does not support field") => Error::Api {
            path,
            status,
            message: format!(
                "{message}: check --fields (custom fields are DE:<name>); a field renamed or \
                 removed in Workfront since the baseline cannot be compared any more: start \
                 another --out-dir with the fields {code} has now"
            ),
        },
        e => e,
    }
}

fn snapshot_run(plan: &SnapshotPlan, baseline: bool, tally: &Tally, db: &StateDb) -> SnapshotRun {
    let state = db.summary();
    SnapshotRun {
        obj_code: plan.obj_code.clone(),
        fields: plan.fields.clone(),
        baseline,
        objects_fetched: tally.fetched,
        objects_changed: tally.changed,
        objects_created: tally.created,
        objects_joined: tally.joined,
        fields_missing: tally.missing_fields.iter().cloned().collect(),
        deletes_checked: plan.detect_deletes && !baseline,
        objects_deleted: tally.deleted,
        state_file: STATE_DB.into(),
        state_objects: state.objects,
        state_digest: state.digest_hex(),
    }
}
