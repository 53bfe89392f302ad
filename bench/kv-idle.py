#!/usr/bin/env python3
"""Idle connections: memory per connection and PING latency beside them.

For each server (kvserver builds, and redis-server with `redis`), from a
fresh start, one at a time:
- CONNS connections are opened, each runs one PING and then stays idle;
- RSS is read once it has settled (no change over 2 s: jemalloc returns
  freed pages in the background, so a reading right after a burst of
  allocations overstates what stays), minus RSS before the connections;
- with all of them still open, PINGS sequential PINGs from one more client
  give the latency p50 / p99 / max.

Connections come from several loopback source addresses (127.0.0.2 ...),
25,000 each, so 100,000 fit in the ephemeral port range (protected mode
is off: like Redis, it counts only 127.0.0.1 and ::1 as local). The fd limit is
raised to CONNS + 1000 in this client and the server it starts (a hard
limit below that, as in a container that caps it, is reported).

Usage: CONNS=10000 bench/kv-idle.py NAME=BINARY [NAME=BINARY ...] [redis]
Prints a Markdown table. Extra kvserver arguments: KV_ARGS."""

import os
import resource
import socket
import subprocess
import sys
import time

CONNS = int(os.environ.get("CONNS", "10000"))
PINGS = int(os.environ.get("PINGS", "2000"))
PORT = int(os.environ.get("PORT", "27991"))
KV_ARGS = os.environ.get("KV_ARGS", "").split()
PER_SOURCE = 25000


def rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def settled_rss(pid, quiet=2.0, limit=40.0):
    """RSS once it stopped moving by more than 0.5% for `quiet` seconds."""
    start = time.time()
    last, since = rss(pid), time.time()
    while time.time() - start < limit:
        time.sleep(0.25)
        now = rss(pid)
        if abs(now - last) > last * 0.005:
            last, since = now, time.time()
        elif time.time() - since >= quiet:
            return now
    return rss(pid)


def wait_port(port, proc):
    for _ in range(400):
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("server did not start")


def start(binary, port):
    if binary == "redis":
        args = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                "--maxclients", str(CONNS + 100), "--protected-mode", "no"]
    else:
        args = [binary, "--port", str(port), "--maxclients", str(CONNS + 100),
                "--protected-mode", "no"] + KV_ARGS
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_port(port, p)
    return p


def connect(i, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((f"127.0.0.{2 + i // PER_SOURCE}", 0))
    s.connect(("127.0.0.1", port))
    return s


def pct(xs, q):
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def measure(name, binary, port):
    p = start(binary, port)
    try:
        r0 = settled_rss(p.pid)
        conns = []
        # In batches: send PINGs, then read the replies, so the server's
        # accept queue never holds more than a batch.
        for base in range(0, CONNS, 1000):
            batch = [connect(i, port) for i in range(base, min(CONNS, base + 1000))]
            for s in batch:
                s.sendall(b"PING\r\n")
            for s in batch:
                got = b""
                while not got.endswith(b"\r\n"):
                    got += s.recv(64)
                assert got == b"+PONG\r\n", got
            conns.extend(batch)
        r1 = settled_rss(p.pid)
        c = socket.create_connection(("127.0.0.1", port))
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lat = []
        for _ in range(PINGS):
            t = time.perf_counter()
            c.sendall(b"PING\r\n")
            got = b""
            while not got.endswith(b"\r\n"):
                got += c.recv(64)
            lat.append((time.perf_counter() - t) * 1e3)
        lat.sort()
        print(f"| {name} | {CONNS} | {(r1 - r0) / CONNS:.0f} | {(r1 - r0) / 2**20:.1f} | "
              f"{pct(lat, 0.5):.3f} | {pct(lat, 0.99):.3f} | {lat[-1]:.3f} |", flush=True)
        for s in conns:
            s.close()
        c.close()
    finally:
        p.kill()
        p.wait()


def main():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CONNS + 1000  # per process: the server and this client
    if hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        except (ValueError, OSError):
            sys.exit(f"need an fd limit of {want} (hard limit {hard}): run as root")
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    servers = [a.split("=", 1) if "=" in a else (a, a) for a in sys.argv[1:]]
    if not servers:
        sys.exit(__doc__)
    print(f"{CONNS} idle connections (one PING each), RSS once settled; "
          f"{PINGS} sequential PINGs beside them")
    print("| server | connections | RSS/idle conn (B) | RSS of all, MB | PING p50 (ms) | p99 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|")
    for i, (name, binary) in enumerate(servers):
        measure(name, binary, PORT + i)


if __name__ == "__main__":
    main()
