#!/usr/bin/env bash
# Interleaved kvserver-vs-Redis runs, the method to trust on a shared
# machine: redis-server and kvserver (BACKEND, default uring) run at once,
# and each test runs on each server in turn, ROUNDS times, so a change in
# the machine's load hits both alike. Prints CSV:
#   test,pipeline,round,server,requests_per_sec,server_cpu_us_per_req,user_us,sys_us,client_cpu_us_per_req,client_busy
# (CPU: utime+stime of the server from /proc/PID/stat around the test;
# user and system time apart; the client's: redis-benchmark's user+sys
# per request, and client_busy, its CPU time over its run time: near 1.00
# means the single-threaded client was the bottleneck), then one summary
# line per test:
#   # test -P p: kvserver/redis req/s R.RRx, CPU/req C.CCx (median of rounds R.RRx, C.CCx), client busy B.BB / B.BB
# (ratios of the sums over the rounds, then the medians of each round's
# ratios: a slow spell of the machine during one server's run moves the
# sums, hardly the median).
# Tests are redis-benchmark's -t names, plus `evalsha` (EVALSHA of
# "return redis.call('incr', KEYS[1])" on a random key) and `fcall` (FCALL
# of a library function doing the same), loaded on both servers first.
# Knobs: SPECS ("test pipeline requests" triples), ROUNDS (3), BACKEND,
# BIN (target/release/kvserver; build it first), SETUP (commands sent to
# both servers before the tests, `;`-separated: e.g. "CONFIG SET
# notify-keyspace-events KEA" to measure with keyspace notifications on). Used for the "Final
# verdict" table of docs/BENCHMARKS.md.
set -uo pipefail
TIMEFORMAT='%R %U %S'
cd "$(dirname "$0")/.."
SPECS=${SPECS:-"lpush 1 200000|sadd 1 200000|hset 1 200000|zadd 1 200000|set 1 200000|evalsha 1 200000|fcall 1 200000|lpush 16 1000000|sadd 16 1000000|hset 16 1000000|zadd 16 300000|evalsha 16 1000000|fcall 16 1000000"}
ROUNDS=${ROUNDS:-3}
BACKEND=${BACKEND:-uring}
BIN=${BIN:-target/release/kvserver}
RPORT=${RPORT:-27961}
KPORT=${KPORT:-27962}
TICK=$(getconf CLK_TCK)
cpu() { awk '{ print $14, $15 }' "/proc/$1/stat"; }
redis-server --port "$RPORT" --save '' --appendonly no >/dev/null 2>&1 &
rp=$!
"$BIN" --port "$KPORT" --backend "$BACKEND" >/dev/null 2>&1 &
kp=$!
trap 'kill $rp $kp 2>/dev/null; wait 2>/dev/null; rm -f "$csv"' EXIT
sleep 0.6
for pid in $rp $kp; do
  kill -0 "$pid" 2>/dev/null || { echo "kv-interleave: a server did not start (ports $RPORT/$KPORT busy?)" >&2; exit 1; }
done
# The script and the function the evalsha and fcall tests call.
SCRIPT="return redis.call('incr', KEYS[1])"
LIBRARY="#!lua name=kvbench
redis.register_function('kvbench_incr', function(keys, args) return redis.call('incr', keys[1]) end)"
SETUP=${SETUP:-}
for port in "$RPORT" "$KPORT"; do
  IFS=';' read -ra setup <<<"$SETUP"
  for cmd in "${setup[@]}"; do
    # shellcheck disable=SC2086 # a command line, split into words
    [ -n "${cmd// /}" ] && redis-cli -p "$port" $cmd >/dev/null
  done
  sha=$(redis-cli -p "$port" SCRIPT LOAD "$SCRIPT")
  redis-cli -p "$port" FUNCTION LOAD REPLACE "$LIBRARY" >/dev/null
done
# The command line of test $1 for redis-benchmark.
bench_args() {
  case $1 in
    evalsha) echo "EVALSHA $sha 1 key:__rand_int__" ;;
    fcall) echo "FCALL kvbench_incr 1 key:__rand_int__" ;;
    *) echo "-t $1" ;;
  esac
}
echo "test,pipeline,round,server,requests_per_sec,server_cpu_us_per_req,user_us,sys_us,client_cpu_us_per_req,client_busy"
csv=$(mktemp)
IFS='|' read -ra specs <<<"$SPECS"
for spec in "${specs[@]}"; do
  read -r t p n <<<"$spec"
  for round in $(seq 1 "$ROUNDS"); do
    # Who goes first alternates, so a machine that speeds up or slows
    # down during a round does not always favour the same server.
    order=("redis $rp $RPORT" "kvserver $kp $KPORT")
    ((round % 2 == 0)) && order=("${order[1]}" "${order[0]}")
    for srv in "${order[@]}"; do
      read -r name pid port <<<"$srv"
      read -r u0 s0 < <(cpu "$pid")
      # The client's own CPU (bash's `time` of redis-benchmark): at -P 1
      # the client, not the server, is what runs out of CPU first.
      # shellcheck disable=SC2046 # bench_args is a list of words
      out=$( { time redis-benchmark -p "$port" -c 50 -n "$n" -r 100000 -P "$p" --csv $(bench_args "$t") 2>/dev/null; } 2>&1)
      rps=$(grep "^\"${t^^}" <<<"$out" | tail -1 | cut -d'"' -f4)
      read -r creal cuser csys < <(tail -1 <<<"$out")
      read -r u1 s1 < <(cpu "$pid")
      awk -v u0="$u0" -v u1="$u1" -v s0="$s0" -v s1="$s1" -v n="$n" -v tk="$TICK" \
        -v cr="$creal" -v cu="$cuser" -v cs="$csys" \
        -v head="$t,$p,$round,$name,$rps" 'BEGIN {
          f = 1e6 / tk / n
          printf "%s,%.2f,%.2f,%.2f,%.2f,%.2f\n", head, (u1 - u0 + s1 - s0) * f, (u1 - u0) * f, (s1 - s0) * f,
            (cu + cs) * 1e6 / n, (cr > 0 ? (cu + cs) / cr : 0)
        }' | tee -a "$csv"
    done
  done
  awk -F, -v t="$t" -v p="$p" '
    function median(a, n,   i, j, x) {
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == t && $2 == p { rps[$4] += $5; cpu[$4] += $6; busy[$4] += $10; k[$4]++; r[$4, $3] = $5; c[$4, $3] = $6; rounds[$3] = 1 }
    END { if (rps["redis"] > 0 && cpu["redis"] > 0) {
      n = 0
      for (x in rounds) if (r["redis", x] > 0 && c["redis", x] > 0) { n++; rr[n] = r["kvserver", x] / r["redis", x]; cr[n] = c["kvserver", x] / c["redis", x] }
      printf "# %s -P %s: kvserver/redis req/s %.2fx, CPU/req %.2fx (median of rounds %.2fx, %.2fx), client busy %.2f (redis) / %.2f (kvserver)\n", t, p,
        rps["kvserver"] / rps["redis"], cpu["kvserver"] / cpu["redis"], median(rr, n), median(cr, n), busy["redis"] / k["redis"], busy["kvserver"] / k["kvserver"] } }' "$csv"
done
