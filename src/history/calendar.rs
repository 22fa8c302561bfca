//! Business calendars: working hours and days (`--business-hours`, `--business-days`, as the
//! report takes them) and holidays, in one time zone, and the business time between two
//! instants. Each business day's hours are placed in the zone's wall clock, so a day on which
//! daylight saving starts or ends holds the real time between its opening and its closing.

use std::cell::RefCell;
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// When work is expected: `--business-hours` and `--business-days`, in a zone given apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessTime {
    pub start: NaiveTime,
    /// The closing time; `None` for `24:00`, the end of the day (`00:00-24:00`: all day).
    pub end: Option<NaiveTime>,
    pub days: Vec<Weekday>,
}

impl BusinessTime {
    /// `08:00-18:00` and `mon-fri` (or a list, `mon,tue,sat`).
    pub fn parse(hours: &str, days: &str) -> Result<BusinessTime, String> {
        let bad_hours = || format!("--business-hours {hours:?} is not a range such as 08:00-18:00");
        let (a, b) = hours.split_once('-').ok_or_else(bad_hours)?;
        let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad_hours());
        let start = time(a)?;
        let end = match b.trim() {
            "24:00" => None,
            b => Some(time(b)?),
        };
        if end.is_some_and(|end| start >= end) {
            return Err(format!(
                "--business-hours {hours:?}: it closes before it opens; hours lie within one \
                 day (a shift across midnight is not supported; 00:00-24:00 is the whole day)"
            ));
        }
        let day = |s: &str| {
            s.trim().parse::<Weekday>().map_err(|_| {
                format!("--business-days {days:?}: {s:?} is not a day (mon, tue, ... sun)")
            })
        };
        if days.contains('-') && days.contains(',') {
            return Err(format!(
                "--business-days {days:?}: a range (mon-fri) or a list (mon,tue,sat), not both"
            ));
        }
        let days = match days.split_once('-') {
            Some((a, b)) => {
                let (mut d, last) = (day(a)?, day(b)?);
                let mut all = vec![d];
                while d != last {
                    d = d.succ();
                    all.push(d);
                }
                all
            }
            None => days.split(',').map(day).collect::<Result<_, _>>()?,
        };
        Ok(BusinessTime { start, end, days })
    }

    /// Whether `t` falls in business hours on a business day in `zone`.
    pub fn contains(&self, t: &DateTime<Utc>, zone: &Tz) -> bool {
        let local = t.with_timezone(zone);
        let time = local.time();
        self.days.contains(&local.weekday())
            && time >= self.start
            && self.end.is_none_or(|end| time < end)
    }
}

/// Business hours and days, less holidays, in a zone.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub zone: Tz,
    pub hours: BusinessTime,
    pub holidays: BTreeSet<NaiveDate>,
    /// Each day's opening and closing instants met so far, with running totals, so a span
    /// of any length costs two lookups (visits can last months; there are millions).
    days: RefCell<Days>,
}

/// Days from `base` on: each one's business span (none on a day off) and, in `sums[i]`, the
/// business time of the days before day `i`.
#[derive(Debug, Clone, Default)]
struct Days {
    base: Option<NaiveDate>,
    spans: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>>,
    sums: Vec<i64>,
}

/// Days added beyond those asked for, so neighbouring spans find theirs made.
const MARGIN: i64 = 62;

impl Calendar {
    pub fn new(zone: Tz, hours: BusinessTime, holidays: BTreeSet<NaiveDate>) -> Calendar {
        Calendar {
            zone,
            hours,
            holidays,
            days: RefCell::default(),
        }
    }

    /// The business time in `[from, to)`, in milliseconds.
    pub fn business_millis(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let first = from.with_timezone(&self.zone).date_naive();
        let last = to.with_timezone(&self.zone).date_naive();
        let mut days = self.days.borrow_mut();
        self.cover(&mut days, first, last);
        let index = |d: NaiveDate| days.base.map_or(0, |b| (d - b).num_days() as usize);
        let (i, j) = (index(first), index(last));
        let clip = |k: usize| {
            days.spans[k].map_or(0, |(open, close)| {
                (close.min(to) - open.max(from)).num_milliseconds().max(0)
            })
        };
        match i == j {
            true => clip(i),
            false => clip(i) + (days.sums[j] - days.sums[i + 1]) + clip(j),
        }
    }

    /// Make `days` hold `first` to `last` (rebuilt from earlier when `first` is before it).
    fn cover(&self, days: &mut Days, first: NaiveDate, last: NaiveDate) {
        if days.base.is_none_or(|b| first < b) {
            let base = first - Duration::days(MARGIN);
            let end = days
                .base
                .map_or(last, |b| b + Duration::days(days.spans.len() as i64));
            *days = Days {
                base: Some(base),
                spans: Vec::new(),
                sums: vec![0],
            };
            self.extend(days, end.max(last));
        }
        self.extend(days, last);
    }

    /// Add days to `days` until it holds `last` (and a margin after it).
    fn extend(&self, days: &mut Days, last: NaiveDate) {
        let Some(base) = days.base else { return };
        let held = base + Duration::days(days.spans.len() as i64);
        if held > last {
            return;
        }
        let mut day = held;
        while day <= last + Duration::days(MARGIN) {
            let span = self.span(day);
            let millis = span.map_or(0, |(o, c)| (c - o).num_milliseconds().max(0));
            days.sums
                .push(days.sums.last().copied().unwrap_or(0) + millis);
            days.spans.push(span);
            day += Duration::days(1);
        }
    }

    /// A day's business hours as instants, or `None` on a day off.
    fn span(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let working = self.hours.days.contains(&day.weekday()) && !self.holidays.contains(&day);
        working.then(|| {
            (
                self.instant(day, self.hours.start),
                match self.hours.end {
                    Some(end) => self.instant(day, end),
                    None => self.instant(day + Duration::days(1), NaiveTime::MIN),
                },
            )
        })
    }

    /// The instant a wall-clock time of `day` names: the earlier of a repeated autumn hour,
    /// and for a time the spring change skips, the moment the clock jumps past it.
    fn instant(&self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let wall = day.and_time(time);
        (0..=180)
            .find_map(|m| {
                self.zone
                    .from_local_datetime(&(wall + Duration::minutes(m)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| wall.and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar(hours: &str, days: &str, zone: &str, holidays: &[&str]) -> Calendar {
        Calendar::new(
            zone.parse().unwrap(),
            BusinessTime::parse(hours, days).unwrap(),
            holidays.iter().map(|d| d.parse().unwrap()).collect(),
        )
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn friday_four_pm_to_monday_ten_am_is_two_or_four_business_hours() {
        let (fri, mon) = (at("2025-03-07T16:00:00Z"), at("2025-03-10T10:00:00Z"));
        let nine_five = calendar("09:00-17:00", "mon-fri", "UTC", &[]);
        assert_eq!(nine_five.business_millis(fri, mon), 2 * 3_600_000);
        let eight_six = calendar("08:00-18:00", "mon-fri", "UTC", &[]);
        assert_eq!(eight_six.business_millis(fri, mon), 4 * 3_600_000);
    }

    #[test]
    fn a_holiday_counts_nothing() {
        // Thursday 16:00 to Monday 10:00, with Friday a holiday: 1 h Thursday, 1 h Monday.
        let c = calendar("09:00-17:00", "mon-fri", "UTC", &["2025-03-07"]);
        let ms = c.business_millis(at("2025-03-06T16:00:00Z"), at("2025-03-10T10:00:00Z"));
        assert_eq!(ms, 2 * 3_600_000);
    }

    #[test]
    fn hours_are_wall_clock_hours_in_the_zone_across_a_change() {
        // New York springs forward on Sunday 2025-03-09; a 00:00-06:00 business day then
        // holds 5 real hours, the day before 6, the autumn day (2025-11-02) 7.
        let c = calendar("00:00-06:00", "sun,sat", "America/New_York", &[]);
        let day = |d: &str, next: &str| {
            c.business_millis(
                at(&format!("{d}T00:00:00Z")),
                at(&format!("{next}T12:00:00Z")),
            )
        };
        assert_eq!(day("2025-03-08", "2025-03-08"), 6 * 3_600_000);
        assert_eq!(day("2025-03-09", "2025-03-09"), 5 * 3_600_000);
        assert_eq!(day("2025-11-02", "2025-11-02"), 7 * 3_600_000);
    }

    #[test]
    fn a_time_the_spring_change_skips_opens_when_the_clock_jumps() {
        // Business 02:30-04:00 on the spring-forward Sunday: 02:30 does not exist; the day
        // opens at 03:00 EDT (07:00Z) and closes at 04:00 EDT (08:00Z).
        let c = calendar("02:30-04:00", "sun", "America/New_York", &[]);
        let ms = c.business_millis(at("2025-03-09T00:00:00Z"), at("2025-03-10T00:00:00Z"));
        assert_eq!(ms, 3_600_000);
    }

    #[test]
    fn within_one_day_and_empty_spans() {
        let c = calendar("09:00-17:00", "mon-fri", "UTC", &[]);
        let a = at("2025-03-05T10:15:00Z");
        assert_eq!(c.business_millis(a, at("2025-03-05T10:45:30Z")), 1_830_000);
        assert_eq!(c.business_millis(a, a), 0);
        assert_eq!(c.business_millis(a, at("2025-03-05T08:00:00Z")), 0);
    }

    #[test]
    fn spans_far_apart_and_earlier_ones_after_later_ones_add_up_day_by_day() {
        let c = calendar(
            "09:00-17:00",
            "mon-fri",
            "America/New_York",
            &["2025-12-25"],
        );
        // 2025: 261 weekdays, less the holiday, 8 h each.
        let year = c.business_millis(at("2025-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"));
        assert_eq!(year, 260 * 8 * 3_600_000);
        // Asked again after a later span, an earlier one is the same.
        let feb = c.business_millis(at("2024-02-05T00:00:00Z"), at("2024-02-10T00:00:00Z"));
        assert_eq!(feb, 5 * 8 * 3_600_000);
        let again = c.business_millis(at("2025-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"));
        assert_eq!(again, year);
    }

    #[test]
    fn parse_checks_its_words() {
        let b = BusinessTime::parse("08:00-18:00", "mon-fri").unwrap();
        assert_eq!(b.days.len(), 5);
        let b = BusinessTime::parse("22:00-23:30", "sat,sun").unwrap();
        assert_eq!(b.days, vec![Weekday::Sat, Weekday::Sun]);
        assert!(BusinessTime::parse("18:00-08:00", "mon-fri").is_err());
        assert!(BusinessTime::parse("08:00-24:30", "mon-fri").is_err());
        let overnight = BusinessTime::parse("17:00-09:00", "mon-fri").unwrap_err();
        assert!(overnight.contains("closes before it opens"), "{overnight}");
        let mixed = BusinessTime::parse("08:00-18:00", "mon-fri,sat").unwrap_err();
        assert!(mixed.contains("not both"), "{mixed}");
        let all_day = BusinessTime::parse("00:00-24:00", "mon-sun").unwrap();
        assert_eq!((all_day.start, all_day.end), (NaiveTime::MIN, None));
        let c = Calendar::new(chrono_tz::America::New_York, all_day, BTreeSet::new());
        // Across the spring change (2025-03-09 loses an hour): 47 real hours in two days.
        let from = "2025-03-08T05:00:00Z".parse().unwrap();
        let to = "2025-03-10T04:00:00Z".parse().unwrap();
        assert_eq!(c.business_millis(from, to), 47 * 3_600_000);
        assert!(BusinessTime::parse("08:00-18:00", "monday-funday").is_err());
    }
}
