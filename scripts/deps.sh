#!/usr/bin/env bash
# Installs the Debian packages the build and tests need, if any is missing.
# Idempotent and quiet when everything is there (no apt-get update then).
set -euo pipefail
need=(gcc libc6-dev linux-libc-dev make redis-server redis-tools)
missing=()
for p in "${need[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Only the redis-server binary is needed (tests and benchmarks start their
  # own on free ports); a system service would hold port 6379, kvserver's.
  if [[ " ${missing[*]} " == *" redis-server "* ]] && command -v systemctl >/dev/null; then
    $sudo_cmd systemctl disable --now redis-server >/dev/null 2>&1 || true
  fi
fi
# redis-py (>= 5.1: client-side caching), for the test that drives
# kvserver with it (kvserver/tests/tracking.rs).
if ! python3 -c "import redis.cache" >/dev/null 2>&1; then
  echo "deps: installing redis-py"
  python3 -m pip install -q "redis>=5.1" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "redis>=5.1"
fi
command -v cargo >/dev/null || { echo "deps: cargo (Rust) is required: https://rustup.rs" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt 2>/dev/null || true
