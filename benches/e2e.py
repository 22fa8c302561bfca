#!/usr/bin/env python3
"""End-to-end benchmark of jrnle-audit (issue 5). Reproducible: `python3 benches/e2e.py`.

1. Starts the built-in simulator with 100,000 entries and 50 ms added latency, and times
   `export` with --max-concurrency 1 (sequential), the default (4) and 10; checks the outputs
   are byte-identical.
2. Writes 1,000,000 raw records as JSON Lines (`simulate --dump`), times `normalize` to CSV and
   to NDJSON with peak memory, and times serde_json alone parsing the same file
   (`examples/parse_baseline.rs`).

Prints a Markdown table. Timings come from this machine and vary with its load; the numbers in
BENCHMARKS.md were made with this script.
"""
import filecmp
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "jrnle-audit")
BASELINE = os.path.join(ROOT, "target", "release", "examples", "parse_baseline")
KEY = "bench-key"
TIME = "/usr/bin/time"


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


def main():
    build()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sim = subprocess.Popen([BIN, "simulate", "--rows", "100000", "--seed", "1",
                                "--latency-ms", "50", "--api-key", KEY],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = sim.stdout.readline().strip().removeprefix("listening on ")
            env = dict(os.environ, WORKFRONT_URL=url, WORKFRONT_API_KEY=KEY)
            outputs = {}
            for conc in (1, 4, 10):
                out = os.path.join(tmp, f"export-{conc}.csv")
                secs, rss, _ = timed([BIN, "export", "--since", "2025-01-01",
                                      "--until", "2026-01-01", "--max-concurrency", str(conc),
                                      "-o", out], env)
                outputs[conc] = (secs, rss, out)
            base = outputs[1][0]
            same = all(filecmp.cmp(outputs[1][2], o[2], shallow=False) for o in outputs.values())
            for conc, (secs, rss, _) in outputs.items():
                label = "sequential" if conc == 1 else ("default" if conc == 4 else "")
                rows.append((f"export 100k entries, 50 ms latency, --max-concurrency {conc}"
                             + (f" ({label})" if label else ""),
                             f"{secs:.2f} s", f"{base / secs:.1f}x", fmt_rss(rss)))
            rows.append(("exports byte-identical across concurrency", str(same), "", ""))
        finally:
            sim.terminate()
            sim.wait()

        # Memory of a large export: 1M entries, a third of them one bulk edit on a single
        # millisecond (the window no split can divide), no added latency.
        sim = subprocess.Popen([BIN, "simulate", "--rows", "1000000", "--seed", "2",
                                "--api-key", KEY],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = sim.stdout.readline().strip().removeprefix("listening on ")
            env = dict(os.environ, WORKFRONT_URL=url, WORKFRONT_API_KEY=KEY)
            for conc in (4, 10):
                out = os.path.join(tmp, f"export-1m-{conc}.csv")
                secs, rss, _ = timed([BIN, "export", "--since", "2025-01-01", "--until",
                                      "2026-01-01", "--max-concurrency", str(conc), "-o", out],
                                     env)
                rows.append((f"export 1M entries, no added latency, --max-concurrency {conc}",
                             f"{secs:.2f} s", f"{1e6 / secs / 1e3:.0f} k rec/s", fmt_rss(rss)))
        finally:
            sim.terminate()
            sim.wait()

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


if __name__ == "__main__":
    main()
