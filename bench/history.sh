#!/usr/bin/env bash
# Benchmark of the signed-in pages that read history: GET /history and the dashboard (GET /),
# with BENCH_RUNS (default 10,000) stored runs of 5 models each for one user (examples/seed_history.rs).
#
#   bench/history.sh        from the repository root (or anywhere: it finds the root itself)
#
# Seeding: one user, 2 saved keys, 2 presets and BENCH_RUNS runs stored with
#          db::history::insert_run, each insert timed on its own (median, p90, p99, max).
# Load:    wrk, 2 threads, 32 connections, BENCH_DURATION s each, with the session cookie,
#          against /history and then /; then shorter runs (EXTRA_DURATION s, after 1 s of warm-up each) of every other
#          history page: filtered by a model, a key, a preset, a date range and all at once, a
#          deep page and the last page by their keyset cursors (found by following the redirect
#          of an old `?page=N` link), a model's deep page, a model's trend page and a deep one;
#          then, for information, an old numbered link's redirect; then the whole history
#          exported as CSV once, and the app's memory read.
# The app's upstream bases point at a loopback port nobody listens on: these pages must make
# no upstream call, and any that happened would fail at once.
# The markdown summary goes to stdout and bench/results/history-latest.md; progress to stderr.
#
# Environment knobs: BENCH_DURATION (seconds per main wrk run, default 15), BENCH_RUNS (stored
# runs, default 10000), BENCH_STRICT=1 (exit 1 when a target is missed). Everything started here
# is stopped on exit, whatever happens.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

DURATION=${BENCH_DURATION:-15}
RUNS=${BENCH_RUNS:-10000}
WARMUP=3
EXTRA_DURATION=5
EXTRA_WARMUP=1
CONNECTIONS=32
PAGE_SIZE=50
TARGET_MEDIAN_MS=10
TARGET_INSERT_MS=5
TARGET_RSS_MB=60

BENCH_WORK_PREFIX=modelscope-bench-history
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a positive number of seconds"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number"

# --- measuring ---------------------------------------------------------------------------------

# One wrk script for every run: a GET with the session cookie from BENCH_SESSION, and done()
# prints one machine-readable line, so nothing depends on wrk's human-readable units.
write_wrk_script() {
    cat >"$WORK/get.lua" <<'LUA'
wrk.method = "GET"
wrk.headers["Cookie"] = "msb_session=" .. os.getenv("BENCH_SESSION")
if os.getenv("BENCH_TOKEN") ~= nil and os.getenv("BENCH_TOKEN") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
end
LUA
    wrk_report_lua >>"$WORK/get.lua"
}

# app_cpu_ticks: the app's user + system CPU time so far, in clock ticks (/proc/PID/stat fields
# 14 and 15, counted after the command name, which is in parentheses).
app_cpu_ticks() { sed 's/.*) //' "/proc/$APP_PID/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)

# run_wrk NAME SECONDS URL: runs wrk, keeps its output in $WORK/NAME.txt and prints the BENCH line,
# with the app's CPU time per request added (cpu_us=): on a shared machine the latency says how
# busy the machine was too, the CPU time only what the app spent.
run_wrk() {
    local name=$1 seconds=$2 url=$3 out="$WORK/$1.txt" line ticks
    log "wrk $name: $CONNECTIONS connections, ${seconds} s, $url"
    ticks=$(app_cpu_ticks)
    BENCH_SESSION=$SESSION timeout $((seconds + 30)) \
        wrk -t2 -c"$CONNECTIONS" -d"${seconds}s" --latency -s "$WORK/get.lua" "$url" >"$out" 2>&1 ||
        die "wrk $name failed: $(cat "$out")"
    line=$(grep '^BENCH ' "$out" || true)
    [[ -n $line ]] || die "wrk $name printed no result: $(cat "$out")"
    ticks=$(($(app_cpu_ticks) - ticks))
    echo "$line cpu_us=$(calc "%.0f" "$ticks * 1000000 / $CLK_TCK / $(field "$line" requests)")"
}

# fetch PATH FILE: GET with the session cookie; prints the status. wrk only counts 4xx/5xx as
# errors, so a redirect to /login (a lost session) must be caught here, before and after the load.
fetch() {
    curl -sS -o "$2" -w '%{http_code}' --max-time 10 -H "Cookie: msb_session=$SESSION" "$APP$1" ||
        die "GET $1 did not answer"
}

# count PATTERN FILE: how many times the fixed string occurs.
count() { { grep -oF -- "$1" "$2" || true; } | wc -l; }

# check_page PATH ROW_MARKER MIN_ROWS: a 200 with at least MIN_ROWS rows (ROW_MARKER occurrences).
check_page() {
    local out="$WORK/check-page.html" status rows
    status=$(fetch "$1" "$out")
    rows=$(count "$2" "$out")
    if [[ $status != 200 ]] || ((rows < $3)); then
        die "GET $1 must answer 200 with at least $3 rows ($2); got HTTP $status, $rows rows:" \
            "$(head -c 1500 "$out")"
    fi
}

# check_history PATH MIN_ROWS: a /history page that lists at least MIN_ROWS runs.
check_history() { check_page "$1" '<tr id="run-' "$2"; }

# check_trend PATH: a trend page with its chart and a table of the model's rows.
check_trend() {
    check_page "$1" '<svg class="trend"' 1
    check_page "$1" '<tr class="row-' 2
}

# check_dashboard: a 200 that is the signed-in dashboard with a panel per saved key, each with
# the latest numbers per model (not the signed-out quick page, not an empty history).
check_dashboard() {
    local out="$WORK/check-dashboard.html" status panels rows empty
    status=$(fetch / "$out")
    panels=$(count 'class="card key-panel"' "$out")
    rows=$(count '<th scope="row" class="model"' "$out")
    empty=$(count '还没有查询记录' "$out")
    if [[ $status != 200 ]] || ((panels != KEY_COUNT || rows < 2 * 5 || empty != 0)); then
        die "GET / must answer 200 with $KEY_COUNT key panels of latest numbers; got HTTP $status," \
            "$panels panels, $rows model rows: $(head -c 1500 "$out")"
    fi
    DASHBOARD_ROWS=$rows
}

# check_presets: /presets answers 200 with the price table of the presets' models (issue 17:
# prices, candidates and changes are read per model, never replayed from history).
check_presets() {
    local out="$WORK/check-presets.html" status rows
    status=$(fetch /presets "$out")
    rows=$(count '<th scope="row" class="model"' "$out")
    if [[ $status != 200 ]] || ((rows < 5)); then
        die "GET /presets must answer 200 with the price table; got HTTP $status, $rows rows:" \
            "$(head -c 1500 "$out")"
    fi
}

# --- setup -------------------------------------------------------------------------------------

require_tools

log "building (release)"
cargo build --release --bin modelscope-balance --example seed_history >&2
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
APP_BIN=$TARGET_DIR/release/modelscope-balance
SEED_BIN=$TARGET_DIR/release/examples/seed_history
[[ -x $APP_BIN && -x $SEED_BIN ]] || die "build did not produce $APP_BIN and $SEED_BIN"
BENCH_START=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- seeding -----------------------------------------------------------------------------------

DATA=$WORK/data
log "seeding $RUNS runs into $DATA"
"$SEED_BIN" "$DATA" --runs "$RUNS" >"$WORK/seed.env" 2>"$WORK/seed.log" ||
    die "seed_history failed: $(tail -n 20 "$WORK/seed.log")"
# seed VAR: a NAME=value line of the seeder's output.
seed() {
    local value
    value=$(sed -n "s/^$1=//p" "$WORK/seed.env")
    [[ -n $value ]] || die "seed_history printed no $1: $(cat "$WORK/seed.env" "$WORK/seed.log")"
    echo "$value"
}
SESSION=$(seed SESSION)
KEY_COUNT=$(tr ',' '\n' <<<"$(seed KEY_IDS)" | wc -l)
FILTER_MODEL=$(seed FILTER_MODEL)
MODELS_PER_RUN=$(seed MODELS_PER_RUN)
SEED_SECONDS=$(seed SEED_SECONDS)
DB_MB=$(calc "%.1f" "$(seed DB_BYTES) / 1048576")
INS_P50=$(seed INSERT_P50_MS)
INS_P90=$(seed INSERT_P90_MS)
INS_P99=$(seed INSERT_P99_MS)
INS_MAX=$(seed INSERT_MAX_MS)
INS_MEAN=$(seed INSERT_MEAN_MS)
INS_OVER=$(seed INSERT_OVER_5MS)
INS_LAST_P50=$(seed INSERT_LAST1000_P50_MS)
INS_LAST_P99=$(seed INSERT_LAST1000_P99_MS)
log "$(tail -n 1 "$WORK/seed.log")"

# --- the app -----------------------------------------------------------------------------------

DEAD_PORT=$(free_port)
PORT=$(free_port)
[[ $PORT != "$DEAD_PORT" ]] || PORT=$(free_port)
ROCKET_ADDRESS=127.0.0.1 \
    ROCKET_PORT="$PORT" \
    ROCKET_DATA_DIR="$DATA" \
    ROCKET_MODELSCOPE_API_BASE="http://127.0.0.1:$DEAD_PORT/v1" \
    ROCKET_MODELSCOPE_HUB_BASE="http://127.0.0.1:$DEAD_PORT" \
    ROCKET_LOG_LEVEL=off \
    ROCKET_SECURE_COOKIES=false \
    RUST_LOG=warn \
    "$APP_BIN" >"$WORK/app.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
APP="http://127.0.0.1:$PORT"
status=000
for _ in $(seq 300); do
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$APP/health" || true)
    [[ $status == 200 ]] && break
    kill -0 "$APP_PID" 2>/dev/null || die "the app exited during startup; its output: $(tail -n 20 "$WORK/app.log")"
    sleep 0.1
done
[[ $status == 200 ]] || die "the app did not answer 200 on /health within 30 s (last status: $status)"
log "app at $APP (upstream bases point at refused port $DEAD_PORT)"

# --- load --------------------------------------------------------------------------------------

write_wrk_script
MODEL_QUERY="model=${FILTER_MODEL//\//%2F}"
LAST_PAGE=$(((RUNS + PAGE_SIZE - 1) / PAGE_SIZE))
KEY_ID=$(seed KEY_IDS | cut -d, -f2)
PRESET_ID=$(seed PRESET_IDS | cut -d, -f1)
# Beijing dates (the filter's days) 30 and 20 days ago: a ten-day slice of the 60 seeded days.
bj_date() { date -u -d "@$(($(date +%s) + 8 * 3600 - $1 * 86400))" +%F; }
DATES_QUERY="from=$(bj_date 30)&to=$(bj_date 20)"
COMBINED_QUERY="key=$KEY_ID&$MODEL_QUERY&from=$(bj_date 45)"

# cursor_of PATH: an old numbered-page link answers 303 to the same page by keyset cursor
# (`?before=<run id>`); prints that path. Deep pages are measured at their cursor, which is
# where every "older" link leads.
cursor_of() {
    local answer status location
    answer=$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' --max-time 30 \
        -H "Cookie: msb_session=$SESSION" "$APP$1") || die "GET $1 did not answer"
    read -r status location <<<"$answer"
    [[ $status == 303 && $location == *before=* ]] ||
        die "GET $1 must redirect to a ?before= cursor; got HTTP $status ${location:-}"
    echo "${location#"$APP"}"
}

# One model's runs are 2 in 5 of all (one preset), so page RUNS/250 of them is mid-way.
DEEP_PATH=$(cursor_of "/history?page=$(((LAST_PAGE + 1) / 2))")
LAST_PATH=$(cursor_of "/history?page=$LAST_PAGE")
MODEL_DEEP_PATH=$(cursor_of "/history?$MODEL_QUERY&page=$((RUNS / 250 > 1 ? RUNS / 250 : 2))")
TREND_PATH="/history/model/$FILTER_MODEL"
TREND_DEEP_PATH="$TREND_PATH?${MODEL_DEEP_PATH##*[?&]}"

# NAME|PATH|MIN_ROWS of every history page measured against the target, after the first page.
PAGES=(
    "history-model|/history?$MODEL_QUERY|$PAGE_SIZE"
    "history-key|/history?key=$KEY_ID|$PAGE_SIZE"
    "history-preset|/history?preset=$PRESET_ID|$PAGE_SIZE"
    "history-dates|/history?$DATES_QUERY|$PAGE_SIZE"
    "history-combined|/history?$COMBINED_QUERY|$PAGE_SIZE"
    "history-deep|$DEEP_PATH|$PAGE_SIZE"
    "history-model-deep|$MODEL_DEEP_PATH|$PAGE_SIZE"
    "history-last-page|$LAST_PATH|1"
)
check_pages() {
    local entry name path rows
    check_history /history "$PAGE_SIZE"
    for entry in "${PAGES[@]}"; do
        IFS='|' read -r name path rows <<<"$entry"
        check_history "$path" "$rows"
    done
    check_trend "$TREND_PATH"
    check_trend "$TREND_DEEP_PATH"
}
check_pages
check_dashboard

run_wrk history-warmup "$WARMUP" "$APP/history" >/dev/null
HISTORY=$(run_wrk history "$DURATION" "$APP/history")
check_history /history "$PAGE_SIZE"

run_wrk dashboard-warmup "$WARMUP" "$APP/" >/dev/null
DASHBOARD=$(run_wrk dashboard "$DURATION" "$APP/")
check_dashboard

# /api/quota for the quota user (10 keys, 30 models), with its access token: JSON checked first.
QUOTA_TOKEN=$(seed QUOTA_TOKEN)
QUOTA_CHECK=$(curl -sS --max-time 10 -H "Authorization: Bearer $QUOTA_TOKEN" "$APP/api/quota") ||
    die "GET /api/quota did not answer"
QUOTA_KEYS=$(grep -o '"last_four"' <<<"$QUOTA_CHECK" | wc -l)
QUOTA_MODELS=$(grep -o '"calls_per_day"' <<<"$QUOTA_CHECK" | wc -l)
((QUOTA_KEYS == 10 && QUOTA_MODELS == 300)) ||
    die "GET /api/quota must list 10 keys of 30 models; got: $(head -c 800 <<<"$QUOTA_CHECK")"
export BENCH_TOKEN=$QUOTA_TOKEN
run_wrk quota-warmup "$WARMUP" "$APP/api/quota" >/dev/null
QUOTA=$(run_wrk quota "$DURATION" "$APP/api/quota")
unset BENCH_TOKEN

# measure_page NAME PATH: a short warm-up on the page (each connection's page cache holds the
# previous page's rows), then the measured run.
measure_page() {
    run_wrk "$1-warmup" "$EXTRA_WARMUP" "$APP$2" >/dev/null
    run_wrk "$1" "$EXTRA_DURATION" "$APP$2"
}
declare -A MEASURED
for entry in "${PAGES[@]}"; do
    IFS='|' read -r name path _ <<<"$entry"
    MEASURED[$name]=$(measure_page "$name" "$path")
done
MEASURED[trend]=$(measure_page trend "$TREND_PATH")
MEASURED[trend-deep]=$(measure_page trend-deep "$TREND_DEEP_PATH")
check_presets
MEASURED[presets]=$(measure_page presets /presets)
# The names in the order measured (an associative array has none).
NAMES=()
for entry in "${PAGES[@]}"; do NAMES+=("${entry%%|*}"); done
NAMES+=(trend trend-deep presets)
RSS_PAGES=$(rss_mb "$APP_PID" VmRSS)
# Informational: an old numbered link to the last page, answered with its redirect (it walks
# the index entries of the pages it skips, once per old link).
OLD_LINK=$(run_wrk old-page-link "$EXTRA_DURATION" "$APP/history?page=$LAST_PAGE")
RSS_OLD_LINK=$(rss_mb "$APP_PID" VmRSS)
check_pages

# The whole history as CSV, once: one line per stored model row, plus the header.
log "exporting the whole history as CSV"
read -r EXPORT_STATUS EXPORT_SECS EXPORT_BYTES < <(curl -sS -o "$WORK/export.csv" --max-time 120 \
    -w '%{http_code} %{time_total} %{size_download}\n' -H "Cookie: msb_session=$SESSION" \
    "$APP/history/export?format=csv") || die "the CSV export did not answer"
EXPORT_LINES=$(wc -l <"$WORK/export.csv")
if [[ $EXPORT_STATUS != 200 ]] || ((EXPORT_LINES < RUNS * MODELS_PER_RUN)); then
    die "the CSV export must answer 200 with $((RUNS * MODELS_PER_RUN)) rows; got HTTP" \
        "$EXPORT_STATUS, $EXPORT_LINES lines: $(head -c 500 "$WORK/export.csv")"
fi

APP_RSS=$(rss_mb "$APP_PID" VmRSS)
APP_HWM=$(rss_mb "$APP_PID" VmHWM)
# The app logs at warn: anything here (e.g. a failed upstream call) is worth reading.
APP_WARNINGS=$(grep -c . "$WORK/app.log" || true)
BENCH_SECS=$((SECONDS - BENCH_START))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ------------------------------------------------------------------------------------

ms() { calc "%.2f" "$1 / 1000"; }

H_P50=$(ms "$(field "$HISTORY" p50_us)")
D_P50=$(ms "$(field "$DASHBOARD" p50_us)")
T_H=$(pass_fail "$H_P50 <= $TARGET_MEDIAN_MS")
T_D=$(pass_fail "$D_P50 <= $TARGET_MEDIAN_MS")
Q_P50=$(ms "$(field "$QUOTA" p50_us)")
T_Q=$(pass_fail "$Q_P50 <= $TARGET_MEDIAN_MS")
T_I50=$(pass_fail "$INS_P50 < $TARGET_INSERT_MS")
T_I99=$(pass_fail "$INS_P99 < $TARGET_INSERT_MS")
ERRORS=0
for line in "$HISTORY" "$DASHBOARD" "$QUOTA" "${MEASURED[@]}" "$OLD_LINK"; do
    ERRORS=$((ERRORS + $(field "$line" non2xx) + $(field "$line" socket_errors)))
done
T_ERR=$(pass_fail "$ERRORS == 0")
# The slowest median of the other history pages and the trend pages, and which one it is.
SLOWEST_NAME=
SLOWEST_P50=0
for name in "${NAMES[@]}"; do
    p50=$(ms "$(field "${MEASURED[$name]}" p50_us)")
    if awk "BEGIN { exit !($p50 > $SLOWEST_P50) }"; then SLOWEST_P50=$p50 SLOWEST_NAME=$name; fi
done
T_PAGES=$(pass_fail "$SLOWEST_P50 <= $TARGET_MEDIAN_MS")
T_RSS=$(pass_fail "$APP_RSS <= $TARGET_RSS_MB")

GIT_REV=$(git rev-parse --short HEAD 2>/dev/null || echo "no commit")
if [[ -n $(git status --porcelain 2>/dev/null || true) ]]; then GIT_REV="$GIT_REV (dirty)"; fi
CPU_MODEL=$(grep -m1 -E '^(model name|Model)[[:space:]]*:' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)

wrk_row() { # LABEL BENCH_LINE
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(field "$2" rps)" "$(ms "$(field "$2" p50_us)")" \
        "$(ms "$(field "$2" p90_us)")" "$(ms "$(field "$2" p99_us)")" "$(ms "$(field "$2" cpu_us)")" \
        "$(field "$2" non2xx)" "$(field "$2" socket_errors)"
}

mkdir -p bench/results
{
    echo "# modelscope-balance history benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- git: $GIT_REV"
    echo "- machine: $(nproc) CPUs, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r); load average before: $LOAD_BEFORE, after: $LOAD_AFTER"
    echo "- tools: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2 || true), $(rustc --version 2>/dev/null || echo rustc unknown)"
    echo "- wrk: 2 threads, $CONNECTIONS connections, ${DURATION} s per main page (after ${WARMUP} s of warm-up)," \
        "${EXTRA_DURATION} s per other page (after ${EXTRA_WARMUP} s), session cookie;" \
        "app and wrk share this machine"
    echo "- data: one user, $KEY_COUNT saved keys, 2 presets, $RUNS runs of $MODELS_PER_RUN models over 60 days" \
        "(database $DB_MB MB); upstream bases point at a refused port"
    echo
    echo "## Storing runs (\`db::history::insert_run\`, one transaction per run)"
    echo
    echo "| runs | median ms | p90 ms | p99 ms | max ms | mean ms | over 5 ms | last 1000: median / p99 ms | total s |"
    echo "|---|---|---|---|---|---|---|---|---|"
    echo "| $RUNS | $INS_P50 | $INS_P90 | $INS_P99 | $INS_MAX | $INS_MEAN | $INS_OVER | $INS_LAST_P50 / $INS_LAST_P99 | $SEED_SECONDS |"
    echo
    echo "## Pages under load"
    echo
    echo "| page | requests/s | p50 ms | p90 ms | p99 ms | app CPU ms/request | non-2xx | socket errors |"
    echo "|---|---|---|---|---|---|---|---|"
    wrk_row "\`GET /history\` (first page, $PAGE_SIZE runs)" "$HISTORY"
    wrk_row "\`GET /\` (dashboard, $DASHBOARD_ROWS latest rows)" "$DASHBOARD"
    wrk_row "\`GET /api/quota\` (10 keys, 30 models, access token)" "$QUOTA"
    for entry in "${PAGES[@]}" "trend|$TREND_PATH|" "trend-deep|$TREND_DEEP_PATH|" "presets|/presets|"; do
        IFS='|' read -r name path _ <<<"$entry"
        wrk_row "\`GET $path\` ($name, ${EXTRA_DURATION} s)" "${MEASURED[$name]}"
    done
    wrk_row "\`GET /history?page=$LAST_PAGE\` (an old numbered link: its 303 to the cursor, informational, ${EXTRA_DURATION} s)" "$OLD_LINK"
    echo
    echo "Whole history as CSV (\`GET /history/export?format=csv\`, one request): $EXPORT_LINES lines," \
        "$(calc "%.1f" "$EXPORT_BYTES / 1048576") MB in $(calc "%.2f" "$EXPORT_SECS") s."
    echo
    echo "Each page was fetched with curl before and after its load and answered 200 with its rows" \
        "(a lost session would be a redirect, which wrk does not count as an error)." \
        "App memory after the load: VmRSS $APP_RSS MB, peak VmHWM $APP_HWM MB" \
        "(VmRSS $RSS_PAGES MB after the pages, $RSS_OLD_LINK MB after the old numbered link, before the export)." \
        "Lines in the app's log (RUST_LOG=warn): $APP_WARNINGS. Seeding and load took ${BENCH_SECS} s."
    echo
    echo "## Targets"
    echo
    echo "| metric | target | measured | result |"
    echo "|---|---|---|---|"
    echo "| \`/history\` median at $CONNECTIONS connections | <= $TARGET_MEDIAN_MS ms | $H_P50 ms | $T_H |"
    echo "| dashboard median at $CONNECTIONS connections | <= $TARGET_MEDIAN_MS ms | $D_P50 ms | $T_D |"
    echo "| \`/api/quota\` (10 keys, 30 models) median at $CONNECTIONS connections | <= $TARGET_MEDIAN_MS ms | $Q_P50 ms | $T_Q |"
    echo "| every other history page (filters, deep and last pages), the trend pages and /presets, slowest median | <= $TARGET_MEDIAN_MS ms | $SLOWEST_P50 ms ($SLOWEST_NAME) | $T_PAGES |"
    echo "| app RSS after the load and the export | <= $TARGET_RSS_MB MB | $APP_RSS MB | $T_RSS |"
    echo "| one run's insert, median | < $TARGET_INSERT_MS ms | $INS_P50 ms | $T_I50 |"
    echo "| one run's insert, p99 | < $TARGET_INSERT_MS ms | $INS_P99 ms | $T_I99 |"
    echo "| no errors under load | 0 | non-2xx and socket errors above | $T_ERR |"
    echo
    echo "<details><summary>raw wrk output</summary>"
    echo
    for run in history dashboard quota "${NAMES[@]}" old-page-link; do
        echo "### $run"
        echo
        echo '```'
        grep -v '^BENCH ' "$WORK/$run.txt" || true
        echo '```'
        echo
    done
    if [[ $APP_WARNINGS != 0 ]]; then
        echo "### app log"
        echo
        echo '```'
        tail -n 20 "$WORK/app.log"
        echo '```'
        echo
    fi
    echo "</details>"
} | tee bench/results/history-latest.md

log "summary written to bench/results/history-latest.md"
if [[ ${BENCH_STRICT:-0} == 1 ]] && [[ "$T_H $T_D $T_Q $T_PAGES $T_RSS $T_I50 $T_I99 $T_ERR" == *FAIL* ]]; then
    die "a target was missed (BENCH_STRICT=1)"
fi
