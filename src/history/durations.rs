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

    /// The rows, by object code, object id, first entry into the value, value and value type.
    /// Boxed as they were gathered: unboxed, a quarter of a million rows were copied again into
    /// fresh memory.
    pub fn rows(self) -> Vec<Box<ValueVisits>> {
        // Sorted by a key kept beside each row (the object code's rank among the few codes,
        // the id's first 32 bytes, the first entry): read in place, most comparisons touch no
        // row (comparing the rows' strings, a cache miss each, was a seventh of `durations`;
        // BENCHMARKS.md, "Answers").
        let mut codes: Vec<&str> = self.by.values().map(|r| r.obj_code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let codes: HashMap<String, u32> = codes
            .into_iter()
            .enumerate()
            .map(|(rank, code)| (code.to_string(), rank as u32))
            .collect();
        let mut rows: Vec<(RowKey, Box<ValueVisits>)> = self
            .by
            .into_values()
            .map(|row| (RowKey::of(&row, codes[&row.obj_code]), row))
            .collect();
        rows.sort_unstable_by(|(a, x), (b, y)| a.cmp(b, x, y));
        rows.into_iter().map(|(_, row)| row).collect()
    }
}

/// Where a row sorts, as far as can be told without reading it.
struct RowKey {
    code: u32,
    /// The object id's first 32 bytes, zeros after a shorter one.
    id: [u8; 32],
    /// The id's length (more than 32: compared whole).
    id_len: usize,
    first_entered: DateTime<Utc>,
}

impl RowKey {
    fn of(row: &ValueVisits, code: u32) -> RowKey {
        let mut id = [0u8; 32];
        let n = row.obj_id.len().min(32);
        id[..n].copy_from_slice(&row.obj_id.as_bytes()[..n]);
        RowKey {
            code,
            id,
            id_len: row.obj_id.len(),
            first_entered: row.first_entered,
        }
    }

    /// The order of (object code, object id, first entry, value, value type): ids that differ
    /// in their
    /// first 32 bytes order as those do (a shorter one's zeros first), equal ones by length,
    /// or whole when longer.
    fn cmp(&self, other: &RowKey, a: &ValueVisits, b: &ValueVisits) -> std::cmp::Ordering {
        self.code
            .cmp(&other.code)
            .then(self.id.cmp(&other.id))
            .then_with(|| {
                if self.id_len > 32 || other.id_len > 32 {
                    a.obj_id.cmp(&b.obj_id)
                } else {
                    self.id_len.cmp(&other.id_len)
                }
            })
            .then(self.first_entered.cmp(&other.first_entered))
            .then_with(|| value_str(&a.value).cmp(value_str(&b.value)))
            // One text as a date and as text (or a number) are two rows: ordered by type, not
            // left to the map's order, which changes from run to run.
            .then_with(|| a.value_type.as_str().cmp(b.value_type.as_str()))
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

    #[test]
    fn rows_sort_by_code_id_first_entry_and_value_whatever_the_ids_lengths() {
        let hours = super::super::calendar::BusinessTime::parse("09:00-17:00", "mon-fri").unwrap();
        let calendar = Calendar::new(chrono_tz::UTC, hours, Default::default());
        let mut d = Durations::new("status", Utc::now(), calendar);
        let at = |s: i64| DateTime::from_timestamp(s, 0).unwrap();
        let long = "a".repeat(32);
        let ids = [
            "b".to_string(),
            "ab".into(),
            "ab\0".into(),
            "a".into(),
            format!("{long}z"),
            format!("{long}y"),
            long.clone(),
            "".into(),
        ];
        let mut n = 0;
        for code in ["TASK", "PROJ", "OPTASK"] {
            for id in &ids {
                for (first, value) in [(5, "NEW"), (5, "CPL"), (1, "INP")] {
                    n += 1;
                    let row = ValueVisits {
                        obj_code: code.into(),
                        obj_id: id.clone(),
                        obj_name: None,
                        field_name: "status".into(),
                        value_type: ValueType::Text,
                        value: Value::Text(value.into()),
                        label: None,
                        visits: 1,
                        first_entered: at(first),
                        last_left: None,
                        total_millis: 0,
                        business_millis: 0,
                        first_visit_millis: 0,
                        last_entered: at(first),
                        last_visit_millis: 0,
                        open: true,
                    };
                    d.by.insert(format!("{n}").into(), Box::new(row));
                }
            }
        }
        let rows = d.rows();
        let mut expected = rows.clone();
        expected.sort_by(|a, b| {
            (&a.obj_code, &a.obj_id, a.first_entered, value_str(&a.value)).cmp(&(
                &b.obj_code,
                &b.obj_id,
                b.first_entered,
                value_str(&b.value),
            ))
        });
        assert_eq!(rows.len(), 3 * ids.len() * 3);
        assert_eq!(rows, expected);
    }

    #[test]
    fn rows_of_one_text_as_a_date_and_as_text_come_in_one_order_every_time() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        let row = |value_type| ValueVisits {
            obj_code: "TASK".into(),
            obj_id: "t1".into(),
            obj_name: None,
            field_name: "status".into(),
            value_type,
            value: Value::Text("2025-01-01T00:00:00Z".into()),
            label: None,
            visits: 1,
            first_entered: at,
            last_left: None,
            total_millis: 0,
            business_millis: 0,
            first_visit_millis: 0,
            last_entered: at,
            last_visit_millis: 0,
            open: true,
        };
        // Each map is seeded anew: without a tie-break, the order would change among these.
        for _ in 0..32 {
            let hours =
                super::super::calendar::BusinessTime::parse("09:00-17:00", "mon-fri").unwrap();
            let calendar = Calendar::new(chrono_tz::UTC, hours, Default::default());
            let mut d = Durations::new("status", Utc::now(), calendar);
            d.by.insert("text".into(), Box::new(row(ValueType::Text)));
            d.by.insert("date".into(), Box::new(row(ValueType::Date)));
            let types: Vec<ValueType> = d.rows().iter().map(|r| r.value_type).collect();
            assert_eq!(types, [ValueType::Date, ValueType::Text]);
        }
    }
}
