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
}

/// What the caller makes of each raw record while its answer is parsed, in the request's own
/// task: its own form of the record, owning its text and keeping the record's key (for
/// journal entries, the normalized change record). The API layer pages, checks and orders
/// these. (A trait rather than a function pointer: a higher-ranked pointer over the borrowed
/// record type does not unify with a concrete one.)
pub trait Convert<O: ObjectType, T>: Copy + Send + Sync + 'static {
    fn convert(self, record: O::Record<'_>) -> T;
}
