#!/usr/bin/env bash
# `make bench-kv`: redis-benchmark against kvserver on each backend and, in
# the same run, Debian's redis-server, so the numbers compare as ratios.
#
# For each server and each test (SET GET INCR LPUSH SADD HSET ZADD LRANGE_100
# MSET; -c 50 -r 100000; pipelines -P 1 and -P 16) it records requests/s and
# the server's CPU time per request (utime+stime from /proc/PID/stat over
# that test alone). Then memory: RSS per key after loading KEYS keys with
# 16-byte values. Writes $OUT/kv.csv and $OUT/kv.md and prints the tables.
#
# Knobs (environment): N (requests per test, 100000), KEYS (1000000),
# TESTS, PIPELINES ("1 16"), SERVERS ("redis threads uring kernel"),
# OUT (bench/out), PORT (6399), CONFIG (fastio.conf). A SERVERS entry
# `label=backend@binary` runs another kvserver build under its own label
# (before/after in one run: SERVERS="redis before=uring@/tmp/kvserver-old uring").
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
KEYS=${KEYS:-1000000}
TESTS=${TESTS:-set get incr lpush sadd hset zadd lrange_100 mset}
PIPELINES=${PIPELINES:-1 16}
SERVERS=${SERVERS:-redis threads uring kernel}
OUT=${OUT:-bench/out}
PORT=${PORT:-6399}
CONFIG=${CONFIG:-fastio.conf}

command -v redis-benchmark >/dev/null || { echo "bench-kv: redis-benchmark missing (apt-get install redis-tools)" >&2; exit 1; }
cargo build --release -q -p kvserver
mkdir -p "$OUT"
CSV=$OUT/kv.csv
echo "server,test,pipeline,requests_per_sec,server_cpu_us_per_req,errors" >"$CSV"
MEM=$OUT/kv-mem.csv
echo "server,keys,rss_bytes_per_key" >"$MEM"
TICK=$(getconf CLK_TCK)

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

start_server() {
  case $1 in
    redis) redis-server --port "$PORT" --save "" --appendonly no --loglevel warning >"$OUT/server.log" 2>&1 & ;;
    *=*@*) spec=${1#*=}; "${spec#*@}" --port "$PORT" --config "$CONFIG" --backend "${spec%%@*}" >"$OUT/server.log" 2>&1 & ;;
    *) target/release/kvserver --port "$PORT" --config "$CONFIG" --backend "$1" >"$OUT/server.log" 2>&1 & ;;
  esac
  pid=$!
  for _ in $(seq 1 100); do
    [ "$(timeout 2 redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.05
  done
  echo "bench-kv: $1 did not start:" >&2; cat "$OUT/server.log" >&2; return 1
}

stop_server() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""; }

for s in $SERVERS; do
  case $s in
    kernel) [ -e /dev/fastio ] || { echo "bench-kv: no /dev/fastio, skipping kernel" >&2; continue; } ;;
    redis) command -v redis-server >/dev/null || { echo "bench-kv: no redis-server, skipping" >&2; continue; } ;;
  esac
  start_server "$s"
  [ "$s" = redis ] || head -1 "$OUT/server.log" >&2
  label=${s%%=*}
  for p in $PIPELINES; do
    for t in $TESTS; do
      c0=$(cpu_ticks "$pid")
      line=$(timeout 300 redis-benchmark -p "$PORT" -c 50 -n "$N" -r 100000 -P "$p" -t "$t" --csv 2>&1 | tail -1 || true)
      c1=$(cpu_ticks "$pid")
      rps=$(echo "$line" | awk -F'"' '{ print $4 }')
      errors=0
      case $rps in ''|*[!0-9.]*) rps=0; errors=1 ;; esac
      cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TICK" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / t * 1e6 / n }')
      echo "$label,$t,$p,$rps,$cpu,$errors" >>"$CSV"
      printf 'bench-kv: %-8s %-10s -P %-2s %10.0f req/s  %6s us CPU/req%s\n' "$label" "$t" "$p" "$rps" "$cpu" \
        "$([ "$errors" = 1 ] && echo "  (failed: $line)")" >&2
    done
  done
  # Memory: RSS growth per key for KEYS string keys with 16-byte values, on
  # a fresh server (memory freed by earlier tests would hide the growth).
  stop_server
  start_server "$s"
  r0=$(rss_kib "$pid")
  awk -v n="$KEYS" 'BEGIN { for (i = 0; i < n; i++) printf "*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$16\r\nvalue-0123456789\r\n", length("key:" i), i }' |
    timeout 300 redis-cli -p "$PORT" --pipe >/dev/null
  keys=$(timeout 60 redis-cli -p "$PORT" dbsize)
  r1=$(rss_kib "$pid")
  per=$(awk -v a="$r0" -v b="$r1" -v k="$keys" 'BEGIN { printf "%.1f", (b - a) * 1024 / k }')
  echo "$label,$keys,$per" >>"$MEM"
  echo "bench-kv: $label: $keys keys, $per bytes of RSS per key" >&2
  stop_server
done

# Tables: one row per test and pipeline, one column pair per server, plus
# ratios of each kvserver backend to redis.
awk -F, -v mem="$MEM" '
  NR == 1 { next }
  { key = $2 " -P " $3; if (!(key in seen)) { seen[key] = 1; rows[++nr] = key }
    if (!($1 in sv)) { sv[$1] = 1; servers[++ns] = $1 }
    rps[key, $1] = $4; cpu[key, $1] = $5; err[key, $1] = $6 }
  END {
    printf "### Requests/s (server CPU us/request)\n\n| test |"
    for (j = 1; j <= ns; j++) printf " %s |", servers[j]
    for (j = 1; j <= ns; j++) if (servers[j] != "redis") printf " %s/redis rps | %s/redis CPU |", servers[j], servers[j]
    printf "\n|---|"; for (j = 1; j <= ns; j++) printf "---:|"
    for (j = 1; j <= ns; j++) if (servers[j] != "redis") printf "---:|---:|"
    printf "\n"
    for (i = 1; i <= nr; i++) {
      k = rows[i]; printf "| %s |", k
      for (j = 1; j <= ns; j++) {
        s = servers[j]
        if (err[k, s] == 1) printf " error |"; else printf " %.0f (%.2f) |", rps[k, s], cpu[k, s]
      }
      for (j = 1; j <= ns; j++) {
        s = servers[j]; if (s == "redis") continue
        if (err[k, s] == 1 || rps[k, "redis"] == 0 || cpu[k, "redis"] == 0) printf " - | - |"
        else printf " %.2fx | %.2fx |", rps[k, s] / rps[k, "redis"], cpu[k, s] / cpu[k, "redis"]
      }
      printf "\n"
    }
    printf "\n### Memory: RSS per key (1 string key, 16-byte value)\n\n| server | keys | bytes/key |\n|---|---:|---:|\n"
    while ((getline line < mem) > 0) { split(line, f, ","); if (f[1] != "server") printf "| %s | %s | %s |\n", f[1], f[2], f[3] }
  }' "$CSV" | tee "$OUT/kv.md"
echo "bench-kv: $CSV, $MEM, $OUT/kv.md ($(nproc) cores, redis-benchmark on the same machine)" >&2
