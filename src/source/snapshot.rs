//! Objects polled by `lastUpdateDate` as a [`ChangeSource`] (issue 17, API notes §8): each
//! object updated in the range is fetched through the journal's windowed, counted paging
//! ([`crate::workfront::fetch`] with [`Polled`]), compared with its last known state, and
//! written as one change record per field that differs; the state is updated in the run's
//! transaction (an [`ObjectStore`]: the out-dir's state database), which the run commits with its data file and manifest.
//!
//! What a record holds: `source` `snapshot`; `entry_date` the object's `lastUpdateDate`;
//! `edited_by_id` its `lastUpdatedByID` (the last editor: with several editors between two
//! runs, only the last is known); `change_type` `E`, or `A` for an object created after the
//! baseline (its `entryDate` is after the baseline's end; its fields' values are new values),
//! or `D` for an object the deletion scan no longer finds (one record per field, with the last
//! known value as the old value, dated at the end of the scanned range, no editor: Workfront
//! keeps no trace of when or by whom). Values are typed as event states are
//! ([`super::state`]). The record's `id` is the first 32 hex digits of a SHA-256 of the object
//! type, object, `lastUpdateDate` and field, so the same change found again gets the same id.
//!
//! The first run is a baseline: it stores every object's state and writes no record. An object
//! first seen later but created before the baseline ended (not updated since `--since`, or
//! updated while the baseline ran) joins the state without a record: its earlier values are
//! unknown, so no change can be shown.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::state::{change_values, changed};
use super::{ChangeSource, Description, Receiver, TimeRange};
use crate::console;
use crate::error::Result;
use crate::model::anomaly::AnomalySet;
use crate::model::change::{ChangeRecord, SourceKind};
use crate::model::date::{format_utc_ms, parse_timestamp};
use crate::workfront::client::Client;
use crate::workfront::fetch::fetch;
use crate::workfront::polled::{KeepObject, Polled, PolledObject};
use crate::workfront::query::{MAX_PAGE, Search};

/// One object's stored state: its last update (UTC, milliseconds) and the fields kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub last_update: String,
    pub fields: Map<String, Value>,
    /// The fields as the database holds them (the text the digest is taken over).
    json: String,
}

impl Stored {
    pub fn new(last_update: String, fields: Map<String, Value>) -> Stored {
        let json = Value::Object(fields.clone()).to_string();
        Stored {
            last_update,
            fields,
            json,
        }
    }

    /// A state as a store holds it: the fields' JSON text, kept as it is (the digest is taken
    /// over it); text that is not a JSON object reads as no fields.
    pub fn from_text(last_update: String, json: String) -> Stored {
        let fields = match serde_json::from_str(&json) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Stored {
            last_update,
            fields,
            json,
        }
    }

    /// The fields' JSON text, as stored.
    pub fn text(&self) -> &str {
        &self.json
    }
}

/// Where the diff keeps the last known state of each object: the out-dir's state database
/// (`evidence::state_db`), or, in tests, memory. Changes are within the run's transaction.
pub trait ObjectStore {
    /// An object's stored state.
    fn get(&self, id: &str) -> Result<Option<Stored>>;
    /// Store an object's state, replacing `old` (what [`ObjectStore::get`] gave).
    fn put(&mut self, id: &str, new: &Stored, old: Option<&Stored>) -> Result<()>;
    /// Forget a deleted object.
    fn remove(&mut self, id: &str, old: &Stored) -> Result<()>;
    /// Note an id the deletion scan found.
    fn mark_seen(&mut self, id: &str) -> Result<()>;
    /// The stored ids the deletion scan did not find, in order.
    fn unseen(&mut self) -> Result<Vec<String>>;
}

/// Fields of a fetched object that are not kept in its state: its key and its last update,
/// which the state holds apart.
const NOT_KEPT: [&str; 3] = ["ID", "lastUpdateDate", "lastUpdatedByID"];

/// How many ids one confirming search asks for (well under the URI limit).
const CONFIRM_BATCH: usize = 100;

/// Whether this run is the baseline, or when the baseline ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Baseline,
    After { baseline_end: DateTime<Utc> },
}

/// What a run found, for its manifest and summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub fetched: u64,
    /// Objects with at least one changed field.
    pub changed: u64,
    /// Objects created after the baseline (`A` records).
    pub created: u64,
    /// Objects first seen after the baseline but created before it (no records).
    pub joined: u64,
    pub deleted: u64,
    /// Asked-for fields that an answer did not carry (renamed or removed in Workfront).
    pub missing_fields: BTreeSet<String>,
}

/// The objects of one type, diffed against the state.
pub struct SnapshotSource<'a> {
    client: &'a Client,
    code: String,
    fields: Vec<String>,
    db: &'a mut dyn ObjectStore,
    mode: Mode,
    detect_deletes: bool,
    concurrency: usize,
    progress: indicatif::ProgressBar,
    pub tally: Tally,
}

impl<'a> SnapshotSource<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: &'a Client,
        code: &str,
        fields: &[String],
        db: &'a mut dyn ObjectStore,
        mode: Mode,
        detect_deletes: bool,
        concurrency: usize,
        progress: indicatif::ProgressBar,
    ) -> SnapshotSource<'a> {
        SnapshotSource {
            client,
            code: code.to_string(),
            fields: fields.to_vec(),
            db,
            mode,
            detect_deletes,
            concurrency,
            progress,
            tally: Tally::default(),
        }
    }
}

impl ChangeSource for SnapshotSource<'_> {
    fn describe(&self) -> Description {
        Description {
            kind: SourceKind::Snapshot,
            query: format!(
                "{} objects by lastUpdateDate, fields {}",
                self.code,
                self.fields.join(",")
            ),
        }
    }

    /// Records cannot be counted before the objects are compared (each window of objects is
    /// checked against Workfront's count as it is fetched).
    fn expected<'b>(&'b self, _range: &'b TimeRange) -> LocalBoxFuture<'b, Result<Option<u64>>> {
        super::uncounted()
    }

    fn deliver<'b>(
        &'b mut self,
        range: Option<TimeRange>,
        to: &'b mut dyn Receiver,
    ) -> LocalBoxFuture<'b, Result<u64>> {
        async move {
            let range = range.ok_or_else(|| {
                crate::error::Error::Internal("a snapshot needs a time range".into())
            })?;
            let search = Search {
                object: Polled::new(&self.code, &self.fields),
                since: range.since,
                until: range.until,
            };
            let mut written = 0;
            let mut diff = Diff {
                code: &self.code,
                fields: &self.fields,
                mode: self.mode,
                tally: &mut self.tally,
            };
            let db = &mut *self.db;
            fetch(
                self.client,
                &search,
                self.concurrency,
                &self.progress,
                KeepObject,
                |window: Vec<PolledObject>| {
                    for object in window {
                        written += diff.object(db, object, &mut *to)?;
                    }
                    Ok(())
                },
            )
            .await?;
            diff.warn_missing();
            if self.detect_deletes {
                written += self.deletions(range.until, to).await?;
            }
            Ok(written)
        }
        .boxed_local()
    }
}

impl SnapshotSource<'_> {
    /// The deletion scan: every id of the type (a cheap search of ids and dates only) against
    /// the state. An id missing from the scan is confirmed by asking for it by id (an object
    /// edited while the scan ran can move past it), and only then recorded as deleted.
    async fn deletions(&mut self, until: DateTime<Utc>, to: &mut dyn Receiver) -> Result<u64> {
        let scan = Search {
            object: Polled::ids_only(&self.code),
            since: None,
            until,
        };
        let db = &mut *self.db;
        let hidden = indicatif::ProgressBar::hidden();
        fetch(
            self.client,
            &scan,
            self.concurrency,
            &hidden,
            KeepObject,
            |window: Vec<PolledObject>| {
                for object in window {
                    if let Some(id) = object.text("ID") {
                        db.mark_seen(id)?;
                    }
                }
                Ok(())
            },
        )
        .await?;
        let candidates = db.unseen()?;
        let mut written = 0;
        let when = format_utc_ms(&(until - chrono::Duration::milliseconds(1)));
        for batch in candidates.chunks(CONFIRM_BATCH) {
            let present = self.present(batch).await?;
            for id in batch.iter().filter(|id| !present.contains(*id)) {
                let Some(old) = self.db.get(id)? else {
                    continue;
                };
                for record in deleted_records(&self.code, id, &old, &self.fields, &when) {
                    to.take(record, AnomalySet::default())?;
                    written += 1;
                }
                self.db.remove(id, &old)?;
                self.tally.deleted += 1;
            }
        }
        Ok(written)
    }

    /// Which of `ids` exist: one search by id (`ID_Mod=in`).
    async fn present(&self, ids: &[String]) -> Result<BTreeSet<String>> {
        let object = Polled::ids_only(&self.code);
        let mut params: Vec<(String, String)> = ids
            .iter()
            .map(|id| ("ID".to_string(), id.clone()))
            .collect();
        params.push(("ID_Mod".into(), "in".into()));
        params.push(("fields".into(), "ID".into()));
        params.push(("$$LIMIT".into(), MAX_PAGE.to_string()));
        let found = self.client.search(&object, &params, KeepObject).await?;
        Ok(found
            .iter()
            .filter_map(|o| o.text("ID").map(String::from))
            .collect())
    }
}

/// Comparing fetched objects with the state.
struct Diff<'t> {
    code: &'t str,
    fields: &'t [String],
    mode: Mode,
    tally: &'t mut Tally,
}

impl Diff<'_> {
    /// One fetched object: its records handed on, its state stored. Returns how many records.
    fn object(
        &mut self,
        db: &mut dyn ObjectStore,
        object: PolledObject,
        to: &mut dyn Receiver,
    ) -> Result<u64> {
        let Some(id) = object.text("ID").map(String::from) else {
            return Ok(0);
        };
        self.tally.fetched += 1;
        for f in self.fields {
            if !object.fields.contains_key(f) && self.tally.missing_fields.insert(f.clone()) {
                console::debug(format!("{} {id} came without {f}", self.code));
            }
        }
        let old = db.get(&id)?;
        let new = Stored::new(
            object.last_update().to_string(),
            kept(&object, old.as_ref()),
        );
        let records = match (&old, self.mode) {
            (Some(old), _) if old.last_update > new.last_update => return Ok(0),
            (Some(old), _) if *old == new => return Ok(0),
            (None, Mode::Baseline) => Vec::new(),
            (None, Mode::After { baseline_end }) if !created_after(&object, baseline_end) => {
                self.tally.joined += 1;
                Vec::new()
            }
            (None, Mode::After { .. }) => {
                self.tally.created += 1;
                self.records(&object, &Map::new(), "A")
            }
            (Some(old), _) => self.records(&object, &old.fields, "E"),
        };
        if !records.is_empty() && old.is_some() {
            self.tally.changed += 1;
        }
        let n = records.len() as u64;
        for record in records {
            to.take(record, AnomalySet::default())?;
        }
        db.put(&id, &new, old.as_ref())?;
        Ok(n)
    }

    /// One record per asked-for field whose value differs from `old`'s.
    fn records(
        &self,
        object: &PolledObject,
        old: &Map<String, Value>,
        change_type: &'static str,
    ) -> Vec<ChangeRecord<'static>> {
        let text = |name: &str| object.text(name).map(|s| Cow::Owned(s.to_string()));
        self.fields
            .iter()
            .filter(|f| object.fields.contains_key(*f))
            .filter(|f| changed(old.get(*f), object.fields.get(*f)))
            .map(|f| {
                let (old_value, new_value, value_type) =
                    change_values(old.get(f), object.fields.get(f));
                let id = object.text("ID").unwrap_or("");
                ChangeRecord {
                    id: Some(Cow::Owned(record_id(
                        self.code,
                        id,
                        object.last_update(),
                        f,
                    ))),
                    entry_date: Some(Cow::Owned(object.last_update().to_string())),
                    obj_code: Some(Cow::Owned(self.code.to_string())),
                    obj_id: Some(Cow::Owned(id.to_string())),
                    obj_name: text("name"),
                    field_name: Some(Cow::Owned(f.clone())),
                    custom_field: f.starts_with("DE:"),
                    change_type: Some(Cow::Borrowed(change_type)),
                    value_type,
                    old_value,
                    new_value,
                    edited_by_id: text("lastUpdatedByID"),
                    ..ChangeRecord::empty(SourceKind::Snapshot)
                }
            })
            .collect()
    }

    /// Say once which asked-for fields the answers did not carry.
    fn warn_missing(&self) {
        if !self.tally.missing_fields.is_empty() {
            console::warn(format!(
                "Workfront's answers for {} carried no {}: renamed or removed? Their values \
                 are kept as they were and no change of them is recorded",
                self.code,
                self.tally
                    .missing_fields
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
}

/// The fields of `object` kept in its state: all but its key and last update; an asked-for
/// field the answer did not carry keeps its old value.
fn kept(object: &PolledObject, old: Option<&Stored>) -> Map<String, Value> {
    let mut fields: Map<String, Value> = object
        .fields
        .iter()
        .filter(|(k, _)| !NOT_KEPT.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(old) = old {
        for (k, v) in &old.fields {
            fields.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    fields
}

/// Whether the object was created after `end` (its `entryDate`; unknown counts as after).
fn created_after(object: &PolledObject, end: DateTime<Utc>) -> bool {
    object
        .text("entryDate")
        .and_then(parse_timestamp)
        .is_none_or(|d| d.with_timezone(&Utc) >= end)
}

/// The `D` records of a deleted object: each asked-for field with a value, as its old value.
fn deleted_records(
    code: &str,
    id: &str,
    old: &Stored,
    fields: &[String],
    when: &str,
) -> Vec<ChangeRecord<'static>> {
    let name = old.fields.get("name").and_then(Value::as_str);
    fields
        .iter()
        .filter(|f| changed(old.fields.get(*f), None))
        .map(|f| {
            let (old_value, new_value, value_type) = change_values(old.fields.get(f), None);
            ChangeRecord {
                id: Some(Cow::Owned(record_id(
                    code,
                    id,
                    &format!("deleted {when}"),
                    f,
                ))),
                entry_date: Some(Cow::Owned(when.to_string())),
                obj_code: Some(Cow::Owned(code.to_string())),
                obj_id: Some(Cow::Owned(id.to_string())),
                obj_name: name.map(|n| Cow::Owned(n.to_string())),
                field_name: Some(Cow::Owned(f.clone())),
                custom_field: f.starts_with("DE:"),
                change_type: Some(Cow::Borrowed("D")),
                value_type,
                old_value,
                new_value,
                ..ChangeRecord::empty(SourceKind::Snapshot)
            }
        })
        .collect()
}

/// A record's id (see the module doc).
fn record_id(code: &str, id: &str, when: &str, field: &str) -> String {
    let text = format!("snapshot\u{1f}{code}\u{1f}{id}\u{1f}{when}\u{1f}{field}");
    let digest = Sha256::digest(text.as_bytes());
    crate::digest::hex(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::Value as Cv;
    use serde_json::json;

    struct Collect(Vec<ChangeRecord<'static>>);

    impl Receiver for Collect {
        fn take(&mut self, record: ChangeRecord<'_>, _: AnomalySet) -> Result<()> {
            self.0.push(record.into_owned());
            Ok(())
        }
    }

    /// The state in memory (the state database is tested in `evidence::state_db`).
    #[derive(Default)]
    struct Memory(std::collections::BTreeMap<String, Stored>, BTreeSet<String>);

    impl ObjectStore for Memory {
        fn get(&self, id: &str) -> Result<Option<Stored>> {
            Ok(self.0.get(id).cloned())
        }
        fn put(&mut self, id: &str, new: &Stored, _: Option<&Stored>) -> Result<()> {
            self.0.insert(id.into(), new.clone());
            Ok(())
        }
        fn remove(&mut self, id: &str, _: &Stored) -> Result<()> {
            self.0.remove(id);
            Ok(())
        }
        fn mark_seen(&mut self, id: &str) -> Result<()> {
            self.1.insert(id.into());
            Ok(())
        }
        fn unseen(&mut self) -> Result<Vec<String>> {
            Ok(self
                .0
                .keys()
                .filter(|k| !self.1.contains(*k))
                .cloned()
                .collect())
        }
    }

    fn object(v: Value) -> PolledObject {
        PolledObject::new(v.as_object().unwrap().clone())
    }

    fn run(
        db: &mut dyn ObjectStore,
        mode: Mode,
        objects: Vec<Value>,
    ) -> (Vec<ChangeRecord<'static>>, Tally) {
        let fields = ["status".to_string(), "DE:Risk".to_string()];
        let mut tally = Tally::default();
        let mut diff = Diff {
            code: "TASK",
            fields: &fields,
            mode,
            tally: &mut tally,
        };
        let mut out = Collect(Vec::new());
        for o in objects {
            diff.object(db, object(o), &mut out).unwrap();
        }
        (out.0, tally)
    }

    #[test]
    fn a_baseline_writes_nothing_then_each_changed_field_is_one_record_once() {
        let mut db = Memory::default();
        let t1 = json!({"ID": "a", "name": "Kick-off", "lastUpdateDate": "2025-11-02T01:30:00:123-0600",
                        "lastUpdatedByID": "u1", "entryDate": "2025-01-01T00:00:00:000-0700",
                        "status": "NEW", "DE:Risk": null});
        let (records, tally) = run(&mut db, Mode::Baseline, vec![t1.clone()]);
        assert!(records.is_empty());
        assert_eq!(tally.fetched, 1);
        let baseline_end = "2025-12-01T00:00:00Z".parse().unwrap();
        let after = Mode::After { baseline_end };
        let mut t2 = t1.clone();
        t2["lastUpdateDate"] = json!("2025-12-05T10:00:00:000-0700");
        t2["lastUpdatedByID"] = json!("u2");
        t2["status"] = json!("INP");
        t2["DE:Risk"] = json!(8.0);
        let (records, tally) = run(&mut db, after, vec![t2.clone()]);
        assert_eq!(records.len(), 2, "{records:?}");
        let status = records
            .iter()
            .find(|r| r.field_name.as_deref() == Some("status"))
            .unwrap();
        assert_eq!(status.old_value, Cv::Text("NEW".into()));
        assert_eq!(status.new_value, Cv::Text("INP".into()));
        assert_eq!(
            status.entry_date.as_deref(),
            Some("2025-12-05T17:00:00.000Z")
        );
        assert_eq!(status.edited_by_id.as_deref(), Some("u2"));
        assert_eq!(status.change_type.as_deref(), Some("E"));
        assert_eq!(status.obj_name.as_deref(), Some("Kick-off"));
        assert_eq!(status.source, SourceKind::Snapshot);
        let risk = records.iter().find(|r| r.custom_field).unwrap();
        assert_eq!(
            (&risk.old_value, &risk.new_value),
            (&Cv::Null, &Cv::Number("8".into()))
        );
        assert_eq!(tally.changed, 1);
        // Seen again (the lookback), the object gives nothing.
        let (again, _) = run(&mut db, after, vec![t2]);
        assert!(again.is_empty());
        // An older state than the one stored is not a change back.
        let (stale, _) = run(&mut db, after, vec![t1]);
        assert!(stale.is_empty());
    }

    #[test]
    fn new_objects_are_adds_only_when_created_after_the_baseline() {
        let mut db = Memory::default();
        let baseline_end = "2025-12-01T00:00:00Z".parse().unwrap();
        let old = json!({"ID": "o", "lastUpdateDate": "2025-12-02T00:00:00:000-0700",
                         "entryDate": "2025-06-01T00:00:00:000-0600", "status": "CUR", "DE:Risk": "R1"});
        let new = json!({"ID": "n", "lastUpdateDate": "2025-12-02T00:00:00:000-0700",
                         "entryDate": "2025-12-01T10:00:00:000-0700", "status": "NEW", "DE:Risk": null});
        let (records, tally) = run(&mut db, Mode::After { baseline_end }, vec![old, new]);
        assert_eq!((tally.joined, tally.created), (1, 1));
        assert_eq!(
            records.len(),
            1,
            "null fields of a new object are no change"
        );
        assert_eq!(records[0].change_type.as_deref(), Some("A"));
        assert_eq!(records[0].obj_id.as_deref(), Some("n"));
        assert_eq!(records[0].old_value, Cv::Null);
    }

    #[test]
    fn a_field_missing_from_the_answer_is_no_change_and_keeps_its_value() {
        let mut db = Memory::default();
        let t1 = json!({"ID": "a", "lastUpdateDate": "2025-11-02T01:30:00:123-0600", "status": "NEW", "DE:Risk": "R1"});
        run(&mut db, Mode::Baseline, vec![t1]);
        let t2 =
            json!({"ID": "a", "lastUpdateDate": "2025-11-03T01:30:00:123-0700", "status": "INP"});
        let baseline_end = "2025-11-03T00:00:00Z".parse().unwrap();
        let (records, tally) = run(&mut db, Mode::After { baseline_end }, vec![t2]);
        assert_eq!(records.len(), 1);
        assert!(tally.missing_fields.contains("DE:Risk"));
        assert_eq!(db.get("a").unwrap().unwrap().fields["DE:Risk"], json!("R1"));
    }

    #[test]
    fn a_deleted_object_gives_a_delete_per_field_with_a_value() {
        let fields = json!({"name": "T", "status": "CPL", "DE:Risk": null});
        let stored = Stored::new("x".into(), fields.as_object().unwrap().clone());
        let fields = ["status".to_string(), "DE:Risk".to_string()];
        let records = deleted_records("TASK", "a", &stored, &fields, "2025-12-01T00:00:00.000Z");
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].change_type.as_deref(), Some("D"));
        assert_eq!(records[0].old_value, Cv::Text("CPL".into()));
        assert_eq!(records[0].new_value, Cv::Null);
        assert_eq!(records[0].obj_name.as_deref(), Some("T"));
    }
}
