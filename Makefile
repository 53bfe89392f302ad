# FastIO top-level Makefile. `make help` lists the targets.
CARGO ?= cargo
RELEASE := target/release

.PHONY: all help deps build kmod reload vm-test run test lint bench-micro bench-echo bench-kv bench-scaling clean

# `make`: the Rust programs and the kernel module.
all: build kmod

help:
	@echo "make run          build and start the main program: kvserver on 127.0.0.1:6379"
	@echo "make test         install missing packages, then fmt + clippy + all tests (incl. the VM)"
	@echo "make build        release build of every program"
	@echo "make kmod         build kmod/fastio.ko against the installed Debian kernel headers"
	@echo "make reload       rmmod + insmod fastio.ko (on a machine that loads modules)"
	@echo "make vm-test      kernel module tests in a qemu guest (kmod/vm/run.sh)"
	@echo "make bench-micro  ring micro-benchmark (NOP and small-recv round trips per backend)"
	@echo "make bench-echo   echo scaling sweep: epoll vs proactor per backend, 1..N workers"
	@echo "make bench-kv     redis-benchmark: kvserver per backend vs redis-server, CPU/request, RSS/key"
	@echo "make bench-scaling echo + kvserver at 1..8 workers (needs 12+ cores: server on 0-7, clients on the rest)"

deps:
	@./scripts/deps.sh

build: deps
	$(CARGO) build --release --workspace

kmod:
	$(MAKE) -C kmod

reload: kmod
	-rmmod fastio 2>/dev/null
	insmod kmod/fastio.ko

vm-test:
	kmod/vm/run.sh

# The kernel backend measured in a guest: KVM when usable, else a TCG smoke test.
vm-bench:
	kmod/vm/bench.sh

run: build
	$(RELEASE)/kvserver

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	# Doc comments' links must point at items that exist.
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --document-private-items

# Every test: formatting and lints, the workspace's tests (threads and uring
# backends here), then the kernel module in a qemu guest (all backends).
test: lint
	$(CARGO) test --workspace
	# The pools again with io_uring's multishot receive switched off, as on
	# kernels before 6.18: the proactor's fallback runs too.
	FASTIO_URING_MULTISHOT=off $(CARGO) test -p fastio --test pools
	kmod/vm/run.sh

bench-micro: build
	$(RELEASE)/fastio-microbench

bench-echo: deps
	bench/echo-sweep.sh

bench-kv: deps
	bench/kv-bench.sh

bench-scaling: deps
	$(CARGO) build --release -p fastio-echo -p fastio-bench -p kvserver
	bench/scaling-sweep.sh

clean:
	$(CARGO) clean
