#!/usr/bin/env bash
# Makes the build context of the container image (see Containerfile) in DIR: the statically
# linked binary, the CA bundle and an empty data directory. Builds the binary first unless
# MSB_STATIC_BINARY names one already built.
#
#   packaging/container/context.sh DIR
#
# The static build is a release build of its own (gnu target with +crt-static: there is no musl
# target here) in its own target directory, MSB_STATIC_TARGET_DIR (default target/static), so it
# never invalidates the normal one.
set -euo pipefail
cd "$(dirname "$0")/../.."

dir=${1:?usage: packaging/container/context.sh DIR}
binary=${MSB_STATIC_BINARY:-}
if [ -z "$binary" ]; then
  binary=$(packaging/static-build.sh)
fi
ca=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca" ] || { echo "no $ca: apt-get install ca-certificates" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir/data"
install -m 0755 "$binary" "$dir/modelscope-balance"
install -m 0644 "$ca" "$dir/ca-certificates.crt"
chmod 0700 "$dir/data"
echo "$dir"
