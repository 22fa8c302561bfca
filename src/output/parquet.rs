//! Parquet output through the `parquet` crate's column writers (no Arrow: its crates would
//! double the build for nothing this needs). Typed columns that DuckDB, pyarrow and Spark read
//! without casts: `entry_date` a UTC timestamp in milliseconds, `custom_field` a boolean, the
//! rest of the record's columns, in the record's order and names, as text (`old_value` and
//! `new_value` exactly as the CSV writes them); then typed companions of the polymorphic values,
//! `old_number`/`new_number` (doubles: the text keeps the exact decimal) and `old_date`/
//! `new_date` (timestamps), and `entry_date_text` for the rare entry whose date is no instant.
//! Rows are buffered one row group at a time ([`ROW_GROUP`] rows) and flushed as it fills,
//! so memory stays flat; the file's metadata names the tool, its version and the query.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::record::Field;
use parquet::schema::parser::parse_message_type;

use crate::model::change::{COLUMNS, Cell, ChangeRecord, ValueType};
use crate::model::date::{format_utc_ms, parse_timestamp};
use crate::output::{Extras, Fact, RecordSink, WriteOptions};

/// Rows per row group: a few tens of MB buffered at most, and groups large enough that
/// dictionary encoding and compression pay.
pub const ROW_GROUP: usize = 65_536;

/// The columns after the record's (and its `--labels`/`source` extras): typed companions.
pub const TYPED_COLUMNS: [&str; 5] = [
    "old_number",
    "new_number",
    "old_date",
    "new_date",
    "entry_date_text",
];

/// How a column is stored.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Millis,
    Bool,
    Double,
}

/// The file's columns and their kinds, in order.
fn columns(extras: Extras) -> Vec<(&'static str, Kind)> {
    let mut out: Vec<(&'static str, Kind)> = COLUMNS
        .iter()
        .map(|c| match *c {
            "entry_date" => (*c, Kind::Millis),
            "custom_field" => (*c, Kind::Bool),
            _ => (*c, Kind::Text),
        })
        .collect();
    out.extend(extras.columns().into_iter().map(|c| (c, Kind::Text)));
    let kinds = [
        Kind::Double,
        Kind::Double,
        Kind::Millis,
        Kind::Millis,
        Kind::Text,
    ];
    out.extend(TYPED_COLUMNS.into_iter().zip(kinds));
    out
}

/// The Parquet schema of those columns (`custom_field` required, everything else optional).
fn schema(columns: &[(&str, Kind)]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|(name, kind)| match kind {
            Kind::Text => format!("OPTIONAL BYTE_ARRAY {name} (STRING);"),
            Kind::Millis => format!("OPTIONAL INT64 {name} (TIMESTAMP(MILLIS,true));"),
            Kind::Bool => format!("REQUIRED BOOLEAN {name};"),
            Kind::Double => format!("OPTIONAL DOUBLE {name};"),
        })
        .collect();
    format!("message jrnle_change {{ {} }}", fields.join(" "))
}

/// A value of one row, before it is buffered in its column.
enum Datum<'a> {
    Null,
    Text(&'a str),
    Millis(i64),
    Bool(bool),
    Double(f64),
}

/// One column's buffered values and definition levels (0 null, 1 present).
#[derive(Default)]
struct Buffer {
    text: Vec<ByteArray>,
    millis: Vec<i64>,
    bools: Vec<bool>,
    doubles: Vec<f64>,
    defs: Vec<i16>,
}

impl Buffer {
    fn push(&mut self, d: Datum<'_>) {
        self.defs.push(match d {
            Datum::Null => 0,
            Datum::Text(s) => {
                self.text.push(ByteArray::from(s.as_bytes().to_vec()));
                1
            }
            Datum::Millis(v) => {
                self.millis.push(v);
                1
            }
            Datum::Bool(v) => {
                self.bools.push(v);
                1
            }
            Datum::Double(v) => {
                self.doubles.push(v);
                1
            }
        });
    }

    /// Write the buffer into its column writer and empty it.
    fn drain(
        &mut self,
        kind: Kind,
        w: &mut SerializedColumnWriter<'_>,
    ) -> parquet::errors::Result<()> {
        let defs = Some(&self.defs[..]);
        match kind {
            Kind::Text => w
                .typed::<ByteArrayType>()
                .write_batch(&self.text, defs, None)?,
            Kind::Millis => w
                .typed::<Int64Type>()
                .write_batch(&self.millis, defs, None)?,
            Kind::Double => w
                .typed::<DoubleType>()
                .write_batch(&self.doubles, defs, None)?,
            Kind::Bool => w.typed::<BoolType>().write_batch(&self.bools, None, None)?,
        };
        *self = Buffer::default();
        Ok(())
    }
}

/// The bytes the file writer has written and the output has not taken yet. The writer wants
/// an owned, thread-safe writer and the output is neither, so it writes here and each full
/// row group is handed on.
#[derive(Clone, Default)]
struct Pending(Arc<Mutex<Vec<u8>>>);

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut v = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
        v.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Pending {
    fn hand_on(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut v = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
        out.write_all(&v)?;
        v.clear();
        Ok(())
    }
}

/// Rows of other tables (`intervals`, `asof`, `durations`) are not written as Parquet: the
/// commands refuse `--format parquet` before any work; this is the format table's entry.
pub(super) fn open_rows<'a>(
    _: &'a mut (dyn Write + 'a),
    _: &WriteOptions,
    _: &super::Table,
) -> io::Result<Box<dyn super::RowSink + 'a>> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "Parquet holds change records only",
    ))
}

/// A Parquet sink (the format table's `open`).
pub(super) fn open<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    let pending = Pending::default();
    let file = ParquetFile::new(pending.clone(), o)?;
    Ok(Box::new(ParquetSink { out, pending, file }))
}

/// The format table's sink: a [`ParquetFile`] writing into [`Pending`], each row group handed
/// on to the output as it is flushed.
struct ParquetSink<'a> {
    out: &'a mut (dyn Write + 'a),
    pending: Pending,
    file: ParquetFile<Pending>,
}

impl RecordSink for ParquetSink<'_> {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        if self.file.push(record)? {
            self.pending.hand_on(self.out)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.file.close()?;
        self.pending.hand_on(self.out)?;
        self.out.flush()
    }
}

/// One Parquet file being written into `W`: rows buffered by column, a row group written
/// each [`ROW_GROUP`] rows.
pub(crate) struct ParquetFile<W: Write + Send> {
    writer: Option<SerializedFileWriter<W>>,
    columns: Vec<(&'static str, Kind)>,
    buffers: Vec<Buffer>,
    /// Rows buffered in the current row group.
    rows: usize,
    /// Rows written in all.
    pub written: u64,
    extras: Extras,
}

impl<W: Write + Send> ParquetFile<W> {
    pub fn new(into: W, o: &WriteOptions) -> io::Result<ParquetFile<W>> {
        let extras = Extras::of(o);
        let columns = columns(extras);
        let schema = parse_message_type(&schema(&columns)).map_err(parquet_error)?;
        let properties = WriterProperties::builder()
            .set_created_by(format!("jrnle-audit {}", env!("CARGO_PKG_VERSION")))
            .set_compression(Compression::SNAPPY)
            .set_key_value_metadata(Some(metadata(&o.about)))
            .build();
        let writer = SerializedFileWriter::new(into, schema.into(), properties.into())
            .map_err(parquet_error)?;
        let buffers = columns.iter().map(|_| Buffer::default()).collect();
        Ok(ParquetFile {
            writer: Some(writer),
            columns,
            buffers,
            rows: 0,
            written: 0,
            extras,
        })
    }

    /// Add a record; `true` when that filled a row group, which was written.
    pub fn push(&mut self, record: &ChangeRecord<'_>) -> io::Result<bool> {
        let cells = record.cells();
        let empty = crate::model::change::Labels::default();
        let labels = record.labels.as_deref().unwrap_or(&empty);
        let extra = self.extras.cells(record, labels);
        let mut b = self.buffers.iter_mut();
        let mut put = |d: Datum<'_>| {
            if let Some(buffer) = b.next() {
                buffer.push(d);
            }
        };
        let entry = record.entry_date.as_deref();
        let entry_ms = millis(entry);
        for (i, cell) in cells.iter().enumerate() {
            match (i, entry_ms) {
                (1, Some(ms)) => put(Datum::Millis(ms)),
                (1, None) => put(Datum::Null),
                _ => put(datum(cell.clone())),
            }
        }
        for cell in extra {
            put(datum(cell));
        }
        let (old_number, old_date) = typed(&cells[9], record.value_type);
        let (new_number, new_date) = typed(&cells[10], record.value_type);
        for d in [old_number, new_number, old_date, new_date] {
            put(d);
        }
        put(match (entry_ms, entry) {
            (None, Some(text)) => Datum::Text(text),
            _ => Datum::Null,
        });
        self.rows += 1;
        self.written += 1;
        if self.rows < ROW_GROUP {
            return Ok(false);
        }
        self.flush_group()?;
        Ok(true)
    }

    /// Write the buffered rows as a row group.
    fn flush_group(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        let mut group = writer.next_row_group().map_err(parquet_error)?;
        for (buffer, (_, kind)) in self.buffers.iter_mut().zip(&self.columns) {
            let mut column = group
                .next_column()
                .map_err(parquet_error)?
                .ok_or_else(|| io::Error::other("Parquet: fewer columns than the schema"))?;
            buffer.drain(*kind, &mut column).map_err(parquet_error)?;
            column.close().map_err(parquet_error)?;
        }
        group.close().map_err(parquet_error)?;
        self.rows = 0;
        Ok(())
    }

    /// Write the last row group and the footer; the writer it wrote into.
    pub fn close(&mut self) -> io::Result<Option<W>> {
        self.flush_group()?;
        match self.writer.take() {
            Some(writer) => writer.into_inner().map(Some).map_err(parquet_error),
            None => Ok(None),
        }
    }
}

/// The file's key-value metadata: the tool's version and the evidence (`jrnle-audit.query`,
/// `jrnle-audit.tenant`, ...).
fn metadata(about: &[(String, Fact)]) -> Vec<KeyValue> {
    let mut out = vec![KeyValue::new(
        "jrnle-audit.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    )];
    for (what, fact) in about {
        let value = match fact {
            Fact::Text(t) => t.clone(),
            Fact::Count(n) => n.to_string(),
            Fact::Instant(t) => format_utc_ms(t),
        };
        let key: String = what
            .to_lowercase()
            .chars()
            .filter(|c| *c != '\'')
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        out.push(KeyValue::new(format!("jrnle-audit.{key}"), value));
    }
    out
}

/// The evidence a Parquet file this tool wrote carries in its metadata (see [`metadata`]), by
/// key without the `jrnle-audit.` prefix (`query`, `tenant`, `window_start`, ...); empty for a
/// file without it (or not readable: the reading of its records says why).
pub fn evidence_of(path: &std::path::Path) -> Vec<(String, String)> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let Ok(reader) = SerializedFileReader::new(file) else {
        return Vec::new();
    };
    let pairs = reader.metadata().file_metadata().key_value_metadata();
    pairs
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            let key = kv.key.strip_prefix("jrnle-audit.")?;
            Some((key.to_string(), kv.value.clone()?))
        })
        .collect()
}

fn parquet_error(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(format!("Parquet: {e}"))
}

/// A cell of the record's text columns as a datum.
fn datum(cell: Cell<'_>) -> Datum<'_> {
    match cell {
        Cell::Null => Datum::Null,
        Cell::Text(s) | Cell::Number(s) => Datum::Text(s),
        Cell::Bool(b) => Datum::Bool(b),
    }
}

fn millis(text: Option<&str>) -> Option<i64> {
    text.and_then(parse_timestamp).map(|t| t.timestamp_millis())
}

/// The typed companions of one value: as a number, as an instant.
fn typed(cell: &Cell<'_>, value_type: ValueType) -> (Datum<'static>, Datum<'static>) {
    match (cell, value_type) {
        (Cell::Number(n), ValueType::Number) => match n.parse::<f64>() {
            Ok(v) => (Datum::Double(v), Datum::Null),
            Err(_) => (Datum::Null, Datum::Null),
        },
        (Cell::Text(t), ValueType::Date) => match millis(Some(t)) {
            Some(ms) => (Datum::Null, Datum::Millis(ms)),
            None => (Datum::Null, Datum::Null),
        },
        _ => (Datum::Null, Datum::Null),
    }
}

/// A file's bytes as a reader, or what is wrong.
fn reader(bytes: Bytes) -> Result<SerializedFileReader<Bytes>, String> {
    SerializedFileReader::new(bytes).map_err(|e| format!("not a Parquet file: {e}"))
}

/// The ids of a Parquet data file (the format table's `read_ids`).
pub(super) fn read_ids(data: &[u8]) -> Result<HashSet<String>, String> {
    let file = reader(Bytes::copy_from_slice(data))?;
    // A projection names its root as the file's schema does.
    let projection =
        parse_message_type("message jrnle_change { OPTIONAL BYTE_ARRAY id (STRING); }")
            .map_err(|e| e.to_string())?;
    let rows = file
        .get_row_iter(Some(projection))
        .map_err(|e| format!("no id column: {e}"))?;
    let mut ids = HashSet::new();
    for row in rows {
        let row = row.map_err(|e| e.to_string())?;
        if let Some((_, Field::Str(id))) = row.get_column_iter().next() {
            ids.insert(id.clone());
        }
    }
    Ok(ids)
}

/// Every record of a Parquet file, in file order (the format table's `read_records`). The
/// file is read whole first: Parquet's footer comes last.
pub(super) fn read_records(
    input: &mut dyn Read,
    take: &mut dyn FnMut(ChangeRecord<'_>) -> crate::error::Result<()>,
) -> Result<(), String> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    let file = reader(Bytes::from(bytes))?;
    // A Parquet file from elsewhere is not read as change records: it must have the record's
    // columns, `entry_date` among them as this tool writes it.
    let schema = file.metadata().file_metadata().schema_descr();
    let names: HashSet<&str> = schema.columns().iter().map(|c| c.name()).collect();
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !names.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "a Parquet file without the change record's columns ({} missing): not written by \
             export, normalize or sync",
            missing.join(", ")
        ));
    }
    let has_labels = file
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .any(|c| c.name() == "change_label");
    for row in file.get_row_iter(None).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| e.to_string())?;
        let cells: Vec<(&str, Option<String>)> = row
            .get_column_iter()
            .map(|(name, field)| (name.as_str(), text(field)))
            .collect();
        let cell = |column: &str| {
            let found = |c: &str| {
                cells
                    .iter()
                    .find(|(n, _)| *n == c)
                    .and_then(|(_, v)| v.clone())
            };
            match column {
                "entry_date" => found("entry_date").or_else(|| found("entry_date_text")),
                _ => found(column),
            }
        };
        let record = ChangeRecord::from_columns(cell, has_labels)?;
        take(record).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A field as the text its CSV cell has.
fn text(field: &Field) -> Option<String> {
    match field {
        Field::Null => None,
        Field::Str(s) => Some(s.clone()),
        Field::Bool(b) => Some(b.to_string()),
        Field::TimestampMillis(ms) => {
            chrono::DateTime::from_timestamp_millis(*ms).map(|t| format_utc_ms(&t))
        }
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::change::{SourceKind, Value};

    fn record(id: &str, date: &str, value: Value<'static>) -> ChangeRecord<'static> {
        let mut r = ChangeRecord::empty(SourceKind::Journal);
        r.id = Some(id.to_string().into());
        r.entry_date = Some(date.to_string().into());
        r.value_type = match value {
            Value::Number(_) => ValueType::Number,
            _ => ValueType::Text,
        };
        r.new_value = value;
        r
    }

    #[test]
    fn ids_and_records_read_back_as_written_across_row_groups() {
        let mut bytes = Vec::new();
        let mut sink = open(&mut bytes, &WriteOptions::default()).unwrap();
        let n = ROW_GROUP + 3;
        for i in 0..n {
            let value = match i % 3 {
                0 => Value::Number("0.00000025".into()),
                1 => Value::Text("text".into()),
                _ => Value::Null,
            };
            sink.write(&record(
                &format!("id{i}"),
                "2025-11-02T07:30:00.123Z",
                value,
            ))
            .unwrap();
        }
        // An entry date that is no instant keeps its text.
        sink.write(&record("odd", "not a date", Value::Null))
            .unwrap();
        sink.finish().unwrap();
        let ids = read_ids(&bytes).unwrap();
        assert_eq!(ids.len(), n + 1);
        assert!(ids.contains("id0") && ids.contains(&format!("id{}", n - 1)));
        let mut back = Vec::new();
        read_records(&mut &bytes[..], &mut |r| {
            back.push(r.into_owned());
            Ok(())
        })
        .unwrap();
        assert_eq!(back.len(), n + 1);
        assert_eq!(
            back[0],
            record(
                "id0",
                "2025-11-02T07:30:00.123Z",
                Value::Number("0.00000025".into())
            )
        );
        assert_eq!(back[1].new_value, Value::Text("text".into()));
        assert_eq!(back[n].entry_date.as_deref(), Some("not a date"));
        assert!(read_ids(b"PAR1 not parquet").is_err());
    }
}
