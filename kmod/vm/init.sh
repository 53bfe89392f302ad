#!/bin/sh
# /init of the fastio test guest (busybox ash). Installed by kmod/vm/run.sh,
# which also writes /fastio/plan.env (what to load, which steps to run).
#
# Console protocol, read by run.sh:
#   FASTIO-PLAN <steps...>       the steps this boot will run, in order
#   FASTIO-STEP <name>           a step starts
#   FASTIO-PASS <name>           ... and passed
#   FASTIO-FAIL <name> <rc>      ... and failed with status rc
#   FASTIO-SKIP <name>           not run (an earlier fatal step failed)
#   FASTIO-TIME <name> <secs>    how long it took
#   FASTIO-DONE                  the plan finished; poweroff follows
# Anything the kernel logs that matches BAD_RE during a step fails that step
# too (the host also greps the whole console log).

export PATH=/bin:/fastio/bin
export HOME=/tmp TMPDIR=/tmp RUST_BACKTRACE=1

mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The initramfs may lack /dev/console (it is only created when run.sh runs
# as root); devtmpfs has it, so (re)attach stdio to it.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
# quiet on the command line hides KERN_WARNING; a WARN() splat is printed at
# that level, so let warnings (and worse) reach the console again.
echo 5 >/proc/sys/kernel/printk
echo 10 >/proc/sys/kernel/hung_task_timeout_secs
ip link set lo up

. /fastio/plan.env

BAD_RE='Oops|(^|[^A-Za-z_])BUG([: ]|$)|WARNING:|Call Trace|Kernel panic|general protection fault|blocked for more than|UBSAN|list_add corruption|list_del corruption'
BENCH="echo-bench -c 8 -l 512 --warmup 0"

say() { echo "fastio-init: $*"; }

now() { cut -d' ' -f1 /proc/uptime; }

kernel_complaints() { dmesg | grep -cE "$BAD_RE"; }

# ---------------------------------------------------------------- helpers

dev_path=/dev/$DEV_NAME

# /dev/$DEV_NAME must appear (devtmpfs); create it from sysfs if it does not.
check_devnode() {
    local i=0 mm
    while [ ! -c "$dev_path" ] && [ $i -lt 20 ]; do usleep 100000; i=$((i + 1)); done
    if [ ! -c "$dev_path" ]; then
        if [ -r "/sys/class/misc/$DEV_NAME/dev" ]; then
            mm=$(cat "/sys/class/misc/$DEV_NAME/dev")
            say "$dev_path missing; mknod from sysfs ($mm)"
            mknod "$dev_path" c "${mm%%:*}" "${mm##*:}" || return 1
        else
            say "$dev_path missing and /sys/class/misc/$DEV_NAME/dev absent"
            return 1
        fi
    fi
    ls -l "$dev_path"
}

do_insmod() {
    # shellcheck disable=SC2086 # KMOD_PARAMS is a list of words
    insmod "/fastio/$KMOD_NAME.ko" $KMOD_PARAMS || return 1
    [ -d "/sys/module/$KMOD_NAME" ] || { say "/sys/module/$KMOD_NAME missing after insmod"; return 1; }
    check_devnode
}

# rmmod must succeed once nothing uses the module. Retries for up to 2 s in
# case the last file reference is dropped asynchronously, and says so.
do_rmmod() {
    local i=1
    say "refcnt before rmmod: $(cat "/sys/module/$KMOD_NAME/refcnt" 2>/dev/null || echo '?')"
    while ! rmmod "$KMOD_NAME"; do
        if [ $i -ge 10 ]; then
            say "rmmod $KMOD_NAME failed $i times"
            lsmod
            return 1
        fi
        i=$((i + 1))
        usleep 200000
    done
    [ $i -gt 1 ] && say "NOTE: rmmod succeeded only at attempt $i"
    if [ -d "/sys/module/$KMOD_NAME" ]; then say "/sys/module/$KMOD_NAME still present"; return 1; fi
    if [ -e "$dev_path" ]; then say "$dev_path still present after rmmod"; return 1; fi
    return 0
}

# Waits until the module's reference count drops to 0 (every file closed).
wait_refcnt_zero() { # wait_refcnt_zero [SECS (default 5)]
    local f=/sys/module/$KMOD_NAME/refcnt i=0 secs=${1:-5}
    [ -r "$f" ] || return 0
    while [ "$(cat "$f")" != 0 ]; do
        if [ $i -ge $((secs * 10)) ]; then say "module refcnt still $(cat "$f") after $secs s"; return 1; fi
        i=$((i + 1))
        usleep 100000
    done
}

# Sets UP to the uptime in whole seconds (no fork: these loops poll often).
upsecs() {
    local up rest
    read -r up rest </proc/uptime
    UP=${up%.*}
}

# True while pid exists and is not a zombie.
alive() {
    local l st
    { read -r l <"/proc/$1/stat"; } 2>/dev/null || return 1
    st=${l##*) }
    st=${st%% *}
    [ -n "$st" ] && [ "$st" != Z ]
}

# Every thread of pid: state, wait channel and kernel stack.
dump_tasks() {
    local t
    for t in /proc/"$1"/task/*; do
        [ -d "$t" ] || continue
        echo "  -- task ${t##*/} ($(cat "$t/comm" 2>/dev/null)): state $(cut -d' ' -f3 "$t/stat" 2>/dev/null), wchan $(cat "$t/wchan" 2>/dev/null)"
        sed 's/^/       /' "$t/stack" 2>/dev/null
    done
}

# True once pid is gone or a zombie; false (after a task dump) after $2 s.
wait_gone() {
    local pid=$1 end
    upsecs
    end=$((UP + $2))
    while alive "$pid"; do
        upsecs
        if [ "$UP" -ge "$end" ]; then
            say "pid $pid still alive after $2 s:"
            dump_tasks "$pid"
            return 1
        fi
        usleep 100000
    done
    return 0
}

# run_timed SECS CMD...: runs CMD; after SECS dumps its threads' kernel
# stacks, SIGKILLs it and returns 137 (or 255 if it cannot be killed).
run_timed() {
    local secs=$1 pid end
    shift
    "$@" &
    pid=$!
    upsecs
    end=$((UP + secs))
    while alive "$pid"; do
        upsecs
        if [ "$UP" -ge "$end" ]; then
            say "TIMEOUT: '$*' still running after $secs s; its threads:"
            dump_tasks "$pid"
            kill -KILL "$pid"
            if ! wait_gone "$pid" 15; then
                say "pid $pid survives SIGKILL"
                return 255
            fi
            wait "$pid"
            return 137
        fi
        usleep 100000
    done
    wait "$pid"
}

# wait_listen PORT PID: until PORT listens on 127.0.0.1 (30 s at most);
# fails if PID exits first.
wait_listen() {
    local hex end
    hex=$(printf '%04X' "$1")
    upsecs
    end=$((UP + 30))
    while ! grep -q "0100007F:$hex 00000000:0000 0A" /proc/net/tcp; do
        if ! alive "$2"; then
            wait "$2"
            say "server $2 exited (rc $?) before listening on $1"
            return 1
        fi
        upsecs
        [ "$UP" -lt "$end" ] || { say "nothing listens on $1 after 30 s"; return 1; }
        usleep 100000
    done
}

# start_server PORT [extra args...]: sets SERVER_PID, waits until listening.
start_server() {
    local port=$1
    shift
    proactor_echo_server --backend "$ECHO_BACKEND" --port "$port" "$@" &
    SERVER_PID=$!
    wait_listen "$port" "$SERVER_PID"
}

# stop_server PID: SIGTERM, must exit 0 within 15 s.
stop_server() {
    local pid=$1 rc
    kill -TERM "$pid" 2>/dev/null
    if ! wait_gone "$pid" 15; then
        say "server $pid ignored SIGTERM; SIGKILL"
        kill -KILL "$pid" 2>/dev/null
        wait_gone "$pid" 15 && wait "$pid"
        return 1
    fi
    wait "$pid"
    rc=$?
    [ $rc -eq 0 ] || say "server $pid exited with $rc after SIGTERM"
    return $rc
}

# bench PORT [extra args...]
bench() {
    local port=$1
    shift
    # shellcheck disable=SC2086
    run_timed 60 $BENCH -a "127.0.0.1:$port" "$@"
}

echo_once() { # echo_once PORT SECS [server args...]
    local port=$1 secs=$2 srv brc src
    shift 2
    start_server "$port" "$@" || return 1
    srv=$SERVER_PID
    bench "$port" -t "$secs"
    brc=$?
    [ $brc -eq 0 ] || say "echo-bench failed with $brc"
    stop_server "$srv"
    src=$?
    [ $brc -eq 0 ] && [ $src -eq 0 ]
}

# ---------------------------------------------------------------- steps

step_insmod() { do_insmod; }

# The fastio integration tests; their helpers add the kernel backend to
# threads and uring when /dev/fastio opens. --nocapture: a test's output is
# not lost when the binary is killed on a timeout.
# One step per test binary run.sh put in /fastio/bin (its TESTS list).
run_test_binary() { run_timed "$TEST_TIMEOUT" "/fastio/bin/$1" --test-threads=1 --nocapture; }
step_test_ops() { run_test_binary ops; }
step_test_poller() { run_test_binary poller; }
step_test_proactor() { run_test_binary proactor; }
step_test_pools() { run_test_binary pools; }
step_test_stress() { run_test_binary stress; }
step_test_ring_model() { run_test_binary ring_model; }
step_test_kernel_device() { run_test_binary kernel_device; }
# The C client that never calls WAKE (kmod/vm/wakeless.c).
step_wakeless() { run_timed "$TEST_TIMEOUT" /fastio/bin/wakeless; }
# Buffer groups, BUFFER_SELECT, MULTISHOT (kmod/vm/bufsel.c): 1,000
# connections byte by byte and the hostile-descriptor case take a while
# under TCG, hence three times the usual limit.
step_bufsel() { run_timed $((TEST_TIMEOUT * 3)) /fastio/bin/bufsel; }

step_echo_w1() { echo_once 12345 3 --workers 1; }

step_echo_w2t2() { echo_once 12345 3 --workers 2 --threads 2; }

step_echo_churn() {
    local srv ok n
    start_server 12345 --workers 1 || return 1
    srv=$SERVER_PID
    ok=0
    for n in 1 2 3 4 5; do
        say "churn round $n"
        bench 12345 -t 1 || { say "churn round $n failed"; ok=1; }
    done
    stop_server "$srv" || ok=1
    return $ok
}

step_echo_sigkill() {
    local srv bpid ok
    start_server 12345 --workers 2 --threads 2 || return 1
    srv=$SERVER_PID
    bench 12345 -t 4 --allow-errors &
    bpid=$!
    sleep 1
    say "SIGKILL server $srv mid-traffic"
    kill -KILL "$srv"
    if ! wait_gone "$srv" 15; then
        say "the SIGKILLed server did not die"
        return 1
    fi
    wait "$srv"
    say "server exit status $? (137 expected)"
    ok=0
    if wait_gone "$bpid" 30; then
        wait "$bpid"
        say "echo-bench (--allow-errors) exit status $?"
    else
        ok=1
    fi
    wait_refcnt_zero || ok=1
    return $ok
}

step_echo_after_kill() { echo_once 12345 2 --workers 1; }

step_echo_two_procs() {
    local s1 s2 b1 b2 ok
    start_server 12345 --workers 1 || return 1
    s1=$SERVER_PID
    if ! start_server 12346 --workers 1; then
        stop_server "$s1"
        return 1
    fi
    s2=$SERVER_PID
    bench 12345 -t 3 &
    b1=$!
    bench 12346 -t 3 &
    b2=$!
    ok=0
    wait "$b1" || { say "echo-bench on 12345 failed"; ok=1; }
    wait "$b2" || { say "echo-bench on 12346 failed"; ok=1; }
    stop_server "$s1" || ok=1
    stop_server "$s2" || ok=1
    return $ok
}

# kvserver on the kernel backend under Debian's redis-benchmark (every
# test it has at -P 1 and -P 16; any error reply or a test that does not
# finish fails the step), a redis-cli round trip checked for content, then
# SIGTERM: clean exit.
redis_tool() { # redis_tool NAME ARGS...: Debian's binary with its own libraries
    local t=$1
    shift
    /fastio/redis/lib/ld-linux-x86-64.so.2 --library-path /fastio/redis/lib "/fastio/redis/$t" "$@"
}
step_kvserver_bench() {
    local srv ok=0 out p
    kvserver --backend "$ECHO_BACKEND" --port 6379 --io-threads 2 --workers 2 &
    srv=$!
    wait_listen 6379 "$srv" || return 1
    for p in 1 16; do
        out=$(run_timed 120 redis_tool redis-benchmark -h 127.0.0.1 -p 6379 -c 10 -n 2000 -r 1000 -P "$p" --csv 2>&1)
        echo "$out"
        # Every line after the header must be "TEST","RPS",...; an error
        # reply makes redis-benchmark print the error instead.
        if echo "$out" | grep -v '^"test"' | grep -qvE '^"[^"]+","[0-9.]+"'; then
            say "redis-benchmark -P $p: unexpected output"
            ok=1
        fi
        [ "$(echo "$out" | grep -c '^"')" -ge 15 ] || { say "redis-benchmark -P $p ran too few tests"; ok=1; }
    done
    redis_tool redis-cli -h 127.0.0.1 -p 6379 set vmkey "hello from the guest" >/dev/null
    out=$(redis_tool redis-cli -h 127.0.0.1 -p 6379 get vmkey)
    [ "$out" = "hello from the guest" ] || { say "redis-cli GET returned '$out'"; ok=1; }
    stop_server "$srv" || ok=1
    return $ok
}

# ------------------------------------------------------------ bench mode
# (run.sh --bench; kmod/vm/bench.sh). Servers on vCPUs 0..BENCH_MAXW-1, the
# load generator on the others. Results go to the console between
# FASTIO-CSV-BEGIN/END (echo, read back by run.sh into bench-report) and
# FASTIO-TABLE-BEGIN/END (kvserver, printed as is).

client_cpus() { echo "$BENCH_MAXW-$(($(nproc) - 1))"; }

# CPU time of a process in clock ticks (utime + stime).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

step_bench_echo() {
    local s k pid hdr=--csv-header ok=0 cli
    cli=$(client_cpus)
    echo "FASTIO-CSV-BEGIN echo"
    for s in epoll threads uring kernel; do
        for k in $(seq 1 "$BENCH_MAXW"); do
            if [ "$s" = epoll ]; then
                epoll_echo_server --port 12345 --threads "$k" --affinity-offset 0 2>/dev/null &
            else
                proactor_echo_server --backend "$s" --port 12345 --workers "$k" --threads "$k" \
                    --fastio affinity_offset=0 2>/dev/null &
            fi
            pid=$!
            if wait_listen 12345 "$pid"; then
                taskset -c "$cli" echo-bench -a 127.0.0.1:12345 -c 25 -l 512 -t "$BENCH_SECS" \
                    --warmup 1 --server-pid "$pid" --format csv $hdr --tag-server \
                    "$([ "$s" = epoll ] && echo epoll || echo proactor)" --tag-backend \
                    "$([ "$s" = epoll ] && echo - || echo "$s")" --tag-workers "$k" || ok=1
                hdr=""
            else
                ok=1
            fi
            stop_server "$pid" || ok=1
        done
    done
    echo "FASTIO-CSV-END echo"
    return $ok
}

step_bench_kv() {
    local b p pid t0 t1 out set get ok=0 cli
    cli=$(client_cpus)
    echo "FASTIO-TABLE-BEGIN kvserver"
    echo "| backend | pipeline | SET req/s | GET req/s | server CPU us/req |"
    echo "|---------|----------|-----------|-----------|-------------------|"
    for b in uring kernel; do
        kvserver --backend "$b" --port 6379 --io-threads "$BENCH_MAXW" --workers "$BENCH_MAXW" \
            --fastio affinity_offset=0 >/dev/null 2>&1 &
        pid=$!
        wait_listen 6379 "$pid" || { ok=1; continue; }
        for p in 1 16; do
            t0=$(cpu_ticks "$pid")
            out=$(taskset -c "$cli" /fastio/redis/lib/ld-linux-x86-64.so.2 --library-path \
                /fastio/redis/lib /fastio/redis/redis-benchmark -h 127.0.0.1 -p 6379 -c 50 \
                -n "$BENCH_KV_N" -r 100000 -P "$p" -t set,get --csv 2>&1) || ok=1
            t1=$(cpu_ticks "$pid")
            set=$(echo "$out" | awk -F'"' '$2 == "SET" { print $4 }')
            get=$(echo "$out" | awk -F'"' '$2 == "GET" { print $4 }')
            [ -n "$set" ] && [ -n "$get" ] || { say "redis-benchmark: $out"; ok=1; }
            # Ticks are 1/100 s; SET and GET ran BENCH_KV_N requests each.
            echo "| $b | $p | $set | $get | $(echo "$t0 $t1 $BENCH_KV_N" |
                awk '{ printf "%.2f", ($2 - $1) * 10000 / (2 * $3) }') |"
        done
        stop_server "$pid" || ok=1
    done
    echo "FASTIO-TABLE-END kvserver"
    return $ok
}

step_rmmod() { do_rmmod; }
step_reinsmod() { do_insmod; }
step_echo_reload() { echo_once 12345 1 --workers 1; }
step_rmmod2() { do_rmmod; }

# Fault injection (Debian's kernel has no failslab): the module loaded with
# fault_every=N fails every Nth allocation of each context (setup, ops).
# The test programs may fail (ENOMEM is then their result); the kernel must
# not: no warning or oops (the console verdict), nothing hung past the
# timeout, no leak (the refcount returns to 0 and rmmod works).
step_faults() {
    local n t rc ok=0
    for n in 5 17; do
        # shellcheck disable=SC2086 # KMOD_PARAMS is a list of words
        insmod "/fastio/$KMOD_NAME.ko" $KMOD_PARAMS fault_every=$n || return 1
        check_devnode || return 1
        for t in ops kernel_device; do
            run_timed 25 "/fastio/bin/$t" --test-threads=1 >/dev/null 2>&1
            rc=$?
            say "fault_every=$n: $t exited $rc (failures expected)"
            [ $rc -eq 255 ] && ok=1 # survived SIGKILL: hung in the kernel
            # A test killed on the timeout may leave a forked child behind.
            killall -KILL "$t" 2>/dev/null
        done
        # Then nothing holds the module: every context must be released.
        wait_refcnt_zero 15 || ok=1
        do_rmmod || ok=1
    done
    return $ok
}

step_taint() {
    local t
    t=$(cat /proc/sys/kernel/tainted)
    say "tainted = $t"
    case $t in
        0 | 4096 | 8192 | 12288) return 0 ;;
        *) say "unexpected taint bits (allowed: O=4096, E=8192)"; return 1 ;;
    esac
}

# ---------------------------------------------------------------- runner

# Steps whose failure makes the rest meaningless.
is_fatal() { case " $FATAL_STEPS " in *" $1 "*) return 0 ;; esac; return 1; }

cleanup_procs() {
    for p in $(pidof proactor_echo_server echo-bench kvserver redis-benchmark ops poller proactor stress 2>/dev/null); do
        say "killing leftover pid $p ($(cat /proc/"$p"/comm 2>/dev/null))"
        kill -KILL "$p" 2>/dev/null
    done
}

ABORTED=
run_step() {
    name=$1
    if [ -n "$ABORTED" ] && [ "$name" != taint ]; then
        echo "FASTIO-SKIP $name"
        return
    fi
    echo "FASTIO-STEP $name"
    before=$(kernel_complaints)
    t0=$(now)
    (step_"$name")
    rc=$?
    t1=$(now)
    cleanup_procs
    after=$(kernel_complaints)
    if [ "$after" != "$before" ]; then
        say "the kernel logged problems during $name:"
        dmesg | grep -E "$BAD_RE" | tail -n $((after - before))
        [ $rc -eq 0 ] && rc=250
    fi
    echo "FASTIO-TIME $name $(echo "$t0 $t1" | awk '{ printf "%.2f", $2 - $1 }')"
    if [ $rc -eq 0 ]; then
        echo "FASTIO-PASS $name"
    else
        echo "FASTIO-FAIL $name $rc"
        if is_fatal "$name"; then
            say "$name is fatal: skipping the remaining steps"
            ABORTED=1
        fi
    fi
}

finish() {
    echo "FASTIO-DMESG-BEGIN"
    dmesg
    echo "FASTIO-DMESG-END"
    echo "FASTIO-DONE"
    sync
    poweroff -f
}

say "kernel $(uname -r), $(nproc) CPUs, cmdline: $(cat /proc/cmdline)"

if [ "$MODE" = shell ]; then
    say "shell mode: loading $KMOD_NAME.ko"
    do_insmod || say "insmod failed"
    say "binaries in /fastio/bin: $(ls /fastio/bin | tr '\n' ' ')"
    say "exit the shell to power off (or press Ctrl-a x)"
    setsid cttyhack sh -l
    finish
fi

echo "FASTIO-PLAN $PLAN"
for s in $PLAN; do
    run_step "$s"
done
finish
