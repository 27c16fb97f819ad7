#!/usr/bin/env bash
# Benchmark of modelscope-balance against a local stand-in for ModelScope (examples/upstream_double.rs).
#
#   bench/run.sh            from the repository root (or anywhere: it finds the root itself)
#
# Scenario A: throughput of POST /api/balance (5 models per request, upstream answers at once),
#             next to the double's own throughput as the ceiling.
# Scenario B: latency of POST /api/balance (20 models per request, upstream takes 200 ms).
# Memory:     VmRSS of the app after the load.
# The markdown summary goes to stdout and bench/results/latest.md; progress goes to stderr.
#
# Environment knobs: BENCH_DURATION (seconds per wrk run, default 15), BENCH_STRICT=1 (exit 1
# when a target is missed). Everything started here is stopped on exit, whatever happens.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

DURATION=${BENCH_DURATION:-15}
WARMUP=3
SEQUENTIAL_REQUESTS=30
A_CONNECTIONS=32
B_CONNECTIONS=2
TARGET_A_RPS=2500
TARGET_B_MEDIAN_MS=215
TARGET_RSS_MB=60

API_KEY="ms-00000000-0000-0000-0000-000000000000"
MODELS_5='"Qwen/Qwen2.5-72B-Instruct","Qwen/Qwen3-32B","deepseek-ai/DeepSeek-V3","ZhipuAI/GLM-4.7","moonshotai/Kimi-K2-Instruct"'
MODELS_20="$MODELS_5"',"Qwen/Qwen2.5-32B-Instruct","Qwen/Qwen2.5-14B-Instruct","Qwen/Qwen2.5-7B-Instruct","Qwen/Qwen2.5-Coder-32B-Instruct","Qwen/Qwen3-14B","Qwen/Qwen3-8B","Qwen/Qwen3-235B-A22B","Qwen/Qwen3-30B-A3B","Qwen/Qwen3-Coder-480B-A35B-Instruct","Qwen/QwQ-32B","deepseek-ai/DeepSeek-R1","deepseek-ai/DeepSeek-R1-Distill-Qwen-32B","ZhipuAI/GLM-4.5","MiniMax/MiniMax-M1-80k","LLM-Research/Meta-Llama-3.1-8B-Instruct"'
BODY_5='{"models":['"$MODELS_5"'],"api_key":"'"$API_KEY"'"}'
BODY_20='{"models":['"$MODELS_20"'],"api_key":"'"$API_KEY"'"}'
# What the app itself sends upstream, roughly: used for the ceiling run against the double.
BODY_CHAT='{"model":"Qwen/Qwen3-32B","messages":[{"role":"user","content":"hi"}],"max_tokens":1,"stream":false,"enable_thinking":false}'

BENCH_WORK_PREFIX=modelscope-bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a positive number of seconds"

# start_double DELAY_MS VAR: starts a double on a free port and stores its base URL in VAR.
start_double() {
    local delay=$1 logfile="$WORK/double-$1ms.log" pid url
    "$DOUBLE_BIN" --addr 127.0.0.1:0 --delay-ms "$delay" >"$logfile" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # The double prints its bound address once it accepts connections.
    for _ in $(seq 100); do
        url=$(sed -n 's|^upstream_double listening on \(http://[0-9.:]*\).*|\1|p' "$logfile")
        if [[ -n $url ]]; then
            printf -v "$2" '%s' "$url"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "upstream double exited: $(cat "$logfile")"
        sleep 0.05
    done
    die "upstream double (${delay} ms) did not start: $(cat "$logfile")"
}

# start_app NAME UPSTREAM_URL URL_VAR PID_VAR: starts the release app against UPSTREAM_URL with a
# fresh data dir, waits for GET /health to answer 200, stores its base URL and pid.
start_app() {
    local name=$1 upstream=$2 port logfile="$WORK/app-$1.log" pid url status
    port=$(free_port)
    mkdir -p "$WORK/data-$name"
    ROCKET_ADDRESS=127.0.0.1 \
        ROCKET_PORT="$port" \
        ROCKET_DATA_DIR="$WORK/data-$name" \
        ROCKET_MODELSCOPE_API_BASE="$upstream/v1" \
        ROCKET_MODELSCOPE_HUB_BASE="$upstream" \
        ROCKET_LOG_LEVEL=off \
        ROCKET_GLOBAL_CONCURRENCY=512 \
        "$APP_BIN" >"$logfile" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    url="http://127.0.0.1:$port"
    for _ in $(seq 300); do
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/health" || true)
        if [[ $status == 200 ]]; then
            printf -v "$3" '%s' "$url"
            printf -v "$4" '%s' "$pid"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "app ($name) exited during startup; its output: $(tail -n 20 "$logfile")"
        sleep 0.1
    done
    die "app ($name) did not answer 200 on /health within 30 s (last status: $status)"
}

# --- measuring ---------------------------------------------------------------------------------

# One wrk script for every run: the body comes from BENCH_BODY, and done() prints one
# machine-readable line, so nothing depends on wrk's human-readable units.
write_wrk_script() {
    cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
LUA
    wrk_report_lua >>"$WORK/post.lua"
}

# run_wrk NAME CONNECTIONS SECONDS URL BODY: runs wrk, keeps its output in $WORK/NAME.txt and
# prints the BENCH line.
run_wrk() {
    local name=$1 connections=$2 seconds=$3 url=$4 body=$5 out="$WORK/$1.txt" line
    log "wrk $name: $connections connections, ${seconds} s, $url"
    BENCH_BODY=$body timeout $((seconds + 30)) \
        wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$WORK/post.lua" "$url" >"$out" 2>&1 ||
        die "wrk $name failed: $(cat "$out")"
    line=$(grep '^BENCH ' "$out" || true)
    [[ -n $line ]] || die "wrk $name printed no result: $(cat "$out")"
    echo "$line"
}

# check_balance URL BODY COUNT: one POST /api/balance must be a 200 with success true and COUNT
# results that carry the double's numbers, or the load runs would measure error answers.
check_balance() {
    local url=$1 body=$2 count=$3 out="$WORK/check.json" status found
    status=$(curl -sS -o "$out" -w '%{http_code}' --max-time 30 \
        -H 'Content-Type: application/json' --data-binary "$body" "$url/api/balance") ||
        die "POST $url/api/balance did not answer"
    found=$(grep -oE '"model_request_remaining"[[:space:]]*:[[:space:]]*499' "$out" | wc -l)
    if [[ $status != 200 ]] || ! grep -qE '"success"[[:space:]]*:[[:space:]]*true' "$out" ||
        ((found != count)); then
        die "POST /api/balance with $count models must answer 200, success true and $count results" \
            "with model_request_remaining 499; got HTTP $status, $found results: $(head -c 2000 "$out")"
    fi
}

# --- setup -------------------------------------------------------------------------------------

require_tools

log "building (release)"
cargo build --release --bin modelscope-balance --example upstream_double >&2
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
APP_BIN=$TARGET_DIR/release/modelscope-balance
DOUBLE_BIN=$TARGET_DIR/release/examples/upstream_double
[[ -x $APP_BIN && -x $DOUBLE_BIN ]] || die "build did not produce $APP_BIN and $DOUBLE_BIN"

write_wrk_script
start_double 0 DOUBLE_FAST
start_double 200 DOUBLE_SLOW
start_app fast "$DOUBLE_FAST" APP_FAST APP_FAST_PID
start_app slow "$DOUBLE_SLOW" APP_SLOW APP_SLOW_PID
log "doubles at $DOUBLE_FAST (0 ms) and $DOUBLE_SLOW (200 ms); apps at $APP_FAST and $APP_SLOW"

# --- scenario A: throughput --------------------------------------------------------------------

check_balance "$APP_FAST" "$BODY_5" 5
# Warm-up: fills the app's upstream connection pool and the allocator before measuring.
run_wrk a-warmup "$A_CONNECTIONS" "$WARMUP" "$APP_FAST/api/balance" "$BODY_5" >/dev/null
A_APP=$(run_wrk a-app "$A_CONNECTIONS" "$DURATION" "$APP_FAST/api/balance" "$BODY_5")
A_DOUBLE=$(run_wrk a-double "$A_CONNECTIONS" "$DURATION" "$DOUBLE_FAST/v1/chat/completions" "$BODY_CHAT")
# The load must not have turned answers into errors.
check_balance "$APP_FAST" "$BODY_5" 5
A_RSS=$(rss_mb "$APP_FAST_PID" VmRSS)
A_HWM=$(rss_mb "$APP_FAST_PID" VmHWM)

# --- scenario B: latency -----------------------------------------------------------------------

check_balance "$APP_SLOW" "$BODY_20" 20
B_WRK=$(run_wrk b-app "$B_CONNECTIONS" "$DURATION" "$APP_SLOW/api/balance" "$BODY_20")

log "sequential: $SEQUENTIAL_REQUESTS requests, one at a time"
: >"$WORK/sequential.txt"
for _ in $(seq "$SEQUENTIAL_REQUESTS"); do
    curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
        -H 'Content-Type: application/json' --data-binary "$BODY_20" \
        "$APP_SLOW/api/balance" >>"$WORK/sequential.txt" || die "sequential request failed"
done
SEQ_BAD=$(awk '$1 != 200' "$WORK/sequential.txt" | wc -l)
((SEQ_BAD == 0)) || die "$SEQ_BAD sequential requests did not answer 200"
# Median, min, max in ms of the time_total column.
read -r SEQ_P50 SEQ_MIN SEQ_MAX < <(awk '{ print $2 * 1000 }' "$WORK/sequential.txt" | sort -n | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }')

B_RSS=$(rss_mb "$APP_SLOW_PID" VmRSS)
B_HWM=$(rss_mb "$APP_SLOW_PID" VmHWM)

# --- report ------------------------------------------------------------------------------------

ms() { calc "%.1f" "$1 / 1000"; }

A_APP_RPS=$(field "$A_APP" rps)
A_DOUBLE_RPS=$(field "$A_DOUBLE" rps)
A_RATIO=$(calc "%.3f" "$A_APP_RPS / $A_DOUBLE_RPS")
A_UPSTREAM_RPS=$(calc "%.0f" "$A_APP_RPS * 5")
B_P50=$(ms "$(field "$B_WRK" p50_us)")

GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git status --porcelain 2>/dev/null || true) ]]; then GIT_REV="$GIT_REV (dirty)"; fi
CPU_MODEL=$(grep -m1 -E '^(model name|Model)[[:space:]]*:' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)

T_A=$(pass_fail "$A_APP_RPS >= $TARGET_A_RPS")
T_B=$(pass_fail "$B_P50 <= $TARGET_B_MEDIAN_MS")
T_SEQ=$(pass_fail "$SEQ_P50 <= $TARGET_B_MEDIAN_MS")
T_RSS=$(pass_fail "$B_RSS <= $TARGET_RSS_MB")

wrk_row() { # LABEL BENCH_LINE
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(field "$2" rps)" "$(ms "$(field "$2" p50_us)")" \
        "$(ms "$(field "$2" p90_us)")" "$(ms "$(field "$2" p99_us)")" "$(field "$2" non2xx)" "$(field "$2" socket_errors)"
}

mkdir -p bench/results
{
    echo "# modelscope-balance benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- git: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r)"
    echo "- tools: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2 || true), $(rustc --version 2>/dev/null || echo rustc unknown)"
    echo "- wrk: 2 threads, ${DURATION} s per run; app, doubles and wrk share this machine"
    echo
    echo "## Scenario A: throughput (5 models per request, upstream answers at once)"
    echo
    echo "| run | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors |"
    echo "|---|---|---|---|---|---|---|"
    wrk_row "app \`POST /api/balance\`, $A_CONNECTIONS connections" "$A_APP"
    wrk_row "double \`POST /v1/chat/completions\` (ceiling), $A_CONNECTIONS connections" "$A_DOUBLE"
    echo
    echo "App / double: **$A_RATIO**. Each app request makes 5 upstream calls, so the app drove" \
        "about $A_UPSTREAM_RPS upstream calls/s."
    echo
    echo "## Scenario B: latency (20 models per request, upstream takes 200 ms)"
    echo
    echo "| run | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors |"
    echo "|---|---|---|---|---|---|---|"
    wrk_row "app \`POST /api/balance\`, $B_CONNECTIONS connections" "$B_WRK"
    echo
    echo "Sequential, $SEQUENTIAL_REQUESTS requests one at a time with curl: median **$SEQ_P50 ms**" \
        "(min $SEQ_MIN, max $SEQ_MAX)."
    echo
    echo "## Memory"
    echo
    echo "| app instance | VmRSS MB | VmHWM (peak) MB |"
    echo "|---|---|---|"
    echo "| scenario A (after throughput) | $A_RSS | $A_HWM |"
    echo "| scenario B (after latency) | $B_RSS | $B_HWM |"
    echo
    echo "## Targets"
    echo
    echo "| metric | target | measured | result |"
    echo "|---|---|---|---|"
    echo "| A: app requests/s (target set for 2 CPUs; this machine has $(nproc)) | >= $TARGET_A_RPS | $A_APP_RPS | $T_A |"
    echo "| B: median latency under load (wrk p50) | <= $TARGET_B_MEDIAN_MS ms | $B_P50 ms | $T_B |"
    echo "| B: median latency, sequential | <= $TARGET_B_MEDIAN_MS ms | $SEQ_P50 ms | $T_SEQ |"
    echo "| memory: app VmRSS after scenario B | <= $TARGET_RSS_MB MB | $B_RSS MB | $T_RSS |"
    echo
    echo "<details><summary>raw wrk output</summary>"
    echo
    for run in a-app a-double b-app; do
        echo "### $run"
        echo
        echo '```'
        grep -v '^BENCH ' "$WORK/$run.txt" || true
        echo '```'
        echo
    done
    echo "</details>"
} | tee bench/results/latest.md

log "summary written to bench/results/latest.md"
if [[ ${BENCH_STRICT:-0} == 1 ]] && [[ "$T_A $T_B $T_SEQ $T_RSS" == *FAIL* ]]; then
    die "a target was missed (BENCH_STRICT=1)"
fi
