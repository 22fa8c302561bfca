//! Crash-safe file writing for the out-dir, and cleanup of interrupted runs.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::interrupt::Unfinished;

use super::PARTIAL_SUFFIX;

/// A file written under `<path>.partial` and renamed to `path` only on [`AtomicFile::commit`],
/// after an fsync, so `path` either does not exist or holds every byte. It hashes what it
/// writes (SHA-256) and counts it. Mode 0600 on Unix.
pub struct AtomicFile {
    path: PathBuf,
    partial: PathBuf,
    out: BufWriter<File>,
    hasher: Sha256,
    size: u64,
    /// Removed by a signal before it is committed.
    unfinished: Unfinished,
}

/// Options that create a file readable by its owner only (mode 0600 on Unix): every file the
/// tool creates holds tenant data (changes, names, deliveries, object states).
pub fn private() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let partial = partial_path(path);
        let mut options = private();
        options.write(true).create(true).truncate(true);
        let file = options.open(&partial).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            unfinished: Unfinished::new(&partial),
            partial,
            out: BufWriter::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// The error for a failed write to this file.
    pub fn error(&self, source: std::io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Give the file up: nothing of it is committed, and its partial file goes.
    pub fn abandon(self) {
        let partial = self.partial.clone();
        drop(self);
        let _ = fs::remove_file(partial);
    }

    /// Flush, fsync, rename into place, fsync the directory. Returns size and SHA-256.
    pub fn commit(self) -> Result<(u64, String)> {
        let fail = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        let file = self.out.into_inner().map_err(|e| fail(e.into_error()))?;
        file.sync_all().map_err(fail)?;
        drop(file);
        self.unfinished
            .settle(|| fs::rename(&self.partial, &self.path))
            .map_err(fail)?;
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        let sha = crate::evidence::manifest::hex(&self.hasher.finalize());
        Ok((self.size, sha))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Write `bytes` to `path` all or nothing (see [`AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).map_err(|e| file.error(e))?;
    file.commit().map(drop)
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(PARTIAL_SUFFIX);
    path.with_file_name(name)
}

/// Remove `*.partial` leftovers of interrupted runs; returns their names.
pub fn remove_partials(dir: &Path) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for entry in read_dir(dir)? {
        if entry.ends_with(PARTIAL_SUFFIX) {
            fs::remove_file(dir.join(&entry))
                .map_err(|e| Error::io(format!("cannot remove {entry}"), e))?;
            removed.push(entry);
        }
    }
    Ok(removed)
}

/// The file names in `dir`, sorted.
pub fn read_dir(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries =
        fs::read_dir(dir).map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("cannot read {}", dir.display()), e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_leaves_the_whole_file_and_no_partial() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        write_atomic(&path, b"x,y\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"x,y\n");
        assert_eq!(read_dir(dir.path()).unwrap(), ["a.csv"]);
        fs::write(dir.path().join("b.csv.partial"), "half").unwrap();
        assert_eq!(remove_partials(dir.path()).unwrap(), ["b.csv.partial"]);
        assert_eq!(read_dir(dir.path()).unwrap(), ["a.csv"]);
    }
}
