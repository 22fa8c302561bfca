//! Evaluating a parsed query on stored entries: each modifier's meaning (whole-day date `eq`,
//! `ne` matching nulls, `in` on ids), comparisons by field type, and the sort order.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::query::{Condition, Operand, Target};
use super::store::{Entry, SimValue};

impl Condition {
    pub(super) fn matches(&self, entry: &Entry, zone: &Tz) -> bool {
        let editor;
        let value = match self.target {
            Target::Field(i) => entry.get(i),
            Target::EditorName => {
                editor = entry
                    .editor_name
                    .clone()
                    .map_or(SimValue::Null, SimValue::Text);
                &editor
            }
        };
        let first = self.values.first();
        let eq = |op: &Operand| equals(value, op, zone);
        let cmp = |op: Option<&Operand>| op.and_then(|op| compare(value, op));
        let text = || value.as_text();
        let op_text = || match first {
            Some(Operand::Text(s)) => s.clone(),
            Some(Operand::Number(n)) => n.to_string(),
            Some(Operand::Date(d)) => d.to_rfc3339(),
            None => String::new(),
        };
        let between = || {
            matches!(cmp(first), Some(Ordering::Greater | Ordering::Equal))
                && matches!(
                    cmp(self.range.as_ref()),
                    Some(Ordering::Less | Ordering::Equal)
                )
        };
        let is_null = *value == SimValue::Null;
        match self.modifier.as_str() {
            "eq" => first.is_some_and(eq),
            // `ne` also matches nulls; `nee` does not (API notes §4).
            "ne" => !first.is_some_and(eq),
            "nee" => !is_null && !first.is_some_and(eq),
            "cieq" => text().is_some_and(|t| t.to_lowercase() == op_text().to_lowercase()),
            "in" => self.values.iter().any(eq),
            "notin" => !is_null && !self.values.iter().any(eq),
            "gt" => cmp(first) == Some(Ordering::Greater),
            "gte" => matches!(cmp(first), Some(Ordering::Greater | Ordering::Equal)),
            "lt" => cmp(first) == Some(Ordering::Less),
            "lte" => matches!(cmp(first), Some(Ordering::Less | Ordering::Equal)),
            "between" => between(),
            "notbetween" => !is_null && !between(),
            "contains" => text().is_some_and(|t| t.contains(&op_text())),
            "cicontains" => {
                text().is_some_and(|t| t.to_lowercase().contains(&op_text().to_lowercase()))
            }
            "notcontains" => !text().is_some_and(|t| t.contains(&op_text())),
            "startswith" => text().is_some_and(|t| t.starts_with(&op_text())),
            "isnull" => is_null,
            "notnull" => !is_null,
            "exacttime" => cmp(first) == Some(Ordering::Equal),
            _ => false,
        }
    }
}

/// Equality as `eq` means it: on a date, the whole day in the tenant's zone, not the instant
/// (API notes §4: never page with date equality).
fn equals(value: &SimValue, op: &Operand, zone: &Tz) -> bool {
    match (value, op) {
        (SimValue::Date(d), Operand::Date(o)) => local_day(d, zone) == local_day(o, zone),
        _ => compare(value, op) == Some(Ordering::Equal),
    }
}

fn local_day(d: &DateTime<Utc>, zone: &Tz) -> NaiveDate {
    d.with_timezone(zone).date_naive()
}

/// Compare a stored value with an operand; `None` for null (null matches no comparison).
fn compare(value: &SimValue, op: &Operand) -> Option<Ordering> {
    match (value, op) {
        (SimValue::Null, _) => None,
        (SimValue::Date(d), Operand::Date(o)) => Some(d.cmp(o)),
        (SimValue::Number(n), Operand::Number(o)) => n.as_f64()?.partial_cmp(o),
        (SimValue::Text(t), Operand::Text(o)) => Some(t.as_str().cmp(o.as_str())),
        (v, Operand::Text(o)) => Some(v.as_text()?.as_str().cmp(o.as_str())),
        _ => None,
    }
}

/// Sort order of two stored values: nulls last (Oracle's default for ascending).
pub(super) fn compare_for_sort(a: &SimValue, b: &SimValue) -> Ordering {
    match (a, b) {
        (SimValue::Null, SimValue::Null) => Ordering::Equal,
        (SimValue::Null, _) => Ordering::Greater,
        (_, SimValue::Null) => Ordering::Less,
        (SimValue::Date(x), SimValue::Date(y)) => x.cmp(y),
        (SimValue::Number(x), SimValue::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (x, y) => x.as_text().cmp(&y.as_text()),
    }
}
