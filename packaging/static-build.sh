#!/usr/bin/env bash
# Builds the statically linked release binary (for the container image and the Debian package)
# and prints its path. gnu target with +crt-static (there is no musl target on these machines);
# the explicit --target keeps build scripts and proc macros dynamic. Its own target directory,
# MSB_STATIC_TARGET_DIR (default target/static), keeps the normal build untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

triple=x86_64-unknown-linux-gnu
target_dir=${MSB_STATIC_TARGET_DIR:-target/static}
RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$target_dir" \
  cargo build --release --locked --target "$triple" --bin modelscope-balance >&2
binary="$target_dir/$triple/release/modelscope-balance"
# A static binary names no interpreter and no shared library.
if readelf -l "$binary" | grep -q 'Requesting program interpreter'; then
  echo "$binary is not statically linked" >&2
  exit 1
fi
echo "$binary"
