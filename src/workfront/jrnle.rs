//! Journal entries (`JRNLE`) as an [`ObjectType`]: the user's filters as conditions, the
//! fields a search asks for, and each entry of an answer as a raw record with its sort key.

use serde::Deserialize;
use serde_json::Value;

use crate::model::date::{parse_timestamp, write_utc_ms};
use crate::model::raw::{Field, RawJrnle, SEARCH_FIELDS};
use crate::workfront::object::{Keyed, ObjectType};
use crate::workfront::query::{Filters, Params, journal_conditions};

/// `JRNLE`, searched with the user's filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    conditions: Params,
}

impl Journal {
    pub fn new(filters: &Filters) -> Journal {
        Journal {
            conditions: journal_conditions(filters),
        }
    }
}

impl ObjectType for Journal {
    type Record = JournalEntry;

    fn code(&self) -> &str {
        "JRNLE"
    }

    fn date_field(&self) -> &str {
        "entryDate"
    }

    fn fields(&self) -> String {
        SEARCH_FIELDS.join(",")
    }

    fn conditions(&self, params: &mut Params) {
        params.extend(self.conditions.iter().cloned());
    }

    fn parse_page(text: &str) -> Result<Vec<JournalEntry>, String> {
        #[derive(Deserialize)]
        struct Body<'a> {
            #[serde(borrow)]
            data: Option<Vec<RawJrnle<'a>>>,
            error: Option<Value>,
        }
        // The usual answer is read by the fast reader; anything else the general way.
        let data = match crate::model::scan::page(text) {
            Some(data) => data,
            None => {
                let body: Body = crate::workfront::client::parse_body(text)?;
                if let Some(e) = body.error {
                    return Err(crate::workfront::client::error_message(&e));
                }
                body.data
                    .ok_or_else(|| "the search answer has no \"data\" array".to_string())?
            }
        };
        Ok(data.into_iter().map(JournalEntry::new).collect())
    }
}

/// One journal entry as fetched: the raw record, owning its text, and its sort key.
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub raw: RawJrnle<'static>,
    /// `entryDate` in UTC (the form the normalized record has), or as sent if not a date.
    date: String,
    comparable: bool,
}

impl JournalEntry {
    pub fn new(raw: RawJrnle<'_>) -> JournalEntry {
        let (date, parsed) = match &raw.entry_date {
            Field::Text(s) => match parse_timestamp(s) {
                Some(dt) => {
                    let mut out = String::with_capacity(24);
                    write_utc_ms(&mut out, &dt.with_timezone(&chrono::Utc));
                    (out, true)
                }
                None => (s.to_string(), false),
            },
            _ => (String::new(), false),
        };
        let comparable = parsed && matches!(raw.id, Field::Text(_));
        JournalEntry {
            raw: raw.into_owned(),
            date,
            comparable,
        }
    }

    /// One record's JSON text, as a search answer would bring it.
    #[cfg(test)]
    pub(crate) fn from_json(text: &str) -> JournalEntry {
        JournalEntry::new(serde_json::from_str(text).expect("a record"))
    }
}

impl Keyed for JournalEntry {
    fn sort_key(&self) -> (&str, &str) {
        (&self.date, self.id().unwrap_or(""))
    }

    fn comparable(&self) -> bool {
        self.comparable
    }

    fn id(&self) -> Option<&str> {
        match &self.raw.id {
            Field::Text(id) => Some(id),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_utc_instant_and_the_id() {
        let e = JournalEntry::from_json(r#"{"ID":"b","entryDate":"2025-11-02T01:30:00:123-0600"}"#);
        assert_eq!(e.sort_key(), ("2025-11-02T07:30:00.123Z", "b"));
        assert!(e.comparable());
        let e = JournalEntry::from_json(r#"{"ID":"b","entryDate":"not a date"}"#);
        assert_eq!(e.sort_key(), ("not a date", "b"));
        assert!(!e.comparable());
        let e = JournalEntry::from_json(r#"{"entryDate":"2025-11-02T01:30:00:123-0600"}"#);
        assert!(!e.comparable(), "no ID");
        assert_eq!(e.id(), None);
    }
}
