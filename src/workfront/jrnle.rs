//! Journal entries (`JRNLE`) as an [`ObjectType`]: the user's filters as conditions, the
//! fields a search asks for, and each entry of an answer as a raw record with its sort key.

use crate::model::date::parse_timestamp;
use crate::model::raw::{Field, RawJrnle, SEARCH_FIELDS};
use crate::workfront::object::{Convert, Keyed, ObjectType, date_key};
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
    type Record<'a> = RawJrnle<'a>;

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

    fn parse_page(text: &str) -> Result<Vec<RawJrnle<'_>>, String> {
        // The usual answer is read by the fast reader; anything else the general way.
        match crate::model::scan::page(text) {
            Some(data) => Ok(data),
            None => crate::workfront::answer::search_data(text),
        }
    }
}

/// Whether an entry's place in the sort can be checked: its `entryDate` reads as a date and
/// it has an ID.
pub fn has_comparable_key(raw: &RawJrnle<'_>) -> bool {
    matches!(&raw.entry_date, Field::Text(s) if parse_timestamp(s).is_some())
        && matches!(raw.id, Field::Text(_))
}

/// One journal entry as fetched, raw, owning its text, with its sort key: the form for a
/// caller that wants the raw records (a [`crate::workfront::object::Convert`]).
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub raw: RawJrnle<'static>,
    /// `entryDate` in UTC (the form the normalized record has), or as sent if not a date.
    date: String,
    comparable: bool,
}

impl JournalEntry {
    pub fn new(raw: RawJrnle<'_>) -> JournalEntry {
        let comparable = has_comparable_key(&raw);
        let date = match &raw.entry_date {
            Field::Text(s) => date_key(s).0,
            _ => String::new(),
        };
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

/// Keep each entry raw, as a [`JournalEntry`].
#[derive(Debug, Clone, Copy)]
pub struct KeepRaw;

impl Convert<Journal, JournalEntry> for KeepRaw {
    fn convert(self, raw: RawJrnle<'_>) -> JournalEntry {
        JournalEntry::new(raw)
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
    fn an_answer_parses_into_raw_records_a_caller_can_keep_raw() {
        let text = r#"{"data":[{"ID":"a","entryDate":"2025-01-07T10:00:00:000-0700"},{"ID":"b","entryDate":"x"}]}"#;
        let kept: Vec<JournalEntry> = Journal::parse_page(text)
            .unwrap()
            .into_iter()
            .map(|r| KeepRaw.convert(r))
            .collect();
        assert_eq!(kept[0].sort_key(), ("2025-01-07T17:00:00.000Z", "a"));
        assert!(kept[0].comparable() && !kept[1].comparable());
        let err = Journal::parse_page(r#"{"error":{"message":"no"}}"#).unwrap_err();
        assert_eq!(err, "no");
        assert!(Journal::parse_page(r#"{"other":1}"#).is_err());
    }

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
