#!/usr/bin/env bash
# `make bench-scaling`: the 1..8-worker scaling sweep of the echo server and
# of kvserver, for a machine with enough cores to give the server 8 of them
# and the load generators the rest (16 cores or more). On 2 cores use
# `make bench-echo` / `make bench-kv` instead: there the client is the
# bottleneck and no scaling can show.
#
# The server runs on cores 0..7 (taskset), the clients on the other cores,
# so every configuration has the same 8 cores and only its worker count
# changes. For each worker count k in WORKERS:
#   echo: epoll_echo_server --threads k, and proactor_echo_server with k
#         FastIO workers and k proactor threads on each available backend,
#         driven by echo-bench (CONNS connections, LEN bytes, byte-verified);
#   kv:   kvserver with k I/O threads and k FastIO workers on each backend,
#         in each KV_DISPATCH mode (shard-dispatch owner: commands run on
#         their keys' shard owner; local: where they arrived), driven by
#         KV_PROCS redis-benchmark processes (GET/SET, -P 1, -P 16);
#         plus redis-server (single-threaded) once, as the reference.
# Requests/s and server CPU us/request (utime+stime of the server process over
# the test) go to $OUT/echo.csv and $OUT/kv.csv; the tables are printed.
#
# Binaries: $BIN (default target/release: `cargo build --release -p
# fastio-echo -p fastio-bench -p kvserver`); redis-benchmark/redis-server from
# PATH, or from $REDIS_DIR run through the loader in $REDIS_DIR/lib (how a
# copied Debian build runs on a machine without those packages).
# Knobs: WORKERS ("1 2 3 4 6 8"), BACKENDS ("threads uring kernel"),
# SECS (3), CONNS (64), LEN (512), KV_CLIENTS (128: connections in all),
# KV_PROCS (8: redis-benchmark processes sharing them),
# N1 (300000: requests per -P 1 test), N16 (3000000: per -P 16 test),
# KV_DISPATCH ("owner local"),
# PARTS ("echo kv": which experiments).
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-target/release}
OUT=${OUT:-bench/out}
WORKERS=${WORKERS:-1 2 3 4 6 8}
BACKENDS=${BACKENDS:-threads uring kernel}
SECS=${SECS:-3}
CONNS=${CONNS:-64}
LEN=${LEN:-512}
KV_CLIENTS=${KV_CLIENTS:-128}
KV_PROCS=${KV_PROCS:-8}
N1=${N1:-300000}
PARTS=${PARTS:-echo kv}
N16=${N16:-3000000}
KV_DISPATCH=${KV_DISPATCH:-owner local}
ECHO_PORT=12345
KV_PORT=6399
mkdir -p "$OUT"

cores=$(nproc)
if command -v taskset >/dev/null && [ "$cores" -ge 12 ]; then
  SERVER_CPUS=(taskset -c 0-7)
  CLIENT_CPUS=(taskset -c "8-$((cores - 1))")
  pinning="server on cores 0-7, clients on 8-$((cores - 1))"
else
  SERVER_CPUS=() CLIENT_CPUS=()
  pinning="no pinning (taskset missing or fewer than 12 cores)"
fi
echo "scaling-sweep: $cores cores, $pinning, kernel $(uname -r)" >&2

# redis-benchmark / redis-server: from PATH, or a copied build run through
# its own loader and libraries.
if [ -n "${REDIS_DIR:-}" ]; then
  loader=("$REDIS_DIR/lib/ld-linux-x86-64.so.2" --library-path "$REDIS_DIR/lib")
  RB=("${loader[@]}" "$REDIS_DIR/redis-benchmark") RS=("${loader[@]}" "$REDIS_DIR/redis-server")
else
  RB=(redis-benchmark) RS=(redis-server)
fi

backends=()
for b in $BACKENDS; do
  case $b in
    kernel) [ -e /dev/fastio ] || { echo "scaling-sweep: no /dev/fastio, skipping kernel" >&2; continue; } ;;
    uring) "$BIN/fastio-microbench" --backends uring --seconds 0.01 >/dev/null 2>&1 \
             || { echo "scaling-sweep: io_uring unavailable here, skipping uring" >&2; continue; } ;;
  esac
  backends+=("$b")
done

pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)
wait_port() {
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "scaling-sweep: nothing listens on port $1; server log:" >&2
  cat "$OUT/server.log" >&2
  return 1
}

# ---- echo ---------------------------------------------------------------
ECSV=$OUT/echo.csv
rm -f "$ECSV"
header=--csv-header
case " $PARTS " in *" echo "*) echo_workers=$WORKERS ;; *) echo_workers="" ;; esac
for k in $echo_workers; do
  for s in epoll "${backends[@]}"; do
    if [ "$s" = epoll ]; then
      "${SERVER_CPUS[@]}" "$BIN/epoll_echo_server" --port $ECHO_PORT --threads "$k" 2>"$OUT/server.log" &
      server=epoll backend=-
    else
      "${SERVER_CPUS[@]}" "$BIN/proactor_echo_server" --port $ECHO_PORT --backend "$s" \
        --workers "$k" --threads "$k" 2>"$OUT/server.log" &
      server=proactor backend=$s
    fi
    pid=$!
    wait_port $ECHO_PORT || { stop; continue; }
    "${CLIENT_CPUS[@]}" "$BIN/echo-bench" -a 127.0.0.1:$ECHO_PORT -c "$CONNS" -l "$LEN" -t "$SECS" \
      --warmup 1 --server-pid "$pid" --format csv $header --allow-errors \
      --tag-server "$server" --tag-backend "$backend" --tag-workers "$k" >>"$ECSV"
    header=""
    tail -1 "$ECSV" | awk -F, -v s="$server/$backend" -v k="$k" \
      '{ printf "echo %-16s k=%d %10.0f req/s %7.2f us CPU/req errors=%s\n", s, k, $9, $22, $16 }' >&2
    stop
  done
done

# ---- kvserver -------------------------------------------------------------
KCSV=$OUT/kv.csv
echo "server,backend,workers,test,pipeline,requests_per_sec,server_cpu_us_per_req" >"$KCSV"
kv_tests() { # kv_tests SERVER BACKEND K
  # KV_PROCS single-threaded redis-benchmark processes in parallel, timed
  # here: redis-benchmark's own --threads mode reports requests/s from a
  # clock that advances in 250 ms steps (seen as identical plateaus).
  local p t n line rps c0 c1 cpu t0 t1 i failed pids
  for p in 1 16; do
    n=$([ "$p" = 1 ] && echo "$N1" || echo "$N16")
    for t in get set; do
      c0=$(cpu_ticks "$pid")
      t0=$(date +%s%N)
      pids=()
      for i in $(seq 1 "$KV_PROCS"); do
        "${CLIENT_CPUS[@]}" timeout 120 "${RB[@]}" -p $KV_PORT -c $((KV_CLIENTS / KV_PROCS)) \
          -n $((n / KV_PROCS)) -r 100000 -P "$p" -t "$t" --csv >"$OUT/rb.$i" 2>&1 &
        pids+=($!)
      done
      failed=0
      for i in "${pids[@]}"; do wait "$i" || failed=1; done
      t1=$(date +%s%N)
      c1=$(cpu_ticks "$pid")
      for i in $(seq 1 "$KV_PROCS"); do
        line=$(tail -1 "$OUT/rb.$i")
        case $(echo "$line" | awk -F'"' '{ print $4 }') in '' | *[!0-9.]*) failed=1 ;; esac
      done
      n=$((n / KV_PROCS * KV_PROCS))
      rps=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / ((b - a) / 1e9) }')
      [ "$failed" = 0 ] || { echo "scaling-sweep: $1/$2 k=$3 $t -P $p failed: $line" >&2; rps=0; }
      cpu=$(awk -v a="$c0" -v b="$c1" -v tk="$TICK" -v n="$n" 'BEGIN { printf "%.2f", (b - a) / tk * 1e6 / n }')
      echo "$1,$2,$3,$t,$p,$rps,$cpu" >>"$KCSV"
      printf 'kv   %-16s k=%d %-3s -P %-2s %10.0f req/s %7.2f us CPU/req\n' "$1/$2" "$3" "$t" "$p" "$rps" "$cpu" >&2
    done
  done
}
case " $PARTS " in *" kv "*) kv_workers=$WORKERS ;; *) kv_workers="" ;; esac
[ -n "$kv_workers" ] && "${RS[@]}" --version >/dev/null 2>&1 && {
  "${SERVER_CPUS[@]}" "${RS[@]}" --port $KV_PORT --save '' --appendonly no >"$OUT/server.log" 2>&1 &
  pid=$!
  wait_port $KV_PORT && kv_tests redis - 1
  stop
}
for k in $kv_workers; do
  for b in "${backends[@]}"; do
    # With the server on cores 0-7, I/O thread i gets core i of its own.
    pin=()
    [ ${#SERVER_CPUS[@]} -gt 0 ] && pin=(--server_cpulist "0-$((k - 1))")
    for d in $KV_DISPATCH; do
      "${SERVER_CPUS[@]}" "$BIN/kvserver" --port $KV_PORT --backend "$b" --io-threads "$k" \
        --workers "$k" --shard-dispatch "$d" "${pin[@]}" >"$OUT/server.log" 2>&1 &
      pid=$!
      wait_port $KV_PORT || { stop; continue; }
      kv_tests "kvserver-$d" "$b" "$k"
      stop
    done
  done
done

# ---- tables ---------------------------------------------------------------
if [ -s "$ECSV" ]; then
  echo
  echo "## echo ($CONNS connections, $LEN-byte messages, ${SECS}s each; $pinning)"
  echo
awk -F, 'NR > 1 {
    key = $2 "/" $3; rps[key, $4] = $9; cpu[key, $4] = $22
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    if (!($4 in ks)) { ks[$4] = 1; kl[++m] = $4 }
  }
  END {
    printf "| server | workers | req/s | vs 1 worker | server CPU us/req |\n|---|---|---|---|---|\n"
    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) {
      key = order[i]; k = kl[j]; if (!((key, k) in rps)) continue
      base = rps[key, kl[1]]
      printf "| %s | %s | %.0f | %.2fx | %.2f |\n", key, k, rps[key, k], (base > 0 ? rps[key, k] / base : 0), cpu[key, k]
    }
  }' "$ECSV"
fi
if [ -n "$kv_workers" ]; then
echo
echo "## kvserver ($KV_PROCS redis-benchmark processes, $KV_CLIENTS connections in all, -r 100000; redis-server is single-threaded)"
echo
awk -F, 'NR > 1 {
    key = $1 "/" $2 " " $4 " -P " $5; v[key, $3] = $6; c[key, $3] = $7
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
  }
  END {
    printf "| server / test | workers | req/s | vs 1 worker | server CPU us/req |\n|---|---|---|---|---|\n"
    for (i = 1; i <= n; i++) {
      key = order[i]; base = ""
      for (k = 1; k <= 64; k++) if ((key, k) in v) {
        if (base == "") base = v[key, k]
        printf "| %s | %d | %.0f | %.2fx | %.2f |\n", key, k, v[key, k], (base > 0 ? v[key, k] / base : 0), c[key, k]
      }
    }
  }' "$KCSV"
fi
