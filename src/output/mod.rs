//! Output: record sinks, one per format behind [`RecordSink`], chosen through the format
//! table ([`format`]), writing into a destination placed atomically ([`destination`]).

pub mod atomic;
mod csv;
pub mod destination;
pub mod format;
mod json;
mod line_scan;
mod lines;
mod parquet;
pub mod partitioned;
mod xlsx;

use std::io::{self, Write};

use crate::model::anomaly::Anomalies;
use crate::model::change::{Cell, ChangeRecord};

pub use self::csv::guard_formula;
pub use self::destination::{Destination, HOLD_BACK, Output};
pub use self::format::{FORMATS, Format, FormatSpec};
pub use self::parquet::evidence_of as parquet_evidence;

/// Writes change records one at a time; [`RecordSink::finish`] reports any write error that
/// buffering held back.
pub trait RecordSink {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()>;

    /// Oddities the sink itself met writing (an xlsx cell too long), counted per record.
    fn anomalies(&self) -> Anomalies {
        Anomalies::default()
    }

    /// Write what closes the output (a JSON array's bracket) and flush.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// Writes rows of another shape than the change record's (the tables `intervals`, `asof` and
/// `durations` write), through the same writers: cells in the order of the [`Table`]'s
/// columns. Bit `i` of `dates` marks cell `i` as an instant, which xlsx writes as a date-time
/// (CSV and JSON write every cell as its text).
pub trait RowSink {
    fn write_row(&mut self, cells: &[Cell<'_>], dates: u64) -> io::Result<()>;

    /// Write what closes the output and flush.
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// A table's shape: its columns, and the name of its xlsx sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<&'static str>,
    pub sheet: &'static str,
}

/// Start writing rows of `table` in `format` into `out` (a CSV header or an opening bracket
/// goes out here). Instants come as text already in the zone wanted (`--tz`); `options.zone`
/// tells xlsx which zone its date-times show.
pub fn open_rows<'a>(
    format: Format,
    out: &'a mut (dyn Write + 'a),
    options: &WriteOptions,
    table: &Table,
) -> io::Result<Box<dyn RowSink + 'a>> {
    (format.spec().open_rows)(out, options, table)
}

/// How records are written, beyond the format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteOptions {
    /// CSV only: quote-prefix cells a spreadsheet would run as a formula.
    pub formula_guard: bool,
    /// Show dates in this zone with their offset instead of UTC (`--tz`).
    pub zone: Option<chrono_tz::Tz>,
    /// CSV only: byte-order mark and CRLF line ends for Excel (`--excel`).
    pub excel: bool,
    /// Add the `--labels` columns.
    pub labels: bool,
    /// xlsx only: the evidence for the "About" sheet, as (what, value) lines.
    pub about: Vec<(String, Fact)>,
    /// Add the `source` column (the sources other than the journal).
    pub source: bool,
}

/// A value of the xlsx "About" sheet, typed so a spreadsheet reads it as what it is: a count
/// is a number cell, an instant a date-time cell, anything else text.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    Text(String),
    Count(u64),
    Instant(chrono::DateTime<chrono::Utc>),
}

impl From<String> for Fact {
    fn from(text: String) -> Fact {
        Fact::Text(text)
    }
}

impl From<&str> for Fact {
    fn from(text: &str) -> Fact {
        Fact::Text(text.to_string())
    }
}

/// The columns a sink writes after the contract's: the labels, then `source`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Extras {
    pub labels: bool,
    pub source: bool,
}

impl Extras {
    pub fn of(o: &WriteOptions) -> Extras {
        Extras {
            labels: o.labels,
            source: o.source,
        }
    }

    /// Their names, in order.
    pub fn columns(self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.labels {
            out.extend(crate::model::change::LABEL_COLUMNS);
        }
        if self.source {
            out.push(crate::model::change::SOURCE_COLUMN);
        }
        out
    }

    /// A record's cells of these columns (`labels` is the record's, or empty ones).
    pub fn cells<'a>(
        self,
        record: &ChangeRecord<'_>,
        labels: &'a crate::model::change::Labels,
    ) -> Vec<crate::model::change::Cell<'a>> {
        let mut out = Vec::new();
        if self.labels {
            out.extend(labels.cells());
        }
        if self.source {
            out.push(crate::model::change::Cell::Text(record.source.as_str()));
        }
        out
    }
}

/// Start writing `format` into `out` (a CSV header or an opening bracket goes out here).
pub fn open_sink<'a>(
    format: Format,
    out: &'a mut (dyn Write + 'a),
    options: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    let sink = (format.spec().open)(out, options)?;
    Ok(match options.zone {
        Some(zone) => Box::new(InZone { sink, zone }),
        None => sink,
    })
}

/// A sink that shows dates in a zone (`--tz`) before passing records on.
struct InZone<'a> {
    sink: Box<dyn RecordSink + 'a>,
    zone: chrono_tz::Tz,
}

impl RecordSink for InZone<'_> {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        self.sink.write(&record.in_zone(&self.zone))
    }

    fn anomalies(&self) -> Anomalies {
        self.sink.anomalies()
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        self.sink.finish()
    }
}

/// Write all records to `out` in `format`.
pub fn write_all(
    out: &mut dyn Write,
    records: &[ChangeRecord<'_>],
    format: Format,
    formula_guard: bool,
) -> io::Result<()> {
    let options = WriteOptions {
        formula_guard,
        ..WriteOptions::default()
    };
    let mut sink = open_sink(format, out, &options)?;
    for record in records {
        sink.write(record)?;
    }
    sink.finish()
}
