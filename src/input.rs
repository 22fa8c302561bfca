//! Reading saved raw JRNLE records: a Workfront response body (`{"data": [...]}`), a JSON
//! array of records, or one record per line (JSON Lines).

use serde_json::{Map, Value};

use crate::error::{Error, Result};

pub type RawRecord = Map<String, Value>;

/// Parse the text of one input. `source` names it in error messages.
pub fn parse_raw_records(text: &str, source: &str) -> Result<Vec<RawRecord>> {
    // Saved answers can hold unpaired surrogate escapes, as live ones can.
    let sanitized = crate::workfront::sanitize::sanitize_json(text.as_bytes());
    let trimmed = sanitized.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(trimmed) {
        Ok(Value::Object(mut body)) if body.contains_key("data") => match body.remove("data") {
            Some(Value::Array(items)) => into_records(items, source),
            _ => Err(bad(
                source,
                "\"data\" is not an array of records: save the body of a JRNLE/search answer",
            )),
        },
        Ok(Value::Object(body)) if body.contains_key("error") => Err(bad(
            source,
            "this is a Workfront error answer, not records: save a successful JRNLE/search answer",
        )),
        Ok(Value::Object(record)) => Ok(vec![record]),
        Ok(Value::Array(items)) => into_records(items, source),
        Ok(_) => Err(bad(source, NOT_RECORDS)),
        Err(whole) if !trimmed.contains('\n') => {
            Err(bad(source, &format!("not valid JSON: {whole}")))
        }
        Err(_) => {
            // Not one JSON value: read it as one record per line.
            let mut records = Vec::new();
            for (n, line) in trimmed.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(Value::Object(record)) => records.push(record),
                    Ok(_) => return Err(bad(source, &format!("line {}: {NOT_RECORDS}", n + 1))),
                    Err(e) => {
                        return Err(bad(source, &format!("line {}: not valid JSON: {e}", n + 1)));
                    }
                }
            }
            Ok(records)
        }
    }
}

const NOT_RECORDS: &str = "expected JRNLE records: {\"data\": [...]}, a JSON array of objects, \
                           or one JSON object per line";

fn into_records(items: Vec<Value>, source: &str) -> Result<Vec<RawRecord>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(record) => Ok(record),
            _ => Err(bad(
                source,
                &format!("item {i} is not a JSON object: {NOT_RECORDS}"),
            )),
        })
        .collect()
}

fn bad(source: &str, what: &str) -> Error {
    Error::usage(format!("{source}: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        parse_raw_records(text, "t")
            .unwrap()
            .iter()
            .map(|r| r["ID"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn reads_all_three_shapes_in_input_order() {
        assert_eq!(ids(r#"{"data":[{"ID":"b"},{"ID":"a"}]}"#), ["b", "a"]);
        assert_eq!(ids(r#"[{"ID":"b"},{"ID":"a"}]"#), ["b", "a"]);
        assert_eq!(ids("{\"ID\":\"b\"}\n\n{\"ID\":\"a\"}\n"), ["b", "a"]);
        assert_eq!(ids("{\"ID\":\"only\"}"), ["only"]);
        assert_eq!(ids("\u{feff}[]"), Vec::<String>::new());
        assert_eq!(ids("  "), Vec::<String>::new());
    }

    #[test]
    fn bad_input_says_where() {
        let err = parse_raw_records("{\"ID\":1}\n{oops", "f.ndjson").unwrap_err();
        assert!(err.to_string().starts_with("f.ndjson: line 2:"), "{err}");
        assert_eq!(err.exit_code(), 2);
        let err = parse_raw_records("[1]", "f").unwrap_err();
        assert!(err.to_string().contains("item 0"), "{err}");
        let err = parse_raw_records(r#"{"error":{"message":"x"}}"#, "f").unwrap_err();
        assert!(err.to_string().contains("error answer"), "{err}");
        let err = parse_raw_records("{oops", "f").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        assert!(parse_raw_records("42", "f").is_err());
    }
}
