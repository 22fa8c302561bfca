//! `load --intervals`: the SCD2 table beside the changes (`<table>_intervals`), one row per
//! object, field and interval in which the field held one value, the columns of `intervals`
//! (docs/answers.md). In each manifest's transaction, after its rows are in the changes table,
//! the intervals of every object and field it touched are recomputed from all the table's
//! entries of that object and field (the one replay, `history`): an interval opened by an
//! earlier manifest is closed, and an entry that arrives late (before entries already loaded)
//! takes its place in the chain as if it had come in order.

use chrono::Utc;

use super::columns::{Column, Kind, Val};
use crate::error::Result;
use crate::history::{Interval, Listener, Replay, replay::step_of};
use crate::model::change::{COLUMNS as RECORD_COLUMNS, ChangeRecord, Value, ValueType};
use crate::model::date::{format_utc_ms, parse_timestamp};

/// How many columns the intervals table has.
pub const WIDTH: usize = 14;

/// The intervals table's columns, in the order of `intervals`.
pub fn columns() -> [Column; WIDTH] {
    let c = |name, kind, not_null| Column {
        name,
        kind,
        not_null,
    };
    [
        c("obj_code", Kind::Text, false),
        c("obj_id", Kind::Text, true),
        c("obj_name", Kind::Text, false),
        c("field_name", Kind::Text, true),
        c("value_type", Kind::Text, true),
        c("value", Kind::Text, false),
        c("valid_from", Kind::Timestamp, false),
        c("valid_to", Kind::Timestamp, false),
        c("set_by_id", Kind::Text, false),
        c("set_by_name", Kind::Text, false),
        c("set_by_entry_id", Kind::Text, false),
        c("ended_by_entry_id", Kind::Text, false),
        c("ended_by", Kind::Text, false),
        c("chain_break", Kind::Bool, true),
    ]
}

/// The column names, comma-separated, in order.
pub fn names() -> String {
    columns().map(|c| c.name).join(", ")
}

/// An object and field as both tables match it (`obj_code` may be null: as empty).
pub const KEY: &str = "COALESCE(obj_code, ''), obj_id, field_name";

/// The statements that create the intervals table and the indexes the recomputation reads
/// through, when missing.
pub fn create_statements(
    changes: &str,
    intervals: &str,
    type_of: fn(Kind) -> &'static str,
) -> String {
    let columns: Vec<String> = columns()
        .iter()
        .map(|c| {
            let null = if c.not_null { " NOT NULL" } else { "" };
            format!("{} {}{null}", c.name, type_of(c.kind))
        })
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {intervals} ({});\n\
         CREATE INDEX IF NOT EXISTS {intervals}_key ON {intervals} (obj_id, field_name);\n\
         CREATE INDEX IF NOT EXISTS {changes}_key ON {changes} (obj_id, field_name);\n\
         CREATE INDEX IF NOT EXISTS {changes}_loaded_from ON {changes} (loaded_from);",
        columns.join(", ")
    )
}

/// The statement that selects, from the changes table, every entry of every object and field
/// that a manifest's rows (`loaded_from` = `mark`, the statement's parameter) touched; every
/// entry without a mark. `select_of` gives the expression that reads a column as text in the
/// database's dialect.
pub fn touched_select(changes: &str, mark: Option<&str>, select_of: fn(&str) -> String) -> String {
    let names: Vec<String> = RECORD_COLUMNS.iter().map(|c| select_of(c)).collect();
    format!(
        "SELECT {} FROM {changes}{}",
        names.join(", "),
        touched_where(changes, mark)
    )
}

/// The statement that deletes the intervals of those objects and fields (all without a mark).
pub fn touched_delete(changes: &str, intervals: &str, mark: Option<&str>) -> String {
    format!("DELETE FROM {intervals}{}", touched_where(changes, mark))
}

fn touched_where(changes: &str, mark: Option<&str>) -> String {
    match mark {
        Some(mark) => {
            format!(" WHERE ({KEY}) IN (SELECT {KEY} FROM {changes} WHERE loaded_from = {mark})")
        }
        None => String::new(),
    }
}

/// The statement that says whether the intervals table must be built from the whole changes
/// table: it is empty while the changes are not (they were loaded without `--intervals`).
pub fn behind(changes: &str, intervals: &str) -> String {
    format!(
        "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {intervals}) \
         AND EXISTS (SELECT 1 FROM {changes})"
    )
}

/// A value of an intervals row, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Text(String),
    Timestamp(String),
    Bool(bool),
}

impl Cell {
    pub fn val(&self) -> Val<'_> {
        match self {
            Cell::Null => Val::Null,
            Cell::Text(t) => Val::Text(t),
            Cell::Timestamp(t) => Val::Timestamp(t),
            Cell::Bool(b) => Val::Bool(*b),
        }
    }
}

/// The intervals of `records` (every entry of some objects and fields, in any order), as
/// `intervals --sort` replays them.
pub fn recompute(records: Vec<ChangeRecord<'static>>) -> Result<Vec<[Cell; WIDTH]>> {
    let mut steps: Vec<_> = records.into_iter().filter_map(step_of).collect();
    steps.sort_by(|a, b| (a.at, a.entry_id()).cmp(&(b.at, b.entry_id())));
    let mut rows = Rows(Vec::new());
    let mut replay = Replay::new();
    for step in steps {
        replay.push(step, &mut rows)?;
    }
    replay.finish(&mut rows)?;
    Ok(rows.0)
}

struct Rows(Vec<[Cell; WIDTH]>);

impl Listener for Rows {
    fn interval(&mut self, i: &Interval) -> Result<()> {
        self.0.push(row(i));
        Ok(())
    }
}

/// One interval's row, as `intervals` writes it in UTC (a date value as an instant to the
/// millisecond, anything else as the record has it).
pub fn row(i: &Interval) -> [Cell; WIDTH] {
    let text = |t: &str| Cell::Text(t.to_string());
    let opt = |t: Option<&str>| t.map_or(Cell::Null, text);
    let at = |t: Option<chrono::DateTime<Utc>>| {
        t.map_or(Cell::Null, |t| Cell::Timestamp(format_utc_ms(&t)))
    };
    let value = match &i.value() {
        Value::Null => Cell::Null,
        Value::Text(t) if i.value_type == ValueType::Date => match parse_timestamp(t) {
            Some(d) => Cell::Text(format_utc_ms(&d.with_timezone(&Utc))),
            None => text(t),
        },
        Value::Text(t) => text(t),
        Value::Number(n) => text(n),
    };
    [
        text(i.obj_code()),
        text(i.obj_id()),
        opt(i.obj_name()),
        text(i.field_name()),
        text(i.value_type.as_str()),
        value,
        at(i.valid_from),
        at(i.valid_to),
        opt(i.set_by_id()),
        opt(i.set_by_name()),
        opt(i.set_by_entry_id()),
        opt(i.ended_by_entry_id()),
        i.ended_by.map_or(Cell::Null, |e| text(e.as_str())),
        Cell::Bool(i.chain_break()),
    ]
}

/// A record read back from the changes table: `cell(column)` is a record column's text.
pub fn record_of(cell: impl Fn(&str) -> Option<String>) -> Result<ChangeRecord<'static>> {
    ChangeRecord::from_columns(cell, false).map_err(|e| {
        crate::error::Error::Internal(format!("a row of the changes table does not read: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, at: &str, old: &str, new: &str) -> ChangeRecord<'static> {
        let cells = [
            ("id", id),
            ("entry_date", at),
            ("obj_code", "TASK"),
            ("obj_id", "t1"),
            ("field_name", "plannedCompletionDate"),
            ("change_type", "E"),
            ("value_type", "date"),
            ("old_value", old),
            ("new_value", new),
        ];
        record_of(|c| {
            cells
                .iter()
                .find(|(name, _)| *name == c)
                .map(|(_, v)| v.to_string())
        })
        .unwrap()
    }

    #[test]
    fn a_late_entry_takes_its_place_whatever_order_the_table_gives() {
        let entries = || {
            vec![
                record(
                    "e2",
                    "2025-01-03T00:00:00.000Z",
                    "2025-02-02T00:00:00+01:00",
                    "2025-03-01T00:00:00.000Z",
                ),
                // Late: dated before e2, read after it.
                record(
                    "e1",
                    "2025-01-02T00:00:00.000Z",
                    "2025-02-01T00:00:00.000Z",
                    "2025-02-01T23:00:00.000Z",
                ),
            ]
        };
        let rows = recompute(entries()).unwrap();
        let mut reversed = entries();
        reversed.reverse();
        assert_eq!(recompute(reversed).unwrap(), rows);
        let cells = |i: usize, c: usize| rows[i][c].clone();
        let t = |s: &str| Cell::Timestamp(s.into());
        // Before the history, then e1's value (the same instant as e2's old value, written
        // with an offset: no chain break), then e2's, open.
        assert_eq!(rows.len(), 3);
        assert_eq!(cells(1, 5), Cell::Text("2025-02-01T23:00:00.000Z".into()));
        assert_eq!(cells(1, 6), t("2025-01-02T00:00:00.000Z"));
        assert_eq!(cells(1, 7), t("2025-01-03T00:00:00.000Z"));
        assert_eq!(cells(1, 12), Cell::Text("change".into()));
        assert_eq!(cells(1, 13), Cell::Bool(false));
        assert_eq!((cells(2, 7), cells(2, 12)), (Cell::Null, Cell::Null));
    }
}
