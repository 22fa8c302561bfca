//! Time in status for the report: per value of one field, how long its visits lasted (median
//! and 90th percentile, nearest rank) and the objects that sat in it longest, from the same
//! replay's intervals. Visits held from before the history are left out (no start); open ones
//! count up to the end given and are marked open. Holds one duration per visit.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::durations::value_text;
use super::interval::Interval;
use super::replay::Listener;
use crate::error::Result;

/// How many of the longest visits each value keeps.
pub const LONGEST: usize = 5;

/// One visit, for the longest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: Option<String>,
    pub entered: DateTime<Utc>,
    pub millis: i64,
    pub open: bool,
}

/// One value's visits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueTime {
    pub value: String,
    pub label: Option<String>,
    pub visits: u64,
    pub median_millis: i64,
    pub p90_millis: i64,
    /// The longest visits, longest first.
    pub longest: Vec<Visit>,
}

/// A value's label, every visit's length, and its longest visits.
type Gathered = (Option<String>, Vec<i64>, Vec<Visit>);

/// The visits of one field's values, gathered as intervals complete.
pub struct StatusTime {
    field: String,
    until: DateTime<Utc>,
    by: HashMap<String, Gathered>,
}

impl StatusTime {
    pub fn new(field: &str, until: DateTime<Utc>) -> StatusTime {
        StatusTime {
            field: field.to_string(),
            until,
            by: HashMap::new(),
        }
    }

    /// Per value, most visits first (then by value).
    pub fn values(self) -> Vec<ValueTime> {
        let mut out: Vec<ValueTime> = self
            .by
            .into_iter()
            .map(|(value, (label, mut millis, longest))| {
                millis.sort_unstable();
                ValueTime {
                    value,
                    label,
                    visits: millis.len() as u64,
                    median_millis: nearest_rank(&millis, 50),
                    p90_millis: nearest_rank(&millis, 90),
                    longest,
                }
            })
            .collect();
        out.sort_by(|a, b| b.visits.cmp(&a.visits).then_with(|| a.value.cmp(&b.value)));
        out
    }
}

/// The `p`th percentile of sorted values by nearest rank (the smallest value with at least
/// `p`% of the values at or below it).
pub fn nearest_rank(sorted: &[i64], p: usize) -> i64 {
    match sorted.len() {
        0 => 0,
        n => sorted[(p * n).div_ceil(100).clamp(1, n) - 1],
    }
}

impl Listener for StatusTime {
    fn interval(&mut self, i: &Interval) -> Result<()> {
        let (Some(millis), true) = (i.millis(self.until), i.field_name() == self.field) else {
            return Ok(());
        };
        let value = value_text(&i.value());
        let (label, all, longest) = self.by.entry(value).or_default();
        if label.is_none() {
            label.clone_from(&i.label().map(str::to_string));
        }
        all.push(millis);
        let visit = Visit {
            obj_code: i.obj_code().to_string(),
            obj_id: i.obj_id().to_string(),
            obj_name: i.obj_name().map(str::to_string),
            entered: i.valid_from.unwrap_or(self.until),
            millis,
            open: i.valid_to.is_none(),
        };
        let at = longest.partition_point(|v| v.millis >= millis);
        if at < LONGEST {
            longest.insert(at, visit);
            longest.truncate(LONGEST);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 50), 5);
        assert_eq!(nearest_rank(&v, 90), 9);
        assert_eq!(nearest_rank(&[7], 90), 7);
        assert_eq!(nearest_rank(&[], 50), 0);
        assert_eq!(nearest_rank(&[1, 2, 3], 50), 2);
    }
}
