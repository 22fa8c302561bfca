//! `durations --cycle-start … --cycle-end …`: one cycle per object, from its first entry into
//! a start value to its last entry into an end value after that (the anchors). A cycle that
//! reached an end value and then left it for another value is `reopened`; it still counts from
//! the first start to the last end, the time spent reopened included. A cycle with no end yet
//! counts up to the end given (`--until`) and has no `cycle_end`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::calendar::Calendar;
use super::durations::value_text;
use super::interval::Interval;
use super::replay::Listener;

/// One object's cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Cycle {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: Option<String>,
    pub field_name: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub elapsed_millis: i64,
    pub business_millis: i64,
    pub reopened: bool,
}

/// The cycles of one field, per object, gathered from the intervals as they open.
pub struct Cycles {
    field: String,
    starts: Vec<String>,
    ends: Vec<String>,
    by: HashMap<(String, String), Cycle>,
}

impl Cycles {
    pub fn new(field: &str, starts: &[String], ends: &[String]) -> Cycles {
        Cycles {
            field: field.to_string(),
            starts: starts.to_vec(),
            ends: ends.to_vec(),
            by: HashMap::new(),
        }
    }

    /// The cycles, by object code and id, with their times up to `until` on `calendar`.
    pub fn rows(self, until: DateTime<Utc>, calendar: &Calendar) -> Vec<Cycle> {
        let mut rows: Vec<Cycle> = self.by.into_values().collect();
        rows.sort_by(|a, b| (&a.obj_code, &a.obj_id).cmp(&(&b.obj_code, &b.obj_id)));
        for c in &mut rows {
            let to = c.end.unwrap_or(until).max(c.start);
            c.elapsed_millis = (to - c.start).num_milliseconds();
            c.business_millis = calendar.business_millis(c.start, to);
        }
        rows
    }
}

impl Listener for Cycles {
    fn opened(&mut self, i: &Interval) {
        let Some(from) = i.valid_from else { return };
        if i.field_name() != self.field {
            return;
        }
        let value = value_text(&i.value());
        let key = (i.obj_code().to_string(), i.obj_id().to_string());
        let is_end = self.ends.contains(&value);
        match self.by.get_mut(&key) {
            None if self.starts.contains(&value) => {
                self.by.insert(
                    key,
                    Cycle {
                        obj_code: i.obj_code().to_string(),
                        obj_id: i.obj_id().to_string(),
                        obj_name: i.obj_name().map(str::to_string),
                        field_name: i.field_name().to_string(),
                        start: from,
                        end: None,
                        elapsed_millis: 0,
                        business_millis: 0,
                        reopened: false,
                    },
                );
            }
            None => {}
            Some(c) if is_end => {
                c.end = Some(from);
                c.obj_name = i.obj_name().map(str::to_string).or(c.obj_name.take());
            }
            Some(c) => c.reopened |= c.end.is_some(),
        }
    }
}
