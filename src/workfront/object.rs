//! What the API layer searches: an object type whose records are counted and paged in windows
//! of one date field, and what paging needs to know of a record (its place in the sort).
//! Journal entries (`JRNLE`, see [`super::jrnle`]) are one such type; objects polled by
//! `lastUpdateDate` are another.

use crate::workfront::query::Params;

/// A record's place in a search sorted on the unique key `(date, ID)`.
pub trait Keyed {
    /// `(date, ID)`: the date as fixed-width UTC text, so text order is time order (as sent
    /// when it is not a date; empty when absent), and the ID (empty when absent).
    fn sort_key(&self) -> (&str, &str);

    /// Whether the key can be placed among others: a date that reads as one, and an ID.
    fn comparable(&self) -> bool;

    /// The record's ID, to keep each record once.
    fn id(&self) -> Option<&str>;
}

/// How the records of a window change while it is read on a live tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// Records are only added (journal entries; one can become visible a little after the
    /// instant it carries): a window may gain records while it is read.
    Arrive,
    /// Records only leave (objects polled by `lastUpdateDate` in a window that ends in the
    /// past: an edit moves an object's date to now, out of the window): a window may lose
    /// records while it is read, and those are read by the later window they moved to.
    Leave,
}

/// An object type that can be counted and searched in windows of one of its date fields.
pub trait ObjectType: Clone + Send + Sync + 'static {
    /// One record of a search answer, as Workfront sent it, borrowing from the answer's text.
    type Record<'a>;

    /// The object code in the path, e.g. `JRNLE`.
    fn code(&self) -> &str;

    /// The date field that windows split and searches sort on, e.g. `entryDate`.
    fn date_field(&self) -> &str;

    /// The `fields` parameter of a search: an explicit list, never `*`.
    fn fields(&self) -> String;

    /// The conditions other than the window (the user's filters).
    fn conditions(&self, params: &mut Params);

    /// The records of one search answer (its text, sanitized), or why it is not an answer.
    fn parse_page(text: &str) -> Result<Vec<Self::Record<'_>>, String>;

    /// How a window's records change while it is read (the completeness check follows it).
    fn drift(&self) -> Drift {
        Drift::Arrive
    }
}

/// A record's date as the first part of its sort key: fixed-width UTC text, so text order is
/// time order, and whether it read as a date (else the text as sent).
pub fn date_key(text: &str) -> (String, bool) {
    match crate::model::date::parse_timestamp(text) {
        Some(dt) => {
            let mut out = String::with_capacity(24);
            crate::model::date::write_utc_ms(&mut out, &dt.with_timezone(&chrono::Utc));
            (out, true)
        }
        None => (text.to_string(), false),
    }
}

/// What the caller makes of each raw record while its answer is parsed, in the request's own
/// task: its own form of the record, owning its text and keeping the record's key (for
/// journal entries, the normalized change record). The API layer pages, checks and orders
/// these. (A trait rather than a function pointer: a higher-ranked pointer over the borrowed
/// record type does not unify with a concrete one.)
pub trait Convert<O: ObjectType, T>: Copy + Send + Sync + 'static {
    fn convert(self, record: O::Record<'_>) -> T;
}
