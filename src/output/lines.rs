//! A fast reader for the usual JSON Lines line this tool writes: the change record's keys
//! deserialized straight into a [`ChangeRecord`] whose text borrows from the line where it has
//! no escape, instead of through a map of JSON values. Whatever it does not take for sure (a
//! key twice, a value of another shape, an unknown `value_type`) it answers `None` for, and the
//! caller reads the line the general way, so the result, and any error, is the general one's.

use std::borrow::Cow;

use serde::de::{self, Deserializer, Visitor};

use crate::model::change::{ChangeRecord, Labels, SourceKind, Value, ValueType};
use crate::model::number::render_json_number;

/// A value cell: text, a number, or a boolean (null is the `Option`'s `None`).
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Number(serde_json::Number),
    Bool(bool),
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                serde_json::Number::from_f64(v)
                    .map(Scalar::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A key that is there (even null) is `Some`: whether a line has the label columns.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Cow<'de, str>>>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Text<'a>(#[serde(borrow)] Option<Cow<'a, str>>);
    <Text<'de> as serde::Deserialize>::deserialize(d).map(|t| Some(t.0))
}

/// A key that is there (even null) is `Some`, for values.
fn there<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Scalar<'de>>>, D::Error> {
    <Option<Scalar<'de>> as serde::Deserialize>::deserialize(d).map(Some)
}

type Text<'a> = Option<Cow<'a, str>>;

/// The keys of a change record line (docs/record.md); others are ignored, as the general
/// reader ignores them.
#[derive(serde::Deserialize)]
struct Line<'a> {
    // A key (null or not) in every line this tool writes.
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    entry_date: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    obj_code: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    obj_id: Option<Text<'a>>,
    #[serde(borrow)]
    obj_name: Text<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    field_name: Option<Text<'a>>,
    custom_field: Option<bool>,
    #[serde(borrow, default, deserialize_with = "present")]
    change_type: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    value_type: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "there")]
    old_value: Option<Option<Scalar<'a>>>,
    #[serde(borrow, default, deserialize_with = "there")]
    new_value: Option<Option<Scalar<'a>>>,
    #[serde(borrow)]
    edited_by_id: Text<'a>,
    #[serde(borrow)]
    edited_by_name: Text<'a>,
    #[serde(borrow)]
    sub_obj_code: Text<'a>,
    #[serde(borrow)]
    sub_obj_id: Text<'a>,
    #[serde(borrow)]
    top_obj_code: Text<'a>,
    #[serde(borrow)]
    top_obj_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    change_label: Option<Text<'a>>,
    #[serde(borrow, default)]
    old_label: Text<'a>,
    #[serde(borrow, default)]
    new_label: Text<'a>,
    #[serde(borrow, default)]
    source: Text<'a>,
}

/// The record on `line`, or `None` when the general reader must read it.
pub(super) fn record(line: &str) -> Option<ChangeRecord<'_>> {
    let l: Line<'_> = serde_json::from_str(line).ok()?;
    // Without them (the keys the answers read: every line this tool writes has them, null or
    // not), the general reader says what the line is not.
    let id = l.id?;
    let (entry_date, obj_code, obj_id) = (l.entry_date?, l.obj_code?, l.obj_id?);
    let (field_name, change_type, value_type) = (l.field_name?, l.change_type?, l.value_type?);
    let (old_value, new_value) = (l.old_value?, l.new_value?);
    let value_type = ValueType::named(value_type.as_deref())?;
    fn value(v: Option<Scalar<'_>>, value_type: ValueType) -> Value<'_> {
        match (v, value_type) {
            (None, _) => Value::Null,
            (Some(Scalar::Text(t)), ValueType::Number) => Value::Number(t),
            (Some(Scalar::Number(n)), ValueType::Number) => {
                Value::Number(render_json_number(&n).into())
            }
            (Some(Scalar::Bool(b)), ValueType::Number) => Value::Number(b.to_string().into()),
            (Some(Scalar::Text(t)), _) => Value::Text(t),
            (Some(Scalar::Number(n)), _) => Value::Text(Cow::Owned(render_json_number(&n))),
            (Some(Scalar::Bool(b)), _) => Value::Text(Cow::Owned(b.to_string())),
        }
    }
    let own = |t: Text<'_>| t.map(|c| c.into_owned());
    let labels = l.change_label.map(|change| {
        Box::new(Labels {
            change_label: own(change),
            old_label: own(l.old_label),
            new_label: own(l.new_label),
        })
    });
    Some(ChangeRecord {
        id,
        entry_date,
        obj_code,
        obj_id,
        obj_name: l.obj_name,
        field_name,
        custom_field: l.custom_field.unwrap_or(false),
        change_type,
        value_type,
        old_value: value(old_value, value_type),
        new_value: value(new_value, value_type),
        edited_by_id: l.edited_by_id,
        edited_by_name: l.edited_by_name,
        sub_obj_code: l.sub_obj_code,
        sub_obj_id: l.sub_obj_id,
        top_obj_code: l.top_obj_code,
        top_obj_id: l.top_obj_id,
        labels,
        source: l
            .source
            .as_deref()
            .and_then(SourceKind::named)
            .unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn general(line: &str) -> ChangeRecord<'static> {
        let row: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).unwrap();
        super::super::json::record_of(&row).unwrap()
    }

    #[test]
    fn the_fast_reader_reads_every_line_as_the_general_one_does() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.expected.ndjson");
        let text = std::fs::read_to_string(path).unwrap();
        let extra = [
            r#"{"id":"x","entry_date":"2025-01-01T00:00:00.000Z","obj_code":"TASK","obj_id":"t","field_name":"f","change_type":"E","value_type":"number","old_value":2.5e-7,"new_value":"8","custom_field":true,"change_label":"Edit","old_label":null,"new_label":"In \"Progress\"","source":"event"}"#,
            r#"{"id":"y","entry_date":null,"obj_code":null,"obj_id":null,"field_name":null,"change_type":null,"value_type":"text","old_value":12,"new_value":true,"unknown":1}"#,
        ];
        for line in text.lines().chain(extra) {
            let fast = record(line).expect(line);
            assert_eq!(fast.into_owned(), general(line), "{line}");
        }
    }

    #[test]
    fn lines_of_other_shapes_are_left_to_the_general_reader() {
        for line in [
            r#"{"id":"x","value_type":"weird"}"#,
            r#"{"id":"x","old_value":[1]}"#,
            r#"{"id":"x","id":"y"}"#,
            // Without a key the replay reads (old_value).
            r#"{"id":"y","entry_date":null,"obj_code":null,"obj_id":null,"field_name":null,"change_type":null,"value_type":"text","new_value":"x"}"#,
            "not json",
        ] {
            assert!(record(line).is_none(), "{line}");
        }
    }
}
