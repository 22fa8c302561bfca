//! Messages on stderr: the progress bar, notes, warnings and `-v`/`-vv` tracing, at the level
//! `-q`/`-v` set. Nothing here ever receives a credential: callers pass paths, statuses and
//! counts only.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// 0 = quiet (errors only), 1 = normal, 2 = `-v`, 3 = `-vv`.
static LEVEL: AtomicU8 = AtomicU8::new(1);

pub fn set_level(quiet: bool, verbose: u8) {
    let level = if quiet { 0 } else { 1 + verbose.min(2) };
    LEVEL.store(level, Ordering::Relaxed);
}

fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

pub fn is_verbose() -> bool {
    level() >= 2
}

/// A trace line, shown with `-v`: requests, retries.
pub fn verbose(message: impl AsRef<str>) {
    if level() >= 2 {
        eprintln!("jrnle-audit: {}", message.as_ref());
    }
}

/// A detail, shown with `-vv`: window planning.
pub fn debug(message: impl AsRef<str>) {
    if level() >= 3 {
        eprintln!("jrnle-audit: {}", message.as_ref());
    }
}

/// A warning; silenced by `-q`.
pub fn warn(message: impl AsRef<str>) {
    if level() >= 1 {
        eprintln!("jrnle-audit: warning: {}", message.as_ref());
    }
}

/// A note (the demo banner, the end-of-run summary); silenced by `-q`.
pub fn note(message: impl AsRef<str>) {
    if level() >= 1 {
        eprintln!("jrnle-audit: {}", message.as_ref());
    }
}

/// A progress bar for `what` (e.g. "entries"): drawn on stderr only when stderr is a terminal
/// and not silenced, so nothing of it reaches files, pipes or logs.
pub fn progress_bar(what: &str) -> indicatif::ProgressBar {
    if level() == 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(0),
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    let template = format!(
        "{{spinner}} [{{bar:30}}] {{human_pos}}/{{human_len}} {what} {{per_sec}} ETA {{eta}}"
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
