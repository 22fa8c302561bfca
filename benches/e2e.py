#!/usr/bin/env python3
"""End-to-end benchmark of jrnle-audit (issues 5 and 14). Reproducible: `python3 benches/e2e.py`.

1. Export against the built-in simulator under the cost model of issue 14: every answer costs
   `--latency-ms 50`, and a search answer 25 us more per row it returns (`--row-cost-us 25`),
   answers served in parallel. For 100,000 and 1,000,000 entries, in three shapes (uniform;
   a daily rhythm of weekday working hours with quiet nights and weekends; four busy days a
   month apart with long empty stretches between), at --max-concurrency 4 and 10, it prints the
   requests the export sent (pages, counts, one-row probes, from the simulator's `-v` log),
   requests / minimum (the minimum is every page once and one count: ceil(N/2000) + 1), the wall
   time, wall / bound (the bound is `(ceil(N/2000) x (latency + 2000 x row cost) + latency) / c`),
   the floor (the same requests replayed by the plainest client, answers read and thrown
   away: what this machine allows, see `floor`), wall / floor, peak memory, and whether the
   exports at 4 and 10 are byte-identical.
2. With `--normalize`: writes 1,000,000 raw records as JSON Lines (`simulate --dump`), times
   `normalize` to CSV and NDJSON with peak memory, and serde_json alone parsing the same file
   (`examples/parse_baseline.rs`).

`--quick` runs the 100,000-entry scenarios only. Prints Markdown tables. Timings come from this
machine and vary with its load; the numbers in BENCHMARKS.md were made with this script.
"""
import filecmp
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "jrnle-audit")
BASELINE = os.path.join(ROOT, "target", "release", "examples", "parse_baseline")
KEY = "bench-key"
TIME = "/usr/bin/time"
LATENCY_MS = 50
ROW_COST_US = 25
PAGE = 2000


def build():
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit",
                    "--example", "parse_baseline"], cwd=ROOT, check=True)


def timed(cmd, env=None):
    """Run cmd; return (seconds, peak RSS in MiB or None, stdout)."""
    if os.path.exists(TIME):
        cmd = [TIME, "-f", "__RSS_KB__ %M"] + cmd
    start = time.monotonic()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    secs = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    m = re.search(r"__RSS_KB__ (\d+)", p.stderr)
    return secs, (int(m.group(1)) / 1024 if m else None), p.stdout


def classify(log_lines):
    """Pages, counts and one-row probes among the simulator's `-v` request lines."""
    pages = counts = probes = 0
    for line in log_lines:
        m = re.match(r"(GET|POST) (\S+)", line)
        if not m:
            continue
        path, _, query = m.group(2).partition("?")
        if path.endswith("/count"):
            counts += 1
        elif path.endswith("/search"):
            params = dict(urllib.parse.parse_qsl(query))
            if params.get("$$LIMIT") == "1":
                probes += 1
            else:
                pages += 1
    return pages, counts, probes


def floor(url, log_lines, conc):
    """The same requests as the export sent (from the simulator's log), replayed by the
    plainest client: the counts and probes first, then the pages, `conc` at a time, each
    answer read and thrown away. What any client can do against this simulator on this
    machine, which the bound does not see: the simulator renders its answers on the same two
    cores. Returns the seconds it took."""
    first, pages = [], []
    for line in log_lines:
        m = re.match(r"(GET|POST) (\S+)", line)
        if m:
            target = m.group(2)
            params = dict(urllib.parse.parse_qsl(target.partition("?")[2]))
            is_page = "/search" in target and params.get("$$LIMIT") != "1"
            (pages if is_page else first).append(url + target)

    def get(u):
        with urllib.request.urlopen(urllib.request.Request(u, headers={"apiKey": KEY})) as r:
            return len(r.read())

    start = time.monotonic()
    with ThreadPoolExecutor(conc) as ex:
        list(ex.map(get, first))
        list(ex.map(get, pages))
    return time.monotonic() - start


class Simulator:
    """`simulate -v` in the background, its request log in a file."""

    def __init__(self, rows, shape, tmp, extra=()):
        self.log_path = os.path.join(tmp, f"sim-{rows}-{shape}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [BIN, "simulate", "--rows", str(rows), "--shape", shape, "--seed", "1",
             "--latency-ms", str(LATENCY_MS), "--row-cost-us", str(ROW_COST_US),
             "--api-key", KEY, "-v", *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = self.proc.stdout.readline().strip().removeprefix("listening on ")

    def lines(self):
        with open(self.log_path) as f:
            return f.read().splitlines()

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def exports(rows, shapes, tmp):
    table = []
    for shape in shapes:
        sim = Simulator(rows, shape, tmp)
        try:
            env = dict(os.environ, WORKFRONT_URL=sim.url, WORKFRONT_API_KEY=KEY)
            outs = {}
            for conc in (4, 10):
                before = len(sim.lines())
                out = os.path.join(tmp, f"export-{rows}-{shape}-{conc}.csv")
                secs, rss, _ = timed([BIN, "export", "--since", "2025-01-01", "--until",
                                      "2026-06-01", "--max-concurrency", str(conc), "-o", out],
                                     env)
                lines = sim.lines()[before:]
                pages, counts, probes = classify(lines)
                least = floor(sim.url, lines, conc)
                minimum = math.ceil(rows / PAGE) + 1
                page_cost = LATENCY_MS / 1000 + PAGE * ROW_COST_US / 1e6
                bound = (math.ceil(rows / PAGE) * page_cost + LATENCY_MS / 1000) / conc
                total = pages + counts + probes
                outs[conc] = out
                table.append((f"{rows:,}", shape, str(conc),
                              f"{total} ({pages} / {counts} / {probes})",
                              f"{total / minimum:.3f}", f"{secs:.2f} s", f"{bound:.2f} s",
                              f"{secs / bound:.2f}", f"{least:.2f} s", f"{secs / least:.2f}",
                              fmt_rss(rss)))
            same = filecmp.cmp(outs[4], outs[10], shallow=False)
            table.append((f"{rows:,}", shape, "4 vs 10", "", "", "", "", "", "", "",
                          "byte-identical" if same else "DIFFERENT"))
            for out in outs.values():
                os.remove(out)
        finally:
            sim.stop()
    print("| entries | shape | --max-concurrency | requests (pages / counts / probes) | "
          "requests / minimum | wall | bound | wall / bound | floor | wall / floor | "
          "peak memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")
    print()


def normalize(tmp):
    rows = []
    raw = os.path.join(tmp, "raw.ndjson")
    with open(raw, "wb") as f:
        subprocess.run([BIN, "simulate", "--rows", "1000000", "--seed", "1", "--dump"],
                       stdout=f, check=True)
    size = os.path.getsize(raw) / 2**20
    _, _, out = timed([BASELINE, raw])
    base_secs = float(re.search(r"in ([0-9.]+) s", out).group(1))
    rows.append((f"serde_json alone: parse 1M records ({size:.0f} MiB) into Value",
                 f"{base_secs:.2f} s", f"{1e6 / base_secs / 1e3:.0f} k rec/s", ""))
    for fmt in ("csv", "ndjson"):
        out = os.path.join(tmp, f"out.{fmt}")
        secs, rss, _ = timed([BIN, "normalize", raw, "-o", out])
        rows.append((f"normalize 1M records to {fmt}", f"{secs:.2f} s",
                     f"{1e6 / secs / 1e3:.0f} k rec/s ({secs / base_secs:.2f}x serde_json)",
                     fmt_rss(rss)))
    print("| what | time | rate | peak memory |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def fmt_rss(rss):
    return f"{rss:.1f} MiB" if rss is not None else "n/a"


def main():
    build()
    shapes = ("uniform", "daily", "gaps")
    with tempfile.TemporaryDirectory() as tmp:
        exports(100_000, shapes, tmp)
        if "--quick" not in sys.argv:
            exports(1_000_000, shapes, tmp)
        if "--normalize" in sys.argv:
            normalize(tmp)


if __name__ == "__main__":
    main()
