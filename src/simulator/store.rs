//! The simulator's data: the field schema of each object type it serves (JRNLE here, the
//! business objects in [`super::objects`]), stored records, and rendering them as Workfront does
//! (requested fields only, nulls kept, dates in the tenant's zone).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::input::RawRecord;
use crate::model::date::{format_workfront, parse_timestamp};
use crate::model::json::push_string as push_json_string;

/// The type of a JRNLE field, which decides how filters compare it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An object id: `in` also splits comma-joined values (API notes §4).
    Id,
    Text,
    Number,
    Date,
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: Kind,
    /// Sub/top fields cannot be filtered since v13 (API notes §3).
    pub filterable: bool,
}

const fn f(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        name,
        kind,
        filterable: true,
    }
}

const fn unfilterable(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        name,
        kind,
        filterable: false,
    }
}

/// The JRNLE fields the simulator knows. Anything else is "not supported", as in Workfront.
pub const FIELDS: &[FieldDef] = &[
    f("ID", Kind::Id),
    f("entryDate", Kind::Date),
    f("changeType", Kind::Text),
    f("fieldName", Kind::Text),
    f("objObjCode", Kind::Text),
    f("objID", Kind::Id),
    f("referenceObjectName", Kind::Text),
    unfilterable("subObjCode", Kind::Text),
    unfilterable("subObjID", Kind::Id),
    unfilterable("topObjCode", Kind::Text),
    unfilterable("topObjID", Kind::Id),
    f("oldTextVal", Kind::Text),
    f("newTextVal", Kind::Text),
    f("oldNumberVal", Kind::Number),
    f("newNumberVal", Kind::Number),
    f("oldDateVal", Kind::Date),
    f("newDateVal", Kind::Date),
    f("editedByID", Kind::Id),
    f("auditRecordID", Kind::Id),
    f("flags", Kind::Number),
    f("aux1", Kind::Text),
    f("aux2", Kind::Text),
    f("aux3", Kind::Text),
    f("projectID", Kind::Id),
    f("taskID", Kind::Id),
    f("opTaskID", Kind::Id),
    // Every object has its objCode; it can be asked for but, on JRNLE, not filtered on
    // (API notes §3: "a filter named objCode is an error").
    unfilterable("objCode", Kind::Text),
    // The rest of JournalEntry's fields in Workfront's metadata (as python-workfront's model,
    // generated from it, lists them): the ids of the objects an entry can refer to, counts and
    // names. Generated data leaves them null; a `--data` file may fill them. `accessorIDs`, a
    // list, is not modelled.
    f("customerID", Kind::Id),
    f("extRefID", Kind::Text),
    f("durationMinutes", Kind::Number),
    f("numLikes", Kind::Number),
    f("numReplies", Kind::Number),
    f("subReferenceObjectName", Kind::Text),
    f("topReferenceObjectName", Kind::Text),
    f("userID", Kind::Id),
    f("hourID", Kind::Id),
    f("documentID", Kind::Id),
    f("documentApprovalID", Kind::Id),
    f("documentShareID", Kind::Id),
    f("expenseID", Kind::Id),
    f("assignmentID", Kind::Id),
    f("approverStatusID", Kind::Id),
    f("baselineID", Kind::Id),
    f("billingRecordID", Kind::Id),
    f("timesheetID", Kind::Id),
    f("portfolioID", Kind::Id),
    f("programID", Kind::Id),
    f("templateID", Kind::Id),
    f("securityRootID", Kind::Id),
    f("securityRootObjCode", Kind::Text),
];

pub fn field_index(name: &str) -> Option<usize> {
    JOURNAL.index(name)
}

/// The index of `ID` and `entryDate` in [`FIELDS`].
pub const ID: usize = 0;
pub const ENTRY_DATE: usize = 1;
const EDITED_BY_ID: usize = 17;
const OBJ_CODE: usize = 26;

/// An object type the simulator serves: its fields, and which of them play the parts a search
/// relies on.
#[derive(Debug)]
pub struct Schema {
    /// The object code in paths and in `objCode`, e.g. `JRNLE`, `TASK`.
    pub obj_code: &'static str,
    /// The name in Workfront's messages, e.g. `JournalEntry`, `Task`.
    pub name: &'static str,
    pub fields: &'static [FieldDef],
    pub id: usize,
    pub obj_code_field: usize,
    /// The date the stored order sorts on first (`entryDate`, `lastUpdateDate`).
    pub date: usize,
    /// The id field behind the `editedBy` reference, where the type has one.
    pub editor: Option<usize>,
    /// The fields a search that names none returns (Workfront's default set is not
    /// documented: a small plausible one).
    pub default_fields: &'static [&'static str],
}

impl Schema {
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|d| d.name == name)
    }
}

impl PartialEq for Schema {
    fn eq(&self, other: &Schema) -> bool {
        self.obj_code == other.obj_code
    }
}

/// Journal entries.
pub static JOURNAL: Schema = Schema {
    obj_code: "JRNLE",
    name: "JournalEntry",
    fields: FIELDS,
    id: ID,
    obj_code_field: OBJ_CODE,
    date: ENTRY_DATE,
    editor: Some(EDITED_BY_ID),
    default_fields: &["ID", "objCode", "entryDate", "changeType", "fieldName"],
};

/// A stored value. `Raw` keeps a value of the wrong shape (bad data) to serve it verbatim.
#[derive(Debug, Clone, PartialEq)]
pub enum SimValue {
    Null,
    Text(String),
    Number(serde_json::Number),
    Date(DateTime<Utc>),
    Raw(Value),
}

impl SimValue {
    /// The value as text, for text comparisons.
    pub fn as_text(&self) -> Option<String> {
        match self {
            SimValue::Null => None,
            SimValue::Text(s) => Some(s.clone()),
            SimValue::Number(n) => Some(n.to_string()),
            SimValue::Date(d) => Some(d.to_rfc3339()),
            SimValue::Raw(Value::String(s)) => Some(s.clone()),
            SimValue::Raw(v) => Some(v.to_string()),
        }
    }
}

/// One stored record (a journal entry, or an object's current state), its values in its
/// schema's field order, plus its editor's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub schema: &'static Schema,
    pub values: Vec<SimValue>,
    pub editor_name: Option<String>,
}

/// A field a search asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    Field(usize),
    /// `editedBy:<sub>`: rendered as the nested `editedBy` object.
    EditedBy(&'static str),
}

/// The `editedBy` sub-fields modelled (the API notes list these; the real USER object has
/// more, which are refused here rather than answered with made-up values). `editedBy:*`
/// asks for all of them.
pub const EDITED_BY_FIELDS: [&str; 3] = ["ID", "name", "objCode"];

impl Entry {
    /// Build an entry from a raw record as Workfront returns it (the `--data` file).
    pub fn from_raw(raw: &RawRecord) -> Entry {
        Entry::from_raw_in(&JOURNAL, raw)
    }

    /// Build a record of `schema` from a raw record (fields it lacks are null).
    pub fn from_raw_in(schema: &'static Schema, raw: &RawRecord) -> Entry {
        let values = schema
            .fields
            .iter()
            .map(|def| match raw.get(def.name) {
                None | Some(Value::Null) => SimValue::Null,
                Some(v) => typed(def.kind, v),
            })
            .collect::<Vec<_>>();
        let editor_name = match raw.get("editedBy") {
            Some(Value::Object(u)) => u.get("name").and_then(Value::as_str).map(String::from),
            _ => None,
        };
        let mut entry = Entry {
            schema,
            values,
            editor_name,
        };
        entry.values[schema.obj_code_field] = SimValue::Text(schema.obj_code.into());
        entry
    }

    pub fn get(&self, index: usize) -> &SimValue {
        &self.values[index]
    }

    pub fn id(&self) -> Option<String> {
        self.values[self.schema.id].as_text()
    }

    /// The record as Workfront renders it for the selected fields (requested fields only,
    /// but `ID` and `objCode` always, first; nulls kept, dates in the tenant's zone), written
    /// straight as JSON text.
    pub fn render_json(&self, out: &mut Vec<u8>, selected: &[Selected], zone: &Tz) {
        out.push(b'{');
        let mut first = true;
        let mut key = |out: &mut Vec<u8>, name: &str| {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            push_json_string(out, name);
            out.push(b':');
        };
        let (id, code, fields) = (
            self.schema.id,
            self.schema.obj_code_field,
            self.schema.fields,
        );
        for i in [id, code] {
            key(out, fields[i].name);
            write_value(out, &self.values[i], zone);
        }
        for sel in selected {
            if let Selected::Field(i) = sel
                && *i != id
                && *i != code
            {
                key(out, fields[*i].name);
                write_value(out, &self.values[*i], zone);
            }
        }
        let subs: Vec<&str> = selected
            .iter()
            .filter_map(|s| match s {
                Selected::EditedBy(sub) => Some(*sub),
                Selected::Field(_) => None,
            })
            .collect();
        if let Some(editor) = self.schema.editor
            && !subs.is_empty()
        {
            key(out, "editedBy");
            if self.values[editor] == SimValue::Null {
                out.extend_from_slice(b"null");
            } else {
                out.extend_from_slice(b"{\"ID\":");
                write_value(out, &self.values[editor], zone);
                let mut written: Vec<&str> = vec!["ID", "objCode"];
                for sub in subs {
                    if written.contains(&sub) {
                        continue;
                    }
                    written.push(sub);
                    out.push(b',');
                    push_json_string(out, sub);
                    out.push(b':');
                    match (sub, &self.editor_name) {
                        ("name", Some(n)) => push_json_string(out, n),
                        _ => out.extend_from_slice(b"null"),
                    }
                }
                out.extend_from_slice(b",\"objCode\":\"USER\"}");
            }
        }
        out.push(b'}');
    }
}

fn write_value(out: &mut Vec<u8>, v: &SimValue, zone: &Tz) {
    match v {
        SimValue::Null => out.extend_from_slice(b"null"),
        SimValue::Text(s) => push_json_string(out, s),
        SimValue::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        SimValue::Date(d) => push_json_string(out, &format_workfront(d, zone)),
        SimValue::Raw(v) => out.extend_from_slice(v.to_string().as_bytes()),
    }
}

/// A record's instant (its schema's date: `entryDate`, `lastUpdateDate`), if its date parsed.
pub fn date_of(e: &Entry) -> Option<DateTime<Utc>> {
    match e.get(e.schema.date) {
        SimValue::Date(d) => Some(*d),
        _ => None,
    }
}

/// The stored order: by the schema's date then ID, as `entryDate_1_Sort=asc&ID_2_Sort=asc`
/// sorts (entries whose date is not a date last).
pub fn stored_order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    let key = |e: &Entry| (date_of(e).is_none(), date_of(e), e.id());
    key(a).cmp(&key(b))
}

/// Put entries in the stored order.
pub fn sort_entries(entries: &mut [Entry]) {
    entries.sort_by(stored_order);
}

fn typed(kind: Kind, v: &Value) -> SimValue {
    match (kind, v) {
        (Kind::Date, Value::String(s)) => parse_timestamp(s)
            .map(|d| SimValue::Date(d.with_timezone(&Utc)))
            .unwrap_or_else(|| SimValue::Raw(v.clone())),
        (Kind::Number, Value::Number(n)) => SimValue::Number(n.clone()),
        (Kind::Id | Kind::Text, Value::String(s)) => SimValue::Text(s.clone()),
        _ => SimValue::Raw(v.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_round_trips_through_the_tenant_zone() {
        let raw = json!({
            "ID": "a1", "entryDate": "2025-07-01T12:00:00.000Z", "fieldName": "status",
            "oldTextVal": null, "newTextVal": "INP", "newNumberVal": 8.0,
            "editedByID": "u1", "editedBy": {"ID": "u1", "name": "Ada", "objCode": "USER"}
        });
        let entry = Entry::from_raw(raw.as_object().unwrap());
        let sel = [
            Selected::Field(ID),
            Selected::Field(ENTRY_DATE),
            Selected::Field(field_index("oldTextVal").unwrap()),
            Selected::Field(field_index("newNumberVal").unwrap()),
            Selected::EditedBy("name"),
        ];
        let mut bytes = Vec::new();
        entry.render_json(&mut bytes, &sel, &chrono_tz::America::Denver);
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).unwrap(),
            json!({
                "ID": "a1", "objCode": "JRNLE",
                "entryDate": "2025-07-01T06:00:00:000-0600", "oldTextVal": null,
                "newNumberVal": 8.0,
                "editedBy": {"ID": "u1", "name": "Ada", "objCode": "USER"}
            })
        );
        assert!(
            text.contains("\"newNumberVal\":8.0"),
            "numbers as Workfront writes them: {text}"
        );
    }

    #[test]
    fn schema_indices_match_names() {
        assert_eq!(FIELDS[ID].name, "ID");
        assert_eq!(FIELDS[ENTRY_DATE].name, "entryDate");
        assert_eq!(FIELDS[EDITED_BY_ID].name, "editedByID");
        assert_eq!(FIELDS[OBJ_CODE].name, "objCode");
    }
}
