#!/usr/bin/env python3
"""Regenerates commands.resp: the COMMAND INFO and COMMAND DOCS replies of a
real redis-server 7.0 (RESP3) for every command in kvserver's table.

    redis-server --port 7391 --save '' --appendonly no &
    python3 kvserver/data/capture_commands.py 7391

Redis's command metadata (src/commands/*.json, BSD-3-Clause) is data about
the commands we implement with Redis's semantics; kvserver serves it so that
clients and tools (redis-cli hints, cluster-aware clients reading key
specs) see what they would see from Redis.
"""
import os, re, socket, sys

here = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(here, "..", "src", "command.rs")).read()
names = re.findall(r'cmd!\(\s*"([a-z_|-]+)"', src)
port = int(sys.argv[1]) if len(sys.argv) > 1 else 7391
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")

def send(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    s.sendall(out)

def read_raw():
    """One RESP3 reply's exact bytes."""
    line = f.readline()
    t, rest = line[:1], line[1:-2]
    if t in b"+-:,_#(":
        return line
    if t in b"$=!":
        n = int(rest)
        return line + (f.read(n + 2) if n >= 0 else b"")
    if t in b"*~>":
        return line + b"".join(read_raw() for _ in range(int(rest)))
    if t in b"%|":
        return line + b"".join(read_raw() for _ in range(2 * int(rest)))
    raise ValueError(line)

send("HELLO", "3")
read_raw()
send("COMMAND", "INFO", *names)
info = read_raw()
send("COMMAND", "DOCS", *names)
docs = read_raw()
with open(os.path.join(here, "commands.resp"), "wb") as o:
    o.write(info)
    o.write(docs)
print(len(names), "commands,", len(info) + len(docs), "bytes")
