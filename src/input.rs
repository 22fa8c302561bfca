//! Reading saved raw JRNLE records: a Workfront response body (`{"data": [...]}`), a JSON
//! array of records, one record, or one record per line (JSON Lines). JSON Lines is read line
//! by line in constant memory; a body or an array (one API page holds at most 2,000 records)
//! is read whole. `normalize` and the simulator's `--data` read the same shapes, through one
//! reader.

use std::io::BufRead;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::model::raw::RawJrnle;
use crate::model::sanitize::sanitize_json;

pub type RawRecord = Map<String, Value>;

const NOT_RECORDS: &str = "expected JRNLE records: {\"data\": [...]}, a JSON array of objects, \
                           or one JSON object per line";

fn bad(source: &str, what: &str) -> Error {
    Error::usage(format!("{source}: {what}"))
}

/// One piece of input as the shape reader hands it on: a line of JSON Lines (with its line
/// number), or an item of a whole document (with where it stands, for messages).
enum Item<'l> {
    Line(&'l [u8], usize),
    Value(Value, String),
}

/// Read the shapes, handing on each line or item; returns the sum of what `each` returns
/// (how many records). The first line that is not blank decides: a JSON object that is not a
/// search answer or an error answer starts JSON Lines, read line by line in constant memory;
/// anything else is one document, read whole: `{"data": [...]}`, an array of records, or a
/// single record.
fn read_items(
    mut reader: impl BufRead,
    source: &str,
    mut each: impl FnMut(Item<'_>) -> Result<u64>,
) -> Result<u64> {
    let read_err = |e: std::io::Error| bad(source, &format!("cannot read: {e}"));
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        number += 1;
        if reader.read_until(b'\n', &mut line).map_err(read_err)? == 0 {
            return Ok(0);
        }
        let text = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&line);
        if !text.iter().all(u8::is_ascii_whitespace) {
            line = text.to_vec();
            break;
        }
    }
    let first = serde_json::from_str::<Value>(&sanitize_json(&line));
    if let Ok(Value::Object(o)) = &first
        && !(o.contains_key("data") || only_error(o))
    {
        let mut n = each(Item::Line(&line, number))?;
        let mut next = Vec::new();
        loop {
            next.clear();
            number += 1;
            if reader.read_until(b'\n', &mut next).map_err(read_err)? == 0 {
                return Ok(n);
            }
            n += each(Item::Line(&next, number))?;
        }
    }
    let mut all = line;
    reader.read_to_end(&mut all).map_err(read_err)?;
    let value: Value = serde_json::from_str(&sanitize_json(&all))
        .map_err(|e| bad(source, &format!("not valid JSON: {e}")))?;
    let items = match value {
        Value::Object(o) if only_error(&o) => {
            return Err(bad(
                source,
                "this is a Workfront error answer, not records: save a successful JRNLE/search answer",
            ));
        }
        Value::Object(mut o) if o.contains_key("data") => match o.remove("data") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(bad(
                    source,
                    "\"data\" is not an array of records: save the body of a JRNLE/search answer",
                ));
            }
        },
        // One record, over several lines.
        Value::Object(o) => vec![Value::Object(o)],
        Value::Array(items) => items,
        _ => return Err(bad(source, NOT_RECORDS)),
    };
    let mut n = 0;
    for (i, item) in items.into_iter().enumerate() {
        n += each(Item::Value(item, format!("item {i}")))?;
    }
    Ok(n)
}

/// Call `each` on every record of `reader`, in input order; returns how many there were.
/// `source` names the input in error messages.
pub fn for_each_record(
    reader: impl BufRead,
    source: &str,
    mut each: impl FnMut(RawJrnle<'_>) -> Result<()>,
) -> Result<u64> {
    read_items(reader, source, |item| match item {
        Item::Line(line, number) => record_line(line, number, source, &mut each),
        Item::Value(value, at) => one(&value, source, &at, &mut each).map(|()| 1),
    })
}

/// All records of a text as JSON objects (the simulator's `--data` and the demo data), read
/// as [`for_each_record`] reads them.
pub fn parse_raw_records(text: &str, source: &str) -> Result<Vec<RawRecord>> {
    let mut records = Vec::new();
    read_items(text.as_bytes(), source, |item| {
        let (value, at) = match item {
            Item::Line(line, _) if line.iter().all(u8::is_ascii_whitespace) => return Ok(0),
            Item::Line(line, number) => {
                let value = serde_json::from_str(&sanitize_json(line))
                    .map_err(|e| bad(source, &format!("line {number}: not valid JSON: {e}")))?;
                (value, format!("line {number}"))
            }
            Item::Value(value, at) => (value, at),
        };
        match value {
            Value::Object(record) => records.push(record),
            _ => {
                return Err(bad(
                    source,
                    &format!("{at} is not a JSON object: {NOT_RECORDS}"),
                ));
            }
        }
        Ok(1)
    })?;
    Ok(records)
}

/// One line of JSON Lines: its record, or nothing for a blank line. Returns how many records.
fn record_line(
    line: &[u8],
    number: usize,
    source: &str,
    each: &mut impl FnMut(RawJrnle<'_>) -> Result<()>,
) -> Result<u64> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(0);
    }
    let text = sanitize_json(line);
    // Fastest: the usual flat shape, read without serde's general machinery.
    if let Some(raw) = crate::model::scan::record(&text) {
        each(raw)?;
        return Ok(1);
    }
    // Then serde straight into the record, borrowing from the line. (A derived struct would
    // also read an array positionally: objects only.)
    let object = text.trim_start().starts_with('{');
    match serde_json::from_str::<RawJrnle>(&text) {
        Ok(raw) if object => each(raw)?,
        _ => slow_line(&text, number, source, each)?,
    }
    Ok(1)
}

/// A line the fast path refused: say precisely why.
fn slow_line(
    text: &str,
    number: usize,
    source: &str,
    each: &mut impl FnMut(RawJrnle<'_>) -> Result<()>,
) -> Result<()> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| bad(source, &format!("line {number}: not valid JSON: {e}")))?;
    one(&value, source, &format!("line {number}"), each)
}

fn only_error(o: &Map<String, Value>) -> bool {
    o.contains_key("error") && !o.contains_key("data") && o.len() <= 2
}

/// One record from a parsed value.
fn one(
    value: &Value,
    source: &str,
    at: &str,
    each: &mut impl FnMut(RawJrnle<'_>) -> Result<()>,
) -> Result<()> {
    if !value.is_object() {
        return Err(bad(
            source,
            &format!("{at} is not a JSON object: {NOT_RECORDS}"),
        ));
    }
    let raw = RawJrnle::deserialize(value)
        .map_err(|e| bad(source, &format!("{at}: not a JRNLE record: {e}")))?;
    each(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::raw::Field;

    fn ids(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_record(text.as_bytes(), "t", |r| {
            if let Field::Text(id) = r.id {
                out.push(id.into_owned());
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            out,
            parse_raw_records(text, "t")
                .unwrap()
                .iter()
                .map(|r| r["ID"].as_str().unwrap().to_string())
                .collect::<Vec<_>>(),
            "both readers agree"
        );
        out
    }

    fn err(text: &str) -> String {
        let e = for_each_record(text.as_bytes(), "f", |_| Ok(())).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        e.to_string()
    }

    #[test]
    fn reads_all_three_shapes_in_input_order() {
        assert_eq!(ids(r#"{"data":[{"ID":"b"},{"ID":"a"}]}"#), ["b", "a"]);
        assert_eq!(
            ids("{\n \"data\": [\n  {\"ID\":\"b\"},\n  {\"ID\":\"a\"}\n ]\n}\n"),
            ["b", "a"]
        );
        assert_eq!(ids(r#"[{"ID":"b"},{"ID":"a"}]"#), ["b", "a"]);
        assert_eq!(ids("[\n{\"ID\":\"b\"},\n{\"ID\":\"a\"}\n]"), ["b", "a"]);
        assert_eq!(ids("{\"ID\":\"b\"}\n\n{\"ID\":\"a\"}\n"), ["b", "a"]);
        assert_eq!(ids("{\"ID\":\"only\"}"), ["only"]);
        assert_eq!(ids("{\n  \"ID\": \"pretty\"\n}\n"), ["pretty"]);
        assert_eq!(ids("\u{feff}[]"), Vec::<String>::new());
        assert_eq!(ids("  \n"), Vec::<String>::new());
        assert_eq!(ids("{\"ID\":\"x\\ud800\"}\n"), ["x\\ud800"]);
    }

    #[test]
    fn bad_input_says_where() {
        assert!(err("{\"ID\":\"1\"}\n{oops").starts_with("f: line 2: not valid JSON"));
        assert!(err("{\"ID\":\"1\"}\n\n[1]\n").contains("line 3 is not a JSON object"));
        assert!(err("[1]").contains("item 0 is not a JSON object"));
        assert!(err(r#"{"error":{"message":"x"}}"#).contains("error answer"));
        assert!(err("{oops").contains("not valid JSON"));
        assert!(err("42").contains("expected JRNLE records"));
        assert!(err(r#"{"data": 3}"#).contains("\"data\" is not an array"));
    }
}
