//! `export --partition-by month|day`: Parquet files in Hive-style directories
//! (`year=2025/month=07/part-00000.parquet`, by the entry's date in UTC) that DuckDB's
//! `read_parquet(..., hive_partitioning = true)`, Spark and Trino read as one table. The
//! records arrive in entry order, so one file is open at a time. Everything is written into a
//! hidden directory beside the target and renamed into place when the run is complete, with
//! `_manifest.json` listing every file, its rows, bytes and SHA-256 (readers skip names that
//! start with `_`); a run that fails or is stopped leaves nothing at the target.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::parquet::ParquetFile;
use super::{RecordSink, WriteOptions};
use crate::interrupt::Unfinished;
use crate::model::change::ChangeRecord;
use crate::model::date::parse_timestamp;

/// How files are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Partition {
    /// `year=YYYY/month=MM`
    Month,
    /// `year=YYYY/month=MM/day=DD`
    Day,
}

/// Hive's directory name for a partition value that is missing (an entry date that is no
/// instant).
const NO_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

/// The manifest's name in the directory.
pub const MANIFEST: &str = "_manifest.json";

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One file of the manifest.
#[derive(Serialize)]
struct Written {
    path: String,
    rows: u64,
    bytes: u64,
    sha256: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    tool: String,
    partition_by: &'static str,
    rows: u64,
    files: &'a [Written],
}

/// The file being written: its partition and path under the directory.
struct Open {
    key: String,
    path: String,
    file: ParquetFile<Hashing<BufWriter<File>>>,
}

/// The partitioned directory as a record sink; [`RecordSink::finish`] renames it into place.
pub struct Partitioned {
    target: PathBuf,
    temp: PathBuf,
    unfinished: Option<Unfinished>,
    by: Partition,
    options: WriteOptions,
    open: Option<Open>,
    files: Vec<Written>,
    committed: bool,
}

/// Refuse a target that exists, or whose name says it is a file of some format (`-o x.csv`),
/// before any work is done.
pub fn check(target: &Path) -> Result<(), String> {
    if let Some(ext) = target.extension().and_then(|e| e.to_str()) {
        let ext = ext.to_ascii_lowercase();
        if super::FORMATS
            .iter()
            .any(|f| f.extensions.contains(&ext.as_str()))
        {
            return Err(format!(
                "-o {}: --partition-by writes a directory, not a .{ext} file: give the \
                 directory's name without an extension",
                target.display()
            ));
        }
    }
    match target.symlink_metadata() {
        Ok(_) => Err(format!(
            "-o {} exists: --partition-by writes a new directory; give a name that is not \
             taken (or remove the old one)",
            target.display()
        )),
        Err(_) => Ok(()),
    }
}

/// Remove what a run killed with `kill -9` left beside the target: hidden directories
/// `.<name>.<pid>.partial` whose process is gone (a live run's is left alone; where `/proc`
/// cannot tell, nothing is removed).
fn remove_stale(parent: &Path, name: &std::ffi::OsStr) {
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".partial"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let gone =
            Path::new("/proc/self").exists() && !Path::new("/proc").join(pid.to_string()).exists();
        if gone && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Partitioned {
    /// Start writing `target`, which must not exist yet (a directory is never merged into:
    /// its old files would mix with the new ones). A name refused is a usage error (exit 2);
    /// a directory that cannot be made where asked, an I/O error (exit 1), as for a file.
    pub fn create(
        target: &Path,
        by: Partition,
        options: WriteOptions,
    ) -> crate::error::Result<Self> {
        use crate::error::Error;
        check(target).map_err(Error::usage)?;
        let name = target.file_name().ok_or_else(|| {
            Error::usage(format!(
                "-o {}: give the directory's name",
                target.display()
            ))
        })?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !parent.is_dir() {
            return Err(Error::usage(format!(
                "-o {}: {} is no directory",
                target.display(),
                parent.display()
            )));
        }
        remove_stale(&parent, name);
        let mut hidden = std::ffi::OsString::from(".");
        hidden.push(name);
        hidden.push(format!(".{}.partial", std::process::id()));
        let temp = parent.join(hidden);
        crate::interrupt::watch();
        let unfinished = Unfinished::new(&temp);
        fs::create_dir(&temp)
            .map_err(|e| Error::io(format!("cannot create {}", temp.display()), e))?;
        Ok(Partitioned {
            target: target.to_path_buf(),
            temp,
            unfinished: Some(unfinished),
            by,
            options,
            open: None,
            files: Vec::new(),
            committed: false,
        })
    }

    /// The partition directory of a record, by its entry date in UTC.
    fn key(&self, r: &ChangeRecord<'_>) -> String {
        let date = r.entry_date.as_deref().and_then(parse_timestamp);
        let utc = date.map(|d| d.with_timezone(&chrono::Utc));
        let part = |fmt: &str| utc.map_or(NO_VALUE.to_string(), |d| d.format(fmt).to_string());
        let mut key = format!("year={}/month={}", part("%Y"), part("%m"));
        if self.by == Partition::Day {
            key.push_str(&format!("/day={}", part("%d")));
        }
        key
    }

    /// Close the open file and note it for the manifest.
    fn close_open(&mut self) -> io::Result<()> {
        let Some(mut open) = self.open.take() else {
            return Ok(());
        };
        let rows = open.file.written;
        if let Some(mut w) = open.file.close()? {
            w.flush()?;
            w.inner.get_ref().sync_all()?;
            self.files.push(Written {
                path: open.path,
                rows,
                bytes: w.bytes,
                sha256: crate::digest::hex(&w.hash.finalize()),
            });
        }
        Ok(())
    }

    /// Open the next file of partition `key` (`part-00000`, `part-00001`, ... should the
    /// partition recur).
    fn open_file(&mut self, key: String) -> io::Result<()> {
        let dir = self.temp.join(&key);
        fs::create_dir_all(&dir)?;
        let n = self
            .files
            .iter()
            .filter(|f| f.path.starts_with(&key))
            .count();
        let path = format!("{key}/part-{n:05}.parquet");
        let file = super::atomic::private()
            .write(true)
            .create_new(true)
            .open(self.temp.join(&path))?;
        let into = Hashing {
            inner: BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
            bytes: 0,
        };
        let file = ParquetFile::new(into, &self.options)?;
        self.open = Some(Open { key, path, file });
        Ok(())
    }

    fn write_manifest(&self) -> io::Result<()> {
        let manifest = Manifest {
            tool: format!("jrnle-audit {}", env!("CARGO_PKG_VERSION")),
            partition_by: match self.by {
                Partition::Month => "month",
                Partition::Day => "day",
            },
            rows: self.files.iter().map(|f| f.rows).sum(),
            files: &self.files,
        };
        let text = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
        let mut f = super::atomic::private()
            .write(true)
            .create_new(true)
            .open(self.temp.join(MANIFEST))?;
        f.write_all(&text)?;
        f.sync_all()
    }
}

impl RecordSink for Partitioned {
    fn write(&mut self, record: &ChangeRecord<'_>) -> io::Result<()> {
        let key = self.key(record);
        if self.open.as_ref().is_none_or(|o| o.key != key) {
            self.close_open()?;
            self.open_file(key)?;
        }
        if let Some(open) = self.open.as_mut() {
            open.file.push(record)?;
        }
        Ok(())
    }

    /// Close the last file, write the manifest and rename the directory into place.
    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.close_open()?;
        self.write_manifest()?;
        File::open(&self.temp)?.sync_all()?;
        let (temp, target) = (self.temp.clone(), self.target.clone());
        let unfinished = self.unfinished.take();
        let renamed = match unfinished {
            Some(u) => u.settle(|| fs::rename(&temp, &target)),
            None => fs::rename(&temp, &target),
        };
        renamed?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Partitioned {
    /// A run that did not finish leaves nothing behind.
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.temp);
        }
    }
}
