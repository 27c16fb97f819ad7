# shellcheck shell=bash
# Shared by bench/run.sh and bench/history.sh (sourced, not run): failing loudly, the processes a
# benchmark starts and their cleanup, and free loopback ports. Set BENCH_WORK_PREFIX first.

log() { echo "bench: $*" >&2; }
die() {
    echo "bench: FAILED: $*" >&2
    exit 1
}

# --- processes and cleanup ---------------------------------------------------------------------

PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/${BENCH_WORK_PREFIX:-modelscope-bench}.XXXXXX")

cleanup() {
    local pid deadline
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    # Rocket shuts down gracefully on SIGTERM (a few seconds at most); do not wait forever.
    deadline=$((SECONDS + 6))
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Prints a loopback port nobody listens on (a connection attempt is refused).
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
