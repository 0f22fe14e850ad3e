# ctl-stressor kind=sweep run=manual
run=manual
# ctl stress: everything above this line is rendered per run (`run=` empty: every ctl stressor).
# Kill sweep: ends every ctl stressor process of run $run in this container, found by walking
# /proc/*/cmdline (the stressor's first script line is in its argv) and /proc/*/environ (its
# children inherit CTL_STRESSOR). Plain sh and dd: no ps, pkill or find, which minimal images
# lack. TERM first so that traps remove /dev/shm files, then KILL whatever is left.
# The patterns are assembled at run time so that this script's own argv never matches them.
k=kind=
tag="CTL_STRESSOR=run=$run"
[ -n "$run" ] && tag="$tag;"
nl='
'
matches() {
  c=$(dd if="/proc/$1/cmdline" bs=65536 count=1 2>/dev/null)
  case "$c" in *"# ctl-stressor ${k}cpu "* | *"# ctl-stressor ${k}memory "*)
    if [ -z "$run" ]; then return 0; fi
    case "$c" in *" run=$run$nl"*) return 0 ;; esac
    ;;
  esac
  e=$(dd if="/proc/$1/environ" bs=65536 count=1 2>/dev/null)
  case "$e" in *"$tag"*) return 0 ;; esac
  return 1
}
scan() {
  found=
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    matches "$p" && found="$found $p"
  done
}
scan
killed=0
if [ -n "$found" ]; then
  for p in $found; do kill -TERM "$p" 2>/dev/null && killed=$((killed + 1)); done
  sleep 1
  scan
  [ -n "$found" ] && kill -KILL $found 2>/dev/null
fi
echo "killed $killed"
exit 0
