#!/usr/bin/env bash
# `make bench-echo`: the echo scaling experiment in one command.
#
# For each server (epoll; proactor on threads, uring, and kernel when
# /dev/fastio exists) and each worker count 1..MAX_WORKERS, start the server
# (pinned as the fastio.conf in CONFIG says), drive it with echo-bench
# (byte-verified, server CPU measured through its pid), stop it. Writes
# $OUT/echo.csv, $OUT/echo.md (tables) and $OUT/echo.svg (plots).
#
# Knobs (environment): MAX_WORKERS (default: all cores), CONNS (25), LEN
# (512), SECS (5), WARMUP (1), CONFIG (fastio.conf), OUT (bench/out),
# SERVERS (default "epoll threads uring kernel"), PORT (12345).
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_WORKERS=${MAX_WORKERS:-$(nproc)}
CONNS=${CONNS:-25}
LEN=${LEN:-512}
SECS=${SECS:-5}
WARMUP=${WARMUP:-1}
CONFIG=${CONFIG:-fastio.conf}
OUT=${OUT:-bench/out}
PORT=${PORT:-12345}
SERVERS=${SERVERS:-epoll threads uring kernel}
BIN=target/release

cargo build --release -q -p fastio-echo -p fastio-bench
mkdir -p "$OUT"
CSV=$OUT/echo.csv
rm -f "$CSV"

# The epoll baseline has no fastio.conf; give it the same pinning.
affinity=$(sed -n 's/^[[:space:]]*affinity_offset[[:space:]]*=[[:space:]]*\(-\{0,1\}[0-9]*\).*/\1/p' "$CONFIG" | tail -1)
affinity=${affinity:--1}

plan=()
for s in $SERVERS; do
  case $s in
    kernel) [ -e /dev/fastio ] || { echo "bench-echo: no /dev/fastio, skipping the kernel backend" >&2; continue; } ;;
    uring) "$BIN/fastio-microbench" --backends uring --seconds 0.01 >/dev/null 2>&1 \
             || { echo "bench-echo: io_uring unavailable, skipping uring" >&2; continue; } ;;
  esac
  for k in $(seq 1 "$MAX_WORKERS"); do plan+=("$s:$k"); done
done

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

i=0
header=--csv-header
for item in "${plan[@]}"; do
  i=$((i + 1))
  s=${item%%:*}
  k=${item##*:}
  if [ "$s" = epoll ]; then
    "$BIN/epoll_echo_server" --port "$PORT" --threads "$k" --affinity-offset "$affinity" 2>"$OUT/server.log" &
    server=epoll backend=-
  else
    "$BIN/proactor_echo_server" --port "$PORT" --config "$CONFIG" --backend "$s" \
      --workers "$k" --threads "$k" 2>"$OUT/server.log" &
    server=proactor backend=$s
  fi
  server_pid=$!
  if ! wait_port; then
    echo "bench-echo: $server/$backend with $k workers did not start:" >&2
    cat "$OUT/server.log" >&2
    exit 1
  fi
  printf '[%d/%d] %-8s %-8s workers=%d ... ' "$i" "${#plan[@]}" "$server" "$backend" "$k" >&2
  "$BIN/echo-bench" -a "127.0.0.1:$PORT" -c "$CONNS" -l "$LEN" -t "$SECS" --warmup "$WARMUP" \
    --server-pid "$server_pid" --format csv $header \
    --tag-server "$server" --tag-backend "$backend" --tag-workers "$k" >>"$CSV"
  header=""
  tail -1 "$CSV" | awk -F, '{printf "%.0f req/s, server %.2f us/req\n", $9, $22}' >&2
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
done

"$BIN/bench-report" --csv "$CSV" --markdown "$OUT/echo.md" --svg "$OUT/echo.svg"
echo "bench-echo: $CSV, $OUT/echo.md, $OUT/echo.svg (machine: $(nproc) cores, client on the same machine)" >&2
cat "$OUT/echo.md"
