//! What the report shows from the replay of the history (`crate::history`, the same replay
//! `intervals` and `durations` run): the chain breaks (a value changed without a journal entry:
//! an entry's old value is not the value the history left) and the time in each status (per
//! value: visits, median and 90th percentile, the objects that sat longest), as display rows.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::row::local;
use crate::error::Result;
use crate::history::{ForReport, Order, for_report};
use crate::source::ChangeSource;

/// Chain breaks listed; the count says how many there are.
pub const BREAKS_SHOWN: usize = 200;

/// The field whose time in each value is shown.
pub const STATUS_FIELD: &str = "status";

/// One chain break as a row.
#[derive(Debug, Serialize)]
pub struct BreakRow {
    pub when: String,
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: String,
    pub field: String,
    pub expected: String,
    pub found: String,
    pub expected_entry: String,
    pub entry: String,
}

/// One status as a row.
#[derive(Debug, Serialize)]
pub struct StatusRow {
    pub value: String,
    pub visits: u64,
    pub median: String,
    pub p90: String,
    /// The objects that sat longest: "TASK Name (id): 3 d 4 h", open visits marked.
    pub longest: Vec<String>,
}

/// The section's rows.
#[derive(Debug, Default, Serialize)]
pub struct Answers {
    pub chain_breaks: u64,
    pub breaks: Vec<BreakRow>,
    pub status: Vec<StatusRow>,
    /// Where open visits were counted up to.
    pub until: String,
}

/// Replay `source` up to `until`. Input in entry order is replayed as it streams; a series
/// whose late entries came in a later file is sorted in memory first (the replay refuses
/// unsorted input under [`Order::Check`], and the report must not).
pub async fn replay(source: &mut dyn ChangeSource, until: DateTime<Utc>) -> Result<ForReport> {
    match for_report(source, STATUS_FIELD, until, Order::Check).await {
        // Out of order is the replay's usage error; anything else (a file that does not
        // read) is not retried.
        Err(crate::error::Error::Usage(_)) => {
            for_report(source, STATUS_FIELD, until, Order::Sort).await
        }
        found => found,
    }
}

impl Answers {
    pub fn of(found: ForReport, until: DateTime<Utc>, zone: &Tz) -> Answers {
        let text = |v: &crate::model::change::Value<'_>| crate::history::durations::value_text(v);
        let breaks = found
            .chain_breaks
            .iter()
            .take(BREAKS_SHOWN)
            .map(|b| BreakRow {
                when: local(&b.at, zone),
                obj_code: b.obj_code.clone(),
                obj_id: b.obj_id.clone(),
                obj_name: b.obj_name.clone().unwrap_or_default(),
                field: b.field_name.clone(),
                expected: text(&b.expected),
                found: text(&b.found),
                expected_entry: b.expected_entry_id.clone().unwrap_or_default(),
                entry: b.entry_id.clone(),
            })
            .collect();
        let status = found
            .status_time
            .into_iter()
            .map(|v| StatusRow {
                value: match &v.label {
                    Some(l) if *l != v.value => format!("{} ({l})", v.value),
                    _ => v.value.clone(),
                },
                visits: v.visits,
                median: duration(v.median_millis),
                p90: duration(v.p90_millis),
                longest: v
                    .longest
                    .iter()
                    .map(|s| {
                        let name = s.obj_name.as_deref().unwrap_or("");
                        let open = if s.open { ", still there" } else { "" };
                        format!(
                            "{} {name} ({}): {}{open}",
                            s.obj_code,
                            s.obj_id,
                            duration(s.millis)
                        )
                    })
                    .collect(),
            })
            .collect();
        Answers {
            chain_breaks: found.chain_breaks.len() as u64,
            breaks,
            status,
            until: local(&until, zone),
        }
    }
}

/// A length of time for people: the two largest units (`3 d 4 h`, `5 h 12 min`, `40 s`).
pub fn duration(millis: i64) -> String {
    let s = millis.max(0) / 1000;
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_two_largest_units() {
        assert_eq!(duration(40_500), "40 s");
        assert_eq!(duration(5 * 60_000), "5 min");
        assert_eq!(duration((5 * 60 + 12) * 60_000), "5 h 12 min");
        assert_eq!(duration(((3 * 24 + 4) * 60 + 59) * 60_000), "3 d 4 h");
        assert_eq!(duration(-1), "0 s");
    }
}
