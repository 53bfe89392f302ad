#!/usr/bin/env bash
# kmod/vm/bench.sh: the kernel backend measured on a real kernel, in a guest.
#
# Boots Debian's kernel with the module under KVM (-cpu host, vCPU i pinned
# to host CPU i) when /dev/kvm is usable, and runs there: the echo sweep
# (epoll threads; the proactor on threads, uring and kernel backends; 1..N/2
# workers on vCPUs 0..N/2-1, echo-bench on the others) and kvserver on the
# uring and kernel backends under redis-benchmark (SET/GET, -P 1 and 16).
# Prints the same echo table as `make bench-echo` and a kvserver table.
# Without KVM it runs on TCG as a smoke test and says its numbers mean
# nothing. Options and environment: kmod/vm/run.sh --help.
exec "$(dirname "$0")/run.sh" --bench "$@"
