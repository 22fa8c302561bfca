//! Output: choosing the format, writing records in it, and placing the file atomically.

mod csv;
mod json;

pub(crate) use self::json::push_string as push_json_string;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::model::change::ChangeRecord;

pub use self::csv::guard_formula;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// RFC 4180 CSV with one header row.
    Csv,
    /// One JSON array.
    Json,
    /// JSON Lines: one object per line.
    Ndjson,
}

impl Format {
    /// `--format` if given, else from the output file's extension, else CSV.
    pub fn choose(explicit: Option<Format>, output: Option<&Path>) -> Format {
        explicit.unwrap_or_else(|| {
            let ext = output
                .and_then(Path::extension)
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("json") => Format::Json,
                Some("ndjson" | "jsonl") => Format::Ndjson,
                _ => Format::Csv,
            }
        })
    }
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
}

/// Writes change records one at a time in one format; `finish` reports any write error.
pub struct RecordWriter<W: Write> {
    kind: Kind<W>,
    zone: Option<chrono_tz::Tz>,
}

enum Kind<W: Write> {
    Csv(Box<csv::CsvWriter<W>>),
    Json(json::JsonWriter<W>),
}

impl<W: Write> RecordWriter<W> {
    /// Start writing (the CSV header or the opening bracket goes out here).
    /// `formula_guard` applies to CSV only: JSON output is never altered.
    pub fn new(out: W, format: Format, formula_guard: bool) -> io::Result<Self> {
        let options = WriteOptions {
            formula_guard,
            ..WriteOptions::default()
        };
        Self::with_options(out, format, &options)
    }

    pub fn with_options(out: W, format: Format, o: &WriteOptions) -> io::Result<Self> {
        let kind = match format {
            Format::Csv => Kind::Csv(Box::new(csv::CsvWriter::new(
                out,
                o.formula_guard,
                o.excel,
                o.labels,
            )?)),
            Format::Json => Kind::Json(json::JsonWriter::new(out, true, o.labels)?),
            Format::Ndjson => Kind::Json(json::JsonWriter::new(out, false, o.labels)?),
        };
        Ok(RecordWriter { kind, zone: o.zone })
    }

    pub fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        if let Some(zone) = self.zone {
            let local = record.in_zone(&zone);
            return self.write_as_is(&local);
        }
        self.write_as_is(record)
    }

    fn write_as_is(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        match &mut self.kind {
            Kind::Csv(w) => w.write(record),
            Kind::Json(w) => w.write(record),
        }
    }

    /// Flush everything and hand back the underlying writer.
    pub fn finish(self) -> io::Result<W> {
        match self.kind {
            Kind::Csv(w) => w.finish(),
            Kind::Json(w) => w.finish(),
        }
    }
}

/// Write all records to `out` in `format`.
pub fn write_all<W: Write>(
    out: W,
    records: &[ChangeRecord<'_>],
    format: Format,
    formula_guard: bool,
) -> io::Result<W> {
    let mut writer = RecordWriter::new(out, format, formula_guard)?;
    for record in records {
        writer.write(record)?;
    }
    writer.finish()
}

/// Where output goes: stdout, or a file that appears under its name only when complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    pub fn from_arg(path: Option<&Path>) -> Destination {
        match path {
            None => Destination::Stdout,
            Some(p) if p.as_os_str() == "-" => Destination::Stdout,
            Some(p) => Destination::File(p.to_path_buf()),
        }
    }

    /// The destination's name in messages.
    pub fn name(&self) -> PathBuf {
        match self {
            Destination::Stdout => PathBuf::from("standard output"),
            Destination::File(path) => path.clone(),
        }
    }

    /// The error for a failed write here.
    pub fn error(&self, source: io::Error) -> Error {
        Error::Write {
            path: self.name(),
            source,
        }
    }

    /// Check, before any work is done, that the file can be created where asked.
    pub fn check(&self) -> Result<()> {
        let Destination::File(path) = self else {
            return Ok(());
        };
        let dir = parent_dir(path);
        if !dir.is_dir() {
            return Err(Error::usage(format!(
                "output directory {} does not exist: create it or choose another --output",
                dir.display()
            )));
        }
        if path.is_dir() {
            return Err(Error::usage(format!(
                "--output {} is a directory: give a file name",
                path.display()
            )));
        }
        Ok(())
    }

    /// Open the destination for streaming output. For a file, the bytes go to a temporary
    /// file in the same directory (mode 0600 on Unix: audit data is sensitive), which
    /// [`Output::commit`] flushes, syncs and renames into place; dropped uncommitted, it is
    /// removed, so a failed run leaves no file. For stdout, the first [`HOLD_BACK`] bytes are
    /// held until commit, so a run that fails early prints nothing.
    pub fn open(&self) -> Result<Output> {
        match self {
            Destination::Stdout => Ok(Output::Stdout {
                held: Vec::new(),
                streaming: false,
            }),
            Destination::File(path) => {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
                let tmp = tempfile::Builder::new()
                    .prefix(&format!(".{name}."))
                    .suffix(".tmp")
                    .tempfile_in(parent_dir(path))
                    .map_err(|source| Error::Write {
                        path: path.clone(),
                        source,
                    })?;
                Ok(Output::File {
                    out: BufWriter::with_capacity(256 * 1024, tmp),
                    path: path.clone(),
                })
            }
        }
    }

    /// Run `write` against the destination and commit.
    pub fn write_with(&self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
        let mut out = self.open()?;
        write(&mut out).map_err(|source| out.error(source))?;
        out.commit()
    }
}

/// How much stdout output is held back before it streams.
pub const HOLD_BACK: usize = 8 * 1024 * 1024;

/// An open destination (see [`Destination::open`]).
pub enum Output {
    Stdout {
        held: Vec<u8>,
        streaming: bool,
    },
    File {
        out: BufWriter<tempfile::NamedTempFile>,
        path: PathBuf,
    },
}

impl Output {
    /// The error for a failed write here.
    pub fn error(&self, source: io::Error) -> Error {
        match self {
            Output::Stdout { .. } => Destination::Stdout.error(source),
            Output::File { path, .. } => Error::Write {
                path: path.clone(),
                source,
            },
        }
    }

    /// Finish: flush stdout, or sync and rename the file into place.
    pub fn commit(self) -> Result<()> {
        match self {
            Output::Stdout { held, .. } => {
                let mut stdout = io::stdout().lock();
                stdout
                    .write_all(&held)
                    .and_then(|()| stdout.flush())
                    .map_err(|source| Destination::Stdout.error(source))
            }
            Output::File { out, path } => {
                let fail = |source| Error::Write {
                    path: path.clone(),
                    source,
                };
                let tmp = out.into_inner().map_err(|e| fail(e.into_error()))?;
                tmp.as_file().sync_all().map_err(fail)?;
                tmp.persist(&path).map_err(|e| fail(e.error))?;
                sync_dir(parent_dir(&path));
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File { out, .. } => out.write(buf),
            Output::Stdout { held, streaming } => {
                held.extend_from_slice(buf);
                if *streaming || held.len() >= HOLD_BACK {
                    *streaming = true;
                    if held.len() >= 64 * 1024 {
                        io::stdout().lock().write_all(held)?;
                        held.clear();
                    }
                }
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::File { out, .. } => out.flush(),
            // Held bytes go out on commit.
            Output::Stdout { .. } => Ok(()),
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Make the rename durable. Best effort: not every platform can open a directory.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
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
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let dest = Destination::File(path.clone());
        let err = dest
            .write_with(|w| {
                w.write_all(b"half")?;
                Err(io::Error::other("boom"))
            })
            .unwrap_err();
        assert!(err.to_string().contains("boom"));
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn successful_write_lands_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        Destination::File(path.clone())
            .write_with(|w| w.write_all(b"all of it"))
            .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"all of it");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_directory_is_a_usage_error() {
        let dest = Destination::File("/nonexistent-dir-jrnle/x.csv".into());
        let err = dest.check().unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("does not exist"));
    }
}
