//! `report`: the HTML audit report over a sync out-dir (intact and tampered), over export
//! files of each format and straight from a query; its totals checked against the data, its
//! hashes against the files, hostile values inert in a real browser.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use serde_json::Value;
use sha2::{Digest, Sha256};

use jrnle_audit::input::RawRecord;
use jrnle_audit::simulator::generate::generate;

use crate::util::*;

/// HTML text with the template's escapes undone.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&amp;", "&")
}

/// Text with the tags removed.
fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// The body rows of the table with `id`, each a list of cell texts.
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = start + html[start..].find("</table>").unwrap();
    let body = &html[start..end];
    let body = &body[body.find("<tbody>").map_or(0, |i| i + 7)..];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = &cell[cell.find('>').unwrap() + 1..];
                    strip_tags(&inner[..inner.find("</td>").unwrap()])
                })
                .collect()
        })
        .collect()
}

/// The text of the element with `id`.
fn text_by_id(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element {id}"));
    let inner = &html[at + html[at..].find('>').unwrap() + 1..];
    strip_tags(&inner[..inner.find("</").unwrap()])
}

fn number(s: &str) -> u64 {
    s.replace(',', "")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{s:?}"))
}

/// A totals table as label → count.
fn totals(html: &str, id: &str) -> HashMap<String, u64> {
    table(html, &format!("totals-{id}"))
        .into_iter()
        .map(|r| (r[0].clone(), number(&r[1])))
        .collect()
}

/// The counts of one column of NDJSON rows, nulls as `(none)`.
fn count_by(rows: &[serde_json::Map<String, Value>], column: &str) -> HashMap<String, u64> {
    let mut counts = HashMap::new();
    for r in rows {
        let key = r[column].as_str().unwrap_or("(none)").to_string();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn report(args: &[&str], out: &Path) -> std::process::Output {
    run(bin().arg("report").args(args).arg("-o").arg(out))
}

/// Every total of the page against the records it was made from.
fn check_totals(html: &str, rows: &[serde_json::Map<String, Value>]) {
    assert_eq!(number(&text_by_id(html, "row-count")), rows.len() as u64);
    assert_eq!(
        totals(html, "by-change-type"),
        count_by(rows, "change_type")
    );
    assert_eq!(totals(html, "by-object-type"), count_by(rows, "obj_code"));
    assert_eq!(totals(html, "by-field"), count_by(rows, "field_name"));
    // By project: a change counts for its top object, a project's own for the project.
    let mut projects: HashMap<String, u64> = HashMap::new();
    for r in rows {
        let top = match (r["top_obj_id"].as_str(), r["obj_code"].as_str()) {
            (Some(id), _) if !id.is_empty() => Some(id),
            (_, Some("PROJ")) => r["obj_id"].as_str(),
            _ => None,
        };
        if let Some(id) = top {
            *projects.entry(id.to_string()).or_default() += 1;
        }
    }
    // The table lists the 50 with the most changes.
    let shown = totals(html, "by-project");
    let mut shown_counts: Vec<u64> = shown.values().copied().collect();
    let mut expected: Vec<u64> = projects.values().copied().collect();
    shown_counts.sort_unstable_by(|a, b| b.cmp(a));
    expected.sort_unstable_by(|a, b| b.cmp(a));
    expected.truncate(50);
    assert_eq!(shown_counts, expected, "{shown:?}");
    let deletes = rows.iter().filter(|r| r["change_type"] == "D").count() as u64;
    assert_eq!(number(&text_by_id(html, "count-deletes")), deletes);
    // Owner and assignee changes, but their first assignment at creation (A).
    let owners = rows
        .iter()
        .filter(|r| {
            [
                "ownerID",
                "assignedToID",
                "sponsorID",
                "managerID",
                "teamID",
                "roleID",
            ]
            .iter()
            .any(|f| r["field_name"] == *f)
                && r["change_type"] != "A"
        })
        .count() as u64;
    assert_eq!(number(&text_by_id(html, "count-owners")), owners);
    assert!(
        !html.contains("count-custom"),
        "custom-field edits are no exception"
    );
}

#[test]
fn report_over_a_sync_out_dir_shows_the_evidence_and_the_failure_of_tampering() {
    let records = generate(3_000, 21);
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("evidence");
    for _ in 0..2 {
        ok(against(&sim, "sync").arg("--out-dir").arg(&out_dir).args([
            "--since",
            "2025-10-01",
            "--format",
            "ndjson",
            "--lag",
            "0s",
        ]));
    }
    let html_path = dir.path().join("r.html");
    let o = report(&[out_dir.to_str().unwrap()], &html_path);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("id=\"verify-ok\""));
    assert!(html.contains("id=\"warnings-unknown\""));
    let mut rows = Vec::new();
    let mut data_files = Vec::new();
    for entry in fs::read_dir(&out_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ndjson") {
            rows.extend(ndjson_rows(&fs::read_to_string(&path).unwrap()));
            data_files.push(path);
        }
    }
    assert_eq!(rows.len(), records.len());
    check_totals(&html, &rows);
    // One reconciliation row per run: its window, Workfront's count, its rows, its file.
    let runs = table(&html, "runs-table");
    let mut manifests: Vec<_> = fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".manifest.json"))
        .collect();
    manifests.sort();
    assert_eq!(runs.len(), manifests.len());
    for (run, name) in runs.iter().zip(&manifests) {
        let m: Value = serde_json::from_slice(&fs::read(out_dir.join(name)).unwrap()).unwrap();
        // In the report's zone (UTC here) with its offset, as every time of the page.
        let from: chrono::DateTime<chrono::Utc> =
            m["window"]["from"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            run[0],
            from.format("%Y-%m-%d %H:%M:%S%.3f +00:00").to_string()
        );
        assert_eq!(number(&run[2]), m["server_count"].as_u64().unwrap());
        assert_eq!(number(&run[3]), m["row_count"].as_u64().unwrap());
        assert_eq!(run[5], m["data_file"]["name"].as_str().unwrap());
        assert_eq!(run[6], m["data_file"]["sha256"].as_str().unwrap());
        assert_eq!(run[7], "matches");
    }
    assert_eq!(
        number(&text_by_id(&html, "server-count")),
        records.len() as u64
    );
    // Every file's size and hash as a reader would recompute them.
    for path in &data_files {
        let bytes = fs::read(path).unwrap();
        let hash = jrnle_audit::evidence::manifest::hex(&Sha256::digest(&bytes));
        assert!(
            without_marks(&html).contains(&hash),
            "{} {hash}",
            path.display()
        );
    }
    // Tampered: the report is still written, the failure is at the top, and exit is 5.
    let victim = data_files
        .iter()
        .find(|p| {
            fs::read_to_string(p)
                .unwrap()
                .contains("\"change_type\":\"E\"")
        })
        .unwrap();
    let text = fs::read_to_string(victim).unwrap();
    let edited = text.replacen("\"change_type\":\"E\"", "\"change_type\":\"D\"", 1);
    assert_ne!(text, edited);
    fs::write(victim, edited).unwrap();
    let o = report(&[out_dir.to_str().unwrap()], &html_path);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the report shows the failure"),
        "{}",
        stderr(&o)
    );
    let html = fs::read_to_string(&html_path).unwrap();
    let alert = html
        .find("id=\"verify-failed\"")
        .expect("the failure is shown");
    assert!(alert < html.find("id=\"evidence\"").unwrap(), "at the top");
    assert!(html[alert..].contains("sha256"), "the problem is named");
}

#[test]
fn report_over_export_files_of_each_format_and_from_a_query_agrees_with_the_data() {
    let records = generate(2_000, 8);
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let ndjson = ok(against(&sim, "export").args(["--since", "2000-01-01", "--format", "ndjson"]));
    let rows = ndjson_rows(&ndjson);
    assert_eq!(rows.len(), records.len());
    for (format, extra) in [
        ("csv", None),
        ("csv", Some("--excel")),
        ("json", None),
        ("ndjson", None),
    ] {
        let file = dir.path().join(format!("x.{format}"));
        let mut export = against(&sim, "export");
        export
            .args(["--since", "2000-01-01", "--format", format, "-o"])
            .arg(&file);
        if let Some(flag) = extra {
            export.arg(flag);
        }
        ok(&mut export);
        let html_path = dir.path().join(format!("{format}.html"));
        let o = report(&[file.to_str().unwrap()], &html_path);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        let html = fs::read_to_string(&html_path).unwrap();
        check_totals(&html, &rows);
        assert!(html.contains("not recorded in the input"), "{format}");
        // Files do not record the warnings met while they were written: never "none".
        assert!(html.contains("id=\"warnings-unknown\""), "{format}");
    }
    // Straight from a query: the same totals, the query and Workfront's count as evidence.
    let html_path = dir.path().join("query.html");
    let o = run(against(&sim, "report")
        .args(["--since", "2000-01-01", "--obj-code", "TASK", "-o"])
        .arg(&html_path));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = fs::read_to_string(&html_path).unwrap();
    let tasks: Vec<_> = rows
        .iter()
        .filter(|r| r["obj_code"] == "TASK")
        .cloned()
        .collect();
    check_totals(&html, &tasks);
    assert_eq!(
        number(&text_by_id(&html, "server-count")),
        tasks.len() as u64
    );
    assert!(html.contains("--obj-code TASK"));
    assert!(!html.contains("id=\"warnings-unknown\""));
}

#[test]
fn report_refuses_what_it_cannot_do_with_one_line_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    ok(bin().args(["export", "--demo", "-o"]).arg(&csv));
    let not_ours = dir.path().join("notes.txt");
    fs::write(&not_ours, "hello").unwrap();
    let html = dir.path().join("r.html");
    for (args, says) in [
        (vec![csv.to_str().unwrap(), "-o", "r.csv"], "name it .html"),
        (
            vec![
                csv.to_str().unwrap(),
                "--field",
                "status",
                "-o",
                html.to_str().unwrap(),
            ],
            "drop the filters",
        ),
        (
            vec![not_ours.to_str().unwrap(), "-o", html.to_str().unwrap()],
            "not a CSV, JSON or JSON Lines file",
        ),
        (
            vec![
                csv.to_str().unwrap(),
                "--business-hours",
                "9-5",
                "-o",
                html.to_str().unwrap(),
            ],
            "--business-hours",
        ),
        (
            vec![
                csv.to_str().unwrap(),
                "--tz",
                "Mars/Olympus",
                "-o",
                html.to_str().unwrap(),
            ],
            "unknown --tz",
        ),
    ] {
        let o = run(bin().arg("report").args(&args).current_dir(dir.path()));
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
        assert!(!html.exists() && !dir.path().join("r.csv").exists());
    }
}

/// Values a hostile or careless editor can put into Workfront.
fn hostile_records() -> Vec<RawRecord> {
    let long = "A".repeat(5_000);
    let values = [
        "<script>document.title='pwned'</script>",
        "\"><img src=x onerror=\"document.title='pwned'\">",
        "javascript:document.title='pwned'",
        "\u{202E}gnp.exe",
        long.as_str(),
        "line one\nline two",
    ];
    let mut records = demo_records();
    for (r, v) in records.iter_mut().zip(values.iter().cycle()) {
        for key in ["newTextVal", "oldTextVal", "referenceObjectName"] {
            if r.get(key).is_some_and(Value::is_string) {
                r.insert(key.into(), Value::String(v.to_string()));
            }
        }
        if let Some(Value::Object(user)) = r.get_mut("editedBy") {
            user.insert("name".into(), Value::String(values[1].to_string()));
        }
    }
    records
}

/// The page in a 1200 × 2000 window, its script given 3 s of virtual time.
fn headless_page(browser: &str, page: &Path, extra: &[&str]) -> std::process::Output {
    let flags = [
        &["--virtual-time-budget=3000", "--window-size=1200,2000"],
        extra,
    ]
    .concat();
    headless(browser, page, &flags)
}

#[test]
fn hostile_values_are_inert_text_in_a_real_browser() {
    let sim = sim(&hostile_records());
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hostile.html");
    let o = run(against(&sim, "report")
        .args(["--since", "2000-01-01", "-o"])
        .arg(&page));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let html = fs::read_to_string(&page).unwrap();
    // Nothing but the page's own style and script may load or run; nothing is linked.
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src &#x27;none&#x27;"));
    assert!(!html.contains("<img") && !html.contains("<script>document"));
    for tag in [
        "<link",
        "<script src",
        "<iframe",
        "<object",
        "<embed",
        "href=\"http",
    ] {
        assert!(
            !html.contains(tag),
            "nothing is loaded from anywhere: {tag}"
        );
    }
    let Some(browser) = chromium() else { return };
    let o = headless_page(browser, &page, &["--dump-dom"]);
    let dom = without_marks(&String::from_utf8_lossy(&o.stdout));
    assert!(
        dom.contains("data-script=\"ran\""),
        "the page's own script ran: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dom.contains("pwned</title>"), "no hostile script ran");
    assert!(dom.contains("<title>Workfront change history</title>"));
    assert!(!dom.contains("<img"), "no element was made from a value");
    // The values show as text.
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert!(dom.contains("\"&gt;&lt;img src=x onerror="));
    assert!(dom.contains(&"A".repeat(5_000)));
    assert!(dom.contains("line one\nline two"));
    // The totals survive the browser's parsing too.
    assert_eq!(number(&text_by_id(&dom, "row-count")), 30);
    let shot = dir.path().join("hostile.png");
    let o = headless_page(
        browser,
        &page,
        &[&format!("--screenshot={}", shot.display())],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(fs::metadata(&shot).unwrap().len() > 10_000);
}

/// Values show as the CSV writes them, whatever the report read: a query, a CSV file or an
/// NDJSON file (which held `2.5e-7` back as serde_json's exponent form); in a zone, dates as
/// `export --tz` writes them.
#[test]
fn values_are_rendered_as_in_the_csv_whatever_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("demo.csv");
    let ndjson = dir.path().join("demo.ndjson");
    ok(bin().args(["export", "--demo", "-o"]).arg(&csv));
    ok(bin().args(["export", "--demo", "-o"]).arg(&ndjson));
    let values = |csv: &Path| -> HashMap<String, (String, String)> {
        csv_rows(&fs::read_to_string(csv).unwrap())
            .into_iter()
            .map(|r| {
                let value = |k: &str| r[k].strip_prefix('\'').unwrap_or(&r[k]).to_string();
                (r["id"].clone(), (value("old_value"), value("new_value")))
            })
            .collect()
    };
    let expected = values(&csv);
    assert!(expected.values().any(|(_, new)| new == "0.00000025"));
    let query = dir.path().join("query.html");
    ok(bin()
        .args(["report", "--demo", "--tz", "UTC", "-o"])
        .arg(&query));
    let same = |page: &Path, expected: &HashMap<String, (String, String)>| {
        let html = fs::read_to_string(page).unwrap();
        assert!(!html.contains("2.5e-7"), "{}", page.display());
        let rows = table(&html, "all-changes");
        assert_eq!(rows.len(), expected.len());
        for row in rows {
            // When, object type, object, field, type, old, new, by, entry id.
            let (old, new) = &expected[&row[8]];
            assert_eq!(
                (&row[5], &row[6]),
                (old, new),
                "{}: {}",
                page.display(),
                row[8]
            );
        }
    };
    for (input, page) in [
        (None, query),
        (Some(&csv), dir.path().join("csv.html")),
        (Some(&ndjson), dir.path().join("ndjson.html")),
    ] {
        if let Some(input) = input {
            ok(bin().arg("report").arg(input).arg("-o").arg(&page));
        }
        same(&page, &expected);
    }
    // In the tenant's zone (the query's default), dates as `export --tz` writes them.
    let denver_csv = dir.path().join("denver.csv");
    ok(bin()
        .args(["export", "--demo", "--tz", "America/Denver", "-o"])
        .arg(&denver_csv));
    let denver = values(&denver_csv);
    assert!(
        denver
            .values()
            .any(|(old, _)| old == "2025-07-31T00:00:00.000-06:00"),
        "a date value in Denver's summer offset"
    );
    let page = dir.path().join("denver.html");
    ok(bin().args(["report", "--demo", "-o"]).arg(&page));
    same(&page, &denver);
    let page = dir.path().join("csv-denver.html");
    ok(bin()
        .arg("report")
        .arg(&csv)
        .args(["--tz", "America/Denver", "-o"])
        .arg(&page));
    same(&page, &denver);
}

/// The chart over time is sized to the window (hours for a day) and drawn to the window's end:
/// the empty hours after the last entry are gaps too. Its y-axis has labelled ticks.
#[test]
fn the_time_chart_counts_hours_of_a_day_and_runs_to_the_windows_end() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("day.html");
    ok(bin()
        .args([
            "report",
            "--demo",
            "--tz",
            "UTC",
            "--since",
            "2025-02-03",
            "--until",
            "2025-02-04",
            "-o",
        ])
        .arg(&page));
    let html = without_marks(&fs::read_to_string(&page).unwrap());
    let gaps = strip_tags(&html[html.find("<ul id=\"gaps\">").unwrap()..][..400]);
    // The demo has two entries on 2025-02-03, both at 18:21 UTC.
    assert!(
        gaps.starts_with(
            "2025-02-03 00:00 to 2025-02-03 17:00 (18 hours)2025-02-03 19:00 to 2025-02-03 23:00 (5 hours)"
        ),
        "{gaps}"
    );
    assert!(html.contains("Changes per hour in UTC"));
    let chart = &html[html.find("<section id=\"over-time\">").unwrap()..];
    let chart = &chart[..chart.find("</svg>").unwrap()];
    for label in ["0", "1", "2"] {
        assert!(
            chart.contains(&format!("text-anchor=\"end\">{label}</text>")),
            "tick {label}: {chart}"
        );
    }
}

/// The table of contents names every section, and each of its links reaches one.
#[test]
fn the_table_of_contents_reaches_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("demo.html");
    ok(bin().args(["report", "--demo", "-o"]).arg(&page));
    let html = fs::read_to_string(&page).unwrap();
    let nav = &html[html.find("<nav id=\"toc\"").unwrap()..];
    let nav = &nav[..nav.find("</nav>").unwrap()];
    let targets: Vec<&str> = nav
        .split("href=\"#")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let sections: Vec<&str> = html
        .split("<section id=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    assert_eq!(targets, sections);
    assert_eq!(sections.len(), 7);
}

/// Times on the page are in the report's one zone, each with its offset: the window, when the
/// data was extracted and the report made, the changes.
#[test]
fn every_time_is_in_the_reports_zone_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("denver.html");
    ok(bin()
        .args(["report", "--demo", "--tz", "America/Denver"])
        .args(["--since", "2025-02-03", "--until", "2025-02-04", "-o"])
        .arg(&page));
    let html = without_marks(&fs::read_to_string(&page).unwrap());
    assert!(strip_tags(&html).contains("times in America/Denver (--tz)"));
    let window = text_by_id(
        &html.replace("<tr><th scope=\"row\">Window</th><td>", "<td id=\"w\">"),
        "w",
    );
    assert_eq!(
        window,
        "[2025-02-02 17:00:00.000 -07:00, 2025-02-03 17:00:00.000 -07:00)"
    );
    for row in ["Report made", "Extracted"] {
        let at = &html[html.find(&format!("{row}</th><td>")).unwrap()..][..70];
        assert!(at.contains(" -07:00"), "{at}");
    }
    let when = &table(&html, "all-changes")[0][0];
    assert!(when.ends_with(" -07:00"), "{when}");
}

/// An owner changed after creation is an exception, shown by name where the records name the
/// person (as an editor); the owner given at creation is not.
#[test]
fn owner_changes_leave_out_creation_and_name_the_people() {
    let mut records = demo_records();
    let owner = records
        .iter_mut()
        .find(|r| r.get("fieldName").and_then(Value::as_str) == Some("ownerID"))
        .unwrap();
    assert_eq!(
        owner["changeType"], "A",
        "the demo gives an owner at creation"
    );
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("a.html");
    ok(against(&sim, "report")
        .args(["--since", "2025-01-01", "-o"])
        .arg(&page));
    let html = fs::read_to_string(&page).unwrap();
    assert_eq!(number(&text_by_id(&html, "count-owners")), 0);
    // The same owner set again later, over an owner nobody names.
    let owner = records
        .iter_mut()
        .find(|r| r.get("fieldName").and_then(Value::as_str) == Some("ownerID"))
        .unwrap();
    owner.insert("changeType".into(), Value::String("E".into()));
    owner.insert("oldTextVal".into(), Value::String("0000aaaa".into()));
    let new = owner["newTextVal"].as_str().unwrap().to_string();
    let sim = crate::util::sim(&records);
    ok(against(&sim, "report")
        .args(["--since", "2025-01-01", "-o"])
        .arg(&page));
    let html = without_marks(&fs::read_to_string(&page).unwrap());
    assert_eq!(number(&text_by_id(&html, "count-owners")), 1);
    let owners = &html[html.find("id=\"owners\"").unwrap()..];
    let owners = strip_tags(&owners[..owners.find("</section>").unwrap()]);
    let name = records
        .iter()
        .find(|r| r.get("editedByID").and_then(Value::as_str) == Some(new.as_str()))
        .and_then(|r| r["editedBy"]["name"].as_str())
        .unwrap();
    assert!(owners.contains(&format!("{name} ({new})")), "{owners}");
    assert!(owners.contains("0000aaaa"), "an unnamed id stays: {owners}");
}

/// Without `--tz`, a query's report is in the tenant's zone as Workfront's offsets show it
/// (the demo tenant is in Denver), and business hours are judged there. Counted by hand from
/// fixtures/demo.json (08:00-18:00, Monday to Friday): in Denver 7 of the 30 changes are
/// outside (the Sundays 2025-03-09, 2025-11-02 (three) and 2025-07-06, and Saturday
/// 2025-07-05); in UTC 23 are. The prompts are grouped by editor and by object.
#[test]
fn business_hours_are_judged_in_the_tenants_zone_and_prompts_grouped() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("tenant.html");
    let out = run(bin().args(["report", "--demo", "-o"]).arg(&page));
    assert_eq!(out.status.code(), Some(0));
    let said = stderr(&out);
    assert!(
        said.contains("business hours in America/Denver (the tenant's zone, as the offsets of Workfront's dates show it: -0700, -0600"),
        "{said}"
    );
    let html = without_marks(&fs::read_to_string(&page).unwrap());
    assert!(
        strip_tags(&html).contains("times in America/Denver (the tenant's zone, as the offsets")
    );
    assert_eq!(number(&text_by_id(&html, "count-off-hours")), 7);
    assert_eq!(number(&text_by_id(&html, "count-deletes")), 2);
    assert_eq!(number(&text_by_id(&html, "count-regressions")), 0);
    assert_eq!(number(&text_by_id(&html, "count-owners")), 0);
    let by_editor = table(&html, "off-hours-by-editor");
    assert_eq!(
        by_editor,
        [
            ["O'Brien, Pat", "3"],
            ["Grace Hopper", "2"],
            ["(unknown)", "1"],
            ["Ada Lovelace", "1"],
        ]
    );
    let by_object: Vec<(String, String)> = table(&html, "off-hours-by-object")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(by_object.len(), 2, "{by_object:?}");
    assert!(
        by_object[0].0.starts_with("TASK Build, test & ship"),
        "{by_object:?}"
    );
    assert_eq!(by_object[0].1, "5");
    assert!(
        by_object[1].0.starts_with("TASK Design review"),
        "{by_object:?}"
    );
    assert_eq!(by_object[1].1, "2");
    // The groups add up to the prompt's count.
    let deletes: u64 = table(&html, "deletes-by-editor")
        .iter()
        .map(|r| number(&r[1]))
        .sum();
    assert_eq!(deletes, 2);

    let utc = dir.path().join("utc.html");
    ok(bin()
        .args(["report", "--demo", "--tz", "UTC", "-o"])
        .arg(&utc));
    let html = without_marks(&fs::read_to_string(&utc).unwrap());
    assert!(strip_tags(&html).contains("times in UTC (--tz)"));
    assert_eq!(number(&text_by_id(&html, "count-off-hours")), 23);

    // Files keep UTC: their report says so, and how to read them in the tenant's zone.
    let csv = dir.path().join("demo.csv");
    ok(bin().args(["export", "--demo", "-o"]).arg(&csv));
    let from_files = dir.path().join("files.html");
    ok(bin().arg("report").arg(&csv).arg("-o").arg(&from_files));
    let html = without_marks(&fs::read_to_string(&from_files).unwrap());
    assert!(strip_tags(&html).contains("times in UTC (files keep UTC: --tz ZONE, e.g. the tenant"));
    assert_eq!(number(&text_by_id(&html, "count-off-hours")), 23);
}

/// `--table-rows` caps what "All changes" embeds: the page says where the table ends and
/// names the input files that hold the rest (the file the cut falls in and every later one),
/// while the counts still cover every change.
#[test]
fn a_table_cut_short_names_the_files_holding_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (early, late) = (dir.path().join("early.csv"), dir.path().join("late.csv"));
    ok(bin()
        .args(["export", "--demo", "--until", "2025-03-01", "-o"])
        .arg(&early));
    ok(bin()
        .args(["export", "--demo", "--since", "2025-03-01", "-o"])
        .arg(&late));
    let in_early = csv_rows(&fs::read_to_string(&early).unwrap()).len() as u64;
    let in_late = csv_rows(&fs::read_to_string(&late).unwrap()).len() as u64;
    assert!(in_early > 2 && in_late > 2, "{in_early} {in_late}");
    let total = in_early + in_late;
    let page = |limit: u64| {
        let out = dir.path().join(format!("cut{limit}.html"));
        ok(bin()
            .arg("report")
            .args([&early, &late])
            .args(["--table-rows", &limit.to_string(), "-o"])
            .arg(&out));
        without_marks(&fs::read_to_string(&out).unwrap())
    };
    let embedded = |html: &str| -> u64 {
        let data = &html[html.find("id=\"all-data\">").unwrap() + 14..];
        let data: Value = serde_json::from_str(&data[..data.find("</script>").unwrap()]).unwrap();
        data["n"].as_u64().unwrap()
    };

    let html = page(in_early + 1);
    assert_eq!(number(&text_by_id(&html, "row-count")), total);
    assert_eq!(embedded(&html), in_early + 1);
    assert_eq!(table(&html, "all-changes").len() as u64, in_early + 1);
    let said = |html: &str| {
        let at = &html[html.find("id=\"all-cut\">").unwrap() + 14..];
        strip_tags(&at[..at.find("</p>").unwrap()])
    };
    let cut = said(&html);
    assert!(
        cut.contains(&format!(
            "the first {} of the {total} changes",
            in_early + 1
        )),
        "{cut}"
    );
    assert!(
        cut.contains(&format!("The other {} are in late.csv.", in_late - 1)),
        "{cut}"
    );

    let html = page(in_early - 1);
    assert_eq!(embedded(&html), in_early - 1);
    let cut = said(&html);
    assert!(cut.contains("are in early.csv, late.csv."), "{cut}");

    let html = page(total);
    assert!(!html.contains("id=\"all-cut\""), "nothing cut");
    assert_eq!(embedded(&html), total);
    let refused = run(bin()
        .arg("report")
        .arg(&early)
        .args(["--table-rows", "0", "-o"])
        .arg(dir.path().join("zero.html")));
    assert_eq!(refused.status.code(), Some(2));
    assert!(!dir.path().join("zero.html").exists());
}

/// A directory with no manifest is no out-dir: a usage error (exit 2), and no page written.
#[test]
fn a_directory_without_a_series_is_refused_as_usage() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let page = dir.path().join("r.html");
    let o = report(&[empty.to_str().unwrap()], &page);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds no manifest"), "{}", stderr(&o));
    assert!(!page.exists());
    // A series whose only manifest was removed is altered evidence, not a usage slip: exit 5.
    let series = dir.path().join("series");
    ok(bin()
        .args(["sync", "--demo", "--since", "2025-01-01", "--out-dir"])
        .arg(&series));
    for e in fs::read_dir(&series).unwrap() {
        let path = e.unwrap().path();
        if path.to_string_lossy().ends_with(".manifest.json") {
            fs::remove_file(path).unwrap();
        }
    }
    let o = report(&[series.to_str().unwrap()], &page);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(!page.exists());
}

/// A chain break (an entry's old value is not the value the history left) is a prompt and a
/// row naming both values and both entries; the time in each status comes from the same
/// replay. By hand from fixtures/demo.json: task b2…02's status went NEW → INP on 2025-03-09,
/// then INP → ONH on 2025-11-02 at 01:30 -06:00; saying that second entry changed it from PLN
/// breaks the chain: the history left INP, set by the first.
#[test]
fn a_chain_break_is_listed_with_both_values_and_both_entries() {
    let mut records = demo_records();
    let status = |r: &RawRecord, date: &str| {
        r.get("fieldName").and_then(Value::as_str) == Some("status")
            && r.get("entryDate").and_then(Value::as_str) == Some(date)
    };
    let set_by = records
        .iter()
        .find(|r| status(r, "2025-03-09T01:59:59:999-0700"))
        .map(|r| r["ID"].as_str().unwrap().to_string())
        .unwrap();
    let broken = records
        .iter_mut()
        .find(|r| status(r, "2025-11-02T01:30:00:000-0600"))
        .unwrap();
    assert_eq!(broken["oldTextVal"], "INP");
    broken.insert("oldTextVal".into(), Value::String("PLN".into()));
    let breaking = broken["ID"].as_str().unwrap().to_string();
    let sim = sim(&records);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("b.html");
    ok(against(&sim, "report")
        .args([
            "--since",
            "2025-01-01",
            "--until",
            "2026-01-01",
            "--tz",
            "UTC",
            "-o",
        ])
        .arg(&page));
    let html = without_marks(&fs::read_to_string(&page).unwrap());
    assert_eq!(number(&text_by_id(&html, "count-chain-breaks")), 1);
    let rows = table(&html, "chain-breaks-table");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row[0], "2025-11-02 07:30:00.000 +00:00");
    assert!(row[1].starts_with("TASK Build, test & ship"), "{row:?}");
    assert_eq!(
        (row[2].as_str(), row[3].as_str(), row[4].as_str()),
        ("status", "INP", "PLN")
    );
    assert_eq!(row[5], format!("{set_by}{breaking}"));
    // Time in status: every status that was entered in the window is a row.
    let statuses: Vec<String> = table(&html, "status-time")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    for s in ["INP", "CPL", "ONH"] {
        assert!(statuses.iter().any(|v| v == s), "{s} in {statuses:?}");
    }
}

/// Raw Workfront records (or any JSON that is not change records) are refused by what reads
/// change records back, with the way forward, and nothing is written.
#[test]
fn raw_records_are_refused_with_the_way_to_make_change_records() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.ndjson");
    fs::write(
        &raw,
        ok(bin().args(["simulate", "--rows", "20", "--seed", "3", "--dump"])),
    )
    .unwrap();
    for command in ["report", "intervals"] {
        let out = dir.path().join(match command {
            "report" => "out.html",
            _ => "out.csv",
        });
        let o = run(bin().arg(command).arg(&raw).arg("-o").arg(&out));
        assert_eq!(o.status.code(), Some(2), "{command}: {}", stderr(&o));
        assert!(stderr(&o).contains("normalize first"), "{}", stderr(&o));
        assert!(!out.exists());
    }
}
