#!/usr/bin/env python3
"""Load benchmark of `jrnle-audit listen` (issues 16 and 26). Reproducible:

`python3 benches/listen.py [RATE] [SECONDS]`: deliveries from several concurrent connections
at a paced rate, each timed from send to its 2xx (which `listen` gives only once the delivery is
fsynced to its journal). Prints the rate asked and achieved, the acknowledgement time at the
50th and 99th percentile and the worst, and listen's peak memory (VmHWM), then stops it
(SIGTERM: it commits the journal) and reports how long that commit took and that `verify` passes.

`python3 benches/listen.py memory [N]`: N deliveries (default 200,000) as fast as 64 keep-alive
connections post them, at `--rotate 1h`, then SIGTERM: the commit of the whole backlog. Peak
memory is sampled until listen exits, so the commit is in it. Then, with a fresh listen, 1,000
connections without the token each sending a 2 MB body while 64 clients deliver: peak memory
and the deliveries' p50/p99.

`python3 benches/listen.py admission [N]`: N deliveries (default 20,000) by 64 keep-alive
clients (a delivery whose connection fails is sent again, as Workfront does): alone, with 1,000
idle connections without the token held open alongside (reopened as listen closes them), and
the same over TLS: acknowledgements per second, p50/p99 and peak memory.
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


def start(out, extra=()):
    proc = subprocess.Popen(
        [BIN, "listen", "--out-dir", out, "--bind", "127.0.0.1:0", "--rotate", "1h", *extra],
        env=dict(os.environ, WORKFRONT_EVENT_TOKEN=TOKEN),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip().removeprefix("listening on http://")
    host, port = url.split(":")
    return proc, host, int(port)


TLS = None  # an ssl.SSLContext trusting the benchmark's CA, for the TLS runs


def connect(host, port):
    if TLS is None:
        return http.client.HTTPConnection(host, port, timeout=10)
    return http.client.HTTPSConnection(host, port, timeout=10, context=TLS)


def post_all(host, port, numbers, clients=64):
    """Post each delivery number once over `clients` keep-alive connections: the times."""
    times, failures, lock = [], [], threading.Lock()

    def worker(k):
        conn = connect(host, port)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        for n in numbers[k::clients]:
            sent = time.monotonic()
            # As Workfront does: a delivery whose connection failed is sent again (on a new
            # connection), and counted from its first try.
            for _ in range(5):
                try:
                    conn.request("POST", "/", body=delivery(n), headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                    break
                except OSError:
                    conn.close()
                    conn = connect(host, port)
            else:
                resp = None
            with lock:
                ok = resp is not None and resp.status == 200
                (times if ok else failures).append(time.monotonic() - sent)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    return times, failures


def peak_until_exit(proc):
    """listen's peak memory, sampled until it exits (VmHWM is the high-water mark)."""
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, peak_kib(proc.pid))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    return peak


def memory(n):
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"], cwd=ROOT, check=True)
    pct = lambda t, p: t[min(len(t) - 1, int(p * len(t)))] * 1000
    with tempfile.TemporaryDirectory() as out:
        proc, host, port = start(out)
        began = time.monotonic()
        times, failures = post_all(host, port, list(range(n)))
        posted = time.monotonic() - began
        proc.terminate()
        peak = peak_until_exit(proc)
        _, err = proc.communicate()
        verify = subprocess.run([BIN, "verify", out], capture_output=True, text=True)
        print(f"| backlog | acknowledged | failures | rate | ack p50 | ack p99 | peak memory "
              f"(commit included) | verify |")
        print("|---|---|---|---|---|---|---|---|")
        print(f"| {n:,} at --rotate 1h | {len(times):,} | {len(failures)} | {len(times) / posted:.0f}/s "
              f"| {pct(times, 0.5):.1f} ms | {pct(times, 0.99):.1f} ms | {peak / 1024:.1f} MiB "
              f"| exit {verify.returncode} |")
        print(err.strip().splitlines()[-1] if err.strip() else "")
    with tempfile.TemporaryDirectory() as out:
        proc, host, port = start(out)
        stop = threading.Event()
        big = b"x" * (2 << 20)

        def stranger():
            while not stop.is_set():
                try:
                    conn = http.client.HTTPConnection(host, port, timeout=10)
                    conn.request("POST", "/", body=big, headers={"Authorization": "Bearer wrong"})
                    conn.getresponse().read()
                except OSError:
                    pass

        strangers = [threading.Thread(target=stranger) for _ in range(1000)]
        for t in strangers:
            t.start()
        time.sleep(2)
        times, failures = post_all(host, port, list(range(5000)))
        stop.set()
        peak = peak_kib(proc.pid)
        for t in strangers:
            t.join()
        proc.terminate()
        proc.communicate()
        print(f"| 1,000 strangers sending 2 MB bodies, 5,000 deliveries by 64 clients | "
              f"{len(times):,} | {len(failures)} | | {pct(times, 0.5):.1f} ms | "
              f"{pct(times, 0.99):.1f} ms | {peak / 1024:.1f} MiB | |")


def idle_strangers(host, port, n, stop):
    """`n` connections that never send a byte, reopened as listen closes them."""
    import socket
    socks = []
    while not stop.is_set():
        while len(socks) < n:
            try:
                socks.append(socket.create_connection((host, port)))
            except OSError:
                break
        time.sleep(0.5)
        alive = []
        for s in socks:
            s.setblocking(False)
            try:
                closed = s.recv(1) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if closed:
                s.close()
            else:
                alive.append(s)
        socks = alive
    for s in socks:
        s.close()


def certificates(dir_):
    ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes".split()
    run = lambda *a: subprocess.run(["openssl", *a], cwd=dir_, check=True, capture_output=True)
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench-ca")
    with open(os.path.join(dir_, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=bench-server")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "server.ext")


def admission(n):
    """Acknowledgements per second and p50/p99 for `n` deliveries by 64 clients: alone, with
    1,000 idle strangers alongside, and the same over TLS."""
    global TLS
    import ssl
    subprocess.run(["cargo", "build", "--release", "--bin", "jrnle-audit"], cwd=ROOT, check=True)
    pct = lambda t, p: t[min(len(t) - 1, int(p * len(t)))] * 1000
    print("| case | acknowledged | failures | acks/s | ack p50 | ack p99 | peak memory |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as certs:
        certificates(certs)
        for tls, strangers in [(False, 0), (False, 1000), (True, 0), (True, 1000)]:
            TLS = None
            extra = []
            if tls:
                TLS = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
                extra = ["--tls-cert", os.path.join(certs, "server.pem"),
                         "--tls-key", os.path.join(certs, "server.key")]
            with tempfile.TemporaryDirectory() as out:
                proc = subprocess.Popen(
                    [BIN, "listen", "--out-dir", out, "--bind", "127.0.0.1:0", "--rotate", "1h", *extra],
                    env=dict(os.environ, WORKFRONT_EVENT_TOKEN=TOKEN),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                url = proc.stdout.readline().strip().split("://")[1]
                host, port = url.split(":")
                stop = threading.Event()
                idle = threading.Thread(target=idle_strangers, args=(host, int(port), strangers, stop))
                idle.start()
                time.sleep(1)
                began = time.monotonic()
                times, failures = post_all(host, int(port), list(range(n)))
                took = time.monotonic() - began
                peak = peak_kib(proc.pid)
                stop.set()
                idle.join()
                proc.terminate()
                proc.communicate()
                name = ("TLS" if tls else "plain HTTP") + (f", {strangers:,} idle strangers" if strangers else "")
                print(f"| {name} | {len(times):,} | {len(failures)} | {len(times) / took:.0f} "
                      f"| {pct(times, 0.5):.1f} ms | {pct(times, 0.99):.1f} ms | {peak / 1024:.1f} MiB |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "admission":
        admission(int(sys.argv[2]) if len(sys.argv) > 2 else 20_000)
    elif len(sys.argv) > 1 and sys.argv[1] == "memory":
        memory(int(sys.argv[2]) if len(sys.argv) > 2 else 200_000)
    else:
        main()
