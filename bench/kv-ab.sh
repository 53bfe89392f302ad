#!/usr/bin/env bash
# A/B of two kvserver configurations, interleaved: both servers run at
# once and each test runs on each in turn, ROUNDS times, so a change in the
# machine's load hits both alike (as bench/kv-interleave.sh does for
# kvserver vs Redis). Prints CSV:
#   test,pipeline,round,server,requests_per_sec,server_cpu_us_per_req
# (CPU: utime+stime of the server from /proc/PID/stat around the test),
# then one summary line per test:
#   # test -P p: B/A req/s R.RRx, CPU/req C.CCx (median of rounds R.RRx, C.CCx)
# Knobs: A and B (kvserver options; default: 2 I/O threads with
# `shard-dispatch local` vs `owner`), SPECS ("test pipeline requests"
# triples), ROUNDS (3), BIN (target/release/kvserver; build it first),
# BIN_A / BIN_B (default BIN: a before/after comparison of two builds).
# Used for docs/BENCHMARKS.md "Shard ownership".
set -uo pipefail
cd "$(dirname "$0")/.."
A=${A-"--io-threads 2 --shard-dispatch local"}
B=${B-"--io-threads 2 --shard-dispatch owner"}
SPECS=${SPECS:-"set 1 200000|get 1 200000|set 16 1000000|get 16 1000000|incr 16 1000000|lpush 16 1000000|sadd 16 1000000"}
ROUNDS=${ROUNDS:-3}
BIN=${BIN:-target/release/kvserver}
BIN_A=${BIN_A:-$BIN}
BIN_B=${BIN_B:-$BIN}
APORT=${APORT:-27971}
BPORT=${BPORT:-27972}
TICK=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# shellcheck disable=SC2086 # the options are meant to split
"$BIN_A" --port "$APORT" $A >/dev/null 2>&1 &
pa=$!
# shellcheck disable=SC2086
"$BIN_B" --port "$BPORT" $B >/dev/null 2>&1 &
pb=$!
csv=$(mktemp)
trap 'kill $pa $pb 2>/dev/null; wait 2>/dev/null; rm -f "$csv"' EXIT
sleep 0.6
for pid in $pa $pb; do
  kill -0 "$pid" 2>/dev/null || { echo "kv-ab: a server did not start (ports $APORT/$BPORT busy?)" >&2; exit 1; }
done
echo "# A: $BIN_A $A"
echo "# B: $BIN_B $B"
echo "test,pipeline,round,server,requests_per_sec,server_cpu_us_per_req"
IFS='|' read -ra specs <<<"$SPECS"
for spec in "${specs[@]}"; do
  read -r t p n <<<"$spec"
  for round in $(seq 1 "$ROUNDS"); do
    # Who goes first alternates, so a machine that speeds up or slows
    # down during a round does not always favour the same build.
    order=("A $pa $APORT" "B $pb $BPORT")
    ((round % 2 == 0)) && order=("${order[1]}" "${order[0]}")
    for srv in "${order[@]}"; do
      read -r name pid port <<<"$srv"
      c0=$(cpu "$pid")
      rps=$(redis-benchmark -p "$port" -c 50 -n "$n" -r 100000 -P "$p" -t "$t" --csv 2>/dev/null |
        tail -1 | cut -d'"' -f4)
      c1=$(cpu "$pid")
      awk -v c0="$c0" -v c1="$c1" -v n="$n" -v tk="$TICK" -v head="$t,$p,$round,$name,$rps" \
        'BEGIN { printf "%s,%.2f\n", head, (c1 - c0) * 1e6 / tk / n }' | tee -a "$csv"
    done
  done
  # Ratio of the sums over the rounds, and the median of the rounds'
  # ratios (a slow spell during one build's run moves the sums, hardly
  # the median).
  awk -F, -v t="$t" -v p="$p" '
    function median(a, n,   i, j, x) {
      for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == t && $2 == p { rps[$4] += $5; cpu[$4] += $6; r[$3, $4] = $5; c[$3, $4] = $6; if ($3 > n) n = $3 }
    END { if (rps["A"] > 0 && cpu["A"] > 0) {
      for (i = 1; i <= n; i++) { rr[i] = r[i, "B"] / r[i, "A"]; cc[i] = c[i, "A"] > 0 ? c[i, "B"] / c[i, "A"] : 1 }
      printf "# %s -P %s: B/A req/s %.2fx, CPU/req %.2fx (median of rounds %.2fx, %.2fx)\n", t, p,
        rps["B"] / rps["A"], cpu["B"] / cpu["A"], median(rr, n), median(cc, n) } }' "$csv"
done
