//! The one atomic file writer, for `-o` outputs and for evidence: bytes go to a temporary file
//! beside the target (mode 0600), created new (never through a link planted there), and are
//! renamed into place only on [`AtomicFile::commit`], after an fsync, so the target either does
//! not exist or holds every byte. Given up, dropped, or stopped by a signal, the temporary file
//! is removed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::interrupt::Unfinished;

/// The suffix of an evidence file being written (`<name>.partial`).
pub const PARTIAL_SUFFIX: &str = ".partial";

/// A file being written aside; see the module doc.
pub struct AtomicFile {
    path: PathBuf,
    temp: PathBuf,
    /// `None` once committed or abandoned.
    out: Option<BufWriter<File>>,
    /// The SHA-256 of what was written (evidence files record it in their manifest).
    hasher: Option<Sha256>,
    size: u64,
    /// Removed by a signal before it is committed.
    unfinished: Option<Unfinished>,
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
    /// Write `path` under `<path>.partial`, hashing what is written: for an out-dir, whose lock
    /// keeps other writers out and whose next run removes what a killed one left. Whatever is
    /// at the partial name (a killed run's file, a planted link) is replaced, never followed.
    pub fn partial(path: &Path) -> Result<AtomicFile> {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(PARTIAL_SUFFIX);
        let temp = path.with_file_name(name);
        let fail = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        match fs::remove_file(&temp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(fail(e)),
            _ => {}
        }
        let (file, unfinished) = Unfinished::create(|| {
            let file = private().write(true).create_new(true).open(&temp)?;
            Ok((file, temp.clone()))
        })
        .map_err(fail)?;
        Ok(AtomicFile::over(
            path,
            temp,
            file,
            unfinished,
            Some(Sha256::new()),
        ))
    }

    /// Write `path` under a fresh hidden name beside it (`.<name>.XXXXXX.tmp`), locked while
    /// written: for `-o`, where two runs may write the same name at once and each must know
    /// the other's temporary file is live.
    pub fn temporary(path: &Path) -> Result<AtomicFile> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let ((file, temp), unfinished) = Unfinished::create(|| {
            let (file, temp) = tempfile::Builder::new()
                .prefix(&format!(".{name}."))
                .suffix(".tmp")
                .tempfile_in(dir)
                .and_then(|t| t.keep().map_err(|e| e.error))?;
            Ok(((file, temp.clone()), temp))
        })
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        // Another run writing the same name sees the lock and leaves the file alone (the OS
        // drops the lock when a run dies).
        let _ = file.try_lock();
        Ok(AtomicFile::over(path, temp, file, unfinished, None))
    }

    fn over(
        path: &Path,
        temp: PathBuf,
        file: File,
        unfinished: Unfinished,
        hasher: Option<Sha256>,
    ) -> AtomicFile {
        AtomicFile {
            path: path.to_path_buf(),
            unfinished: Some(unfinished),
            temp,
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            hasher,
            size: 0,
        }
    }

    /// Where the file lands.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The error for a failed write to this file.
    pub fn error(&self, source: io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }

    /// Give the file up: nothing of it lands, and its temporary file goes.
    pub fn abandon(self) {
        drop(self);
    }

    /// Flush, fsync, rename into place, fsync the directory. Returns the size and, for a
    /// hashed file, the SHA-256 (empty otherwise).
    pub fn commit(mut self) -> Result<(u64, String)> {
        let fail = |source| Error::Write {
            path: self.path.clone(),
            source,
        };
        let out = self.out.take().expect("an open file");
        let file = out.into_inner().map_err(|e| fail(e.into_error()))?;
        file.sync_all().map_err(fail)?;
        drop(file);
        let unfinished = self.unfinished.take().expect("an unfinished file");
        if let Err(e) = unfinished.settle(|| fs::rename(&self.temp, &self.path)) {
            let _ = fs::remove_file(&self.temp);
            return Err(fail(e));
        }
        if let Some(dir) = self.path.parent()
            && let Ok(d) = File::open(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
        {
            let _ = d.sync_all();
        }
        let sha = self
            .hasher
            .take()
            .map_or_else(String::new, |h| crate::digest::hex(&h.finalize()));
        Ok((self.size, sha))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let out = self.out.as_mut().expect("an open file");
        let n = out.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.as_mut().map_or(Ok(()), |o| o.flush())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_file_lands_whole_with_its_hash_and_never_follows_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.txt");
        fs::write(&outside, "keep").unwrap();
        let path = dir.path().join("a.csv");
        std::os::unix::fs::symlink(&outside, dir.path().join("a.csv.partial")).unwrap();
        let mut file = AtomicFile::partial(&path).unwrap();
        file.write_all(b"x,y\n").unwrap();
        let (size, sha) = file.commit().unwrap();
        assert_eq!(
            (size, sha.as_str()),
            (4, crate::digest::sha256_hex(b"x,y\n").as_str())
        );
        assert_eq!(fs::read(&path).unwrap(), b"x,y\n");
        assert_eq!(fs::read(&outside).unwrap(), b"keep");
        assert!(!dir.path().join("a.csv.partial").exists());
    }

    #[test]
    fn a_dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for open in [AtomicFile::partial, AtomicFile::temporary] {
            let mut file = open(&dir.path().join("b.csv")).unwrap();
            file.write_all(b"half").unwrap();
            drop(file);
            assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }
}
