#!/usr/bin/env python3
"""Benchmark of `load` (issue 30). Reproducible: `python3 benches/load.py`.

A `sync` series of 1,000,000 entries (the built-in simulator's `--rows`, no latency, one
window: one manifest and one CSV data file) is loaded into SQLite (a new file) and into a
throw-away PostgreSQL cluster (initdb in a temporary directory, as the `postgres` user when
run as root; fsync left on), each into an empty table, then loaded again (everything already
loaded: the verification alone). Printed: wall time, rows per second, peak memory of the
`load` process. Release build. `--rows N` for another size.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import BIN, KEY, fmt_rss, timed  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "bench-pw"


def cluster(tmp):
    """Start PostgreSQL; return (url, stop) or None when it is not installed."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    bindir = bins[-1] if bins else os.path.dirname(shutil.which("initdb") or "")
    if not bindir or not os.path.exists(os.path.join(bindir, "initdb")):
        return None
    as_postgres = os.geteuid() == 0
    pre = ["runuser", "-u", "postgres", "--"] if as_postgres else []
    home = os.path.join(tmp, "pg")
    os.mkdir(home)
    with open(os.path.join(home, "pw"), "w") as f:
        f.write(PASSWORD)
    if as_postgres:
        subprocess.run(["chown", "-R", "postgres", home], check=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(home, "data")
    subprocess.run(pre + [f"{bindir}/initdb", "-D", data, "-U", "jrnle", "-A", "scram-sha-256",
                          "--pwfile", os.path.join(home, "pw")], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(pre + [f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(home, "log"), "-w",
                          "-o", f"-p {port} -k {home} -c listen_addresses=127.0.0.1", "start"],
                   check=True, stdout=subprocess.DEVNULL)

    def stop():
        subprocess.run(pre + [f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL)

    return f"postgres://jrnle:{PASSWORD}@127.0.0.1:{port}/postgres?sslmode=disable", stop


def series(rows, tmp):
    """A sync out-dir of `rows` entries."""
    sim = subprocess.Popen([BIN, "simulate", "--rows", str(rows), "--shape", "uniform",
                            "--seed", "1", "--api-key", KEY],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = sim.stdout.readline().strip().removeprefix("listening on ")
        out = os.path.join(tmp, "series")
        env = dict(os.environ, WORKFRONT_URL=url, WORKFRONT_API_KEY=KEY)
        subprocess.run([BIN, "-q", "sync", "--out-dir", out, "--since", "2020-01-01", "--lag",
                        "0s"], env=env, check=True)
        return out
    finally:
        sim.terminate()
        sim.wait()


def main():
    rows = int(sys.argv[sys.argv.index("--rows") + 1]) if "--rows" in sys.argv else 1_000_000
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"], cwd=ROOT, check=True)
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        out = series(rows, tmp)
        targets = [("SQLite", f"sqlite:{os.path.join(tmp, 'bench.db')}", None)]
        pg = cluster(tmp)
        if pg:
            targets.append(("PostgreSQL", pg[0], pg[1]))
        else:
            print("PostgreSQL is not installed: SQLite only", file=sys.stderr)
        try:
            for name, url, _ in targets:
                for run in ("empty table", "again (all loaded)"):
                    secs, rss, _ = timed([BIN, "load", out, "--into", url])
                    rate = f"{rows / secs:,.0f}" if run == "empty table" else "-"
                    table.append((name, run, f"{secs:.1f} s", rate, fmt_rss(rss)))
        finally:
            for _, _, stop in targets:
                if stop:
                    stop()
    print(f"| into | run ({rows:,} rows) | wall | rows / s | peak memory |")
    print("|---|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
