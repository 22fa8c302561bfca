//! JSON and JSON Lines output. Written by hand so numbers keep the exact rendering of the CSV
//! output and the bytes are the same on every run.

use std::io::{self, Write};

use crate::change::{COLUMNS, Cell, ChangeRecord};

pub(super) struct JsonWriter<W: Write> {
    out: W,
    /// `true` for one JSON array, `false` for one object per line.
    array: bool,
    first: bool,
}

impl<W: Write> JsonWriter<W> {
    pub(super) fn new(mut out: W, array: bool) -> io::Result<Self> {
        if array {
            out.write_all(b"[")?;
        }
        Ok(JsonWriter {
            out,
            array,
            first: true,
        })
    }

    pub(super) fn write(&mut self, record: &ChangeRecord) -> io::Result<()> {
        let mut line = String::with_capacity(512);
        if self.array {
            line.push_str(if self.first { "\n" } else { ",\n" });
        }
        self.first = false;
        line.push('{');
        for (i, (key, cell)) in COLUMNS.iter().zip(record.cells()).enumerate() {
            if i > 0 {
                line.push(',');
            }
            push_string(&mut line, key);
            line.push(':');
            match cell {
                Cell::Null => line.push_str("null"),
                Cell::Number(n) => line.push_str(&n),
                Cell::Bool(b) => line.push_str(if b { "true" } else { "false" }),
                Cell::Text(t) => push_string(&mut line, &t),
            }
        }
        line.push('}');
        if !self.array {
            line.push('\n');
        }
        self.out.write_all(line.as_bytes())
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

fn push_string(out: &mut String, s: &str) {
    // serde_json's string escaping cannot fail for a &str.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}
