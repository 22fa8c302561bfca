//! `intervals`, `asof` and `durations` (issue 29) through the real binary, on small histories
//! written here: the replay's rules (a bulk edit's entries at one millisecond, a value after a
//! delete, empty values, numbers written two ways) and the refusals that keep a run from
//! losing its input or answering wrongly (exit 2, one line, nothing written).

use std::path::{Path, PathBuf};

use crate::util::{bin, csv_rows, ndjson_rows, ok, run, stderr};

const HEADER: &str = "id,entry_date,obj_code,obj_id,obj_name,field_name,custom_field,\
                      change_type,value_type,old_value,new_value,edited_by_id,edited_by_name,\
                      sub_obj_code,sub_obj_id,top_obj_code,top_obj_id";

/// A CSV history as export writes it, from one entry a line: `id | entry_date | obj_id | field
/// | change_type | value_type | old | new` (an empty cell is no value).
fn history(dir: &Path, name: &str, entries: &str) -> PathBuf {
    let mut text = format!("{HEADER}\n");
    for line in entries.lines().filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [id, at, obj, field, kind, vtype, old, new] = cells[..] else {
            panic!("eight cells a line: {line}");
        };
        text.push_str(&format!(
            "{id},{at},TASK,{obj},Task {obj},{field},false,{kind},{vtype},{old},{new},u1,Ada,,,,\n"
        ));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// (value, set_by_entry_id, ended_by, chain_break) of each interval of one object.
fn intervals_of(input: &Path, obj: &str) -> Vec<[String; 4]> {
    let rows = csv_rows(&ok(bin().arg("intervals").arg(input)));
    rows.iter()
        .filter(|r| r["obj_id"] == obj)
        .map(|r| ["value", "set_by_entry_id", "ended_by", "chain_break"].map(|c| r[c].to_string()))
        .collect()
}

fn row(cells: [&str; 4]) -> [String; 4] {
    cells.map(String::from)
}

#[test]
fn a_bulk_edits_entries_at_one_millisecond_follow_their_values_not_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2025-03-03T14:00:00.000Z";
    // In id order, a → b would read INP → CPL before NEW → INP: two chain breaks.
    let input = history(
        dir.path(),
        "bulk.csv",
        &format!(
            "
            e0 | 2025-03-01T09:00:00.000Z | t1 | status | A | text | | NEW
            a | {t} | t1 | status | E | text | INP | CPL
            b | {t} | t1 | status | E | text | NEW | INP
            c | {t} | t2 | status | E | text | PLN | INP
        "
        ),
    );
    assert_eq!(
        intervals_of(&input, "t1"),
        [
            row(["NEW", "e0", "change", "false"]),
            row(["INP", "b", "change", "false"]),
            row(["CPL", "a", "", "false"]),
        ]
    );
    let o = run(bin()
        .arg("intervals")
        .arg(&input)
        .args(["--summary-format", "json"]));
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(summary["chain_breaks"], 0);
    assert_eq!(summary["open"], 2, "a number, under a JSON key");
}

#[test]
fn a_value_after_a_delete_marks_the_interval_the_delete_ended() {
    let dir = tempfile::tempdir().unwrap();
    let input = history(
        dir.path(),
        "deleted.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | A | text | | NEW
            e2 | 2025-03-02T09:00:00.000Z | t1 | status | D | text | NEW | 
            e3 | 2025-03-03T09:00:00.000Z | t1 | status | E | text | INP | CPL
        ",
    );
    assert_eq!(
        intervals_of(&input, "t1"),
        [
            row(["NEW", "e1", "delete", "true"]),
            row(["CPL", "e3", "", "false"]),
        ]
    );
}

#[test]
fn json_lines_keep_an_empty_old_value_that_csv_cannot_and_numbers_group_by_value() {
    let dir = tempfile::tempdir().unwrap();
    // e1's old value is empty text: in CSV it cannot be told from none.
    let csv = history(
        dir.path(),
        "h.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | name | E | text | | Plan
            e2 | 2025-03-02T09:00:00.000Z | t1 | name | E | text | Plan | 
            e3 | 2025-03-03T09:00:00.000Z | t1 | work | A | number | | 8
            e4 | 2025-03-04T09:00:00.000Z | t1 | work | E | number | 8 | 8.00
        ",
    );
    let mut lines = String::new();
    for r in csv_rows(&std::fs::read_to_string(&csv).unwrap()) {
        let mut v = serde_json::Map::new();
        for (k, cell) in &r {
            let cell = match (k.as_str(), cell.as_str()) {
                ("old_value", "") if r["id"] == "e1" => serde_json::json!(""),
                ("custom_field", c) => serde_json::json!(c == "true"),
                (_, "") => serde_json::Value::Null,
                (_, c) => serde_json::json!(c),
            };
            v.insert(k.clone(), cell);
        }
        lines.push_str(&format!("{}\n", serde_json::Value::Object(v)));
    }
    let ndjson = dir.path().join("h.ndjson");
    std::fs::write(&ndjson, lines).unwrap();
    let from_csv = csv_rows(&ok(bin().arg("intervals").arg(&csv)));
    let mut from_lines = csv_rows(&ok(bin().arg("intervals").arg(&ndjson)));
    assert_eq!(from_csv.len(), 4);
    // The one row more: "" held from before the history, ended by e1.
    let before = from_lines.remove(0);
    let cells = [
        "value",
        "valid_from",
        "set_by_entry_id",
        "ended_by_entry_id",
    ];
    assert_eq!(cells.map(|c| before[c].as_str()), ["", "", "", "e1"]);
    assert_eq!(from_lines, from_csv);
    // 8 and 8.00 are one value: one row of two visits, not two rows.
    let visits = csv_rows(&ok(bin().arg("durations").arg(&csv).args([
        "--field",
        "work",
        "--until",
        "2025-03-05",
    ])));
    assert_eq!(visits.len(), 1);
    let got = (visits[0]["value"].as_str(), visits[0]["visits"].as_str());
    assert_eq!(got, ("8", "2"));
}

/// A run refused before anything is read: exit 2, one line that contains `says`.
fn refused(args: &[&std::ffi::OsStr], says: &str) {
    let o = run(bin().args(args));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(says), "{err}");
}

#[test]
fn an_output_that_would_replace_an_input_or_land_in_an_out_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = history(
        dir.path(),
        "h.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | E | text | NEW | INP
        ",
    );
    let before = std::fs::read(&input).unwrap();
    let inside = dir.path().join("sub").join("..").join("h.csv");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    for command in ["intervals", "durations"] {
        refused(
            &[
                command.as_ref(),
                input.as_os_str(),
                "-o".as_ref(),
                inside.as_os_str(),
            ],
            "is an input of this run",
        );
    }
    let html = dir.path().join("h.html");
    std::fs::copy(&input, &html).unwrap();
    refused(
        &[
            "report".as_ref(),
            html.as_os_str(),
            "-o".as_ref(),
            html.as_os_str(),
        ],
        "is an input of this run",
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    // Into the input directory itself: a file no manifest lists.
    let in_dir = dir.path().join("answers.csv");
    refused(
        &[
            "asof".as_ref(),
            dir.path().as_os_str(),
            "--at".as_ref(),
            "2025-03-02".as_ref(),
            "-o".as_ref(),
            in_dir.as_os_str(),
        ],
        "is inside the input directory",
    );
    assert!(!in_dir.exists());
}

#[test]
fn flags_that_would_answer_wrongly_are_refused_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let input = history(
        dir.path(),
        "h.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | E | text | NEW | INP
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | E | text | NEW | INP
        ",
    );
    let os = |s: &'static str| -> &std::ffi::OsStr { s.as_ref() };
    // The input after --cycle-end is taken as a value: without this, a query would run.
    refused(
        &[
            os("durations"),
            os("--cycle-start"),
            os("INP"),
            os("--cycle-end"),
            os("CPL"),
            input.as_os_str(),
        ],
        "give the inputs before --cycle-start",
    );
    refused(
        &[
            os("intervals"),
            input.as_os_str(),
            os("--format"),
            os("parquet"),
        ],
        "intervals, asof and durations write CSV",
    );
    refused(
        &[
            os("asof"),
            os("--demo"),
            os("--at"),
            os("2025-06-01"),
            os("--until"),
            os("2025-05-01"),
        ],
        "--until 2025-05-01 is not after --at",
    );
    // An entry twice: the way out is not --sort, which was given.
    refused(
        &[os("intervals"), input.as_os_str(), os("--sort")],
        "entry e1 (2025-03-01T09:00:00.000Z) appears twice in the input",
    );
    let o = run(bin().arg("intervals").arg(&input).arg("--sort"));
    assert!(!stderr(&o).contains("give --sort"), "{}", stderr(&o));
    let undated = history(
        dir.path(),
        "undated.csv",
        "
            e1 | last tuesday | t1 | status | E | text | NEW | INP
        ",
    );
    refused(
        &[os("intervals"), undated.as_os_str()],
        "entry \"e1\" has an entry_date that is not a date",
    );
}

#[test]
fn an_open_end_sentinel_east_of_utc_is_written_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let input = history(
        dir.path(),
        "h.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | E | text | NEW | INP
        ",
    );
    let sentinel = "9999-12-31T23:59:59.999Z";
    let flags = ["--tz", "Asia/Tokyo", "--open-end", sentinel];
    let lines = ok(bin()
        .arg("intervals")
        .arg(&input)
        .args(flags)
        .args(["--format", "ndjson"]));
    let rows = ndjson_rows(&lines);
    assert_eq!(rows[1]["valid_to"], sentinel);
    assert_eq!(rows[1]["valid_from"], "2025-03-01T18:00:00.000+09:00");
    let xlsx = dir.path().join("i.xlsx");
    ok(bin()
        .arg("intervals")
        .arg(&input)
        .args(flags)
        .arg("-o")
        .arg(&xlsx));
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range("Intervals").unwrap();
    let open = sheet.rows().nth(2).unwrap();
    assert_eq!(open[7], calamine::Data::String(sentinel.into()));
    assert!(
        matches!(open[6], calamine::Data::DateTime(_)),
        "{:?}",
        open[6]
    );
}

#[test]
fn a_file_without_a_column_the_replay_reads_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = history(
        dir.path(),
        "h.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | E | text | NEW | INP
        ",
    );
    let text = std::fs::read_to_string(&input).unwrap();
    // The CSV without its old_value column (the 10th).
    let cut: String = text
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(9);
            format!("{}\n", cells.join(","))
        })
        .collect();
    let no_old = dir.path().join("no_old.csv");
    std::fs::write(&no_old, cut).unwrap();
    refused(
        &["intervals".as_ref(), no_old.as_os_str()],
        "no old_value column",
    );
    // JSON Lines with change_type spelled otherwise.
    let record = format!(
        "{}\n",
        serde_json::json!({
            "id": "e1", "entry_date": "2025-03-01T09:00:00.000Z", "obj_code": "TASK",
            "obj_id": "t1", "field_name": "status", "changeType": "E", "value_type": "text",
            "old_value": "NEW", "new_value": "INP"
        })
    );
    let misspelt = dir.path().join("misspelt.ndjson");
    std::fs::write(&misspelt, record).unwrap();
    refused(
        &[
            "asof".as_ref(),
            misspelt.as_os_str(),
            "--at".as_ref(),
            "2025-03-02".as_ref(),
        ],
        "no \"change_type\" key",
    );
}

#[test]
fn numbers_not_written_as_json_numbers_stay_json_and_compare_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let big = "12345678901234567890123";
    let input = history(
        dir.path(),
        "n.csv",
        &format!(
            "
            e1 | 2025-03-01T09:00:00.000Z | t1 | work | E | number | 01 | NaN
            e2 | 2025-03-02T09:00:00.000Z | t2 | work | E | number | 1 | {big}
            e3 | 2025-03-03T09:00:00.000Z | t2 | work | E | number | 12345678901234567890124 | 2
        "
        ),
    );
    let text = ok(bin()
        .arg("intervals")
        .arg(&input)
        .args(["--format", "ndjson"]));
    let rows = ndjson_rows(&text);
    let t1: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["obj_id"] == "t1")
        .map(|r| &r["value"])
        .collect();
    assert_eq!(t1, [&serde_json::json!("01"), &serde_json::json!("NaN")]);
    // Two integers that a double cannot tell apart: a chain break.
    let broken: Vec<&str> = rows
        .iter()
        .filter(|r| r["chain_break"] == true)
        .map(|r| r["set_by_entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(broken, ["e2"]);
}

#[test]
fn a_field_or_value_that_never_occurs_is_named_with_what_does() {
    let dir = tempfile::tempdir().unwrap();
    let input = history(
        dir.path(),
        "h.csv",
        "
            e1 | 2025-03-01T09:00:00.000Z | t1 | status | E | text | NEW | INP
            e2 | 2025-03-02T09:00:00.000Z | t1 | status | E | text | INP | CPL
        ",
    );
    let o = run(bin().arg("durations").arg(&input).args([
        "--field",
        "Status",
        "--until",
        "2025-03-05",
    ]));
    assert_eq!(o.status.code(), Some(0));
    let err = stderr(&o);
    assert!(
        err.contains("no entry changes Status") && err.contains("are status"),
        "{err}"
    );
    let o = run(bin().arg("durations").arg(&input).args([
        "--until",
        "2025-03-05",
        "--cycle-start",
        "inp",
        "--cycle-end",
        "CPL",
    ]));
    let err = stderr(&o);
    assert!(
        err.contains("status never takes inp") && err.contains("CPL, INP"),
        "{err}"
    );
}
