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
    fn the_fast_record_reader_agrees_with_serde_json(case in record_case()) {
        compare_readers(&case)?;
    }

    #[test]
    fn the_fast_record_reader_takes_plain_records(text in plain_record(1.0)) {
        compare_readers(&RecordCase { text, plain: true })?;
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

/// One JSON value of a record, kept as written so that the text can say the same value in
/// several ways (escapes, number forms, white space).
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    /// A number as written: `-0`, `12.50`, `1E+7`.
    Number(String),
    /// A string as written between its quotes, escapes included.
    Text(String),
    Array(Vec<Json>),
    /// Members with their keys as written between the quotes.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The JSON text, with `space` drawn on between every two tokens.
    fn write(&self, out: &mut String, space: &mut Spacing) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::Text(t) => {
                out.push('"');
                out.push_str(t);
                out.push('"');
            }
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(space.next());
                    item.write(out, space);
                    out.push_str(space.next());
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                out.push_str(space.next());
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                        out.push_str(space.next());
                    }
                    out.push('"');
                    out.push_str(key);
                    out.push('"');
                    out.push_str(space.next());
                    out.push(':');
                    out.push_str(space.next());
                    value.write(out, space);
                    out.push_str(space.next());
                }
                out.push('}');
            }
        }
    }

    /// The text of a whole record, white space around it too.
    fn text(&self, space: &mut Spacing) -> String {
        let mut out = space.next().to_string();
        self.write(&mut out, space);
        out.push_str(space.next());
        out
    }
}

/// The white space between tokens, taken in turn from a list (JSON's four characters only).
#[derive(Debug, Clone)]
struct Spacing {
    gaps: Vec<&'static str>,
    at: usize,
}

impl Spacing {
    fn next(&mut self) -> &'static str {
        self.at += 1;
        self.gaps[self.at % self.gaps.len()]
    }
}

fn spacing() -> impl Strategy<Value = Spacing> {
    let gap = prop_oneof![
        8 => Just(""),
        3 => Just(" "),
        1 => Just("\n"),
        1 => Just("\t"),
        1 => Just("\r\n"),
        1 => Just("\n    "),
    ];
    prop_oneof![
        // Most records come compact, as Workfront sends them.
        Just(vec![""]),
        prop::collection::vec(gap, 1..24),
    ]
    .prop_map(|gaps| Spacing { gaps, at: 0 })
}

/// A string's content as written: runs of ASCII, ids, dates, any character JSON allows
/// unescaped (non-ASCII, DEL, C1 controls) and the simple escapes, in runs of any length so
/// that the 8-byte scan for the closing quote sees them at every offset.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        6 => "[a-zA-Z0-9 :.+-]{1,12}",
        2 => "[0-9a-f]{32}",
        2 => "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]:[0-9]{3}-0[67]00",
        3 => "[^\"\\\\\\x00-\\x1f]{1,6}",
        3 => prop::sample::select(vec!["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"])
            .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|pieces| pieces.concat())
}

/// A number as JSON writes it: integers of every size (past `u64` too), fractions, exponents
/// within the range of a double.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,2})?",
    ]
}

/// A value the fast reader takes for a field: a string, `null` or a number.
fn plain_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        2 => Just(Json::Null),
        5 => text().prop_map(Json::Text),
        2 => number().prop_map(Json::Number),
    ]
}

/// Members in any order, each key once.
fn members(
    known: Vec<(&'static str, BoxedStrategy<Json>)>,
    presence: f64,
) -> impl Strategy<Value = Vec<(String, Json)>> {
    let known: Vec<_> = known
        .into_iter()
        .map(|(key, value)| {
            let member = value.prop_map(move |v| (key.to_string(), v));
            if presence >= 1.0 {
                member.prop_map(Some).boxed()
            } else {
                prop::option::weighted(presence, member).boxed()
            }
        })
        .collect();
    // Keys no record reads, none of them a known one (those all start otherwise).
    let extra = prop::collection::vec(("x[^\"\\\\\\x00-\\x1f]{0,8}", plain_value()), 0..3);
    (known, extra).prop_flat_map(|(known, extra)| {
        let all: Vec<_> = known.into_iter().flatten().chain(extra).collect();
        Just(all).prop_shuffle()
    })
}

/// `editedBy` as the fast reader takes it: mostly a user reference, flat, `name` at most once.
fn edited_by() -> impl Strategy<Value = Json> {
    let user = members(
        vec![
            ("ID", text().prop_map(Json::Text).boxed()),
            ("name", plain_value().boxed()),
            ("objCode", Just(Json::Text("USER".into())).boxed()),
        ],
        0.8,
    )
    .prop_map(Json::Object);
    prop_oneof![6 => user, 1 => plain_value()]
}

/// The members of a record in the reader's grammar: each JRNLE field with probability
/// `presence`, and a few fields no one reads.
fn plain_members(presence: f64) -> impl Strategy<Value = Vec<(String, Json)>> {
    let known = fields()
        .into_iter()
        .map(|key| {
            let value = if key == "editedBy" {
                edited_by().boxed()
            } else {
                plain_value().boxed()
            };
            (key, value)
        })
        .collect();
    members(known, presence)
}

/// A record the fast reader must take, as text.
fn plain_record(presence: f64) -> impl Strategy<Value = String> {
    (plain_members(presence), spacing())
        .prop_map(|(members, mut space)| Json::Object(members).text(&mut space))
}

/// A value the fast reader leaves to serde_json (valid JSON, or a number out of range).
fn odd_value() -> impl Strategy<Value = Json> {
    prop_oneof![
        any::<bool>().prop_map(Json::Bool),
        prop::collection::vec(plain_value(), 0..3).prop_map(Json::Array),
        prop::collection::vec(("[a-zA-Z]{1,6}", plain_value()), 0..3).prop_map(Json::Object),
        (text(), "\\\\u([0-9a-fA-F]{4}|d83d\\\\ude00|d800)", text())
            .prop_map(|(a, u, b)| Json::Text(format!("{a}{u}{b}"))),
        Just(Json::Number("1e400".into())),
    ]
}

/// A test input: JSON text, and whether it is in the fast reader's grammar (`plain`: it must
/// take it) or altered (it may take it or leave it to serde_json).
#[derive(Debug, Clone)]
struct RecordCase {
    text: String,
    plain: bool,
}

/// Records in the grammar, and a share of altered ones: an odd value (a boolean, an array, an
/// object, a `\u` escape), a key said twice, or text cut, with a character dropped or put in.
fn record_case() -> impl Strategy<Value = RecordCase> {
    let plain = plain_record(0.8).prop_map(|text| RecordCase { text, plain: true });
    let odd = (
        plain_members(0.8),
        any::<prop::sample::Index>(),
        odd_value(),
        spacing(),
    )
        .prop_map(|(mut members, at, odd, mut space)| {
            match members.len() {
                0 => members.push(("oldTextVal".into(), odd)),
                n => members[at.index(n)].1 = odd,
            }
            Json::Object(members).text(&mut space)
        });
    let repeated = (plain_members(0.8), any::<prop::sample::Index>(), spacing()).prop_map(
        |(mut members, at, mut space)| {
            let again = match members.len() {
                0 => ("ID".into(), Json::Null),
                n => members[at.index(n)].clone(),
            };
            members.push(again);
            Json::Object(members).text(&mut space)
        },
    );
    let damaged = (
        plain_record(0.8),
        any::<prop::sample::Index>(),
        0..3,
        prop::sample::select(vec![
            '"', '\\', ',', ':', '{', '}', '[', 'n', 'u', '0', '-', 'e', '\u{1}', ' ',
        ]),
    )
        .prop_map(|(text, at, how, c)| {
            let mut chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len() + 1);
            match how {
                0 => chars.truncate(i),
                1 if i < chars.len() => {
                    chars.remove(i);
                }
                _ => chars.insert(i, c),
            }
            chars.into_iter().collect()
        });
    let altered = prop_oneof![3 => odd, 1 => repeated, 3 => damaged]
        .prop_map(|text| RecordCase { text, plain: false });
    prop_oneof![93 => plain, 7 => altered]
}

/// Whatever the fast reader takes, serde_json reads the same (what it leaves, serde_json reads
/// or refuses as ever); a record in its grammar it must take. Whether the two were compared.
fn compare_readers(case: &RecordCase) -> Result<bool, TestCaseError> {
    let fast = scan::record(&case.text);
    prop_assert!(
        fast.is_some() || !case.plain,
        "the fast reader left a plain record to serde_json: {:?}",
        case.text
    );
    let Some(fast) = fast else {
        return Ok(false);
    };
    let general = serde_json::from_str::<RawJrnle>(&case.text).ok();
    prop_assert_eq!(Some(fast), general, "{:?}", case.text);
    Ok(true)
}

/// A property whose inputs never reach its assertion passes whatever the code does: the record
/// cases must be compared nine times in ten or more (the arbitrary JSON they replaced reached
/// the comparison 0 times in 3,000).
#[test]
fn nine_record_cases_in_ten_reach_the_comparison() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = record_case();
    let cases = 3000;
    let mut compared = 0;
    for _ in 0..cases {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        if compare_readers(&case).unwrap() {
            compared += 1;
        }
    }
    eprintln!("{compared} of {cases} record cases compared");
    assert!(compared * 10 >= cases * 9, "{compared} of {cases} compared");
}
