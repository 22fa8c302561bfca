//! `intervals`, `asof` and `durations` (issue 29) through the real binary: the hand-computed
//! fixture (`fixtures/answers/`, see its README line), the business calendar's cases, input
//! out of entry order, the open-end sentinel and the other formats; and the replay against
//! the simulator's own object states (its truth) at 100 seeded instants.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use jrnle_audit::rng::SplitMix64;
use jrnle_audit::simulator::objects::ObjectChange;
use jrnle_audit::simulator::store::SimValue;

use crate::util::{against, bin, csv_rows, fixture, ndjson_rows, ok, run, sim, stderr};

fn answers(name: &str) -> PathBuf {
    fixture(&format!("answers/{name}"))
}

/// CSV rows as lists of cells, the header first, to compare in order and exactly.
fn table(text: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

fn expected(name: &str) -> Vec<Vec<String>> {
    table(&std::fs::read_to_string(answers(name)).unwrap())
}

/// `durations` of the fixture with its calendar (New York, the holiday) up to 2025-03-20.
fn durations(hours: &str, holidays: &str, extra: &[&str]) -> String {
    let mut cmd = bin();
    cmd.arg("durations")
        .arg(answers("history.csv"))
        .args(["--tz", "America/New_York", "--business-hours", hours])
        .arg("--holidays")
        .arg(answers(holidays))
        .args(["--until", "2025-03-20T00:00:00Z"])
        .args(extra);
    ok(&mut cmd)
}

#[test]
fn the_fixture_gives_the_hand_computed_intervals_asof_durations_and_cycles() {
    let history = answers("history.csv");
    let intervals = ok(bin().arg("intervals").arg(&history));
    assert_eq!(table(&intervals), expected("intervals.expected.csv"));
    let asof = ok(bin()
        .arg("asof")
        .arg(&history)
        .args(["--at", "2025-03-13T15:00:00.000Z"]));
    assert_eq!(table(&asof), expected("asof.expected.csv"));
    let visits = durations("09:00-17:00", "holidays.txt", &[]);
    assert_eq!(table(&visits), expected("durations.expected.csv"));
    // The same holiday from an iCalendar file gives the same rows.
    let cycles = durations(
        "09:00-17:00",
        "holidays.ics",
        &["--cycle-start", "INP", "--cycle-end", "CPL"],
    );
    assert_eq!(table(&cycles), expected("cycles.expected.csv"));
}

#[test]
fn friday_four_pm_to_monday_ten_am_is_two_business_hours_nine_to_five_and_four_eight_to_six() {
    for (hours, business) in [("09:00-17:00", "7200"), ("08:00-18:00", "14400")] {
        let rows = csv_rows(&durations(hours, "holidays.txt", &[]));
        let friday = rows
            .iter()
            .find(|r| r["obj_id"] == "s01" && r["value"] == "INP")
            .unwrap();
        assert_eq!(friday["business_seconds"], business, "{hours}");
        // 65 real hours: the weekend holds the spring change in New York.
        assert_eq!(friday["total_seconds"], "234000");
    }
}

#[test]
fn asof_a_millisecond_before_two_entries_at_one_millisecond_is_the_value_before_both() {
    let rows = csv_rows(&ok(bin()
        .arg("asof")
        .arg(answers("history.csv"))
        .args(["--at", "2025-03-13T14:59:59.999Z"])));
    let s05 = rows.iter().find(|r| r["obj_id"] == "s05").unwrap();
    assert_eq!(
        (
            s05["value"].as_str(),
            s05["known"].as_str(),
            s05["since"].as_str()
        ),
        ("NEW", "true", "")
    );
}

/// The fixture with two entries swapped, in a temporary directory.
fn swapped(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(answers("history.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.swap(3, 4);
    let path = dir.join("swapped.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[test]
fn input_out_of_entry_order_is_refused_with_one_line_and_nothing_written_unless_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let input = swapped(dir.path());
    let out = dir.path().join("intervals.csv");
    let o = run(bin().arg("intervals").arg(&input).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not in entry order") && err.contains("--sort"),
        "{err}"
    );
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    ok(bin()
        .arg("intervals")
        .arg(&input)
        .arg("--sort")
        .arg("-o")
        .arg(&out));
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(table(&written), expected("intervals.expected.csv"));
}

/// `n` status changes of `n` tasks, a second apart, in entry order, as CSV.
fn many_changes(n: usize) -> String {
    let mut text = std::fs::read_to_string(answers("history.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
        + "\n";
    let start: DateTime<Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
    for k in 0..n {
        let at = (start + Duration::seconds(k as i64)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
        text += &format!(
            "m{k:06},{at},TASK,t{k},Task {k},status,false,E,text,NEW,INP,u1,Ada,,,PROJ,p1\n"
        );
    }
    text
}

#[test]
fn a_refusal_after_thousands_of_rows_were_written_leaves_no_file() {
    // The rows are written on a thread of their own while the replay runs: batches of them
    // reach the writer before the replay meets the entry out of order at the end.
    let dir = tempfile::tempdir().unwrap();
    let mut text = many_changes(5000);
    text += "m000000,2025-01-01T00:00:00.000Z,TASK,t0,Task 0,status,false,E,text,INP,CPL,u1,Ada,,,PROJ,p1\n";
    let input = dir.path().join("late.csv");
    std::fs::write(&input, text).unwrap();
    for format in ["csv", "ndjson", "xlsx"] {
        let out = dir.path().join(format!("intervals.{format}"));
        let o = run(bin().arg("intervals").arg(&input).arg("-o").arg(&out));
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("not in entry order"), "{err}");
        assert!(!out.exists(), "{format}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "{format}"
        );
    }
    // durations gathers its visits on a thread of its own too: refused the same way.
    let out = dir.path().join("durations.csv");
    let o = run(bin().arg("durations").arg(&input).arg("-o").arg(&out));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("not in entry order"), "{}", stderr(&o));
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    // Without the last entry every row is written: two per task.
    let whole = dir.path().join("whole.csv");
    std::fs::write(&whole, many_changes(5000)).unwrap();
    let rows = csv_rows(&ok(bin().arg("intervals").arg(&whole)));
    assert_eq!(rows.len(), 10_000);
}

#[cfg(target_os = "linux")]
#[test]
fn intervals_that_cannot_be_written_are_exit_1_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("many.csv");
    std::fs::write(&input, many_changes(5000)).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let o = bin()
        .arg("intervals")
        .arg(&input)
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot write standard output"), "{err}");
}

#[test]
fn the_open_end_sentinel_stands_in_for_an_empty_valid_to() {
    let sentinel = "9999-12-31T23:59:59.999Z";
    let rows = csv_rows(&ok(bin()
        .arg("intervals")
        .arg(answers("history.csv"))
        .args(["--open-end", sentinel])));
    let open: Vec<_> = rows.iter().filter(|r| r["ended_by"].is_empty()).collect();
    assert_eq!(open.len(), 40);
    assert!(open.iter().all(|r| r["valid_to"] == sentinel));
    assert!(rows.iter().all(|r| !r["valid_to"].is_empty()));
}

#[test]
fn intervals_write_json_lines_and_xlsx_as_export_does() {
    let dir = tempfile::tempdir().unwrap();
    let lines = ok(bin()
        .arg("intervals")
        .arg(answers("history.csv"))
        .args(["--format", "ndjson"]));
    let rows = ndjson_rows(&lines);
    assert_eq!(rows.len(), 89);
    let broken: Vec<_> = rows.iter().filter(|r| r["chain_break"] == true).collect();
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0]["ended_by"], "chain_break");
    assert_eq!(
        rows[15]["value"],
        serde_json::json!(1),
        "numbers stay numbers"
    );
    let xlsx = dir.path().join("intervals.xlsx");
    ok(bin()
        .arg("intervals")
        .arg(answers("history.csv"))
        .arg("-o")
        .arg(&xlsx));
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> = calamine::open_workbook(&xlsx).unwrap();
    let sheet = book.worksheet_range("Intervals").unwrap();
    assert_eq!(sheet.rows().count(), 90);
    let header: Vec<String> = sheet
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header[6], "valid_from");
    let o = run(bin()
        .arg("intervals")
        .arg(answers("history.csv"))
        .args(["--format", "xlsx"]));
    assert_eq!(o.status.code(), Some(2), "a workbook cannot go to stdout");
}

#[test]
fn the_summary_counts_chain_breaks_and_names_the_zone() {
    let o = run(bin().arg("intervals").arg(answers("history.csv")).args([
        "--tz",
        "Europe/Paris",
        "--summary-format",
        "json",
    ]));
    let line = stderr(&o);
    let summary: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(summary["chain_breaks"], 1);
    assert_eq!(summary["zone"], "Europe/Paris");
    assert_eq!(summary["entries"], 52);
    let o = run(bin()
        .arg("asof")
        .arg(answers("history.csv"))
        .args(["--at", "2025-03-13"]));
    assert!(stderr(&o).contains("1 chain break") && stderr(&o).contains("times in UTC"));
}

#[test]
fn an_empty_window_export_wrote_is_an_empty_history() {
    // export writes a window without entries as an empty JSON Lines file.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.ndjson");
    ok(bin()
        .args([
            "export",
            "--demo",
            "--since",
            "2030-01-01",
            "--until",
            "2030-01-02",
            "-o",
        ])
        .arg(&empty));
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    for command in ["intervals", "durations"] {
        let o = run(bin()
            .arg(command)
            .arg(&empty)
            .args(["--summary-format", "json"]));
        assert_eq!(o.status.code(), Some(0), "{command}: {}", stderr(&o));
        let err = stderr(&o);
        let (warning, summary) = err.trim().split_once('\n').unwrap();
        // Never silently: an empty file could also be one cut to nothing.
        assert!(
            warning.contains("is empty: read as a history of no entries"),
            "{err}"
        );
        let summary: serde_json::Value = serde_json::from_str(summary).unwrap();
        assert_eq!(
            (summary["rows"].as_u64(), summary["records"].as_u64()),
            (Some(0), Some(0))
        );
    }
    let o = run(bin().arg("asof").arg(&empty).args(["--at", "2025-01-01"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[cfg(unix)]
#[test]
fn a_pipe_as_input_is_refused_with_the_way_out() {
    let o = run(bin()
        .arg("intervals")
        .arg("/dev/stdin")
        .stdin(std::fs::File::open(answers("history.csv")).unwrap()));
    // A file given as stdin is a regular file: read as one.
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut child = bin()
        .arg("intervals")
        .arg("/dev/stdin")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdin.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("not a regular file") && err.contains("save it to a file"),
        "{err}"
    );
}

#[test]
fn durations_passes_over_other_fields_and_counts_them() {
    // From a file, durations replays its field's entries only, as a query fetches only them:
    // the other fields' entries cannot change its rows.
    let text = std::fs::read_to_string(answers("history.csv")).unwrap();
    let rows = csv_rows(&text);
    let field = |r: &HashMap<String, String>| r["field_name"].clone();
    let status = rows.iter().filter(|r| field(r) == "status").count();
    let others = rows
        .iter()
        .filter(|r| !field(r).is_empty() && field(r) != "status")
        .count();
    assert!(status > 0 && others > 0, "the fixture has both");
    let o = run(bin().arg("durations").arg(answers("history.csv")).args([
        "--until",
        "2025-06-01",
        "--summary-format",
        "json",
    ]));
    let summary: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(summary["entries"], status);
    assert_eq!(summary["other_fields"], others);
    assert_eq!(summary["records"], rows.len());
    let o = run(bin()
        .arg("durations")
        .arg(answers("history.csv"))
        .args(["--until", "2025-06-01"]));
    assert!(
        stderr(&o).contains(&format!("{others} entries of other fields passed over")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bad_holiday_file_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("holidays.txt");
    std::fs::write(&bad, "2025-12-25\nChristmas\n").unwrap();
    let o = run(bin()
        .arg("durations")
        .arg(answers("history.csv"))
        .arg("--holidays")
        .arg(&bad));
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1);
    assert!(stderr(&o).contains("line 2"), "{}", stderr(&o));
}

/// A record's cell against the simulator's value: dates by instant, numbers by value.
fn same(cell: &serde_json::Value, sim: &SimValue) -> bool {
    use serde_json::Value;
    match (cell, sim) {
        (Value::Null, SimValue::Null) => true,
        (Value::Number(a), SimValue::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), SimValue::Date(d)) => a.parse::<DateTime<Utc>>().ok() == Some(*d),
        (Value::String(a), SimValue::Text(t)) => a == t,
        _ => false,
    }
}

fn instant(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| s.parse().ok())
}

type Key = (String, String, String);

/// The simulator's changes of the journaled fields of each object, from each one's first
/// entry on (before it, the simulator's objects hold values no entry speaks of).
fn truth(
    history: &[ObjectChange],
    first: &HashMap<Key, DateTime<Utc>>,
) -> HashMap<Key, Vec<ObjectChange>> {
    let mut out: HashMap<Key, Vec<ObjectChange>> = HashMap::new();
    for c in history {
        let Some(field) = c.field else { continue };
        let key = (c.obj_code.to_string(), c.id.clone(), field.to_string());
        if first.get(&key).is_some_and(|f| c.at >= *f) {
            out.entry(key).or_default().push(c.clone());
        }
    }
    out
}

#[test]
fn asof_at_100_seeded_instants_and_intervals_agree_with_the_simulators_object_states() {
    let records = jrnle_audit::simulator::generate::generate(3000, 29);
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("history.ndjson");
    ok(against(&sim, "export").arg("-o").arg(&file));
    let entries = ndjson_rows(&std::fs::read_to_string(&file).unwrap());
    let mut first: HashMap<Key, DateTime<Utc>> = HashMap::new();
    let key = |r: &serde_json::Map<String, serde_json::Value>, field: &str| -> Key {
        let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
        (s("obj_code"), s("obj_id"), s(field))
    };
    for e in entries.iter().filter(|e| e["field_name"].is_string()) {
        let at = instant(&e["entry_date"]).unwrap();
        first.entry(key(e, "field_name")).or_insert(at);
    }
    let truth = truth(&sim.simulator.object_history(), &first);
    assert!(
        truth.len() > 100,
        "the simulator tracks {} keys",
        truth.len()
    );
    check_intervals(&file, &truth, &entries);
    let (lo, hi) = first.values().fold(
        (DateTime::<Utc>::MAX_UTC, DateTime::<Utc>::MIN_UTC),
        |(lo, hi), t| (lo.min(*t), hi.max(*t)),
    );
    let mut rng = SplitMix64::new(29);
    let span = (hi - lo).num_milliseconds() as u64 + 2;
    for _ in 0..100 {
        let at = lo + Duration::milliseconds(rng.below(span) as i64 - 1);
        check_asof(&file, at, &truth, &first);
    }
}

/// Every change of the simulator's is an interval's start (or, for a value deleted, a delete
/// entry), and nothing else is.
fn check_intervals(
    file: &Path,
    truth: &HashMap<Key, Vec<ObjectChange>>,
    entries: &[serde_json::Map<String, serde_json::Value>],
) {
    let rows = ndjson_rows(&ok(bin()
        .arg("intervals")
        .arg(file)
        .args(["--format", "ndjson"])));
    let mut ours: HashMap<Key, Vec<(DateTime<Utc>, serde_json::Value)>> = HashMap::new();
    let s = |r: &serde_json::Map<String, serde_json::Value>, k: &str| {
        r[k].as_str().unwrap_or_default().to_string()
    };
    for r in rows.iter().filter(|r| r["valid_from"].is_string()) {
        let k = (s(r, "obj_code"), s(r, "obj_id"), s(r, "field_name"));
        ours.entry(k)
            .or_default()
            .push((instant(&r["valid_from"]).unwrap(), r["value"].clone()));
    }
    for e in entries.iter().filter(|e| e["change_type"] == "D") {
        let k = (s(e, "obj_code"), s(e, "obj_id"), s(e, "field_name"));
        ours.entry(k)
            .or_default()
            .push((instant(&e["entry_date"]).unwrap(), serde_json::Value::Null));
    }
    let mut compared = 0;
    for (k, changes) in truth {
        let mut mine = ours.remove(k).unwrap_or_default();
        mine.sort_by_key(|(at, _)| *at);
        assert_eq!(mine.len(), changes.len(), "{k:?}");
        for ((at, value), c) in mine.iter().zip(changes) {
            assert_eq!(*at, c.at, "{k:?}");
            assert!(
                same(value, &c.value),
                "{k:?} at {at}: {value} against {:?}",
                c.value
            );
            compared += 1;
        }
    }
    assert!(compared > 1000, "{compared} changes compared");
}

/// `asof` at `at` against the simulator's value then, for every key the history speaks of
/// by then.
fn check_asof(
    file: &Path,
    at: DateTime<Utc>,
    truth: &HashMap<Key, Vec<ObjectChange>>,
    first: &HashMap<Key, DateTime<Utc>>,
) {
    let at_text = jrnle_audit::model::date::format_utc_ms(&at);
    let rows = ndjson_rows(&ok(bin()
        .arg("asof")
        .arg(file)
        .args(["--at", &at_text, "--format", "ndjson", "-q"])));
    let s = |r: &serde_json::Map<String, serde_json::Value>, k: &str| {
        r[k].as_str().unwrap_or_default().to_string()
    };
    let by_key: HashMap<Key, _> = rows
        .iter()
        .map(|r| ((s(r, "obj_code"), s(r, "obj_id"), s(r, "field_name")), r))
        .collect();
    for (k, changes) in truth {
        if first[k] > at {
            continue;
        }
        // Changes at one millisecond come in the order of their entries' ids, as ours do.
        let value = changes.iter().rev().find(|c| c.at <= at).map(|c| &c.value);
        let row = by_key[k];
        assert_eq!(row["known"], true, "{k:?} at {at_text}");
        assert!(
            same(&row["value"], value.unwrap_or(&SimValue::Null)),
            "{k:?} at {at_text}: {} against {value:?}",
            row["value"]
        );
    }
}

#[test]
fn a_query_run_as_export_runs_it_gives_labels_and_the_tenants_zone_for_the_calendar() {
    let o = run(bin().args(["intervals", "--demo", "--until", "2026-01-01", "--labels"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let rows = csv_rows(&String::from_utf8(o.stdout).unwrap());
    let planning = rows
        .iter()
        .find(|r| r["field_name"] == "status" && r["value"] == "PLN")
        .unwrap();
    assert_eq!(planning["value_label"], "Planning");
    let o = run(bin().args(["durations", "--demo", "--until", "2026-01-01"]));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("in America/Denver (the tenant's zone"),
        "{err}"
    );
    assert!(err.contains("times in UTC"), "{err}");
}

#[test]
fn a_cycle_with_no_end_yet_counts_up_to_until_and_has_no_cycle_end() {
    // s06 entered NEW on Monday 2025-03-17 10:00 EDT and is still there on --until:
    // 58 real hours, 7 + 8 + 8 business hours (computed by hand, as the fixture's rows).
    let rows = csv_rows(&durations(
        "09:00-17:00",
        "holidays.txt",
        &["--cycle-start", "NEW", "--cycle-end", "CPL"],
    ));
    let s06 = rows.iter().find(|r| r["obj_id"] == "s06").unwrap();
    let got: Vec<&str> = [
        "cycle_start",
        "cycle_end",
        "elapsed_seconds",
        "business_seconds",
        "reopened",
    ]
    .iter()
    .map(|c| s06[*c].as_str())
    .collect();
    assert_eq!(
        got,
        [
            "2025-03-17T10:00:00.000-04:00",
            "",
            "208800",
            "82800",
            "false"
        ]
    );
}
