//! One `sync`, `listen` or `snapshot` at a time per out-dir: an OS file lock, released by the kernel when the process
//! ends in any way (also `kill -9`), so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

use super::LOCK_FILE;

/// Held while a run works on an out-dir.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Create the out-dir if missing, lock it, and remove what interrupted runs left
    /// half-written (`.partial` files): how every run that writes an out-dir starts.
    pub fn open_out_dir(dir: &Path) -> Result<DirLock> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::usage(format!("cannot create --out-dir {}: {e}", dir.display())))?;
        let lock = DirLock::acquire(dir)?;
        for name in super::files::remove_partials(dir)? {
            crate::console::note(format!("removed {name}, left by an interrupted run"));
        }
        Ok(lock)
    }

    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open the lock file {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(Error::usage(format!(
                "another sync, listen or snapshot is running on {} (it holds {}): wait for it \
                 to finish",
                dir.display(),
                path.display()
            ))),
            Err(TryLockError::Error(e)) => {
                Err(Error::io(format!("cannot lock {}", path.display()), e))
            }
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
