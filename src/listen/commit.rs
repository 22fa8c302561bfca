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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use crate::deliver::Delivery;
use crate::error::{Error, Result};
use crate::evidence::append::{Appender, DataFileWriter, default_state_path, refuse};
use crate::evidence::delivered::committed_ids;
use crate::evidence::manifest::{Deliveries, Manifest, SeriesKind, SeriesQuery, Window};
use crate::evidence::signing::SigningKey;
use crate::model::date::format_utc_ms;
use crate::model::ids::{IdSet, key};
use crate::output::{Format, WriteOptions, open_sink};
use crate::source::events::DeliveredEvents;

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
    /// The out-dir's appender (its lock held while `listen` runs) and the ids of the recent
    /// committed files, each file read once. Held for a whole commit, so that commits (a
    /// rotation, the one at shutdown) never overlap.
    inner: Arc<Mutex<(Appender, Recent)>>,
    /// The journal's fsynced length, once the writer runs: a commit reads no further (a record
    /// written but not yet durable may still be cut back off).
    durable: Arc<std::sync::OnceLock<Arc<std::sync::atomic::AtomicU64>>>,
    /// The TSAs each commit's manifest is sent to (`--tsa-url`), in fallback order.
    tsa_urls: Arc<[url::Url]>,
}

/// The ids the recent committed files delivered, and which file (by manifest name, with its
/// window end) delivered which, to forget them as they age.
#[derive(Debug, Default)]
struct Recent {
    /// Held compactly (16 bytes an id: `model::ids`), as 49 hours of deliveries may be many.
    ids: IdSet,
    files: BTreeMap<String, (Option<DateTime<Utc>>, Vec<u128>)>,
}

/// What one commit wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub data_file: String,
    pub deliveries: u64,
    pub records: u64,
}

impl Target {
    /// Lock the out-dir for as long as `listen` runs, refusing (exit 2, before the delivery
    /// journal is created) one that holds another kind's series.
    pub fn open(
        out_dir: PathBuf,
        format: Format,
        formula_guard: bool,
        signer: Option<Arc<SigningKey>>,
    ) -> Result<Target> {
        let appender = Appender::open(&out_dir, SeriesKind::Listen)?
            .with_state_file(default_state_path(&out_dir))
            .with_signer(signer);
        Ok(Target {
            out_dir,
            format,
            formula_guard,
            inner: Arc::new(Mutex::new((appender, Recent::default()))),
            durable: Arc::default(),
            tsa_urls: Arc::new([]),
        })
    }

    /// Timestamp each manifest with these TSAs ([`Target::stamp`]).
    pub fn with_tsa_urls(mut self, urls: Vec<url::Url>) -> Target {
        self.tsa_urls = urls.into();
        self
    }

    /// Timestamp every manifest still without one (this commit's, and what a TSA that failed
    /// left before): warnings, never an error. Runs on the committing task, not a
    /// connection's, so no delivery waits for a TSA.
    pub async fn stamp(&self) {
        if self.tsa_urls.is_empty() {
            return;
        }
        match crate::evidence::manifest::load_chain(&self.out_dir) {
            Ok(chain) => {
                let (stamped, warnings) =
                    crate::tsa::stamp_missing(&self.out_dir, &chain, &self.tsa_urls).await;
                if let Some(note) = crate::tsa::stamped_note(stamped) {
                    crate::console::verbose(note);
                }
                for w in warnings {
                    crate::console::warn(w);
                }
            }
            Err(e) => crate::console::warn(format!("no timestamps this commit: {e}")),
        }
    }

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

    /// What `verify` says of the out-dir, before anything is acknowledged: a journal that was
    /// truncated, replaced or deleted since the last commit (its committed ranges no longer
    /// match their manifests), or any other defect, stops `listen` with exit 5.
    pub fn check(&self) -> Result<()> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.load()?;
        inner.0.verdict().map(drop)
    }

    /// Serving (bound, about to acknowledge): from here the out-dir holds evidence and stays,
    /// with its lock file, however the run ends.
    pub fn keep(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.keep();
    }

    /// Commit only what the journal writer has made durable, from now on.
    pub fn follow(&self, durable: Arc<std::sync::atomic::AtomicU64>) {
        let _ = self.durable.set(durable);
    }

    /// How many manifests the out-dir holds.
    pub fn manifests(&self) -> Result<usize> {
        Ok(crate::evidence::manifest::load_chain(&self.out_dir)?.len())
    }

    /// The files and records committed after the first `before` manifests, as the manifests
    /// say (waits for a commit in progress).
    pub fn committed_since(&self, before: usize) -> Result<(u64, u64)> {
        let _commits = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let chain = crate::evidence::manifest::load_chain(&self.out_dir)?;
        let new = chain.get(before..).unwrap_or_default();
        Ok((
            new.len() as u64,
            new.iter().map(|c| c.manifest.row_count).sum(),
        ))
    }

    /// Commit what was journaled since the last commit; `None` when nothing was.
    pub fn commit(&self, now: DateTime<Utc>) -> Result<Option<Commit>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (appender, recent) = &mut *inner;
        let from = appender
            .load()?
            .last()
            .and_then(|c| c.manifest.deliveries.as_ref())
            .map_or(0, |d| d.journal_to);
        // Never build on evidence that `verify` would reject (exit 5 at shutdown; the
        // deliveries stay in the journal).
        appender.verdict()?;
        let path = self.journal();
        let unreadable = |e| Error::io(format!("cannot read {}", path.display()), e);
        let limit = self
            .durable
            .get()
            .map(|d| d.load(std::sync::atomic::Ordering::SeqCst));
        let read = journal::scan_to(&path, from, limit, &mut |_, _| {}).map_err(unreadable)?;
        self.quarantine_damaged(&read.damaged, now)?;
        if read.count == 0 && read.damaged.is_empty() {
            return Ok(None);
        }
        self.recently_delivered(recent, appender, now)?;
        let head = appender.head();
        let window_from = head
            .and_then(|c| c.manifest.window_to())
            .unwrap_or_else(|| first_arrival(read.first_arrival.as_deref()).unwrap_or(now));
        let window_to = now.max(window_from + Duration::milliseconds(1));
        // What a run killed between its data file and its manifest left (the data file, its
        // manifest's signature) goes: its deliveries are in this commit.
        appender.remove_orphans(1, &window_from)?;
        let mut data = appender.create(1, &window_from, &window_to, self.format)?;
        // Streamed from the journal: the bodies are read twice, never held all at once.
        let range = journal::Range::open(&path, from, read.to, read.count).map_err(unreadable)?;
        let source = DeliveredEvents::new(range);
        let (written, late) = match self.write_data(&mut data, source, &recent.ids, &window_from) {
            Ok(rows) => rows,
            Err(e) => {
                data.file.abandon();
                return Err(e);
            }
        };
        let window = Window {
            from: format_utc_ms(&window_from),
            to: format_utc_ms(&window_to),
        };
        let deliveries = Deliveries {
            count: read.count,
            first_arrival: read.first_arrival.clone(),
            last_arrival: read.last_arrival.clone(),
            journal_from: from,
            journal_to: read.to,
            journal_sha256: read.sha256,
        };
        let name = data.name.clone();
        appender.commit(
            data,
            |file, previous| Manifest {
                row_count: written,
                // Events delivered after their window (Workfront retries for 48 hours).
                late_row_count: late,
                deliveries: Some(deliveries),
                ..Manifest::new(
                    "event subscriptions v1",
                    self.query(),
                    1,
                    window.clone(),
                    window.from.clone(),
                    file,
                    previous,
                )
            },
            |_| Ok(()),
        )?;
        Ok(Some(Commit {
            data_file: name,
            deliveries: read.count,
            records: written,
        }))
    }

    /// The data file, through the delivery loop every command writes with (skipping what was
    /// delivered, counting what is late): rows and late rows. Abandoned on error.
    fn write_data(
        &self,
        data: &mut DataFileWriter,
        mut source: DeliveredEvents<journal::Range>,
        delivered: &IdSet,
        window_from: &DateTime<Utc>,
    ) -> Result<(u64, u64)> {
        let options = WriteOptions {
            formula_guard: self.formula_guard,
            about: vec![(
                "Source".into(),
                "Workfront event subscription deliveries".into(),
            )],
            source: true,
            ..WriteOptions::default()
        };
        let path = data.path.clone();
        let done = open_sink(self.format, &mut data.file, &options)
            .map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })
            .and_then(|sink| {
                let delivery =
                    Delivery::new(sink, path).skipping(delivered, format_utc_ms(window_from));
                // The source reads what is in memory: nothing here waits.
                futures::executor::block_on(delivery.run(&mut source, None))
            })?;
        Ok((done.written, done.late))
    }

    /// Whole journal lines that are not records (changed on disk): kept in the quarantine
    /// with a warning, and left out; the commit's journal range still covers their bytes.
    fn quarantine_damaged(&self, damaged: &[journal::Damaged], now: DateTime<Utc>) -> Result<()> {
        for d in damaged {
            let reason = format!(
                "{} at byte {}: {}; left out of the commit",
                journal::JOURNAL,
                d.at,
                d.reason
            );
            journal::quarantine(&self.out_dir, &d.bytes, &reason, &now)
                .map_err(|e| Error::io("cannot write the quarantine", e))?;
            crate::console::warn(format!("{reason} (kept in the quarantine)"));
        }
        Ok(())
    }

    /// The record ids of the committed files of the last [`DEDUPE_HOURS`]. Each file is
    /// checked against its manifest and read once, the first time a commit needs it; files
    /// older than that are forgotten.
    fn recently_delivered(
        &self,
        recent: &mut Recent,
        appender: &Appender,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let since = now - Duration::hours(DEDUPE_HOURS);
        let old = |to: &Option<DateTime<Utc>>| to.is_some_and(|to| to < since);
        let aged: Vec<String> = recent
            .files
            .iter()
            .filter(|(_, (to, _))| old(to))
            .map(|(name, _)| name.clone())
            .collect();
        for name in aged {
            if let Some((_, keys)) = recent.files.remove(&name) {
                keys.into_iter().for_each(|k| recent.ids.remove_key(k));
            }
        }
        for c in appender.chain().iter().rev() {
            let to = c.manifest.window_to();
            if old(&to) {
                break;
            }
            if recent.files.contains_key(&c.name) {
                continue;
            }
            let mut problems = Vec::new();
            let ids = committed_ids(&self.out_dir, c, &mut problems)?;
            refuse(&self.out_dir, problems)?;
            let keys: Vec<u128> = ids.iter().map(|id| key(id)).collect();
            keys.iter().for_each(|k| recent.ids.insert_key(*k));
            recent.files.insert(c.name.clone(), (to, keys));
        }
        Ok(())
    }
}

fn first_arrival(arrived: Option<&str>) -> Option<DateTime<Utc>> {
    arrived
        .and_then(crate::model::date::parse_timestamp)
        .map(|d| d.with_timezone(&Utc))
}
