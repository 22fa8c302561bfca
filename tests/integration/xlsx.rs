//! `--format xlsx`: typed cells compared with the NDJSON export of the same data, the About
//! sheet, Excel's limits (a value over 32,767 characters, more rows than a sheet holds), sync
//! into workbooks, LibreOffice reading the file as values, never formulas, the page setup
//! (read from the workbook's XML, and printed to PDF through LibreOffice), and `--tz` across
//! the repeated autumn hour.

use std::io::Read;
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
    let utc_column = zone.map(|_| "entry_date (UTC)".to_string());
    assert_eq!(
        header.last().filter(|_| zone.is_some()),
        utc_column.as_ref()
    );
    assert_eq!(data.len() - 1, rows_json.len());
    for (cells, json) in data[1..].iter().zip(rows_json) {
        for (name, cell) in header.iter().zip(cells) {
            // With a zone, the last column is the instant in UTC, for sorting.
            let cell_zone = match name.as_str() {
                "entry_date (UTC)" => None,
                _ => zone,
            };
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
                    same_instant(cell, s, cell_zone)
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
        let about = rows(&path, "About");
        let get = |k: &str| {
            about
                .iter()
                .find(|r| r[0] == Data::String(k.into()))
                .map(|r| r[1].clone())
                .unwrap_or_else(|| panic!("no {k} in {about:?}"))
        };
        assert_eq!(get("Tenant"), Data::String(sim.url.clone()));
        // Counts are number cells, instants date-time cells (in the data's zone).
        assert_eq!(get("Rows"), Data::Float(json_rows.len() as f64));
        assert_eq!(get("Values cut"), Data::Float(0.0));
        same_instant(&get("Window start"), "2000-01-01T00:00:00.000Z", zone);
        assert!(
            get("Extracted").as_datetime().is_some(),
            "{:?}",
            get("Extracted")
        );
        assert!(
            get("Window")
                .to_string()
                .starts_with("[2000-01-01T00:00:00.000Z")
        );
        assert!(get("Query").to_string().contains("no filter"));
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
    // Each data sheet prints the same way, its own header row repeated.
    for (sheet, name) in [(1, "Changes"), (2, "Changes 2")] {
        assert_prints_one_page_wide(&path, sheet);
        assert_repeats_header(&path, sheet - 1, name);
    }
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

/// A file of the workbook (an xlsx is a zip of XML files), as text.
fn part(path: &Path, name: &str) -> String {
    let file = std::fs::File::open(path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// The element `<name ...>` (or `<name .../>`) of `xml`, up to its closing bracket.
fn element<'x>(xml: &'x str, name: &str) -> &'x str {
    let at = xml
        .find(&format!("<{name} "))
        .or_else(|| xml.find(&format!("<{name}>")))
        .unwrap_or_else(|| panic!("no <{name}> in {}", &xml[..xml.len().min(2000)]));
    &xml[at..at + xml[at..].find('>').unwrap() + 1]
}

/// The value of attribute `name` in `tag`, if it has one.
fn attr<'x>(tag: &'x str, name: &str) -> Option<&'x str> {
    let key = format!(" {name}=\"");
    let at = tag.find(&key)? + key.len();
    Some(&tag[at..at + tag[at..].find('"')?])
}

/// Sheet `n` (from 1) prints landscape, fit to one page wide and any number tall, with the
/// sheet's name and "Page n of m" in the footer.
fn assert_prints_one_page_wide(path: &Path, n: usize) {
    let xml = part(path, &format!("xl/worksheets/sheet{n}.xml"));
    assert_eq!(attr(element(&xml, "pageSetUpPr"), "fitToPage"), Some("1"));
    let setup = element(&xml, "pageSetup");
    assert_eq!(attr(setup, "orientation"), Some("landscape"), "{setup}");
    // fitToWidth's default is 1; 0 tall means as many pages as it takes.
    assert!(
        matches!(attr(setup, "fitToWidth"), None | Some("1")),
        "{setup}"
    );
    assert_eq!(attr(setup, "fitToHeight"), Some("0"), "{setup}");
    assert_eq!(attr(element(&xml, "printOptions"), "gridLines"), Some("1"));
    let footer = &xml[xml.find("<oddFooter>").expect("a footer")..];
    assert!(
        footer.starts_with("<oddFooter>&amp;L&amp;A&amp;RPage &amp;P of &amp;N</oddFooter>"),
        "{}",
        &footer[..80]
    );
}

/// The workbook repeats the first row of sheet `index` (from 0), named `name`, on every page.
fn assert_repeats_header(path: &Path, index: usize, name: &str) {
    let workbook = part(path, "xl/workbook.xml");
    let want = format!(
        "<definedName name=\"_xlnm.Print_Titles\" localSheetId=\"{index}\">'{name}'!$1:$1</definedName>"
    );
    let plain = want.replace(&format!("'{name}'"), name);
    assert!(
        workbook.contains(&want) || workbook.contains(&plain),
        "{plain} in {workbook}"
    );
}

/// The number format of cell `cell` (e.g. "B2") of sheet 1, as its style gives it.
fn cell_format(path: &Path, cell: &str) -> String {
    let sheet = part(path, "xl/worksheets/sheet1.xml");
    let tag = element(
        &sheet[sheet.find(&format!("<c r=\"{cell}\"")).unwrap()..],
        "c",
    );
    let style: usize = attr(tag, "s").unwrap_or("0").parse().unwrap();
    let styles = part(path, "xl/styles.xml");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf = xfs.split("<xf ").nth(style + 1).unwrap();
    let id = attr(&format!(" {xf}"), "numFmtId").unwrap().to_string();
    let at = styles
        .find(&format!("<numFmt numFmtId=\"{id}\""))
        .unwrap_or_else(|| panic!("number format {id} is not custom"));
    attr(element(&styles[at..], "numFmt"), "formatCode")
        .unwrap()
        .replace("&quot;", "\"")
}

#[test]
fn xlsx_sheets_print_landscape_one_page_wide_with_the_header_on_every_page() {
    let sim = sim(&generate(300, 3));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("print.xlsx");
    ok(against(&sim, "export")
        .args(["--since", "2000-01-01", "-o"])
        .arg(&path));
    assert_eq!(sheets(&path).sheet_names(), ["Changes", "About"]);
    assert_prints_one_page_wide(&path, 1);
    assert_repeats_header(&path, 0, "Changes");
    // The About sheet: on one page, labels and values together.
    let about = part(&path, "xl/worksheets/sheet2.xml");
    assert_eq!(attr(element(&about, "pageSetUpPr"), "fitToPage"), Some("1"));
    let setup = element(&about, "pageSetup");
    assert!(
        matches!(attr(setup, "fitToHeight"), None | Some("1")),
        "{setup}"
    );
    assert!(
        matches!(attr(setup, "fitToWidth"), None | Some("1")),
        "{setup}"
    );
}

/// Four entries in the hour Denver lives twice (2025-11-02, 01:00 to 02:00 MDT, then again in
/// MST), in instant order: 01:20 MDT, 01:50 MDT, 01:10 MST, 01:30 MST.
fn repeated_hour_records() -> Vec<RawRecord> {
    let dates = [
        "2025-11-02T01:20:00:000-0600",
        "2025-11-02T01:50:00:000-0600",
        "2025-11-02T01:10:00:000-0700",
        "2025-11-02T01:30:00:000-0700",
    ];
    let mut records = demo_records();
    records.truncate(dates.len());
    for (r, date) in records.iter_mut().zip(dates) {
        r.insert("entryDate".into(), Value::String(date.into()));
    }
    records
}

#[test]
fn xlsx_with_tz_tells_the_repeated_autumn_hour_apart_and_sorts_it_by_instant() {
    let sim = sim(&repeated_hour_records());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tz.xlsx");
    ok(against(&sim, "export")
        .args(["--since", "2000-01-01", "--tz", "America/Denver", "-o"])
        .arg(&path));
    let data = rows(&path, "Changes");
    let header: Vec<String> = data[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(header[1], "entry_date (America/Denver)");
    assert_eq!(header.last().unwrap(), "entry_date (UTC)");
    let utc_col = header.len() - 1;
    let wall: Vec<NaiveDateTime> = data[1..]
        .iter()
        .map(|r| r[1].as_datetime().unwrap())
        .collect();
    let utc: Vec<NaiveDateTime> = data[1..]
        .iter()
        .map(|r| r[utc_col].as_datetime().unwrap())
        .collect();
    let at = |t: &str| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M").unwrap();
    assert_eq!(
        wall,
        [
            "2025-11-02 01:20",
            "2025-11-02 01:50",
            "2025-11-02 01:10",
            "2025-11-02 01:30"
        ]
        .map(at)
    );
    assert_eq!(
        utc,
        [
            "2025-11-02 07:20",
            "2025-11-02 07:50",
            "2025-11-02 08:10",
            "2025-11-02 08:30"
        ]
        .map(at)
    );
    // Sorting by the wall-clock column interleaves the two hours; by the UTC column it keeps
    // the order the entries were made in.
    let mut by_wall: Vec<usize> = (0..4).collect();
    by_wall.sort_by_key(|&i| wall[i]);
    assert_eq!(by_wall, [2, 0, 3, 1]);
    let mut by_utc: Vec<usize> = (0..4).collect();
    by_utc.sort_by_key(|&i| utc[i]);
    assert_eq!(by_utc, [0, 1, 2, 3]);
    // Each zoned cell shows its offset: the two 01:xx hours read apart.
    let formats: Vec<String> = (2..=5)
        .map(|r| cell_format(&path, &format!("B{r}")))
        .collect();
    assert_eq!(
        formats,
        [
            "yyyy-mm-dd hh:mm:ss.000 \"-06:00\"",
            "yyyy-mm-dd hh:mm:ss.000 \"-06:00\"",
            "yyyy-mm-dd hh:mm:ss.000 \"-07:00\"",
            "yyyy-mm-dd hh:mm:ss.000 \"-07:00\"",
        ]
    );
}

/// The text of each page of `pdf` (pdftotext ends every page with a form feed).
fn pdf_pages(pdftotext: &str, pdf: &Path) -> Vec<String> {
    let o = Command::new(pdftotext)
        .args(["-layout"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_string).collect();
    // The text after the last form feed is no page.
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Convert `book` to PDF with LibreOffice, next to it.
fn to_pdf(office: &str, book: &Path) -> std::path::PathBuf {
    let dir = book.parent().unwrap();
    let o = Command::new(office)
        .args(["--headless", "--norestore"])
        .arg(format!(
            "-env:UserInstallation=file://{}",
            dir.join("profile").display()
        ))
        .args(["--convert-to", "pdf", "--outdir"])
        .arg(dir)
        .arg(book)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    book.with_extension("pdf")
}

#[test]
fn libreoffice_prints_an_export_in_few_pages_with_the_header_on_each() {
    let Some(office) = tool(&["soffice", "libreoffice"], &["--version"]) else {
        return;
    };
    let Some(pdftotext) = tool(&["pdftotext"], &["-v"]) else {
        return;
    };
    // The size the issue printed: 4,364 rows took 821 A4 pages before.
    let sim = sim(&generate(4_364, 5));
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("print.xlsx");
    ok(against(&sim, "export")
        .args(["--since", "2000-01-01", "--tz", "America/Denver", "-o"])
        .arg(&book));
    let pages = pdf_pages(pdftotext, &to_pdf(office, &book));
    let (about, changes) = pages.split_last().unwrap();
    assert!(
        (5..=60).contains(&pages.len()),
        "{} pages for 4,364 rows",
        pages.len()
    );
    for (i, page) in changes.iter().enumerate() {
        let first = page.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        for column in ["id", "entry_date (America/Denver)", "obj_code", "new_value"] {
            assert!(first.contains(column), "page {}: {first}", i + 1);
        }
        assert!(
            page.contains(&format!("Page {} of", i + 1)),
            "page {}",
            i + 1
        );
    }
    // The About sheet on one page, labels beside their values.
    let rows_line = about
        .lines()
        .find(|l| l.trim_start().starts_with("Rows"))
        .unwrap();
    assert!(rows_line.contains("4364"), "{rows_line}");
    assert!(
        about.contains("Values cut") && about.contains("Tool"),
        "{about}"
    );
}
