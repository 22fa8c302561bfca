//! `normalize`: saved raw records in, normalized records out, no API calls.

use std::io::Write;
use std::process::Stdio;

use crate::util::*;

#[test]
fn normalize_keeps_input_order_and_matches_export_once_sorted() {
    let out = ok(bin().arg("normalize").arg(fixture("demo.json")));
    let raw_ids: Vec<String> = demo_records()
        .iter()
        .map(|r| raw_str(r, "ID").unwrap().to_string())
        .collect();
    assert_eq!(csv_ids(&out), raw_ids, "input order");
    let expected = std::fs::read_to_string(fixture("demo.expected.csv")).unwrap();
    // The fixture holds one multi-line cell, so compare parsed rows, sorted.
    let mut a = csv_rows(&out);
    let b = csv_rows(&expected);
    a.sort_by(|x, y| (&x["entry_date"], &x["id"]).cmp(&(&y["entry_date"], &y["id"])));
    assert_eq!(a, b);
}

#[test]
fn normalize_reads_arrays_lines_and_stdin_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let records = demo_records();
    let array = dir.path().join("a.json");
    std::fs::write(&array, serde_json::to_string(&records[..3]).unwrap()).unwrap();
    let lines = dir.path().join("b.ndjson");
    let text: String = records[3..5]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(&lines, &text).unwrap();
    let out = ok(bin()
        .args(["normalize", "--format", "ndjson"])
        .arg(&array)
        .arg(&lines));
    let ids: Vec<String> = ndjson_rows(&out)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = records[..5]
        .iter()
        .map(|r| raw_str(r, "ID").unwrap().to_string())
        .collect();
    assert_eq!(ids, expected);

    let mut child = bin()
        .args(["normalize", "-", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[0]["id"], raw_str(&records[3], "ID").unwrap());
}

#[test]
fn bad_input_fails_with_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.ndjson");
    std::fs::write(&bad, "{\"ID\":\"a\"}\n{\"ID\": oops}\n").unwrap();
    let out = dir.path().join("out.csv");
    let o = run(bin().arg("normalize").arg(&bad).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("bad.ndjson: line 2: not valid JSON"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let o = run(bin().args(["normalize", "/nonexistent/raw.json"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read /nonexistent/raw.json"));
    assert!(o.stdout.is_empty());
}

#[test]
fn a_file_this_tool_wrote_is_refused_with_a_pointer_to_report() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["own.json", "own.ndjson"] {
        let own = dir.path().join(name);
        ok(bin().args(["export", "--demo", "-q", "-o"]).arg(&own));
        let out = dir.path().join(format!("{name}.csv"));
        let o = run(bin().arg("normalize").arg(&own).arg("-o").arg(&out));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("holds records jrnle-audit wrote") && err.contains("jrnle-audit report"),
            "{err}"
        );
        assert!(!out.exists());
    }
    // Raw records still read, also when they carry more fields than the tool's.
    ok(bin().args(["normalize", "-q"]).arg(fixture("demo.json")));
}
