//! Timestamps: Workfront's colon format, RFC 3339, plain dates, and the UTC rendering of output.
//!
//! Workfront returns `2020-05-18T17:00:00:000-0600`: tenant-local time, a colon before the
//! milliseconds and an offset without a colon (API notes §5). Event payloads use a dot there.
//! The offset changes with daylight saving time, so every instant is converted through the
//! offset it carries, never through an assumed zone.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// The parts of a timestamp: the wall-clock time and, when one was written, its offset.
pub fn parse_parts(s: &str) -> Option<(NaiveDateTime, Option<FixedOffset>)> {
    let b = s.as_bytes();
    if b.len() < 19 || !s.is_ascii() {
        return None;
    }
    let date = parse_date(&s[..10])?;
    if !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (h, m, sec) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let [b':' | b'.' | b',', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&tail[..n])? * 10u32.pow(9 - n as u32);
        rest = &tail[n..];
    }
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nanos)?;
    let offset = match rest {
        [] => None,
        [b'Z' | b'z'] => Some(FixedOffset::east_opt(0)?),
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (hh, mm) = match zone {
                [a, b] => (digits(&[*a, *b])?, 0),
                [a, b, c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                [a, b, b':', c, d] => (digits(&[*a, *b])?, digits(&[*c, *d])?),
                _ => return None,
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = (hh * 3600 + mm * 60) as i32;
            Some(FixedOffset::east_opt(if *sign == b'-' {
                -secs
            } else {
                secs
            })?)
        }
        _ => return None,
    };
    Some((date.and_time(time), offset))
}

/// A timestamp that carries its offset: Workfront's colon format, the dot format, RFC 3339.
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let (naive, offset) = parse_parts(s)?;
    offset?.from_local_datetime(&naive).single()
}

/// A strict `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(
        digits(&b[..4])? as i32,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    )
}

/// A time given by the user (`--since`, `--until`): RFC 3339, Workfront's format, or a date
/// meaning midnight UTC. A time without a zone is refused: it would be read in whatever zone
/// the reader assumed, and an audit window must not depend on that.
pub fn parse_user_time(s: &str) -> Result<DateTime<Utc>, String> {
    parse_user_time_at(s, Utc::now())
}

/// [`parse_user_time`], also taking a time relative to `now`: `30m`, `36h`, `7d`, `2w` ago.
pub fn parse_user_time_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Some(ago) = relative(t) {
        return now
            .checked_sub_signed(ago)
            .ok_or_else(|| format!("time {s:?} is out of range"));
    }
    if let Some(date) = parse_date(t) {
        return Ok(date.and_time(NaiveTime::MIN).and_utc());
    }
    match parse_parts(t) {
        Some((naive, Some(offset))) => offset
            .from_local_datetime(&naive)
            .single()
            .map(|dt| dt.with_timezone(&Utc))
            .ok_or_else(|| format!("time {s:?} is out of range")),
        Some((_, None)) => Err(format!(
            "time {s:?} has no time zone: add Z or an offset, e.g. {t}Z or {t}+02:00"
        )),
        None if impossible_day(t).is_some() => Err(format!(
            "time {s:?} names a day that does not exist: {}",
            impossible_day(t).unwrap_or_default()
        )),
        None => Err(format!(
            "cannot read time {s:?}: use RFC 3339 (2025-01-07T00:00:00Z, 2025-01-07T09:30:00+02:00), \
             Workfront's format (2025-01-07T09:30:00:000-0600), a date (2025-01-07, midnight UTC) \
             or a time ago (30m, 36h, 7d, 2w)"
        )),
    }
}

/// For a time that starts like a date (`YYYY-MM-DD`) whose month or day cannot be: what is
/// wrong with it, e.g. "February 2025 has 28 days".
fn impossible_day(t: &str) -> Option<String> {
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (
        digits(&b[..4])? as i32,
        digits(&b[5..7])?,
        digits(&b[8..10])?,
    );
    if !(1..=12).contains(&month) {
        return Some(format!(
            "there is no month {month:02} (months are 01 to 12)"
        ));
    }
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let days = next.signed_duration_since(first).num_days() as u32;
    (day == 0 || day > days).then(|| {
        format!(
            "{} {year} has {days} days, so there is no day {day:02}",
            first.format("%B")
        )
    })
}

/// The one output rendering of an instant: UTC, always three fraction digits.
pub fn format_utc_ms(dt: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(24);
    write_utc_ms(&mut out, dt);
    out
}

/// [`format_utc_ms`] into a buffer, digit by digit: this runs once or more per exported row.
/// Years outside 0..=9999 (which Workfront never sends) fall back to chrono's formatting.
pub fn write_utc_ms(out: &mut String, dt: &DateTime<Utc>) {
    if !write_fields(out, dt, b'.') {
        out.push_str(&dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
        return;
    }
    out.push('Z');
}

/// `YYYY-MM-DDTHH:MM:SS`, `sep`, three digits of milliseconds; `false` (and nothing written)
/// for a year outside 0..=9999.
fn write_fields<T: chrono::Datelike + chrono::Timelike>(out: &mut String, t: &T, sep: u8) -> bool {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return false;
    }
    let ms = (t.nanosecond() / 1_000_000).min(999);
    let mut buf = *b"0000-00-00T00:00:00.000";
    buf[19] = sep;
    put_digits(&mut buf[0..4], year as u32);
    put_digits(&mut buf[5..7], t.month());
    put_digits(&mut buf[8..10], t.day());
    put_digits(&mut buf[11..13], t.hour());
    put_digits(&mut buf[14..16], t.minute());
    put_digits(&mut buf[17..19], t.second());
    put_digits(&mut buf[20..23], ms);
    out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    true
}

/// `v` in decimal, zero-padded to fill `buf`.
fn put_digits(buf: &mut [u8], mut v: u32) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Workfront's rendering of an instant in a tenant's zone: `2020-05-18T17:00:00:000-0600`.
/// Digit by digit: the simulator renders several per entry it serves.
pub fn format_workfront<Tz: TimeZone>(dt: &DateTime<Utc>, zone: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    use chrono::Offset;
    let local = dt.with_timezone(zone);
    let mut out = String::with_capacity(28);
    if !write_fields(&mut out, &local, b':') {
        return format!(
            "{}:{:03}{}",
            local.format("%Y-%m-%dT%H:%M:%S"),
            local.timestamp_subsec_millis(),
            local.format("%z")
        );
    }
    let offset = local.offset().fix().local_minus_utc();
    out.push(if offset < 0 { '-' } else { '+' });
    let minutes = offset.unsigned_abs() / 60;
    let mut hhmm = *b"0000";
    put_digits(&mut hhmm[0..2], minutes / 60);
    put_digits(&mut hhmm[2..4], minutes % 60);
    out.push_str(std::str::from_utf8(&hhmm).unwrap_or_default());
    out
}

/// `30m`, `36h`, `7d`, `2w`: a span back from now.
fn relative(t: &str) -> Option<chrono::Duration> {
    let unit = t.chars().last()?;
    let n: i64 = t[..t.len() - unit.len_utf8()].parse().ok()?;
    if n < 0 || !t.as_bytes()[0].is_ascii_digit() {
        return None;
    }
    match unit {
        'm' => chrono::Duration::try_minutes(n),
        'h' => chrono::Duration::try_hours(n),
        'd' => chrono::Duration::try_days(n),
        'w' => chrono::Duration::try_weeks(n),
        _ => None,
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Denver;

    fn utc(s: &str) -> String {
        format_utc_ms(&parse_timestamp(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn an_impossible_day_is_named() {
        let err = parse_user_time("2025-02-30").unwrap_err();
        assert!(
            err.contains("February 2025 has 28 days, so there is no day 30"),
            "{err}"
        );
        let err = parse_user_time("2024-02-30T00:00:00Z").unwrap_err();
        assert!(err.contains("February 2024 has 29 days"), "{err}");
        let err = parse_user_time("2025-13-01").unwrap_err();
        assert!(err.contains("no month 13"), "{err}");
        // Not a date at all: the general message.
        assert!(
            parse_user_time("yesterday")
                .unwrap_err()
                .contains("cannot read time")
        );
        assert!(parse_user_time("2024-02-29").is_ok());
    }

    #[test]
    fn workfront_colon_format_converts_through_its_offset() {
        assert_eq!(
            utc("2020-05-18T17:00:00:000-0600"),
            "2020-05-18T23:00:00.000Z"
        );
        assert_eq!(
            utc("2020-01-18T17:00:00:123-0700"),
            "2020-01-19T00:00:00.123Z"
        );
        assert_eq!(
            utc("2017-10-06T13:36:28.722-0600"),
            "2017-10-06T19:36:28.722Z"
        );
    }

    #[test]
    fn rfc3339_forms_parse() {
        assert_eq!(utc("2025-01-07T00:00:00Z"), "2025-01-07T00:00:00.000Z");
        assert_eq!(utc("2025-01-07T09:30:00+02:00"), "2025-01-07T07:30:00.000Z");
        assert_eq!(
            utc("2025-01-07T09:30:00.5+0530"),
            "2025-01-07T04:00:00.500Z"
        );
        assert_eq!(
            utc("2025-01-07t09:30:00.123456789z"),
            "2025-01-07T09:30:00.123Z"
        );
    }

    #[test]
    fn repeated_autumn_hour_is_told_apart_by_offset() {
        // 2025-11-02 01:30 happens twice in Denver: first at -0600, then at -0700.
        assert_eq!(
            utc("2025-11-02T01:30:00:000-0600"),
            "2025-11-02T07:30:00.000Z"
        );
        assert_eq!(
            utc("2025-11-02T01:30:00:000-0700"),
            "2025-11-02T08:30:00.000Z"
        );
    }

    #[test]
    fn workfront_rendering_follows_daylight_saving() {
        let summer = parse_user_time("2025-07-01T12:00:00.007Z").unwrap();
        let winter = parse_user_time("2025-01-01T12:00:00Z").unwrap();
        assert_eq!(
            format_workfront(&summer, &Denver),
            "2025-07-01T06:00:00:007-0600"
        );
        assert_eq!(
            format_workfront(&winter, &Denver),
            "2025-01-01T05:00:00:000-0700"
        );
        let first = parse_user_time("2025-11-02T07:30:00Z").unwrap();
        let second = parse_user_time("2025-11-02T08:30:00Z").unwrap();
        assert_eq!(
            format_workfront(&first, &Denver),
            "2025-11-02T01:30:00:000-0600"
        );
        assert_eq!(
            format_workfront(&second, &Denver),
            "2025-11-02T01:30:00:000-0700"
        );
        assert_eq!(
            format_workfront(&summer, &chrono_tz::Asia::Kolkata),
            "2025-07-01T17:30:00:007+0530"
        );
        assert_eq!(
            format_workfront(&winter, &chrono_tz::UTC),
            "2025-01-01T12:00:00:000+0000"
        );
        // And back: rendering then parsing is the identity.
        for dt in [summer, winter, first, second] {
            let back = parse_timestamp(&format_workfront(&dt, &Denver)).unwrap();
            assert_eq!(back.with_timezone(&Utc), dt);
        }
    }

    #[test]
    fn the_fast_writer_agrees_with_chrono() {
        for ms in [
            0i64,
            1,
            999,
            1_736_208_000_123,
            253_402_300_799_999,
            -1,
            4_102_444_800_000,
        ] {
            let dt = DateTime::<Utc>::from_timestamp_millis(ms).unwrap();
            assert_eq!(
                format_utc_ms(&dt),
                dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
                "{ms}"
            );
        }
    }

    #[test]
    fn user_time_accepts_dates_as_midnight_utc() {
        let t = parse_user_time("2025-01-07").unwrap();
        assert_eq!(format_utc_ms(&t), "2025-01-07T00:00:00.000Z");
        let t = parse_user_time("2020-05-18T17:00:00:000-0600").unwrap();
        assert_eq!(format_utc_ms(&t), "2020-05-18T23:00:00.000Z");
    }

    #[test]
    fn relative_times_count_back_from_now() {
        let now = parse_user_time("2025-01-08T12:00:00Z").unwrap();
        let at = |s| format_utc_ms(&parse_user_time_at(s, now).unwrap());
        assert_eq!(at("7d"), "2025-01-01T12:00:00.000Z");
        assert_eq!(at("36h"), "2025-01-07T00:00:00.000Z");
        assert_eq!(at("90m"), "2025-01-08T10:30:00.000Z");
        assert_eq!(at("1w"), "2025-01-01T12:00:00.000Z");
        assert_eq!(at("0d"), "2025-01-08T12:00:00.000Z");
        for bad in ["7", "d", "-7d", "+7d", "7y", "7 d", "99999999999999d"] {
            assert!(parse_user_time_at(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_time_without_zone_is_refused_with_a_hint() {
        let err = parse_user_time("2025-01-07T10:00:00").unwrap_err();
        assert!(err.contains("no time zone"), "{err}");
        assert!(err.contains("2025-01-07T10:00:00Z"), "{err}");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-02-30",
            "2025-01-07T25:00:00Z",
            "2025-01-07T10:00:00+2400",
            "2025-01-07T10:00:00:Z",
            "2025-01-07T10:00:00.1234567890Z",
            "2025-01-07T10:00:00Zjunk",
            "２０２５-01-07",
            "2025-1-7",
        ] {
            assert!(parse_user_time(bad).is_err(), "{bad:?} should be refused");
            assert!(parse_timestamp(bad).is_none(), "{bad:?} should be refused");
        }
    }
}
