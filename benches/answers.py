#!/usr/bin/env python3
"""The replay at scale (issue 29): `intervals` and `durations` over 1,000,000 entries from an
NDJSON file (1,072,000 generated records: 1,000,632 entries). Run by hand:
`python3 benches/answers.py` (`--quick`: 100,000 records only).

For each size it writes that many generated raw records (`simulate --rows N --seed 1 --dump`),
normalizes them to NDJSON (`normalize`) and puts them in entry order (a bulk edit's entries
share a millisecond in no id order as generated), untimed, then times, each as a whole process with
`/usr/bin/time -v` (peak memory: "Maximum resident set size"):

- `intervals FILE --format ndjson -o OUT` (every interval written),
- `durations FILE --until 2040-01-01 -o OUT` (status, the default calendar),
- `intervals FILE --sort ...` (the same, sorted in memory first: for contrast, its memory
  grows with the entries),

and, unless `--quick`, the 100,000 records ten times over (each copy 365 days later, with
its own ids: ten times the entries on the same keys), reading the entries replayed and the
object fields met (the keys: one slot each, the replay's
state) from the command's `--summary-format json` line. Entries/s is entries read (field
changes; `durations` replays its field's and passes over the others') over the process's
wall time (start, reading, writing and exit included), and over its CPU time (user plus
system), which a loaded machine disturbs less. Prints a Markdown table.
Timings come from this machine and vary with its load.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "jrnle-audit")
TIME = "/usr/bin/time"


def timed(cmd):
    """Run cmd under /usr/bin/time -v: (seconds, CPU seconds, peak RSS in MiB, the summary)."""
    start = time.monotonic()
    p = subprocess.run([TIME, "-v"] + cmd, capture_output=True, text=True)
    secs = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    cpu = sum(float(re.search(rf"{what} time \(seconds\): ([0-9.]+)", p.stderr).group(1))
              for what in ("User", "System"))
    summary = next(json.loads(line) for line in p.stderr.splitlines() if line.startswith("{"))
    return secs, cpu, rss / 1024, summary


def records(n, tmp):
    raw = os.path.join(tmp, f"raw-{n}.ndjson")
    with open(raw, "w") as f:
        subprocess.run([BIN, "simulate", "--rows", str(n), "--seed", "1", "--dump"],
                       stdout=f, check=True)
    normalized = os.path.join(tmp, f"normalized-{n}.ndjson")
    subprocess.run([BIN, "-q", "normalize", raw, "-o", normalized], check=True)
    os.remove(raw)
    # `--dump` writes the records as generated: the bulk edit's entries share a millisecond
    # in no id order. Put in entry order (entry_date, id), as export writes, untimed.
    key = re.compile(r'"id":"([^"]*)","entry_date":"([^"]*)"')
    with open(normalized) as f:
        lines = f.readlines()
    lines.sort(key=lambda line: key.match(line, 1).group(2, 1))
    path = os.path.join(tmp, f"records-{n}.ndjson")
    with open(path, "w") as f:
        f.writelines(lines)
    os.remove(normalized)
    return path


def repeated(path, times, tmp):
    """`path`'s records `times` over, each copy 365 days after the one before, its entry ids
    with the copy's number added (their order kept): as many entries again per copy, on the same objects and fields (keys)."""
    import datetime
    out = os.path.join(tmp, f"repeated-{times}.ndjson")
    date = re.compile(r'"id":"([^"]*)","entry_date":"([^"]*)"')
    with open(path) as f:
        lines = f.readlines()
    with open(out, "w") as f:
        for k in range(times):
            shift = datetime.timedelta(days=365 * k)
            for line in lines:
                m = date.match(line, 1)
                when = datetime.datetime.strptime(m.group(2), "%Y-%m-%dT%H:%M:%S.%fZ") + shift
                stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
                f.write(line[:m.start(1)] + f"{m.group(1)}{k}" + '","entry_date":"'
                        + stamp + line[m.end(2):])
    return out


def main():
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"], cwd=ROOT, check=True)
    # 1,072,000 generated records hold 1,000,632 field changes (the others change no field):
    # the 1,000,000 entries.
    sizes = [100_000] if "--quick" in sys.argv else [100_000, 1_072_000]
    # A third input: the 100,000 records ten times over, on the same keys: memory follows the
    # keys, not the entries.
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = [(f"{n:,}", records(n, tmp)) for n in sizes]
        if "--quick" not in sys.argv:
            inputs.append(("100,000 x 10 (the same keys)", repeated(inputs[0][1], 10, tmp)))
        for label, path in inputs:
            size = os.path.getsize(path) / 2**20
            # Outputs in memory where there is a tmpfs: the shared disk's writeback of half a
            # gigabyte per run made the timings vary by a third.
            shm = "/dev/shm" if os.path.isdir("/dev/shm") else tmp
            out = os.path.join(shm, f"jrnle-answers-bench-{os.getpid()}")
            runs = [
                ("intervals", ["intervals", path, "--format", "ndjson", "-o", out + ".ndjson"]),
                ("durations", ["durations", path, "--until", "2040-01-01", "-o", out + ".csv"]),
                ("intervals --sort",
                 ["intervals", path, "--sort", "--format", "ndjson", "-o", out + ".ndjson"]),
            ]
            for name, args in runs:
                secs, cpu, rss, s = timed([BIN] + args + ["--summary-format", "json"])
                for ext in (".ndjson", ".csv"):
                    if os.path.exists(out + ext):
                        os.remove(out + ext)
                # Entries read: the field changes in the input. `durations` replays its
                # field's and passes over the others' (`other_fields`); the rate is of those
                # read, the entries the command answers over.
                read = s["entries"] + s.get("other_fields", 0)
                rows.append((f"{label} ({size:.0f} MiB)", name, f"{read:,}",
                             f"{s['entries']:,}", f"{s['keys']:,}", f"{s['rows']:,}",
                             f"{secs:.2f} s", f"{cpu:.2f} s", f"{read / secs / 1e3:,.0f} k/s",
                             f"{read / cpu / 1e3:,.0f} k/s", f"{rss:.1f} MiB",
                             f"{rss * 2**20 / max(s['keys'], 1):,.0f} B"))
    print("| records | command | entries read | entries replayed | keys (object fields) "
          "| rows written | wall | CPU | entries/s (wall) | entries/s (CPU) | peak memory "
          "| memory / key |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
