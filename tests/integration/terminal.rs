//! The progress line as a terminal shows it: a pseudo-terminal (`script`) of a known width,
//! what the run draws replayed on a small screen model, the answers held by the simulator so
//! that what must happen before them does.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use jrnle_audit::simulator::SimHandle;
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

/// The pseudo-terminal's width.
const COLUMNS: usize = 100;

/// An export into `out` on a pseudo-terminal `COLUMNS` wide; what it draws is collected.
struct OnTerminal {
    child: Child,
    drawn: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl OnTerminal {
    fn export(sim: &SimHandle, out: &std::path::Path) -> Option<OnTerminal> {
        tool(&["script"], &["--version"])?;
        let command = format!(
            "stty cols {COLUMNS} rows 30 echoctl; exec {} export -o {}",
            env!("CARGO_BIN_EXE_jrnle-audit"),
            out.display()
        );
        let mut child = Command::new("script")
            .args(["-qfec", &command, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TERM", "xterm")
            .env("WORKFRONT_URL", &sim.url)
            .env("WORKFRONT_API_KEY", KEY)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let (drawn, reader) = gather(child.stdout.take().unwrap());
        Some(OnTerminal {
            child,
            drawn,
            reader: Some(reader),
        })
    }

    fn shown(&self, needle: &str) -> bool {
        String::from_utf8_lossy(&self.drawn.lock().unwrap()).contains(needle)
    }

    /// Type Ctrl-C: the terminal echoes `^C` and sends SIGINT, as at a keyboard.
    fn ctrl_c(&mut self) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"\x03").unwrap();
        stdin.flush().unwrap();
    }

    /// Wait for the end; its exit status and the screen's rows as they are left.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let drawn = String::from_utf8_lossy(&self.drawn.lock().unwrap()).into_owned();
        (status, screen(&drawn, COLUMNS))
    }
}

/// The rows a terminal `width` columns wide shows after `drawn`: characters written at the
/// cursor, wrapping past the last column; `\r`, `\n` (a new line from its start), erase in line (`ESC [ 2 K`) and cursor
/// up (`ESC [ n A`); other escape sequences draw nothing.
fn screen(drawn: &str, width: usize) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = drawn.chars();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            // A terminal's output is translated from `\n` to `\r\n` (ONLCR).
            '\n' => (row, col) = (row + 1, 0),
            '\u{1b}' => {
                let mut seq = String::new();
                for c in chars.by_ref() {
                    seq.push(c);
                    if c.is_ascii_alphabetic() && c != '[' {
                        break;
                    }
                }
                if seq == "[2K" {
                    rows[row].clear();
                } else if let Some(n) = seq.strip_prefix('[').and_then(|s| s.strip_suffix('A')) {
                    row = row.saturating_sub(n.parse().unwrap_or(1));
                }
            }
            c => {
                if col == width {
                    (row, col) = (row + 1, 0);
                }
                while rows.len() <= row {
                    rows.push(Vec::new());
                }
                let line = &mut rows[row];
                if line.len() <= col {
                    line.resize(col + 1, ' ');
                }
                line[col] = c;
                col += 1;
            }
        }
        while rows.len() <= row {
            rows.push(Vec::new());
        }
    }
    rows.into_iter()
        .map(|r| r.into_iter().collect::<String>().trim_end().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

#[test]
fn the_screen_model_wraps_erases_and_moves_up() {
    assert_eq!(screen("abcdef", 4), ["abcd", "ef"]);
    assert_eq!(screen("bar\r\x1b[2Kdone\n", 10), ["done"]);
    assert_eq!(screen("abcd^C\r\x1b[2Kmsg\n", 4), ["abcd", "msg"]);
    assert_eq!(screen("one\ntwo\x1b[1A\r\x1b[2K", 10), ["two"]);
}

#[test]
fn the_progress_line_shows_before_any_answer_and_the_summary_gets_its_own_line() {
    let sim = sim(&generate(20_000, 4));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    // No answer comes until the progress line has been seen.
    sim.simulator.hold_answers();
    let Some(run) = OnTerminal::export(&sim, &out) else {
        return;
    };
    wait_until("the progress line, while every answer is held", || {
        run.shown("ETA estimating")
    });
    // Every answer is held: the line came before any of them, and the run is not done.
    assert!(!out.exists());
    sim.simulator.release_answers();
    let (status, rows) = run.finish();
    assert!(status.success(), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("jrnle-audit: wrote 20,000 entries")),
        "the summary shares its line: {rows:?}"
    );
    assert!(!rows.iter().any(|r| r.contains("ETA")), "{rows:?}");
}

#[test]
fn ctrl_c_takes_the_progress_line_off_the_screen_before_saying_so() {
    let sim = sim(&generate(20_000, 4));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    sim.simulator.hold_answers();
    let Some(mut run) = OnTerminal::export(&sim, &out) else {
        return;
    };
    wait_until("the progress line", || run.shown("ETA estimating"));
    run.ctrl_c();
    // What the screen shows (`script` passes the child's end on in its own way).
    let (_, rows) = run.finish();
    sim.simulator.release_answers();
    assert!(
        rows.iter()
            .any(|r| r.starts_with("jrnle-audit: interrupted by SIGINT")),
        "{rows:?}"
    );
    assert!(
        !rows.iter().any(|r| r.contains("ETA")),
        "the progress line is still on the screen: {rows:?}"
    );
}
