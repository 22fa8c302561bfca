//! Turning the deliveries journaled since the last commit into evidence, as `sync` does: one
//! data file of change records (ordered by event time, then id) and its manifest, chained to
//! the one before by SHA-256, so `verify` and `report` read a `listen` out-dir unchanged.
//!
//! Exactly once: where the journal was read up to is recorded in the manifest itself
//! (`deliveries.journal_to`), so a crash before the manifest lands makes the next commit read
//! the same deliveries again, and one after it never does. Workfront delivers at least once
//! (retries for 48 hours, duplicates after a subscription's version changes): a record whose
//! id a committed file of the last 49 hours already holds, or an earlier delivery of the same
//! commit, is left out.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, Result};
use crate::model::change::ChangeRecord;
use crate::model::date::format_utc_ms;
use crate::output::{Format, WriteOptions, open_sink};
use crate::source::events::Delivery;
use crate::sync::files::{AtomicFile, delivered_ids, write_atomic};
use crate::sync::manifest::{
    Committed, DataFile, Deliveries, MANIFEST_VERSION, Manifest, SeriesQuery, Window,
    data_file_name, load_chain, manifest_name, sha256_hex,
};
use crate::sync::state::{self, State};

use super::journal::{self, JOURNAL};

/// How far back committed files are read for ids already delivered: Workfront retries a
/// delivery for 48 hours.
const DEDUPE_HOURS: i64 = 49;

/// Where and how a `listen` out-dir is written.
#[derive(Debug, Clone)]
pub struct Target {
    pub out_dir: PathBuf,
    pub format: Format,
    pub formula_guard: bool,
}

/// What one commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed1 {
    pub data_file: String,
    pub deliveries: u64,
    pub records: u64,
}

impl Target {
    /// The series' query: what the out-dir holds, for `verify`, `report` and a later run.
    fn query(&self) -> SeriesQuery {
        SeriesQuery {
            tenant_url: "event subscription deliveries (listen)".into(),
            obj_codes: Vec::new(),
            fields: Vec::new(),
            obj_ids: Vec::new(),
            edited_by: Vec::new(),
            change_types: Vec::new(),
            format: self.format.spec().name.into(),
            formula_guard: self.formula_guard,
        }
    }

    fn journal(&self) -> PathBuf {
        self.out_dir.join(JOURNAL)
    }

    /// Commit what was journaled since the last commit; `None` when nothing was.
    pub fn commit(&self, now: DateTime<Utc>) -> Result<Option<Committed1>> {
        let chain = load_chain(&self.out_dir)?;
        let from = chain
            .last()
            .and_then(|c| c.manifest.deliveries.as_ref())
            .map_or(0, |d| d.journal_to);
        let read = journal::read_from(&self.journal(), from)
            .map_err(|e| Error::io(format!("cannot read {}", self.journal().display()), e))?;
        let (entries, to) = (read.entries, read.to);
        if entries.is_empty() {
            return Ok(None);
        }
        let mut seen = self.recently_delivered(&chain, now)?;
        let mut records: Vec<ChangeRecord<'static>> = Vec::new();
        for entry in &entries {
            // Bodies were read at the door; one that no longer reads is a damaged journal.
            let delivery = Delivery::parse(&entry.body)
                .map_err(|e| Error::Internal(format!("a journaled delivery does not read: {e}")))?;
            for record in delivery.changes() {
                if seen.insert(record.id.as_deref().unwrap_or_default().to_string()) {
                    records.push(record);
                }
            }
        }
        records.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let window_from = chain
            .last()
            .and_then(|c| c.manifest.window_to())
            .unwrap_or_else(|| first_arrival(&entries).unwrap_or(now));
        let window_to = now.max(window_from + Duration::milliseconds(1));
        let name = data_file_name(1, &window_from, &window_to, self.format);
        let (size, sha256) = self.write_data(&name, &records)?;
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            tool: "jrnle-audit".into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            api_version: "event subscriptions v1".into(),
            query: self.query(),
            series: 1,
            window: Window {
                from: format_utc_ms(&window_from),
                to: format_utc_ms(&window_to),
            },
            lookback_from: format_utc_ms(&window_from),
            row_count: records.len() as u64,
            late_row_count: 0,
            server_count: None,
            data_file: DataFile {
                name: name.clone(),
                size,
                sha256,
            },
            previous_manifest_sha256: chain.last().map(|c| c.sha256.clone()),
            written_at: format_utc_ms(&Utc::now()),
            deliveries: Some(Deliveries {
                count: entries.len() as u64,
                first_arrival: entries.first().map(|e| e.arrived.clone()),
                last_arrival: entries.last().map(|e| e.arrived.clone()),
                journal_from: from,
                journal_to: to,
                journal_sha256: read.sha256,
            }),
        };
        self.write_manifest(&name, &manifest)?;
        Ok(Some(Committed1 {
            data_file: name,
            deliveries: entries.len() as u64,
            records: records.len() as u64,
        }))
    }

    /// The data file, written whole and renamed into place; its size and SHA-256.
    fn write_data(&self, name: &str, records: &[ChangeRecord<'static>]) -> Result<(u64, String)> {
        let path = self.out_dir.join(name);
        let mut file = AtomicFile::create(&path)?;
        let options = WriteOptions {
            formula_guard: self.formula_guard,
            about: vec![(
                "Source".into(),
                "Workfront event subscription deliveries".into(),
            )],
            source: true,
            ..WriteOptions::default()
        };
        let written = (|| {
            let mut sink = open_sink(self.format, &mut file, &options)?;
            for record in records {
                sink.write(record)?;
            }
            sink.finish()
        })();
        if let Err(source) = written {
            file.abandon();
            return Err(Error::Write { path, source });
        }
        file.commit()
    }

    /// The manifest (the commit point), then the state file `sync` and `verify` check.
    fn write_manifest(&self, data_file: &str, manifest: &Manifest) -> Result<()> {
        let bytes = manifest.to_bytes();
        let manifest_file = manifest_name(data_file);
        write_atomic(&self.out_dir.join(&manifest_file), &bytes)?;
        state::save(
            &crate::sync::run::SyncPlan::default_state_path(&self.out_dir),
            &State {
                state_version: 1,
                watermark: manifest.window.to.clone(),
                last_manifest: manifest_file,
                last_manifest_sha256: sha256_hex(&bytes),
            },
        )
    }

    /// The record ids of the committed files of the last [`DEDUPE_HOURS`], each file checked
    /// against its manifest before it is read.
    fn recently_delivered(
        &self,
        chain: &[Committed],
        now: DateTime<Utc>,
    ) -> Result<HashSet<String>> {
        let since = now - Duration::hours(DEDUPE_HOURS);
        let mut ids = HashSet::new();
        for c in chain.iter().rev() {
            if c.manifest.window_to().is_some_and(|to| to < since) {
                break;
            }
            let mut problems = Vec::new();
            crate::sync::verify::check_data_file(&self.out_dir, c, &mut problems);
            if !problems.is_empty() {
                return Err(Error::Verify {
                    dir: self.out_dir.display().to_string(),
                    problems,
                });
            }
            let format = Format::named(&c.manifest.query.format).unwrap_or(Format::Csv);
            ids.extend(delivered_ids(
                &self.out_dir.join(&c.manifest.data_file.name),
                format,
            )?);
        }
        Ok(ids)
    }
}

fn first_arrival(entries: &[journal::Entry]) -> Option<DateTime<Utc>> {
    entries
        .first()
        .and_then(|e| crate::model::date::parse_timestamp(&e.arrived))
        .map(|d| d.with_timezone(&Utc))
}

/// Whether `dir` holds a delivery journal (a `listen` out-dir).
pub fn is_listen_dir(dir: &Path) -> bool {
    dir.join(JOURNAL).exists()
}
