//! `export` against the simulator: filters, formats, paging through ties, determinism.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use jrnle_audit::input::RawRecord;
use jrnle_audit::model::date::parse_timestamp;
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

fn instant(r: &RawRecord) -> DateTime<Utc> {
    parse_timestamp(raw_str(r, "entryDate").unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

/// The ids the export should hold: computed here from the raw data, sorted by (instant, id).
fn expected_ids(records: &[RawRecord], keep: impl Fn(&RawRecord) -> bool) -> Vec<String> {
    let mut rows: Vec<(DateTime<Utc>, String)> = records
        .iter()
        .filter(|r| keep(r))
        .map(|r| (instant(r), raw_str(r, "ID").unwrap().to_string()))
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, id)| id).collect()
}

#[test]
fn demo_matches_the_reviewed_fixtures_in_every_format() {
    for (format, file) in [
        ("csv", "demo.expected.csv"),
        ("json", "demo.expected.json"),
        ("ndjson", "demo.expected.ndjson"),
    ] {
        let o = run(bin().args([
            "export",
            "--demo",
            "--until",
            "2026-01-01",
            "--format",
            format,
        ]));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let expected = std::fs::read_to_string(fixture(file)).unwrap();
        assert_eq!(stdout(&o), expected, "format {format}");
        assert!(stderr(&o).contains("demo"), "says it is a demo");
        assert!(stderr(&o).contains("not a real tenant"));
    }
}

#[test]
fn demo_fixture_holds_what_the_contract_promises() {
    // Read the reviewed fixture back and check the rules themselves, row by row.
    let text = std::fs::read_to_string(fixture("demo.expected.csv")).unwrap();
    let rows = csv_rows(&text);
    let raw = demo_records();
    assert_eq!(rows.len(), raw.len());
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    // The repeated autumn hour: 01:30 at -0600 and at -0700 are an hour apart.
    assert_eq!(
        by_id("e0000000000000000000000000015007")["entry_date"],
        "2025-11-02T07:30:00.000Z"
    );
    assert_eq!(
        by_id("e0000000000000000000000000016007")["entry_date"],
        "2025-11-02T08:30:00.000Z"
    );
    let cost = by_id("e0000000000000000000000000006007");
    assert_eq!(
        (cost["old_value"].as_str(), cost["new_value"].as_str()),
        ("1000000000000000", "0.00000025")
    );
    assert_eq!(cost["custom_field"], "true");
    let slip = by_id("e0000000000000000000000000009007");
    assert_eq!(slip["old_value"], "  padded  ");
    assert_eq!(slip["new_value"], "'-5 days slip");
    assert_eq!(
        by_id("e000000000000000000000000000f007")["old_value"],
        "-42"
    );
    let approval = by_id("e0000000000000000000000000011007");
    assert_eq!(approval["value_type"], "none");
    assert_eq!(approval["field_name"], "");
    // Sorted by (entry_date, id): ISO UTC strings with fixed width sort as instants.
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["entry_date"].clone(), r["id"].clone()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn ties_at_one_millisecond_span_pages() {
    // 7,000 rows: a bulk edit puts 2,333 of them on one millisecond, more than a page.
    let records = generate(7000, 11);
    let bulk_date = raw_str(&records[2333], "entryDate").unwrap();
    let tied = records
        .iter()
        .filter(|r| raw_str(r, "entryDate") == Some(bulk_date))
        .count();
    assert!(tied > 2000, "{tied}");
    let sim = sim(&records);
    let out = ok(against(&sim, "export").args(["--format", "ndjson"]));
    let ids: Vec<String> = ndjson_rows(&out)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected_ids(&records, |_| true));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 7000);
}

#[test]
fn same_query_twice_gives_identical_bytes() {
    let records = generate(4500, 5);
    let sim = sim(&records);
    let first = ok(against(&sim, "export").args(["--since", "2025-10-30"]));
    let second = ok(against(&sim, "export").args(["--since", "2025-10-30"]));
    assert!(first.lines().count() > 2000);
    assert_eq!(first, second);
}

#[test]
fn every_filter_selects_what_it_names() {
    let records = generate(3000, 21);
    let sim = sim(&records);
    let some = |key: &str, n: usize| raw_str(&records[n], key).unwrap().to_string();
    let (obj_id, user) = (some("objID", 5), some("editedByID", 9));
    let in_window = |r: &RawRecord| {
        let t = instant(r);
        t >= "2025-11-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
            && t < "2025-11-03T12:00:00Z".parse::<DateTime<Utc>>().unwrap()
    };
    type Keep = Box<dyn Fn(&RawRecord) -> bool>;
    let cases: Vec<(Vec<&str>, Keep)> = vec![
        (
            vec!["--obj-code", "OPTASK"],
            Box::new(|r| raw_str(r, "objObjCode") == Some("OPTASK")),
        ),
        (
            vec!["--obj-code", "OPTASK", "--obj-code", "PROJ"],
            Box::new(|r| matches!(raw_str(r, "objObjCode"), Some("OPTASK" | "PROJ"))),
        ),
        (
            vec!["--field", "DE:Budget Code"],
            Box::new(|r| raw_str(r, "fieldName") == Some("DE:Budget Code")),
        ),
        (
            vec!["--field", "status", "--field", "work"],
            Box::new(|r| matches!(raw_str(r, "fieldName"), Some("status" | "work"))),
        ),
        (
            vec!["--obj-id", &obj_id],
            Box::new({
                let id = obj_id.clone();
                move |r| raw_str(r, "objID") == Some(&id)
            }),
        ),
        (
            vec!["--edited-by", &user],
            Box::new({
                let u = user.clone();
                move |r| raw_str(r, "editedByID") == Some(&u)
            }),
        ),
        (
            vec!["--change-type", "A", "--change-type", "D"],
            Box::new(|r| matches!(raw_str(r, "changeType"), Some("A" | "D"))),
        ),
        // Across the end of daylight saving time, given in two notations.
        (
            vec![
                "--since",
                "2025-10-31T18:00:00:000-0600",
                "--until",
                "2025-11-03T12:00:00Z",
            ],
            Box::new(in_window),
        ),
        (
            vec![
                "--since",
                "2025-11-01",
                "--until",
                "2025-11-03T13:00:00+01:00",
                "--obj-code",
                "TASK",
            ],
            Box::new(move |r| in_window(r) && raw_str(r, "objObjCode") == Some("TASK")),
        ),
    ];
    for (args, keep) in cases {
        let out = ok(against(&sim, "export").args(&args));
        let expected = expected_ids(&records, keep);
        assert!(
            !expected.is_empty(),
            "{args:?} selects nothing: a weak case"
        );
        assert!(
            expected.len() < records.len(),
            "{args:?} selects everything"
        );
        assert_eq!(csv_ids(&out), expected, "{args:?}");
    }
}

#[test]
fn until_is_exclusive_and_since_inclusive_to_the_millisecond() {
    let records = demo_records();
    let sim = sim(&records);
    // Two entries: 2025-07-01T18:00:00.000Z and .001Z.
    let out = ok(against(&sim, "export").args([
        "--since",
        "2025-07-01T18:00:00.000Z",
        "--until",
        "2025-07-01T18:00:00.001Z",
    ]));
    assert_eq!(csv_ids(&out), ["e000000000000000000000000000d007"]);
    let out = ok(against(&sim, "export").args([
        "--since",
        "2025-07-01T18:00:00.001Z",
        "--until",
        "2025-07-01T18:00:00.002Z",
    ]));
    assert_eq!(csv_ids(&out), ["e000000000000000000000000000e007"]);
}

#[test]
fn output_file_format_follows_the_extension() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    let stdout_csv = ok(&mut against(&sim, "export"));
    for (name, check) in [
        ("out.json", "json"),
        ("out.ndjson", "ndjson"),
        ("out.jsonl", "ndjson"),
        ("out.txt", "csv"),
    ] {
        let path = dir.path().join(name);
        let out = ok(against(&sim, "export").arg("-o").arg(&path));
        assert_eq!(out, "", "nothing on stdout when writing a file");
        let text = std::fs::read_to_string(&path).unwrap();
        let ids: Vec<String> = match check {
            "json" => serde_json::from_str::<Vec<serde_json::Value>>(&text)
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect(),
            "ndjson" => ndjson_rows(&text)
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect(),
            _ => csv_ids(&text),
        };
        assert_eq!(ids, csv_ids(&stdout_csv), "{name}");
    }
    // A file must hold what its name says: --format against the extension is refused, as is
    // an extension no format writes.
    for (format, name) in [("csv", "x.json"), ("json", "x.csv"), ("csv", "x.xlsx")] {
        let path = dir.path().join(name);
        let o = run(against(&sim, "export")
            .args(["--format", format, "-o"])
            .arg(&path));
        assert_eq!(o.status.code(), Some(2), "{name}: {}", stderr(&o));
        assert!(!path.exists(), "{name}: nothing written");
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    }
    let path = dir.path().join("y.ods");
    let o = run(against(&sim, "export").arg("-o").arg(&path));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no format writes .ods"),
        "{}",
        stderr(&o)
    );
    assert!(!path.exists());
}

#[test]
fn json_keeps_types_and_null_apart_from_empty() {
    let sim = sim(&demo_records());
    let out = ok(against(&sim, "export").args(["--format", "json"]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    let work = by_id("e0000000000000000000000000004007");
    assert_eq!(work["old_value"], serde_json::json!(8));
    assert_eq!(work["new_value"], serde_json::json!(7.75));
    assert_eq!(work["custom_field"], serde_json::json!(false));
    let desc = by_id("e0000000000000000000000000008007");
    assert_eq!(desc["old_value"], serde_json::json!(""));
    assert_eq!(desc["sub_obj_code"], serde_json::Value::Null);
    // JSON is never formula-guarded.
    assert_eq!(
        by_id("e0000000000000000000000000009007")["new_value"],
        "-5 days slip"
    );
}

#[test]
fn formula_guard_is_on_by_default_and_can_be_turned_off() {
    let sim = sim(&demo_records());
    let guarded = csv_rows(&ok(&mut against(&sim, "export")));
    let raw = csv_rows(&ok(against(&sim, "export").arg("--no-formula-guard")));
    let pick = |rows: &[std::collections::HashMap<String, String>], id: &str| {
        rows.iter().find(|r| r["id"] == id).unwrap()["new_value"].clone()
    };
    let id = "e0000000000000000000000000013007";
    assert_eq!(pick(&guarded, id), "'+1 approved");
    assert_eq!(pick(&raw, id), "+1 approved");
}

#[test]
fn every_credential_kind_is_sent_as_a_header_never_in_the_url() {
    let sim = sim(&demo_records());
    for var in [
        "WORKFRONT_API_KEY",
        "WORKFRONT_SESSION_ID",
        "WORKFRONT_BEARER_TOKEN",
    ] {
        let out = ok(bin()
            .arg("count")
            .env("WORKFRONT_URL", &sim.url)
            .env(var, KEY));
        assert_eq!(out, "30\n", "{var}");
    }
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let out = ok(bin()
        .args(["count", "--api-key-file"])
        .arg(&key_file)
        .env("WORKFRONT_URL", &sim.url));
    assert_eq!(out, "30\n");
    let log = sim.simulator.request_log();
    assert!(log.len() >= 4);
    assert!(log.iter().all(|line| !line.contains(KEY)), "{log:?}");
}

#[test]
fn a_query_too_long_for_a_url_goes_as_post_and_still_matches() {
    let records = generate(600, 2);
    let sim = sim(&records);
    let ids: Vec<String> = records
        .iter()
        .take(400)
        .map(|r| raw_str(r, "objID").unwrap().to_string())
        .collect();
    let mut cmd = against(&sim, "export");
    for id in &ids {
        cmd.args(["--obj-id", id]);
    }
    let out = ok(&mut cmd);
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let expected = expected_ids(&records, |r| wanted.contains(raw_str(r, "objID").unwrap()));
    assert_eq!(csv_ids(&out), expected);
    let log = sim.simulator.request_log();
    assert!(log.iter().any(|l| l.starts_with("POST ")), "{log:?}");
    assert!(log.iter().all(|l| l.len() < 8892));
}
