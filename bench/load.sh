#!/usr/bin/env bash
# Load-engine benchmark for ctl: loopback only, every run bounded in time.
#
#   bench/load.sh            full mode (~23 min): RSS sampled after 1 and 10 minutes
#   bench/load.sh --quick    quick mode (~9 min): RSS sampled after 10 s and 60 s
#   bench/load.sh --throughput-only   only the req/s comparison (~6 min)
#
# Options: --port N (default 18080), --duration S (seconds per throughput run, default 15),
#          --rounds N (interleaved throughput rounds, median reported; default 3),
#          --out DIR (default bench/out/<date>), --no-install (fail instead of apt/pip).
#
# One nginx worker pinned to CPU 0 serves `200 ok` on 127.0.0.1:PORT; every load generator is
# pinned to CPU 1. Throughput is counted server-side (nginx stub_status `requests`) over the
# middle of each run (first and last 2 s of the active window dropped), the same way for all
# generators. Everything this script starts is stopped on exit (trap).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
QUICK=0
PORT=18080
DUR=15
INSTALL=1
TP_ONLY=0
ROUNDS=3
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --port) PORT=$2; shift ;;
        --duration) DUR=$2; shift ;;
        --out) OUT=$2; shift ;;
        --no-install) INSTALL=0 ;;
        --throughput-only) TP_ONLY=1 ;;
        --rounds) ROUNDS=$2; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$DUR" -ge 8 ] || { echo "--duration must be >= 8" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (server on CPU 0, generator on CPU 1)" >&2; exit 2; }
TARGET="http://127.0.0.1:$PORT"
OUT=${OUT:-"$BENCH/out/$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/ctl-bench.XXXXXX)
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    if [ -f "$WORK/nginx.pid" ]; then
        kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    fi
    sleep 0.3
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- tools
APT_UPDATED=0
apt_install() {
    [ "$INSTALL" = 1 ] || { echo "missing: $*; rerun without --no-install" >&2; exit 3; }
    if [ "$APT_UPDATED" = 0 ]; then apt-get update -qq; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
command -v nginx >/dev/null || apt_install nginx-light
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
if ! python3 -c 'import locust' 2>/dev/null; then
    [ "$INSTALL" = 1 ] || { echo "missing: locust" >&2; exit 3; }
    python3 -m pip install -q locust
fi
CTL="$ROOT/target/release/ctl"
if [ ! -x "$CTL" ]; then log "building ctl (release)"; (cd "$ROOT" && cargo build --release -q); fi
GOOSE="$BENCH/goose-baseline/target/release/goose-baseline"
if [ ! -x "$GOOSE" ]; then
    log "building the plain goose 0.19 baseline (release)"
    (cd "$BENCH/goose-baseline" && CARGO_TARGET_DIR="$BENCH/goose-baseline/target" cargo build --release --locked -q)
fi

# ---------------------------------------------------------------- nginx on CPU 0
mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 100000000;
    client_body_temp_path $WORK/tmp;
    proxy_temp_path $WORK/tmp;
    fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp;
    scgi_temp_path $WORK/tmp;
    server {
        listen 127.0.0.1:$PORT backlog=4096;
        location = /nginx_status { stub_status; }
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
taskset -c 0 nginx -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "$TARGET/" >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf "$TARGET/" >/dev/null || { echo "nginx did not start on $TARGET" >&2; cat "$WORK/nginx-error.log" >&2; exit 3; }

stub_requests() { curl -s "$TARGET/nginx_status" | awk 'NR==3 {print $3}'; }

# ---------------------------------------------------------------- machine
VERSIONS="$OUT/versions.txt"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -r)"
    echo "nginx: $(nginx -v 2>&1 | sed 's/.*nginx\///')"
    echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    echo "locust: $(python3 -c 'import locust; print(locust.__version__)')"
    echo "goose: $(grep -A1 '^name = "goose"$' "$BENCH/goose-baseline/Cargo.lock" | sed -n 's/version = "\(.*\)"/\1/p')"
    echo "ctl: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet HEAD -- src 2>/dev/null || echo ' (+ uncommitted src changes)')"
    echo "ctl binary: built $(date -u -r "$CTL" +%Y-%m-%dT%H:%M:%SZ), sha256 $(sha256sum "$CTL" | cut -c1-12)"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$VERSIONS"
cat "$VERSIONS" >&2
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$LOAD1" 'BEGIN {exit !(l > 0.5)}'; then
    log "WARNING: load average $LOAD1 before the bench: other work on this machine skews the numbers"
fi

# ---------------------------------------------------------------- throughput
# run_gen NAME CMD...: runs CMD (already pinned by the caller) in the background, samples
# nginx's request counter and the generator's CPU time every 0.25 s until it exits, writes
# OUT/NAME.samples ("t requests gen_cpu_ticks cpu1_busy_ticks") and appends "NAME rps gen_cpu%
# other_cpu1%" to OUT/throughput.txt (other_cpu1: CPU 1 time not used by the generator, i.e.
# other work on the generator's core, which skews the figure).
run_gen() {
    local name=$1; shift
    log "throughput: $name"
    "$@" >"$OUT/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local deadline=$(( $(date +%s) + DUR + 30 ))
    : >"$OUT/$name.samples"
    while kill -0 "$pid" 2>/dev/null; do
        local ticks
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "")
        cpu1=$(awk '$1 == "cpu1" {print $2 + $3 + $4 + $7 + $8}' /proc/stat)
        echo "$(date +%s.%N) $(stub_requests) ${ticks:-nan} $cpu1" >>"$OUT/$name.samples"
        if [ "$(date +%s)" -gt "$deadline" ]; then log "$name overran; killing it"; kill "$pid" 2>/dev/null || true; fi
        sleep 0.25
    done
    wait "$pid" || log "$name exited with status $? (see $OUT/$name.log)"
    python3 - "$OUT/$name.samples" "$name" "$(getconf CLK_TCK)" >>"$OUT/throughput.txt" <<'PY'
import sys
path, name, hz = sys.argv[1], sys.argv[2], float(sys.argv[3])
rows = []
for line in open(path):
    t, n, c, b = line.split()
    rows.append((float(t), int(n), None if c == "nan" else float(c), float(b)))
# active window: from the first to the last sample interval that saw real traffic
active = [i for i in range(1, len(rows)) if rows[i][1] - rows[i - 1][1] > 50]
if len(active) < 2:
    print(f"{name} 0 0 0"); sys.exit()
t0, t1 = rows[active[0] - 1][0] + 2.0, rows[active[-1]][0] - 2.0
win = [r for r in rows if t0 <= r[0] <= t1]
a, b = win[0], win[-1]
rps = (b[1] - a[1]) / (b[0] - a[0])
cpu = ((b[2] - a[2]) / hz / (b[0] - a[0]) * 100) if a[2] is not None and b[2] is not None else float("nan")
busy = (b[3] - a[3]) / hz / (b[0] - a[0]) * 100
print(f"{name} {rps:.0f} {cpu:.0f} {max(0.0, busy - cpu):.0f}")
PY
    tail -1 "$OUT/throughput.txt" | awk '{printf "    %s: %s req/s, generator CPU %s%%, other work on CPU 1 %s%%\n", $1, $2, $3, $4}' >&2
    sleep 1
}

: >"$OUT/throughput.txt"
# Generators take turns, ROUNDS times, and the report takes each one's median: single runs on
# this machine move by 10-25 %, and interleaving spreads slow spells over everyone.
for round in $(seq 1 "$ROUNDS"); do
    log "throughput round $round of $ROUNDS"
    run_gen wrk taskset -c 1 wrk -t1 -c32 -d"${DUR}s" "$TARGET/"
    run_gen goose taskset -c 1 "$GOOSE" --host "$TARGET" -u 32 --increase-rate 1000 --run-time "${DUR}s" --quiet
    run_gen locust taskset -c 1 python3 -m locust -f "$BENCH/locustfile.py" --headless -u 32 -r 32 \
        -t "${DUR}s" -H "$TARGET" --only-summary --loglevel WARNING
    for mif in 16 32 64; do
        run_gen "ctl-rate-mif$mif" taskset -c 1 "$CTL" load -H "$TARGET" --shape const:200000 --model rate \
            --max-in-flight "$mif" -t "${DUR}s" --quiet --json "$OUT/ctl-rate-mif$mif.json"
    done
    # For information (not a target): ctl's closed model, 32 users without think time.
    run_gen ctl-users32 taskset -c 1 "$CTL" load -H "$TARGET" -u 32 -r 1000 --model users --think-time 0 \
        -t "${DUR}s" --quiet --json "$OUT/ctl-users32.json"
done

# ---------------------------------------------------------------- MAPE + pacer lag
if [ "$TP_ONLY" = 0 ]; then
# Full mode covers the trace's 2,000 req/s peak (rows 186-216); quick mode its first 120 s.
if [ "$QUICK" = 1 ]; then MAPE_SECS=120; else MAPE_SECS=230; fi
echo "$MAPE_SECS" >"$OUT/mape.secs"
log "rate accuracy: sin400.csv scaled to 10..2000 req/s, ${MAPE_SECS} s, rate model"
taskset -c 1 "$CTL" load -H "$TARGET" --shape sin400.csv --amplitude 1990 --shift 10 --model rate \
    -t "${MAPE_SECS}s" --csv "$OUT/sin400" --json "$OUT/sin400.json" 2>"$OUT/sin400.stderr" &
PIDS+=($!)
wait $! || log "ctl sin400 run exited with status $?"
"$CTL" shape show sin400.csv --amplitude 1990 --shift 10 -d "${MAPE_SECS}s" >"$OUT/sin400-target.csv"

# ---------------------------------------------------------------- RSS
if [ "$QUICK" = 1 ]; then RSS_AT=(10 60); else RSS_AT=(60 600); fi
RSS_RUN=$(( RSS_AT[1] + 5 ))
if [ "$QUICK" = 1 ]; then echo quick >"$OUT/rss.mode"; else echo full >"$OUT/rss.mode"; fi
log "memory: const 2000 req/s for ${RSS_RUN}s, VmRSS at ${RSS_AT[0]}s and ${RSS_AT[1]}s"
taskset -c 1 "$CTL" load -H "$TARGET" --shape const:2000 --model rate -t "${RSS_RUN}s" --quiet \
    --json "$OUT/rss.json" >"$OUT/rss.log" 2>&1 &
RSS_PID=$!
PIDS+=("$RSS_PID")
RSS_START=$(date +%s.%N)
: >"$OUT/rss.samples"
while kill -0 "$RSS_PID" 2>/dev/null; do
    el=$(awk -v s="$RSS_START" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - s}')
    kb=$(awk '/^VmRSS/ {print $2}' "/proc/$RSS_PID/status" 2>/dev/null || true)
    [ -n "$kb" ] && echo "$el $kb" >>"$OUT/rss.samples"
    sleep 1
done
wait "$RSS_PID" || log "ctl RSS run exited with status $?"
fi

# ---------------------------------------------------------------- report
python3 - "$OUT" "$TP_ONLY" <<'PY' | tee "$OUT/summary.txt"
import csv, json, re, sys
out, tp_only = sys.argv[1], sys.argv[2] == "1"
runs = {}
for l in open(f"{out}/throughput.txt"):
    name, rps, cpu, other = l.split()
    runs.setdefault(name, []).append((float(rps), cpu, other))
# The median run of each generator (by req/s), with that run's CPU figures.
tp = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
rounds = max(len(v) for v in runs.values())
goose = tp.get("goose", (0, ""))[0]
ctl_rate = {k: v for k, v in tp.items() if k.startswith("ctl-rate")}
best = max(ctl_rate, key=lambda k: ctl_rate[k][0]) if ctl_rate else None
print(f"\n== sustained throughput (nginx stub_status, middle of each run; generator on 1 core; median of {rounds} interleaved runs) ==")
print(f"{'generator':<22}{'req/s':>10}{'x goose':>10}{'gen CPU':>10}{'other CPU1':>12}")
for k, (rps, cpu, other) in tp.items():
    mark = "  <- best ctl rate" if k == best else ""
    ratio = f"{rps / goose:.2f}" if goose else "n/a"
    print(f"{k:<22}{rps:>10.0f}{ratio:>10}{cpu + '%':>10}{other + '%':>12}{mark}")
if tp_only:
    sys.exit()

# MAPE: per-second achieved Requests/s (Aggregated rows) vs the shape, first and last second skipped
target = {}
with open(f"{out}/sin400-target.csv") as f:
    for row in csv.DictReader(f):
        target[int(float(row["t"]))] = float(row["value"])
achieved = []
with open(f"{out}/sin400_stats_history.csv") as f:
    for row in csv.DictReader(f):
        if row["Name"] == "Aggregated":
            achieved.append(float(row["Requests/s"]))
def errs(shift):
    e = []
    for i in range(1, len(achieved) - 1):
        t = target.get(i + shift)
        if t:
            e.append((abs(achieved[i] - t), t))
    return e
e = errs(0)
mape = 100 * sum(a / t for a, t in e) / len(e) if e else float("nan")
wape = 100 * sum(a for a, _ in e) / sum(t for _, t in e) if e else float("nan")
worst = max((a / t * 100 for a, t in e), default=float("nan"))
alt = {s: 100 * sum(a / t for a, t in errs(s)) / max(1, len(errs(s))) for s in (-1, 1)}
mape_secs = open(f"{out}/mape.secs").read().strip()
print(f"\n== rate accuracy: sin400.csv -> 10..2000 req/s, {mape_secs} s, rate model ==")
print(f"seconds compared: {len(e)} (history rows: {len(achieved)})")
print(f"MAPE {mape:.2f} %   WAPE (sum|err|/sum target) {wape:.2f} %   worst second {worst:.1f} %")
print(f"(alignment check: MAPE with the target shifted -1 s {alt[-1]:.2f} %, +1 s {alt[1]:.2f} %)")
j = json.load(open(f"{out}/sin400.json"))
lag = j.get("send_lag_us")
if lag:
    print(f"pacer send lag: p50={lag['p50']} µs  p99={lag['p99']} µs  max={lag['max']} µs")
else:
    print("pacer send lag: send_lag_us missing from the JSON summary")
print(f"requests {j['requests']}, failures {j['failures']}, late {j.get('late')}, "
      f"latency p99 {j['latency_ms']['p99']} ms, service p99 {j['service_ms']['p99']} ms")

r1, r2 = (10, 60) if open(f"{out}/rss.mode").read().strip() == "quick" else (60, 600)
rss = [tuple(map(float, l.split())) for l in open(f"{out}/rss.samples")]
def at(s):
    c = [kb for t, kb in rss if t <= s + 0.6]
    return c[-1] / 1024 if c else float("nan")
print(f"\n== memory: const 2000 req/s, rate model ==")
print(f"VmRSS at {r1:.0f}s: {at(r1):.1f} MiB   at {r2:.0f}s: {at(r2):.1f} MiB   "
      f"max over the run: {max(kb for _, kb in rss) / 1024:.1f} MiB")
rj = json.load(open(f"{out}/rss.json"))
print(f"achieved {rj['achieved_rps']:.1f} req/s, requests {rj['requests']}, failures {rj['failures']}")
PY
log "raw files in $OUT"
