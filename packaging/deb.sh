#!/usr/bin/env bash
# Builds the Debian package from the statically linked release binary and prints its path:
#
#   packaging/deb.sh [OUTPUT.deb]      # default: $MSB_STATIC_TARGET_DIR/debian/
#
# Needs cargo-deb (`cargo install cargo-deb --locked`). What goes in the package is
# [package.metadata.deb] in Cargo.toml; the unit and maintainer scripts are in packaging/deb/.
set -euo pipefail
cd "$(dirname "$0")/.."

triple=x86_64-unknown-linux-gnu
target_dir=${MSB_STATIC_TARGET_DIR:-target/static}
export MSB_STATIC_TARGET_DIR=$target_dir
packaging/static-build.sh >/dev/null
output=${1:-$target_dir/debian/}
# A name ending in / is a directory (cargo-deb picks the file name), anything else the file.
case $output in
  */) mkdir -p "$output" ;;
  *) mkdir -p "$(dirname "$output")" ;;
esac
CARGO_TARGET_DIR="$target_dir" cargo deb --no-build --locked --target "$triple" --output "$output" >&2
if [ -d "$output" ]; then
  ls -t "$output"/*.deb | head -n1
else
  echo "$output"
fi
