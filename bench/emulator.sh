#!/usr/bin/env bash
# Embedded-cluster benchmark: the emulator's sustained request rate with ctl's own load engine
# on loopback, and the emulation's timing error. Loopback only, every run bounded in time.
#
#   bench/emulator.sh                 all cases (~4 min)
#   bench/emulator.sh --duration S    seconds per run (default 15)
#   bench/emulator.sh --out DIR       raw files (default bench/out/emulator-<date>)
#   bench/emulator.sh --cases 'webapp-wide hotel-wide'   only these cases (split and inproc)
#   bench/emulator.sh --ctl PATH      this ctl binary instead of building target/release/ctl
#                                     (to compare two builds back to back)
#
# Cases (topology / workload / load):
#   webapp       shipped webapp (3 replicas x 200m, 0.2 ms CPU per request): its emulated
#                capacity is 3 x 1000 = 3,000 req/s, so this checks the emulation saturates there
#   webapp-wide  the same replica spec x 100 (capacity 100,000 req/s): the emulator's own ceiling
#   tasks        shipped tasks (seed B's three testers): capacity a few req/s, closed model
#   hotel        shipped hotel with workloads/hotel-reservation.yaml (bottleneck profile, ~1,000 req/s)
#   hotel-wide   hotel with every service x 20 replicas: the ceiling with a deep call graph
# Each runs two ways:
#   split      `ctl serve` pinned to CPU 0, `ctl load --host` pinned to CPU 1 (separate processes)
#   inproc     `ctl load` with no --host (the cluster in the load process), both CPUs, no pinning
# Load: rate model, `--shape const:200000 --max-in-flight 256` (far above what is reachable, so
# the pool stays full and this measures the ceiling); tasks uses the users model, 32 users,
# think time 0. Throughput is responses with status 200 per second of the run (JSON summary).
# Timing error: `ctl_emulator_timing_error_seconds` quantiles scraped from /metrics at the end of
# the run (the histogram covers the cluster's whole life, which is this one run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DUR=15
OUT=""
CTL=""
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DUR=$2; shift ;;
        --out) OUT=$2; shift ;;
        --cases) ONLY=$2; shift ;;
        --ctl) CTL=$2; shift ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
    shift
done
[ "$DUR" -ge 5 ] || { echo "--duration must be >= 5" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "needs 2 CPUs (cluster on CPU 0, load on CPU 1)" >&2; exit 2; }
command -v curl >/dev/null || { echo "needs curl" >&2; exit 3; }
OUT=${OUT:-"$ROOT/bench/out/emulator-$(date +%Y%m%d-%H%M%S)"}
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/ctl-emubench.XXXXXX)
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ -z "$CTL" ]; then
    CTL="$ROOT/target/release/ctl"
    log "building ctl (release)"
    (cd "$ROOT" && cargo build --release -q)
fi
[ -x "$CTL" ] || { echo "--ctl $CTL: not an executable" >&2; exit 2; }

# Wide variants: the shipped files with more replicas, nothing else changed.
sed 's/^    replicas: 3$/    replicas: 100/' "$ROOT/workloads/topologies/webapp.yaml" >"$WORK/webapp-wide.yaml"
sed 's/^    replicas: 1$/    replicas: 20/' "$ROOT/workloads/topologies/hotel.yaml" >"$WORK/hotel-wide.yaml"
grep -q 'replicas: 100' "$WORK/webapp-wide.yaml" && grep -q 'replicas: 20' "$WORK/hotel-wide.yaml" ||
    { echo "could not derive the wide topologies" >&2; exit 3; }

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -r)"
    echo "binary: $CTL"
    echo "ctl: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$ROOT" && git diff --quiet HEAD -- src 2>/dev/null || echo ' (+ uncommitted src changes)')"
    echo "loadavg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/versions.txt" >&2

# load_args CASE: the load flags of a case (workload and model).
load_args() {
    case "$1" in
        tasks) echo "-u 32 -r 1000 --model users --think-time 0" ;;
        hotel*) echo "--workload hotel-reservation.yaml --shape const:200000 --model rate --max-in-flight 256" ;;
        *) echo "--shape const:200000 --model rate --max-in-flight 256" ;;
    esac
}
topology_of() {
    case "$1" in
        webapp-wide|hotel-wide) echo "$WORK/$1.yaml" ;;
        *) echo "$1" ;;
    esac
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# run_split CASE: ctl serve on CPU 0, ctl load --host on CPU 1.
run_split() {
    local name=$1 topo
    topo=$(topology_of "$name")
    log "split: $name"
    taskset -c 0 "$CTL" serve --topology "$topo" --kubeconfig-out "$WORK/kc.yaml" >"$OUT/split-$name.serve" 2>&1 &
    local spid=$!
    PIDS+=("$spid")
    for _ in $(seq 100); do [ "$(grep -c ': ' "$OUT/split-$name.serve" 2>/dev/null)" -ge 5 ] && break; sleep 0.1; done
    local app metrics
    app=$(sed -n 's/^app: //p' "$OUT/split-$name.serve")
    metrics=$(sed -n 's/^metrics: //p' "$OUT/split-$name.serve")
    [ -n "$app" ] || { echo "ctl serve did not start" >&2; cat "$OUT/split-$name.serve" >&2; exit 3; }
    local c0
    c0=$(cpu_ticks "$spid")
    # shellcheck disable=SC2046
    timeout $((DUR + 60)) taskset -c 1 "$CTL" load -H "$app" $(load_args "$name") -t "${DUR}s" --quiet \
        --json "$OUT/split-$name.json" || log "ctl load exited with $?"
    echo "$(( $(cpu_ticks "$spid") - c0 ))" >"$OUT/split-$name.cputicks"
    curl -s "$metrics" >"$OUT/split-$name.metrics" || true
    kill -TERM "$spid"
    wait "$spid" || log "ctl serve exited with $?"
}

# run_inproc CASE: ctl load without --host; /metrics scraped 1 s before the run ends.
run_inproc() {
    local name=$1 topo
    topo=$(topology_of "$name")
    log "inproc: $name"
    # shellcheck disable=SC2046
    timeout $((DUR + 60)) "$CTL" load --topology "$topo" $(load_args "$name") -t "${DUR}s" \
        --json "$OUT/inproc-$name.json" 2>"$OUT/inproc-$name.stderr" &
    local lpid=$!
    PIDS+=("$lpid")
    local metrics=""
    for _ in $(seq 100); do
        metrics=$(sed -n 's/^  metrics: //p' "$OUT/inproc-$name.stderr" 2>/dev/null)
        [ -n "$metrics" ] && break
        sleep 0.1
    done
    # $! is `timeout`; the CPU is ctl's, its child.
    local cpid c0
    cpid=$(pgrep -P "$lpid" -n || echo "$lpid")
    c0=$(cpu_ticks "$cpid")
    sleep $((DUR - 1))
    curl -s "$metrics" >"$OUT/inproc-$name.metrics" || true
    echo "$(( $(cpu_ticks "$cpid") - c0 ))" >"$OUT/inproc-$name.cputicks"
    wait "$lpid" || log "ctl load exited with $?"
}

# selected CASE: whether --cases (default: all) includes it.
selected() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
for c in $ONLY; do
    case "$c" in webapp|webapp-wide|tasks|hotel|hotel-wide) ;; *) echo "--cases: unknown case $c" >&2; exit 2 ;; esac
done
for c in webapp webapp-wide tasks hotel hotel-wide; do selected "$c" && run_split "$c"; done
for c in webapp-wide hotel-wide; do selected "$c" && run_inproc "$c"; done

python3 - "$OUT" "$DUR" "$(getconf CLK_TCK)" <<'PY' | tee "$OUT/summary.txt"
import json, os, re, sys
out, dur, hz = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def timing(path):
    q = {}
    for line in open(path):
        m = re.match(r'ctl_emulator_timing_error_seconds\{quantile="([0-9.]+)"\} (\S+)', line)
        if m:
            q[m.group(1)] = float(m.group(2)) * 1000
        m = re.match(r'ctl_emulator_timing_error_seconds_count (\S+)', line)
        if m:
            q["count"] = float(m.group(1))
    return q
print(f"{'run':<20}{'200/s':>10}{'failed':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU':>7}"
      f"{'tErr p50':>10}{'p99':>8}{'p99.9':>8}{'events':>10}")
for mode in ("split", "inproc"):
    for case in ("webapp", "webapp-wide", "tasks", "hotel", "hotel-wide"):
        base = f"{out}/{mode}-{case}"
        if not os.path.exists(base + ".json"):
            continue
        j = json.load(open(base + ".json"))
        by = j.get("responses_by_status", {})
        ok = by.get("200", 0) / j["duration_secs"]
        other = j["failures"]
        cpu = int(open(base + ".cputicks").read()) / hz / (dur if mode == "split" else dur - 1) * 100
        t = timing(base + ".metrics") if os.path.exists(base + ".metrics") else {}
        f = lambda k: f"{t[k]:.3f}" if k in t else "n/a"
        print(f"{mode + ' ' + case:<20}{ok:>10.0f}{other:>9}{j['service_ms']['p50']:>9.2f}"
              f"{j['service_ms']['p99']:>9.2f}{cpu:>6.0f}%{f('0.5'):>10}{f('0.99'):>8}{f('0.999'):>8}"
              f"{int(t.get('count', 0)):>10}")
print("\np50/p99 ms: service time (send to response) seen by ctl load; under overload the rate")
print("model's latency from the intended send time only measures the backlog, so it is not shown.")
print("CPU: the ctl serve process (split) or the whole ctl load process (inproc), % of one core.")
print("tErr: emulation timing error (ms): how late due events were processed on the real clock.")
PY
log "raw files in $OUT"
