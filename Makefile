# FastIO top-level Makefile. `make help` lists the targets.
CARGO ?= cargo
RELEASE := target/release

.PHONY: all help deps build run test lint bench-micro clean

all: build

help:
	@echo "make run          build and start the main program (see README)"
	@echo "make test         install missing packages, then fmt + clippy + all tests"
	@echo "make build        release build of every program"
	@echo "make bench-micro  ring micro-benchmark (NOP and small-recv round trips per backend)"

deps:
	@./scripts/deps.sh

build: deps
	$(CARGO) build --release --workspace

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
