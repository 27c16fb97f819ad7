#!/usr/bin/env bash
# Benchmark of the scheduler: many users' free balance checks on a schedule, against the local
# upstream double (examples/upstream_double.rs).
#
#   bench/monitors.sh       from anywhere in a checkout
#
# 1. seed_monitors fills a fresh data dir: BENCH_USERS users (1000) with BENCH_KEYS keys each (2),
#    one free-check monitor per user over its keys, every BENCH_EVERY minutes (5). Every
#    monitor's first slot is the same minute (plus its own jitter of 1–59 s): the worst case.
# 2. The release app starts on that dir against the double (balance answers after
#    BENCH_BALANCE_DELAY_MS, 50 ms), logging only the scheduler's "scheduled run started" lines
#    (debug level, with late_ms: how long after its slot each run began).
# 3. For BENCH_WINDOW seconds (600) from the first slot: CPU time of the app (utime + stime from
#    /proc) and its RSS every 2 s. Then the double's /__stats (upstream calls in flight, at most)
#    and the runs stored with source `schedule`.
#
# Targets: every run starts within 5 s of its slot; upstream calls in flight never exceed
# global_concurrency; app CPU under 5 % of one core on average over the window; RSS <= 80 MB.
# Summary on stdout and in bench/results/monitors-latest.md. BENCH_STRICT=1: exit 1 on a miss.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

USERS=${BENCH_USERS:-1000}
KEYS=${BENCH_KEYS:-2}
EVERY=${BENCH_EVERY:-5}
WINDOW=${BENCH_WINDOW:-600}
BALANCE_DELAY_MS=${BENCH_BALANCE_DELAY_MS:-50}
GLOBAL=${BENCH_GLOBAL_CONCURRENCY:-128}
LEAD=${BENCH_LEAD:-20}
TARGET_LATE_MS=5000
TARGET_CPU_PCT=5
TARGET_RSS_MB=80

BENCH_WORK_PREFIX=modelscope-bench-monitors
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v curl >/dev/null || die "curl is required"
[[ -r /proc/self/stat ]] || die "this benchmark reads /proc (Linux only)"

log "building the app, the double and the seeder (release)"
cargo build --release --quiet --bin modelscope-balance --example upstream_double --example seed_monitors >&2
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
APP_BIN=$TARGET_DIR/release/modelscope-balance
DOUBLE_BIN=$TARGET_DIR/release/examples/upstream_double
SEED_BIN=$TARGET_DIR/release/examples/seed_monitors

# --- the double ---------------------------------------------------------------------------------
"$DOUBLE_BIN" --addr 127.0.0.1:0 --balance-delay-ms "$BALANCE_DELAY_MS" >"$WORK/double.log" 2>&1 &
PIDS+=("$!")
DOUBLE=""
for _ in $(seq 100); do
    DOUBLE=$(sed -n 's|^upstream_double listening on \(http://[0-9.:]*\).*|\1|p' "$WORK/double.log")
    [[ -n $DOUBLE ]] && break
    sleep 0.05
done
[[ -n $DOUBLE ]] || die "the double did not start: $(cat "$WORK/double.log")"

# --- seeding --------------------------------------------------------------------------------------
DATA=$WORK/data
FIRST_SLOT=$(($(date +%s) + LEAD + USERS / 50))
log "seeding $USERS users × $KEYS keys, first slot in $((FIRST_SLOT - $(date +%s))) s"
"$SEED_BIN" --data-dir "$DATA" --users "$USERS" --keys "$KEYS" --every "$EVERY" \
    --first-slot "$FIRST_SLOT" >&2
NOW=$(date +%s)
((NOW < FIRST_SLOT - 3)) || die "seeding took too long: the first slot has passed; raise BENCH_LEAD"

# --- the app ----------------------------------------------------------------------------------------
PORT=$(free_port)
ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT="$PORT" ROCKET_DATA_DIR="$DATA" \
    ROCKET_MODELSCOPE_API_BASE="$DOUBLE/v1" ROCKET_MODELSCOPE_HUB_BASE="$DOUBLE" \
    ROCKET_LOG_LEVEL=off ROCKET_GLOBAL_CONCURRENCY="$GLOBAL" \
    NO_COLOR=1 RUST_LOG="warn,modelscope_balance::scheduler=debug" \
    "$APP_BIN" >"$WORK/app.out" 2>"$WORK/app.log" &
APP_PID=$!
PIDS+=("$APP_PID")
for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$PORT/health" || true) == 200 ]] && break
    kill -0 "$APP_PID" 2>/dev/null || die "the app exited: $(tail -n 20 "$WORK/app.log")"
    sleep 0.1
done

# --- the window ---------------------------------------------------------------------------------------
TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$APP_PID/stat"; }
rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$APP_PID/status"; }
while (($(date +%s) < FIRST_SLOT)); do sleep 0.2; done
log "window: $WINDOW s from the first slot"
CPU0=$(cpu_ticks)
T0=$(date +%s.%N)
MAX_RSS=0
END=$((FIRST_SLOT + WINDOW))
while (($(date +%s) < END)); do
    kill -0 "$APP_PID" 2>/dev/null || die "the app died during the window: $(tail -n 20 "$WORK/app.log")"
    r=$(rss_kb)
    ((r > MAX_RSS)) && MAX_RSS=$r
    sleep 2
done
CPU1=$(cpu_ticks)
T1=$(date +%s.%N)
RSS_END=$(rss_kb)
STATS=$(curl -s --max-time 5 "$DOUBLE/__stats")

# --- results ------------------------------------------------------------------------------------------
CPU_PCT=$(calc "%.2f" "($CPU1 - $CPU0) / $TICKS / ($T1 - $T0) * 100")
sed 's/\x1b\[[0-9;]*m//g' "$WORK/app.log" | grep 'scheduled run started' |
    sed -n 's/.* late_ms=\(-\?[0-9]*\).*/\1/p' >"$WORK/late.txt" || true
RUNS=$(wc -l <"$WORK/late.txt")
((RUNS > 0)) || die "no scheduled run was logged: $(tail -n 20 "$WORK/app.log")"
sort -n "$WORK/late.txt" >"$WORK/late.sorted"
pct() { awk -v p="$1" '{ a[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print a[i] }' "$WORK/late.sorted"; }
LATE_P50=$(pct 50)
LATE_P99=$(pct 99)
LATE_MAX=$(tail -n 1 "$WORK/late.sorted")
LATE_OVER=$(awk -v t="$TARGET_LATE_MS" '$1 > t' "$WORK/late.txt" | wc -l)
MAX_IN_FLIGHT=$(sed -n 's/.*"max_in_flight":\([0-9]*\).*/\1/p' <<<"$STATS")
BALANCE_CALLS=$(sed -n 's/.*"balance_calls":\([0-9]*\).*/\1/p' <<<"$STATS")
CHAT_CALLS=$(sed -n 's/.*"chat_calls":\([0-9]*\).*/\1/p' <<<"$STATS")
STORED=$(awk "BEGIN { print 0 }")
if command -v sqlite3 >/dev/null; then
    STORED=$(sqlite3 "$DATA/modelscope-balance.db" "SELECT count(*) FROM queries WHERE source = 'schedule'")
fi
CYCLES=$((WINDOW / (EVERY * 60)))
EXPECTED=$(((CYCLES + (WINDOW % (EVERY * 60) > 60 ? 1 : 0)) * USERS))
MAX_RSS_MB=$(calc "%.1f" "$MAX_RSS / 1024")
RSS_END_MB=$(calc "%.1f" "$RSS_END / 1024")

late_ok=$(pass_fail "$LATE_OVER == 0")
flight_ok=$(pass_fail "$MAX_IN_FLIGHT <= $GLOBAL")
cpu_ok=$(pass_fail "$CPU_PCT < $TARGET_CPU_PCT")
rss_ok=$(pass_fail "$MAX_RSS_MB <= $TARGET_RSS_MB")

REPORT=$(
    cat <<EOF
# Monitoring benchmark

- date: $(date -u +%Y-%m-%dT%H:%M:%SZ), git $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)
- $USERS users × $KEYS keys, one free-check monitor per user every $EVERY min, all first slots in one minute (jitter 1–59 s)
- window: $WINDOW s from the first slot; upstream double answers the balance after $BALANCE_DELAY_MS ms; global_concurrency = $GLOBAL, scheduler_concurrency = 8 (default)

| metric | value | target | |
|---|---|---|---|
| monitor runs started in the window | $RUNS (expected about $EXPECTED) | | |
| balance calls upstream / chat calls | $BALANCE_CALLS / $CHAT_CALLS | $((RUNS * KEYS)) / 0 | |
| run start after its slot: p50 / p99 / max | $LATE_P50 / $LATE_P99 / $LATE_MAX ms | ≤ $TARGET_LATE_MS ms | $late_ok |
| runs later than 5 s | $LATE_OVER | 0 | $late_ok |
| upstream calls in flight, at most | $MAX_IN_FLIGHT | ≤ $GLOBAL | $flight_ok |
| app CPU over the window (average) | $CPU_PCT % of one core | < $TARGET_CPU_PCT % | $cpu_ok |
| app RSS: max over the window / at the end | $MAX_RSS_MB / $RSS_END_MB MB | ≤ $TARGET_RSS_MB MB | $rss_ok |
| runs stored with source \`schedule\` (0 = sqlite3 missing) | $STORED | $((RUNS * KEYS)) | |
EOF
)
echo "$REPORT"
mkdir -p "$ROOT/bench/results"
echo "$REPORT" >"$ROOT/bench/results/monitors-latest.md"
if [[ ${BENCH_STRICT:-0} == 1 ]] && grep -q FAIL <<<"$REPORT"; then
    exit 1
fi
