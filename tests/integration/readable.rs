//! Readable values: `--labels`, `--tz`, `--excel`.

use crate::util::*;

#[test]
fn labels_add_words_from_metadata_fetched_once_per_object_type() {
    let sim = sim(&demo_records());
    let out = ok(against(&sim, "export").args(["--labels", "--format", "ndjson"]));
    let rows = ndjson_rows(&out);
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    // TASK status NEW -> INP, by an edit.
    let r = by_id("e000000000000000000000000000a007");
    assert_eq!(
        (
            r["change_label"].as_str(),
            r["old_label"].as_str(),
            r["new_label"].as_str()
        ),
        (Some("Edit"), Some("New"), Some("In Progress"))
    );
    // CPL:A (pending approval) is not in the metadata: the code is kept.
    assert_eq!(
        by_id("f0000000000000000000000000000005")["new_label"],
        "CPL:A"
    );
    // Condition, and a field with no enumeration.
    assert_eq!(
        by_id("e0000000000000000000000000012007")["new_label"],
        "At Risk"
    );
    assert!(by_id("e0000000000000000000000000013007")["old_label"].is_null());
    assert_eq!(
        by_id("e0000000000000000000000000011007")["change_label"],
        "Approval event"
    );
    let metadata: Vec<_> = sim
        .simulator
        .request_log()
        .into_iter()
        .filter(|l| l.contains("/metadata"))
        .collect();
    assert_eq!(metadata.len(), 5, "{metadata:?}");
    // The columns come after the contract columns, and only when asked for.
    let csv = ok(against(&sim, "export").arg("--labels"));
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",top_obj_id,change_label,old_label,new_label")
    );
    let plain = ok(&mut against(&sim, "export"));
    assert!(plain.lines().next().unwrap().ends_with(",top_obj_id"));
}

#[test]
fn tz_shows_dates_in_a_zone_with_its_offset() {
    let sim = sim(&demo_records());
    let out = ok(against(&sim, "export").args(["--tz", "Europe/Stockholm", "--format", "ndjson"]));
    let rows = ndjson_rows(&out);
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    // Winter (+01:00) and summer (+02:00), and a date value.
    assert_eq!(
        by_id("e0000000000000000000000000001007")["entry_date"],
        "2025-01-07T17:15:02.117+01:00"
    );
    assert_eq!(
        by_id("e000000000000000000000000000d007")["entry_date"],
        "2025-07-01T20:00:00.000+02:00"
    );
    assert_eq!(
        by_id("e0000000000000000000000000003007")["new_value"],
        "2025-02-15T01:00:00.000+01:00"
    );
    // The order is still by instant.
    let utc = ndjson_rows(&ok(against(&sim, "export").args(["--format", "ndjson"])));
    let ids = |rows: &[serde_json::Map<String, serde_json::Value>]| -> Vec<String> {
        rows.iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&rows), ids(&utc));
    let o = run(against(&sim, "export").args(["--tz", "Mars/Olympus"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown --tz \"Mars/Olympus\""));
}

#[test]
fn excel_mode_writes_a_bom_and_crlf_and_keeps_the_guard() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.csv");
    ok(against(&sim, "export").arg("--excel").arg("-o").arg(&path));
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with("\u{feff}id,entry_date,".as_bytes()));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.lines().next().unwrap().ends_with("top_obj_id"));
    assert!(text.contains("top_obj_id\r\n"));
    assert!(text.contains(",'-5 days slip,"), "the guard stays on");
    assert!(text.contains("Zoë Ōkubo"));
    let rows = csv_rows(&text);
    assert_eq!(rows.len(), 30);
    let o = run(against(&sim, "export").args(["--excel", "--no-formula-guard"]));
    assert_eq!(o.status.code(), Some(2));
    let o = run(against(&sim, "export").args(["--excel", "--format", "json"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--excel writes CSV"));
}
