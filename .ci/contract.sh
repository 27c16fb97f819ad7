#!/usr/bin/env bash
# The JSON contract, checked from outside: schemathesis generates requests from
# assets/openapi.json (served at /api/openapi.json) and runs every check against a freshly
# started app whose upstream (both sites) is examples/upstream_double.rs. Two runs: one with a
# ModelScope key in X-API-Key, one with a personal access token of a user made for the run.
#
#   .ci/contract.sh                  uses target/debug/{modelscope-balance,examples/upstream_double}
#
# Knobs (environment): APP_BIN, DOUBLE_BIN (the binaries), ST (the schemathesis command, default
# `st`), CONTRACT_MAX_EXAMPLES (per operation and phase, default 60), CONTRACT_REGIME (the
# double's regime, default points), CONTRACT_SEED (the hypothesis seed, default 4154: CI runs
# the same requests every time, so a failure is the change's, not the dice's; set it to another
# number to explore, or to empty for a random one, which the report prints).
# Exits non-zero when either run reports a failure or an error. Everything it starts is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
APP_BIN=${APP_BIN:-$TARGET_DIR/debug/modelscope-balance}
DOUBLE_BIN=${DOUBLE_BIN:-$TARGET_DIR/debug/examples/upstream_double}
ST=${ST:-st}
MAX_EXAMPLES=${CONTRACT_MAX_EXAMPLES:-60}
REGIME=${CONTRACT_REGIME:-points}
# A ModelScope-shaped key; the double accepts any bearer token.
API_KEY="ms-00000000-0000-0000-0000-000000000000"

log() { echo "contract: $*" >&2; }
die() {
    echo "contract: FAILED: $*" >&2
    exit 1
}

[[ -x $APP_BIN ]] || die "no app binary at $APP_BIN (cargo build)"
[[ -x $DOUBLE_BIN ]] || die "no double at $DOUBLE_BIN (cargo build --example upstream_double)"
command -v curl >/dev/null || die "curl is required"

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/modelscope-contract.XXXXXX")
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do kill "$pid" 2>/dev/null || true; done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    local port
    for _ in $(seq 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    die "no free loopback port found"
}

# --- the double and the app --------------------------------------------------------------------

"$DOUBLE_BIN" --addr 127.0.0.1:0 --regime "$REGIME" >"$WORK/double.log" 2>&1 &
PIDS+=("$!")
DOUBLE=
for _ in $(seq 100); do
    DOUBLE=$(sed -n 's|^upstream_double listening on \(http://[0-9.:]*\).*|\1|p' "$WORK/double.log")
    [[ -n $DOUBLE ]] && break
    sleep 0.05
done
[[ -n $DOUBLE ]] || die "the upstream double did not start: $(cat "$WORK/double.log")"

PORT=$(free_port)
APP="http://127.0.0.1:$PORT"
mkdir -p "$WORK/data"
ROCKET_ADDRESS=127.0.0.1 \
    ROCKET_PORT="$PORT" \
    ROCKET_DATA_DIR="$WORK/data" \
    ROCKET_MODELSCOPE_API_BASE="$DOUBLE/v1" \
    ROCKET_MODELSCOPE_HUB_BASE="$DOUBLE" \
    ROCKET_MODELSCOPE_AI_API_BASE="$DOUBLE/v1" \
    ROCKET_MODELSCOPE_AI_HUB_BASE="$DOUBLE" \
    ROCKET_LOG_LEVEL=critical \
    "$APP_BIN" >"$WORK/app.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$APP/health" || true) == 200 ]] && break
    kill -0 "${PIDS[-1]}" 2>/dev/null || die "the app exited: $(tail -n 20 "$WORK/app.log")"
    sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$APP/health" || true) == 200 ]] ||
    die "the app did not answer /health"
log "double at $DOUBLE ($REGIME regime), app at $APP"

# --- a user and an access token ----------------------------------------------------------------

JAR="$WORK/cookies.txt"
# csrf_token PAGE: the hidden field of the form on PAGE (the signed-out or the session's token).
csrf_token() {
    curl -sS -b "$JAR" -c "$JAR" --max-time 10 "$APP$1" |
        sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -n 1
}
token=$(csrf_token /signup)
[[ -n $token ]] || die "no csrf_token on /signup"
status=$(curl -sS -o /dev/null -w '%{http_code}' -b "$JAR" -c "$JAR" --max-time 30 \
    --data-urlencode "username=contract" --data-urlencode "password=contract-pass-1234" \
    --data-urlencode "password_confirm=contract-pass-1234" --data-urlencode "csrf_token=$token" \
    "$APP/signup")
[[ $status == 303 ]] || die "signing up answered HTTP $status"
token=$(csrf_token /account)
[[ -n $token ]] || die "no csrf_token on /account"
# The answer shows the new token once (on the page itself, or after a redirect to it).
ACCESS_TOKEN=$(curl -sS -L -b "$JAR" -c "$JAR" --max-time 10 \
    --data-urlencode "name=contract" --data-urlencode "csrf_token=$token" "$APP/account/tokens" |
    grep -oE 'msb_[0-9a-f]{64}' | head -n 1 || true)
[[ -n $ACCESS_TOKEN ]] || die "no access token shown after POST /account/tokens"
# Something to find by name: a saved key and a preset, so generated names sometimes hit.
status=$(curl -sS -o "$WORK/seed.json" -w '%{http_code}' --max-time 30 \
    -H "Authorization: Bearer $ACCESS_TOKEN" -H 'Content-Type: application/json' \
    --data-binary '{"models":["Qwen/Qwen3-32B"],"api_key":"'"$API_KEY"'"}' "$APP/api/balance")
[[ $status == 200 ]] || die "a token holder's POST /api/balance answered HTTP $status: $(cat "$WORK/seed.json")"

# --- schemathesis ------------------------------------------------------------------------------

# Pinned, and no example database carried over from an earlier run: the same run each time.
SEED=${CONTRACT_SEED-4154}
SEED_ARGS=(--generation-database none)
[[ -n $SEED ]] && SEED_ARGS+=(--seed "$SEED")

# run_st NAME HEADER: one schemathesis run; its report goes to $WORK/NAME.txt and stderr.
run_st() {
    local name=$1 header=$2 rc=0
    log "schemathesis ($name): $APP/api/openapi.json, at most $MAX_EXAMPLES examples, seed ${SEED:-random}"
    # From the scratch directory, in case schemathesis writes anything beside it.
    (cd "$WORK" && "$ST" run "$APP/api/openapi.json" --checks all --url "$APP" \
        --header "$header" --max-examples "$MAX_EXAMPLES" "${SEED_ARGS[@]}" \
        --no-color --request-timeout 30) >"$WORK/$name.txt" 2>&1 || rc=$?
    cat "$WORK/$name.txt" >&2
    return "$rc"
}

failed=()
run_st api-key "X-API-Key: $API_KEY" || failed+=("X-API-Key")
run_st token "Authorization: Bearer $ACCESS_TOKEN" || failed+=("access token")
kill -0 "${PIDS[-1]}" 2>/dev/null || die "the app died during the runs: $(tail -n 20 "$WORK/app.log")"
((${#failed[@]} == 0)) || die "schemathesis reported failures (${failed[*]})"
log "both runs passed"
