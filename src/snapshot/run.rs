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
use crate::evidence::STATE_DB;
use crate::evidence::append::{Appender, DataFileWriter};
use crate::evidence::files::write_atomic;
use crate::evidence::manifest::{
    Committed, Manifest, SeriesKind, SeriesQuery, SnapshotRun, Window,
};
use crate::evidence::state_db::StateDb;
use crate::evidence::verify::snapshot::rolls_forward;
use crate::model::anomaly::Anomalies;
use crate::model::date::format_utc_ms;
use crate::output::{Format, WriteOptions, open_sink};
use crate::source::TimeRange;
use crate::source::snapshot::{Mode, SnapshotSource, Tally};
use crate::workfront::client::Client;

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
    /// The key each manifest is signed with, when the run signs.
    pub signer: Option<std::sync::Arc<crate::evidence::signing::SigningKey>>,
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

/// Where the out-dir stands: where this run starts, the baseline's window, and how it runs.
struct Start {
    from: DateTime<Utc>,
    /// The first manifest's window start (the lookback never reaches before it).
    series_from: Option<DateTime<Utc>>,
    mode: Mode,
}

/// One run, committed; `None` when the lag leaves nothing to fetch yet.
pub async fn run(
    plan: &SnapshotPlan,
    client: &Client,
    now: DateTime<Utc>,
    progress: indicatif::ProgressBar,
) -> Result<Option<Outcome>> {
    let mut appender =
        Appender::open(&plan.out_dir, SeriesKind::Snapshot)?.with_signer(plan.signer.clone());
    // Created only once the out-dir is known to be a snapshot's (or new); removed again if
    // this run created it and commits nothing (never one that was there before it).
    let created = std::fs::symlink_metadata(plan.out_dir.join(STATE_DB)).is_err();
    let baseline_db = Cleanup(&plan.out_dir, created);
    let mut db = StateDb::open(&plan.out_dir)?;
    appender.load()?;
    if roll_forward(plan, &db, appender.head())? {
        appender.load()?;
    }
    let start = where_it_stands(plan, &appender)?;
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
    appender.remove_orphans(1, &start.from)?;
    db.begin()?;
    let written = write_and_commit(plan, client, &mut appender, &mut db, &start, to, progress);
    let (manifest, tally, anomalies) = written.await?;
    baseline_db.committed();
    Ok(Some(Outcome {
        manifest,
        tally,
        anomalies,
    }))
}

/// A baseline that ends without a commit leaves the out-dir as it found it: the state
/// database it created goes (after the connection closes: declared before it, dropped after).
struct Cleanup<'a>(&'a std::path::Path, bool);

impl Cleanup<'_> {
    fn committed(mut self) {
        self.1 = false;
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.1 {
            for name in [STATE_DB.to_string(), format!("{STATE_DB}-journal")] {
                let _ = std::fs::remove_file(self.0.join(name));
            }
        }
    }
}

/// A run killed after its commit but before its manifest file was written: the manifest is
/// in the database, and is written now, if it is one such a run leaves (see
/// `verify::snapshot::rolls_forward`); any other is left for the verdict to refuse.
fn roll_forward(
    plan: &SnapshotPlan,
    db: &StateDb,
    head: Option<&crate::evidence::manifest::Committed>,
) -> Result<bool> {
    let Some(m) = db.committed_manifest()? else {
        return Ok(false);
    };
    if head.is_some_and(|h| h.name == m.name) || rolls_forward(&plan.out_dir, &m, head).is_none() {
        return Ok(false);
    }
    write_atomic(&plan.out_dir.join(&m.name), &m.bytes)?;
    console::note(format!(
        "wrote {}, the manifest of a run interrupted just after its commit",
        m.name
    ));
    Ok(true)
}

/// Where this run starts: the newest window's end, or (baseline) `--since`. What `verify`
/// would reject (the chain, every file, the state against its manifest and digest) refuses
/// the run (exit 5); so does a run with another object type, fields, format or tenant.
fn where_it_stands(plan: &SnapshotPlan, appender: &Appender) -> Result<Start> {
    crate::evidence::append::say_interrupted(&appender.verdict()?);
    let chain = appender.chain();
    let Some(head) = chain.last() else {
        return Ok(Start {
            from: plan.since.unwrap_or(DateTime::UNIX_EPOCH),
            series_from: None,
            mode: Mode::Baseline,
        });
    };
    check_same_series(plan, &head.manifest)?;
    let end = |c: &Committed| {
        c.manifest.window_to().ok_or_else(|| Error::Verify {
            dir: plan.out_dir.display().to_string(),
            problems: vec![format!("{}: unreadable window end", c.name)],
        })
    };
    Ok(Start {
        from: end(head)?,
        series_from: chain[0].manifest.window_from(),
        mode: Mode::After {
            baseline_end: end(&chain[0])?,
        },
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
    appender: &mut Appender,
    db: &mut StateDb,
    start: &Start,
    to: DateTime<Utc>,
    progress: indicatif::ProgressBar,
) -> Result<(Manifest, Tally, Anomalies)> {
    let baseline = start.mode == Mode::Baseline;
    let lookback = chrono::Duration::from_std(plan.lookback).unwrap_or_default();
    let query_from = match start.series_from {
        Some(series_from) if !baseline => (start.from - lookback).max(series_from),
        _ => start.from,
    };
    let mut data = appender.create(1, &start.from, &to, plan.format)?;
    let window = Window {
        from: format_utc_ms(&start.from),
        to: format_utc_ms(&to),
    };
    let path = data.path.clone();
    let sink = data_sink(plan, &mut data)?;
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
            data.file.abandon();
            return Err(unknown_field_hint(e, &plan.obj_code));
        }
    };
    let tally = source.tally;
    let run = snapshot_run(plan, baseline, &tally, db);
    let manifest = appender.commit(
        data,
        |file, previous| Manifest {
            row_count: done.written,
            late_row_count: done.late,
            snapshot: Some(run),
            ..Manifest::new(
                &plan.api_version,
                plan.series_query(),
                1,
                window,
                format_utc_ms(&query_from),
                file,
                previous,
            )
        },
        |committed| db.commit(committed),
    )?;
    Ok((manifest, tally, done.anomalies))
}

/// A sink writing the out-dir's format, with a `source` column, into the data file.
fn data_sink<'f>(
    plan: &SnapshotPlan,
    data: &'f mut DataFileWriter,
) -> Result<Box<dyn crate::output::RecordSink + 'f>> {
    let options = WriteOptions {
        formula_guard: plan.formula_guard,
        about: vec![
            (
                "Source".into(),
                format!("{} objects polled by lastUpdateDate", plan.obj_code).into(),
            ),
            ("Fields".into(), plan.fields.join(", ").into()),
        ],
        source: true,
        ..WriteOptions::default()
    };
    open_sink(plan.format, &mut data.file, &options).map_err(|source| Error::Write {
        path: data.path.clone(),
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
