# ctl-stressor kind=preflight needs=sh,dd,sleep
needs=sh,dd,sleep
# ctl stress: everything above this line is rendered per run.
# Preflight: checks that this container has the tools a stressor needs before ctl starts it,
# and prints `ok` or `missing: TOOL...` (exit 0 either way; no sh at all fails the exec).
missing=
IFS=,
for tool in $needs; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
unset IFS
[ -r /proc/uptime ] && [ -r /proc/self/stat ] || missing="$missing /proc"
case ",$needs," in *,sleep,*)
  sleep 0.01 2>/dev/null || missing="$missing fractional-sleep"
  ;;
esac
if [ -n "$missing" ]; then
  echo "missing:$missing"
else
  echo ok
fi
exit 0
