//! `--format xlsx`: typed cells compared with the NDJSON export of the same data, the About
//! sheet, Excel's limits (a value over 32,767 characters, more rows than a sheet holds), sync
//! into workbooks, and LibreOffice reading the file as values, never formulas.

use std::path::Path;
use std::process::Command;

use calamine::{Data, DataType, Reader};
use chrono::NaiveDateTime;
use serde_json::Value;

use jrnle_audit::input::RawRecord;
use jrnle_audit::model::date::parse_timestamp;
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

fn sheets(path: &Path) -> calamine::Xlsx<std::io::BufReader<std::fs::File>> {
    calamine::open_workbook(path).unwrap()
}

fn rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let range = sheets(path).worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// Data with every type and the values a spreadsheet would run as formulas.
fn typed_records() -> Vec<RawRecord> {
    let mut records = demo_records();
    records.extend(generate(1_500, 12));
    let hostile = ["=1+1", "@SUM(A1)", "+2", "-3"];
    for (r, v) in records
        .iter_mut()
        .filter(|r| r.get("newTextVal").is_some_and(Value::is_string))
        .zip(hostile)
    {
        r.insert("newTextVal".into(), Value::String(v.into()));
    }
    records
}

/// A timestamp as a wall-clock time in `zone`.
fn wall(text: &str, zone: Option<chrono_tz::Tz>) -> NaiveDateTime {
    let t = parse_timestamp(text).unwrap();
    match zone {
        Some(z) => t.with_timezone(&z).naive_local(),
        None => t.naive_utc(),
    }
}

fn same_instant(cell: &Data, text: &str, zone: Option<chrono_tz::Tz>) {
    let got = cell
        .as_datetime()
        .unwrap_or_else(|| panic!("{cell:?} is not a date-time"));
    let want = wall(text, zone);
    let off = (got - want).num_milliseconds().abs();
    assert!(off <= 1, "{got} vs {want} ({text})");
}

/// Every cell of the workbook against the NDJSON row of the same entry.
fn check_cells(
    path: &Path,
    rows_json: &[serde_json::Map<String, Value>],
    zone: Option<chrono_tz::Tz>,
) {
    let data = rows(path, "Changes");
    let header: Vec<String> = data[0].iter().map(|c| c.to_string()).collect();
    let zone_name = zone.map_or("UTC".to_string(), |z| z.name().to_string());
    assert_eq!(header[1], format!("entry_date ({zone_name})"));
    assert_eq!(data.len() - 1, rows_json.len());
    for (cells, json) in data[1..].iter().zip(rows_json) {
        for (name, cell) in header.iter().zip(cells) {
            let key = name.split(' ').next().unwrap();
            let want = &json[key];
            let is_date_value =
                json["value_type"] == "date" && (key == "old_value" || key == "new_value");
            match want {
                // An empty text is an empty cell, as in CSV.
                Value::Null => assert_eq!(cell, &Data::Empty, "{key}"),
                Value::String(s) if s.is_empty() => assert_eq!(cell, &Data::Empty, "{key}"),
                Value::Bool(b) => assert_eq!(cell, &Data::Bool(*b), "{key}"),
                Value::Number(n) => assert_eq!(cell, &Data::Float(n.as_f64().unwrap()), "{key}"),
                Value::String(s) if key == "entry_date" || is_date_value => {
                    same_instant(cell, s, zone)
                }
                Value::String(s) => assert_eq!(cell, &Data::String(s.clone()), "{key}"),
                other => panic!("{other}"),
            }
        }
    }
}

#[test]
fn cells_are_typed_and_agree_with_the_ndjson_export_and_the_about_sheet_holds_the_evidence() {
    let sim = sim(&typed_records());
    let dir = tempfile::tempdir().unwrap();
    let ndjson = ok(against(&sim, "export").args(["--since", "2000-01-01", "--format", "ndjson"]));
    let json_rows = ndjson_rows(&ndjson);
    for zone in [None, Some(chrono_tz::America::New_York)] {
        let path = dir.path().join("x.xlsx");
        let mut cmd = against(&sim, "export");
        cmd.args(["--since", "2000-01-01", "-o"]).arg(&path);
        if let Some(z) = zone {
            cmd.args(["--tz", z.name()]);
        }
        ok(&mut cmd);
        check_cells(&path, &json_rows, zone);
        let about: Vec<(String, String)> = rows(&path, "About")
            .iter()
            .map(|r| (r[0].to_string(), r[1].to_string()))
            .collect();
        let get = |k: &str| {
            about
                .iter()
                .find(|(w, _)| w == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert_eq!(get("Tenant"), sim.url);
        assert_eq!(get("Rows"), json_rows.len().to_string());
        assert!(get("Window").starts_with("[2000-01-01T00:00:00.000Z"));
        assert!(get("Query").contains("no filter"));
        assert!(get("Values cut").starts_with("0 rows"));
    }
    // Binary: not to stdout.
    let o = run(against(&sim, "export").args(["--format", "xlsx"]));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot go to stdout"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
}

#[test]
fn a_value_longer_than_a_cell_is_cut_with_a_marker_and_counted() {
    let mut records = demo_records();
    let long = "x".repeat(40_000);
    records[3].insert("newTextVal".into(), Value::String(long.clone()));
    records[3].insert("oldTextVal".into(), Value::String("short".into()));
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.xlsx");
    let o = run(against(&sim, "export")
        .args(["--since", "2000-01-01", "--summary-format", "json", "-o"])
        .arg(&path));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: Value = serde_json::from_str(stderr(&o).lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["data_warnings"]["by_kind"]["cut_for_excel"], 1,
        "{summary}"
    );
    let id = records[3]["ID"].as_str().unwrap();
    let data = rows(&path, "Changes");
    let row = data
        .iter()
        .find(|r| r[0] == Data::String(id.into()))
        .unwrap();
    let cell = row[10].to_string();
    assert_eq!(
        cell.chars().count(),
        32_767 - 40 + "… [cut: 7273 characters]".chars().count()
    );
    assert!(
        cell.ends_with("… [cut: 7273 characters]"),
        "{}",
        &cell[cell.len() - 40..]
    );
    assert!(cell.chars().count() <= 32_767);
    // CSV keeps it whole.
    let csv = ok(against(&sim, "export").args(["--since", "2000-01-01"]));
    assert!(csv.contains(&long));
}

#[test]
fn more_rows_than_a_sheet_holds_continue_on_the_next_sheet() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.ndjson");
    let extra = 30;
    let n = 1_048_575 + extra;
    // Lean records (an id and a date; the other columns null), so the test is about rows.
    let mut text = String::with_capacity(n * 80);
    for i in 0..n {
        text.push_str(&format!(
            "{{\"ID\":\"e{i:031}\",\"entryDate\":\"2025-11-0{}T10:00:00:000-0700\",\"changeType\":\"E\"}}\n",
            1 + i % 9
        ));
    }
    std::fs::write(&raw, text).unwrap();
    let path = dir.path().join("big.xlsx");
    ok(bin().arg("normalize").arg(&raw).arg("-o").arg(&path));
    let mut book = sheets(&path);
    assert_eq!(book.sheet_names(), ["Changes", "Changes 2", "About"]);
    let second = book.worksheet_range("Changes 2").unwrap();
    assert_eq!(second.height(), extra + 1, "the header and the rest");
    assert_eq!(second.get((0, 0)), Some(&Data::String("id".into())));
    let first = book.worksheet_range("Changes").unwrap();
    assert_eq!(first.height(), 1_048_576);
}

#[test]
fn sync_writes_workbooks_that_verify_and_read_back() {
    let sim = sim(&generate(2_000, 6));
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        ok(against(&sim, "sync")
            .arg("--out-dir")
            .arg(dir.path())
            .args(["--since", "2025-10-01", "--format", "xlsx", "--lag", "0s"]));
    }
    assert_eq!(
        run(bin().arg("verify").arg(dir.path())).status.code(),
        Some(0)
    );
    let books: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    assert_eq!(books.len(), 2);
    let total: usize = books.iter().map(|b| rows(b, "Changes").len() - 1).sum();
    assert_eq!(total, 2_000, "each entry once across the runs");
}

#[test]
fn libreoffice_reads_dates_numbers_and_formula_like_text_as_values() {
    let Some(office) = tool(&["soffice", "libreoffice"], &["--version"]) else {
        return;
    };
    let sim = sim(&typed_records());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    ok(against(&sim, "export")
        .args(["--since", "2000-01-01", "-o"])
        .arg(&path));
    let profile = dir.path().join("profile");
    let o = Command::new(office)
        .args(["--headless", "--norestore"])
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        // CSV in UTF-8 (76), comma-separated (44), double quotes (34).
        .args([
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
        ])
        .arg(dir.path())
        .arg(&path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(dir.path().join("book.csv")).unwrap();
    let rows = csv_rows(&csv);
    let ndjson = ndjson_rows(&ok(against(&sim, "export").args([
        "--since",
        "2000-01-01",
        "--format",
        "ndjson",
    ])));
    assert_eq!(rows.len(), ndjson.len());
    for value in ["=1+1", "@SUM(A1)", "+2", "-3"] {
        assert!(
            rows.iter().any(|r| r["new_value"] == value),
            "{value} came through as a value"
        );
    }
    for (r, j) in rows.iter().zip(&ndjson) {
        // Dates as dates (shown as date-times), numbers as numbers.
        let shown = &r["entry_date (UTC)"];
        let want = wall(j["entry_date"].as_str().unwrap(), None);
        assert_eq!(shown, &want.format("%Y-%m-%d %H:%M:%S%.3f").to_string());
        if let Some(n) = j["new_value"]
            .as_f64()
            .filter(|_| j["value_type"] == "number")
        {
            assert_eq!(
                r["new_value"].parse::<f64>().unwrap(),
                n,
                "{}",
                r["new_value"]
            );
        }
    }
}
