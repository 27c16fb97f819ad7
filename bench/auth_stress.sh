#!/usr/bin/env bash
# Stress test of password hashing (issue 9, item 1): does a flood of anonymous sign-ups and
# logins exhaust memory?
#
#   bench/auth_stress.sh        from anywhere in a checkout
#
# Starts the release app on a free loopback port with a fresh data dir, then fires, all at
# once, AUTH_STRESS_CONCURRENCY (default 200) sign-ups with distinct names, then as many logins
# with wrong passwords (plus a few right ones) for one account. Every request claims its own
# client address through X-Real-IP (the app is started with ROCKET_IP_HEADER=X-Real-IP, as
# behind a proxy), so the per-address throttles do not stop them before the hashing: this
# measures the hashing bound itself, the worst case of a distributed attacker. VmRSS is sampled
# every 20 ms; the peak (and VmHWM) must stay under 150 MB.
#
# Needs Linux, curl, python3 and cargo. The summary goes to stdout and bench/results/auth-latest.md.
# AUTH_STRESS_STRICT=1 exits 1 when the target is missed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
CONCURRENCY=${AUTH_STRESS_CONCURRENCY:-200}
TARGET_RSS_MB=150

BENCH_WORK_PREFIX=modelscope-auth-stress
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required"
[[ -r /proc/self/status ]] || die "this benchmark reads /proc (Linux only)"
[[ $CONCURRENCY =~ ^[1-9][0-9]*$ ]] || die "AUTH_STRESS_CONCURRENCY must be a positive number"

log "building (release)"
cargo build --release --bin modelscope-balance >&2
APP_BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/modelscope-balance

PORT=$(free_port)
mkdir -p "$WORK/data"
# Started from the work dir, so no Rocket.toml applies: the built-in defaults are measured.
(cd "$WORK" && ROCKET_PORT="$PORT" ROCKET_DATA_DIR="$WORK/data" ROCKET_IP_HEADER=X-Real-IP \
    ROCKET_LOG_LEVEL=critical RUST_LOG=warn ROCKET_SIGNUPS_PER_ADDRESS_PER_HOUR=10 \
    exec "$APP_BIN" >"$WORK/app.log" 2>&1) &
APP_PID=$!
PIDS+=("$APP_PID")
URL="http://127.0.0.1:$PORT"
for _ in $(seq 300); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/health" || true) == 200 ]] && break
    kill -0 "$APP_PID" 2>/dev/null || die "the app exited: $(tail -n 20 "$WORK/app.log")"
    sleep 0.1
done
# The server process itself (the subshell exec'd into it).
START_RSS=$(rss_mb "$APP_PID" VmRSS)

# Samples VmRSS every 20 ms into $WORK/rss.txt until told to stop.
(while kill -0 "$APP_PID" 2>/dev/null && [[ ! -e $WORK/stop-sampling ]]; do
    awk '$1 == "VmRSS:" { print $2 }' "/proc/$APP_PID/status" 2>/dev/null || true
    sleep 0.02
done >"$WORK/rss.txt") &
SAMPLER=$!
PIDS+=("$SAMPLER")

log "firing $CONCURRENCY concurrent sign-ups, then $CONCURRENCY concurrent logins, at $URL"
python3 - "$URL" "$CONCURRENCY" >"$WORK/load.txt" <<'PY'
import collections, http.client, re, sys, threading, time, urllib.parse

url, n = sys.argv[1], int(sys.argv[2])
host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port

def request(method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(host, port, timeout=120)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp, data

# One signed-out CSRF cookie and its token serve every form (double-submit).
resp, page = request("GET", "/signup")
cookie = resp.getheader("Set-Cookie").split(";")[0]
token = re.search(rb'name="csrf_token" value="([0-9a-f]+)"', page).group(1).decode()

def form(path, fields, addr):
    body = urllib.parse.urlencode(dict(fields, csrf_token=token))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
               "X-Real-IP": addr}
    try:
        resp, _ = request("POST", path, body, headers)
        return resp.status, resp.getheader("Retry-After")
    except Exception as e:  # a refused or reset connection is a result too
        return type(e).__name__, None

def burst(label, make):
    results = [None] * n
    start = threading.Barrier(n)
    def one(i):
        start.wait()
        results[i] = make(i)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads: t.start()
    for t in threads: t.join()
    took = time.monotonic() - t0
    counts = collections.Counter(str(status) for status, _ in results)
    retry = sum(1 for status, after in results if status in (429, 503) and after)
    print(f"RESULT {label} seconds={took:.2f} statuses={dict(sorted(counts.items()))} "
          f"retry_after_on_429_503={retry}")

password = "correct horse battery"
burst("signup", lambda i: form("/signup", {"username": f"stress{i}", "password": password,
                                           "password_confirm": password},
                               f"10.{i // 250}.{i % 250}.1"))
# One account the logins aim at (its own address, so no earlier throttle applies).
form("/signup", {"username": "target", "password": password, "password_confirm": password},
     "192.0.2.250")
burst("login", lambda i: form("/login", {"username": "target",
                                         "password": password if i % 20 == 0 else "wrong guess!"},
                              f"172.16.{i // 250}.{i % 250}"))
PY
touch "$WORK/stop-sampling"
wait "$SAMPLER" 2>/dev/null || true
sleep 1
END_RSS=$(rss_mb "$APP_PID" VmRSS)
HWM=$(rss_mb "$APP_PID" VmHWM)
PEAK=$(awk 'BEGIN { m = 0 } $1 > m { m = $1 } END { printf "%.1f", m / 1024 }' "$WORK/rss.txt")
SAMPLES=$(wc -l <"$WORK/rss.txt")
SIGNUP=$(grep '^RESULT signup' "$WORK/load.txt" || die "no sign-up result: $(cat "$WORK/load.txt")")
LOGIN=$(grep '^RESULT login' "$WORK/load.txt" || die "no login result: $(cat "$WORK/load.txt")")
VERDICT=$(pass_fail "$HWM < $TARGET_RSS_MB")

REPORT=$(
    cat <<EOF
# Password hashing under a flood: RSS

$(date -u +%Y-%m-%d), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),
commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), release build, built-in defaults
(no Rocket.toml), \`ROCKET_IP_HEADER=X-Real-IP\` with a distinct address per request.

| what | value |
|---|---|
| concurrent requests per burst | $CONCURRENCY |
| sign-ups: ${SIGNUP#RESULT signup } | |
| logins (1 in 20 right): ${LOGIN#RESULT login } | |
| VmRSS before | $START_RSS MB |
| VmRSS peak ($SAMPLES samples, 20 ms apart) | $PEAK MB |
| VmHWM (kernel's peak) | **$HWM MB** (target < $TARGET_RSS_MB MB: $VERDICT) |
| VmRSS 1 s after | $END_RSS MB |

303 is a sign-up or login that went through, 401 a wrong password, 429 a throttled address or
(account, address), 503 the hashing queue full (each 429/503 carries \`Retry-After\`).
EOF
)
mkdir -p bench/results
echo "$REPORT" | tee bench/results/auth-latest.md
if [[ ${AUTH_STRESS_STRICT:-0} == 1 && $VERDICT == FAIL ]]; then
    exit 1
fi
