//! The report's "over time" chart: changes per hour, day or week (sized to the window: hours
//! for up to two days, days for up to two months, weeks beyond), from the window's start, or
//! the first entry when the window is open, to the window's end (not the last entry, so a
//! silence at the end shows), with a y-axis of labelled ticks and every bucket without
//! entries marked and listed: a gap in an audit trail is itself a finding.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDateTime, TimeZone};
use serde::Serialize;

use super::evidence::Evidence;
use super::figures::Figures;
use crate::model::date::parse_timestamp;

/// Gap ranges listed.
const GAP_RANGES: usize = 100;
/// The chart's size in SVG units, and where its plot starts (the y-axis labels before it).
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 160.0;
const PLOT_X: f64 = 56.0;

#[derive(Serialize)]
pub struct TimeBar {
    x: f64,
    w: f64,
    y: f64,
    h: f64,
    label: String,
    count: u64,
    gap: bool,
}

/// A y-axis tick: its height in the chart and its count.
#[derive(Serialize)]
pub struct Tick {
    y: f64,
    label: String,
}

#[derive(Serialize)]
pub struct TimeChart {
    unit: &'static str,
    width: u32,
    height: u32,
    plot_x: f64,
    first: String,
    last: String,
    max: u64,
    gaps: usize,
    gap_ranges: Vec<String>,
    bars: Vec<TimeBar>,
    ticks: Vec<Tick>,
}

/// How long each bar counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Hour,
    Day,
    Week,
}

impl Unit {
    /// The unit for a window from `first` to `last` (local times).
    fn for_span(first: NaiveDateTime, last: NaiveDateTime) -> Unit {
        match last - first {
            span if span <= Duration::days(2) => Unit::Hour,
            span if span <= Duration::days(62) => Unit::Day,
            _ => Unit::Week,
        }
    }

    fn name(self) -> (&'static str, &'static str) {
        match self {
            Unit::Hour => ("hour", "hours"),
            Unit::Day => ("day", "days"),
            Unit::Week => ("week", "weeks"),
        }
    }

    /// The start of the bucket `t` falls in.
    fn bucket(self, t: NaiveDateTime) -> NaiveDateTime {
        let day = t.date().and_hms_opt(0, 0, 0).unwrap_or(t);
        match self {
            Unit::Hour => t
                .date()
                .and_hms_opt(chrono::Timelike::hour(&t), 0, 0)
                .unwrap_or(t),
            Unit::Day => day,
            Unit::Week => day - Duration::days(t.weekday().num_days_from_monday().into()),
        }
    }

    fn step(self) -> Duration {
        match self {
            Unit::Hour => Duration::hours(1),
            Unit::Day => Duration::days(1),
            Unit::Week => Duration::weeks(1),
        }
    }

    fn label(self, b: NaiveDateTime) -> String {
        match self {
            Unit::Hour => b.format("%Y-%m-%d %H:00").to_string(),
            Unit::Day => b.date().to_string(),
            Unit::Week => format!("week of {}", b.date()),
        }
    }
}

/// The chart of `f` over `ev`'s window (or the entries' span when none is recorded).
pub fn time_chart(f: &Figures, ev: &Evidence) -> TimeChart {
    let local = |t: chrono::DateTime<chrono::FixedOffset>| {
        f.zone.from_utc_datetime(&t.naive_utc()).naive_local()
    };
    let window = ev.window.as_ref();
    let start = window
        .and_then(|(a, _)| parse_timestamp(a))
        .map(local)
        .or_else(|| f.first.map(|t| local(t.fixed_offset())));
    // The window's end is exclusive: its last instant is a millisecond before.
    let end = window
        .and_then(|(_, b)| parse_timestamp(b))
        .map(|t| local(t - Duration::milliseconds(1)))
        .or_else(|| f.last.map(|t| local(t.fixed_offset())));
    let Some((first, last)) = start.zip(end).filter(|(a, b)| a <= b) else {
        return empty();
    };
    let unit = Unit::for_span(first, last);
    let mut counts: BTreeMap<NaiveDateTime, u64> = BTreeMap::new();
    let mut b = unit.bucket(first);
    while b <= last {
        counts.insert(b, 0);
        b += unit.step();
    }
    for (hour, n) in &f.per_hour {
        if let Some(c) = counts.get_mut(&unit.bucket(*hour)) {
            *c += n;
        }
    }
    chart(unit, &counts, first, last)
}

fn empty() -> TimeChart {
    TimeChart {
        unit: "day",
        width: WIDTH as u32,
        height: HEIGHT as u32,
        plot_x: PLOT_X,
        first: String::new(),
        last: String::new(),
        max: 0,
        gaps: 0,
        gap_ranges: vec![],
        bars: vec![],
        ticks: vec![],
    }
}

fn chart(
    unit: Unit,
    counts: &BTreeMap<NaiveDateTime, u64>,
    first: NaiveDateTime,
    last: NaiveDateTime,
) -> TimeChart {
    let max = counts.values().copied().max().unwrap_or(0);
    let top = nice_top(max);
    let w = (WIDTH - PLOT_X) / counts.len().max(1) as f64;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (b, n))| {
            // A bucket with entries is never drawn thinner or lower than a pixel.
            let h = match *n {
                0 => 0.0,
                n => ((n as f64 / top as f64) * (HEIGHT - 4.0)).max(1.0),
            };
            TimeBar {
                x: PLOT_X + i as f64 * w,
                w: (w - if w > 3.0 { 1.0 } else { 0.0 }).max(1.0),
                y: HEIGHT - h,
                h,
                label: unit.label(*b),
                count: *n,
                gap: *n == 0,
            }
        })
        .collect();
    let show = |t: NaiveDateTime| match unit {
        Unit::Hour => t.format("%Y-%m-%d %H:%M").to_string(),
        _ => t.date().to_string(),
    };
    TimeChart {
        unit: unit.name().0,
        width: WIDTH as u32,
        height: HEIGHT as u32,
        plot_x: PLOT_X,
        first: show(first),
        last: show(last),
        max,
        gaps: counts.values().filter(|n| **n == 0).count(),
        gap_ranges: gap_ranges(counts, unit),
        bars,
        ticks: ticks(top),
    }
}

/// The y-axis' top: `max` rounded up to 1, 2 or 5 times a power of ten.
fn nice_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= max.max(1) {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// Ticks at 0, a half and the top of the axis (whole counts only).
fn ticks(top: u64) -> Vec<Tick> {
    let mut values = vec![0, top];
    if top.is_multiple_of(2) && top >= 2 {
        values.insert(1, top / 2);
    }
    values
        .into_iter()
        .map(|v| Tick {
            y: HEIGHT - (v as f64 / top as f64) * (HEIGHT - 4.0),
            label: indicatif::HumanCount(v).to_string(),
        })
        .collect()
}

/// Consecutive empty buckets as ranges, e.g. `2025-03-01 to 2025-03-04 (4 days)`.
fn gap_ranges(counts: &BTreeMap<NaiveDateTime, u64>, unit: Unit) -> Vec<String> {
    let (one, many) = unit.name();
    let mut ranges = Vec::new();
    let mut open: Option<(NaiveDateTime, NaiveDateTime, u64)> = None;
    let close = |(a, b, n): (NaiveDateTime, NaiveDateTime, u64), ranges: &mut Vec<String>| {
        let what = crate::console::plural(n, one, many);
        ranges.push(match n {
            1 => format!("{} ({what})", unit.label(a)),
            _ => format!("{} to {} ({what})", unit.label(a), unit.label(b)),
        });
    };
    for (b, n) in counts {
        match (*n == 0, open.as_mut()) {
            (true, Some(r)) => {
                r.1 = *b;
                r.2 += 1;
            }
            (true, None) => open = Some((*b, *b, 1)),
            (false, _) => {
                if let Some(r) = open.take() {
                    close(r, &mut ranges);
                }
            }
        }
    }
    if let Some(r) = open {
        close(r, &mut ranges);
    }
    let more = ranges.len().saturating_sub(GAP_RANGES);
    ranges.truncate(GAP_RANGES);
    if more > 0 {
        ranges.push(format!("and {more} more"));
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_sized_to_the_window() {
        let t = |s: &str| s.parse::<NaiveDateTime>().unwrap();
        let start = t("2025-03-01T00:00:00");
        assert!(Unit::for_span(start, t("2025-03-02T12:00:00")) == Unit::Hour);
        assert!(Unit::for_span(start, t("2025-04-01T00:00:00")) == Unit::Day);
        assert!(Unit::for_span(start, t("2025-09-01T00:00:00")) == Unit::Week);
        assert_eq!(
            Unit::Week.bucket(t("2025-03-06T15:30:00")),
            t("2025-03-03T00:00:00"),
            "weeks start on Monday"
        );
        assert_eq!(
            Unit::Hour.bucket(t("2025-03-06T15:30:00")),
            t("2025-03-06T15:00:00")
        );
    }

    #[test]
    fn the_axis_tops_at_a_round_count() {
        assert_eq!(nice_top(0), 1);
        assert_eq!(nice_top(7), 10);
        assert_eq!(nice_top(11), 20);
        assert_eq!(nice_top(120_329), 200_000);
        let labels: Vec<String> = ticks(20).into_iter().map(|t| t.label).collect();
        assert_eq!(labels, ["0", "10", "20"]);
    }
}
