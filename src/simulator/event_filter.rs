//! A subscription's `filters` and `filterConnector` (API notes §7), checked when it is created
//! and applied to each event before it is delivered: an event goes out only when they match.
//!
//! The notes give the shape (`{fieldName, fieldValue, comparison, state}`, the comparisons
//! `eq ne gt gte lt lte contains notContains containsOnly changed`, `state` `newState` (the
//! default) or `oldState`, groups with a `connector`, `filterConnector` `AND` (the default) or
//! `OR`) but not what each comparison means on the states. Chosen here, and said where the
//! notes are silent:
//!
//! - **The value compared** is the field of the state `state` names: a top-level field, or a
//!   custom field (`DE:` name) under `parameterValues`. A field the state does not carry is
//!   null (a CREATE's `oldState` and a DELETE's `newState` are `{}`).
//! - **`eq`** (chosen): numbers as numbers when either side is a JSON number and the other
//!   reads as one (`100` equals `"100"` and `"100.0"`), else text compared exactly (case
//!   counts). A multi-select (an array) equals a `fieldValue` array holding the same values in
//!   any order, or a single `fieldValue` when it holds just that value. Null equals nothing.
//!   **`ne`** is not `eq` (so a null field is `ne` anything).
//! - **`gt gte lt lte`** (chosen): numbers as numbers, dates (Workfront's forms, RFC 3339) as
//!   instants; any other pair (text, null, an array) is never greater or less: no match.
//! - **`contains`** (chosen): text holds `fieldValue` as a substring (case counts); a
//!   multi-select holds `fieldValue` among its values (every one of them, for an array);
//!   another scalar contains only what it equals; null contains nothing. **`notContains`** is
//!   not `contains` (a null field matches).
//! - **`containsOnly`**, for multi-selects (chosen): the field's values are exactly the
//!   `fieldValue` values, in any order, nothing missing and nothing more; a single value counts
//!   as a one-value list, null as an empty one.
//! - **`changed`**: the field's value differs between `oldState` and `newState` (`state` and
//!   `fieldValue` do not apply). Chosen: values compared as for `eq` (numbers as numbers, a
//!   multi-select's order does not count), and null differs from any value, so a CREATE that
//!   sets the field and a DELETE of an object where it was set are changes.
//! - **Groups** (chosen, as Adobe's examples write them): `{"type": "group", "connector":
//!   "OR", "filters": [...]}`, `type` optional, `connector` `AND` by default, one level deep
//!   (a group in a group is refused). The top level is combined by `filterConnector`; no
//!   filter matches everything.
//! - **Strict at creation** (as for the body's fields): an unknown key, comparison, state or
//!   connector, a missing `fieldName`, or a missing `fieldValue` (but for `changed`) is a 400.

use serde_json::{Map, Value};

/// The comparisons the notes list.
pub const COMPARISONS: [&str; 10] = [
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "contains",
    "notContains",
    "containsOnly",
    "changed",
];

/// A subscription's filters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Filters {
    all: bool,
    items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    One(Filter),
    Group { all: bool, filters: Vec<Filter> },
}

#[derive(Debug, Clone, PartialEq)]
struct Filter {
    field: String,
    value: Value,
    comparison: &'static str,
    old_state: bool,
}

/// Check a creation's `filters` and `filterConnector` (either may be absent).
pub fn parse(filters: Option<&Value>, connector: Option<&Value>) -> Result<Filters, String> {
    let all = connector_is_and(connector, "filterConnector")?;
    let items = match filters {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(item).collect::<Result<_, _>>()?,
        Some(_) => return Err("filters must be an array".into()),
    };
    Ok(Filters { all, items })
}

/// A subscription's stored filters; a subscription holds only filters that were checked.
pub fn of(subscription: &Map<String, Value>) -> Filters {
    parse(
        subscription.get("filters"),
        subscription.get("filterConnector"),
    )
    .unwrap_or(Filters {
        all: true,
        items: Vec::new(),
    })
}

impl Filters {
    /// Whether an event with these states is delivered.
    pub fn matches(&self, old: &Value, new: &Value) -> bool {
        let each = |i: &Item| match i {
            Item::One(f) => f.matches(old, new),
            Item::Group { all, filters } => combine(*all, filters.iter(), |f| f.matches(old, new)),
        };
        self.items.is_empty() || combine(self.all, self.items.iter(), each)
    }
}

fn combine<T>(all: bool, mut items: impl Iterator<Item = T>, test: impl Fn(T) -> bool) -> bool {
    match all {
        true => items.all(test),
        false => items.any(test),
    }
}

fn connector_is_and(connector: Option<&Value>, name: &str) -> Result<bool, String> {
    match connector {
        None | Some(Value::Null) => Ok(true),
        Some(Value::String(c)) if c == "AND" => Ok(true),
        Some(Value::String(c)) if c == "OR" => Ok(false),
        Some(other) => Err(format!("{name} {other} is not AND or OR")),
    }
}

fn item(v: &Value) -> Result<Item, String> {
    let map = v.as_object().ok_or("a filter must be an object")?;
    if !map.contains_key("filters") {
        return filter(map).map(Item::One);
    }
    if let Some(extra) = map
        .keys()
        .find(|k| !["type", "connector", "filters"].contains(&k.as_str()))
    {
        return Err(format!("unknown field {extra} in a filter group"));
    }
    if map.get("type").is_some_and(|t| t != "group") {
        return Err("a filter group's type must be group".into());
    }
    let all = connector_is_and(map.get("connector"), "connector")?;
    let members = map["filters"]
        .as_array()
        .ok_or("a filter group's filters must be an array")?;
    let filters = members
        .iter()
        .map(|m| match m.as_object() {
            Some(m) if m.contains_key("filters") => {
                Err("a filter group cannot hold a group".into())
            }
            Some(m) => filter(m),
            None => Err("a filter must be an object".into()),
        })
        .collect::<Result<_, String>>()?;
    Ok(Item::Group { all, filters })
}

fn filter(map: &Map<String, Value>) -> Result<Filter, String> {
    const KEYS: [&str; 4] = ["fieldName", "fieldValue", "comparison", "state"];
    if let Some(extra) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(format!("unknown field {extra} in a filter"));
    }
    let field = match map.get("fieldName") {
        Some(Value::String(f)) if !f.is_empty() => f.clone(),
        _ => return Err("a filter needs a fieldName".into()),
    };
    let comparison = map
        .get("comparison")
        .and_then(Value::as_str)
        .and_then(|c| COMPARISONS.iter().find(|k| **k == c))
        .ok_or_else(|| {
            format!(
                "a filter's comparison must be one of {}",
                COMPARISONS.join(", ")
            )
        })?;
    let old_state = match map.get("state") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == "newState" => false,
        Some(Value::String(s)) if s == "oldState" => true,
        Some(other) => return Err(format!("state {other} is not newState or oldState")),
    };
    let value = map.get("fieldValue").cloned().unwrap_or(Value::Null);
    let scalar = |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
    let usable = match &value {
        Value::Array(values) => values.iter().all(scalar),
        v => scalar(v),
    };
    if !usable && *comparison != "changed" {
        return Err(format!(
            "a {comparison} filter needs a fieldValue: text, a number, or an array of them"
        ));
    }
    Ok(Filter {
        field,
        value,
        comparison,
        old_state,
    })
}

impl Filter {
    fn matches(&self, old: &Value, new: &Value) -> bool {
        if self.comparison == "changed" {
            return !equal(field(old, &self.field), field(new, &self.field));
        }
        let state = if self.old_state { old } else { new };
        let v = field(state, &self.field);
        let want = &self.value;
        match self.comparison {
            "eq" => equal(v, want),
            "ne" => !equal(v, want),
            "gt" => order(v, want).is_some_and(|o| o.is_gt()),
            "gte" => order(v, want).is_some_and(|o| o.is_ge()),
            "lt" => order(v, want).is_some_and(|o| o.is_lt()),
            "lte" => order(v, want).is_some_and(|o| o.is_le()),
            "contains" => contains(v, want),
            "notContains" => !contains(v, want),
            _ => same_set(&values(v), &values(want)),
        }
    }
}

/// The field `name` of a state (a custom field under `parameterValues`); null when absent.
fn field<'a>(state: &'a Value, name: &str) -> &'a Value {
    state
        .get(name)
        .or_else(|| state.get("parameterValues").and_then(|p| p.get(name)))
        .unwrap_or(&Value::Null)
}

/// `eq`: numbers as numbers, text exactly, multi-selects as sets of values; null never.
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Array(_), _) | (_, Value::Array(_)) => same_set(&values(a), &values(b)),
        _ => scalar_equal(a, b),
    }
}

fn scalar_equal(a: &Value, b: &Value) -> bool {
    match (number(a), number(b)) {
        (Some(x), Some(y)) if a.is_number() || b.is_number() => x == y,
        _ => text(a) == text(b),
    }
}

/// Numbers as numbers, dates as instants; `None` for any other pair.
fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    if a.is_number() || b.is_number() {
        return number(a)?.partial_cmp(&number(b)?);
    }
    let date = |v: &Value| crate::model::date::parse_timestamp(v.as_str()?);
    Some(date(a)?.cmp(&date(b)?))
}

fn contains(v: &Value, want: &Value) -> bool {
    match (v, want) {
        (Value::Null, _) => false,
        (Value::Array(_), _) => {
            let have = values(v);
            values(want)
                .iter()
                .all(|w| have.iter().any(|h| scalar_equal(h, w)))
        }
        (Value::String(s), Value::String(w)) => s.contains(w.as_str()),
        (_, Value::Array(_)) => false,
        _ => scalar_equal(v, want),
    }
}

/// Whether two lists hold the same values, in any order.
fn same_set(a: &[&Value], b: &[&Value]) -> bool {
    let within =
        |x: &[&Value], y: &[&Value]| x.iter().all(|v| y.iter().any(|w| scalar_equal(v, w)));
    within(a, b) && within(b, a)
}

/// A value as a list: a multi-select's values, a scalar alone, null none.
fn values(v: &Value) -> Vec<&Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(all) => all.iter().collect(),
        one => vec![one],
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(filters: Value, connector: Option<&str>, old: Value, new: Value) -> bool {
        let connector = connector.map(|c| json!(c));
        parse(Some(&filters), connector.as_ref())
            .unwrap()
            .matches(&old, &new)
    }

    fn one(field: &str, comparison: &str, value: Value) -> Value {
        json!([{"fieldName": field, "comparison": comparison, "fieldValue": value}])
    }

    #[test]
    fn changed_compares_old_and_new_state() {
        let f = json!([{"fieldName": "status", "comparison": "changed", "state": "newState"}]);
        let s = |v: Value| json!({"ID": "t1", "status": v});
        assert!(check(f.clone(), None, s(json!("INP")), s(json!("CPL"))));
        assert!(!check(f.clone(), None, s(json!("INP")), s(json!("INP"))));
        assert!(
            !check(
                f.clone(),
                None,
                json!({"ID": "t1", "name": "a"}),
                json!({"ID": "t1", "name": "b"})
            ),
            "absent in both: not changed"
        );
        assert!(
            check(f.clone(), None, json!({}), s(json!("NEW"))),
            "a CREATE that sets it"
        );
        assert!(
            check(f.clone(), None, s(json!("NEW")), json!({})),
            "a DELETE where it was set"
        );
        let n = json!([{"fieldName": "work", "comparison": "changed"}]);
        assert!(
            !check(n, None, json!({"work": 8}), json!({"work": 8.0})),
            "numbers as numbers"
        );
        let m = json!([{"fieldName": "DE:Colours", "comparison": "changed"}]);
        let pv = |v: Value| json!({"parameterValues": {"DE:Colours": v}});
        assert!(
            !check(
                m.clone(),
                None,
                pv(json!(["a", "b"])),
                pv(json!(["b", "a"]))
            ),
            "order"
        );
        assert!(check(m, None, pv(json!(["a"])), pv(json!(["a", "b"]))));
    }

    #[test]
    fn each_comparison_on_the_state_it_names() {
        let new = json!({"status": "CPL", "work": 8, "name": "Fix the pump",
            "plannedCompletionDate": "2026-03-01T10:00:00.000-0700",
            "parameterValues": {"DE:Colours": ["red", "blue"], "DE:Code": "BC-7"}});
        let old = json!({"status": "INP", "work": 6.5});
        let at = |f: Value| check(f, None, old.clone(), new.clone());
        assert!(at(one("status", "eq", json!("CPL"))));
        assert!(!at(one("status", "eq", json!("cpl"))), "case counts");
        assert!(at(one("status", "ne", json!("INP"))));
        assert!(at(one("missing", "ne", json!("x"))), "null is ne anything");
        assert!(!at(one("missing", "eq", json!("x"))));
        assert!(at(one("work", "eq", json!("8.0"))), "a number as a number");
        assert!(at(one("work", "gt", json!("7.5"))));
        assert!(!at(one("work", "gt", json!("8"))));
        assert!(at(one("work", "gte", json!("8"))));
        assert!(at(one("work", "lt", json!(10))) && at(one("work", "lte", json!("8"))));
        assert!(!at(one("status", "gt", json!("A"))), "text has no order");
        assert!(at(one(
            "plannedCompletionDate",
            "lt",
            json!("2026-03-01T18:00:00Z")
        )));
        assert!(!at(one(
            "plannedCompletionDate",
            "lt",
            json!("2026-03-01T16:00:00Z")
        )));
        assert!(at(one("name", "contains", json!("pump"))));
        assert!(at(one("name", "notContains", json!("Pump"))));
        assert!(at(one("missing", "notContains", json!("x"))));
        assert!(at(one("DE:Code", "contains", json!("BC-"))));
        assert!(at(one("DE:Colours", "contains", json!("red"))));
        assert!(
            !at(one("DE:Colours", "contains", json!("re"))),
            "a value, not a substring"
        );
        assert!(at(one("DE:Colours", "contains", json!(["blue", "red"]))));
        assert!(at(one(
            "DE:Colours",
            "containsOnly",
            json!(["blue", "red"])
        )));
        assert!(!at(one("DE:Colours", "containsOnly", json!(["red"]))));
        assert!(!at(one(
            "DE:Colours",
            "containsOnly",
            json!(["red", "blue", "green"])
        )));
        assert!(at(one("DE:Colours", "eq", json!(["blue", "red"]))));
        assert!(!at(one("DE:Colours", "eq", json!("red"))));
        assert!(at(one("status", "containsOnly", json!("CPL"))));
        let on_old = json!([{"fieldName": "status", "comparison": "eq", "fieldValue": "INP",
                             "state": "oldState"}]);
        assert!(at(on_old));
    }

    #[test]
    fn connectors_and_groups_combine_filters() {
        let old = json!({"status": "INP"});
        let new = json!({"status": "CPL", "priority": 2});
        let eq = |f: &str, v: Value| json!({"fieldName": f, "comparison": "eq", "fieldValue": v});
        let both = json!([eq("status", json!("CPL")), eq("priority", json!("1"))]);
        assert!(
            !check(both.clone(), None, old.clone(), new.clone()),
            "AND by default"
        );
        assert!(!check(both.clone(), Some("AND"), old.clone(), new.clone()));
        assert!(check(both, Some("OR"), old.clone(), new.clone()));
        let group = json!([eq("status", json!("CPL")), {"type": "group", "connector": "OR",
            "filters": [eq("priority", json!(1)), eq("priority", json!(2))]}]);
        assert!(check(group, None, old.clone(), new.clone()));
        assert!(
            check(json!([]), None, old, new),
            "no filter matches everything"
        );
    }

    #[test]
    fn malformed_filters_are_refused() {
        let bad = [
            json!([{"fieldName": "status", "comparison": "like", "fieldValue": "x"}]),
            json!([{"fieldName": "status", "comparison": "eq"}]),
            json!([{"comparison": "changed"}]),
            json!([{"fieldName": "status", "comparison": "changed", "state": "midState"}]),
            json!([{"fieldName": "status", "comparison": "changed", "extra": 1}]),
            json!([{"fieldName": "s", "comparison": "eq", "fieldValue": {"a": 1}}]),
            json!([{"filters": [{"filters": []}]}]),
            json!([{"type": "bunch", "filters": []}]),
            json!({"fieldName": "status"}),
            json!(["status"]),
        ];
        for f in bad {
            assert!(parse(Some(&f), None).is_err(), "{f}");
        }
        assert!(parse(None, Some(&json!("XOR"))).is_err());
        assert!(
            parse(None, Some(&json!("and"))).is_err(),
            "as documented: AND or OR"
        );
        assert!(parse(None, None).unwrap().matches(&json!({}), &json!({})));
    }
}
