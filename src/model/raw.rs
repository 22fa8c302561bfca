//! A raw JRNLE record as Workfront sends it, parsed straight from the JSON text. Strings are
//! borrowed from the input where they have no escapes, so normalizing allocates little; a
//! field keeps apart "absent", `null`, text, a number and anything else (bad data is kept).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de::value::MapAccessDeserializer, de::value::SeqAccessDeserializer};
use serde_json::Value;

/// One field's value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Field<'a> {
    /// Not in the record at all.
    #[default]
    Missing,
    Null,
    Text(Cow<'a, str>),
    Number(serde_json::Number),
    /// A boolean, an array or an object: the wrong shape for any JRNLE field. (Boxed: it is
    /// rare, and a smaller field makes every record cheaper to build and move.)
    Other(Box<Value>),
}

impl Field<'_> {
    pub fn is_set(&self) -> bool {
        !matches!(self, Field::Missing | Field::Null)
    }

    pub fn into_owned(self) -> Field<'static> {
        match self {
            Field::Missing => Field::Missing,
            Field::Null => Field::Null,
            Field::Text(t) => Field::Text(Cow::Owned(t.into_owned())),
            Field::Number(n) => Field::Number(n),
            Field::Other(v) => Field::Other(v),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Field<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor(std::marker::PhantomData))
    }
}

struct FieldVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for FieldVisitor<'a> {
    type Value = Field<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Field::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Field::deserialize(d)
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Field::Text(Cow::Owned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Field::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Field::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        serde_json::Number::from_f64(v)
            .map(Field::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Field::Other(Box::new(Value::Bool(v))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(|v| Field::Other(Box::new(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(MapAccessDeserializer::new(map)).map(|v| Field::Other(Box::new(v)))
    }
}

/// The `editedBy` reference: `{"ID": ..., "name": ..., "objCode": "USER"}`, null, or odd.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum EditedBy<'a> {
    #[default]
    Missing,
    Null,
    User {
        name: Field<'a>,
    },
    Other(Field<'a>),
}

#[derive(Deserialize)]
struct User<'a> {
    #[serde(borrow, default)]
    name: Field<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for EditedBy<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = EditedBy<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a user reference")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                User::deserialize(MapAccessDeserializer::new(map))
                    .map(|u| EditedBy::User { name: u.name })
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(EditedBy::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(EditedBy::Null)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(EditedBy::Other(Field::Text(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(EditedBy::Other(Field::Text(Cow::Owned(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(EditedBy::Other(Field::Number(v.into())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(EditedBy::Other(Field::Number(v.into())))
            }
            // A number as `Field` keeps it, whatever its form (`1.5`, `0e0`, past `u64`), so
            // that it renders as every number does and as the fast reader (`scan`) reads it.
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                FieldVisitor(std::marker::PhantomData)
                    .visit_f64(v)
                    .map(EditedBy::Other)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(EditedBy::Other(Field::Other(Box::new(Value::Bool(v)))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq))
                    .map(|v| EditedBy::Other(Field::Other(Box::new(v))))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The JRNLE fields the tool reads, as a search asks for them (never `*`).
pub const SEARCH_FIELDS: [&str; 19] = [
    "ID",
    "entryDate",
    "changeType",
    "fieldName",
    "objObjCode",
    "objID",
    "referenceObjectName",
    "subObjCode",
    "subObjID",
    "topObjCode",
    "topObjID",
    "oldTextVal",
    "newTextVal",
    "oldNumberVal",
    "newNumberVal",
    "oldDateVal",
    "newDateVal",
    "editedByID",
    "editedBy:name",
];

/// The key one of [`SEARCH_FIELDS`] has in a record: a referenced object's field
/// (`editedBy:name`) comes inside the reference (`editedBy`).
pub fn record_key(field: &str) -> &str {
    field
        .split_once(':')
        .map_or(field, |(reference, _)| reference)
}

/// The JRNLE fields the tool reads. Other fields in the record are ignored.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct RawJrnle<'a> {
    #[serde(rename = "ID", borrow, default)]
    pub id: Field<'a>,
    #[serde(rename = "entryDate", borrow, default)]
    pub entry_date: Field<'a>,
    #[serde(rename = "changeType", borrow, default)]
    pub change_type: Field<'a>,
    #[serde(rename = "fieldName", borrow, default)]
    pub field_name: Field<'a>,
    #[serde(rename = "objObjCode", borrow, default)]
    pub obj_code: Field<'a>,
    #[serde(rename = "objID", borrow, default)]
    pub obj_id: Field<'a>,
    #[serde(rename = "referenceObjectName", borrow, default)]
    pub obj_name: Field<'a>,
    #[serde(rename = "subObjCode", borrow, default)]
    pub sub_obj_code: Field<'a>,
    #[serde(rename = "subObjID", borrow, default)]
    pub sub_obj_id: Field<'a>,
    #[serde(rename = "topObjCode", borrow, default)]
    pub top_obj_code: Field<'a>,
    #[serde(rename = "topObjID", borrow, default)]
    pub top_obj_id: Field<'a>,
    #[serde(rename = "oldTextVal", borrow, default)]
    pub old_text: Field<'a>,
    #[serde(rename = "newTextVal", borrow, default)]
    pub new_text: Field<'a>,
    #[serde(rename = "oldNumberVal", borrow, default)]
    pub old_number: Field<'a>,
    #[serde(rename = "newNumberVal", borrow, default)]
    pub new_number: Field<'a>,
    #[serde(rename = "oldDateVal", borrow, default)]
    pub old_date: Field<'a>,
    #[serde(rename = "newDateVal", borrow, default)]
    pub new_date: Field<'a>,
    #[serde(rename = "editedByID", borrow, default)]
    pub edited_by_id: Field<'a>,
    #[serde(rename = "editedBy", borrow, default)]
    pub edited_by: EditedBy<'a>,
}

impl RawJrnle<'_> {
    /// The same record owning all its text.
    pub fn into_owned(self) -> RawJrnle<'static> {
        RawJrnle {
            id: self.id.into_owned(),
            entry_date: self.entry_date.into_owned(),
            change_type: self.change_type.into_owned(),
            field_name: self.field_name.into_owned(),
            obj_code: self.obj_code.into_owned(),
            obj_id: self.obj_id.into_owned(),
            obj_name: self.obj_name.into_owned(),
            sub_obj_code: self.sub_obj_code.into_owned(),
            sub_obj_id: self.sub_obj_id.into_owned(),
            top_obj_code: self.top_obj_code.into_owned(),
            top_obj_id: self.top_obj_id.into_owned(),
            old_text: self.old_text.into_owned(),
            new_text: self.new_text.into_owned(),
            old_number: self.old_number.into_owned(),
            new_number: self.new_number.into_owned(),
            old_date: self.old_date.into_owned(),
            new_date: self.new_date.into_owned(),
            edited_by_id: self.edited_by_id.into_owned(),
            edited_by: match self.edited_by {
                EditedBy::Missing => EditedBy::Missing,
                EditedBy::Null => EditedBy::Null,
                EditedBy::User { name } => EditedBy::User {
                    name: name.into_owned(),
                },
                EditedBy::Other(f) => EditedBy::Other(f.into_owned()),
            },
        }
    }

    /// Whether any field the tool reads is absent from the record.
    pub fn lacks_a_field(&self) -> bool {
        [
            &self.id,
            &self.entry_date,
            &self.change_type,
            &self.field_name,
            &self.obj_code,
            &self.obj_id,
            &self.obj_name,
            &self.sub_obj_code,
            &self.sub_obj_id,
            &self.top_obj_code,
            &self.top_obj_id,
            &self.old_text,
            &self.new_text,
            &self.old_number,
            &self.new_number,
            &self.old_date,
            &self.new_date,
            &self.edited_by_id,
        ]
        .iter()
        .any(|f| matches!(f, Field::Missing))
            || matches!(self.edited_by, EditedBy::Missing)
    }
}

/// A record from a JSON object already parsed (the simulator's and the tests' form).
pub fn from_map(map: &serde_json::Map<String, Value>) -> RawJrnle<'static> {
    // Every JSON object deserializes: unknown fields are ignored and any value fits a Field.
    let value = Value::Object(map.clone());
    RawJrnle::deserialize(&value)
        .map(RawJrnle::into_owned)
        .unwrap_or_default()
}

/// `{"data": [ ... ]}`, as `/search` answers.
#[derive(Debug, Deserialize)]
pub struct SearchBody<'a> {
    #[serde(borrow)]
    pub data: Vec<RawJrnle<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_absent_null_text_number_and_odd_apart() {
        let r: RawJrnle = serde_json::from_str(
            r#"{"ID":"a","entryDate":null,"changeType":7,"fieldName":["x"],"oldTextVal":"t\"q",
               "editedBy":{"ID":"u","name":"Ada","objCode":"USER"},"extra":1}"#,
        )
        .unwrap();
        assert_eq!(r.id, Field::Text(Cow::Borrowed("a")));
        assert!(
            matches!(r.id, Field::Text(Cow::Borrowed(_))),
            "borrowed, no copy"
        );
        assert_eq!(r.entry_date, Field::Null);
        assert_eq!(r.change_type, Field::Number(7.into()));
        assert_eq!(
            r.field_name,
            Field::Other(Box::new(serde_json::json!(["x"])))
        );
        assert_eq!(r.old_text, Field::Text(Cow::Owned("t\"q".into())));
        assert_eq!(r.new_text, Field::Missing);
        assert_eq!(
            r.edited_by,
            EditedBy::User {
                name: Field::Text(Cow::Borrowed("Ada"))
            }
        );
        assert!(r.lacks_a_field());
        let r: RawJrnle = serde_json::from_str(r#"{"editedBy":null}"#).unwrap();
        assert_eq!(r.edited_by, EditedBy::Null);
        let r: RawJrnle = serde_json::from_str(r#"{"editedBy":"u1"}"#).unwrap();
        assert_eq!(
            r.edited_by,
            EditedBy::Other(Field::Text(Cow::Borrowed("u1")))
        );
        let r: RawJrnle = serde_json::from_str(r#"{"editedBy":1.5}"#).unwrap();
        assert_eq!(
            r.edited_by,
            EditedBy::Other(Field::Number(serde_json::Number::from_f64(1.5).unwrap()))
        );
    }
}
