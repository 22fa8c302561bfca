//! An object's field values (from an event's state or a polled object) as change values: a
//! value typed as the journal types its values (a date in UTC, a number as the journal renders
//! numbers, text as text, any other JSON as its compact text), and whether two values are the
//! same value. Shared by event deliveries and snapshots, so both render a change alike.

use std::borrow::Cow;

use chrono::Utc;
use serde_json::Value;

use crate::model::change::{Value as ChangeValue, ValueType};
use crate::model::date::{format_utc_ms, parse_timestamp};

/// Whether two values are the same value: numbers by value (8 and 8.0), the rest exactly.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// Whether a field's value changed from `old` to `new` (absent and null are the same).
pub fn changed(old: Option<&Value>, new: Option<&Value>) -> bool {
    let null = |v: Option<&Value>| v.is_none_or(Value::is_null);
    match (old, new) {
        _ if null(old) && null(new) => false,
        (Some(a), Some(b)) => !same(a, b),
        _ => true,
    }
}

/// The old and new value of a change, and their type. Values of different types in one change
/// are both shown as text.
pub fn change_values(
    old: Option<&Value>,
    new: Option<&Value>,
) -> (ChangeValue<'static>, ChangeValue<'static>, ValueType) {
    let (old_value, old_type) = typed(old);
    let (new_value, new_type) = typed(new);
    let value_type = match (old_type, new_type) {
        (ValueType::None, t) | (t, ValueType::None) => t,
        (a, b) if a == b => a,
        _ => ValueType::Text,
    };
    let as_text = |v: ChangeValue<'static>, t| match (v, value_type, t) {
        (ChangeValue::Number(n), ValueType::Text, ValueType::Number) => ChangeValue::Text(n),
        (v, _, _) => v,
    };
    (
        as_text(old_value, old_type),
        as_text(new_value, new_type),
        value_type,
    )
}

/// A state's value as a change value, with its type.
fn typed(v: Option<&Value>) -> (ChangeValue<'static>, ValueType) {
    match v {
        None | Some(Value::Null) => (ChangeValue::Null, ValueType::None),
        Some(Value::Number(n)) => (
            ChangeValue::Number(crate::normalize::render_json_number(n).into()),
            ValueType::Number,
        ),
        Some(Value::String(s)) => match date(s) {
            Some(utc) => (ChangeValue::Text(Cow::Owned(utc)), ValueType::Date),
            None => (ChangeValue::Text(Cow::Owned(s.clone())), ValueType::Text),
        },
        Some(other) => (
            ChangeValue::Text(Cow::Owned(other.to_string())),
            ValueType::Text,
        ),
    }
}

/// A full timestamp (with a time and an offset; the API writes a colon before the
/// milliseconds, event states a dot) in UTC; anything else is text.
fn date(s: &str) -> Option<String> {
    let looks_like = s.len() >= 23 && s.as_bytes().get(10) == Some(&b'T');
    looks_like
        .then(|| parse_timestamp(s))
        .flatten()
        .map(|d| format_utc_ms(&d.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_typed_as_journal_values_and_mixed_types_are_text() {
        let (old, new, t) = change_values(
            Some(&json!("2025-11-02T01:30:00:123-0600")),
            Some(&json!("2025-11-02T01:30:00.500-0700")),
        );
        assert_eq!(t, ValueType::Date);
        assert_eq!(old, ChangeValue::Text("2025-11-02T07:30:00.123Z".into()));
        assert_eq!(new, ChangeValue::Text("2025-11-02T08:30:00.500Z".into()));
        let (old, new, t) = change_values(Some(&json!(8.0)), Some(&json!("eight")));
        assert_eq!(t, ValueType::Text);
        assert_eq!(
            old,
            ChangeValue::Text("8".into()),
            "as the journal renders 8.0"
        );
        assert_eq!(new, ChangeValue::Text("eight".into()));
        let (old, _, t) = change_values(None, Some(&json!(0.00000025)));
        assert_eq!((old, t), (ChangeValue::Null, ValueType::Number));
    }

    #[test]
    fn null_and_absent_are_no_change_and_numbers_compare_by_value() {
        assert!(!changed(None, Some(&Value::Null)));
        assert!(!changed(Some(&json!(8)), Some(&json!(8.0))));
        assert!(changed(Some(&json!("a")), None));
        assert!(changed(Some(&json!("a")), Some(&json!("A"))));
    }
}
