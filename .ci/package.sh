#!/usr/bin/env bash
# CI, after the tests: build the Debian package and the container image from this clone and
# smoke-test both, as root, without systemd or a container runtime that runs containers.
#
# - deb: the static release binary packaged by cargo-deb; dpkg -i; systemd-analyze verify; the
#   unit's ExecStart run by hand as the unit's User with its Environment; /health and one query
#   against the upstream double; SIGTERM exits 0; dpkg --purge leaves nothing behind.
# - image: podman build of the Containerfile (FROM scratch, no download); its root filesystem
#   exported and the entrypoint run under chroot as the image's user, with the image's
#   environment; /health, one query, the HEALTHCHECK command, SIGTERM exits 0.
#
# Needs the upstream double (target/debug/examples/upstream_double, built by `cargo test`).
# Caches: cargo-deb in ~/.cargo/bin; the static target directory outside the clone
# (MSB_STATIC_TARGET_DIR, default /var/cache/modelscope-balance-ci/static), podman's layers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TERM_COLOR=never

step_started=$SECONDS
timings=()
step() {
  if [ "${#timings[@]}" -gt 0 ] || [ -n "${current:-}" ]; then
    timings+=("$(printf '%4ds  %s' $((SECONDS - step_started)) "$current")")
  fi
  current=$*
  step_started=$SECONDS
  printf '\n== package: %s\n' "$*"
}
summary() {
  timings+=("$(printf '%4ds  %s' $((SECONDS - step_started)) "$current")")
  printf '\n== package: timings\n'
  printf '%s\n' "${timings[@]}"
}

work=$(mktemp -d /tmp/msb-package.XXXXXX)
pids=()
mounts=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  if dpkg -s modelscope-balance >/dev/null 2>&1; then dpkg --purge modelscope-balance >/dev/null 2>&1 || true; fi
  if [ -n "${container:-}" ]; then podman rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

fail() { echo "package: FAILED: $*" >&2; exit 1; }

# Polls URL until it answers 200, or fails after 30 s (printing LOG).
wait_healthy() {
  local url=$1 log=$2 pid=$3
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "the server exited before answering $url"; }
    sleep 0.1
  done
  cat "$log" >&2
  fail "$url did not answer within 30 s"
}

# A loopback port nothing listens on.
free_port() {
  local port
  for port in $(seq 18080 18380); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  fail "no free port"
}

# One anonymous query through the JSON API, answered by the upstream double.
query_ok() {
  local base=$1
  local answer
  answer=$(curl -fsS "$base/api/balance" -H 'Content-Type: application/json' \
    -H 'X-API-Key: ms-00000000-0000-0000-0000-000000000000' \
    -d '{"models": ["Qwen/Qwen2.5-72B-Instruct"]}')
  echo "$answer" | jq -e '.success == true and (.data | length) == 1 and .data[0].request_remaining == 1999' >/dev/null \
    || fail "unexpected answer from $base/api/balance: $answer"
}

# Sends SIGTERM and checks the process exits 0 within 20 s.
stops_cleanly() {
  local pid=$1 what=$2
  kill -TERM "$pid"
  local status=0
  timeout 20 tail --pid="$pid" -f /dev/null || fail "$what did not stop within 20 s of SIGTERM"
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "$what exited $status after SIGTERM"
}

step "tools (podman, cargo-deb)"
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v readelf >/dev/null 2>&1 || need+=(binutils)              # the static-link check
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates) # copied into the image
if [ "${#need[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# Pinned, so a new cargo-deb release cannot change the package under us; kept in ~/.cargo/bin.
CARGO_DEB_VERSION=3.8.0
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
  cargo install cargo-deb --locked --quiet --version "$CARGO_DEB_VERSION"
fi
podman --version
cargo deb --version

double=${CARGO_TARGET_DIR:-target}/debug/examples/upstream_double
[ -x "$double" ] || cargo build --locked --example upstream_double
"$double" --addr 127.0.0.1:0 >"$work/double.out" 2>"$work/double.err" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/double.out" ] && break; sleep 0.1; done
upstream=$(sed -n 's#.*listening on \(http://[^ ]*\).*#\1#p' "$work/double.out")
[ -n "$upstream" ] || fail "the upstream double did not start: $(cat "$work/double.err")"
upstream_env=(
  "ROCKET_MODELSCOPE_API_BASE=$upstream/v1"
  "ROCKET_MODELSCOPE_HUB_BASE=$upstream"
)
echo "upstream double at $upstream"

step "static release build"
export MSB_STATIC_TARGET_DIR=${MSB_STATIC_TARGET_DIR:-/var/cache/modelscope-balance-ci/static}
binary=$(packaging/static-build.sh)
ls -l "$binary"

step "deb: build"
packaging/deb.sh "$work/modelscope-balance.deb"
dpkg-deb --info "$work/modelscope-balance.deb" | sed -n '1,/Description/p'
dpkg-deb --contents "$work/modelscope-balance.deb"

step "deb: install"
if dpkg -s modelscope-balance >/dev/null 2>&1; then dpkg --purge modelscope-balance; fi
dpkg -i "$work/modelscope-balance.deb"
unit=$(systemctl show -P FragmentPath modelscope-balance.service 2>/dev/null || true)
[ -f "$unit" ] || unit=$(dpkg -L modelscope-balance | grep '/modelscope-balance.service$')
echo "unit: $unit"
getent passwd modelscope-balance >/dev/null || fail "no modelscope-balance user"
[ "$(stat -c '%a %U' /var/lib/modelscope-balance)" = "700 modelscope-balance" ] \
  || fail "data dir: $(stat -c '%a %U' /var/lib/modelscope-balance)"
[ "$(stat -c '%a %G' /etc/modelscope-balance/Rocket.toml)" = "640 modelscope-balance" ] \
  || fail "config: $(stat -c '%a %G' /etc/modelscope-balance/Rocket.toml)"
/usr/bin/modelscope-balance --help >/dev/null

step "deb: systemd-analyze verify"
if systemd-analyze --version >/dev/null 2>&1; then
  # Offline (no systemd running here): the unit's syntax, its binary and its user.
  systemd-analyze verify "$unit" 2>&1 | tee "$work/verify.log"
  if grep -v -e 'Failed to connect' -e 'Failed to load' "$work/verify.log" | grep -qi -e 'unknown' -e 'invalid' -e 'ignoring'; then
    fail "systemd-analyze verify complained"
  fi
  # Informational: systemd's own score of the unit's sandboxing (0 safest, 10 none).
  systemd-analyze security --offline=yes "$unit" 2>/dev/null | tail -n1 || true
else
  echo "systemd-analyze not available: skipped"
fi

step "deb: the unit's ExecStart as its User"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
service_user=$(sed -n 's/^User=//p' "$unit")
working_dir=$(sed -n 's/^WorkingDirectory=//p' "$unit")
mapfile -t unit_env < <(sed -n 's/^Environment=//p' "$unit")
port=$(free_port)
echo "running as $service_user in $working_dir: ${unit_env[*]} $exec_start (port $port)"
(
  cd "$working_dir"
  exec setpriv --reuid="$service_user" --regid="$service_user" --init-groups \
    env -i PATH=/usr/bin:/bin "${unit_env[@]}" "${upstream_env[@]}" ROCKET_PORT="$port" \
    $exec_start
) >"$work/deb-server.log" 2>&1 &
server=$!
pids+=("$server")
wait_healthy "http://127.0.0.1:$port/health" "$work/deb-server.log" "$server"
curl -fsS "http://127.0.0.1:$port/health"; echo
query_ok "http://127.0.0.1:$port"
[ "$(stat -c '%U %a' /var/lib/modelscope-balance/master.key)" = "modelscope-balance 600" ] \
  || fail "master key: $(stat -c '%U %a' /var/lib/modelscope-balance/master.key)"
# A backup while the service runs, as its user with its configuration (the README's command).
runuser -u "$service_user" -- env "${unit_env[@]}" \
  /usr/bin/modelscope-balance backup /var/lib/modelscope-balance/ci-backup.db
[ "$(stat -c '%U %a' /var/lib/modelscope-balance/ci-backup.db)" = "modelscope-balance 600" ] \
  || fail "backup file: $(stat -c '%U %a' /var/lib/modelscope-balance/ci-backup.db)"
stops_cleanly "$server" "the packaged server"
grep -q 'configuration: profile=release' "$work/deb-server.log" || fail "no configuration line"

step "deb: remove"
dpkg --purge modelscope-balance
! dpkg -s modelscope-balance >/dev/null 2>&1 || fail "still installed"
for path in /usr/bin/modelscope-balance "$unit" /etc/modelscope-balance \
  /etc/systemd/system/multi-user.target.wants/modelscope-balance.service; do
  [ ! -e "$path" ] || fail "$path is left after purge"
done
rm -rf /var/lib/modelscope-balance   # purge keeps the data on purpose; CI removes it

step "image: build"
context=$(MSB_STATIC_BINARY="$binary" packaging/container/context.sh "$work/context")
podman build --quiet --format docker -t localhost/modelscope-balance:ci -f Containerfile "$context"
podman image inspect localhost/modelscope-balance:ci | jq '.[0]' >"$work/image.json"
jq '{Size, Config, Healthcheck}' "$work/image.json"
[ "$(jq -r '.Config.User' "$work/image.json")" = "10001:10001" ] || fail "the image does not run as 10001"
jq -e '.Healthcheck.Test | length > 1' "$work/image.json" >/dev/null || fail "no HEALTHCHECK"
jq -e '.Config.Volumes | has("/data")' "$work/image.json" >/dev/null || fail "no /data volume"

step "image: export and run the entrypoint under chroot"
container=$(podman create localhost/modelscope-balance:ci)
mkdir -p "$work/rootfs"
podman export "$container" | tar -x -C "$work/rootfs"
podman rm -f "$container" >/dev/null; container=
ls -la "$work/rootfs" "$work/rootfs/data"
# A container runtime provides these; the static binary's random-number crate opens them.
mkdir -p "$work/rootfs/dev"
for dev in random urandom; do
  touch "$work/rootfs/dev/$dev"
  mount --bind "/dev/$dev" "$work/rootfs/dev/$dev"
  mounts+=("$work/rootfs/dev/$dev")
done
mapfile -t image_env < <(jq -r '.Config.Env[]' "$work/image.json")
mapfile -t entrypoint < <(jq -r '.Config.Entrypoint[]' "$work/image.json")
port=$(free_port)
image_user=$(jq -r '.Config.User' "$work/image.json")
env -i "${image_env[@]}" "${upstream_env[@]}" ROCKET_PORT="$port" \
  chroot --userspec="$image_user" "$work/rootfs" "${entrypoint[@]}" >"$work/image-server.log" 2>&1 &
server=$!
pids+=("$server")
wait_healthy "http://127.0.0.1:$port/health" "$work/image-server.log" "$server"
curl -fsS "http://127.0.0.1:$port/health"; echo
query_ok "http://127.0.0.1:$port"
mapfile -t healthcheck < <(jq -r '.Healthcheck.Test[1:][]' "$work/image.json")
env -i "${image_env[@]}" ROCKET_PORT="$port" chroot --userspec="$image_user" "$work/rootfs" "${healthcheck[@]}" \
  || fail "the image's HEALTHCHECK failed"
[ -f "$work/rootfs/data/master.key" ] || fail "no master key in /data"
[ "$(stat -c '%u %a' "$work/rootfs/data/master.key")" = "10001 600" ] || fail "master key owner/mode"
stops_cleanly "$server" "the image's entrypoint"

step "done"
summary
