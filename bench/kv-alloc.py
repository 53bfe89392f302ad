#!/usr/bin/env python3
"""Memory of kvserver builds with different allocators (and redis-server
for reference), one server at a time, each from a fresh start:

- RSS per key: 1,000,000 `SET key:i <16 bytes>` (redis-cli --pipe);
- RSS per idle connection: CONNS connections that each ran one PING;
- RSS after they close: how much of it came back (after SETTLE seconds:
  jemalloc returns freed pages from a background thread within ~10 s);
- peak RSS of one BIG-byte SET (VmHWM), over the value's size.

Usage: bench/kv-alloc.py NAME=BINARY [NAME=BINARY ...] [redis]
Prints a table (MB, bytes). CPU per request is bench/kv-ab.sh's job."""

import os
import resource
import socket
import subprocess
import sys
import time

CONNS = int(os.environ.get("CONNS", "5000"))
KEYS = int(os.environ.get("KEYS", "1000000"))
BIG = int(os.environ.get("BIG", str(512 << 20)))
SETTLE = float(os.environ.get("SETTLE", "15"))
PORT = int(os.environ.get("PORT", "27981"))


def rss(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def cmd(s, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)
    return read_reply(s)


def read_reply(s):
    buf = b""
    while b"\r\n" not in buf:
        buf += s.recv(65536)
    line, rest = buf.split(b"\r\n", 1)
    if line[:1] == b"$" and int(line[1:]) >= 0:
        n = int(line[1:])
        while len(rest) < n + 2:
            rest += s.recv(65536)
    return line


def start(binary, port):
    if binary == "redis":
        args = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
                "--maxclients", str(CONNS + 100)]
    else:
        args = [binary, "--port", str(port), "--maxclients", str(CONNS + 100)]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            s = socket.create_connection(("127.0.0.1", port))
            if cmd(s, "PING") == b"+PONG":
                return p, s
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{binary} did not start")


def measure(name, binary, port):
    p, c = start(binary, port)
    time.sleep(0.5)
    r0 = rss(p.pid)
    data = b"".join(
        b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\n0123456789abcdef\r\n" % (len(b"key:%d" % i), i)
        for i in range(KEYS)
    )
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                   stdout=subprocess.DEVNULL, check=True)
    time.sleep(0.5)
    r1 = rss(p.pid)
    conns = []
    for _ in range(CONNS):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PING\r\n")
        conns.append(s)
    for s in conns:
        read_reply(s)
    time.sleep(0.5)
    r2 = rss(p.pid)
    for s in conns:
        s.close()
    time.sleep(SETTLE)
    r3 = rss(p.pid)
    cmd(c, "SET", "big", b"x" * BIG)
    peak = rss(p.pid, "VmHWM")
    p.kill()
    p.wait()
    print(f"| {name} | {(r1 - r0) / KEYS:.0f} | {(r2 - r1) / CONNS:.0f} | "
          f"{(r3 - r1) / 2**20:+.1f} of {(r2 - r1) / 2**20:+.1f} | "
          f"{peak / 2**20:.0f} ({(peak - r3) / BIG:.2f}x) |", flush=True)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * CONNS + 1000), hard))
    print(f"{KEYS} keys, {CONNS} idle connections, a {BIG >> 20} MB value; RSS after "
          f"close measured {SETTLE:.0f} s later")
    print("| server | RSS/key (B) | RSS/idle conn (B) | RSS after close vs before, MB "
          "(of the connections' MB) | peak RSS of the big SET, MB (over what was there, / value) |")
    print("|---|---|---|---|---|")
    # A port per server: the last one's may linger a moment.
    for i, spec in enumerate(sys.argv[1:]):
        name, _, binary = spec.partition("=")
        measure(name, binary or name, PORT + i)


if __name__ == "__main__":
    main()
