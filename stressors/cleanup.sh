# ctl-stressor kind=cleanup run=manual
run=manual
# ctl stress: everything above this line is rendered per run.
# Removes the /dev/shm files of memory stressors of run $run (every ctl file if `run=` is
# empty): tmpfs pages stay charged to the pod until the file is gone.
shm_dir=${CTL_SHM_DIR:-/dev/shm}
removed=0
for f in "$shm_dir/ctl-stress-$run"*; do
  [ -e "$f" ] || continue
  rm -f "$f" && removed=$((removed + 1))
done
echo "removed $removed"
exit 0
