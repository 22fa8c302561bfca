//! The format table: everything the tool knows about an output format, in one place: its
//! name, the `-o` extensions that choose it, whether `--excel` applies and stdout can take it,
//! how to open a sink writing it, and how `sync` reads back the ids a data file delivered.
//! A new format is a sink module and one row here.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;

use crate::output::{RecordSink, RowSink, Table, WriteOptions, csv, json, parquet, xlsx};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// RFC 4180 CSV with one header row.
    Csv,
    /// One JSON array.
    Json,
    /// JSON Lines: one object per line.
    Ndjson,
    /// An Excel workbook with typed cells and an About sheet (to a file only).
    Xlsx,
    /// Apache Parquet with typed columns, for DuckDB, Spark and warehouses (to a file only).
    Parquet,
}

/// Opens a sink writing into `out`.
pub type OpenSink =
    for<'a> fn(&'a mut (dyn Write + 'a), &WriteOptions) -> io::Result<Box<dyn RecordSink + 'a>>;

/// Opens a sink writing rows of a table into `out`.
pub type OpenRows = for<'a> fn(
    &'a mut (dyn Write + 'a),
    &WriteOptions,
    &Table,
) -> io::Result<Box<dyn RowSink + 'a>>;

/// Reads the ids of a data file's bytes; the error says what is wrong with it.
pub type ReadIds = fn(&[u8]) -> Result<HashSet<String>, String>;

/// Reads back every record of a file written in the format, in file order, handing each to
/// the callback; the error says what is wrong with the file.
pub type ReadRecords = fn(
    &mut dyn io::Read,
    &mut dyn FnMut(crate::model::change::ChangeRecord<'_>) -> crate::error::Result<()>,
) -> Result<(), String>;

/// One row of the table.
pub struct FormatSpec {
    pub format: Format,
    /// As `--format` and manifests name it.
    pub name: &'static str,
    /// The `-o` extensions that choose it, lower case; the first is the one `sync` writes.
    pub extensions: &'static [&'static str],
    /// Whether `--excel` (byte-order mark, CRLF) applies.
    pub excel: bool,
    /// Whether it can go to stdout (a binary workbook cannot).
    pub stdout: bool,
    pub open: OpenSink,
    /// How to open a sink writing rows of another table (the answers' commands).
    pub open_rows: OpenRows,
    /// How `sync` reads back what a committed file delivered; `None` if it cannot.
    pub read_ids: Option<ReadIds>,
    /// How `report` reads the records of a file written in the format; `None` if it cannot.
    pub read_records: Option<ReadRecords>,
}

impl FormatSpec {
    /// The extension of files written in this format.
    pub fn extension(&self) -> &'static str {
        self.extensions[0]
    }
}

/// Every format, the default (CSV) first.
pub static FORMATS: [FormatSpec; 5] = [
    FormatSpec {
        format: Format::Csv,
        name: "csv",
        extensions: &["csv"],
        excel: true,
        stdout: true,
        open: csv::open,
        open_rows: csv::open_rows,
        read_ids: Some(csv::read_ids),
        read_records: Some(csv::read_records),
    },
    FormatSpec {
        format: Format::Json,
        name: "json",
        extensions: &["json"],
        excel: false,
        stdout: true,
        open: json::open_array,
        open_rows: json::open_array_rows,
        read_ids: Some(json::read_array_ids),
        read_records: Some(json::read_array_records),
    },
    FormatSpec {
        format: Format::Ndjson,
        name: "ndjson",
        extensions: &["ndjson", "jsonl"],
        excel: false,
        stdout: true,
        open: json::open_lines,
        open_rows: json::open_line_rows,
        read_ids: Some(json::read_line_ids),
        read_records: Some(json::read_line_records),
    },
    FormatSpec {
        format: Format::Xlsx,
        name: "xlsx",
        extensions: &["xlsx"],
        excel: false,
        stdout: false,
        open: xlsx::open,
        open_rows: xlsx::open_rows,
        read_ids: Some(xlsx::read_ids),
        // A workbook's cells are typed for people; `report` reads CSV, JSON, NDJSON, Parquet.
        read_records: None,
    },
    FormatSpec {
        format: Format::Parquet,
        name: "parquet",
        extensions: &["parquet"],
        excel: false,
        stdout: false,
        open: parquet::open,
        open_rows: parquet::open_rows,
        read_ids: Some(parquet::read_ids),
        read_records: Some(parquet::read_records),
    },
];

/// Extensions of formats the tool does not write: a file named so would hold something else.
const UNWRITTEN: [&str; 7] = ["xls", "xlsm", "ods", "tsv", "xml", "html", "htm"];

/// Extensions of compressed files. The tool writes no compression: a `.csv.gz` would be plain
/// CSV under a gzip name, which a reader then fails to open (or worse, an archive job keeps as
/// is). Compressing is one pipe away, so it is refused rather than half-supported.
const COMPRESSED: [&str; 10] = [
    "gz", "tgz", "bz2", "xz", "zst", "lz4", "z", "zip", "7z", "br",
];

impl Format {
    /// How to read back the records of a file written in this format, with the formula guard
    /// on or off as it was written (a manifest records it; a CSV cell of a file written
    /// without it is read as it is, a leading `'` kept); `None` if it cannot be read.
    pub fn read_records(self, formula_guard: bool) -> Option<ReadRecords> {
        match (self, formula_guard) {
            (Format::Csv, false) => Some(super::csv::read_unguarded_records),
            _ => self.spec().read_records,
        }
    }

    /// Refuse an output file whose extension says another format than `self` (`-o out.csv`
    /// with `--format json`, or `-o out.xlsx` while no format writes xlsx): a file must hold
    /// what its name says. A name without a known extension (`out.txt`) is left alone.
    pub fn check_extension(self, output: &Path) -> Result<(), String> {
        let Some(ext) = output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        else {
            return Ok(());
        };
        let written = self.spec();
        match FORMATS
            .iter()
            .find(|s| s.extensions.contains(&ext.as_str()))
        {
            Some(other) if other.format != self => Err(format!(
                "--format {} writes {}, but {} ends in .{ext}: drop --format, or name the file .{}",
                written.name,
                written.name.to_uppercase(),
                output.display(),
                written.extension()
            )),
            None if UNWRITTEN.contains(&ext.as_str()) => Err(format!(
                "no format writes .{ext} files: name the output .csv, .json, .ndjson, .xlsx or .parquet"
            )),
            None if COMPRESSED.contains(&ext.as_str()) => {
                // The compressor that writes this suffix, for the example.
                let (tool, suffix) = match ext.as_str() {
                    "bz2" => ("bzip2", "bz2"),
                    "xz" => ("xz", "xz"),
                    "zst" => ("zstd", "zst"),
                    "lz4" => ("lz4", "lz4"),
                    "br" => ("brotli", "br"),
                    _ => ("gzip", "gz"),
                };
                let stem = output
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| format!("out.{}", written.extension()));
                Err(format!(
                    "{} ends in .{ext}, but jrnle-audit does not compress what it writes: \
                     compress it through a pipe instead (e.g. `jrnle-audit export ... | {tool} \
                     > {stem}.{suffix}`), or drop the .{ext}",
                    output.display(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// This format's row of the table.
    pub fn spec(self) -> &'static FormatSpec {
        FORMATS
            .iter()
            .find(|s| s.format == self)
            .unwrap_or(&FORMATS[0])
    }

    /// The format of a file this tool wrote, from its first bytes: a JSON array starts with
    /// `[`, JSON Lines with `{`, CSV with its `id` header (after a byte-order mark with
    /// `--excel`). `None` for anything else.
    pub fn sniff(start: &[u8]) -> Option<Format> {
        let start = start.strip_prefix("\u{feff}".as_bytes()).unwrap_or(start);
        let first = start.iter().position(|b| !b.is_ascii_whitespace());
        match first.map(|i| &start[i..]) {
            _ if start.starts_with(b"PAR1") => Some(Format::Parquet),
            Some([b'[', ..]) => Some(Format::Json),
            Some([b'{', ..]) => Some(Format::Ndjson),
            Some(rest) if rest.starts_with(b"id,entry_date,") => Some(Format::Csv),
            // Nothing at all: JSON Lines of no record, as export writes a window without one.
            None if start.is_empty() => Some(Format::Ndjson),
            _ => None,
        }
    }

    /// The format a manifest names.
    pub fn named(name: &str) -> Option<Format> {
        FORMATS.iter().find(|s| s.name == name).map(|s| s.format)
    }

    /// `--format` if given, else from the output file's extension, else CSV.
    pub fn choose(explicit: Option<Format>, output: Option<&Path>) -> Format {
        explicit.unwrap_or_else(|| {
            let ext = output
                .and_then(Path::extension)
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            FORMATS
                .iter()
                .find(|s| ext.as_deref().is_some_and(|e| s.extensions.contains(&e)))
                .unwrap_or(&FORMATS[0])
                .format
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_flag_then_extension_then_csv() {
        let p = |s: &str| Some(Path::new(s).to_path_buf());
        assert_eq!(
            Format::choose(Some(Format::Json), p("x.csv").as_deref()),
            Format::Json
        );
        assert_eq!(Format::choose(None, p("x.JSON").as_deref()), Format::Json);
        assert_eq!(
            Format::choose(None, p("x.ndjson").as_deref()),
            Format::Ndjson
        );
        assert_eq!(
            Format::choose(None, p("x.jsonl").as_deref()),
            Format::Ndjson
        );
        assert_eq!(Format::choose(None, p("x.txt").as_deref()), Format::Csv);
        assert_eq!(Format::choose(None, None), Format::Csv);
    }

    #[test]
    fn an_extension_that_says_another_format_is_refused() {
        let check = |f: Format, p: &str| f.check_extension(Path::new(p));
        assert!(check(Format::Csv, "a.csv").is_ok());
        assert!(check(Format::Csv, "a.txt").is_ok());
        assert!(check(Format::Csv, "noext").is_ok());
        assert!(check(Format::Ndjson, "a.JSONL").is_ok());
        let e = check(Format::Json, "x.csv").unwrap_err();
        assert!(
            e.contains("x.csv ends in .csv") && e.contains("name the file .json"),
            "{e}"
        );
        // A workbook is a format of its own now: CSV into it is a contradiction.
        let e = check(Format::Csv, "out.xlsx").unwrap_err();
        assert!(e.contains("name the file .csv"), "{e}");
        assert!(check(Format::Xlsx, "out.xlsx").is_ok());
        assert!(
            check(Format::Csv, "out.ods")
                .unwrap_err()
                .contains("no format writes .ods")
        );
        assert!(check(Format::Ndjson, "a.json").is_err());
    }

    #[test]
    fn every_format_has_one_row_and_names_read_back() {
        for format in [Format::Csv, Format::Json, Format::Ndjson] {
            assert_eq!(FORMATS.iter().filter(|s| s.format == format).count(), 1);
            assert_eq!(Format::named(format.spec().name), Some(format));
            let name = format!("x.{}", format.spec().extension());
            assert_eq!(Format::choose(None, Some(Path::new(&name))), format);
        }
        assert_eq!(Format::named("xml"), None);
    }

    #[test]
    fn the_source_column_is_written_last_and_read_back_in_every_readable_format() {
        use crate::model::change::{SOURCE_COLUMN, SourceKind};
        let body = r#"{"eventType":"UPDATE","subscriptionId":"s","eventTime":{"epochSecond":1},
            "oldState":{"ID":"t","status":"NEW"},"newState":{"ID":"t","status":"INP"}}"#;
        let record = crate::source::events::Delivery::parse(body.as_bytes())
            .unwrap()
            .changes()
            .remove(0);
        for (format, source) in [
            (Format::Csv, true),
            (Format::Json, true),
            (Format::Ndjson, true),
            (Format::Csv, false),
        ] {
            let options = WriteOptions {
                source,
                ..WriteOptions::default()
            };
            let mut bytes = Vec::new();
            let mut sink = crate::output::open_sink(format, &mut bytes, &options).unwrap();
            sink.write(&record).unwrap();
            sink.finish().unwrap();
            let text = String::from_utf8(bytes.clone()).unwrap();
            assert_eq!(text.contains(SOURCE_COLUMN), source, "{format:?}: {text}");
            let mut back = Vec::new();
            (format.spec().read_records.unwrap())(&mut bytes.as_slice(), &mut |r| {
                back.push(r.into_owned());
                Ok(())
            })
            .unwrap();
            let expected = if source {
                SourceKind::Event
            } else {
                SourceKind::Journal
            };
            assert_eq!(back[0].source, expected, "{format:?}");
            assert_eq!(back[0].id, record.id);
        }
        let mut bytes = Vec::new();
        let options = WriteOptions {
            source: true,
            ..WriteOptions::default()
        };
        let mut sink = crate::output::open_sink(Format::Csv, &mut bytes, &options).unwrap();
        sink.write(&record).unwrap();
        sink.finish().unwrap();
        let header = String::from_utf8(bytes)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_string();
        assert!(header.ends_with(",top_obj_id,source"), "{header}");
    }
}
