//! Ctrl-C and SIGTERM: a run that is stopped removes the files it had not finished (an
//! output's temporary file, a sync's `.partial`), says so in one line and exits 130 or 143.
//! `kill -9` cannot be caught: the next run into the directory removes what it left.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

use signal_hook::consts::{SIGINT, SIGTERM};

/// The unfinished files of this process. Held while a file is settled (committed or given
/// up), so a signal never removes a file half way through its commit.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// How many files this process renamed into place: a signal after the last commit, while the
/// run says what it wrote, must not say that nothing was committed.
static COMMITTED: AtomicUsize = AtomicUsize::new(0);

/// Remove the pending files on SIGINT or SIGTERM and exit `128 + signal`. Once per process;
/// for the commands that write files.
pub fn watch() {
    watch_saying(COMMITTED_NOTHING);
}

/// What a stop leaves, for the commands that commit at the end.
const COMMITTED_NOTHING: &str = "nothing committed by this run";

/// [`watch`], the line ending with what a stop leaves (`load` commits manifest by manifest).
pub fn watch_saying(left: &'static str) {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
                for path in pending.iter() {
                    // A file, or a directory written whole (`export --partition-by`).
                    match path.is_dir() {
                        true => std::fs::remove_dir_all(path),
                        false => std::fs::remove_file(path),
                    }
                    .ok();
                }
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                // On a line of its own, not after the progress bar.
                crate::console::clear_progress();
                let line = stop_line(name, pending.len(), left, COMMITTED.load(Ordering::SeqCst));
                eprintln!("jrnle-audit: {line}");
                std::process::exit(128 + signal);
            }
        });
    });
}

/// The line a stop prints: what it removed, and what the run leaves.
fn stop_line(signal: &str, unfinished: usize, left: &str, committed: usize) -> String {
    let removed = match unfinished {
        // A command that writes no file (load) has nothing to say of files.
        0 if left != COMMITTED_NOTHING => String::new(),
        1 => "1 unfinished file removed, ".to_string(),
        n => format!("{n} unfinished files removed, "),
    };
    if left != COMMITTED_NOTHING || committed == 0 {
        return format!("interrupted by {signal}: {removed}{left}");
    }
    match unfinished {
        // The signal came after the output was renamed into place: it is whole.
        0 => format!(
            "interrupted by {signal}: the output was committed before the signal and is complete"
        ),
        _ => format!(
            "interrupted by {signal}: {removed}{} before the signal",
            crate::console::plural(committed as u64, "file committed", "files committed")
        ),
    }
}

/// A file being written, removed if a signal stops the run; dropping it stops watching.
#[derive(Debug)]
pub struct Unfinished(PathBuf);

impl Unfinished {
    /// Create a file with `create` (which returns it and its path) and watch it at once: a
    /// signal between the two would leave the file behind. The signal waits for both.
    pub fn create<T>(
        create: impl FnOnce() -> std::io::Result<(T, PathBuf)>,
    ) -> std::io::Result<(T, Unfinished)> {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let (made, path) = create()?;
        pending.push(path.clone());
        Ok((made, Unfinished(path)))
    }

    pub fn new(path: &Path) -> Unfinished {
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.to_path_buf());
        Unfinished(path.to_path_buf())
    }

    /// Run `commit` (the rename into place) where no signal can remove the file half way.
    pub fn settle<T>(self, commit: impl FnOnce() -> T) -> T {
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        let out = commit();
        // Counted whether or not the rename succeeded: a failed one ends the run with its
        // error before a signal could be the reason it stopped.
        COMMITTED.fetch_add(1, Ordering::SeqCst);
        pending.retain(|p| p != &self.0);
        drop(pending);
        std::mem::forget(self);
        out
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        PENDING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| p != &self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_says_what_it_removed_and_whether_the_output_was_committed() {
        assert_eq!(
            stop_line("SIGINT", 1, COMMITTED_NOTHING, 0),
            "interrupted by SIGINT: 1 unfinished file removed, nothing committed by this run"
        );
        assert_eq!(
            stop_line("SIGINT", 0, COMMITTED_NOTHING, 1),
            "interrupted by SIGINT: the output was committed before the signal and is complete"
        );
        assert_eq!(
            stop_line("SIGINT", 1, COMMITTED_NOTHING, 2),
            "interrupted by SIGINT: 1 unfinished file removed, 2 files committed before the signal"
        );
        let load = "the manifests loaded stay loaded";
        assert_eq!(
            stop_line("SIGTERM", 0, load, 3),
            format!("interrupted by SIGTERM: {load}")
        );
    }
}
