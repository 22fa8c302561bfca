//! Where output goes: stdout (the start held back, so a run that fails early prints nothing),
//! a file written under a temporary name and renamed into place only when complete, or
//! something that exists and is not a regular file (a device, a FIFO), written in place.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::console;
use crate::error::{Error, Result};

use super::atomic::AtomicFile;

/// Where output goes: stdout, or a file that appears under its name only when complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
    /// A path that exists and is not a regular file or a directory (`/dev/null`, a FIFO, a
    /// terminal), or that reaches one of the process's own streams (`/dev/stdout`,
    /// `/dev/fd/N`): opened and written where it is. Renaming a file over it, as for a
    /// regular file, would replace the device or the pipe for everyone (as root, `-o
    /// /dev/null` once left the machine a regular file there).
    InPlace(PathBuf),
}

/// A path with its links and `..` resolved: the file itself when it exists, else its directory
/// and its name; `None` when the directory does not exist either.
fn resolved(path: &Path) -> Option<PathBuf> {
    if let Ok(found) = path.canonicalize() {
        return Some(found);
    }
    let name = path.file_name()?;
    Some(parent_dir(path).canonicalize().ok()?.join(name))
}

impl Destination {
    pub fn from_arg(path: Option<&Path>) -> Destination {
        match path {
            None => Destination::Stdout,
            Some(p) if p.as_os_str() == "-" => Destination::Stdout,
            Some(p) if is_in_place(p) => Destination::InPlace(p.to_path_buf()),
            Some(p) => Destination::File(p.to_path_buf()),
        }
    }

    /// The destination's name in messages.
    pub fn name(&self) -> PathBuf {
        match self {
            Destination::Stdout => PathBuf::from("standard output"),
            Destination::File(path) | Destination::InPlace(path) => path.clone(),
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
        if path.is_dir() {
            return Err(Error::usage(format!(
                "--output {} is a directory: give a file name",
                path.display()
            )));
        }
        let dir = parent_dir(path);
        if !dir.is_dir() {
            return Err(Error::usage(format!(
                "output directory {} does not exist: create it or choose another --output",
                dir.display()
            )));
        }
        Ok(())
    }

    /// Refuse, before any work is done, a file that would replace one of the `inputs` (the
    /// input read while its replacement is written, then lost) or land inside an input
    /// directory (a file in an out-dir that no manifest lists, which `verify` refuses).
    pub fn refuse_over(&self, inputs: &[PathBuf]) -> Result<()> {
        let Destination::File(path) = self else {
            return Ok(());
        };
        let Some(out) = resolved(path) else {
            return Ok(());
        };
        for input in inputs {
            let Ok(read) = input.canonicalize() else {
                continue;
            };
            if out == read {
                return Err(Error::usage(format!(
                    "--output {} is an input of this run: write to another file",
                    path.display()
                )));
            }
            if read.is_dir() && out.starts_with(&read) {
                return Err(Error::usage(format!(
                    "--output {} is inside the input directory {}: write elsewhere (a file \
                     there is in no manifest, and verify refuses the out-dir)",
                    path.display(),
                    input.display()
                )));
            }
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
            Destination::InPlace(path) => {
                let file =
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .map_err(|source| Error::Write {
                            path: path.clone(),
                            source,
                        })?;
                Ok(Output::InPlace {
                    out: BufWriter::with_capacity(256 * 1024, file),
                    path: path.clone(),
                })
            }
            Destination::File(path) => {
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
                remove_stale_temporaries(parent_dir(path), name);
                Ok(Output::File(AtomicFile::temporary(path)?))
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
    /// A file written aside and renamed into place ([`AtomicFile`]).
    File(AtomicFile),
    /// A device or FIFO, written as the bytes come (see [`Destination::InPlace`]).
    InPlace {
        out: BufWriter<File>,
        path: PathBuf,
    },
}

impl Output {
    /// The error for a failed write here.
    pub fn error(&self, source: io::Error) -> Error {
        match self {
            Output::Stdout { .. } => Destination::Stdout.error(source),
            Output::File(file) => file.error(source),
            Output::InPlace { path, .. } => Error::Write {
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
            Output::File(file) => file.commit().map(drop),
            Output::InPlace { mut out, path } => out.flush().map_err(|source| Error::Write {
                path: path.clone(),
                source,
            }),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::File(file) => file.write(buf),
            Output::InPlace { out, .. } => out.write(buf),
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
            Output::File(file) => file.flush(),
            Output::InPlace { out, .. } => out.flush(),
            // Held bytes go out on commit.
            Output::Stdout { .. } => Ok(()),
        }
    }
}

/// The temporary files an earlier run writing `name` into `dir` left when it was killed
/// (`.NAME.XXXXXX.tmp`: full audit data, hidden): removed, and said so.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(middle) = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
        else {
            continue;
        };
        // tempfile's random part: six letters and digits; and no live writer (a run writing
        // the same name now holds its lock).
        if middle.len() == 6
            && middle.bytes().all(|b| b.is_ascii_alphanumeric())
            && !written_now(&entry.path())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            console::note(format!(
                "removed {file}, the unfinished output of an interrupted run"
            ));
        }
    }
}

/// Whether another run is writing the temporary file `path` now: it holds the file's lock.
fn written_now(path: &Path) -> bool {
    match File::open(path).map(|f| f.try_lock()) {
        Ok(Ok(())) => false,
        Ok(Err(std::fs::TryLockError::WouldBlock)) => true,
        // Locks not supported, or the file went away: leave it, it is not ours to judge.
        Ok(Err(_)) | Err(_) => true,
    }
}

/// Whether `path` is to be written in place: it exists and is neither a regular file nor a
/// directory, or it is a link under `/dev` or `/proc` (`/dev/stdout` reaching a regular file
/// that the shell redirected stdout to must not be renamed over either).
fn is_in_place(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if meta.is_dir() {
        return false;
    }
    let linked_stream = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink())
        && (path.starts_with("/dev") || path.starts_with("/proc"));
    !meta.is_file() || linked_stream
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
