//! The normalized change record (a contract: see the README) and how a raw JRNLE record
//! becomes one.

use chrono::Utc;
use serde_json::{Map, Value};

use crate::workfront::date::{format_utc_ms, parse_timestamp};

/// The output columns, in contract order.
pub const COLUMNS: [&str; 17] = [
    "id",
    "entry_date",
    "obj_code",
    "obj_id",
    "obj_name",
    "field_name",
    "custom_field",
    "change_type",
    "value_type",
    "old_value",
    "new_value",
    "edited_by_id",
    "edited_by_name",
    "sub_obj_code",
    "sub_obj_id",
    "top_obj_code",
    "top_obj_id",
];

/// Which typed pair of the journal entry the old and new values came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Date,
    Number,
    Text,
    None,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Date => "date",
            ValueType::Number => "number",
            ValueType::Text => "text",
            ValueType::None => "none",
        }
    }
}

/// One rendered cell. `Number` holds the rendered decimal, written as a JSON number and exempt
/// from the CSV formula guard; `Bool` is `custom_field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Text(String),
    Number(String),
    Bool(bool),
}

impl Cell {
    fn text(s: Option<String>) -> Cell {
        s.map_or(Cell::Null, Cell::Text)
    }
}

/// One field change, rendered and ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    pub id: Option<String>,
    pub entry_date: Option<String>,
    pub obj_code: Option<String>,
    pub obj_id: Option<String>,
    pub obj_name: Option<String>,
    pub field_name: Option<String>,
    pub custom_field: bool,
    pub change_type: Option<String>,
    pub value_type: ValueType,
    pub old_value: Cell,
    pub new_value: Cell,
    pub edited_by_id: Option<String>,
    pub edited_by_name: Option<String>,
    pub sub_obj_code: Option<String>,
    pub sub_obj_id: Option<String>,
    pub top_obj_code: Option<String>,
    pub top_obj_id: Option<String>,
}

impl ChangeRecord {
    /// The cells in column order.
    pub fn cells(&self) -> [Cell; 17] {
        let t = |s: &Option<String>| Cell::text(s.clone());
        [
            t(&self.id),
            t(&self.entry_date),
            t(&self.obj_code),
            t(&self.obj_id),
            t(&self.obj_name),
            t(&self.field_name),
            Cell::Bool(self.custom_field),
            t(&self.change_type),
            Cell::Text(self.value_type.as_str().to_string()),
            self.old_value.clone(),
            self.new_value.clone(),
            t(&self.edited_by_id),
            t(&self.edited_by_name),
            t(&self.sub_obj_code),
            t(&self.sub_obj_id),
            t(&self.top_obj_code),
            t(&self.top_obj_id),
        ]
    }
}

/// Something odd in a raw record. The value is kept (as text where its type was wrong); the
/// run warns once per kind with a count and reports the total in its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anomaly {
    MissingField,
    BadDate,
    NotText,
    NotNumber,
    UnknownChangeType,
    ControlCharacters,
    InvalidSurrogate,
}

impl Anomaly {
    pub fn describe(self) -> &'static str {
        match self {
            Anomaly::MissingField => "lack a JRNLE field (written as null)",
            Anomaly::BadDate => "have a date that does not parse (kept as text)",
            Anomaly::NotText => "have a non-text value in a text field (kept as text)",
            Anomaly::NotNumber => "have a non-number in a number field (kept as text)",
            Anomaly::UnknownChangeType => "have an unknown changeType (kept verbatim)",
            Anomaly::ControlCharacters => "have control characters in a value (kept verbatim)",
            Anomaly::InvalidSurrogate => {
                "have an unpaired UTF-16 surrogate escape (kept as the literal text \\uXXXX)"
            }
        }
    }
}

/// Counts of records per anomaly kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Anomalies(std::collections::BTreeMap<Anomaly, u64>);

impl Anomalies {
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn count(&self, kind: Anomaly) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }

    /// One line per kind: "3 entries have a date that does not parse (kept as text)".
    pub fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(kind, n)| {
                let noun = if *n == 1 { "entry" } else { "entries" };
                let text = kind.describe();
                let text = if *n == 1 {
                    text.replacen("have", "has", 1).replacen("lack", "lacks", 1)
                } else {
                    text.to_string()
                };
                format!("{n} {noun} {text}")
            })
            .collect()
    }

    fn add(&mut self, kinds: &std::collections::BTreeSet<Anomaly>) {
        for kind in kinds {
            *self.0.entry(*kind).or_default() += 1;
        }
    }
}

/// changeType codes documented up to API v22 (API notes §3); others are kept and reported.
const KNOWN_CHANGE_TYPES: [&str; 22] = [
    "A", "E", "D", "DW", "AAA", "AAR", "ARR", "ARA", "ADA", "ADC", "ADN", "ADR", "AAC", "ARC",
    "RDC", "RDR", "PUB", "AAO", "ADM", "AUL", "ALM", "PFM",
];

/// The raw fields a record is expected to carry (those every search asks for).
const EXPECTED_FIELDS: [&str; 19] = [
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
    "editedBy",
];

/// Turn one raw JRNLE record (as Workfront returns it) into a change record, counting what is
/// odd about it in `anomalies`.
///
/// Never fails: a value of an unexpected shape is kept as text, so no entry is ever dropped.
pub fn normalize(raw: &Map<String, Value>, anomalies: &mut Anomalies) -> ChangeRecord {
    let mut found = std::collections::BTreeSet::new();
    let record = Reader {
        raw,
        found: &mut found,
    }
    .record();
    anomalies.add(&found);
    record
}

/// Reads one raw record and notes each kind of oddity met.
struct Reader<'a> {
    raw: &'a Map<String, Value>,
    found: &'a mut std::collections::BTreeSet<Anomaly>,
}

impl Reader<'_> {
    fn record(mut self) -> ChangeRecord {
        if EXPECTED_FIELDS.iter().any(|f| !self.raw.contains_key(*f)) {
            self.found.insert(Anomaly::MissingField);
        }
        let field_name = self.text("fieldName");
        let change_type = self.text("changeType");
        if change_type
            .as_deref()
            .is_some_and(|c| !KNOWN_CHANGE_TYPES.contains(&c))
        {
            self.found.insert(Anomaly::UnknownChangeType);
        }
        let (value_type, old_value, new_value) = self.typed_values();
        let edited_by_name = match self.raw.get("editedBy") {
            Some(Value::Object(user)) => user.get("name").and_then(|v| self.text_of(v)),
            Some(Value::Null) | None => None,
            Some(other) => {
                self.found.insert(Anomaly::NotText);
                Some(other.to_string())
            }
        };
        ChangeRecord {
            id: self.text("ID"),
            entry_date: self.date("entryDate"),
            obj_code: self.text("objObjCode"),
            obj_id: self.text("objID"),
            obj_name: self.text("referenceObjectName"),
            custom_field: field_name.as_deref().is_some_and(|f| f.starts_with("DE:")),
            field_name,
            change_type,
            value_type,
            old_value,
            new_value,
            edited_by_id: self.text("editedByID"),
            edited_by_name,
            sub_obj_code: self.text("subObjCode"),
            sub_obj_id: self.text("subObjID"),
            top_obj_code: self.text("topObjCode"),
            top_obj_id: self.text("topObjID"),
        }
    }

    /// Pick the typed pair: date if either date is set, else number, else text, else none.
    fn typed_values(&mut self) -> (ValueType, Cell, Cell) {
        let raw = self.raw;
        let present = |key: &str| raw.get(key).is_some_and(|v| !v.is_null());
        let pair = |old: &str, new: &str| present(old) || present(new);
        if pair("oldDateVal", "newDateVal") {
            let old = Cell::text(self.date("oldDateVal"));
            (ValueType::Date, old, Cell::text(self.date("newDateVal")))
        } else if pair("oldNumberVal", "newNumberVal") {
            let old = self.number("oldNumberVal");
            (ValueType::Number, old, self.number("newNumberVal"))
        } else if pair("oldTextVal", "newTextVal") {
            let old = Cell::text(self.text("oldTextVal"));
            (ValueType::Text, old, Cell::text(self.text("newTextVal")))
        } else {
            (ValueType::None, Cell::Null, Cell::Null)
        }
    }

    fn text(&mut self, key: &str) -> Option<String> {
        let v = self.raw.get(key)?;
        self.text_of(v)
    }

    /// A string verbatim; any other JSON value as its text (so odd data is kept, not dropped).
    fn text_of(&mut self, v: &Value) -> Option<String> {
        let s = match v {
            Value::Null => return None,
            Value::String(s) => s.clone(),
            Value::Number(n) => {
                self.found.insert(Anomaly::NotText);
                render_json_number(n)
            }
            other => {
                self.found.insert(Anomaly::NotText);
                other.to_string()
            }
        };
        if s.chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            self.found.insert(Anomaly::ControlCharacters);
        }
        if crate::workfront::sanitize::has_literal_surrogate(&s) {
            self.found.insert(Anomaly::InvalidSurrogate);
        }
        Some(s)
    }

    /// A date converted to UTC; a date that does not parse is kept as its raw text.
    fn date(&mut self, key: &str) -> Option<String> {
        match self.raw.get(key)? {
            Value::Null => None,
            Value::String(s) => match parse_timestamp(s) {
                Some(dt) => Some(format_utc_ms(&dt.with_timezone(&Utc))),
                None => {
                    self.found.insert(Anomaly::BadDate);
                    self.text_of(&Value::String(s.clone()))
                }
            },
            other => {
                self.found.insert(Anomaly::BadDate);
                self.text_of(&Value::String(other.to_string()))
            }
        }
    }

    fn number(&mut self, key: &str) -> Cell {
        match self.raw.get(key) {
            None | Some(Value::Null) => Cell::Null,
            Some(Value::Number(n)) => Cell::Number(render_json_number(n)),
            Some(other) => {
                self.found.insert(Anomaly::NotNumber);
                let text = match other {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Cell::text(self.text_of(&Value::String(text)))
            }
        }
    }
}

fn render_json_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        render_number(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// Integral values without a decimal point, others as the shortest decimal that reads back as
/// the same double, never in exponent notation. Rust's `Display` for `f64` is exactly that
/// (shortest round-trip, no exponent); negative zero is written `0`.
pub fn render_number(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(v: Value) -> ChangeRecord {
        normalize(v.as_object().unwrap(), &mut Anomalies::default())
    }

    fn anomalies(v: Value) -> Anomalies {
        let mut a = Anomalies::default();
        normalize(v.as_object().unwrap(), &mut a);
        a
    }

    fn complete(extra: Value) -> Value {
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
        assert_eq!(r.new_value, Cell::Text(long));
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
        assert_eq!(r.old_value, Cell::Number("9007199254740993".into()));
        assert_eq!(r.new_value, Cell::Number("8".into()));
    }

    #[test]
    fn value_type_prefers_date_then_number_then_text() {
        let all = json!({"oldTextVal": "a", "newNumberVal": 1.5, "newDateVal": "2025-01-07T10:00:00:000-0700"});
        let r = norm(all);
        assert_eq!(r.value_type, ValueType::Date);
        assert_eq!(r.old_value, Cell::Null);
        assert_eq!(r.new_value, Cell::Text("2025-01-07T17:00:00.000Z".into()));

        let r = norm(
            json!({"oldTextVal": "a", "oldNumberVal": null, "newNumberVal": 1.5, "oldDateVal": null}),
        );
        assert_eq!(r.value_type, ValueType::Number);
        assert_eq!(
            (r.old_value, r.new_value),
            (Cell::Null, Cell::Number("1.5".into()))
        );

        let r = norm(json!({"oldTextVal": " a ", "newTextVal": null, "oldNumberVal": null}));
        assert_eq!(r.value_type, ValueType::Text);
        assert_eq!(
            (r.old_value, r.new_value),
            (Cell::Text(" a ".into()), Cell::Null)
        );

        let r = norm(json!({"oldTextVal": null, "newTextVal": null}));
        assert_eq!(r.value_type, ValueType::None);
        assert_eq!((r.old_value, r.new_value), (Cell::Null, Cell::Null));
    }

    #[test]
    fn empty_text_is_not_null() {
        let r = norm(json!({"oldTextVal": "", "newTextVal": "x"}));
        assert_eq!(r.value_type, ValueType::Text);
        assert_eq!(r.old_value, Cell::Text(String::new()));
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
        assert_eq!(r.old_value, Cell::Text("not a date".into()));
        assert_eq!(r.new_value, Cell::Text("5".into()));
        let r = norm(json!({"newNumberVal": "12,5", "fieldName": ["x"]}));
        assert_eq!(r.new_value, Cell::Text("12,5".into()));
        assert_eq!(r.field_name.as_deref(), Some("[\"x\"]"));
    }
}
