//! xlsx output through `rust_xlsxwriter` in its constant-memory mode: typed cells (dates as
//! Excel date-times in UTC or `--tz`, numbers as numbers, everything else, ids included, as
//! text, so nothing is ever evaluated and no formula guard is needed), a bold frozen header
//! with an autofilter, and an "About" sheet with the evidence (typed: counts as numbers,
//! instants as date-times). Every sheet is set up for paper: landscape, one page wide, the
//! header row repeated on each page, "Page n of m" in the footer. Excel's limits are handled:
//! past 1,048,575 rows the data goes on "Changes 2", "Changes 3", …; a value longer than a
//! cell's 32,767 characters is cut with a visible marker and counted as a data warning.
//!
//! The workbook is written to a private temporary file and copied into the output at the
//! end: the writer needs an owned, thread-safe writer, and the output is neither.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

use chrono::Offset;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};

use crate::model::anomaly::{Anomalies, Anomaly};
use crate::model::change::{COLUMNS, Cell, ChangeRecord, ValueType};
use crate::model::date::parse_timestamp;
use crate::output::{Extras, Fact, RecordSink, RowSink, Table, WriteOptions};

/// Data rows per sheet: Excel's 1,048,576 rows, less the header.
pub const ROWS_PER_SHEET: u32 = 1_048_575;
/// The most characters a cell holds.
pub const CELL_LIMIT: usize = 32_767;

const DATE_FORMAT: &str = "yyyy-mm-dd hh:mm:ss.000";
/// The header of the column `--tz` adds: the entry's instant in UTC, which sorts right.
pub const UTC_COLUMN: &str = "entry_date (UTC)";

/// An xlsx sink (the format table's `open`).
pub(super) fn open<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
) -> io::Result<Box<dyn RecordSink + 'a>> {
    Ok(Box::new(XlsxWriter::new(out, o, None)?))
}

/// An xlsx sink of another table (the format table's `open_rows`): its sheets named for the
/// table, its instants date-times in `--tz`.
pub(super) fn open_rows<'a>(
    out: &'a mut (dyn Write + 'a),
    o: &WriteOptions,
    table: &Table,
) -> io::Result<Box<dyn RowSink + 'a>> {
    Ok(Box::new(XlsxWriter::new(out, o, Some(table.clone()))?))
}

impl<'a> XlsxWriter<'a> {
    fn new(
        out: &'a mut (dyn Write + 'a),
        o: &WriteOptions,
        table: Option<Table>,
    ) -> io::Result<XlsxWriter<'a>> {
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
            zoned: HashMap::new(),
            table,
        };
        sink.new_sheet().map_err(xlsx_error)?;
        Ok(sink)
    }
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
    about: Vec<(String, Fact)>,
    /// Records with a cut value.
    cut: u64,
    header: Format,
    date: Format,
    /// With `--tz`: the date format of each UTC offset met, showing the offset.
    zoned: HashMap<i32, Format>,
    /// Rows of another table than the change record's.
    table: Option<Table>,
}

fn xlsx_error(e: XlsxError) -> io::Error {
    io::Error::other(format!("writing the xlsx workbook: {e}"))
}

impl XlsxWriter<'_> {
    fn columns(&self) -> Vec<String> {
        if let Some(table) = &self.table {
            return table.columns.iter().map(|c| c.to_string()).collect();
        }
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
        // With `--tz` the zoned wall-clock times repeat in the autumn hour (01:30 EDT, then
        // 01:30 EST): their cells show the offset, but a spreadsheet sorts a date-time cell by
        // its wall-clock value, which cannot tell the two apart. The entry's UTC instant sorts
        // right. It goes last, so every documented column keeps its place (docs/record.md).
        if self.zone.is_some() {
            columns.push(UTC_COLUMN.to_string());
        }
        columns
    }

    /// A new "Changes" sheet with its header, widths, frozen row, autofilter and page setup.
    fn new_sheet(&mut self) -> Result<(), XlsxError> {
        self.sheets += 1;
        let name = match &self.table {
            Some(table) => sheet_named(table.sheet, self.sheets),
            None => sheet_name(self.sheets),
        };
        let columns = self.columns();
        let header = self.header.clone();
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        // A zoned date-time shows its offset: six characters more than a UTC one.
        let zoned = if self.zone.is_some() { 7.0 } else { 0.0 };
        for (i, name) in columns.iter().enumerate() {
            let width = match name.as_str() {
                "id" | "obj_id" | "edited_by_id" | "sub_obj_id" | "top_obj_id" => 34.0,
                UTC_COLUMN => 24.0,
                n if n.starts_with("entry_date") => 24.0 + zoned,
                "old_value" | "new_value" => 30.0 + zoned / 2.0,
                "obj_name" | "edited_by_name" => 30.0,
                "field_name" => 22.0,
                _ => 13.0,
            };
            sheet.set_column_width(i as u16, width)?;
            sheet.write_string_with_format(0, i as u16, name, &header)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        print_setup(sheet)?;
        // The header row on every printed page (the `_xlnm.Print_Titles` name).
        sheet.set_repeat_rows(0, 0)?;
        sheet.set_print_gridlines(true);
        self.row = 1;
        Ok(())
    }

    fn write_row(&mut self, record: &ChangeRecord<'_>) -> Result<(), XlsxError> {
        let is_date = record.value_type == ValueType::Date;
        let labels = record.labels.as_deref().cloned().unwrap_or_default();
        let mut cells: Vec<Cell<'_>> = record.cells().to_vec();
        cells.extend(self.extras.cells(record, &labels));
        let dates = 1 << 1 | if is_date { 1 << 9 | 1 << 10 } else { 0 };
        self.write_cells(&cells, dates)?;
        let utc = record.entry_date.as_deref().and_then(parse_timestamp);
        if let (Some(_), Some(utc)) = (self.zone, utc) {
            let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
            sheet.write_datetime_with_format(
                self.row - 1,
                cells.len() as u16,
                utc.naive_utc(),
                &self.date,
            )?;
        }
        Ok(())
    }

    /// One row of cells; bit `i` of `dates` marks cell `i` as an instant.
    fn write_cells(&mut self, cells: &[Cell<'_>], dates: u64) -> Result<(), XlsxError> {
        if self.row > ROWS_PER_SHEET {
            self.close_sheet()?;
            self.new_sheet()?;
        }
        let row = self.row;
        let zone = self.zone;
        let mut cut = false;
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        for (i, cell) in cells.iter().enumerate() {
            let col = i as u16;
            let dated = i < 64 && dates & (1 << i) != 0;
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
                Cell::Text(t) => match dated.then(|| parse_timestamp(t)).flatten() {
                    Some(when) => {
                        let when = when.with_timezone(&chrono::Utc);
                        let (wall, format) = in_zone(when, zone, &self.date, &mut self.zoned);
                        sheet.write_datetime_with_format(row, col, wall, format)?;
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

    /// The "About" lines: the evidence given, then the rows, the data sheets, the zone, the cut
    /// values, the tool; each with a note (empty for most).
    fn about_lines(&self) -> Vec<(String, Fact, String)> {
        let zone = self
            .zone
            .map_or("UTC".to_string(), |z| z.name().to_string());
        let mut lines: Vec<(String, Fact, String)> = self
            .about
            .iter()
            .map(|(what, value)| (what.clone(), value.clone(), String::new()))
            .collect();
        let sheets: Vec<String> = (1..=self.sheets)
            .map(|n| match &self.table {
                Some(t) => sheet_named(t.sheet, n),
                None => sheet_name(n),
            })
            .collect();
        let dates = match self.zone {
            Some(_) if self.table.is_some() => {
                format!("Excel date-times in {zone}, each showing its UTC offset")
            }
            Some(_) => format!(
                "Excel date-times in {zone}, each showing its UTC offset; the last column, \
                 {UTC_COLUMN}, sorts by instant (the repeated autumn hour included)"
            ),
            None => "Excel date-times in UTC".to_string(),
        };
        lines.extend([
            ("Rows".into(), Fact::Count(self.rows), String::new()),
            (
                "Data sheets".into(),
                sheets.join(", ").into(),
                String::new(),
            ),
            ("Dates".into(), dates.into(), String::new()),
            (
                "Values cut".into(),
                Fact::Count(self.cut),
                format!(
                    "rows with a value longer than {CELL_LIMIT} characters, cut with a marker \
                     (CSV and JSON keep them whole)"
                ),
            ),
            (
                "Tool".into(),
                format!("jrnle-audit {}", env!("CARGO_PKG_VERSION")).into(),
                String::new(),
            ),
        ]);
        lines
    }

    /// The "About" sheet, on one printed page: labels, typed values, notes.
    fn about_sheet(&mut self) -> Result<(), XlsxError> {
        let lines = self.about_lines();
        let header = self.header.clone().set_align(FormatAlign::Top);
        let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
        let number = wrap
            .clone()
            .set_num_format("0")
            .set_align(FormatAlign::Left);
        let zone = self.zone;
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name("About")?;
        const WIDTHS: [f64; 3] = [20.0, 60.0, 50.0];
        for (col, width) in WIDTHS.iter().enumerate() {
            sheet.set_column_width(col as u16, *width)?;
        }
        print_setup(sheet)?;
        // Labels and values on the same page, whatever their length (they wrap).
        sheet.set_print_fit_to_pages(1, 1);
        for (i, (what, value, note)) in lines.iter().enumerate() {
            let row = i as u32;
            // Readers do not grow a row for wrapped text on their own, so the wrapped lines
            // would overlap the next row: the row is made as tall as its longest text needs.
            let text = match value {
                Fact::Text(t) => t.chars().count(),
                _ => 0,
            };
            let lines = wrapped_lines(text, WIDTHS[1]).max(wrapped_lines(note.len(), WIDTHS[2]));
            if lines > 1 {
                sheet.set_row_height(row, 15.0 * lines as f64)?;
            }
            sheet.write_string_with_format(row, 0, what, &header)?;
            match value {
                Fact::Text(t) => {
                    sheet.write_string_with_format(row, 1, fit(t).0.as_ref(), &wrap)?;
                }
                Fact::Count(n) => {
                    sheet.write_number_with_format(row, 1, *n as f64, &number)?;
                }
                Fact::Instant(t) => {
                    let (wall, format) = about_instant(*t, zone);
                    sheet.write_datetime_with_format(
                        row,
                        1,
                        wall,
                        &format.set_align(FormatAlign::Left),
                    )?;
                }
            }
            if !note.is_empty() {
                sheet.write_string_with_format(row, 2, note, &wrap)?;
            }
        }
        Ok(())
    }
}

/// How many lines `chars` characters take in a column `width` characters wide, wrapped
/// (a word may push a line's end: a tenth of room is kept for that).
fn wrapped_lines(chars: usize, width: f64) -> usize {
    (chars as f64 / (width * 0.9)).ceil().max(1.0) as usize
}

/// The name of data sheet `n` (from 1) of a table named `name`.
fn sheet_named(name: &str, n: usize) -> String {
    match n {
        1 => name.to_string(),
        n => format!("{name} {n}"),
    }
}

/// The name of data sheet `n` (from 1).
fn sheet_name(n: usize) -> String {
    match n {
        1 => "Changes".to_string(),
        n => format!("Changes {n}"),
    }
}

/// What every sheet shares on paper: landscape, one page wide and as many tall as it takes,
/// narrow margins, the sheet's name and "Page n of m" in the footer.
fn print_setup(sheet: &mut Worksheet) -> Result<(), XlsxError> {
    sheet.set_landscape();
    sheet.set_print_fit_to_pages(1, 0);
    sheet.set_margins(0.4, 0.4, 0.5, 0.6, 0.3, 0.3);
    sheet.set_footer("&L&A&RPage &P of &N");
    Ok(())
}

/// An instant as the wall-clock time of `zone` (UTC without one), for a date cell, and the
/// format to show it with: with a zone, one per UTC offset (`… "+02:00"`), cached in `zoned`,
/// so the repeated autumn hour reads unambiguously on screen and on paper.
fn in_zone<'f>(
    when: chrono::DateTime<chrono::Utc>,
    zone: Option<chrono_tz::Tz>,
    utc: &'f Format,
    zoned: &'f mut HashMap<i32, Format>,
) -> (chrono::NaiveDateTime, &'f Format) {
    let Some(z) = zone else {
        return (when.naive_utc(), utc);
    };
    let local = when.with_timezone(&z);
    let offset = local.offset().fix();
    let format = zoned
        .entry(offset.local_minus_utc())
        .or_insert_with(|| Format::new().set_num_format(format!("{DATE_FORMAT} \"{offset}\"")));
    (local.naive_local(), format)
}

/// An "About" instant in the data's zone, its offset (or "UTC") shown, to the second.
fn about_instant(
    when: chrono::DateTime<chrono::Utc>,
    zone: Option<chrono_tz::Tz>,
) -> (chrono::NaiveDateTime, Format) {
    let (wall, offset) = match zone {
        Some(z) => {
            let local = when.with_timezone(&z);
            (local.naive_local(), local.offset().fix().to_string())
        }
        None => (when.naive_utc(), "UTC".to_string()),
    };
    let format = Format::new().set_num_format(format!("yyyy-mm-dd hh:mm:ss.000 \"{offset}\""));
    (wall, format)
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

impl RowSink for XlsxWriter<'_> {
    fn write_row(&mut self, cells: &[Cell<'_>], dates: u64) -> io::Result<()> {
        self.write_cells(cells, dates).map_err(xlsx_error)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        RecordSink::finish(self)
    }
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
