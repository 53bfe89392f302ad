#!/usr/bin/env bash
# kmod/vm/run.sh: build the fastio kernel module and the test programs, boot
# them in a qemu guest running Debian's kernel, and judge the console log.
#
#   kmod/vm/run.sh            two boots: plain, then slub_debug + poisoning
#   kmod/vm/run.sh --quick    one plain boot
#   kmod/vm/run.sh --shell    boot to an interactive busybox shell (module loaded)
#   kmod/vm/run.sh --bench    benchmarks in the guest (KVM when usable; on TCG
#                             a smoke test whose numbers mean nothing)
#
# Exit status 0 only if every boot passed every step (see kmod/vm/README.md).
# Environment (all optional):
#   FASTIO_KMOD_DIR        module source dir            [<repo>/kmod]
#   FASTIO_KMOD_NAME       module name (NAME.ko)        [fastio]
#   FASTIO_DEV_NAME        misc device name (/dev/NAME) [$FASTIO_KMOD_NAME]
#   FASTIO_KMOD_PARAMS     insmod parameters            []
#   FASTIO_VM_ECHO_BACKEND --backend of the echo server [kernel]
#   FASTIO_VM_KVER         kernel version to use        [newest with headers + image]
#   FASTIO_VM_APPEND       extra kernel command line    []
#   FASTIO_VM_QEMU_ARGS    extra qemu arguments         []
#   FASTIO_VM_TIMEOUT      seconds per boot             [900]
#   FASTIO_VM_TEST_TIMEOUT seconds per test binary      [60]
#   FASTIO_VM_OUT          output dir                   [<repo>/target/vm]
#   FASTIO_VM_STEPS        run only these steps (iterating; the run then fails) []
#   FASTIO_VM_CPUS         --bench: guest vCPUs         [host CPUs with KVM, else 2]
#   FASTIO_VM_BENCH_SECS   --bench: seconds per echo run [5 with KVM, else 1]
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)

KMOD_DIR=${FASTIO_KMOD_DIR:-$REPO_ROOT/kmod}
KMOD_NAME=${FASTIO_KMOD_NAME:-fastio}
DEV_NAME=${FASTIO_DEV_NAME:-$KMOD_NAME}
KMOD_PARAMS=${FASTIO_KMOD_PARAMS:-}
ECHO_BACKEND=${FASTIO_VM_ECHO_BACKEND:-kernel}
EXTRA_APPEND=${FASTIO_VM_APPEND:-}
EXTRA_QEMU=${FASTIO_VM_QEMU_ARGS:-}
QEMU_TIMEOUT=${FASTIO_VM_TIMEOUT:-900}
TEST_TIMEOUT=${FASTIO_VM_TEST_TIMEOUT:-60}
OUT=${FASTIO_VM_OUT:-$REPO_ROOT/target/vm}
CARGO=${CARGO:-cargo}
TARGET=x86_64-unknown-linux-gnu

PACKAGES=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio)
TESTS=(ops poller proactor pools stress ring_model kernel_device)
BASE_APPEND="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1 hung_task_panic=1 nokaslr quiet"
SLUB_APPEND="slub_debug=FZPU page_poison=1 init_on_free=1"
# Anything matching this in a console log fails the boot. "BUG" is matched as
# a word: slub_debug reports read "BUG kmalloc-32 (...): ...", with no colon.
BAD_RE='Oops|(^|[^A-Za-z_])BUG([: ]|$)|WARNING:|Call Trace|Kernel panic|general protection fault|blocked for more than|FASTIO-FAIL|UBSAN|list_add corruption|list_del corruption'

MODE=full
usage() { sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
    --quick) MODE=quick ;;
    --shell) MODE=shell ;;
    --bench) MODE=bench ;;
    -h | --help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

T_START=$SECONDS
log() { printf '\n=== vm: %s\n' "$*"; }
die() { printf '\n=== vm: ERROR: %s\n' "$*" >&2; exit 1; }
FAILURES=() # reasons the overall result is a failure

mkdir -p "$OUT"
# One run per output dir at a time: a second run would overwrite the cargo
# JSON, the initramfs and the logs under the first one's feet.
if command -v flock >/dev/null; then
    exec 9>"$OUT/.lock"
    if ! flock -n 9; then
        echo "=== vm: another run.sh is using $OUT; waiting for it (set FASTIO_VM_OUT to run both at once)"
        flock 9
    fi
fi

# ------------------------------------------------------------------ packages
ensure_packages() {
    local missing=() p
    if command -v dpkg-query >/dev/null; then
        for p in "${PACKAGES[@]}"; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
        done
    fi
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
            die "missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y --no-install-recommends ${missing[*]})"
        fi
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends "${missing[@]}"
    fi
    for p in qemu-system-x86_64 cpio gzip make timeout "$CARGO"; do
        command -v "$p" >/dev/null || die "'$p' not found"
    done
}

# ------------------------------------------------------------------ kernel
resolve_kernel() {
    local d v
    KVER=
    if [ -n "${FASTIO_VM_KVER:-}" ]; then
        KVER=$FASTIO_VM_KVER
    else
        # Newest version that has both the headers and the image.
        for d in $(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -rV); do
            v=${d#/usr/src/linux-headers-}
            if [ -f "/boot/vmlinuz-$v" ]; then KVER=$v; break; fi
        done
    fi
    [ -n "$KVER" ] || die "no kernel with both /usr/src/linux-headers-*-amd64 and /boot/vmlinuz-* (packages linux-headers-amd64, linux-image-amd64)"
    KHDR=/usr/src/linux-headers-$KVER
    VMLINUZ=/boot/vmlinuz-$KVER
    [ -d "$KHDR" ] || die "$KHDR missing"
    [ -r "$VMLINUZ" ] || die "$VMLINUZ missing or unreadable"
    KERNEL=$(extract_vmlinux) || KERNEL=$VMLINUZ
    log "kernel $KVER: booting $KERNEL"
}

# The uncompressed ELF vmlinux boots faster (PVH entry, no decompression).
# Same method as the kernel's scripts/extract-vmlinux, cached per version.
extract_vmlinux() {
    local cached=$OUT/vmlinux-$KVER tmp=$OUT/vmlinux-$KVER.tmp pos magic cmd
    if [ -s "$cached" ] && [ "$cached" -nt "$VMLINUZ" ]; then echo "$cached"; return 0; fi
    command -v grep >/dev/null || return 1
    for magic in 'xz:\xfd7zXZ\x00' 'gzip:\x1f\x8b\x08' 'zstd:\x28\xb5\x2f\xfd'; do
        cmd=${magic%%:*}
        command -v "$cmd" >/dev/null || continue
        for pos in $(LC_ALL=C grep -obUaP "${magic#*:}" "$VMLINUZ" 2>/dev/null | cut -d: -f1); do
            if tail -c+$((pos + 1)) "$VMLINUZ" | "$cmd" -dc >"$tmp" 2>/dev/null || [ -s "$tmp" ]; then
                if [ "$(head -c4 "$tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
                    mv "$tmp" "$cached"
                    echo "$cached"
                    return 0
                fi
            fi
        done
    done
    rm -f "$tmp"
    echo "vm: could not extract vmlinux from $VMLINUZ; booting the bzImage" >&2
    return 1
}

# ------------------------------------------------------------------ module
# Built in a scratch copy of the module directory: always a full build (so
# every warning shows, even when the tree's own .ko is up to date), and no
# interference with builds in the source tree.
build_module() {
    local src=$KMOD_DIR bdir=$OUT/kmod-build blog=$OUT/kmod-build.log rc f
    [ -f "$src/Kbuild" ] || [ -f "$src/Makefile" ] || die "no Kbuild or Makefile in $src (set FASTIO_KMOD_DIR?)"
    log "building $KMOD_NAME.ko from $src (W=1, warnings are errors)"
    rm -rf "$bdir"
    mkdir -p "$bdir"
    (cd "$src" && tar --exclude=./vm --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
        --exclude='*.mod.c' --exclude='.*.cmd' --exclude=Module.symvers --exclude=modules.order \
        -cf - .) | tar -C "$bdir" -xf -
    set +e
    make -C "$KHDR" M="$bdir" W=1 modules 2>&1 | tee "$blog"
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" -eq 0 ] || die "module build failed (make exit $rc); log: $blog"
    if grep -q 'warning:' "$blog"; then
        grep -n 'warning:' "$blog" >&2
        die "module build produced compiler warnings (log: $blog)"
    fi
    KO=$bdir/$KMOD_NAME.ko
    [ -f "$KO" ] || { f=$(find "$bdir" -name '*.ko' | head -5); die "$KO not built (found: ${f:-none})"; }
}

# ------------------------------------------------------------------ Rust
# Executable paths from cargo's JSON messages: only what this build produced
# (a stale binary from an earlier build in the same dir is never picked up).
artifact_path() { # artifact_path JSONFILE KIND NAME
    local json=$1 kind=$2 name=$3
    if command -v jq >/dev/null; then
        jq -r --arg k "$kind" --arg n "$name" \
            'select(.reason == "compiler-artifact" and .executable != null
                    and .target.name == $n and (.target.kind | index($k)))
             | .executable' "$json" | tail -n1
    else
        grep '"reason":"compiler-artifact"' "$json" |
            grep -F "\"kind\":[\"$kind\"]" | grep -F "\"name\":\"$name\"" |
            sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1
    fi
}

CARGO_DIR=$OUT/cargo
cargo_static() { # cargo_static JSONOUT LOG ARGS...
    local json=$1 clog=$2
    shift 2
    (cd "$REPO_ROOT" && RUSTFLAGS='-C target-feature=+crt-static' \
        "$CARGO" "$@" --release --target "$TARGET" --target-dir "$CARGO_DIR" \
        --message-format=json-render-diagnostics >"$json" 2>"$clog")
}

# The C clients, with the uapi header alone: wakeless.c never calls WAKE;
# bufsel.c drives buffer groups, BUFFER_SELECT and MULTISHOT.
build_c() {
    local c
    for c in wakeless bufsel; do
        log "building static $c (C, uapi header only)"
        gcc -static -O2 -Wall -Wextra -Werror -pthread -I "$KMOD_DIR/include" \
            -o "$OUT/$c" "$SCRIPT_DIR/$c.c" || die "building kmod/vm/$c.c failed"
        BIN[$c]=$OUT/$c
    done
}

build_rust() {
    local t p json=$OUT/cargo-tests.json clog=$OUT/cargo-tests.log args=()
    for t in "${TESTS[@]}"; do args+=(--test "$t"); done
    log "building static test binaries: ${TESTS[*]}"
    if ! cargo_static "$json" "$clog" test -p fastio "${args[@]}" --no-run; then
        tail -n 40 "$clog" >&2
        die "building the fastio test binaries failed (log: $clog)"
    fi
    declare -gA BIN=()
    for t in "${TESTS[@]}"; do
        p=$(artifact_path "$json" test "$t")
        [ -n "$p" ] && [ -x "$p" ] || die "no executable for test '$t' in cargo's output ($json)"
        BIN[$t]=$p
    done

    json=$OUT/cargo-echo.json clog=$OUT/cargo-echo.log
    log "building static proactor_echo_server (fastio-echo) and echo-bench (fastio-bench)"
    HAVE_ECHO=1
    if cargo_static "$json" "$clog" build -p fastio-echo --bin proactor_echo_server \
        --bin epoll_echo_server -p fastio-bench --bin echo-bench; then
        for t in proactor_echo_server epoll_echo_server echo-bench; do
            p=$(artifact_path "$json" bin "$t")
            if [ -n "$p" ] && [ -x "$p" ]; then BIN[$t]=$p; else HAVE_ECHO=0; fi
        done
    else
        HAVE_ECHO=0
        tail -n 30 "$clog" >&2
    fi
    json=$OUT/cargo-kv.json clog=$OUT/cargo-kv.log
    log "building static kvserver"
    HAVE_KV=0
    if cargo_static "$json" "$clog" build -p kvserver --bin kvserver; then
        p=$(artifact_path "$json" bin kvserver)
        [ -n "$p" ] && [ -x "$p" ] && { BIN[kvserver]=$p; HAVE_KV=1; }
    else
        tail -n 30 "$clog" >&2
    fi
    # Debian's redis-benchmark and redis-cli (dynamically linked) run in the
    # guest through their own loader and libraries, copied next to them.
    if [ "$HAVE_KV" -eq 1 ] && command -v redis-benchmark >/dev/null && command -v redis-cli >/dev/null; then
        HAVE_KV=1
    else
        [ "$HAVE_KV" -eq 1 ] && FAILURES+=("redis-benchmark/redis-cli missing (package redis-tools): kvserver test SKIPPED")
        [ "$HAVE_KV" -eq 0 ] && FAILURES+=("kvserver did not build (log: $clog): kvserver test SKIPPED")
        HAVE_KV=0
    fi
    if [ "$HAVE_ECHO" -eq 0 ]; then
        printf '\n%s\n' "################################################################"
        echo "### SKIPPED: echo tests: proactor_echo_server / echo-bench did not build"
        echo "### (log: $clog). The run continues without them but FAILS at the end."
        printf '%s\n' "################################################################"
        FAILURES+=("echo programs did not build: echo tests SKIPPED")
    fi
}

# ------------------------------------------------------------------ initramfs
make_initramfs() {
    local root=$OUT/initramfs bb a t steps
    bb=$(command -v busybox 2>/dev/null || true)
    for a in /bin/busybox /usr/bin/busybox "$bb"; do
        [ -n "$a" ] && [ -x "$a" ] && file_is_static "$a" && { bb=$a; break; }
    done
    [ -x "$bb" ] && file_is_static "$bb" || die "no static busybox (package busybox-static)"
    log "initramfs: busybox $bb, $KMOD_NAME.ko, ${!BIN[*]}"
    rm -rf "$root"
    mkdir -p "$root"/{bin,dev,proc,sys,tmp,fastio/bin,etc}
    cp "$bb" "$root/bin/busybox"
    for a in $("$bb" --list); do
        [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
    done
    # /dev/console for the kernel's initial console (needs root; without it
    # /init reopens stdio on devtmpfs's console).
    [ "$(id -u)" -eq 0 ] && mknod -m 600 "$root/dev/console" c 5 1
    cp "$KO" "$root/fastio/$KMOD_NAME.ko"
    for t in "${!BIN[@]}"; do
        # Debug info makes the binaries ~5x larger; symbols (for backtraces) stay.
        if command -v strip >/dev/null; then
            strip --strip-debug -o "$root/fastio/bin/$t" "${BIN[$t]}"
        else
            cp "${BIN[$t]}" "$root/fastio/bin/$t"
        fi
    done
    if [ "$HAVE_KV" -eq 1 ]; then
        mkdir -p "$root/fastio/redis/lib"
        for t in redis-benchmark redis-cli; do
            a=$(readlink -f "$(command -v "$t")")
            cp "$a" "$root/fastio/redis/$t"
            ldd "$a" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | while read -r l; do
                [ -f "$l" ] && cp -L "$l" "$root/fastio/redis/lib/"
            done
        done
    fi
    cp "$SCRIPT_DIR/init.sh" "$root/init"
    chmod 755 "$root/init"

    # The plan: the steps the guest runs, in order (also what the verdict expects).
    steps="insmod"
    for t in "${TESTS[@]}"; do steps+=" test_$t"; done
    steps+=" wakeless bufsel"
    if [ "$MODE" = bench ]; then
        [ "$HAVE_ECHO" -eq 1 ] && [ "$HAVE_KV" -eq 1 ] || die "--bench needs the echo programs and kvserver"
        steps="insmod bench_echo bench_kv rmmod"
    elif [ "$HAVE_ECHO" -eq 1 ]; then
        steps+=" echo_w1 echo_w2t2 echo_churn echo_sigkill echo_after_kill echo_two_procs"
        [ "$HAVE_KV" -eq 1 ] && steps+=" kvserver_bench"
        steps+=" rmmod reinsmod echo_reload rmmod2"
    else
        steps+=" rmmod reinsmod rmmod2"
    fi
    [ "$MODE" = bench ] || steps+=" faults"
    steps+=" taint"
    if [ -n "${FASTIO_VM_STEPS:-}" ]; then
        # Iterating on a few steps: the run then fails at the end anyway.
        steps=$FASTIO_VM_STEPS
        FAILURES+=("FASTIO_VM_STEPS set: only '$steps' ran")
    fi
    PLAN=$steps
    cat >"$root/fastio/plan.env" <<EOF
MODE='$([ "$MODE" = shell ] && echo shell || echo test)'
KMOD_NAME='$KMOD_NAME'
DEV_NAME='$DEV_NAME'
KMOD_PARAMS='$KMOD_PARAMS'
ECHO_BACKEND='$ECHO_BACKEND'
PLAN='$PLAN'
TEST_TIMEOUT='$TEST_TIMEOUT'
FATAL_STEPS='insmod reinsmod'
BENCH_MAXW='$((VM_CPUS / 2))'
BENCH_SECS='$BENCH_SECS'
BENCH_KV_N='$BENCH_KV_N'
EOF
    (cd "$root" && find . -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc --owner=0:0 --quiet) | gzip -1 >"$OUT/initrd.gz"
    log "initrd.gz: $(du -h "$OUT/initrd.gz" | cut -f1)"
}

file_is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'INTERP'; }

# ------------------------------------------------------------------ accel
# Tests boot on TCG (what every machine here can do; see the notes). --bench
# uses KVM when a one-second probe boot works (/dev/kvm can exist and still
# be unusable: nested virtualisation that the stock kernel cannot drive).
ACCEL=(-accel tcg,thread=multi -cpu max)
ACCEL_NAME=tcg
VM_CPUS=2
VM_MEM=1G
kvm_works() {
    [ -w /dev/kvm ] || return 1
    timeout 15 qemu-system-x86_64 -accel kvm -cpu host -smp 1 -m 256M -kernel "$KERNEL" \
        -nographic -no-reboot -nic none -append "console=ttyS0 panic=-1 rdinit=/none" \
        </dev/null 2>&1 | grep -q "Kernel panic"
}
pick_accel() {
    if [ "$MODE" = bench ] && kvm_works; then
        ACCEL=(-accel kvm -cpu host)
        ACCEL_NAME=kvm
        VM_CPUS=${FASTIO_VM_CPUS:-$(nproc)}
        VM_MEM=4G
        BENCH_SECS=${FASTIO_VM_BENCH_SECS:-5}
        BENCH_KV_N=200000
    else
        VM_CPUS=${FASTIO_VM_CPUS:-2}
        BENCH_SECS=${FASTIO_VM_BENCH_SECS:-1}
        BENCH_KV_N=2000
    fi
    [ "$VM_CPUS" -ge 2 ] || die "FASTIO_VM_CPUS must be at least 2"
    log "accelerator: $ACCEL_NAME, $VM_CPUS vCPUs"
}

# KVM: vCPU i runs on host CPU i, so the guest's own pinning (servers on
# vCPUs 0..N/2-1, the client on the rest) holds on the host too.
pin_vcpus() {
    local pid="" t name i
    for _ in $(seq 1 100); do
        pid=$(pgrep -n -f "qemu-system-x86_64.*$OUT/initrd.gz" || true)
        [ -n "$pid" ] && [ "$(ls "/proc/$pid/task" | wc -l)" -gt "$VM_CPUS" ] && break
        sleep 0.1
    done
    [ -n "$pid" ] || return 0
    sleep 1
    for t in /proc/"$pid"/task/*; do
        name=$(cat "$t/comm" 2>/dev/null) || continue
        case $name in
        "CPU "*/KVM)
            i=${name#CPU }
            i=${i%%/*}
            taskset -pc "$((i % $(nproc)))" "${t##*/}" >/dev/null 2>&1 || true
            ;;
        esac
    done
}

# --bench: the echo CSV through bench-report (built for the host), and the
# kvserver table as the guest printed it.
bench_report() {
    local clean=$OUT/console-bench.clean dir=$OUT/bench
    mkdir -p "$dir"
    tr -d '\r' <"$LOG" >"$clean"
    sed -n '/^FASTIO-CSV-BEGIN echo/,/^FASTIO-CSV-END echo/p' "$clean" |
        grep -vE '^(FASTIO-|fastio-init:|\[ )' | awk -F, 'NF >= 9' >"$dir/echo.csv" || true
    printf '\n=== vm: benchmarks in the guest (%s, %s vCPUs: servers on 0..%s, client on the rest)\n' \
        "$ACCEL_NAME" "$VM_CPUS" "$((VM_CPUS / 2 - 1))"
    if [ "$ACCEL_NAME" = tcg ]; then
        echo "### TCG (emulated CPU): a smoke test of the benchmark; its numbers mean NOTHING."
    fi
    if (cd "$REPO_ROOT" && "$CARGO" build --release -q -p fastio-bench --bin bench-report) &&
        [ -s "$dir/echo.csv" ]; then
        "$REPO_ROOT/target/release/bench-report" --csv "$dir/echo.csv" --markdown "$dir/echo.md" \
            --svg "$dir/echo.svg" && cat "$dir/echo.md"
    else
        FAILURES+=("no echo results to report ($dir/echo.csv)")
    fi
    sed -n '/^FASTIO-TABLE-BEGIN kvserver/,/^FASTIO-TABLE-END kvserver/p' "$clean" |
        grep '^|' | tee "$dir/kvserver.md"
    echo "    files: $dir/echo.csv echo.md echo.svg kvserver.md"
}

# ------------------------------------------------------------------ boot
boot() { # boot RUNNAME EXTRA_APPEND; sets QEMU_RC, LOG
    local name=$1 append="$BASE_APPEND $2 $EXTRA_APPEND" t0=$SECONDS
    LOG=$OUT/console-$name.log
    log "boot '$name': -append \"$append\" (console: $LOG)"
    local cmd=(qemu-system-x86_64 "${ACCEL[@]}" -smp "$VM_CPUS" -m "$VM_MEM"
        -kernel "$KERNEL" -initrd "$OUT/initrd.gz" -nographic -no-reboot -nic none
        -append "$append")
    # shellcheck disable=SC2206 # word splitting wanted
    [ -n "$EXTRA_QEMU" ] && cmd+=($EXTRA_QEMU)
    set +e
    if [ "$MODE" = shell ]; then
        "${cmd[@]}" 2>&1 | tee "$LOG"
        QEMU_RC=${PIPESTATUS[0]}
    else
        [ "$ACCEL_NAME" = kvm ] && pin_vcpus &
        timeout -k 10 "$QEMU_TIMEOUT" "${cmd[@]}" </dev/null 2>&1 | tee "$LOG"
        QEMU_RC=${PIPESTATUS[0]}
    fi
    set -e
    BOOT_SECS=$((SECONDS - t0))
}

# ------------------------------------------------------------------ verdict
# verdict RUNNAME: prints the step table, returns 0 if the boot passed.
verdict() {
    local name=$1 ok=0 s line n_pass=0 n_steps=0 clean
    clean=$OUT/console-$name.clean
    tr -d '\r' <"$LOG" >"$clean"
    printf '\n=== vm: result of boot "%s" (%ss, qemu exit %s)\n' "$name" "$BOOT_SECS" "$QEMU_RC"
    printf '    %-18s %-8s %s\n' STEP RESULT TIME
    for s in $PLAN; do
        n_steps=$((n_steps + 1))
        local res="not run" tm=""
        if grep -qE "FASTIO-PASS $s( |$)" "$clean"; then
            res=pass
            n_pass=$((n_pass + 1))
        elif line=$(grep -oE "FASTIO-FAIL $s [0-9]+" "$clean" | head -n1); then
            res="FAIL(${line##* })"
        elif grep -qE "FASTIO-SKIP $s( |$)" "$clean"; then
            res=skipped
        elif grep -qE "FASTIO-STEP $s( |$)" "$clean"; then
            res="died"
        fi
        tm=$(grep -oE "FASTIO-TIME $s [0-9.]+" "$clean" | head -n1 | awk '{ print $3 "s" }')
        printf '    %-18s %-8s %s\n' "$s" "$res" "$tm"
    done
    if [ "$QEMU_RC" -eq 124 ] || [ "$QEMU_RC" -eq 137 ]; then
        echo "    qemu killed after ${QEMU_TIMEOUT}s (guest hung)"
        ok=1
    elif [ "$QEMU_RC" -ne 0 ]; then
        echo "    qemu exited with $QEMU_RC"
        ok=1
    fi
    if [ "$n_pass" -ne "$n_steps" ]; then
        echo "    $n_pass of $n_steps steps passed"
        ok=1
    fi
    if ! grep -q 'FASTIO-DONE' "$clean"; then
        echo "    FASTIO-DONE missing: the guest did not finish the plan"
        ok=1
    fi
    if grep -qE "$BAD_RE" "$clean"; then
        echo "    the console shows kernel problems or failed steps:"
        grep -nE "$BAD_RE" "$clean" | head -n 30 | sed 's/^/      /'
        ok=1
    fi
    if [ $ok -eq 0 ]; then
        echo "    PASS ($n_pass/$n_steps steps)"
    else
        echo "    FAIL (console: $LOG)"
    fi
    return $ok
}

# ------------------------------------------------------------------ main
ensure_packages
resolve_kernel
pick_accel
build_module
build_rust
build_c
make_initramfs
BUILD_SECS=$((SECONDS - T_START))

if [ "$MODE" = shell ]; then
    boot shell ""
    exit 0
fi

declare -A RESULT=()
RUNS=(plain)
[ "$MODE" = full ] && RUNS+=(slub)
[ "$MODE" = bench ] && RUNS=(bench)
for r in "${RUNS[@]}"; do
    case $r in
    plain) boot plain "" ;;
    slub) boot slub "$SLUB_APPEND" ;;
    bench) boot bench "" ;;
    esac
    [ "$r" = bench ] && bench_report
    if verdict "$r"; then
        RESULT[$r]="PASS (${BOOT_SECS}s)"
    else
        RESULT[$r]="FAIL (${BOOT_SECS}s)"
        FAILURES+=("boot '$r' failed (console: $OUT/console-$r.log)")
    fi
done

printf '\n=== vm: summary (kernel %s, build %ss, total %ss)\n' "$KVER" "$BUILD_SECS" "$((SECONDS - T_START))"
for r in "${RUNS[@]}"; do printf '    %-6s %s\n' "$r" "${RESULT[$r]}"; done
if [ ${#FAILURES[@]} -gt 0 ]; then
    for f in "${FAILURES[@]}"; do echo "    FAILURE: $f"; done
    echo "=== vm: FAIL"
    exit 1
fi
echo "=== vm: PASS"
