//! One `sync` run: lock, clean up, find the watermark, fetch `[watermark - lookback, now - lag)`,
//! drop what earlier files delivered, commit one data file and its manifest, update the state.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};

use crate::console;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::model::anomaly::Anomalies;
use crate::model::date::format_utc_ms;
use crate::output::{Format, RecordSink, WriteOptions, open_sink};
use crate::source::{ChangeSource, TimeRange};
use crate::workfront::query::Filters;

use super::files::{AtomicFile, read_dir, write_atomic};
use super::lock::DirLock;
use super::manifest::{
    Committed, DataFile, Manifest, SeriesQuery, Window, data_file_name, load_chain, manifest_name,
    sha256_hex,
};
use super::state::{self, State};
use super::{MANIFEST_SUFFIX, STATE_FILE};

/// A checked sync request.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    pub out_dir: PathBuf,
    pub state_path: PathBuf,
    /// Filters without a window; `since` is the first run's start.
    pub filters: Filters,
    pub format: Format,
    pub formula_guard: bool,
    pub lag: Duration,
    pub lookback: Duration,
    pub new_series: bool,
    /// Check every committed file before appending (`--verify-all`), not only the head.
    pub verify_all: bool,
    /// Let the first run fix filters that match nothing (`--allow-empty`).
    pub allow_empty: bool,
    pub tenant_url: String,
    pub api_version: String,
}

/// What a run committed.
#[derive(Debug)]
pub struct Outcome {
    pub data_file: String,
    /// The data file's SHA-256, as its manifest records it.
    pub sha256: String,
    pub series: u32,
    pub window: Window,
    pub rows: u64,
    pub late_rows: u64,
    pub anomalies: Anomalies,
}

impl SyncPlan {
    pub fn default_state_path(out_dir: &Path) -> PathBuf {
        out_dir.join(STATE_FILE)
    }

    fn series_query(&self) -> SeriesQuery {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        SeriesQuery {
            tenant_url: self.tenant_url.clone(),
            obj_codes: sorted(&self.filters.obj_codes),
            fields: sorted(&self.filters.fields),
            obj_ids: sorted(&self.filters.obj_ids),
            edited_by: sorted(&self.filters.edited_by),
            change_types: sorted(&self.filters.change_types),
            format: self.format.spec().name.to_string(),
            formula_guard: self.formula_guard,
        }
    }
}

/// Everything before the network: lock, cleanup, where the series stands. Holding the
/// returned lock keeps other runs out until the run ends.
pub struct Prepared {
    lock: DirLock,
    chain: Vec<Committed>,
    from: DateTime<Utc>,
    series_start: DateTime<Utc>,
    /// The series this run adds to (or starts).
    series: u32,
}

pub fn prepare(plan: &SyncPlan, now: DateTime<Utc>) -> Result<Option<(Prepared, DateTime<Utc>)>> {
    let lock = DirLock::open_out_dir(&plan.out_dir)?;
    super::manifest::refuse_other_kind(&plan.out_dir, super::manifest::SeriesKind::Sync)?;
    let chain = load_chain(&plan.out_dir)?;
    check_state(plan, &chain)?;
    let (from, series_start, series) = where_the_series_stands(plan, &chain)?;
    remove_orphans(&plan.out_dir, series, &from)?;
    check_evidence(plan, &chain)?;
    let to = (now - chrono::Duration::from_std(plan.lag).unwrap_or_default())
        .duration_trunc(chrono::Duration::milliseconds(1))
        .unwrap_or(now);
    if to <= from {
        console::note(format!(
            "nothing to do: the next window starts at {} and --lag puts its end at {}",
            format_utc_ms(&from),
            format_utc_ms(&to)
        ));
        return Ok(None);
    }
    Ok(Some((
        Prepared {
            lock,
            chain,
            from,
            series_start,
            series,
        },
        to,
    )))
}

/// Where this run starts, where its series started, and which series it is. The next window
/// starts at the newest manifest's end; a run with other filters, format or tenant is refused
/// unless `--new-series`, which starts a new series at `--since` (so its filters get the whole
/// history, not just what comes after the old series' watermark).
fn where_the_series_stands(
    plan: &SyncPlan,
    chain: &[Committed],
) -> Result<(DateTime<Utc>, DateTime<Utc>, u32)> {
    let Some(last) = chain.last() else {
        let since = plan.filters.since.ok_or_else(|| {
            Error::usage(format!(
                "{} holds no series yet: the first sync needs --since <TIME>",
                plan.out_dir.display()
            ))
        })?;
        return Ok((since, since, 1));
    };
    let query = plan.series_query();
    let series = last.manifest.series;
    if last.manifest.query != query {
        if !plan.new_series {
            return Err(Error::usage(format!(
                "{} holds a series with other filters, format or tenant than this run \
                 ({}): use the same ones, another --out-dir, or --new-series to record the change",
                plan.out_dir.display(),
                describe_difference(&last.manifest.query, &query)
            )));
        }
        let since = plan.filters.since.ok_or_else(|| {
            Error::usage(
                "--new-series starts a new series, which needs --since <TIME>: where its \
                 history begins (usually the old series' --since)",
            )
        })?;
        console::note(format!(
            "starting series {} at {} ({})",
            series + 1,
            format_utc_ms(&since),
            describe_difference(&last.manifest.query, &query)
        ));
        return Ok((since, since, series + 1));
    }
    let to = last
        .manifest
        .window_to()
        .ok_or_else(|| Error::usage(format!("{}: unreadable window end", last.name)))?;
    let first = chain
        .iter()
        .find(|c| c.manifest.series == series)
        .unwrap_or(last);
    let start = first.manifest.window_from().unwrap_or(to);
    Ok((to, start, series))
}

/// The state file must agree with the manifests, or be behind them by one interrupted commit.
fn check_state(plan: &SyncPlan, chain: &[Committed]) -> Result<()> {
    let Some(state) = state::load(&plan.state_path)? else {
        if let Some(last) = chain.last() {
            console::note(format!(
                "no state file: continuing from the newest manifest, {}",
                last.name
            ));
        }
        return Ok(());
    };
    let known = chain
        .iter()
        .find(|c| c.name == state.last_manifest && c.sha256 == state.last_manifest_sha256);
    match known {
        Some(c) if chain.last().is_some_and(|last| last.name != c.name) => {
            console::note(
                "the state file was behind the manifests (an interrupted run); it is brought up to date",
            );
            Ok(())
        }
        Some(_) => Ok(()),
        None => Err(Error::Verify {
            dir: plan.out_dir.display().to_string(),
            problems: vec![format!(
                "the state file {} records manifest {}, which is missing or altered: \
                 committed files were removed or edited; run `jrnle-audit verify {}`",
                plan.state_path.display(),
                state.last_manifest,
                plan.out_dir.display()
            )],
        }),
    }
}

/// Refuse to append to evidence that does not hold (exit 5, the problems named). Always: the
/// manifests' hash chain and contiguous windows (the manifests are read anyway), and the newest
/// data file against its manifest; with `--verify-all`, everything `verify` checks.
fn check_evidence(plan: &SyncPlan, chain: &[Committed]) -> Result<()> {
    let mut problems = Vec::new();
    if plan.verify_all {
        problems = super::verify::verify(&plan.out_dir, Some(&plan.state_path))?.problems;
    } else {
        super::verify::check_head(&plan.out_dir, chain, &mut problems);
    }
    refuse_if(plan, problems)
}

/// The error that stops a run on committed evidence that does not hold.
fn refuse_if(plan: &SyncPlan, mut problems: Vec<String>) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    problems.push(format!(
        "nothing was appended; run `jrnle-audit verify {}`",
        plan.out_dir.display()
    ));
    Err(Error::Verify {
        dir: plan.out_dir.display().to_string(),
        problems,
    })
}

/// A data file of `series` whose window starts at the watermark `from` but has no manifest
/// is an interrupted commit: it was never delivered, so it goes.
pub(crate) fn remove_orphans(dir: &Path, series: u32, from: &DateTime<Utc>) -> Result<()> {
    let prefix = format!(
        "{}{}-",
        super::manifest::file_prefix(series),
        super::manifest::compact(from)
    );
    let names = read_dir(dir)?;
    for name in &names {
        let committed = names.contains(&format!("{name}{MANIFEST_SUFFIX}"));
        if name.starts_with(&prefix) && !name.ends_with(MANIFEST_SUFFIX) && !committed {
            std::fs::remove_file(dir.join(name))
                .map_err(|e| Error::io(format!("cannot remove {name}"), e))?;
            console::note(format!(
                "removed {name}, an uncommitted file of an interrupted run"
            ));
        }
    }
    Ok(())
}

fn describe_difference(old: &SeriesQuery, new: &SeriesQuery) -> String {
    let list = |v: &[String]| format!("{v:?}");
    [
        ("tenant", old.tenant_url.clone(), new.tenant_url.clone()),
        ("--obj-code", list(&old.obj_codes), list(&new.obj_codes)),
        ("--field", list(&old.fields), list(&new.fields)),
        ("--obj-id", list(&old.obj_ids), list(&new.obj_ids)),
        ("--edited-by", list(&old.edited_by), list(&new.edited_by)),
        (
            "--change-type",
            list(&old.change_types),
            list(&new.change_types),
        ),
        ("--format", old.format.clone(), new.format.clone()),
        (
            "formula guard",
            old.formula_guard.to_string(),
            new.formula_guard.to_string(),
        ),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .map(|(name, a, b)| format!("{name} was {a}, now {b}"))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Fetch, write and commit one window: `[from, to)` and, for late arrivals, the lookback
/// before it.
pub async fn run(
    plan: &SyncPlan,
    mut prepared: Prepared,
    to: DateTime<Utc>,
    source: &mut dyn ChangeSource,
) -> Result<Outcome> {
    let from = prepared.from;
    let lookback = chrono::Duration::from_std(plan.lookback).unwrap_or_default();
    let query_from = (from - lookback).max(prepared.series_start);
    let window_range = TimeRange {
        since: Some(from),
        until: to,
    };
    let server_count = source.expected(&window_range).await?;
    let delivered = delivered_since(plan, &prepared.chain, prepared.series, &query_from)?;
    let name = data_file_name(prepared.series, &from, &to, plan.format);
    let path = plan.out_dir.join(&name);
    let mut file = AtomicFile::create(&path)?;
    let window = Window {
        from: format_utc_ms(&from),
        to: format_utc_ms(&to),
    };
    let filters = Filters {
        since: Some(from),
        until: to,
        ..plan.filters.clone()
    };
    let about = crate::deliver::about(&plan.tenant_url, &plan.api_version, &filters, server_count);
    let sink = data_sink(plan, &mut file, &path, about)?;
    let range = TimeRange {
        since: Some(query_from),
        ..window_range
    };
    // The first run of a series fixes its filters.
    let first = prepared
        .chain
        .last()
        .is_none_or(|c| c.manifest.series != prepared.series);
    let mut delivery = Delivery::new(sink, path).skipping(&delivered, window.from.clone());
    if first {
        delivery = delivery.watching(&plan.filters);
    }
    let done = delivery.run(source, Some(range)).await?;
    if first && let Err(e) = check_first_run(plan, &done.unseen, &window) {
        file.abandon();
        return Err(e);
    }
    // The data file first, then the manifest: the manifest's arrival is the commit. From
    // here the out-dir holds this run's evidence: it and its lock file stay.
    prepared.lock.keep();
    let (size, sha256) = file.commit()?;
    let manifest = Manifest {
        row_count: done.written,
        late_row_count: done.late,
        server_count,
        ..Manifest::new(
            &plan.api_version,
            plan.series_query(),
            prepared.series,
            window.clone(),
            format_utc_ms(&query_from),
            DataFile {
                name: name.clone(),
                size,
                sha256,
            },
            prepared.chain.last(),
        )
    };
    commit_manifest(plan, &name, &manifest)?;
    Ok(Outcome::committed(&manifest, done))
}

impl Outcome {
    /// What the run that committed `manifest` delivered.
    fn committed(manifest: &Manifest, done: crate::deliver::Delivered) -> Outcome {
        Outcome {
            data_file: manifest.data_file.name.clone(),
            sha256: manifest.data_file.sha256.clone(),
            series: manifest.series,
            window: manifest.window.clone(),
            rows: done.written,
            late_rows: done.late,
            anomalies: done.anomalies,
        }
    }
}

/// The first run fixes the series' filters: a `--field`, `--obj-code` or `--change-type` value
/// that matches nothing in its whole range is refused (most often a typo), unless
/// `--allow-empty` says it is intended.
fn check_first_run(plan: &SyncPlan, unseen: &[(&str, String)], window: &Window) -> Result<()> {
    if unseen.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = unseen
        .iter()
        .map(|(flag, v)| format!("{flag} {v:?}"))
        .collect();
    let what = format!(
        "{} {} nothing in [{}, {})",
        values.join(", "),
        if values.len() == 1 {
            "matches"
        } else {
            "match"
        },
        window.from,
        window.to
    );
    if plan.allow_empty {
        console::warn(format!("{what} (--allow-empty)"));
        return Ok(());
    }
    Err(Error::usage(format!(
        "{what}, and the first run fixes the series' filters: check the spelling \
         (`jrnle-audit fields` lists the fields and object types that have entries), or pass \
         --allow-empty if that is intended; nothing was written"
    )))
}

/// A sink writing the series' format into the data file.
fn data_sink<'a>(
    plan: &SyncPlan,
    file: &'a mut AtomicFile,
    path: &Path,
    about: Vec<(String, String)>,
) -> Result<Box<dyn RecordSink + 'a>> {
    let options = WriteOptions {
        formula_guard: plan.formula_guard,
        about,
        ..WriteOptions::default()
    };
    open_sink(plan.format, file, &options).map_err(|source| Error::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Write the manifest (the commit point), then bring the state file up to date.
fn commit_manifest(plan: &SyncPlan, data_file: &str, manifest: &Manifest) -> Result<()> {
    let manifest_bytes = manifest.to_bytes();
    let manifest_file = manifest_name(data_file);
    write_atomic(&plan.out_dir.join(&manifest_file), &manifest_bytes)?;
    state::save(
        &plan.state_path,
        &State {
            state_version: 1,
            watermark: manifest.window.to.clone(),
            last_manifest: manifest_file,
            last_manifest_sha256: sha256_hex(&manifest_bytes),
        },
    )
}

/// The ids delivered by committed files of `series` whose window reaches past `since`.
fn delivered_since(
    plan: &SyncPlan,
    chain: &[Committed],
    series: u32,
    since: &DateTime<Utc>,
) -> Result<HashSet<String>> {
    let mut ids = HashSet::new();
    for c in chain
        .iter()
        .rev()
        .take_while(|c| c.manifest.series == series)
    {
        if c.manifest.window_to().is_some_and(|to| to <= *since) {
            break;
        }
        let mut problems = Vec::new();
        let delivered = super::verify::committed_ids(&plan.out_dir, c, &mut problems)?;
        refuse_if(plan, problems)?;
        ids.extend(delivered);
    }
    Ok(ids)
}
