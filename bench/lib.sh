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

# The tools every benchmark needs; wrk is installed with apt-get when running as root.
require_tools() {
    command -v curl >/dev/null || die "curl is required"
    if ! command -v wrk >/dev/null; then
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            log "installing wrk with apt-get"
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2
        else
            die "wrk is not installed (Debian/Ubuntu: sudo apt-get install wrk)"
        fi
    fi
    [[ -r /proc/self/status ]] || die "this benchmark reads /proc (Linux only)"
}

# field LINE KEY: the value of KEY=value in a BENCH line (what the wrk scripts print).
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# Float arithmetic and formatting without bc.
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# rss_mb PID FIELD: VmRSS or VmHWM of a process, in MB.
rss_mb() {
    local kb
    kb=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status")
    [[ -n $kb ]] || die "cannot read $2 of process $1"
    calc "%.1f" "$kb / 1024"
}

# pass_fail OK_CONDITION (an awk expression)
pass_fail() {
    if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi
}

# The done() every wrk script ends with: one machine-readable BENCH line (read with `field`), so
# nothing depends on wrk's human-readable units.
wrk_report_lua() {
    cat <<'LUA'

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d rps=%.1f p50_us=%.0f p90_us=%.0f p99_us=%.0f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.requests / summary.duration * 1e6,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
}
