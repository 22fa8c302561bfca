//! One change as the report shows it: its cells as display text (times in the report's zone,
//! codes with their labels when the records carry them, the editor by name). Text is kept
//! as it came: the template escapes it.

use chrono::{DateTime, FixedOffset, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::model::change::{ChangeRecord, Value};
use crate::model::date::parse_timestamp;

/// A change, ready for a table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    /// In the report's zone, with the offset.
    pub when: String,
    /// The instant in milliseconds since 1970, for sorting (the text's offsets differ across
    /// daylight saving); `None` when the entry date does not read.
    pub when_ms: Option<i64>,
    pub obj_code: String,
    pub obj_id: String,
    pub obj_name: String,
    pub field: String,
    pub change_type: String,
    pub old: String,
    pub new: String,
    pub editor: String,
}

impl Row {
    pub fn of(r: &ChangeRecord<'_>, zone: &Tz) -> Row {
        // Date values in the report's zone, as `export --tz` writes them (UTC as the records
        // keep it, when the report is in UTC).
        let zoned;
        let values = match *zone {
            chrono_tz::UTC => r,
            _ => {
                zoned = r.in_zone(zone);
                &zoned
            }
        };
        let labels = r.labels.as_deref();
        let with_label = |v: &Value<'_>, label: Option<&str>| {
            let text = value_text(v);
            match label {
                Some(l) if !l.is_empty() && l != text => format!("{text} ({l})"),
                _ => text,
            }
        };
        Row {
            id: text(&r.id),
            when: instant(r)
                .map(|t| local(&t, zone))
                .unwrap_or_else(|| text(&r.entry_date)),
            when_ms: instant(r).map(|t| t.timestamp_millis()),
            obj_code: text(&r.obj_code),
            obj_id: text(&r.obj_id),
            obj_name: text(&r.obj_name),
            field: text(&r.field_name),
            change_type: match labels.and_then(|l| l.change_label.as_deref()) {
                Some(l) => format!("{} ({l})", text(&r.change_type)),
                None => text(&r.change_type),
            },
            old: with_label(
                &values.old_value,
                labels.and_then(|l| l.old_label.as_deref()),
            ),
            new: with_label(
                &values.new_value,
                labels.and_then(|l| l.new_label.as_deref()),
            ),
            editor: editor(r),
        }
    }
}

/// The record's instant.
pub fn instant(r: &ChangeRecord<'_>) -> Option<DateTime<Utc>> {
    r.entry_date
        .as_deref()
        .and_then(parse_timestamp)
        .map(|d| d.with_timezone(&Utc))
}

/// An instant in `zone`, to the millisecond, with its offset.
pub fn local(t: &DateTime<Utc>, zone: &Tz) -> String {
    t.with_timezone(zone)
        .format("%Y-%m-%d %H:%M:%S%.3f %:z")
        .to_string()
}

/// The editor by name, else by id.
pub fn editor(r: &ChangeRecord<'_>) -> String {
    match (r.edited_by_name.as_deref(), r.edited_by_id.as_deref()) {
        (Some(name), _) if !name.is_empty() => name.to_string(),
        (_, Some(id)) => id.to_string(),
        _ => "(unknown)".into(),
    }
}

pub fn text(t: &Option<std::borrow::Cow<'_, str>>) -> String {
    t.as_deref().unwrap_or("").to_string()
}

pub fn value_text(v: &Value<'_>) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(t) => t.to_string(),
        Value::Number(n) => n.to_string(),
    }
}

/// A date value as an instant.
pub fn date_value(v: &Value<'_>) -> Option<DateTime<FixedOffset>> {
    match v {
        Value::Text(t) => parse_timestamp(t),
        _ => None,
    }
}
