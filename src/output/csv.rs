//! CSV output: RFC 4180 quoting, one header row, and the formula guard.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, Write};

use crate::model::change::{COLUMNS, Cell, ChangeRecord, LABEL_COLUMNS, READ_COLUMNS};
use crate::output::{Extras, RecordSink, RowSink, Table, WriteOptions};

/// A CSV sink (the format table's `open`).
pub(super) fn open<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    Ok(Box::new(CsvWriter::new(
        out,
        o.formula_guard,
        o.excel,
        Extras::of(o),
    )?))
}

/// A CSV sink of another table (the format table's `open_rows`).
pub(super) fn open_rows<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
    table: &Table,
) -> io::Result<Box<dyn RowSink + 'a>> {
    Ok(Box::new(CsvWriter::with_columns(
        out,
        o.formula_guard,
        o.excel,
        Extras::default(),
        &table.columns,
    )?))
}

pub(super) struct CsvWriter<W: Write> {
    inner: ::csv::Writer<W>,
    guard: bool,
    extras: Extras,
}

impl<W: Write> CsvWriter<W> {
    /// `excel`: a UTF-8 byte-order mark and CRLF line ends, so Excel reads accents right.
    pub(super) fn new(out: W, guard: bool, excel: bool, extras: Extras) -> io::Result<Self> {
        let columns: Vec<&str> = COLUMNS.iter().copied().chain(extras.columns()).collect();
        Self::with_columns(out, guard, excel, extras, &columns)
    }

    /// A writer whose header is `columns`.
    fn with_columns(
        mut out: W,
        guard: bool,
        excel: bool,
        extras: Extras,
        columns: &[&str],
    ) -> io::Result<Self> {
        if excel {
            out.write_all("\u{feff}".as_bytes())?;
        }
        let mut inner = ::csv::WriterBuilder::new()
            .quote_style(::csv::QuoteStyle::Necessary)
            .terminator(if excel {
                ::csv::Terminator::CRLF
            } else {
                ::csv::Terminator::Any(b'\n')
            })
            .from_writer(out);
        for column in columns {
            inner.write_field(column).map_err(io_error)?;
        }
        inner.write_record(None::<&[u8]>).map_err(io_error)?;
        Ok(CsvWriter {
            inner,
            guard,
            extras,
        })
    }

    pub(super) fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        let labels = record.labels.as_deref().cloned().unwrap_or_default();
        let extra = self.extras.cells(record, &labels);
        let cells = record.cells();
        self.write_cells(cells.iter().chain(&extra))
    }

    /// One row of cells, in the header's order.
    fn write_cells<'c>(&mut self, cells: impl Iterator<Item = &'c Cell<'c>>) -> io::Result<()> {
        for cell in cells {
            let cell = cell.clone();
            let field: Cow<'_, str> = match cell {
                Cell::Null => Cow::Borrowed(""),
                // Number-typed values are never guarded, so `-42` stays a number.
                Cell::Number(n) => Cow::Borrowed(n),
                Cell::Bool(true) => Cow::Borrowed("true"),
                Cell::Bool(false) => Cow::Borrowed("false"),
                Cell::Text(t) if self.guard => guard_formula(t),
                Cell::Text(t) => Cow::Borrowed(t),
            };
            self.inner.write_field(field.as_bytes()).map_err(io_error)?;
        }
        self.inner.write_record(None::<&[u8]>).map_err(io_error)?;
        Ok(())
    }

    /// `csv::Writer` flushes on drop and discards the error; flush here to report it.
    pub(super) fn finish(self) -> io::Result<W> {
        self.inner.into_inner().map_err(|e| e.into_error())
    }
}

impl<W: Write> RowSink for CsvWriter<W> {
    fn write_row(&mut self, cells: &[Cell<'_>], _dates: u64) -> io::Result<()> {
        self.write_cells(cells.iter())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        CsvWriter::finish(*self).map(drop)
    }
}

impl<W: Write> RecordSink for CsvWriter<W> {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        CsvWriter::write(self, record)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        CsvWriter::finish(*self).map(drop)
    }
}

/// The ids of a CSV data file this tool wrote (the format table's `read_ids`), with the
/// formula guard undone.
pub(super) fn read_ids(bytes: &[u8]) -> Result<HashSet<String>, String> {
    let mut reader = ::csv::Reader::from_reader(bytes);
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    let column = headers
        .iter()
        .position(|h| h == "id")
        .ok_or_else(|| "no id column".to_string())?;
    let mut ids = HashSet::new();
    for row in reader.records() {
        let row = row.map_err(|e| e.to_string())?;
        ids.insert(unguard_formula(row.get(column).unwrap_or_default()).to_string());
    }
    Ok(ids)
}

/// Every record of a CSV file this tool wrote (the format table's `read_records`), with the
/// formula guard undone and a byte-order mark (`--excel`) skipped.
pub(super) fn read_records(
    input: &mut dyn io::Read,
    each: &mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>,
) -> crate::error::Result<(), String> {
    read_records_with(input, each, unguard_formula)
}

/// [`read_records`] for a file written without the formula guard (`--no-formula-guard`, as
/// its manifest records): every cell as it is, a leading `'` kept.
pub(super) fn read_unguarded_records(
    input: &mut dyn io::Read,
    each: &mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>,
) -> crate::error::Result<(), String> {
    read_records_with(input, each, |cell| cell)
}

fn read_records_with(
    input: &mut dyn io::Read,
    each: &mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>,
    unguard: fn(&str) -> &str,
) -> crate::error::Result<(), String> {
    let mut input = io::BufReader::with_capacity(1 << 20, input);
    let start = io::BufRead::fill_buf(&mut input).map_err(|e| e.to_string())?;
    if start.starts_with("\u{feff}".as_bytes()) {
        io::BufRead::consume(&mut input, 3);
    }
    let mut reader = ::csv::Reader::from_reader(input);
    let headers = reader.headers().map_err(|e| e.to_string())?.clone();
    if let Some(column) = READ_COLUMNS
        .iter()
        .find(|c| !headers.iter().any(|h| h == **c))
    {
        return Err(format!(
            "no {column} column: not change records as this tool writes them (every file has \
             it); read a file export wrote, or add the column"
        ));
    }
    let has_labels = headers.iter().any(|h| h == LABEL_COLUMNS[0]);
    let mut row = ::csv::StringRecord::new();
    while reader.read_record(&mut row).map_err(|e| e.to_string())? {
        let cell = |column: &str| {
            let i = headers.iter().position(|h| h == column)?;
            let v = unguard(row.get(i)?);
            (!v.is_empty()).then(|| v.to_string())
        };
        let record = ChangeRecord::from_columns(cell, has_labels)
            .map_err(|e| format!("line {}: {e}", row.position().map_or(0, |p| p.line())))?;
        each(record).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Undo the formula guard on a cell.
fn unguard_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if guard_formula(rest) == cell => rest,
        _ => cell,
    }
}

/// The csv crate wraps an I/O error in its own; unwrapped, its kind shows (a closed pipe is
/// `BrokenPipe`, which is not a failure).
fn io_error(e: ::csv::Error) -> io::Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Spreadsheets run a cell starting with `=`, `+`, `-`, `@`, tab or carriage return as a
/// formula (OWASP "CSV injection"); a leading `'` makes them show it as text. A value that
/// itself starts with `'` before such a character (`'=x`) gets one too (`''=x`), so that
/// reading the file back strips exactly the `'` that was added.
pub fn guard_formula(text: &str) -> Cow<'_, str> {
    match text.trim_start_matches('\'').as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::{Value, ValueType};

    fn record(old: Value<'static>, new: Value<'static>, name: &str) -> ChangeRecord<'static> {
        ChangeRecord {
            id: Some("id1".into()),
            entry_date: Some("2025-01-07T00:00:00.000Z".into()),
            obj_code: Some("TASK".into()),
            obj_name: Some(name.to_string().into()),
            field_name: Some("x".into()),
            change_type: Some("E".into()),
            value_type: ValueType::Text,
            old_value: old,
            new_value: new,
            ..ChangeRecord::empty(crate::model::change::SourceKind::Journal)
        }
    }

    fn write(records: &[ChangeRecord], guard: bool) -> String {
        let mut w = CsvWriter::new(Vec::new(), guard, false, Extras::default()).unwrap();
        for r in records {
            w.write(r).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn guard_prefixes_every_dangerous_first_character() {
        for c in ['=', '+', '-', '@', '\t', '\r'] {
            assert_eq!(guard_formula(&format!("{c}1")), format!("'{c}1"));
        }
        for safe in ["", "a=1", " =1", "'1", "1-2", "é"] {
            assert_eq!(guard_formula(safe), safe);
        }
        assert_eq!(guard_formula("'=1"), "''=1");
        // A value that starts with the guard's own mark reads back as it was.
        for value in ["'=1+1", "''@x", "'plain", "'", "=x"] {
            assert_eq!(unguard_formula(&guard_formula(value)), value, "{value}");
        }
    }

    #[test]
    fn quoting_follows_rfc4180() {
        let r = record(
            Value::Text("a,b".into()),
            Value::Text("say \"hi\"\nthere".into()),
            "plain",
        );
        let out = write(&[r], false);
        let line = out.lines().nth(1).unwrap();
        assert!(line.contains(",\"a,b\",\"say \"\"hi\"\""), "{out}");
        assert!(out.starts_with(&COLUMNS.join(",")));
    }

    #[test]
    fn guard_skips_numbers_and_can_be_turned_off() {
        let r = record(
            Value::Number("-42".into()),
            Value::Text("-42".into()),
            "=HYPERLINK(\"x\")",
        );
        let guarded = write(std::slice::from_ref(&r), true);
        let row: Vec<String> = ::csv::Reader::from_reader(guarded.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(String::from)
            .collect();
        assert_eq!(row[4], "'=HYPERLINK(\"x\")");
        assert_eq!(row[9], "-42");
        assert_eq!(row[10], "'-42");
        let raw = write(&[r], false);
        assert!(raw.contains(",\"=HYPERLINK(\"\"x\"\")\","), "{raw}");
        assert!(raw.contains(",-42,-42,"), "{raw}");
    }

    #[test]
    fn null_is_an_empty_cell() {
        let out = write(&[record(Value::Null, Value::Text("".into()), "n")], true);
        let line = out.lines().nth(1).unwrap();
        assert!(line.contains(",text,,,"), "{line}");
    }
}
