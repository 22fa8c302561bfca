//! Messages on stderr: the progress bar, notes, warnings and `-v`/`-vv` logs (`tracing`
//! events, shown by a subscriber installed for `-v`), at the level `-q`/`-v` set. Nothing here
//! ever receives a credential: callers pass paths, statuses and counts only.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

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

/// The progress bar on the terminal, if one is drawn: every line printed on stderr goes
/// around it (the bar is taken off, the line printed, the bar drawn again below), so a
/// message never lands on the bar's line.
static ACTIVE: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// Print one line on stderr, around the progress bar if one is drawn.
pub fn line(text: impl AsRef<str>) {
    let active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match active {
        Some(bar) if !bar.is_finished() => bar.suspend(|| eprintln!("{}", text.as_ref())),
        _ => eprintln!("{}", text.as_ref()),
    }
}

/// Take the progress bar off the terminal for good (before the summary, an error or an
/// interrupt message).
pub fn clear_progress() {
    if let Some(bar) = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).take() {
        bar.finish_and_clear();
    }
}

/// A warning; silenced by `-q`.
pub fn warn(message: impl AsRef<str>) {
    if level() >= 1 {
        line(format!("jrnle-audit: warning: {}", message.as_ref()));
    }
}

/// A finding about evidence (`verify`): shown also with `-q`, which silences summaries, not
/// findings.
pub fn finding(message: impl AsRef<str>) {
    line(format!("jrnle-audit: {}", message.as_ref()));
}

/// A note (the demo banner, the end-of-run summary); silenced by `-q`.
pub fn note(message: impl AsRef<str>) {
    if level() >= 1 {
        line(format!("jrnle-audit: {}", message.as_ref()));
    }
}

/// A progress bar for `what` (e.g. "entries"): drawn on stderr only when stderr is a terminal
/// and not silenced, so nothing of it reaches files, pipes or logs.
pub fn progress_bar(what: &str) -> indicatif::ProgressBar {
    if level() == 0 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    // No length until the counts are in: an empty bar, not a full one at 0/0.
    let bar = indicatif::ProgressBar::with_draw_target(
        None,
        indicatif::ProgressDrawTarget::term_like_with_hz(
            Box::new(Narrow(::console::Term::stderr())),
            10,
        ),
    );
    // At most 76 columns with seven-digit counts, so it fits an 80-column terminal with room
    // for the `^C` a terminal echoes: a line that wraps cannot be taken off the screen whole.
    let template =
        format!("{{spinner}} [{{bar:20}}] {{human_pos}}/{{human_len}} {what} {{rate}} ETA {{eta}}");
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
        // indicatif's own ETA extrapolates from the first moments of a run, when only the
        // planning requests (counts, probes) have come back: it said 11 to 16 minutes for a
        // 60 s export. This one waits for a measured rate.
        let first: std::sync::Arc<Mutex<Option<(Instant, u64)>>> = Default::default();
        let style = style.with_key(
            "eta",
            move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
                if first.is_none() && state.pos() > 0 {
                    *first = Some((Instant::now(), state.pos()));
                }
                let measured = first.map(|(at, pos)| (at.elapsed(), state.pos() - pos));
                let _ = w.write_str(&eta_text(state.pos(), state.len(), measured));
            },
        );
        bar.set_style(style.progress_chars("=> "));
    }
    // Drawn at once, and kept moving while the first answers are awaited.
    bar.enable_steady_tick(Duration::from_millis(100));
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
    bar
}

/// stderr, said to be two columns narrower than it is. indicatif pads the bar's line to the
/// terminal's width, which leaves the cursor in the last column; the `^C` a terminal echoes
/// on Ctrl-C then wraps onto a new line, and clearing that line left the bar on screen above
/// the interrupt message. Two columns spare, the echo stays on the bar's line.
#[derive(Debug)]
struct Narrow(::console::Term);

impl indicatif::TermLike for Narrow {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(2).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// How long a rate must be measured, and over how much of the work, before an ETA is given.
const ETA_AFTER: Duration = Duration::from_secs(3);
const ETA_AFTER_PERMILLE: u64 = 50;

/// The ETA shown: "estimating" until the rate has been measured for [`ETA_AFTER`] since the
/// first progress and over 5% of the work, then the remaining work at that rate, e.g. `1m 05s`.
/// `measured` is the time since the first progress and the progress made since.
pub fn eta_text(done: u64, total: Option<u64>, measured: Option<(Duration, u64)>) -> String {
    let (Some(total), Some((elapsed, progress))) = (total, measured) else {
        return "estimating".into();
    };
    if elapsed < ETA_AFTER || progress == 0 || done * 1000 < total * ETA_AFTER_PERMILLE {
        return "estimating".into();
    }
    let rate = progress as f64 / elapsed.as_secs_f64();
    let left = (total.saturating_sub(done) as f64 / rate).round() as u64;
    match left {
        0..60 => format!("{left}s"),
        60..3600 => format!("{}m {:02}s", left / 60, left % 60),
        _ => format!("{}h {:02}m", left / 3600, left % 3600 / 60),
    }
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
    clear_progress();
    line(value.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eta_waits_for_a_measured_rate_then_extrapolates_it() {
        let s = Duration::from_secs;
        // Nothing measured yet, or too short, or too little of the work: estimating.
        assert_eq!(eta_text(0, Some(1000), None), "estimating");
        assert_eq!(eta_text(500, Some(1000), Some((s(2), 500))), "estimating");
        assert_eq!(eta_text(40, Some(1000), Some((s(10), 40))), "estimating");
        assert_eq!(eta_text(100, None, Some((s(10), 100))), "estimating");
        // 100 entries in 10 s since the first page: 900 left take 90 s.
        assert_eq!(eta_text(100, Some(1000), Some((s(10), 100))), "1m 30s");
        // The planning before the first page does not count: the rate is since then.
        assert_eq!(eta_text(600, Some(1000), Some((s(4), 400))), "4s");
        // 5% of a million at 50 a second: 950,000 left take 5 h 16 m 40 s.
        assert_eq!(
            eta_text(50_000, Some(1_000_000), Some((s(1000), 50_000))),
            "5h 16m"
        );
    }
}
