//! The loaded table's columns: the change record's (docs/record.md) with their SQL types, then
//! `source` and `loaded_from`, and one record's values for them.

use crate::error::{Error, Result};
use crate::model::change::{COLUMNS as RECORD_COLUMNS, Cell, ChangeRecord};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// An instant: `timestamptz` in PostgreSQL, ISO 8601 text in UTC in SQLite.
    Timestamp,
    Bool,
}

/// A column: its name, kind, and whether it may be null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
    pub not_null: bool,
}

/// How many columns a loaded table has.
pub const WIDTH: usize = RECORD_COLUMNS.len() + 2;

/// The table's columns, in order: the record's 17, then where it came from (`journal`,
/// `event` or `snapshot`) and the manifest that loaded it.
pub fn columns() -> [Column; WIDTH] {
    let mut out = [Column {
        name: "",
        kind: Kind::Text,
        not_null: false,
    }; WIDTH];
    for (i, name) in RECORD_COLUMNS.iter().enumerate() {
        out[i] = Column {
            name,
            kind: match *name {
                "entry_date" => Kind::Timestamp,
                "custom_field" => Kind::Bool,
                _ => Kind::Text,
            },
            not_null: matches!(*name, "id" | "custom_field" | "value_type"),
        };
    }
    out[WIDTH - 2] = Column {
        name: "source",
        kind: Kind::Text,
        not_null: true,
    };
    out[WIDTH - 1] = Column {
        name: "loaded_from",
        kind: Kind::Text,
        not_null: true,
    };
    out
}

/// One value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val<'a> {
    Null,
    Text(&'a str),
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as the record writes it.
    Timestamp(&'a str),
    Bool(bool),
}

/// A record's values, and whether its `entry_date` was not a date (then loaded as null: the
/// data file keeps the text; normalization keeps such a value rather than drop the entry).
pub fn values<'a>(
    record: &'a ChangeRecord<'_>,
    loaded_from: &'a str,
) -> Result<([Val<'a>; WIDTH], bool)> {
    let mut out = [Val::Null; WIDTH];
    let mut null_date = false;
    for (i, cell) in record.cells().into_iter().enumerate() {
        out[i] = match (RECORD_COLUMNS[i], cell) {
            (_, Cell::Null) => Val::Null,
            ("entry_date", Cell::Text(t)) if is_instant(t) => Val::Timestamp(t),
            ("entry_date", _) => {
                null_date = true;
                Val::Null
            }
            (_, Cell::Text(t) | Cell::Number(t)) => Val::Text(t),
            (_, Cell::Bool(b)) => Val::Bool(b),
        };
    }
    if out[0] == Val::Null {
        return Err(Error::usage(format!(
            "{loaded_from}: a record without an id cannot be loaded (the table's key)"
        )));
    }
    out[WIDTH - 2] = Val::Text(record.source.as_str());
    out[WIDTH - 1] = Val::Text(loaded_from);
    Ok((out, null_date))
}

/// Whether `t` is an instant as the record writes it (`2025-01-07T17:15:02.117Z`), which both
/// databases read as one.
fn is_instant(t: &str) -> bool {
    t.len() == 24 && t.ends_with('Z') && crate::model::date::parse_timestamp(t).is_some()
}

/// The statements that create the two tables when missing, with `type_of` naming each kind's
/// SQL type in the database's dialect. The bookkeeping table: each loaded manifest's place in
/// the chain, name, SHA-256, rows, rows inserted and when. It is created first, and
/// `after_bookkeeping` (PostgreSQL's lock on it) follows at once, before anything else.
pub fn create_statements(
    changes: &str,
    manifests: &str,
    type_of: fn(Kind) -> &'static str,
    instant: &str,
    after_bookkeeping: &str,
) -> String {
    let columns: Vec<String> = columns()
        .iter()
        .map(|c| {
            let key = if c.name == "id" { " PRIMARY KEY" } else { "" };
            let null = if c.not_null { " NOT NULL" } else { "" };
            format!("{} {}{null}{key}", c.name, type_of(c.kind))
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {manifests} (position BIGINT PRIMARY KEY, \
         manifest TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL, row_count BIGINT NOT NULL, \
         inserted BIGINT NOT NULL, loaded_at {instant} NOT NULL);\n\
         {after_bookkeeping}\n\
         CREATE TABLE IF NOT EXISTS {changes} ({});",
        columns.join(", ")
    )
}

/// The column names, comma-separated, in order.
pub fn names() -> String {
    columns().map(|c| c.name).join(", ")
}
