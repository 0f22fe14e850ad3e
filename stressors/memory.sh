# ctl-stressor kind=memory mb=16 mode=anon ttl=10 run=manual
mb=16 mode=anon ttl=10 run=manual
# ctl stress: everything above this line is rendered per run (`ctl stress script memory`).
# Memory stressor: holds $mb MiB until the TTL, then frees it. POSIX sh (dash, busybox ash);
# needs only `dd`, `sleep`, `rm` and `df`.
# - mode=anon: dd reads one $mb MiB block from /dev/zero (touching every page) and blocks
#   writing it into a pipe nobody reads: the block stays resident until `sleep` ends at the TTL
#   and the broken pipe ends dd. Nothing is left behind, whoever dies first.
# - mode=shm: writes a $mb MiB file to $CTL_SHM_DIR (default /dev/shm) after checking the free
#   space with df. tmpfs pages stay charged to the pod until the file is removed, so a trap
#   removes it on exit, INT and TERM, and a watchdog removes it at the TTL even if this shell
#   was killed.
CTL_STRESSOR="run=$run;"
export CTL_STRESSOR
shm_dir=${CTL_SHM_DIR:-/dev/shm}
case "$ttl" in *s) ttl=${ttl%s} ;; esac
say() { echo "ctl-stressor: $*" >&2; }

case "$mb" in '' | *[!0-9]* | 0)
  say "mb must be a whole number >= 1, got '$mb'"
  exit 2
  ;;
esac

if [ "$mode" = anon ]; then
  holder=
  # The allocating dd reports an OOM kill (137) to this shell, which exits 137 itself.
  trap 'kill $holder 2>/dev/null; exit 137' USR1
  trap 'kill $holder 2>/dev/null; exit 130' INT
  trap 'kill $holder 2>/dev/null; exit 143' TERM
  {
    dd if=/dev/zero bs=$((mb * 1048576)) count=1 2>/dev/null
    [ $? -eq 137 ] && kill -USR1 $$
  } | sleep "$ttl" &
  holder=$!
  echo "ctl-stressor memory mb=$mb mode=anon ttl=$ttl pid=$$"
  wait
  exit 0
fi

if [ "$mode" != shm ]; then
  say "mode must be anon or shm, got '$mode'"
  exit 2
fi

file="$shm_dir/ctl-stress-$run-$$"
free=
while read -r _ _ _ avail _; do free=$avail; done <<DF
$(df -Pk "$shm_dir" 2>/dev/null)
DF
case "$free" in '' | *[!0-9]*)
  say "cannot read the free space of $shm_dir with df"
  exit 3
  ;;
esac
if [ $((mb * 1024)) -gt "$free" ]; then
  say "refused: $mb MiB requested but $shm_dir has only $((free / 1024)) MiB free"
  exit 3
fi

watchdog=
trap 'rm -f "$file"' EXIT
trap 'rm -f "$file"; kill $watchdog 2>/dev/null; exit 130' INT
trap 'rm -f "$file"; kill $watchdog 2>/dev/null; exit 143' TERM
# The watchdog starts before the write so that the file goes at the TTL in every case.
(
  nap=
  trap 'kill $nap 2>/dev/null; rm -f "$file"; exit 143' INT TERM
  sleep "$ttl" &
  nap=$!
  wait $nap
  rm -f "$file"
) &
watchdog=$!
dd if=/dev/zero of="$file" bs=1048576 count="$mb" 2>/dev/null
rc=$?
if [ "$rc" -ne 0 ]; then
  rm -f "$file"
  kill $watchdog 2>/dev/null
  [ "$rc" -eq 137 ] && exit 137
  say "cannot write $mb MiB to $file (dd exit $rc)"
  exit 3
fi
echo "ctl-stressor memory mb=$mb mode=shm ttl=$ttl pid=$$"
wait $watchdog
exit 0
