#!/usr/bin/env python3
"""Regenerates commands.resp: a real redis-server 7.0's RESP3 replies to
`COMMAND INFO` and `COMMAND DOCS` (no arguments: every command, the
subcommands inside their containers), byte for byte.

    redis-server --port 7391 --save '' --appendonly no &
    python3 kvserver/data/capture_commands.py 7391

This file is the one source of kvserver's command table: build.rs turns the
COMMAND INFO part into Rust (name, arity, flags, key specs, ACL categories,
tips of every command and subcommand), the table binds handlers to names,
and COMMAND INFO / DOCS / GETKEYS / LIST answer from it. Redis's command
metadata (src/commands/*.json, BSD-3-Clause) is data about the commands we
implement with Redis's semantics; serving it lets clients and tools
(redis-cli hints, cluster-aware clients reading key specs) see what they
would see from Redis.
"""
import os, socket, sys

here = os.path.dirname(os.path.abspath(__file__))
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
send("COMMAND", "INFO")
info = read_raw()
send("COMMAND", "DOCS")
docs = read_raw()
with open(os.path.join(here, "commands.resp"), "wb") as o:
    o.write(info)
    o.write(docs)
print(len(info) + len(docs), "bytes")
