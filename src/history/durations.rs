//! `durations`: per object and value of one field, its visits (the intervals in which the
//! field held the value), gathered from the replay's intervals. A visit is counted from the
//! entry that began it; a value held from before the history has no start and is left out.
//! Open visits count up to the end given (`--until`) and mark the row open.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::calendar::Calendar;
use super::interval::Interval;
use super::replay::{Listener, identity};
use crate::error::Result;
use crate::model::change::{Value, ValueType};

/// One object's visits of one value.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueVisits {
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: Option<String>,
    pub field_name: String,
    pub value_type: ValueType,
    pub value: Value<'static>,
    pub label: Option<String>,
    pub visits: u64,
    pub first_entered: DateTime<Utc>,
    /// The end of the last visit; `None` while it is open.
    pub last_left: Option<DateTime<Utc>>,
    pub total_millis: i64,
    pub business_millis: i64,
    pub first_visit_millis: i64,
    /// When the last visit began, and how long it lasted.
    pub last_entered: DateTime<Utc>,
    pub last_visit_millis: i64,
    pub open: bool,
}

/// The visits of one field's values, per object.
pub struct Durations {
    field: String,
    until: DateTime<Utc>,
    calendar: Calendar,
    /// By object code, object id and value, joined. Boxed: the map grows by moving pointers,
    /// not rows (its growth into fresh memory was an eighth of `durations`; BENCHMARKS.md).
    by: HashMap<Box<str>, Box<ValueVisits>, foldhash::fast::RandomState>,
    key: String,
}

impl Durations {
    pub fn new(field: &str, until: DateTime<Utc>, calendar: Calendar) -> Durations {
        Durations {
            field: field.to_string(),
            until,
            calendar,
            by: HashMap::default(),
            key: String::new(),
        }
    }

    /// The rows, by object code, object id, first entry into the value, and value.
    pub fn rows(self) -> Vec<ValueVisits> {
        let mut rows: Vec<Box<ValueVisits>> = self.by.into_values().collect();
        rows.sort_by(|a, b| {
            (&a.obj_code, &a.obj_id, a.first_entered, value_str(&a.value)).cmp(&(
                &b.obj_code,
                &b.obj_id,
                b.first_entered,
                value_str(&b.value),
            ))
        });
        rows.into_iter().map(|row| *row).collect()
    }
}

/// A value as text, for keys and sorting (null is empty).
pub fn value_text(v: &Value<'_>) -> String {
    value_str(v).to_string()
}

/// [`value_text`], borrowed.
pub fn value_str<'v>(v: &'v Value<'_>) -> &'v str {
    match v {
        Value::Null => "",
        Value::Text(t) => t,
        Value::Number(n) => n,
    }
}

impl Listener for Durations {
    fn interval(&mut self, i: &Interval) -> Result<()> {
        let Some(from) = i.valid_from else {
            return Ok(());
        };
        if i.field_name() != self.field {
            return Ok(());
        }
        let to = i.valid_to.unwrap_or(self.until).max(from);
        let millis = (to - from).num_milliseconds();
        let business = self.calendar.business_millis(from, to);
        let open = i.valid_to.is_none();
        // One value however it was written, as the replay compares values: `8` and `8.00`
        // are one, a date by its instant. Rows show the value as first written.
        let held = i.value();
        let value = identity(&held, i.value_type);
        super::replay::join_key(&mut self.key, [i.obj_code(), i.obj_id(), &value]);
        let row = match self.by.get_mut(self.key.as_str()) {
            Some(row) => row,
            None => {
                let row = Box::new(ValueVisits {
                    obj_code: i.obj_code().to_string(),
                    obj_id: i.obj_id().to_string(),
                    obj_name: i.obj_name().map(str::to_string),
                    field_name: i.field_name().to_string(),
                    value_type: i.value_type,
                    value: i.value().into_owned(),
                    label: i.label().map(str::to_string),
                    visits: 0,
                    first_entered: from,
                    last_left: i.valid_to,
                    total_millis: 0,
                    business_millis: 0,
                    first_visit_millis: millis,
                    last_entered: from,
                    last_visit_millis: millis,
                    open,
                });
                self.by.entry(self.key.as_str().into()).or_insert(row)
            }
        };
        row.visits += 1;
        row.total_millis += millis;
        row.business_millis += business;
        if from < row.first_entered {
            (row.first_entered, row.first_visit_millis) = (from, millis);
        }
        if from >= row.last_entered {
            (row.last_entered, row.last_visit_millis) = (from, millis);
            (row.last_left, row.open) = (i.valid_to, open);
            if let Some(name) = i.obj_name() {
                match &mut row.obj_name {
                    Some(kept) => name.clone_into(kept),
                    None => row.obj_name = Some(name.to_string()),
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_by_value_and_dates_by_instant() {
        let n = |s: &str| identity(&Value::Number(s.into()), ValueType::Number).into_owned();
        assert_eq!(n("8"), n("8.00"));
        assert_eq!(n("008.50"), "8.5");
        assert_eq!(n("-0.0"), "0");
        assert_eq!(n("-12.340"), "-12.34");
        assert_ne!(n("8"), n("80"));
        assert_eq!(n("1e3"), "1000");
        let d =
            |s: &str| identity(&Value::Text(s.to_string().into()), ValueType::Date).into_owned();
        assert_eq!(
            d("2025-03-09T01:00:00.000-05:00"),
            d("2025-03-09T06:00:00.000Z")
        );
        let t =
            |s: &str| identity(&Value::Text(s.to_string().into()), ValueType::Text).into_owned();
        assert_ne!(t("8"), t("8.00"));
    }
}
