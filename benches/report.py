#!/usr/bin/env python3
"""The audit report at scale (issue 28, item 2). Run by hand: `python3 benches/report.py`.

For each size (120,000 changes; with `--million` also 1,000,000): writes that many generated
records (`simulate --dump --rows N`), normalizes them to CSV, makes the report of the CSV
(timed), and opens the report in headless Chromium. A test-only script put into a copy of the
page (its CSP taken out, as tests/integration/layout.rs does) measures, in the page:

- load event: `performance.timing.loadEventStart - navigationStart`;
- rows drawn: `performance.now()` (from navigation start) when the page's script has read
  the embedded data and drawn the first rows (for a table gzipped in base64 this is after
  the load event: it is unpacked asynchronously);
- sort: `performance.now()` around the scroller's sort (the same steps a heading's click
  runs) by "When", by "Field" and by "Entry ID", each the first sort by that column;
- filter: `performance.now()` around one filter step over all columns (what a keystroke
  runs once the 150 ms debounce has passed), a first keystroke and a second, once the
  page's script has lower-cased the columns (which it does in slices while the page is idle
  after load, before a reader types; done here at once and timed as "idle work");
- the `<tr>` elements in the page and the rows the count shows;

and posts them to a server this script runs on 127.0.0.1 (`--dump-dom` would not wait for a
gzipped table to be unpacked, and `--virtual-time-budget` stops the clock while script runs). Each size is opened `--runs`
times (default 3) and the median shown. Prints a Markdown table. Standard library only.
Timings come from this machine and vary with its load.
"""
import argparse
import http.server
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MEASURE = """
<script>
window.addEventListener("load", function () {
  var t = performance.timing, table = document.getElementById("all-changes");
  var api = table.allChanges, out = {};
  out.load_ms = t.loadEventStart - t.navigationStart;
  // A large table is unpacked after the load event: timed to when the rows are drawn.
  if (document.documentElement.getAttribute("data-script") === "ran") {
    measure(table, out);
  } else {
    table.addEventListener("all-ready", function () { measure(table, out); });
  }
});
function measure(table, out) {
  var api = table.allChanges;
  out.ready_ms = performance.now();
  out.shown = document.getElementById("all-shown").textContent;
  var time = function (f) { var a = performance.now(); f(); return performance.now() - a; };
  // A reader types after the page has been idle, when the script has lower-cased the
  // columns (in slices, after load): that work, done here at once and timed.
  out.idle_ms = time(function () { api.ready(); });
  out.sort_when_ms = time(function () { api.sort(0, true); });
  out.sort_field_ms = time(function () { api.sort(3, true); });
  out.sort_id_ms = time(function () { api.sort(8, false); });
  out.filter_first_ms = time(function () { api.filter("5e"); });
  out.filter_next_ms = time(function () { api.filter("5e1"); });
  out.filter_matches = api.shown();
  api.filter("");
  out.trs = table.getElementsByTagName("tr").length;
  fetch(window.REPORT_TO, { method: "POST", mode: "no-cors", body: JSON.stringify(out) });
}
</script>
"""


def binary():
    for profile in ("release", "debug"):
        path = os.path.join(ROOT, "target", profile, "jrnle-audit")
        if os.path.exists(path):
            return path
    sys.exit("build first: cargo build --release")


def build_report(bin_, rows, tmp):
    raw = os.path.join(tmp, f"raw-{rows}.ndjson")
    csv = os.path.join(tmp, f"changes-{rows}.csv")
    page = os.path.join(tmp, f"report-{rows}.html")
    with open(raw, "wb") as f:
        subprocess.run([bin_, "simulate", "--rows", str(rows), "--seed", "1", "--dump"],
                       stdout=f, check=True)
    subprocess.run([bin_, "normalize", raw, "-o", csv, "-q"], check=True)
    os.remove(raw)
    start = time.monotonic()
    subprocess.run([bin_, "report", csv, "-o", page, "-q"], check=True)
    return page, time.monotonic() - start


class Results(http.server.BaseHTTPRequestHandler):
    """Receives what the test-only script measured (a POST from the page)."""

    found = queue.Queue()

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()
        Results.found.put(json.loads(body))

    def log_message(self, *args):
        pass


def measure(browser, page, tmp, server):
    html = open(page, encoding="utf-8").read()
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html, count=1)
    copy = page + ".measured.html"
    report_to = f"http://127.0.0.1:{server.server_address[1]}/result"
    script = f"<script>window.REPORT_TO = {json.dumps(report_to)};</script>" + MEASURE
    with open(copy, "w", encoding="utf-8") as f:
        f.write(html.replace("</body>", script + "</body>"))
    with tempfile.TemporaryDirectory(dir=tmp) as profile:
        proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={profile}", "--window-size=1400,1000", "file://" + copy],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return Results.found.get(timeout=300)
        except queue.Empty:
            sys.exit(f"not measured: {page}")
        finally:
            proc.terminate()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--million", action="store_true", help="also 1,000,000 changes")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--browser", default="chromium")
    args = ap.parse_args()
    bin_ = binary()
    sizes = [120_000] + ([1_000_000] if args.million else [])
    keys = ["load_ms", "ready_ms", "idle_ms", "sort_when_ms", "sort_field_ms", "sort_id_ms", "filter_first_ms",
            "filter_next_ms"]
    print("| changes | file | report made in | load event | rows drawn | idle work | sort When | sort Field | sort Entry ID "
          "| filter, 1st key | filter, 2nd key | rows counted | `<tr>` in page |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Results)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            page, made = build_report(bin_, rows, tmp)
            runs = [measure(args.browser, page, tmp, server) for _ in range(args.runs)]
            med = {k: statistics.median(r[k] for r in runs) for k in keys}
            size = os.path.getsize(page) / 1e6
            cells = [f"{rows:,}", f"{size:.1f} MB", f"{made:.1f} s"]
            cells += [f"{med[k]:.0f} ms" for k in keys]
            cells += [runs[0]["shown"], str(runs[0]["trs"])]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
