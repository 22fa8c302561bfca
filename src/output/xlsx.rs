//! xlsx output through `rust_xlsxwriter` in its constant-memory mode: typed cells (dates as
//! Excel date-times in UTC or `--tz`, numbers as numbers, everything else, ids included, as
//! text, so nothing is ever evaluated and no formula guard is needed), a bold frozen header
//! with an autofilter, and an "About" sheet with the evidence. Excel's limits are handled:
//! past 1,048,575 rows the data goes on "Changes 2", "Changes 3", …; a value longer than a
//! cell's 32,767 characters is cut with a visible marker and counted as a data warning.
//!
//! The workbook is written to a private temporary file and copied into the output at the
//! end: the writer needs an owned, thread-safe writer, and the output is neither.

use std::collections::HashSet;
use std::io::{self, Write};

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use crate::model::anomaly::{Anomalies, Anomaly};
use crate::model::change::{COLUMNS, Cell, ChangeRecord, ValueType};
use crate::model::date::parse_timestamp;
use crate::output::{Extras, RecordSink, WriteOptions};

/// Data rows per sheet: Excel's 1,048,576 rows, less the header.
pub const ROWS_PER_SHEET: u32 = 1_048_575;
/// The most characters a cell holds.
pub const CELL_LIMIT: usize = 32_767;

const DATE_FORMAT: &str = "yyyy-mm-dd hh:mm:ss.000";

/// An xlsx sink (the format table's `open`).
pub(super) fn open<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    let mut sink = XlsxWriter {
        out,
        workbook: Workbook::new(),
        sheets: 0,
        row: 0,
        rows: 0,
        extras: Extras::of(o),
        zone: o.zone,
        about: o.about.clone(),
        cut: 0,
        header: Format::new().set_bold(),
        date: Format::new().set_num_format(DATE_FORMAT),
    };
    sink.new_sheet().map_err(xlsx_error)?;
    Ok(Box::new(sink))
}

struct XlsxWriter<'a> {
    out: &'a mut (dyn Write + 'a),
    workbook: Workbook,
    sheets: usize,
    /// The next row of the current sheet (0 is the header).
    row: u32,
    rows: u64,
    extras: Extras,
    zone: Option<chrono_tz::Tz>,
    about: Vec<(String, String)>,
    /// Records with a cut value.
    cut: u64,
    header: Format,
    date: Format,
}

fn xlsx_error(e: XlsxError) -> io::Error {
    io::Error::other(format!("writing the xlsx workbook: {e}"))
}

impl XlsxWriter<'_> {
    fn columns(&self) -> Vec<String> {
        let zone = self
            .zone
            .map_or("UTC".to_string(), |z| z.name().to_string());
        let mut columns: Vec<String> = COLUMNS
            .iter()
            .map(|c| match *c {
                "entry_date" => format!("entry_date ({zone})"),
                other => other.to_string(),
            })
            .collect();
        columns.extend(self.extras.columns().iter().map(|c| c.to_string()));
        columns
    }

    /// A new "Changes" sheet with its header, widths, frozen row and autofilter.
    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        self.sheets += 1;
        let name = match self.sheets {
            1 => "Changes".to_string(),
            n => format!("Changes {n}"),
        };
        let columns = self.columns();
        let header = self.header.clone();
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (i, name) in columns.iter().enumerate() {
            let width = match name.as_str() {
                "id" | "obj_id" | "edited_by_id" | "sub_obj_id" | "top_obj_id" => 34.0,
                n if n.starts_with("entry_date") => 24.0,
                "obj_name" | "old_value" | "new_value" | "edited_by_name" => 30.0,
                "field_name" => 22.0,
                _ => 13.0,
            };
            sheet.set_column_width(i as u16, width)?;
            sheet.write_string_with_format(0, i as u16, name, &header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        self.row = 1;
        Ok(())
    }

    fn write_row(&mut self, record: &ChangeRecord<'_>) -> Result<(), XlsxError> {
        if self.row > ROWS_PER_SHEET {
            self.close_sheet()?;
            self.new_sheet()?;
        }
        let row = self.row;
        let zone = self.zone;
        let date = self.date.clone();
        let mut cut = false;
        let is_date = record.value_type == ValueType::Date;
        let labels = record.labels.as_deref().cloned().unwrap_or_default();
        let mut cells: Vec<Cell<'_>> = record.cells().to_vec();
        cells.extend(self.extras.cells(record, &labels));
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        for (i, cell) in cells.iter().enumerate() {
            let col = i as u16;
            let dated = i == 1 || (is_date && (i == 9 || i == 10));
            match cell {
                // An empty text is an empty cell, as in CSV (a workbook stores no empty string).
                Cell::Null | Cell::Text("") => {}
                Cell::Bool(b) => {
                    sheet.write_boolean(row, col, *b)?;
                }
                Cell::Number(n) => match n.parse::<f64>() {
                    Ok(x) if x.is_finite() => {
                        sheet.write_number(row, col, x)?;
                    }
                    _ => {
                        sheet.write_string(row, col, *n)?;
                    }
                },
                Cell::Text(t) => match dated.then(|| local_time(t, zone)).flatten() {
                    Some(when) => {
                        sheet.write_datetime_with_format(row, col, when, &date)?;
                    }
                    None => {
                        let (text, was_cut) = fit(t);
                        cut |= was_cut;
                        sheet.write_string(row, col, text.as_ref())?;
                    }
                },
            }
        }
        self.cut += u64::from(cut);
        self.row += 1;
        self.rows += 1;
        Ok(())
    }

    /// The autofilter over what the sheet holds.
    fn close_sheet(&mut self) -> Result<(), XlsxError> {
        let last_row = self.row.saturating_sub(1);
        let last_col = self.columns().len() as u16 - 1;
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        sheet.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }

    /// The "About" sheet: the evidence given, the rows, the data sheets, the cut values.
    fn about_sheet(&mut self) -> Result<(), XlsxError> {
        let zone = self
            .zone
            .map_or("UTC".to_string(), |z| z.name().to_string());
        let mut lines = self.about.clone();
        lines.push(("Rows".into(), self.rows.to_string()));
        lines.push((
            "Data sheets".into(),
            (1..=self.sheets)
                .map(|n| match n {
                    1 => "Changes".to_string(),
                    n => format!("Changes {n}"),
                })
                .collect::<Vec<_>>()
                .join(", "),
        ));
        lines.push(("Dates".into(), format!("Excel date-times in {zone}")));
        lines.push((
            "Values cut".into(),
            format!(
                "{} rows with a value longer than {CELL_LIMIT} characters, cut with a marker \
                 (CSV and JSON keep them whole)",
                self.cut
            ),
        ));
        lines.push((
            "Tool".into(),
            format!("jrnle-audit {}", env!("CARGO_PKG_VERSION")),
        ));
        let header = self.header.clone();
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("About")?;
        sheet.set_column_width(0, 24.0)?;
        sheet.set_column_width(1, 90.0)?;
        for (i, (what, value)) in lines.iter().enumerate() {
            sheet.write_string_with_format(i as u32, 0, what, &header)?;
            sheet.write_string(i as u32, 1, fit(value).0.as_ref())?;
        }
        Ok(())
    }
}

/// A timestamp as the wall-clock time of `zone` (UTC without one), for a date cell.
fn local_time(text: &str, zone: Option<chrono_tz::Tz>) -> Option<chrono::NaiveDateTime> {
    let t = parse_timestamp(text)?;
    Some(match zone {
        Some(z) => t.with_timezone(&z).naive_local(),
        None => t.naive_utc(),
    })
}

/// The text as a cell holds it: whole, or cut with a marker saying how much was left out.
fn fit(text: &str) -> (std::borrow::Cow<'_, str>, bool) {
    let len = text.chars().count();
    if len <= CELL_LIMIT {
        return (text.into(), false);
    }
    // The marker's own length depends on the number; a few characters of room suffice.
    let keep = CELL_LIMIT - 40;
    let mut cut: String = text.chars().take(keep).collect();
    cut.push_str(&format!("… [cut: {} characters]", len - keep));
    (cut.into(), true)
}

impl RecordSink for XlsxWriter<'_> {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        self.write_row(record).map_err(xlsx_error)
    }

    fn anomalies(&self) -> Anomalies {
        let mut a = Anomalies::default();
        a.add_count(Anomaly::CutForExcel, self.cut);
        a
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.close_sheet().map_err(xlsx_error)?;
        self.about_sheet().map_err(xlsx_error)?;
        let mut tmp = tempfile::tempfile()?;
        self.workbook.save_to_writer(&mut tmp).map_err(xlsx_error)?;
        io::Seek::rewind(&mut tmp)?;
        io::copy(&mut tmp, &mut self.out)?;
        self.out.flush()
    }
}

/// The ids of an xlsx data file this tool wrote (the format table's `read_ids`): the `id`
/// column of every "Changes" sheet.
pub(super) fn read_ids(bytes: &[u8]) -> Result<HashSet<String>, String> {
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(io::Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let names: Vec<String> = book
        .sheet_names()
        .into_iter()
        .filter(|n| n.starts_with("Changes"))
        .collect();
    let mut ids = HashSet::new();
    for name in names {
        let range = book.worksheet_range(&name).map_err(|e| e.to_string())?;
        let mut rows = range.rows();
        let header: Vec<String> = rows
            .next()
            .map(|r| r.iter().map(cell_text).collect())
            .unwrap_or_default();
        let column = header
            .iter()
            .position(|h| h == "id")
            .ok_or_else(|| format!("sheet {name} has no id column"))?;
        ids.extend(rows.map(|row| cell_text(&row[column])));
    }
    Ok(ids)
}

fn cell_text(d: &calamine::Data) -> String {
    match d {
        calamine::Data::Empty => String::new(),
        calamine::Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}
