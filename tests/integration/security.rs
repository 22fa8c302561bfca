//! Credentials never leak; redirects are not followed; the formula guard covers every text
//! column; output files are private; bad data is kept and reported.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use jrnle_audit::simulator::SimConfig;
use jrnle_audit::simulator::faults::FaultConfig;
use serde_json::json;

use crate::util::*;

#[test]
fn the_credential_appears_nowhere_even_with_verbose_logging() {
    let config = SimConfig {
        faults: FaultConfig {
            rate: 0.2,
            stall: Duration::from_secs(2),
            ..FaultConfig::default()
        },
        ..sim_config()
    };
    let sim = sim_with(&demo_records(), config);
    let dir = tempfile::tempdir().unwrap();
    let mut seen = Vec::new();
    for var in [
        "WORKFRONT_API_KEY",
        "WORKFRONT_SESSION_ID",
        "WORKFRONT_BEARER_TOKEN",
    ] {
        let out = dir.path().join(format!("{var}.csv"));
        let o = run(bin()
            .args([
                "-v",
                "export",
                "--timeout",
                "1",
                "--max-retries",
                "30",
                "-o",
            ])
            .arg(&out)
            .env("WORKFRONT_URL", &sim.url)
            .env(var, KEY));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("GET /attask/api/v21.0/JRNLE/"),
            "verbose is on"
        );
        seen.push(o.stdout);
        seen.push(o.stderr);
        seen.push(std::fs::read(&out).unwrap());
    }
    // A refused credential and its error message.
    let o = run(bin()
        .args(["-v", "export"])
        .env("WORKFRONT_URL", &sim.url)
        .env("WORKFRONT_API_KEY", "wrong-secret-value"));
    assert_eq!(o.status.code(), Some(3));
    assert!(!stderr(&o).contains("wrong-secret-value"));
    seen.push(o.stdout);
    for bytes in &seen {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(KEY), "credential leaked: {text}");
    }
    assert!(sim.simulator.request_log().iter().all(|l| !l.contains(KEY)));
}

#[test]
fn a_redirect_to_another_host_is_not_followed() {
    // The other host: it must never be contacted.
    let other = TcpListener::bind("127.0.0.2:0").unwrap();
    other.set_nonblocking(true).unwrap();
    let other_port = other.local_addr().unwrap().port();
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = redirector.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = redirector.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).unwrap();
        let request = String::from_utf8_lossy(&buf[..n]).to_string();
        let answer = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:{other_port}/steal\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(answer.as_bytes()).unwrap();
        request
    });
    let o = run(bin()
        .arg("count")
        .env("WORKFRONT_URL", format!("http://127.0.0.1:{port}"))
        .env("WORKFRONT_API_KEY", KEY));
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("redirect"), "{}", stderr(&o));
    let request = server.join().unwrap();
    assert!(
        request.to_ascii_lowercase().contains("apikey:"),
        "sent as a header"
    );
    assert!(other.accept().is_err(), "the other host was contacted");
}

#[test]
fn the_formula_guard_covers_every_text_column_and_never_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for c in ["=", "+", "-", "@", "\t", "\r"] {
        let t = |s: &str| json!(format!("{c}{s}"));
        let text_record = json!({
            "ID": t("id"), "entryDate": t("date"), "changeType": t("E"), "fieldName": t("f"),
            "objObjCode": t("TASK"), "objID": t("o"), "referenceObjectName": t("n"),
            "subObjCode": t("s"), "subObjID": t("si"), "topObjCode": t("t"), "topObjID": t("ti"),
            "oldTextVal": t("old"), "newTextVal": t("new"), "oldNumberVal": null,
            "newNumberVal": null, "oldDateVal": null, "newDateVal": null,
            "editedByID": t("u"), "editedBy": {"ID": t("u"), "name": t("name"), "objCode": "USER"}
        });
        let mut number_record = text_record.clone();
        number_record["oldTextVal"] = json!(null);
        number_record["newTextVal"] = json!(null);
        number_record["oldNumberVal"] = json!(-42.5);
        number_record["newNumberVal"] = json!(-1);
        let input = dir.path().join("in.json");
        std::fs::write(&input, json!([text_record, number_record]).to_string()).unwrap();
        let rows = csv_rows(&ok(bin().arg("normalize").arg(&input)));
        for (i, row) in rows.iter().enumerate() {
            for (column, value) in row {
                let numeric = i == 1 && (column == "old_value" || column == "new_value");
                if column == "custom_field" || column == "value_type" {
                    continue;
                }
                if numeric {
                    assert!(!value.starts_with('\''), "{c:?} {column}: {value}");
                } else {
                    assert_eq!(value, &format!("'{c}{}", &value[2..]), "{c:?} {column}");
                }
            }
        }
        assert_eq!(rows[1]["old_value"], "-42.5");
        assert_eq!(rows[1]["new_value"], "-1");
        // JSON output is never altered.
        let out = ok(bin().args(["normalize", "--format", "ndjson"]).arg(&input));
        assert!(ndjson_rows(&out)[0]["obj_name"] == format!("{c}n"));
    }
}

#[cfg(unix)]
#[test]
fn output_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.csv");
    ok(bin().args(["export", "--demo", "-o"]).arg(&out));
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn bad_data_is_kept_warned_once_per_kind_and_summarized() {
    let o = run(bin()
        .args(["normalize", "--format", "ndjson"])
        .arg(fixture("bad-data.json")));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = ndjson_rows(&stdout(&o));
    assert_eq!(rows.len(), 9, "no row dropped");
    let by_id = |n: u32| {
        rows.iter()
            .find(|r| r["id"] == format!("bad0000000000000000000000000{n:04}"))
            .unwrap()
    };
    assert_eq!(by_id(1)["new_value"], "31/12/2025");
    assert_eq!(by_id(2)["entry_date"], "not a date");
    assert_eq!(by_id(3)["field_name"], "12345");
    assert_eq!(by_id(4)["change_type"], "XYZ");
    assert_eq!(by_id(5)["new_value"], "12,5");
    assert_eq!(by_id(6)["new_value"].as_str().unwrap().len(), 10_000);
    assert_eq!(
        by_id(7)["new_value"],
        "bell\u{7} and nul\u{0} and esc\u{1b}"
    );
    assert_eq!(
        by_id(8)["new_value"],
        "lone \\ud800 high and \\udc00 low, pair 😀"
    );
    assert_eq!(by_id(9)["top_obj_id"], serde_json::Value::Null);
    let err = stderr(&o);
    for line in [
        "warning: 2 entries have a date that does not parse",
        "warning: 1 entry has a non-text value in a text field",
        "warning: 1 entry has a non-number in a number field",
        "warning: 1 entry has an unknown changeType",
        "warning: 1 entry has control characters",
        "warning: 1 entry has an unpaired UTF-16 surrogate escape",
        "warning: 1 entry lacks a JRNLE field",
    ] {
        assert_eq!(err.matches(line).count(), 1, "{line:?} once in: {err}");
    }
    let summary = err.lines().last().unwrap();
    assert!(
        summary.starts_with("jrnle-audit: wrote 9 entries to standard output in ")
            && summary.ends_with(" s (8 data warnings)"),
        "{summary}"
    );
}

#[test]
fn bad_data_served_by_the_api_is_exported_not_dropped() {
    let text = std::fs::read_to_string(fixture("bad-data.json")).unwrap();
    let mut records = jrnle_audit::input::parse_raw_records(&text, "bad").unwrap();
    // Workfront's entryDate is a database timestamp: it always parses. Keep the rest.
    records.retain(|r| raw_str(r, "entryDate") != Some("not a date"));
    let sim = sim(&records);
    let o = run(against(&sim, "export").args(["--format", "ndjson"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(ndjson_rows(&stdout(&o)).len(), records.len());
    assert!(stderr(&o).contains("data warnings"), "{}", stderr(&o));
}
