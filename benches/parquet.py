#!/usr/bin/env python3
"""Parquet against CSV (issue 30, item 5). Reproducible: `python3 benches/parquet.py [ROWS]`.

Writes ROWS raw records (default 1,000,000; `simulate --rows ROWS --seed 1 --dump`), then runs
`normalize` of them to CSV and to Parquet three times each, in turn, as whole processes under
`/usr/bin/time -v`: the writing path `export` and `sync` share, without the network. Prints the
median wall time, the median peak memory (maximum resident set) and the file sizes as a
Markdown table. Timings come from this machine and vary with its load.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "jrnle-audit")
RUNS = 3


def timed(cmd):
    """(wall seconds, peak RSS MiB) of one run of cmd."""
    out = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, check=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (.+)", out.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    return seconds, rss / 1024


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.ndjson")
        with open(raw, "w") as f:
            subprocess.run([BIN, "simulate", "--rows", str(rows), "--seed", "1", "--dump"],
                           stdout=f, check=True)
        results = {"csv": [], "parquet": []}
        for _ in range(RUNS):
            for fmt in results:
                out = os.path.join(tmp, f"out.{fmt}")
                if os.path.exists(out):
                    os.remove(out)
                results[fmt].append(timed([BIN, "normalize", raw, "-q", "-o", out]))
        print(f"| `normalize` of {rows:,} records to | wall (median of {RUNS}) | peak memory | file |")
        print("|---|---|---|---|")
        for fmt, runs in results.items():
            size = os.path.getsize(os.path.join(tmp, f"out.{fmt}")) / 2**20
            wall = statistics.median(r[0] for r in runs)
            rss = statistics.median(r[1] for r in runs)
            print(f"| {fmt} | {wall:.2f} s | {rss:.1f} MiB | {size:.1f} MiB |")


if __name__ == "__main__":
    main()
