//! Messages on stderr: verbose tracing (`-v`) and warnings. Nothing here ever receives a
//! credential: callers pass paths, statuses and counts only.

use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, Ordering::Relaxed);
}

pub fn is_verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// A trace line, shown with `-v`.
pub fn verbose(message: impl AsRef<str>) {
    if is_verbose() {
        eprintln!("jrnle-audit: {}", message.as_ref());
    }
}

/// A warning, always shown.
pub fn warn(message: impl AsRef<str>) {
    eprintln!("jrnle-audit: warning: {}", message.as_ref());
}

/// A note, always shown (the demo banner, the end-of-run summary).
pub fn note(message: impl AsRef<str>) {
    eprintln!("jrnle-audit: {}", message.as_ref());
}
