//! Holidays for a business calendar (`--holidays FILE`): dates one a line (`2025-12-25`;
//! blank lines and `#` comments allowed, also after a date; a file of none is refused), or an
//! iCalendar file (RFC 5545) read minimally: each `VEVENT`'s all-day
//! `DTSTART;VALUE=DATE:20251225` (or `DTSTART:20251225`), with its `DTEND;VALUE=DATE`
//! (exclusive) or a `DURATION` of whole days for a holiday of several days; `STATUS:CANCELLED`
//! events are left out. An event that repeats (`RRULE`, `RDATE`, `EXDATE`), starts at a time
//! of day, lasts hours, ends before it starts or is cut short is refused, not half read.
//! No crate is taken for this: the full iCalendar grammar (recurrences, time zones) is far
//! more than holidays need, and what is not read is said.

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;

/// The holidays a file lists; the error is one line naming the file and the line.
pub fn read(path: &Path) -> Result<BTreeSet<NaiveDate>, String> {
    let name = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--holidays {name}: cannot read it: {e}"))?;
    let parsed = match text.trim_start_matches('\u{feff}').trim_start() {
        t if t.starts_with("BEGIN:VCALENDAR") => calendar(&unfold(&text)),
        _ => lines(&text),
    };
    let dates = parsed.map_err(|(line, what)| format!("--holidays {name}: line {line}: {what}"))?;
    if dates.is_empty() {
        // An empty list is more likely the wrong file than a year without holidays.
        return Err(format!(
            "--holidays {name}: it lists no holiday (dates such as 2025-12-25, one a line, or \
             all-day iCalendar events): leave --holidays out for none"
        ));
    }
    Ok(dates)
}

type Failure = (usize, String);

/// Dates, one a line.
fn lines(text: &str) -> Result<BTreeSet<NaiveDate>, Failure> {
    let mut out = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        // A comment runs from `#` to the end of the line, on a line of its own or after a date.
        let line = line.split('#').next().unwrap_or("");
        let line = line.trim().trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let date = NaiveDate::parse_from_str(line, "%Y-%m-%d").map_err(|_| {
            (
                n + 1,
                format!("{line:?} is not a date such as 2025-12-25 (or give an iCalendar file)"),
            )
        })?;
        out.insert(date);
    }
    Ok(out)
}

/// iCalendar's folded lines (a line starting with a space or tab continues the one before)
/// joined, each with its line number.
fn unfold(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        match (line.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some((_, last))) => last.push_str(rest),
            _ => out.push((n + 1, line.to_string())),
        }
    }
    out
}

/// One `VEVENT` as read so far.
struct Event {
    /// The line of its `BEGIN:VEVENT`.
    line: usize,
    start: Option<NaiveDate>,
    /// `DTEND` (exclusive), or `DTSTART` plus `DURATION`.
    end: Option<NaiveDate>,
    days: Option<u64>,
    cancelled: bool,
}

impl Event {
    /// Its days, at `END:VEVENT`; none for a cancelled event.
    fn close(self) -> Result<Vec<NaiveDate>, Failure> {
        let first = self
            .start
            .ok_or((self.line, "an event without DTSTART".to_string()))?;
        let end = match (self.end, self.days) {
            (Some(_), Some(_)) => {
                return Err((self.line, "an event with both DTEND and DURATION".into()));
            }
            (Some(end), None) => end,
            (None, Some(days)) => first + chrono::Days::new(days),
            (None, None) => first + chrono::Days::new(1),
        };
        if end <= first {
            return Err((
                self.line,
                "an event whose DTEND is not after its DTSTART".into(),
            ));
        }
        if self.cancelled {
            return Ok(Vec::new());
        }
        Ok(first.iter_days().take_while(|d| *d < end).collect())
    }
}

/// The all-day events of an iCalendar file (`STATUS:CANCELLED` ones left out).
fn calendar(lines: &[(usize, String)]) -> Result<BTreeSet<NaiveDate>, Failure> {
    let mut out = BTreeSet::new();
    let mut event: Option<Event> = None;
    for (n, line) in lines {
        let (head, value) = line.split_once(':').unwrap_or((line, ""));
        let name = head.split(';').next().unwrap_or("").to_ascii_uppercase();
        let is = |what: &str| value.trim().eq_ignore_ascii_case(what);
        match (name.as_str(), &mut event) {
            ("BEGIN", None) if is("VEVENT") => {
                event = Some(Event {
                    line: *n,
                    start: None,
                    end: None,
                    days: None,
                    cancelled: false,
                })
            }
            ("END", Some(_)) if is("VEVENT") => {
                out.extend(
                    event
                        .take()
                        .map(Event::close)
                        .transpose()?
                        .unwrap_or_default(),
                );
            }
            ("DTSTART", Some(e)) => e.start = Some(all_day(*n, head, value)?),
            ("DTEND", Some(e)) => e.end = Some(all_day(*n, head, value)?),
            ("DURATION", Some(e)) => e.days = Some(whole_days(*n, value)?),
            ("STATUS", Some(e)) => e.cancelled = is("CANCELLED"),
            ("RRULE" | "RDATE" | "EXDATE", Some(_)) => {
                return Err((
                    *n,
                    "a repeating event is not read here: list each holiday's date".into(),
                ));
            }
            _ => {}
        }
    }
    if let Some(e) = event {
        return Err((
            e.line,
            "an event without END:VEVENT (the file is cut short?)".into(),
        ));
    }
    Ok(out)
}

/// A `DURATION` of whole days (`P1D`, `P2W`); one with a time part is refused.
fn whole_days(n: usize, value: &str) -> Result<u64, Failure> {
    let v = value.trim();
    let number = |s: &str| s.parse::<u64>().ok().filter(|d| *d > 0);
    let days = match v.strip_prefix('P') {
        Some(d) if d.ends_with('D') => number(&d[..d.len() - 1]),
        Some(w) if w.ends_with('W') => number(&w[..w.len() - 1]).map(|w| w * 7),
        _ => None,
    };
    days.ok_or_else(|| {
        (
            n,
            format!("DURATION:{v} is not whole days (P1D, P2W): holidays are whole days"),
        )
    })
}

/// An all-day date (`20251225`).
fn all_day(n: usize, head: &str, value: &str) -> Result<NaiveDate, Failure> {
    NaiveDate::parse_from_str(value.trim(), "%Y%m%d").map_err(|_| {
        (
            n,
            format!(
                "{head}:{value} is not an all-day date (VALUE=DATE, e.g. 20251225): holidays are \
                 whole days"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn dates_one_a_line_with_comments() {
        let got = lines("# holidays\n2025-12-25 # Christmas\n\n 2025-12-26 \n").unwrap();
        assert_eq!(got, [d("2025-12-25"), d("2025-12-26")].into());
        assert_eq!(lines("2025-12-25\nXmas\n").unwrap_err().0, 2);
    }

    #[test]
    fn icalendar_all_day_events_with_their_ends() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Christmas\r\n \
                   Day\r\nDTSTART;VALUE=DATE:20251225\r\nDTEND;VALUE=DATE:20251227\r\nEND:VEVENT\r\n\
                   BEGIN:VEVENT\r\nDTSTART:20260101\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let got = calendar(&unfold(ics)).unwrap();
        assert_eq!(
            got,
            [d("2025-12-25"), d("2025-12-26"), d("2026-01-01")].into()
        );
    }

    #[test]
    fn durations_cancelled_events_and_cut_files_are_read_as_said() {
        let ics = |body: &str| format!("BEGIN:VCALENDAR\n{body}END:VCALENDAR\n");
        let got = calendar(&unfold(&ics(
            "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20250312\nDURATION:P3D\nEND:VEVENT\n\
             BEGIN:VEVENT\nDTSTART;VALUE=DATE:20250401\nSTATUS:CANCELLED\nEND:VEVENT\n",
        )))
        .unwrap();
        assert_eq!(
            got,
            [d("2025-03-12"), d("2025-03-13"), d("2025-03-14")].into()
        );
        let refused = |body: &str| calendar(&unfold(&ics(body))).unwrap_err().1;
        assert!(
            refused("BEGIN:VEVENT\nDTSTART:20250312\nDURATION:PT4H\nEND:VEVENT\n")
                .contains("whole days")
        );
        assert!(
            refused("BEGIN:VEVENT\nDTSTART:20250312\nDTEND:20250310\nEND:VEVENT\n")
                .contains("not after")
        );
        assert!(refused("BEGIN:VEVENT\nDTSTART:20250312\n").contains("END:VEVENT"));
    }

    #[test]
    fn repeating_and_timed_events_are_refused() {
        let rrule = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20251225\nRRULE:FREQ=YEARLY\nEND:VEVENT\n";
        assert_eq!(calendar(&unfold(rrule)).unwrap_err().0, 4);
        let timed = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20251225T090000Z\nEND:VEVENT\n";
        assert!(calendar(&unfold(timed)).unwrap_err().1.contains("all-day"));
    }

    #[test]
    fn a_file_that_lists_no_holiday_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holidays.txt");
        std::fs::write(&path, "# none this year\n\n").unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.contains("lists no holiday"), "{err}");
        std::fs::write(&path, "2025-12-25\n").unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
    }
}
