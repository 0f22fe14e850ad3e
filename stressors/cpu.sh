# ctl-stressor kind=cpu workers=1 load=100 ttl=10 run=manual
workers=1 load=100 ttl=10 run=manual
# ctl stress: everything above this line is rendered per run (`ctl stress script cpu`).
# CPU stressor: $workers busy workers, each at $load % of one CPU, ending on their own at the
# TTL. POSIX sh (dash, busybox ash); needs only /proc and `sleep` (fractional, for load < 100).
# The duty cycle is closed-loop on the worker's own CPU time (/proc/self/stat, read by the
# shell builtin so no fork): it burns while its CPU time is behind load % of the elapsed time
# and sleeps while ahead, so fork costs and scheduling delays do not bias the result.
CTL_STRESSOR="run=$run;"
export CTL_STRESSOR

# $now: centiseconds since boot, from /proc/uptime ("12345.67 ..."); the 1 prefix keeps a
# fractional part like "08" from being read as octal.
clock() {
  read -r up _ </proc/uptime
  now=$((${up%.*} * 100 + 1${up#*.} - 100))
}

# $cpu: this process's CPU time plus its waited-for children's, in ticks (USER_HZ = 100).
cputime() {
  read -r st </proc/self/stat
  set -- ${st##*) }
  cpu=$((${12} + ${13} + ${14} + ${15}))
}

worker() {
  clock
  if [ "$load" -ge 100 ]; then
    while [ "$now" -lt "$end" ]; do clock; done
    exit 0
  fi
  t0=$now
  cputime
  c0=$cpu
  while [ "$now" -lt "$end" ]; do
    budget=$(((now - t0) * load / 100))
    used=$((cpu - c0))
    if [ "$used" -lt "$budget" ]; then
      # Behind: keep burning. A deficit older than half a second (the CPU was taken from
      # us) is forgiven, so a burst never tries to catch up more than that.
      if [ $((budget - used)) -gt 50 ]; then c0=$((cpu - budget + 50)); fi
    else
      # Ahead: sleep until the budget catches up with what was used, at most until the end.
      nap=$((t0 + (used * 100 + load - 1) / load - now))
      [ "$nap" -lt 1 ] && nap=1
      [ "$nap" -gt $((end - now)) ] && nap=$((end - now))
      frac=$((nap % 100))
      [ "$frac" -lt 10 ] && frac=0$frac
      sleep "$((nap / 100)).$frac"
    fi
    clock
    cputime
  done
  exit 0
}

case "$ttl" in *s) ttl=${ttl%s} ;; esac
# The TTL in centiseconds; decimals are allowed ("2.5").
case "$ttl" in
  *.*) tf=${ttl#*.}00 && tf=${tf%"${tf#??}"} && ttl_cs=$((${ttl%%.*}0 / 10 * 100 + 1$tf - 100)) ;;
  *) ttl_cs=$((ttl * 100)) ;;
esac
clock
end=$((now + ttl_cs))
pids=
trap 'kill $pids 2>/dev/null; exit 130' INT
trap 'kill $pids 2>/dev/null; exit 143' TERM
i=0
while [ "$i" -lt "$workers" ]; do
  worker &
  pids="$pids $!"
  i=$((i + 1))
done
echo "ctl-stressor cpu workers=$workers load=$load ttl=$ttl pid=$$"
wait
exit 0
