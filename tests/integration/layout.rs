//! The report as people see it (issue 28): in headless Chromium at a phone's width (390 px)
//! and a desktop's (1400 px), the page is never wider than the window and no word (a name, a
//! code, a number, a date) is broken inside; long ids and hashes break only where marked.

use std::fs;
use std::path::Path;

use jrnle_audit::simulator::generate::generate;
use serde_json::Value;

use crate::util::*;

/// The measuring script, put into a copy of the report whose CSP is taken out (the report's
/// own CSP lets nothing but its own script run).
const MEASURE: &str = include_str!("layout/measure.js");

/// What the measuring script found in `page` at `width` px: the page's overflow and the
/// broken words.
fn measure(browser: &str, page: &Path, width: u32) -> (i64, Vec<String>, String) {
    let found = run_in_page(browser, page, width, MEASURE);
    assert_eq!(
        found["width"], width,
        "the window is {width} px wide: {found}"
    );
    let broken = found["broken"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap().to_string())
        .collect();
    (
        found["over"].as_i64().unwrap(),
        broken,
        found["wide"].to_string(),
    )
}

/// Run `script` in a copy of `page` (its CSP taken out) in a frame `width` px wide; what the
/// script posts to the frame's parent (JSON text), parsed.
fn run_in_page(browser: &str, page: &Path, width: u32, script: &str) -> Value {
    let html = fs::read_to_string(page).unwrap();
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let end = start + html[start..].find('>').unwrap() + 1;
    let measured = format!(
        "{}{}",
        &html[..start],
        html[end..].replace("</body>", &format!("<script>{script}</script></body>"))
    );
    let copy = page.with_extension(format!("{width}.html"));
    fs::write(&copy, measured).unwrap();
    // The page in a frame of `width` px, which posts what it measured to this one.
    let frame = page.with_extension(format!("{width}.frame.html"));
    fs::write(
        &frame,
        format!(
            "<!DOCTYPE html><html><body style=\"margin:0\"><script>window.addEventListener(\
             \"message\", function (e) {{ var p = document.createElement(\"pre\"); \
             p.id = \"layout\"; p.textContent = e.data; document.body.appendChild(p); }});\
             </script><iframe src=\"{}\" width=\"{width}\" height=\"900\" \
             style=\"border:0\"></iframe></body></html>",
            copy.file_name().unwrap().to_string_lossy()
        ),
    )
    .unwrap();
    let window = format!("--window-size={},1000", width.max(500) + 100);
    let o = headless(
        browser,
        &frame,
        &[
            "--virtual-time-budget=5000",
            "--hide-scrollbars",
            &window,
            "--dump-dom",
        ],
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    let at = dom
        .rfind("<pre id=\"layout\">")
        .unwrap_or_else(|| panic!("not measured: {}", String::from_utf8_lossy(&o.stderr)));
    let text = &dom[at + "<pre id=\"layout\">".len()..];
    let text = &text[..text.find("</pre>").unwrap()];
    serde_json::from_str(&text.replace("&quot;", "\"").replace("&amp;", "&"))
        .unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn check(browser: &str, page: &Path) {
    for width in [390, 1400] {
        let (over, broken, wide) = measure(browser, page, width);
        assert!(
            over <= 0,
            "{}: at {width} px the page is {over} px wider than the window: {wide}",
            page.display()
        );
        assert!(
            broken.is_empty(),
            "{}: at {width} px these words break inside: {broken:?}",
            page.display()
        );
    }
}

#[test]
fn the_demo_report_fits_a_phone_and_a_desktop_without_breaking_words() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("demo.html");
    ok(bin().args(["report", "--demo", "-o"]).arg(&page));
    check(browser, &page);
}

/// A report of more changes than are rendered on the server (its table drawn by the script
/// from the embedded, gzipped data) fits too.
#[test]
fn a_large_report_fits_a_phone_and_a_desktop_without_breaking_words() {
    let Some(browser) = chromium() else { return };
    let sim = sim(&generate(3_000, 9));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("large.html");
    ok(against(&sim, "report")
        .args(["--since", "2000-01-01", "-o"])
        .arg(&page));
    assert!(
        fs::read_to_string(&page)
            .unwrap()
            .contains("id=\"all-data\"")
    );
    check(browser, &page);
}

#[test]
fn a_signed_out_dirs_report_fits_a_phone_and_a_desktop_without_breaking_words() {
    let Some(browser) = chromium() else { return };
    let keys = tempfile::tempdir().unwrap();
    let key = signing_key(keys.path(), "audit", 31);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for _ in 0..2 {
        ok(bin()
            .args(["sync", "--demo", "--since", "2025-01-01", "--out-dir"])
            .arg(&out)
            .arg("--signing-key")
            .arg(&key));
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let page = dir.path().join("out.html");
    ok(bin().arg("report").arg(&out).arg("-o").arg(&page));
    check(browser, &page);
}

/// Test-only: sorts the "All changes" table by clicking a heading, and posts the sort keys of
/// that column in the order shown.
const SORT: &str = r#"
(function () {
  var table = document.getElementById("all-changes");
  var out = {};
  [0, 6].forEach(function (col) {
    table.tHead.rows[0].cells[col].click();
    var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (r) {
      return r.className !== "pad";
    });
    out[col] = rows.map(function (r) {
      var cell = r.cells[col];
      return cell.getAttribute("data-v") || cell.textContent.trim();
    });
  });
  window.parent.postMessage(JSON.stringify(out), "*");
})();
"#;

/// Sorting "All changes" by a column sorts instants as instants and numbers as numbers (not
/// as text: -42, 0.1, 1000000000000000, 12, 8).
#[test]
fn all_changes_sort_numbers_as_numbers_and_times_as_instants() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("demo.html");
    ok(bin().args(["report", "--demo", "-o"]).arg(&page));
    let sorted = run_in_page(browser, &page, 1400, SORT);
    let column = |col: &str| -> Vec<String> {
        sorted[col]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let when: Vec<i64> = column("0").iter().map(|v| v.parse().unwrap()).collect();
    assert!(
        when.len() > 20 && when.windows(2).all(|w| w[0] <= w[1]),
        "{when:?}"
    );
    let new: Vec<f64> = column("6")
        .iter()
        .map_while(|v| v.parse::<f64>().ok())
        .collect();
    assert!(new.len() >= 4, "the numbers sort first: {:?}", column("6"));
    assert!(new.windows(2).all(|w| w[0] <= w[1]), "{new:?}");
    assert!(
        column("6")[new.len()..]
            .iter()
            .all(|v| v.parse::<f64>().is_err()),
        "then the text: {:?}",
        column("6")
    );
}

/// Printed, the demo report is a handful of pages (under 12): sections run on, and the full
/// change table is left to the data files, which the page says on paper.
#[test]
fn the_demo_report_prints_in_a_handful_of_pages() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("demo.html");
    ok(bin().args(["report", "--demo", "-o"]).arg(&page));
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("id=\"all-on-paper\""));
    let pdf = dir.path().join("demo.pdf");
    let print = format!("--print-to-pdf={}", pdf.display());
    let o = headless(browser, &page, &["--no-pdf-header-footer", &print]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = fs::read(&pdf).unwrap();
    // Each page is one `/Type /Page` object (the page tree is `/Type /Pages`).
    let pages = ["/Type /Page", "/Type/Page"]
        .iter()
        .map(|needle| {
            bytes
                .windows(needle.len() + 1)
                .filter(|w| w.starts_with(needle.as_bytes()) && w[needle.len()] != b's')
                .count()
        })
        .sum::<usize>();
    assert!((1..12).contains(&pages), "{pages} pages printed");
    eprintln!("the demo report prints on {pages} pages");
}

/// Test-only: in "All changes", reads the count, scrolls to the end, filters by the text in
/// `window.wanted` (typed, so through the debounce), then sorts by "When" both ways; posts
/// what each step showed and how many table rows the page held after each.
const REACH: &str = r#"
(function () {
  var table = document.getElementById("all-changes");
  var box = document.getElementById("all-box");
  var input = document.getElementById("all-filter");
  var out = { trs: [] };
  var count = function () { return document.getElementById("all-shown").textContent; };
  var data = function (col) {
    out.trs.push(table.getElementsByTagName("tr").length);
    return Array.prototype.filter.call(table.tBodies[0].rows, function (r) {
      return r.className !== "pad";
    }).map(function (r) {
      var cell = r.cells[col];
      return cell.getAttribute("data-v") || cell.textContent;
    });
  };
  // A large table comes gzipped: the script shows it once unpacked.
  if (document.documentElement.getAttribute("data-script") !== "ran") {
    table.addEventListener("all-ready", function () { go(); });
  } else {
    go();
  }
  // Each step waits for what it caused (the scroller draws on the next frame, the filter
  // after its debounce), polling, never for a fixed time: a loaded machine only waits longer.
  function until(ok, then) {
    var t0 = Date.now();
    (function poll() {
      if (ok() || Date.now() - t0 > 20000) { then(); } else { setTimeout(poll, 20); }
    })();
  }
  var has = function (id) {
    return Array.prototype.some.call(table.tBodies[0].rows, function (r) {
      return r.cells[8] && r.cells[8].textContent === id;
    });
  };
  function go() {
  out.count = count();
  out.encoding = document.getElementById("all-data").getAttribute("data-encoding");
  out.first = data(8);
  box.scrollTop = box.scrollHeight;
  box.dispatchEvent(new Event("scroll"));
  until(function () { return has(window.wanted); }, function () {
    out.last = data(8);
    input.value = window.wanted;
    input.dispatchEvent(new Event("input"));
    until(function () { return count() === "1"; }, function () {
      out.filtered = count();
      out.found = data(8);
      input.value = "";
      input.dispatchEvent(new Event("input"));
      until(function () { return count() === out.count; }, function () {
        // The filter under "Object type" alone.
        var typeFilter = table.tHead.rows[1].cells[1].firstChild;
        typeFilter.value = "PROJ";
        typeFilter.dispatchEvent(new Event("input"));
        until(function () { return count() !== out.count; }, function () {
          out.projects = count();
          out.types = data(1).filter(function (t) { return t !== "PROJ"; });
          typeFilter.value = "";
          typeFilter.dispatchEvent(new Event("input"));
          until(function () { return count() === out.count; }, function () {
            var when = table.tHead.rows[0].cells[0];
            when.click();
            out.ascending = data(0);
            when.click();
            out.descending = data(0);
            out.unfiltered = count();
            window.parent.postMessage(JSON.stringify(out), "*");
          });
        });
      });
    });
  });
  }
})();
"#;

/// "All changes" holds every row of a 30,000-change report (it held the first 20,000), packed
/// (gzip in base64) and unpacked by the page: the count says so, the last rows are reachable by scrolling, a filter by the last entry's id
/// finds exactly it, "When" sorts by instant both ways, and the page never holds more than a
/// few hundred table rows.
#[test]
fn all_changes_reaches_every_row_of_a_large_report_with_few_rows_in_the_page() {
    let Some(browser) = chromium() else { return };
    let sim = sim(&generate(30_000, 7));
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    ok(against(&sim, "export").arg("-o").arg(&csv));
    let ids = csv_ids(&fs::read_to_string(&csv).unwrap());
    assert_eq!(ids.len(), 30_000);
    let wanted = ids.last().unwrap().clone();
    assert_eq!(ids.iter().filter(|i| i.contains(&wanted)).count(), 1);
    let projects = csv_rows(&fs::read_to_string(&csv).unwrap())
        .iter()
        .filter(|r| r["obj_code"] == "PROJ")
        .count();
    assert!((1..30_000).contains(&projects), "{projects}");
    let page = dir.path().join("big.html");
    ok(bin().arg("report").arg(&csv).arg("-o").arg(&page));
    // Without script the page says where the rows are.
    let html = fs::read_to_string(&page).unwrap();
    let note = &html[html.find("id=\"all-noscript\"").unwrap()..];
    let note = &note[..note.find("</noscript>").unwrap()];
    assert!(
        note.contains("30,000 rows") && note.contains("#evidence"),
        "{note}"
    );
    let script = format!("window.wanted = {};{REACH}", serde_json::json!(wanted));
    let seen = run_in_page(browser, &page, 1400, &script);
    let list = |key: &str| -> Vec<String> {
        let v = seen[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {seen}"));
        v.iter().map(|v| v.as_str().unwrap().to_string()).collect()
    };
    assert_eq!(seen["count"], "30,000", "{seen}");
    assert_eq!(seen["encoding"], "gzip+base64", "a large table is packed");
    assert_eq!(list("first")[0], ids[0]);
    assert_eq!(list("last").last(), Some(&wanted), "the end is reachable");
    assert_eq!(seen["filtered"], "1");
    assert_eq!(list("found"), [wanted]);
    assert_eq!(seen["unfiltered"], "30,000");
    assert_eq!(
        seen["projects"],
        format_count(projects),
        "rows of type PROJ"
    );
    assert_eq!(seen["types"], serde_json::json!([]), "only PROJ rows shown");
    let instants =
        |key: &str| -> Vec<i64> { list(key).iter().map(|v| v.parse().unwrap()).collect() };
    let (up, down) = (instants("ascending"), instants("descending"));
    assert!(
        up.len() > 20 && up.windows(2).all(|w| w[0] <= w[1]),
        "{up:?}"
    );
    assert!(down.windows(2).all(|w| w[0] >= w[1]), "{down:?}");
    assert!(down[0] >= *up.last().unwrap() && up[0] < down[0]);
    let trs: Vec<u64> = seen["trs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert!(
        trs.len() == 6 && trs.iter().all(|n| (3..=300).contains(n)),
        "{trs:?}"
    );
}
