#!/usr/bin/env bash
# Benchmark of modelscope-balance against a local stand-in for ModelScope (examples/upstream_double.rs).
#
#   bench/run.sh            from the repository root (or anywhere: it finds the root itself)
#
# Scenario A: throughput of POST /api/balance (5 models per request, upstream answers at once),
#             next to the double's own throughput as the ceiling.
# Scenario B: latency of POST /api/balance (20 models per request, upstream takes 200 ms).
# Scenario C: the points regime (no rate-limit headers; the balance endpoint takes 50 ms, chat
#             200 ms; each call freezes then spends 1 point): a probe run of 20 models reads the
#             balance, probes, and reads it again once the frozen points are back.
# Scenario D: the free check ("probe": false) on the same double: the balance read alone.
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
# 50 (balance before) + 200 (probes) + 50 (balance after) + at most 15 ms of our own.
TARGET_C_MEDIAN_MS=315
# 50 (balance) + at most 10 ms of our own.
TARGET_D_MEDIAN_MS=60
TARGET_RSS_MB=60
POINTS_CHAT_MS=200
POINTS_BALANCE_MS=50

API_KEY="ms-00000000-0000-0000-0000-000000000000"
MODELS_5='"Qwen/Qwen2.5-72B-Instruct","Qwen/Qwen3-32B","deepseek-ai/DeepSeek-V3","ZhipuAI/GLM-4.7","moonshotai/Kimi-K2-Instruct"'
MODELS_20="$MODELS_5"',"Qwen/Qwen2.5-32B-Instruct","Qwen/Qwen2.5-14B-Instruct","Qwen/Qwen2.5-7B-Instruct","Qwen/Qwen2.5-Coder-32B-Instruct","Qwen/Qwen3-14B","Qwen/Qwen3-8B","Qwen/Qwen3-235B-A22B","Qwen/Qwen3-30B-A3B","Qwen/Qwen3-Coder-480B-A35B-Instruct","Qwen/QwQ-32B","deepseek-ai/DeepSeek-R1","deepseek-ai/DeepSeek-R1-Distill-Qwen-32B","ZhipuAI/GLM-4.5","MiniMax/MiniMax-M1-80k","LLM-Research/Meta-Llama-3.1-8B-Instruct"'
BODY_5='{"models":['"$MODELS_5"'],"api_key":"'"$API_KEY"'"}'
BODY_20='{"models":['"$MODELS_20"'],"api_key":"'"$API_KEY"'"}'
# Points regime: each wrk connection gets its own key (KEY_SLOT is replaced per wrk thread), so
# one connection's calls in flight never hold points on another's account; a probe run waits
# for its own frozen points to come back, as it would for a real user.
BODY_20_POINTS='{"models":['"$MODELS_20"'],"api_key":"KEY_SLOT"}'
BODY_20_CHECK='{"models":['"$MODELS_20"'],"api_key":"KEY_SLOT","probe":false}'
# What the app itself sends upstream, roughly: used for the ceiling run against the double.
BODY_CHAT='{"model":"Qwen/Qwen3-32B","messages":[{"role":"user","content":"hi"}],"max_tokens":1,"stream":false,"enable_thinking":false}'

BENCH_WORK_PREFIX=modelscope-bench
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a positive number of seconds"

# start_double NAME VAR ARGS...: starts a double on a free port with ARGS and stores its base
# URL in VAR.
start_double() {
    local name=$1 var=$2 logfile="$WORK/double-$1.log" pid url
    shift 2
    "$DOUBLE_BIN" --addr 127.0.0.1:0 "$@" >"$logfile" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    # The double prints its bound address once it accepts connections.
    for _ in $(seq 100); do
        url=$(sed -n 's|^upstream_double listening on \(http://[0-9.:]*\).*|\1|p' "$logfile")
        if [[ -n $url ]]; then
            printf -v "$var" '%s' "$url"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "upstream double exited: $(cat "$logfile")"
        sleep 0.05
    done
    die "upstream double ($name) did not start: $(cat "$logfile")"
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
        ROCKET_ANONYMOUS_CONCURRENCY=512 \
        ROCKET_ANONYMOUS_QUERIES_PER_ADDRESS=64 \
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

# One wrk script for every run: the body comes from BENCH_BODY, with KEY_SLOT (if any) replaced
# by a key of the wrk thread's own, and done() prints one machine-readable line, so nothing
# depends on wrk's human-readable units.
write_wrk_script() {
    cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("slot", threads)
end
function init(args)
  local key = string.format("ms-%08d-0000-4000-8000-00000000bec0", slot or 0)
  wrk.body = string.gsub(os.getenv("BENCH_BODY"), "KEY_SLOT", key)
end
LUA
    wrk_report_lua >>"$WORK/post.lua"
}

# run_wrk NAME CONNECTIONS SECONDS URL BODY: runs wrk (one thread per connection up to 2),
# keeps its output in $WORK/NAME.txt and prints the BENCH line.
run_wrk() {
    local name=$1 connections=$2 seconds=$3 url=$4 body=$5 out="$WORK/$1.txt" line threads=2
    ((connections < threads)) && threads=$connections
    log "wrk $name: $connections connections, ${seconds} s, $url"
    BENCH_BODY=$body timeout $((seconds + 30)) \
        wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency -s "$WORK/post.lua" "$url" >"$out" 2>&1 ||
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

# check_points URL BODY COUNT SPENT: one POST /api/balance in the points regime must be a 200
# with success true, COUNT rows answered from the points (no headers) and points_spent SPENT
# (null for a free check, which has none).
check_points() {
    local url=$1 body=$2 count=$3 spent=$4 out="$WORK/check.json" status found
    status=$(curl -sS -o "$out" -w '%{http_code}' --max-time 30 \
        -H 'Content-Type: application/json' --data-binary "$body" "$url/api/balance") ||
        die "POST $url/api/balance did not answer"
    found=$(grep -oE '"quota_source"[[:space:]]*:[[:space:]]*"points"' "$out" | wc -l)
    if [[ $status != 200 ]] || ! grep -qE '"success"[[:space:]]*:[[:space:]]*true' "$out" ||
        ((found != count)); then
        die "POST /api/balance ($body) must answer 200, success true and $count rows from the" \
            "points; got HTTP $status, $found: $(head -c 2000 "$out")"
    fi
    if [[ $spent != null ]] && ! grep -qE '"points_spent"[[:space:]]*:[[:space:]]*'"$spent"'[,}]' "$out"; then
        die "the probe run must report points_spent $spent: $(head -c 2000 "$out")"
    fi
}

# available DOUBLE_URL KEY: the key's available points on the double.
available() {
    curl -sS --max-time 5 -H "Authorization: Bearer $2" "$1/openapi/v1/magicubes/balance" |
        sed -n 's/.*"available_balance":\([0-9.]*\).*/\1/p'
}

# sequential NAME URL BODY: SEQUENTIAL_REQUESTS requests one at a time with curl; prints
# "median min max" in ms.
sequential() {
    local name=$1 url=$2 body=$3 out="$WORK/$1.txt" bad
    log "sequential $name: $SEQUENTIAL_REQUESTS requests, one at a time"
    : >"$out"
    for _ in $(seq "$SEQUENTIAL_REQUESTS"); do
        curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 10 \
            -H 'Content-Type: application/json' --data-binary "$body" \
            "$url/api/balance" >>"$out" || die "sequential request ($name) failed"
    done
    bad=$(awk '$1 != 200' "$out" | wc -l)
    ((bad == 0)) || die "$bad sequential requests ($name) did not answer 200"
    awk '{ print $2 * 1000 }' "$out" | sort -n | awk '
        { v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
              printf "%.1f %.1f %.1f\n", m, v[1], v[NR] }'
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
start_double fast DOUBLE_FAST --delay-ms 0
start_double slow DOUBLE_SLOW --delay-ms 200
start_double points DOUBLE_POINTS --regime points --delay-ms "$POINTS_CHAT_MS" \
    --balance-delay-ms "$POINTS_BALANCE_MS" --price 1
start_app fast "$DOUBLE_FAST" APP_FAST APP_FAST_PID
start_app slow "$DOUBLE_SLOW" APP_SLOW APP_SLOW_PID
start_app points "$DOUBLE_POINTS" APP_POINTS APP_POINTS_PID
log "doubles at $DOUBLE_FAST (0 ms), $DOUBLE_SLOW (200 ms), $DOUBLE_POINTS (points);" \
    "apps at $APP_FAST, $APP_SLOW, $APP_POINTS"

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

read -r SEQ_P50 SEQ_MIN SEQ_MAX < <(sequential b-sequential "$APP_SLOW" "$BODY_20")

B_RSS=$(rss_mb "$APP_SLOW_PID" VmRSS)
B_HWM=$(rss_mb "$APP_SLOW_PID" VmHWM)

# --- scenario C: a probe run in the points regime ----------------------------------------------

SEQ_KEY="ms-5e9e5e9e-0000-4000-8000-00000000bec0"
BODY_C_SEQ=${BODY_20_POINTS//KEY_SLOT/$SEQ_KEY}
BODY_D_SEQ=${BODY_20_CHECK//KEY_SLOT/$SEQ_KEY}
check_points "$APP_POINTS" "$BODY_C_SEQ" 20 20
read -r C_P50 C_MIN C_MAX < <(sequential c-sequential "$APP_POINTS" "$BODY_C_SEQ")
C_WRK=$(run_wrk c-app "$B_CONNECTIONS" "$DURATION" "$APP_POINTS/api/balance" "$BODY_20_POINTS")

# --- scenario D: the free check ----------------------------------------------------------------

BEFORE_D=$(available "$DOUBLE_POINTS" "$SEQ_KEY")
check_points "$APP_POINTS" "$BODY_D_SEQ" 20 null
read -r D_P50 D_MIN D_MAX < <(sequential d-sequential "$APP_POINTS" "$BODY_D_SEQ")
D_WRK=$(run_wrk d-app "$B_CONNECTIONS" "$DURATION" "$APP_POINTS/api/balance" "$BODY_20_CHECK")
AFTER_D=$(available "$DOUBLE_POINTS" "$SEQ_KEY")
[[ -n $BEFORE_D && $BEFORE_D == "$AFTER_D" ]] ||
    die "the free checks spent points: available $BEFORE_D before, $AFTER_D after"

P_RSS=$(rss_mb "$APP_POINTS_PID" VmRSS)
P_HWM=$(rss_mb "$APP_POINTS_PID" VmHWM)

# --- report ------------------------------------------------------------------------------------

ms() { calc "%.1f" "$1 / 1000"; }

A_APP_RPS=$(field "$A_APP" rps)
A_DOUBLE_RPS=$(field "$A_DOUBLE" rps)
A_RATIO=$(calc "%.3f" "$A_APP_RPS / $A_DOUBLE_RPS")
# 5 probes and 2 balance reads (before the first probe, after the last).
A_UPSTREAM_RPS=$(calc "%.0f" "$A_APP_RPS * 7")
B_P50=$(ms "$(field "$B_WRK" p50_us)")
C_WRK_P50=$(ms "$(field "$C_WRK" p50_us)")
D_WRK_P50=$(ms "$(field "$D_WRK" p50_us)")

GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git status --porcelain 2>/dev/null || true) ]]; then GIT_REV="$GIT_REV (dirty)"; fi
CPU_MODEL=$(grep -m1 -E '^(model name|Model)[[:space:]]*:' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)

T_A=$(pass_fail "$A_APP_RPS >= $TARGET_A_RPS")
T_B=$(pass_fail "$B_P50 <= $TARGET_B_MEDIAN_MS")
T_SEQ=$(pass_fail "$SEQ_P50 <= $TARGET_B_MEDIAN_MS")
T_RSS=$(pass_fail "$B_RSS <= $TARGET_RSS_MB")
T_C=$(pass_fail "$C_P50 <= $TARGET_C_MEDIAN_MS")
T_C_WRK=$(pass_fail "$C_WRK_P50 <= $TARGET_C_MEDIAN_MS")
T_D=$(pass_fail "$D_P50 <= $TARGET_D_MEDIAN_MS")
T_D_WRK=$(pass_fail "$D_WRK_P50 <= $TARGET_D_MEDIAN_MS")

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
    echo "App / double: **$A_RATIO**. Each app request makes 7 upstream calls (the balance, 5" \
        "probes, the balance again), so the app drove about $A_UPSTREAM_RPS upstream calls/s."
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
    echo "## Scenarios C and D: the points regime (no rate-limit headers; chat $POINTS_CHAT_MS ms," \
        "balance $POINTS_BALANCE_MS ms, 1 point a call)"
    echo
    echo "C: a probe run of 20 models (balance before, 20 probes at once, balance again once the" \
        "frozen points are back; points_spent 20). D: the free check of the same 20 models" \
        '(`"probe": false`: the balance read alone, no chat call; the double'"'"'s balance for the' \
        "key was $BEFORE_D before and $AFTER_D after)."
    echo
    echo "| run | requests/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors |"
    echo "|---|---|---|---|---|---|---|"
    wrk_row "C: probe run, $B_CONNECTIONS connections (a key each)" "$C_WRK"
    wrk_row "D: free check, $B_CONNECTIONS connections (a key each)" "$D_WRK"
    echo
    echo "Sequential, $SEQUENTIAL_REQUESTS requests one at a time with curl: C median **$C_P50 ms**" \
        "(min $C_MIN, max $C_MAX); D median **$D_P50 ms** (min $D_MIN, max $D_MAX)."
    echo
    echo "## Memory"
    echo
    echo "| app instance | VmRSS MB | VmHWM (peak) MB |"
    echo "|---|---|---|"
    echo "| scenario A (after throughput) | $A_RSS | $A_HWM |"
    echo "| scenario B (after latency) | $B_RSS | $B_HWM |"
    echo "| scenarios C and D (after the points runs) | $P_RSS | $P_HWM |"
    echo
    echo "## Targets"
    echo
    echo "| metric | target | measured | result |"
    echo "|---|---|---|---|"
    echo "| A: app requests/s (target set for 2 CPUs; this machine has $(nproc)) | >= $TARGET_A_RPS | $A_APP_RPS | $T_A |"
    echo "| B: median latency under load (wrk p50) | <= $TARGET_B_MEDIAN_MS ms | $B_P50 ms | $T_B |"
    echo "| B: median latency, sequential | <= $TARGET_B_MEDIAN_MS ms | $SEQ_P50 ms | $T_SEQ |"
    echo "| C: probe run, 20 models, median, sequential | <= $TARGET_C_MEDIAN_MS ms | $C_P50 ms | $T_C |"
    echo "| C: probe run, median under load (wrk p50) | <= $TARGET_C_MEDIAN_MS ms | $C_WRK_P50 ms | $T_C_WRK |"
    echo "| D: free check, median, sequential | <= $TARGET_D_MEDIAN_MS ms | $D_P50 ms | $T_D |"
    echo "| D: free check, median under load (wrk p50) | <= $TARGET_D_MEDIAN_MS ms | $D_WRK_P50 ms | $T_D_WRK |"
    echo "| memory: app VmRSS after scenario B | <= $TARGET_RSS_MB MB | $B_RSS MB | $T_RSS |"
    echo
    echo "<details><summary>raw wrk output</summary>"
    echo
    for run in a-app a-double b-app c-app d-app; do
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
if [[ ${BENCH_STRICT:-0} == 1 ]] &&
    [[ "$T_A $T_B $T_SEQ $T_RSS $T_C $T_C_WRK $T_D $T_D_WRK" == *FAIL* ]]; then
    die "a target was missed (BENCH_STRICT=1)"
fi
