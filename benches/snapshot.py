#!/usr/bin/env python3
"""Benchmark of `snapshot` (issue 17). Reproducible: `python3 benches/snapshot.py`.

Against the built-in simulator under the cost model of issue 14 (`--latency-ms 50
--row-cost-us 25`), serving a tenant of 100,000 and of 1,000,000 tasks (`simulate --tasks N`),
at --max-concurrency 10, it prints for the baseline and for a second run with nothing updated:
the requests sent (pages / counts / probes, from the simulator's `-v` log), requests / minimum
(every page once and one count), the wall time, wall / bound (the bound is
`(ceil(N/2000) x (latency + 2000 x row cost) + latency) / c`), peak memory, and the size of
the state database. What a run with updated objects costs is a request count, tested
deterministically in `tests/integration/snapshot.rs`. `--quick`: 100,000 tasks only.
"""
import math
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import BIN, KEY, LATENCY_MS, PAGE, ROW_COST_US, Simulator, classify, fmt_rss, timed  # noqa: E402

CONCURRENCY = 10


def runs(tasks, tmp):
    sim = Simulator(100, "uniform", tmp, extra=["--tasks", str(tasks)])
    rows = []
    try:
        env = dict(os.environ, WORKFRONT_URL=sim.url, WORKFRONT_API_KEY=KEY)
        out = os.path.join(tmp, f"snap-{tasks}")
        cmd = [BIN, "snapshot", "--out-dir", out, "--obj-code", "TASK", "--fields",
               "status,percentComplete,DE:Risk", "--lag", "0s",
               "--max-concurrency", str(CONCURRENCY)]
        for name in ("baseline", "next run"):
            before = len(sim.lines())
            secs, rss, _ = timed(cmd, env)
            pages, counts, probes = classify(sim.lines()[before:])
            total = pages + counts + probes
            fetched = tasks if name == "baseline" else 0
            minimum = math.ceil(fetched / PAGE) + 1
            page_cost = LATENCY_MS / 1000 + PAGE * ROW_COST_US / 1e6
            bound = (math.ceil(fetched / PAGE) * page_cost + LATENCY_MS / 1000) / CONCURRENCY
            db = os.path.getsize(os.path.join(out, "snapshot-state.sqlite")) / 2**20
            rows.append((f"{tasks:,}", name, f"{total} ({pages} / {counts} / {probes})",
                         f"{total / minimum:.3f}", f"{secs:.2f} s", f"{bound:.2f} s",
                         f"{secs / bound:.2f}", fmt_rss(rss), f"{db:.0f} MiB"))
    finally:
        sim.stop()
    return rows


def main():
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"],
                   cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))), check=True)
    sizes = [100_000] if "--quick" in sys.argv else [100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        table = [r for n in sizes for r in runs(n, tmp)]
    print("| tasks | run | requests (pages / counts / probes) | requests / minimum | wall | "
          "bound | wall / bound | peak memory | state |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
