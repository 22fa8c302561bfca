//! JSON and JSON Lines output. Written by hand so numbers keep the exact rendering of the CSV
//! output and the bytes are the same on every run; strings are escaped as serde_json does.

use std::collections::HashSet;
use std::io::{self, Write};

use serde_json::Value;

use crate::model::change::{COLUMNS, Cell, ChangeRecord, LABEL_COLUMNS};
use crate::output::{RecordSink, WriteOptions};

/// A JSON array sink (the format table's `open`).
pub(super) fn open_array<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    Ok(Box::new(JsonWriter::new(out, true, o.labels)?))
}

/// A JSON Lines sink (the format table's `open`).
pub(super) fn open_lines<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    Ok(Box::new(JsonWriter::new(out, false, o.labels)?))
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
    labels: bool,
    line: Vec<u8>,
}

impl<W: Write> JsonWriter<W> {
    pub(super) fn new(mut out: W, array: bool, labels: bool) -> io::Result<Self> {
        if array {
            out.write_all(b"[")?;
        }
        Ok(JsonWriter {
            out,
            array,
            first: true,
            labels,
            line: Vec::with_capacity(1024),
        })
    }

    pub(super) fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        if self.array {
            line.extend_from_slice(if self.first { b"\n" } else { b",\n" });
        }
        self.first = false;
        line.push(b'{');
        let labels = record.labels.as_deref().cloned().unwrap_or_default();
        let (extra_keys, extra_cells) = if self.labels {
            (&LABEL_COLUMNS[..], &labels.cells()[..])
        } else {
            (&[][..], &[][..])
        };
        let cells = record.cells();
        let pairs = COLUMNS
            .iter()
            .zip(cells.iter())
            .chain(extra_keys.iter().zip(extra_cells));
        for (i, (key, cell)) in pairs.enumerate() {
            let cell = cell.clone();
            if i > 0 {
                line.push(b',');
            }
            push_string(line, key);
            line.push(b':');
            match cell {
                Cell::Null => line.extend_from_slice(b"null"),
                Cell::Number(n) => line.extend_from_slice(n.as_bytes()),
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

impl<W: Write> RecordSink for JsonWriter<W> {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        JsonWriter::write(self, record)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        JsonWriter::finish(*self).map(drop)
    }
}

/// A JSON string, escaped exactly as serde_json escapes it: `"` `\` and the control characters
/// (`\b \f \n \r \t`, others as `\u00XX`); everything else as is.
pub(crate) fn push_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    // Most text needs no escape at all: find the next byte that does with a table lookup,
    // copy the run before it in one go.
    while let Some(at) = bytes[start..]
        .iter()
        .position(|&b| NEEDS_ESCAPE[b as usize])
    {
        let i = start + at;
        let b = bytes[i];
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The bytes a JSON string cannot hold as they are: control characters, `"` and `\`.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_does() {
        let mut all = String::new();
        for c in 0u8..0x80 {
            all.push(c as char);
        }
        all.push_str("é€😀\u{2028}");
        let mut out = Vec::new();
        push_string(&mut out, &all);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&all).unwrap()
        );
    }
}
