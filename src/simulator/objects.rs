//! The business objects the simulator serves for polling by `lastUpdateDate` (API notes §8):
//! tasks, projects and issues (`TASK`, `PROJ`, `OPTASK`), each with its current state.
//!
//! The state agrees with the journal: every journal entry on a tracked field of an object sets
//! that field to the entry's new value and moves the object's `lastUpdateDate` (and
//! `lastUpdatedByID`) to the entry's. Three fields are not tracked and change without a
//! journal entry (`percentComplete`, `condition`, `DE:Risk`), as calculated or untracked custom
//! fields do in Workfront. With `--grow-rate`, objects are edited live: each journaled change
//! edits an existing object (its old value is the object's value, so journal and state chain),
//! and untracked edits, new objects and deletions happen beside them. A deletion journals
//! nothing here (as for a deleted project in Workfront) and removes the object from searches.
//! Every state change is kept in [`Objects::history`], so tests can compare what a client made
//! of the objects with what happened.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::store::{Entry, FieldDef, Kind, Schema, SimValue, date_of, stored_order};
use crate::input::RawRecord;
use crate::rng::SplitMix64;

const fn field(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        name,
        kind,
        filterable: true,
    }
}

/// The fields of a task or an issue. `objCode` can be asked for, not filtered on.
const WORK_ITEM_FIELDS: &[FieldDef] = &[
    field("ID", Kind::Id),
    FieldDef {
        name: "objCode",
        kind: Kind::Text,
        filterable: false,
    },
    field("name", Kind::Text),
    field("entryDate", Kind::Date),
    field("lastUpdateDate", Kind::Date),
    field("lastUpdatedByID", Kind::Id),
    field("status", Kind::Text),
    field("percentComplete", Kind::Number),
    field("plannedCompletionDate", Kind::Date),
    field("ownerID", Kind::Id),
    field("work", Kind::Number),
    field("condition", Kind::Text),
    field("DE:Budget Code", Kind::Text),
    field("DE:Cost", Kind::Number),
    field("DE:Risk", Kind::Text),
    field("projectID", Kind::Id),
];

/// A project's fields: a work item's without `projectID`.
const PROJECT_FIELDS: &[FieldDef] = WORK_ITEM_FIELDS.split_at(15).0;

const DEFAULT_FIELDS: &[&str] = &["ID", "objCode", "name", "lastUpdateDate"];
const LAST_UPDATE_DATE: usize = 4;
const LAST_UPDATED_BY_ID: usize = 5;
const PROJECT_ID: usize = 15;

const fn schema(obj_code: &'static str, name: &'static str, fields: &'static [FieldDef]) -> Schema {
    Schema {
        obj_code,
        name,
        fields,
        id: 0,
        obj_code_field: 1,
        date: LAST_UPDATE_DATE,
        editor: None,
        default_fields: DEFAULT_FIELDS,
    }
}

pub static TASK: Schema = schema("TASK", "Task", WORK_ITEM_FIELDS);
pub static PROJ: Schema = schema("PROJ", "Project", PROJECT_FIELDS);
pub static OPTASK: Schema = schema("OPTASK", "Issue", WORK_ITEM_FIELDS);

/// The object types served, in the order [`Objects`] keeps them.
pub static SCHEMAS: [&Schema; 3] = [&TASK, &PROJ, &OPTASK];

/// The fields that change without a journal entry.
pub const UNTRACKED: [&str; 3] = ["percentComplete", "condition", "DE:Risk"];

/// The schema of an object code in a path (any case), if the simulator serves it.
pub fn schema_of(code: &str) -> Option<&'static Schema> {
    SCHEMAS
        .iter()
        .copied()
        .find(|s| s.obj_code.eq_ignore_ascii_case(code))
}

/// One change of an object's state: a field set to a value (as the API renders it, in the
/// tenant's zone), or the object deleted (`field: None`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectChange {
    /// The object's `lastUpdateDate` after the change (for a deletion, when it happened).
    pub at: DateTime<Utc>,
    pub obj_code: &'static str,
    pub id: String,
    pub field: Option<&'static str>,
    pub value: SimValue,
}

/// Every object's current state, per type, in the stored order `(lastUpdateDate, ID)`.
#[derive(Debug, Default)]
pub struct Objects {
    by_type: [Vec<Entry>; 3],
    pub history: Vec<ObjectChange>,
}

impl Objects {
    /// The objects the journal entries (in stored order) name, in the state the entries leave
    /// them in, plus untracked values and edits drawn from `seed`.
    pub fn from_journal(entries: &[Entry], seed: u64) -> Objects {
        let mut rng = SplitMix64::new(seed ^ 0x0B1E);
        let mut found: HashMap<(usize, String), Entry> = HashMap::new();
        let mut history = Vec::new();
        for e in entries {
            let Some((t, id)) = target(e) else { continue };
            let object = found.entry((t, id.clone())).or_insert_with(|| {
                let object = new_object(SCHEMAS[t], &id, e, &mut rng);
                created(&object, &mut history);
                object
            });
            apply(object, e, false, &mut history);
        }
        let mut objects = Objects {
            history,
            ..Objects::default()
        };
        let mut keys: Vec<_> = found.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let Some(mut object) = found.remove(&key) else {
                continue;
            };
            // A third of the objects had an untracked field edited after their last entry.
            if rng.below(3) == 0 {
                let at = date_of(&object).unwrap_or_default()
                    + Duration::minutes(1 + rng.below(48 * 60) as i64);
                untracked_edit(&mut object, at, &mut rng, &mut objects.history);
            }
            objects.by_type[key.0].push(object);
        }
        for list in &mut objects.by_type {
            list.sort_by(stored_order);
        }
        objects
    }

    /// `n` more tasks that no journal entry names (their tracked fields unchanged since
    /// tracking began), last updated over the year before `end`: a tenant's size for scale
    /// tests and benchmarks.
    pub fn add_tasks(&mut self, n: usize, end: DateTime<Utc>, seed: u64) {
        let mut rng = SplitMix64::new(seed ^ 0x7A5C);
        let list = &mut self.by_type[0];
        list.reserve(n);
        let year_ms = 365 * 24 * 3600 * 1000;
        for i in 0..n {
            let mut raw = RawRecord::new();
            raw.insert("ID".into(), Value::String(rng.id()));
            raw.insert("name".into(), Value::String(format!("Generated task {i}")));
            raw.insert("status".into(), Value::String("NEW".into()));
            let mut object = Entry::from_raw_in(&TASK, &raw);
            let updated = end - Duration::milliseconds(1 + rng.below(year_ms) as i64);
            object.values[3] = SimValue::Date(updated - Duration::days(1));
            object.values[LAST_UPDATE_DATE] = SimValue::Date(updated);
            object.values[7] = SimValue::Number(serde_json::Number::from(rng.below(101)));
            list.push(object);
        }
        list.sort_by(stored_order);
    }

    /// Edit an untracked field of the `n` least recently updated objects of `schema`, now: a
    /// bulk change of known size (for request-count tests).
    pub fn edit_oldest(&mut self, schema: &Schema, n: usize, rng: &mut SplitMix64) {
        let Some(t) = SCHEMAS.iter().position(|s| *s == schema) else {
            return;
        };
        let n = n.min(self.by_type[t].len());
        let now = Utc::now();
        let edited: Vec<Entry> = self.by_type[t].drain(..n).collect();
        for mut object in edited {
            untracked_edit(&mut object, now, rng, &mut self.history);
            self.put(t, object);
        }
    }

    /// The objects of a type, in the stored order.
    pub fn of(&self, schema: &Schema) -> &[Entry] {
        SCHEMAS
            .iter()
            .position(|s| *s == schema)
            .map_or(&[], |t| &self.by_type[t])
    }

    /// How many objects there are, of every type.
    pub fn len(&self) -> usize {
        self.by_type.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A journal entry made live: it edits an existing object (nine times in ten) or creates
    /// one; its old value is set to the object's value, so journal and state chain. Returns
    /// the entry to journal.
    pub fn journal_edit(
        &mut self,
        mut raw: RawRecord,
        zone: &chrono_tz::Tz,
        rng: &mut SplitMix64,
    ) -> RawRecord {
        let code = raw.get("objObjCode").and_then(Value::as_str).unwrap_or("");
        let t = SCHEMAS.iter().position(|s| s.obj_code == code).unwrap_or(0);
        let picked = (!self.by_type[t].is_empty() && rng.below(10) != 0)
            .then(|| rng.below(self.by_type[t].len() as u64) as usize);
        if let Some(i) = picked {
            let object = &self.by_type[t][i];
            let text = |f: usize| {
                object.values[f]
                    .as_text()
                    .map_or(Value::Null, Value::String)
            };
            raw.insert("objID".into(), text(0));
            raw.insert("referenceObjectName".into(), text(2));
            if t != 1 {
                raw.insert("topObjID".into(), text(PROJECT_ID));
            }
            set_old_value(&mut raw, object, zone);
        }
        let mut entry = Entry::from_raw(&raw);
        if let Some((t, id)) = target(&entry) {
            // The object picked is where it was picked; another is looked up by its id, and
            // if it exists, its value is the entry's old value too: journal and state chain.
            let existing = match picked {
                Some(i) => Some(self.by_type[t].remove(i)),
                None => self.take(t, &id).inspect(|object| {
                    set_old_value(&mut raw, object, zone);
                    entry = Entry::from_raw(&raw);
                }),
            };
            let mut object = match existing {
                Some(object) => object,
                None => {
                    // Created now, by this change.
                    let mut object = new_object(SCHEMAS[t], &id, &entry, rng);
                    if let Some(at) = date_of(&entry) {
                        object.values[3] = SimValue::Date(at);
                        object.values[LAST_UPDATE_DATE] = SimValue::Date(at);
                    }
                    created(&object, &mut self.history);
                    object
                }
            };
            apply(&mut object, &entry, true, &mut self.history);
            self.put(t, object);
        }
        raw
    }

    /// An edit no journal entry records: an untracked field of a random object changed at
    /// `at`; or, one time in eight, an object deleted.
    pub fn untracked_change(&mut self, at: DateTime<Utc>, rng: &mut SplitMix64) {
        let t = rng.below(3) as usize;
        if self.by_type[t].is_empty() {
            return;
        }
        let i = rng.below(self.by_type[t].len() as u64) as usize;
        let mut object = self.by_type[t].remove(i);
        if rng.below(8) == 0 {
            self.history.push(ObjectChange {
                at,
                obj_code: SCHEMAS[t].obj_code,
                id: object.id().unwrap_or_default(),
                field: None,
                value: SimValue::Null,
            });
            return;
        }
        untracked_edit(&mut object, at, rng, &mut self.history);
        self.put(t, object);
    }

    fn take(&mut self, t: usize, id: &str) -> Option<Entry> {
        let list = &mut self.by_type[t];
        let i = list.iter().position(|o| o.id().as_deref() == Some(id))?;
        Some(list.remove(i))
    }

    fn put(&mut self, t: usize, object: Entry) {
        let list = &mut self.by_type[t];
        let at = list.partition_point(|o| stored_order(o, &object).is_lt());
        list.insert(at, object);
    }
}

/// The object a journal entry changed: its type (index in [`SCHEMAS`]) and id.
fn target(e: &Entry) -> Option<(usize, String)> {
    let index = |name| super::store::field_index(name).unwrap_or(0);
    let code = e.get(index("objObjCode")).as_text()?;
    let t = SCHEMAS.iter().position(|s| s.obj_code == code)?;
    Some((t, e.get(index("objID")).as_text()?))
}

/// An object first named by journal entry `e`: its name, project and creation from the entry,
/// untracked fields drawn from `rng`.
fn new_object(schema: &'static Schema, id: &str, e: &Entry, rng: &mut SplitMix64) -> Entry {
    let index = |name| super::store::field_index(name).unwrap_or(0);
    let mut raw = RawRecord::new();
    raw.insert("ID".into(), Value::String(id.into()));
    if let Some(name) = e.get(index("referenceObjectName")).as_text() {
        raw.insert("name".into(), Value::String(name));
    }
    if let Some(project) = e.get(index("topObjID")).as_text() {
        raw.insert("projectID".into(), Value::String(project));
    }
    let mut object = Entry::from_raw_in(schema, &raw);
    if let Some(at) = date_of(e) {
        let created = at - Duration::days(1 + rng.below(60) as i64);
        object.values[3] = SimValue::Date(created);
        object.values[LAST_UPDATE_DATE] = SimValue::Date(created);
    }
    object.values[7] = SimValue::Number(serde_json::Number::from(rng.below(5) * 25));
    object.values[11] =
        SimValue::Text(["ON_TARGET", "AT_RISK", "IN_TROUBLE"][rng.below(3) as usize].into());
    object
}

/// The history of a new object: each field it was created with a value.
fn created(object: &Entry, history: &mut Vec<ObjectChange>) {
    let at = date_of(object).unwrap_or_default();
    for (f, def) in object.schema.fields.iter().enumerate() {
        let key = f <= 1 || f == 3 || f == LAST_UPDATE_DATE || f == LAST_UPDATED_BY_ID;
        if !key && object.values[f] != SimValue::Null {
            history.push(ObjectChange {
                at,
                obj_code: object.schema.obj_code,
                id: object.id().unwrap_or_default(),
                field: Some(def.name),
                value: object.values[f].clone(),
            });
        }
    }
}

/// Journal entry `e` applied to its object: the tracked field it changed set to its new value,
/// and the object's last update moved to the entry's.
fn apply(object: &mut Entry, e: &Entry, live: bool, history: &mut Vec<ObjectChange>) {
    let index = |name| super::store::field_index(name).unwrap_or(0);
    let Some(at) = date_of(e) else { return };
    let field = e
        .get(index("fieldName"))
        .as_text()
        .and_then(|f| object.schema.index(&f))
        .filter(|&f| {
            f >= 2 && f != LAST_UPDATE_DATE && !UNTRACKED.contains(&object.schema.fields[f].name)
        });
    let editor = e.get(index("editedByID")).clone();
    if live {
        touch(object, at, editor);
    } else if date_of(object).is_none_or(|d| d <= at) {
        // Building from the journal: the object's last update is its latest entry's.
        object.values[LAST_UPDATE_DATE] = SimValue::Date(at);
        object.values[LAST_UPDATED_BY_ID] = editor;
    }
    if let Some(f) = field {
        let new = match object.schema.fields[f].kind {
            Kind::Number => "newNumberVal",
            Kind::Date => "newDateVal",
            Kind::Id | Kind::Text => "newTextVal",
        };
        object.values[f] = e.get(index(new)).clone();
        history.push(ObjectChange {
            at: date_of(object).unwrap_or(at),
            obj_code: object.schema.obj_code,
            id: object.id().unwrap_or_default(),
            field: Some(object.schema.fields[f].name),
            value: object.values[f].clone(),
        });
    }
}

/// An object updated live at `at` by `editor`: its `lastUpdateDate` moves forward with every
/// update, at least a millisecond (an update is dated when it commits; the journal entry's
/// instant can be a little earlier), so polling by it never misses one.
fn touch(object: &mut Entry, at: DateTime<Utc>, editor: SimValue) {
    // Workfront's dates have millisecond precision.
    use chrono::DurationRound;
    let at = at.duration_trunc(Duration::milliseconds(1)).unwrap_or(at);
    let after = date_of(object).map_or(at, |d| d + Duration::milliseconds(1));
    object.values[LAST_UPDATE_DATE] = SimValue::Date(at.max(after));
    object.values[LAST_UPDATED_BY_ID] = editor;
}

/// The entry's old value made the object's current value of the entry's field.
fn set_old_value(raw: &mut RawRecord, object: &Entry, zone: &chrono_tz::Tz) {
    let Some(f) = raw
        .get("fieldName")
        .and_then(Value::as_str)
        .and_then(|f| object.schema.index(f))
    else {
        return;
    };
    let value = match &object.values[f] {
        SimValue::Null => Value::Null,
        SimValue::Text(t) => Value::String(t.clone()),
        SimValue::Number(n) => Value::Number(n.clone()),
        SimValue::Date(d) => Value::String(crate::model::date::format_workfront(d, zone)),
        SimValue::Raw(v) => v.clone(),
    };
    for old in ["oldTextVal", "oldNumberVal", "oldDateVal"] {
        raw.insert(old.into(), Value::Null);
    }
    let old = match object.schema.fields[f].kind {
        Kind::Number => "oldNumberVal",
        Kind::Date => "oldDateVal",
        Kind::Id | Kind::Text => "oldTextVal",
    };
    raw.insert(old.into(), value);
}

/// One untracked field of `object` changed at `at` by a random user.
fn untracked_edit(
    object: &mut Entry,
    at: DateTime<Utc>,
    rng: &mut SplitMix64,
    history: &mut Vec<ObjectChange>,
) {
    let name = UNTRACKED[rng.below(UNTRACKED.len() as u64) as usize];
    let Some(f) = object.schema.index(name) else {
        return;
    };
    object.values[f] = match name {
        "percentComplete" => SimValue::Number(serde_json::Number::from(rng.below(101))),
        "condition" => {
            SimValue::Text(["ON_TARGET", "AT_RISK", "IN_TROUBLE"][rng.below(3) as usize].into())
        }
        _ => SimValue::Text(format!("R{}", rng.below(1000))),
    };
    let editor = SimValue::Text(rng.id());
    touch(object, at, editor);
    history.push(ObjectChange {
        at: date_of(object).unwrap_or(at),
        obj_code: object.schema.obj_code,
        id: object.id().unwrap_or_default(),
        field: Some(name),
        value: object.values[f].clone(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::generate::generate;

    fn journal(rows: usize) -> Vec<Entry> {
        let mut entries: Vec<Entry> = generate(rows, 5).iter().map(Entry::from_raw).collect();
        crate::simulator::store::sort_entries(&mut entries);
        entries
    }

    #[test]
    fn schema_indices_match_names() {
        assert_eq!(TASK.fields[LAST_UPDATE_DATE].name, "lastUpdateDate");
        assert_eq!(TASK.fields[LAST_UPDATED_BY_ID].name, "lastUpdatedByID");
        assert_eq!(TASK.fields[PROJECT_ID].name, "projectID");
        assert_eq!(TASK.fields[3].name, "entryDate");
        assert_eq!(TASK.fields[7].name, "percentComplete");
        assert_eq!(TASK.fields[11].name, "condition");
        assert!(PROJ.index("projectID").is_none());
        assert_eq!(schema_of("optask"), Some(&OPTASK));
    }

    #[test]
    fn a_tracked_fields_value_is_its_last_journal_entrys_new_value() {
        let entries = journal(3000);
        let objects = Objects::from_journal(&entries, 5);
        assert!(objects.len() > 100);
        let index = |n| crate::simulator::store::field_index(n).unwrap();
        let mut checked = 0;
        for schema in SCHEMAS {
            for object in objects.of(schema) {
                let id = object.id();
                let last_status = entries
                    .iter()
                    .rev()
                    .filter(|e| e.get(index("objID")).as_text() == id)
                    .find(|e| e.get(index("fieldName")).as_text().as_deref() == Some("status"));
                if let Some(e) = last_status {
                    let f = schema.index("status").unwrap();
                    assert_eq!(object.values[f], *e.get(index("newTextVal")));
                    checked += 1;
                }
                let last = entries
                    .iter()
                    .filter(|e| e.get(index("objID")).as_text() == id)
                    .filter_map(date_of)
                    .max()
                    .unwrap();
                assert!(
                    date_of(object).unwrap() >= last,
                    "lastUpdateDate moves with each entry"
                );
            }
        }
        assert!(checked > 50, "{checked}");
    }

    #[test]
    fn live_edits_chain_with_the_state_and_deletions_remove_objects() {
        let mut objects = Objects::from_journal(&journal(600), 5);
        let before = objects.len();
        let mut generator = crate::simulator::generate::Generator::new(9, 100);
        let mut rng = SplitMix64::new(3);
        let zone = chrono_tz::America::Denver;
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        for k in 0..200 {
            let at = now + Duration::seconds(k);
            let raw = objects.journal_edit(generator.entry(at, None), &zone, &mut rng);
            let entry = Entry::from_raw(&raw);
            let (t, id) = target(&entry).unwrap();
            let object = objects
                .of(SCHEMAS[t])
                .iter()
                .find(|o| o.id() == Some(id.clone()));
            assert!(
                date_of(object.unwrap()) >= Some(at),
                "its last update moved"
            );
            objects.untracked_change(at, &mut rng);
        }
        let deleted = objects.history.iter().filter(|c| c.field.is_none()).count();
        assert!(deleted > 5, "{deleted}");
        assert!(objects.len() < before + 200 - deleted + 1);
        for list in &objects.by_type {
            assert!(list.windows(2).all(|w| stored_order(&w[0], &w[1]).is_lt()));
        }
    }
}
