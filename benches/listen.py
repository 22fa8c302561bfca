#!/usr/bin/env python3
"""Load benchmark of `jrnle-audit listen` (issue 16): deliveries from several concurrent
connections at a paced rate, each timed from send to its 2xx (which `listen` gives only once the
delivery is fsynced to its journal). Reproducible: `python3 benches/listen.py [RATE] [SECONDS]`.

Prints the rate asked and achieved, the acknowledgement time at the 50th and 99th percentile and
the worst, and listen's peak memory (VmHWM), then stops it (SIGTERM: it commits the journal) and
reports how long that commit took and that `verify` passes.
"""
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "jrnle-audit")
TOKEN = "bench-token"
CONNECTIONS = 8


def delivery(n):
    return json.dumps({
        "eventType": "UPDATE", "subscriptionId": "bench", "eventVersion": "v2",
        "eventTime": {"epochSecond": 1_700_000_000 + n // 1000, "nano": (n % 1000) * 1_000_000},
        "oldState": {"ID": f"task{n}", "objCode": "TASK", "status": "INP", "percentComplete": 40},
        "newState": {"ID": f"task{n}", "objCode": "TASK", "status": "CPL", "percentComplete": 100,
                     "lastUpdatedByID": "u1"},
    }).encode()


def peak_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 500.0
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.Popen(
            [BIN, "listen", "--out-dir", out, "--bind", "127.0.0.1:0", "--rotate", "1h"],
            env=dict(os.environ, WORKFRONT_EVENT_TOKEN=TOKEN),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = proc.stdout.readline().strip().removeprefix("listening on http://")
        host, port = url.split(":")
        times, failures, lock = [], [], threading.Lock()
        total = int(rate * seconds)
        start = time.monotonic() + 0.2

        def worker(k):
            conn = http.client.HTTPConnection(host, int(port))
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            for n in range(k, total, CONNECTIONS):
                due = start + n / rate
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                sent = time.monotonic()
                conn.request("POST", "/", body=delivery(n), headers=headers)
                resp = conn.getresponse()
                resp.read()
                took = time.monotonic() - sent
                with lock:
                    (times if resp.status == 200 else failures).append(took)

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        peak = peak_kib(proc.pid)
        stop = time.monotonic()
        proc.terminate()
        _, err = proc.communicate()
        commit = time.monotonic() - stop
        verify = subprocess.run([BIN, "verify", out], capture_output=True, text=True)
        times.sort()
        pct = lambda p: times[min(len(times) - 1, int(p * len(times)))] * 1000
        print(f"| deliveries | rate asked | rate achieved | ack p50 | ack p99 | ack max | failures "
              f"| peak memory | stop + commit | verify |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {len(times):,} | {rate:.0f}/s | {len(times) / elapsed:.0f}/s | {pct(0.5):.1f} ms "
              f"| {pct(0.99):.1f} ms | {times[-1] * 1000:.1f} ms | {len(failures)} "
              f"| {peak / 1024:.1f} MiB | {commit:.2f} s | exit {verify.returncode} |")
        print(err.strip().splitlines()[-1] if err.strip() else "")


if __name__ == "__main__":
    main()
