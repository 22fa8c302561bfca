//! One `sync` run: lock, clean up, find the watermark, fetch `[watermark - lookback, now - lag)`,
//! drop what earlier files delivered, commit one data file and its manifest, update the state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};

use crate::console;
use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::model::anomaly::Anomalies;
use crate::model::date::format_utc_ms;
use crate::model::ids::IdSet;
use crate::output::{Format, RecordSink, WriteOptions, open_sink};
use crate::source::{ChangeSource, TimeRange};
use crate::workfront::query::Filters;

use crate::evidence::append::{
    Appender, DataFileWriter, default_state_path, refuse, say_interrupted,
};
use crate::evidence::delivered::committed_ids;
use crate::evidence::manifest::{Committed, Manifest, SeriesKind, SeriesQuery, Window};

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
    /// The key each manifest is signed with, when the run signs.
    pub signer: Option<std::sync::Arc<crate::evidence::signing::SigningKey>>,
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
    /// The series' new head (`verify --print-head`).
    pub head: crate::evidence::manifest::Head,
}

impl SyncPlan {
    pub fn default_state_path(out_dir: &Path) -> PathBuf {
        default_state_path(out_dir)
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

/// Everything before the network: lock, where the series stands, the verdict on what it
/// builds on. Holding the returned appender keeps other runs out until the run ends.
pub struct Prepared {
    appender: Appender,
    from: DateTime<Utc>,
    series_start: DateTime<Utc>,
    /// The series this run adds to (or starts).
    series: u32,
}

pub fn prepare(plan: &SyncPlan, now: DateTime<Utc>) -> Result<Option<(Prepared, DateTime<Utc>)>> {
    let mut appender = Appender::open(&plan.out_dir, SeriesKind::Sync)?
        .with_state_file(plan.state_path.clone())
        .with_signer(plan.signer.clone());
    let chain = appender.load()?;
    if let Some(last) = chain.last()
        && !plan.state_path.exists()
    {
        console::note(format!(
            "no state file: continuing from the newest manifest, {}",
            last.name
        ));
    }
    // The one verdict: what `verify` would reject, this run does not build on (exit 5).
    say_interrupted(&appender.verdict()?);
    let (from, series_start, series) = where_the_series_stands(plan, appender.chain())?;
    appender.remove_orphans(series, &from)?;
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
            appender,
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
    let to = last.manifest.window_to().ok_or_else(|| Error::Verify {
        dir: plan.out_dir.display().to_string(),
        problems: vec![format!("{}: unreadable window end", last.name)],
    })?;
    let first = chain
        .iter()
        .find(|c| c.manifest.series == series)
        .unwrap_or(last);
    let start = first.manifest.window_from().unwrap_or(to);
    Ok((to, start, series))
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
    let (from, series) = (prepared.from, prepared.series);
    let lookback = chrono::Duration::from_std(plan.lookback).unwrap_or_default();
    let query_from = (from - lookback).max(prepared.series_start);
    let window_range = TimeRange {
        since: Some(from),
        until: to,
    };
    let server_count = source.expected(&window_range).await?;
    let appender = &mut prepared.appender;
    let delivered = delivered_since(appender, series, &query_from)?;
    let mut data = appender.create(series, &from, &to, plan.format)?;
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
    let path = data.path.clone();
    let sink = data_sink(plan, &mut data, about)?;
    let range = TimeRange {
        since: Some(query_from),
        ..window_range
    };
    // The first run of a series fixes its filters.
    let first = appender.head().is_none_or(|c| c.manifest.series != series);
    let mut delivery = Delivery::new(sink, path).skipping(&delivered, window.from.clone());
    if first {
        delivery = delivery.watching(&plan.filters);
    }
    let done = delivery.run(source, Some(range)).await?;
    if first && let Err(e) = check_first_run(plan, &done.unseen, &window) {
        data.file.abandon();
        return Err(e);
    }
    let manifest = appender.commit(
        data,
        |file, previous| Manifest {
            row_count: done.written,
            late_row_count: done.late,
            server_count,
            ..Manifest::new(
                &plan.api_version,
                plan.series_query(),
                series,
                window,
                format_utc_ms(&query_from),
                file,
                previous,
            )
        },
        |_| Ok(()),
    )?;
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
            head: crate::evidence::manifest::Head::of(manifest),
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
    data: &'a mut DataFileWriter,
    about: Vec<(String, crate::output::Fact)>,
) -> Result<Box<dyn RecordSink + 'a>> {
    let options = WriteOptions {
        formula_guard: plan.formula_guard,
        about,
        ..WriteOptions::default()
    };
    open_sink(plan.format, &mut data.file, &options).map_err(|source| Error::Write {
        path: data.path.clone(),
        source,
    })
}

/// The ids delivered by committed files of `series` whose window reaches past `since`.
fn delivered_since(appender: &Appender, series: u32, since: &DateTime<Utc>) -> Result<IdSet> {
    let mut ids = IdSet::default();
    for c in appender
        .chain()
        .iter()
        .rev()
        .take_while(|c| c.manifest.series == series)
    {
        if c.manifest.window_to().is_some_and(|to| to <= *since) {
            break;
        }
        let mut problems = Vec::new();
        let delivered = committed_ids(appender.dir(), c, &mut problems)?;
        refuse(appender.dir(), problems)?;
        delivered.iter().for_each(|id| {
            ids.insert(id);
        });
    }
    Ok(ids)
}
