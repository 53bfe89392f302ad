#!/usr/bin/env bash
# Interleaved kvserver-vs-Redis runs, the method to trust on a shared
# machine: redis-server and kvserver (BACKEND, default uring) run at once,
# and each test runs on each server in turn, ROUNDS times, so a change in
# the machine's load hits both alike. Prints CSV:
#   test,pipeline,round,server,requests_per_sec,server_cpu_us_per_req
# (CPU: utime+stime of the server from /proc/PID/stat around the test).
# Knobs: SPECS ("test pipeline requests" triples), ROUNDS (3), BACKEND,
# BIN (target/release/kvserver; build it first). Used for the "Final
# verdict" table of docs/BENCHMARKS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
SPECS=${SPECS:-"lpush 1 200000|sadd 1 200000|hset 1 200000|zadd 1 200000|set 1 200000|lpush 16 1000000|sadd 16 1000000|hset 16 1000000|zadd 16 300000"}
ROUNDS=${ROUNDS:-3}
BACKEND=${BACKEND:-uring}
BIN=${BIN:-target/release/kvserver}
RPORT=${RPORT:-27961}
KPORT=${KPORT:-27962}
TICK=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
redis-server --port "$RPORT" --save '' --appendonly no >/dev/null 2>&1 &
rp=$!
"$BIN" --port "$KPORT" --backend "$BACKEND" >/dev/null 2>&1 &
kp=$!
trap 'kill $rp $kp 2>/dev/null; wait 2>/dev/null' EXIT
sleep 0.6
echo "test,pipeline,round,server,requests_per_sec,server_cpu_us_per_req"
IFS='|' read -ra specs <<<"$SPECS"
for spec in "${specs[@]}"; do
  read -r t p n <<<"$spec"
  for round in $(seq 1 "$ROUNDS"); do
    for srv in "redis $rp $RPORT" "kvserver $kp $KPORT"; do
      read -r name pid port <<<"$srv"
      c0=$(cpu "$pid")
      rps=$(redis-benchmark -p "$port" -c 50 -n "$n" -r 100000 -P "$p" -t "$t" --csv 2>/dev/null |
        tail -1 | cut -d'"' -f4)
      c1=$(cpu "$pid")
      us=$(awk -v a="$c0" -v b="$c1" -v n="$n" -v tk="$TICK" 'BEGIN { printf "%.2f", (b - a) / tk * 1e6 / n }')
      echo "$t,$p,$round,$name,$rps,$us"
    done
  done
done
