# FastIO top-level Makefile. `make help` lists the targets.
CARGO ?= cargo
RELEASE := target/release

.PHONY: all help deps build kmod reload vm-test run test lint bench-micro clean

# `make`: the Rust programs and the kernel module.
all: build kmod

help:
	@echo "make run          build and start the main program (see README)"
	@echo "make test         install missing packages, then fmt + clippy + all tests"
	@echo "make build        release build of every program"
	@echo "make kmod         build kmod/fastio.ko against the installed Debian kernel headers"
	@echo "make reload       rmmod + insmod fastio.ko (on a machine that loads modules)"
	@echo "make vm-test      kernel module tests in a qemu guest (kmod/vm/run.sh)"
	@echo "make bench-micro  ring micro-benchmark (NOP and small-recv round trips per backend)"

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

run: build
	$(RELEASE)/fastio-microbench

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --workspace

bench-micro: build
	$(RELEASE)/fastio-microbench

clean:
	$(CARGO) clean
