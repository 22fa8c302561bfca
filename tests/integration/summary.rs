//! `--summary-format json`: one JSON object with the figures of the summary, for schedulers.

use serde_json::Value;

use crate::util::*;

/// The stderr of a run as exactly one JSON object.
fn one_object(text: &str) -> Value {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {text}");
    serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn export_and_normalize_summaries_as_json() {
    let sim = sim(&demo_records());
    let o = run(against(&sim, "export").args(["--summary-format", "json", "-q"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = one_object(&stderr(&o));
    assert_eq!(v["command"], "export");
    assert_eq!(v["entries"], 30);
    assert_eq!(v["destination"], "standard output");
    assert!(v["requests"].as_u64().unwrap() >= 1);
    assert_eq!(v["retries"], 0);
    assert_eq!(v["data_warnings"]["total"], 0);
    assert!(v["elapsed_s"].is_number());
    let o = run(bin()
        .args(["normalize", "--summary-format", "json"])
        .arg(fixture("bad-data.json")));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = one_object(&stderr(&o));
    assert_eq!(v["command"], "normalize");
    assert_eq!(v["data_warnings"]["total"], 8, "{v}");
    assert_eq!(v["data_warnings"]["by_kind"]["bad_date"], 2, "{v}");
    assert_eq!(v.get("requests"), None, "normalize makes no request");
}

#[test]
fn sync_and_verify_summaries_as_json() {
    let sim = sim(&demo_records());
    let dir = tempfile::tempdir().unwrap();
    let o = run(against(&sim, "sync")
        .arg("--out-dir")
        .arg(dir.path())
        .args([
            "--since",
            "2020-01-01",
            "--lag",
            "0s",
            "--summary-format",
            "json",
        ]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = one_object(&stderr(&o));
    let committed = &v["committed"];
    assert_eq!(committed["entries"], 30);
    let name = committed["data_file"].as_str().unwrap();
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join(committed["manifest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["data_file"]["name"], name);
    assert_eq!(manifest["data_file"]["sha256"], committed["sha256"]);
    let o = run(bin()
        .args(["verify", "--summary-format", "json"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = one_object(&stdout(&o));
    assert_eq!(v["intact"], true);
    assert_eq!(
        (v["manifests"].as_u64(), v["entries"].as_u64()),
        (Some(1), Some(30))
    );
    std::fs::remove_file(dir.path().join(name)).unwrap();
    let o = run(bin()
        .args(["verify", "--summary-format", "json"])
        .arg(dir.path()));
    assert_eq!(o.status.code(), Some(5));
    let v = one_object(&stdout(&o));
    assert_eq!(v["intact"], false);
    assert!(
        v["problems"][0].as_str().unwrap().contains("missing"),
        "{v}"
    );
}

#[test]
fn count_and_fields_summaries_as_json() {
    let sim = sim(&demo_records());
    let o = run(against(&sim, "count").args(["--field", "Status", "--summary-format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "0\n", "the count stays on stdout");
    let v = one_object(&stderr(&o));
    assert_eq!(v["command"], "count");
    assert_eq!(v["count"], 0);
    assert_eq!(v["unmatched"][0]["flag"], "--field");
    assert_eq!(v["unmatched"][0]["value"], "Status");
    let o =
        run(against(&sim, "fields").args(["--since", "2000-01-01", "--summary-format", "json"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = one_object(&stderr(&o));
    assert_eq!(v["command"], "fields");
    assert_eq!(v["entries"], 30, "every demo entry is tallied");
    assert_eq!(
        v["fields"].as_u64(),
        Some(stdout(&o).lines().count() as u64 - 1)
    );
}
