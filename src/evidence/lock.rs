//! One `sync`, `listen` or `snapshot` at a time per out-dir: an OS file lock, released by the kernel when the process
//! ends in any way (also `kill -9`), so a crash never leaves a stale lock behind.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

use super::LOCK_FILE;

/// Held while a run works on an out-dir. A run that ends without [`DirLock::keep`] (it was
/// refused, or failed before committing anything) removes the lock file and the out-dir if it
/// created them, so a refused run leaves the out-dir as it found it.
#[derive(Debug)]
pub struct DirLock {
    /// Held for its lock, released when the run ends.
    _file: File,
    dir: PathBuf,
    created_dir: bool,
    created_lock: bool,
    kept: bool,
}

impl DirLock {
    /// Create the out-dir if missing (0700) and lock it: how every run that writes an out-dir
    /// starts (what interrupted runs left is removed once the out-dir is known to be one).
    pub fn open_out_dir(dir: &Path) -> Result<DirLock> {
        let created_dir = !dir.exists();
        // Private when this run creates it (0700): it will hold tenant data.
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| Error::usage(format!("cannot create --out-dir {}: {e}", dir.display())))?;
        let mut lock = DirLock::acquire(dir)?;
        lock.created_dir = created_dir;
        Ok(lock)
    }

    /// The run committed (or began to serve): the out-dir and its lock file stay.
    pub fn keep(&mut self) {
        self.kept = true;
    }

    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        // A refused run removes a lock file it created (see `Drop`): a run that opened the
        // file just before may then lock a file no longer in the directory, while another
        // creates and locks a new one. So the lock counts only if the name still leads to the
        // file locked; otherwise try again with the new one.
        for _ in 0..8 {
            let created_lock = !path.exists();
            let file = super::files::open_no_follow(
                &path,
                super::files::private()
                    .create(true)
                    .truncate(false)
                    .write(true),
            )
            .map_err(|e| super::files::open_error(&path, "cannot open the lock file", e))?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => {
                    return Ok(DirLock {
                        _file: file,
                        dir: dir.to_path_buf(),
                        created_dir: false,
                        created_lock,
                        kept: false,
                    });
                }
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => {
                    return Err(Error::usage(format!(
                        "another sync, listen or snapshot is running on {} (it holds {}): wait \
                         for it to finish",
                        dir.display(),
                        path.display()
                    )));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io(format!("cannot lock {}", path.display()), e));
                }
            }
        }
        Err(Error::usage(format!(
            "the lock file {} keeps being replaced: is another program removing it?",
            path.display()
        )))
    }
}

/// Whether `path` names the open `file` (the same device and inode).
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Drop for DirLock {
    /// A run that did not keep the out-dir: the lock file it created is removed while still
    /// held, and the out-dir it created if nothing else is in it.
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        if self.created_lock {
            let _ = std::fs::remove_file(self.dir.join(LOCK_FILE));
        }
        if self.created_dir {
            // Fails, as it should, when anything is in it.
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string()
                .contains("another sync, listen or snapshot is running")
        );
        drop(first);
        assert!(DirLock::acquire(dir.path()).is_ok());
    }
}
