//! Messages on stderr: the progress bar, notes, warnings and `-v`/`-vv` logs (`tracing`
//! events, shown by a subscriber installed for `-v`), at the level `-q`/`-v` set. Nothing here
//! ever receives a credential: callers pass paths, statuses and counts only.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// 0 = quiet (errors only), 1 = normal, 2 = `-v`, 3 = `-vv`.
static LEVEL: AtomicU8 = AtomicU8::new(1);

pub fn set_level(quiet: bool, verbose: u8) {
    let level = if quiet { 0 } else { 1 + verbose.min(2) };
    LEVEL.store(level, Ordering::Relaxed);
    if level >= 2 {
        let max = if level >= 3 {
            tracing::Level::DEBUG
        } else {
            tracing::Level::INFO
        };
        // This crate's events only: the HTTP libraries' own debug logs stay out.
        use tracing_subscriber::prelude::*;
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
            .without_time()
            .with_filter(
                tracing_subscriber::filter::Targets::new().with_target("jrnle_audit", max),
            );
        // One subscriber per process; a second call (tests) keeps the first.
        let _ = tracing_subscriber::registry().with(layer).try_init();
    }
}

fn level() -> u8 {
    LEVEL.load(Ordering::Relaxed)
}

/// A log line, shown with `-v`: requests, retries.
pub fn verbose(message: impl AsRef<str>) {
    if level() >= 2 {
        tracing::info!("{}", message.as_ref());
    }
}

/// A detail, shown with `-vv`: window planning.
pub fn debug(message: impl AsRef<str>) {
    if level() >= 3 {
        tracing::debug!("{}", message.as_ref());
    }
}

/// A warning; silenced by `-q`.
pub fn warn(message: impl AsRef<str>) {
    if level() >= 1 {
        eprintln!("jrnle-audit: warning: {}", message.as_ref());
    }
}

/// A finding about evidence (`verify`): shown also with `-q`, which silences summaries, not
/// findings.
pub fn finding(message: impl AsRef<str>) {
    eprintln!("jrnle-audit: {}", message.as_ref());
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
    let template =
        format!("{{spinner}} [{{bar:30}}] {{human_pos}}/{{human_len}} {what} {{rate}} ETA {{eta}}");
    if let Ok(style) = indicatif::ProgressStyle::with_template(&template) {
        // A whole number of entries a second, with the bar's thousands separators.
        let style = style.with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(
                    w,
                    "{}/s",
                    indicatif::HumanCount(state.per_sec().round() as u64)
                );
            },
        );
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// `1 entry`, `2 entries`, `1,534 entries`: a count with its noun in the right number, with
/// the progress bar's thousands separators.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        indicatif::HumanCount(n),
        if n == 1 { one } else { many }
    )
}

/// A JSON summary: one line on stderr, also with `-q` (it was asked for).
pub fn summary_json(value: &serde_json::Value) {
    eprintln!("{value}");
}
