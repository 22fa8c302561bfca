//! Business objects polled by `lastUpdateDate` (API notes §8) as an [`ObjectType`]: a type such
//! as `TASK`, the fields asked for plus the ones a snapshot needs, and each object of an answer
//! as its JSON fields with its sort key. Windows, paging, counts and retries are the journal's
//! (`workfront::fetch`); only the completeness rule differs ([`Drift::Leave`]).

use serde_json::{Map, Value};

use crate::workfront::object::{Convert, Drift, Keyed, ObjectType, date_key};
use crate::workfront::query::Params;

/// The fields every polled object is asked for, beside the user's: what a snapshot keys,
/// dates and attributes its changes by, and the name it shows.
pub const KEY_FIELDS: [&str; 5] = [
    "ID",
    "lastUpdateDate",
    "lastUpdatedByID",
    "entryDate",
    "name",
];

/// Objects of one type, with the fields asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    code: String,
    fields: Vec<String>,
}

impl Polled {
    /// Objects of `code` with `fields` (and [`KEY_FIELDS`]).
    pub fn new(code: &str, fields: &[String]) -> Polled {
        let mut all: Vec<String> = KEY_FIELDS.iter().map(|f| f.to_string()).collect();
        for f in fields {
            if !all.contains(f) {
                all.push(f.clone());
            }
        }
        Polled {
            code: code.to_string(),
            fields: all,
        }
    }

    /// Objects of `code` with their ids and dates only: the cheap full scan that finds
    /// deletions.
    pub fn ids_only(code: &str) -> Polled {
        Polled {
            code: code.to_string(),
            fields: vec!["ID".into(), "lastUpdateDate".into()],
        }
    }
}

impl ObjectType for Polled {
    type Record<'a> = Map<String, Value>;

    fn code(&self) -> &str {
        &self.code
    }

    fn date_field(&self) -> &str {
        "lastUpdateDate"
    }

    fn fields(&self) -> String {
        self.fields.join(",")
    }

    fn conditions(&self, _params: &mut Params) {}

    fn parse_page(text: &str) -> Result<Vec<Map<String, Value>>, String> {
        crate::workfront::answer::search_data(text)
    }

    fn drift(&self) -> Drift {
        Drift::Leave
    }
}

/// One object as fetched: its fields as Workfront sent them, with its sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct PolledObject {
    pub fields: Map<String, Value>,
    /// `lastUpdateDate` in UTC, or as sent if not a date.
    date: String,
    comparable: bool,
}

impl PolledObject {
    pub fn new(fields: Map<String, Value>) -> PolledObject {
        let (date, is_date) = match fields.get("lastUpdateDate") {
            Some(Value::String(s)) => date_key(s),
            _ => (String::new(), false),
        };
        let comparable = is_date && matches!(fields.get("ID"), Some(Value::String(_)));
        PolledObject {
            fields,
            date,
            comparable,
        }
    }

    /// `lastUpdateDate` in UTC with milliseconds (as sent when it is not a date).
    pub fn last_update(&self) -> &str {
        &self.date
    }

    /// A text field, if it is one.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }
}

/// Keep each object as a [`PolledObject`].
#[derive(Debug, Clone, Copy)]
pub struct KeepObject;

impl Convert<Polled, PolledObject> for KeepObject {
    fn convert(self, record: Map<String, Value>) -> PolledObject {
        PolledObject::new(record)
    }
}

impl Keyed for PolledObject {
    fn sort_key(&self) -> (&str, &str) {
        (&self.date, self.id().unwrap_or(""))
    }

    fn comparable(&self) -> bool {
        self.comparable
    }

    fn id(&self) -> Option<&str> {
        self.text("ID")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_asked_are_the_keys_then_the_users_once_each() {
        let p = Polled::new("TASK", &["status".into(), "name".into(), "DE:Risk".into()]);
        assert_eq!(
            p.fields(),
            "ID,lastUpdateDate,lastUpdatedByID,entryDate,name,status,DE:Risk"
        );
        assert_eq!(Polled::ids_only("PROJ").fields(), "ID,lastUpdateDate");
        assert_eq!(p.drift(), Drift::Leave);
    }

    #[test]
    fn an_answer_gives_objects_keyed_by_their_utc_last_update_and_id() {
        let text = r#"{"data":[{"ID":"a","lastUpdateDate":"2025-11-02T01:30:00:123-0600","status":"INP"},{"ID":"b","lastUpdateDate":null}]}"#;
        let objects: Vec<PolledObject> = Polled::parse_page(text)
            .unwrap()
            .into_iter()
            .map(|r| KeepObject.convert(r))
            .collect();
        assert_eq!(objects[0].sort_key(), ("2025-11-02T07:30:00.123Z", "a"));
        assert!(objects[0].comparable());
        assert!(!objects[1].comparable());
        assert_eq!(objects[0].text("status"), Some("INP"));
        let err = Polled::parse_page(r#"{"error":{"message":"no such field"}}"#).unwrap_err();
        assert_eq!(err, "no such field");
    }
}
