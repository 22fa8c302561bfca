//! Property tests with many cases: the date parser, the JSON sanitizer and the record
//! normalizer never panic, and what they accept they keep exactly.

use chrono::{DateTime, TimeZone, Utc};
use jrnle_audit::input::parse_raw_records;
use jrnle_audit::model::anomaly::Anomalies;
use jrnle_audit::model::date::{format_utc_ms, format_workfront, parse_timestamp, parse_user_time};
use jrnle_audit::model::raw::{RawJrnle, from_map};
use jrnle_audit::model::raw::{SEARCH_FIELDS, record_key};
use jrnle_audit::model::sanitize::sanitize_json;
use jrnle_audit::model::scan;
use jrnle_audit::normalize::normalize;
use jrnle_audit::output::{Format, write_all};
use proptest::prelude::*;
use serde_json::Value;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(3000)
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        any::<String>().prop_map(Value::String),
        "[0-9T:.+-Z]{0,32}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The raw fields a record carries: those every search asks for, with the `editedBy` reference.
fn fields() -> Vec<&'static str> {
    SEARCH_FIELDS.iter().map(|f| record_key(f)).collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn date_parsers_never_panic(s in any::<String>()) {
        let _ = parse_timestamp(&s);
        let _ = parse_user_time(&s);
    }

    #[test]
    fn near_dates_never_panic(s in "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}([:.,][0-9]{0,12})?(Z|[+-][0-9]{2}:?[0-9]{0,2})?") {
        if let Some(dt) = parse_timestamp(&s) {
            // What parses renders and parses back to the same millisecond.
            let utc = dt.with_timezone(&Utc);
            let back = parse_timestamp(&format_utc_ms(&utc)).unwrap();
            prop_assert_eq!(back.timestamp_millis(), utc.timestamp_millis());
        }
    }

    #[test]
    fn every_instant_round_trips_through_the_tenant_zone(ms in -2_000_000_000_000i64..4_000_000_000_000i64) {
        let dt: DateTime<Utc> = Utc.timestamp_millis_opt(ms).unwrap();
        let text = format_workfront(&dt, &chrono_tz::America::Denver);
        let back = parse_timestamp(&text).unwrap().with_timezone(&Utc);
        prop_assert_eq!(back, dt);
    }

    #[test]
    fn the_sanitizer_never_panics_and_leaves_valid_json_alone(bytes in prop::collection::vec(any::<u8>(), 0..200), v in json_value()) {
        let _ = sanitize_json(&bytes);
        let text = v.to_string();
        prop_assert_eq!(sanitize_json(text.as_bytes()), text.clone());
    }

    #[test]
    fn surrogate_escapes_never_break_parsing(parts in prop::collection::vec(prop_oneof![
        Just("\\ud800".to_string()), Just("\\udfff".to_string()), Just("\\ud83d\\ude00".to_string()),
        Just("\\\\".to_string()), Just("\\u0041".to_string()), "[a-z ]{0,5}".prop_map(String::from),
    ], 0..8)) {
        let body = format!("{{\"a\":\"{}\"}}", parts.concat());
        let v: Value = serde_json::from_str(&sanitize_json(body.as_bytes())).unwrap();
        prop_assert!(v["a"].is_string());
    }

    #[test]
    fn normalizing_any_record_never_panics_and_keeps_the_id(values in prop::collection::vec(json_value(), 19), present in prop::collection::vec(any::<bool>(), 19)) {
        let mut raw = serde_json::Map::new();
        for ((field, value), keep) in fields().into_iter().zip(values).zip(present) {
            if keep {
                raw.insert(field.to_string(), value);
            }
        }
        let mut anomalies = Anomalies::default();
        let (record, found) = normalize(from_map(&raw));
        anomalies.add(found);
        if let Some(Value::String(id)) = raw.get("ID") {
            prop_assert_eq!(record.id.as_deref(), Some(id.as_str()));
        }
        for format in [Format::Csv, Format::Json, Format::Ndjson] {
            let mut out = Vec::new();
            write_all(&mut out, std::slice::from_ref(&record), format, true).unwrap();
            prop_assert!(!out.is_empty());
        }
        let mut json = Vec::new();
        write_all(&mut json, &[record], Format::Ndjson, false).unwrap();
        let back: Value = serde_json::from_slice(&json).unwrap();
        prop_assert!(back.is_object(), "the JSON output parses");
    }

    #[test]
    fn the_fast_record_reader_agrees_with_serde_json(
        values in prop::collection::vec(json_value(), 19),
        present in prop::collection::vec(any::<bool>(), 19),
        pretty in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut raw = serde_json::Map::new();
        for ((field, value), keep) in fields().into_iter().zip(values).zip(present) {
            if keep {
                raw.insert(field.to_string(), value);
            }
        }
        let text = if pretty {
            serde_json::to_string_pretty(&raw).unwrap()
        } else {
            serde_json::to_string(&raw).unwrap()
        };
        // Whatever the fast reader takes, serde_json reads the same; what it leaves, serde
        // reads (or refuses) as ever. Also on text cut short anywhere.
        let general = serde_json::from_str::<RawJrnle>(&text).ok();
        if let Some(fast) = scan::record(&text) {
            prop_assert_eq!(Some(fast), general);
        }
        let end = cut.index(text.len() + 1);
        if let Some(cut) = text.get(..end)
            && let Some(fast) = scan::record(cut)
        {
            prop_assert_eq!(Some(fast), serde_json::from_str::<RawJrnle>(cut).ok());
        }
    }

    #[test]
    fn the_fast_record_reader_takes_plain_records(
        values in prop::collection::vec(prop_oneof![
            Just(Value::Null),
            "[a-zA-Z0-9 :.+-]{0,40}".prop_map(Value::String),
            any::<i32>().prop_map(|i| serde_json::json!(i)),
        ], 19),
    ) {
        let raw: serde_json::Map<String, Value> = fields()
            .into_iter()
            .map(String::from)
            .zip(values)
            .collect();
        let text = serde_json::to_string(&raw).unwrap();
        prop_assert!(scan::record(&text).is_some(), "{}", text);
    }

    #[test]
    fn the_fast_record_reader_never_panics(text in any::<String>()) {
        if let Some(fast) = scan::record(&text) {
            prop_assert_eq!(Some(fast), serde_json::from_str::<RawJrnle>(&text).ok());
        }
    }

    #[test]
    fn the_input_reader_never_panics(text in any::<String>()) {
        let _ = parse_raw_records(&text, "fuzz");
    }
}
