//! Crash-safe file writing for the out-dir (the one atomic writer, [`AtomicFile`], under
//! `<name>.partial`), and cleanup of what interrupted runs left.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use crate::error::{Error, Result};
use crate::evidence::verify::finding::{Finding, Kind};

use super::PARTIAL_SUFFIX;

pub use crate::output::atomic::{AtomicFile, private};

/// Open an evidence file without following a link (`O_NOFOLLOW`): a symbolic link where
/// evidence should be fails with [`is_link`], so nothing is read or written outside the
/// out-dir through one.
pub fn open_no_follow(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking only for the open: a FIFO planted where evidence should be must not hang
    // the run (a regular file ignores the flag).
    options
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

/// The bytes of an evidence file, read without following a link; anything but a regular file
/// (a FIFO, a device, a directory) is refused, never read.
pub fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open_no_follow(path, OpenOptions::new().read(true))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The size and SHA-256 (hex) of an evidence file, read a MiB at a time without following a
/// link (a data file can be gigabytes: it is never held whole); anything but a regular file
/// is refused, never read.
pub fn hash_no_follow(path: &Path) -> io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    let mut file = open_no_follow(path, OpenOptions::new().read(true))?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let (mut hasher, mut size, mut buf) = (Sha256::new(), 0u64, vec![0u8; 1 << 20]);
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, crate::digest::hex(&hasher.finalize())))
}

/// Whether an error is a link refused by [`open_no_follow`].
pub fn is_link(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// The finding for an evidence file that could not be read.
pub fn unreadable(name: &str, e: &io::Error) -> Finding {
    let (kind, detail) = if is_link(e) {
        (
            Kind::Link,
            "a symbolic link where evidence should be (never followed)".to_string(),
        )
    } else {
        (Kind::Unreadable, format!("cannot read: {e}"))
    };
    Finding::new(Some(name.to_string()), kind, detail)
}

/// The error for an evidence file that could not be opened: a link where evidence should be
/// is altered evidence (exit 5, naming it); anything else an I/O error (`what` it was for).
pub fn open_error(path: &Path, what: &str, e: io::Error) -> Error {
    if is_link(&e) {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        Error::Verify {
            dir: path
                .parent()
                .map_or_else(String::new, |d| d.display().to_string()),
            problems: vec![unreadable(&name, &e).to_string()],
        }
    } else {
        Error::io(format!("{what} {}", path.display()), e)
    }
}

/// Write `bytes` to `path` all or nothing (see [`AtomicFile`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = AtomicFile::partial(path)?;
    file.write_all(bytes).map_err(|e| file.error(e))?;
    file.commit().map(drop)
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
