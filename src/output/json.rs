//! JSON and JSON Lines output. Written by hand so numbers keep the exact rendering of the CSV
//! output and the bytes are the same on every run; strings are escaped as serde_json does.

use std::collections::HashSet;
use std::io::{self, Write};

use serde_json::Value;

use crate::model::change::{COLUMNS, Cell, ChangeRecord, LABEL_COLUMNS, READ_COLUMNS};
use crate::model::json::push_string;
use crate::output::{Extras, RecordSink, RowSink, Table, WriteOptions};

/// A JSON array sink (the format table's `open`).
pub(super) fn open_array<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    Ok(Box::new(JsonWriter::new(out, true, Extras::of(o))?))
}

/// A JSON Lines sink (the format table's `open`).
pub(super) fn open_lines<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    Ok(Box::new(JsonWriter::new(out, false, Extras::of(o))?))
}

/// A JSON array sink of another table (the format table's `open_rows`).
pub(super) fn open_array_rows<'a>(
    out: &'a mut (dyn Write + 'a),
    _: &WriteOptions,
    table: &Table,
) -> io::Result<Box<dyn RowSink + 'a>> {
    let writer = JsonWriter::with_keys(out, true, Extras::default(), table.columns.clone())?;
    Ok(Box::new(writer))
}

/// A JSON Lines sink of another table (the format table's `open_rows`).
pub(super) fn open_line_rows<'a>(
    out: &'a mut (dyn Write + 'a),
    _: &WriteOptions,
    table: &Table,
) -> io::Result<Box<dyn RowSink + 'a>> {
    let writer = JsonWriter::with_keys(out, false, Extras::default(), table.columns.clone())?;
    Ok(Box::new(writer))
}

/// The ids of a JSON array data file (the format table's `read_ids`).
pub(super) fn read_array_ids(bytes: &[u8]) -> Result<HashSet<String>, String> {
    let rows: Vec<Value> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    Ok(ids_of(rows))
}

/// The ids of a JSON Lines data file (the format table's `read_ids`).
pub(super) fn read_line_ids(bytes: &[u8]) -> Result<HashSet<String>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let rows: Vec<Value> = text
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    Ok(ids_of(rows))
}

/// Every record of a JSON array file this tool wrote (the format table's `read_records`), one
/// element at a time.
pub(super) fn read_array_records(
    input: &mut dyn io::Read,
    each: &mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>,
) -> Result<(), String> {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    struct Elements<'e>(&'e mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>);
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of change records")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            use serde::de::Error;
            while let Some(row) = seq.next_element::<serde_json::Map<String, Value>>()? {
                let record = record_of(&row).map_err(A::Error::custom)?;
                (self.0)(record).map_err(A::Error::custom)?;
            }
            Ok(())
        }
    }
    let input = io::BufReader::with_capacity(1 << 20, input);
    let mut de = serde_json::Deserializer::from_reader(input);
    de.deserialize_seq(Elements(each))
        .map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())
}

/// Every record of a JSON Lines file this tool wrote (the format table's `read_records`).
pub(super) fn read_line_records(
    input: &mut dyn io::Read,
    each: &mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>,
) -> Result<(), String> {
    let mut input = io::BufReader::with_capacity(1 << 20, input);
    let mut buffer = String::new();
    for n in 0.. {
        buffer.clear();
        if io::BufRead::read_line(&mut input, &mut buffer).map_err(|e| e.to_string())? == 0 {
            break;
        }
        let line = buffer.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        // The usual line (keys and values as this tool writes them) borrowed from the text;
        // anything else the general way, which also says what is wrong.
        if let Some(record) = super::line_scan::record(line).or_else(|| super::lines::record(line))
        {
            each(record).map_err(|e| e.to_string())?;
            continue;
        }
        let row: serde_json::Map<String, Value> =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let record = record_of(&row).map_err(|e| format!("line {}: {e}", n + 1))?;
        each(record).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A record from one JSON object with the contract's keys.
pub(super) fn record_of(
    row: &serde_json::Map<String, Value>,
) -> Result<ChangeRecord<'static>, String> {
    // This tool writes every contract key, null or not: an object without `id` is
    // something else (raw Workfront records say `ID`, another tool's JSON).
    if !row.contains_key("id") {
        return Err(
            "no \"id\" key: not change records this tool wrote (raw Workfront records? \
             make change records with jrnle-audit normalize first)"
                .into(),
        );
    }
    if let Some(key) = READ_COLUMNS.iter().find(|k| !row.contains_key(**k)) {
        return Err(format!(
            "no \"{key}\" key: not change records as this tool writes them (every record \
             has it, null or not); read a file export wrote, or write the key"
        ));
    }
    let cell = |column: &str| match row.get(column)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        // As the CSV has it: never in exponent notation (serde_json shows 2.5e-7).
        Value::Number(n) => Some(crate::model::number::render_json_number(n)),
        other => Some(other.to_string()),
    };
    ChangeRecord::from_columns(cell, row.contains_key(LABEL_COLUMNS[0]))
}

fn ids_of(rows: Vec<Value>) -> HashSet<String> {
    rows.iter()
        .filter_map(|row| row.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

pub(super) struct JsonWriter<W: Write> {
    out: W,
    /// `true` for one JSON array, `false` for one object per line.
    array: bool,
    first: bool,
    extras: Extras,
    /// The keys of every object, in order (the contract's columns and `extras`').
    keys: Vec<&'static str>,
    line: Vec<u8>,
}

impl<W: Write> JsonWriter<W> {
    pub(super) fn new(out: W, array: bool, extras: Extras) -> io::Result<Self> {
        let keys = COLUMNS.iter().copied().chain(extras.columns()).collect();
        Self::with_keys(out, array, extras, keys)
    }

    fn with_keys(
        mut out: W,
        array: bool,
        extras: Extras,
        keys: Vec<&'static str>,
    ) -> io::Result<Self> {
        if array {
            out.write_all(b"[")?;
        }
        Ok(JsonWriter {
            out,
            array,
            first: true,
            extras,
            keys,
            line: Vec::with_capacity(1024),
        })
    }

    pub(super) fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        let labels = record.labels.as_deref().cloned().unwrap_or_default();
        let extra_cells = self.extras.cells(record, &labels);
        let cells = record.cells();
        self.write_cells(cells.iter().chain(&extra_cells))
    }

    /// One object of `keys` and `cells`, in order.
    fn write_cells<'c>(&mut self, cells: impl Iterator<Item = &'c Cell<'c>>) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        if self.array {
            line.extend_from_slice(if self.first { b"\n" } else { b",\n" });
        }
        self.first = false;
        line.push(b'{');
        for (i, (key, cell)) in self.keys.iter().zip(cells).enumerate() {
            if i > 0 {
                line.push(b',');
            }
            push_string(line, key);
            line.push(b':');
            match cell {
                Cell::Null => line.extend_from_slice(b"null"),
                Cell::Number(n) if crate::model::json::is_number(n) => {
                    line.extend_from_slice(n.as_bytes())
                }
                Cell::Number(n) => push_string(line, n),
                Cell::Bool(true) => line.extend_from_slice(b"true"),
                Cell::Bool(false) => line.extend_from_slice(b"false"),
                Cell::Text(t) => push_string(line, t),
            }
        }
        line.push(b'}');
        if !self.array {
            line.push(b'\n');
        }
        self.out.write_all(line)
    }

    pub(super) fn finish(mut self) -> io::Result<W> {
        if self.array {
            self.out
                .write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> RowSink for JsonWriter<W> {
    fn write_row(&mut self, cells: &[Cell<'_>], _dates: u64) -> io::Result<()> {
        self.write_cells(cells.iter())
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        JsonWriter::finish(*self).map(drop)
    }
}

impl<W: Write> RecordSink for JsonWriter<W> {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        JsonWriter::write(self, record)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        JsonWriter::finish(*self).map(drop)
    }
}
