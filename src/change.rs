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

/// Turn one raw JRNLE record (as Workfront returns it) into a change record.
///
/// Never fails: a value of an unexpected shape is kept as text, so no entry is ever dropped.
pub fn normalize(raw: &Map<String, Value>) -> ChangeRecord {
    let text = |key: &str| raw.get(key).and_then(render_text);
    let field_name = text("fieldName");
    let (value_type, old_value, new_value) = typed_values(raw);
    let edited_by_name = match raw.get("editedBy") {
        Some(Value::Object(user)) => user.get("name").and_then(render_text),
        _ => None,
    };
    ChangeRecord {
        id: text("ID"),
        entry_date: raw.get("entryDate").and_then(render_date),
        obj_code: text("objObjCode"),
        obj_id: text("objID"),
        obj_name: text("referenceObjectName"),
        custom_field: field_name.as_deref().is_some_and(|f| f.starts_with("DE:")),
        field_name,
        change_type: text("changeType"),
        value_type,
        old_value,
        new_value,
        edited_by_id: text("editedByID"),
        edited_by_name,
        sub_obj_code: text("subObjCode"),
        sub_obj_id: text("subObjID"),
        top_obj_code: text("topObjCode"),
        top_obj_id: text("topObjID"),
    }
}

/// Pick the typed pair: date if either date is set, else number, else text, else none.
fn typed_values(raw: &Map<String, Value>) -> (ValueType, Cell, Cell) {
    let present = |key: &str| raw.get(key).is_some_and(|v| !v.is_null());
    let pair = |old: &str, new: &str| present(old) || present(new);
    let cells = |old: &str, new: &str, render: fn(&Value) -> Cell| {
        let cell = |key: &str| raw.get(key).map_or(Cell::Null, render);
        (cell(old), cell(new))
    };
    if pair("oldDateVal", "newDateVal") {
        let (o, n) = cells("oldDateVal", "newDateVal", |v| Cell::text(render_date(v)));
        (ValueType::Date, o, n)
    } else if pair("oldNumberVal", "newNumberVal") {
        let (o, n) = cells("oldNumberVal", "newNumberVal", number_cell);
        (ValueType::Number, o, n)
    } else if pair("oldTextVal", "newTextVal") {
        let (o, n) = cells("oldTextVal", "newTextVal", |v| Cell::text(render_text(v)));
        (ValueType::Text, o, n)
    } else {
        (ValueType::None, Cell::Null, Cell::Null)
    }
}

/// A string verbatim; any other JSON value as its text (so odd data is kept, not dropped).
fn render_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(render_json_number(n)),
        other => Some(other.to_string()),
    }
}

/// A date converted to UTC; a date that does not parse is kept as its raw text.
fn render_date(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(
            parse_timestamp(s)
                .map(|dt| format_utc_ms(&dt.with_timezone(&Utc)))
                .unwrap_or_else(|| s.clone()),
        ),
        other => render_text(other),
    }
}

fn number_cell(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Number(n) => Cell::Number(render_json_number(n)),
        other => Cell::text(render_text(other)),
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
        normalize(v.as_object().unwrap())
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
