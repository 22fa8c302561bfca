//! How a raw JRNLE record becomes a change record. This is the hot path of `normalize` and of
//! large exports: text is borrowed from the input where it can be, and dates are parsed and
//! written without format strings.

use std::borrow::Cow;

use crate::model::anomaly::{Anomaly, AnomalySet};
use crate::model::change::{ChangeRecord, SourceKind, Value, ValueType};
use crate::model::date::{parse_timestamp, write_utc_ms};
use crate::model::raw::{EditedBy, Field, RawJrnle};
use crate::model::sanitize::has_literal_surrogate;

use crate::model::change::Text;

/// changeType codes documented up to API v22 (API notes §3); others are kept and reported.
const KNOWN_CHANGE_TYPES: [&str; 22] = [
    "A", "E", "D", "DW", "AAA", "AAR", "ARR", "ARA", "ADA", "ADC", "ADN", "ADR", "AAC", "ARC",
    "RDC", "RDR", "PUB", "AAO", "ADM", "AUL", "ALM", "PFM",
];

/// Turn one raw JRNLE record (as Workfront returns it) into a change record, with the kinds
/// of oddity met on the way.
///
/// Never fails: a value of an unexpected shape is kept as text, so no entry is ever dropped.
pub fn normalize(raw: RawJrnle<'_>) -> (ChangeRecord<'_>, AnomalySet) {
    let mut found = AnomalySet::default();
    if raw.lacks_a_field() {
        found.insert(Anomaly::MissingField);
    }
    let mut r = Reader { found: &mut found };
    let field_name = r.text(raw.field_name);
    let change_type = r.text(raw.change_type);
    if change_type
        .as_deref()
        .is_some_and(|c| !KNOWN_CHANGE_TYPES.contains(&c))
    {
        r.found.insert(Anomaly::UnknownChangeType);
    }
    let (value_type, old_value, new_value) = if raw.old_date.is_set() || raw.new_date.is_set() {
        let (o, n) = (r.date(raw.old_date), r.date(raw.new_date));
        (ValueType::Date, text_value(o), text_value(n))
    } else if raw.old_number.is_set() || raw.new_number.is_set() {
        let (o, n) = (r.number(raw.old_number), r.number(raw.new_number));
        (ValueType::Number, o, n)
    } else if raw.old_text.is_set() || raw.new_text.is_set() {
        let (o, n) = (r.text(raw.old_text), r.text(raw.new_text));
        (ValueType::Text, text_value(o), text_value(n))
    } else {
        (ValueType::None, Value::Null, Value::Null)
    };
    let edited_by_name = match raw.edited_by {
        EditedBy::User { name } => r.text(name),
        EditedBy::Missing | EditedBy::Null => None,
        EditedBy::Other(f) => {
            r.found.insert(Anomaly::NotText);
            r.text(f)
        }
    };
    let record = ChangeRecord {
        id: r.text(raw.id),
        entry_date: r.date(raw.entry_date),
        obj_code: r.text(raw.obj_code),
        obj_id: r.text(raw.obj_id),
        obj_name: r.text(raw.obj_name),
        custom_field: field_name.as_deref().is_some_and(|f| f.starts_with("DE:")),
        field_name,
        change_type,
        value_type,
        old_value,
        new_value,
        edited_by_id: r.text(raw.edited_by_id),
        edited_by_name,
        sub_obj_code: r.text(raw.sub_obj_code),
        sub_obj_id: r.text(raw.sub_obj_id),
        top_obj_code: r.text(raw.top_obj_code),
        top_obj_id: r.text(raw.top_obj_id),
        labels: None,
        source: SourceKind::Journal,
    };
    (record, found)
}

fn text_value(t: Text<'_>) -> Value<'_> {
    t.map_or(Value::Null, Value::Text)
}

/// Notes each kind of oddity met while reading one record's fields.
struct Reader<'s> {
    found: &'s mut AnomalySet,
}

impl Reader<'_> {
    /// A string verbatim; any other JSON value as its text (so odd data is kept, not dropped).
    fn text<'a>(&mut self, f: Field<'a>) -> Text<'a> {
        let s = match f {
            Field::Missing | Field::Null => return None,
            Field::Text(s) => s,
            Field::Number(n) => {
                self.found.insert(Anomaly::NotText);
                Cow::Owned(render_json_number(&n))
            }
            Field::Other(v) => {
                self.found.insert(Anomaly::NotText);
                Cow::Owned(v.to_string())
            }
        };
        self.check(&s);
        Some(s)
    }

    /// Control characters other than tab and line ends, and surrogate escapes made literal.
    fn check(&mut self, s: &str) {
        let bytes = s.as_bytes();
        // One pass: C0 controls but tab and line ends, DEL, and C1 controls (U+0080 to
        // U+009F, encoded as 0xC2 0x80..=0x9F).
        // A branch-free scan first (it vectorizes); the exact test only when it hits.
        let suspect = bytes.iter().fold(false, |acc, &b| {
            acc | (b < 0x20) | (b == 0x7f) | (b == 0xc2)
        });
        let mut prev = 0u8;
        for &b in bytes.iter().take(if suspect { usize::MAX } else { 0 }) {
            if (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
                || b == 0x7f
                || (prev == 0xc2 && (0x80..=0x9f).contains(&b))
            {
                self.found.insert(Anomaly::ControlCharacters);
                break;
            }
            prev = b;
        }
        if bytes.contains(&b'\\') && has_literal_surrogate(s) {
            self.found.insert(Anomaly::InvalidSurrogate);
        }
    }

    /// A date converted to UTC; a date that does not parse is kept as its raw text.
    fn date<'a>(&mut self, f: Field<'a>) -> Text<'a> {
        match f {
            Field::Missing | Field::Null => None,
            Field::Text(s) => match parse_timestamp(&s) {
                Some(dt) => {
                    let mut out = String::with_capacity(24);
                    write_utc_ms(&mut out, &dt.with_timezone(&chrono::Utc));
                    Some(Cow::Owned(out))
                }
                None => {
                    self.found.insert(Anomaly::BadDate);
                    self.check(&s);
                    Some(s)
                }
            },
            other => {
                self.found.insert(Anomaly::BadDate);
                let text = match other {
                    Field::Number(n) => render_json_number(&n),
                    Field::Other(v) => v.to_string(),
                    _ => String::new(),
                };
                Some(Cow::Owned(text))
            }
        }
    }

    fn number<'a>(&mut self, f: Field<'a>) -> Value<'a> {
        match f {
            Field::Missing | Field::Null => Value::Null,
            Field::Number(n) => Value::Number(render_json_number(&n).into()),
            Field::Text(s) => {
                self.found.insert(Anomaly::NotNumber);
                self.check(&s);
                Value::Text(s)
            }
            Field::Other(v) => {
                self.found.insert(Anomaly::NotNumber);
                Value::Text(Cow::Owned(v.to_string()))
            }
        }
    }
}

pub use crate::model::number::{render_json_number, render_number};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::anomaly::Anomalies;
    use crate::model::raw::from_map;
    use serde_json::{Value as Json, json};

    fn norm(v: Json) -> ChangeRecord<'static> {
        normalize(from_map(v.as_object().unwrap())).0
    }

    fn anomalies(v: Json) -> Anomalies {
        let mut a = Anomalies::default();
        a.add(normalize(from_map(v.as_object().unwrap())).1);
        a
    }

    fn complete(extra: Json) -> Json {
        let mut base = json!({
            "ID": "a", "entryDate": "2025-01-07T10:00:00:000-0700", "changeType": "E",
            "fieldName": "status", "objObjCode": "TASK", "objID": "t", "referenceObjectName": "n",
            "subObjCode": null, "subObjID": null, "topObjCode": null, "topObjID": null,
            "oldTextVal": "NEW", "newTextVal": "INP", "oldNumberVal": null, "newNumberVal": null,
            "oldDateVal": null, "newDateVal": null, "editedByID": "u",
            "editedBy": {"ID": "u", "name": "Ada", "objCode": "USER"}
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    }

    #[test]
    fn a_clean_record_has_no_anomalies() {
        assert_eq!(anomalies(complete(json!({}))).total(), 0);
    }

    #[test]
    fn each_oddity_is_counted_once_per_record() {
        let cases = [
            (json!({"entryDate": "yesterday"}), Anomaly::BadDate),
            (json!({"newDateVal": 17}), Anomaly::BadDate),
            (json!({"fieldName": 42}), Anomaly::NotText),
            (json!({"newNumberVal": "12,5"}), Anomaly::NotNumber),
            (json!({"changeType": "ZZZ"}), Anomaly::UnknownChangeType),
            (
                json!({"newTextVal": "bell\u{7}"}),
                Anomaly::ControlCharacters,
            ),
            (json!({"newTextVal": "x\\ud800"}), Anomaly::InvalidSurrogate),
            (
                json!({"newTextVal": "next line\u{85}"}),
                Anomaly::ControlCharacters,
            ),
            (
                json!({"newTextVal": "del\u{7f}"}),
                Anomaly::ControlCharacters,
            ),
        ];
        for (extra, kind) in cases {
            let a = anomalies(complete(extra.clone()));
            assert_eq!(a.count(kind), 1, "{extra}");
            assert_eq!(a.total(), 1, "{extra}: {a:?}");
        }
        let mut missing = complete(json!({}));
        missing.as_object_mut().unwrap().remove("topObjID");
        assert_eq!(anomalies(missing).count(Anomaly::MissingField), 1);
        let a = anomalies(complete(
            json!({"oldDateVal": "bad", "newDateVal": "worse"}),
        ));
        assert_eq!(
            a.count(Anomaly::BadDate),
            1,
            "one record, one count per kind"
        );
        assert_eq!(
            a.lines(),
            ["1 entry has a date that does not parse (kept as text)"]
        );
    }

    #[test]
    fn tabs_newlines_and_long_values_are_not_anomalies() {
        let long = "x".repeat(10_000);
        let a = anomalies(complete(json!({"newTextVal": format!("a\tb\r\nc{long}")})));
        assert_eq!(a.total(), 0);
        let r = norm(complete(json!({"newTextVal": long.clone()})));
        assert_eq!(r.new_value, Value::Text(long.into()));
    }

    #[test]
    fn numbers_render_shortest_without_exponent() {
        assert_eq!(render_number(8.0), "8");
        assert_eq!(render_number(7.75), "7.75");
        assert_eq!(render_number(0.1), "0.1");
        assert_eq!(render_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(render_number(0.00000025), "0.00000025");
        assert_eq!(render_number(1e15), "1000000000000000");
        assert_eq!(render_number(1e21), "1000000000000000000000");
        assert_eq!(render_number(-42.0), "-42");
        assert_eq!(render_number(-0.0), "0");
        assert_eq!(render_number(5e-324), format!("0.{}5", "0".repeat(323)));
        for x in [
            0.1,
            7.75,
            1e-7,
            123456.789,
            2.5e-7,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
        ] {
            let s = render_number(x);
            assert!(!s.contains('e') && !s.contains('E'), "{s}");
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s} must read back");
        }
    }

    #[test]
    fn json_numbers_keep_large_integers_exact() {
        let r = norm(json!({"oldNumberVal": 9007199254740993_u64, "newNumberVal": 8.0}));
        assert_eq!(r.old_value, Value::Number("9007199254740993".into()));
        assert_eq!(r.new_value, Value::Number("8".into()));
    }

    #[test]
    fn value_type_prefers_date_then_number_then_text() {
        let all = json!({"oldTextVal": "a", "newNumberVal": 1.5, "newDateVal": "2025-01-07T10:00:00:000-0700"});
        let r = norm(all);
        assert_eq!(r.value_type, ValueType::Date);
        assert_eq!(r.old_value, Value::Null);
        assert_eq!(r.new_value, Value::Text("2025-01-07T17:00:00.000Z".into()));

        let r = norm(
            json!({"oldTextVal": "a", "oldNumberVal": null, "newNumberVal": 1.5, "oldDateVal": null}),
        );
        assert_eq!(r.value_type, ValueType::Number);
        assert_eq!(
            (r.old_value, r.new_value),
            (Value::Null, Value::Number("1.5".into()))
        );

        let r = norm(json!({"oldTextVal": " a ", "newTextVal": null, "oldNumberVal": null}));
        assert_eq!(r.value_type, ValueType::Text);
        assert_eq!(
            (r.old_value, r.new_value),
            (Value::Text(" a ".into()), Value::Null)
        );

        let r = norm(json!({"oldTextVal": null, "newTextVal": null}));
        assert_eq!(r.value_type, ValueType::None);
        assert_eq!((r.old_value, r.new_value), (Value::Null, Value::Null));
    }

    #[test]
    fn empty_text_is_not_null() {
        let r = norm(json!({"oldTextVal": "", "newTextVal": "x"}));
        assert_eq!(r.value_type, ValueType::Text);
        assert_eq!(r.old_value, Value::Text(String::new().into()));
    }

    #[test]
    fn fields_map_to_columns() {
        let r = norm(json!({
            "ID": "abc", "entryDate": "2025-03-09T01:59:59:999-0700", "objObjCode": "TASK",
            "objID": "t1", "referenceObjectName": "Design", "fieldName": "DE:Budget Code",
            "changeType": "E", "editedByID": "u1", "editedBy": {"ID": "u1", "name": "Ada", "objCode": "USER"},
            "subObjCode": "HOUR", "subObjID": "h1", "topObjCode": "PROJ", "topObjID": "p1",
            "oldTextVal": "X", "newTextVal": "Y"
        }));
        assert_eq!(r.id.as_deref(), Some("abc"));
        assert_eq!(r.entry_date.as_deref(), Some("2025-03-09T08:59:59.999Z"));
        assert_eq!(r.field_name.as_deref(), Some("DE:Budget Code"));
        assert!(r.custom_field);
        assert_eq!(r.edited_by_name.as_deref(), Some("Ada"));
        assert_eq!(r.sub_obj_code.as_deref(), Some("HOUR"));
        assert_eq!(r.top_obj_id.as_deref(), Some("p1"));
        let r = norm(json!({"fieldName": "status", "editedBy": null}));
        assert!(!r.custom_field);
        assert_eq!(r.edited_by_name, None);
    }

    #[test]
    fn odd_shapes_are_kept_as_text() {
        let r = norm(json!({"ID": 17, "oldDateVal": "not a date", "newDateVal": 5}));
        assert_eq!(r.id.as_deref(), Some("17"));
        assert_eq!(r.old_value, Value::Text("not a date".into()));
        assert_eq!(r.new_value, Value::Text("5".into()));
        let r = norm(json!({"newNumberVal": "12,5", "fieldName": ["x"]}));
        assert_eq!(r.new_value, Value::Text("12,5".into()));
        assert_eq!(r.field_name.as_deref(), Some("[\"x\"]"));
    }
}
