#!/usr/bin/env python3
"""How long a client waits while a BGSAVE runs: one client sends INCR after
INCR (each waits for its reply) on a server holding N keys; BGSAVE starts
one second in. Reports, over the BGSAVE's duration, the INCR latency's
p99.9 and max, and the BGSAVE's own time. Servers one at a time, fresh.

Usage: bench/kv-snapshot-stall.py N[,N...] NAME=BINARY|redis ...
(e.g. 1000000,5000000 redis kvserver=target/release/kvserver)"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

PORT = int(os.environ.get("PORT", "27991"))


def q(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    buf = b""
    while not buf.endswith(b"\r\n"):
        buf += s.recv(1 << 20)
    if buf[:1] == b"$" and not buf.startswith(b"$-1"):
        n = int(buf[1:buf.index(b"\r\n")])
        while len(buf) < buf.index(b"\r\n") + 2 + n + 2:
            buf += s.recv(1 << 20)
    return buf


def start(binary, port, d):
    if binary == "redis":
        args = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                "--dir", d]
    else:
        args = [binary, "--port", str(port), "--dir", d]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(400):
        try:
            s = socket.create_connection(("127.0.0.1", port))
            if q(s, "PING").startswith(b"+PONG"):
                return p, s
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{binary} did not start")


def measure(name, binary, n, port):
    with tempfile.TemporaryDirectory() as d:
        p, c = start(binary, port, d)
        data = b"".join(
            b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$32\r\n%032d\r\n" % (len(b"key:%d" % i), i, i)
            for i in range(n)
        )
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                       stdout=subprocess.DEVNULL, check=True)
        del data
        lat = []
        marks = {}
        stop = threading.Event()

        def probe():
            s = socket.create_connection(("127.0.0.1", port))
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while not stop.is_set():
                t0 = time.perf_counter()
                q(s, "INCR", "counter")
                t1 = time.perf_counter()
                lat.append((t0, t1 - t0))

        t = threading.Thread(target=probe)
        t.start()
        time.sleep(1.0)
        marks["start"] = time.perf_counter()
        assert q(c, "BGSAVE").startswith(b"+Background saving started")
        while b"rdb_bgsave_in_progress:1" in q(c, "INFO", "persistence"):
            time.sleep(0.01)
        marks["end"] = time.perf_counter()
        time.sleep(0.3)
        stop.set()
        t.join()
        p.kill()
        p.wait()
    during = sorted(x for (t0, x) in lat if marks["start"] <= t0 + x and t0 <= marks["end"])
    p999 = during[min(len(during) - 1, int(len(during) * 0.999))] if during else 0
    print(f"| {name} | {n:,} | {(marks['end'] - marks['start']) * 1000:.0f} | {len(during)} | "
          f"{p999 * 1000:.2f} | {(during[-1] if during else 0) * 1000:.2f} |", flush=True)


def main():
    sizes = [int(x) for x in sys.argv[1].split(",")]
    print("| server | keys | BGSAVE ms | INCRs during it | p99.9 ms | max ms |")
    print("|---|---|---|---|---|---|")
    i = 0
    for n in sizes:
        for spec in sys.argv[2:]:
            name, _, binary = spec.partition("=")
            measure(name, binary or name, n, PORT + i)
            i += 1


if __name__ == "__main__":
    main()
