#!/usr/bin/env bash
# test_slurm_sweep.sh — rlvr sweep on a real Slurm (a one-node cluster on
# this machine, tests/slurm/cluster.sh), with fake_train standing in for
# `rlvr train` (tests/experiments/fake_train.c: same command line, SIGINT /
# SIGTERM -> checkpoint, --resume):
#
#   1. `rlvr sweep spec.lua --slurm` submits a job array of 4 runs (12 steps
#      of 0.4 s each, a checkpoint every 3; 2 CPUs, so 2 run at once);
#   2. run 0 is requeued mid-run (`scontrol requeue`: Slurm sends SIGTERM to
#      the whole job and puts it back in the queue): it must checkpoint,
#      start again with --resume and continue;
#   3. run 1 gets SIGUSR1 (`scancel --batch --signal=USR1`, as Slurm does
#      before a time limit with --signal=B:USR1@T): its supervisor stops the
#      run with a checkpoint and requeues the element itself;
#   4. run 2 is cancelled mid-run (`scancel`): it stays stopped, --status
#      says so, and `rlvr sweep --resume` resubmits that run alone;
#   5. at the end every run is done, its metrics.jsonl equals fake_train's
#      on the same config run straight through (each step once, the same
#      values), and the interrupted runs show more than one attempt and a
#      start from a checkpoint.
# Exit 77 (skipped) when Slurm is not installed or its daemons cannot start
# here; `tests/slurm/cluster.sh install` installs it (Debian, as root).
# Usage: test_slurm_sweep.sh FAKE_TRAIN (RLVR_BIN names rlvr). About 1-2 min.
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
fake=${1:?usage: test_slurm_sweep.sh FAKE_TRAIN}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
fake=$(cd "$(dirname "$fake")" && pwd)/$(basename "$fake")
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/rlvr-slurm-test-XXXXXX)
cluster=$tmp/cluster
"$here/cluster.sh" start "$cluster"
rc=$?
if [ "$rc" != 0 ]; then
  rm -rf "$tmp"
  [ "$rc" = 77 ] && { echo "SKIP: no Slurm cluster could be started here"; exit 77; }
  exit "$rc"
fi
export SLURM_CONF=$cluster/slurm.conf
cleanup() {
  scancel --me >/dev/null 2>&1
  "$here/cluster.sh" stop "$cluster"
  if [ "${fails:-1}" = 0 ]; then rm -rf "$tmp"; else echo "kept $tmp for a look"; fi
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
field() { sed -n "s/^[[:space:]]*\"$2\":[[:space:]]*\"*\([^\",]*\)\"*,*\$/\1/p" "$1/sweep_state.json" 2>/dev/null; }
lines() { cat "$1/metrics.jsonl" 2>/dev/null | wc -l; }
# wait_for SECONDS WHAT CONDITION...: polls the condition every 0.5 s.
wait_for() {
  local limit=$1 what=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  while [ "$(date +%s)" -lt "$end" ]; do
    "$@" && return 0
    sleep 0.5
  done
  fail "$what: not within ${limit} s"
  return 1
}
steps_at_least() { [ "$(lines "$1")" -ge "$2" ]; }
state_is() { [ "$(field "$1" state)" = "$2" ]; }
queue_empty() { [ -z "$(squeue -h --me -o %i 2>/dev/null)" ]; }
all_done() { for r in "${runs[@]}"; do state_is "$sweep/$r" done || return 1; done; }

export FAKE_TRAIN_STEP_MS=400
cat > "$tmp/spec.lua" <<EOF
return {
  name = "slurmtest",
  base = { train = { steps = 12 }, checkpoint = { every = 3 } },
  grid = { ["optim.lr"] = { 1e-6, 3e-6 } },
  seeds = { 1, 2 },
  command = { "$fake" },
  slurm = { cpus_per_task = 1, time = "00:05:00" },
}
EOF
sweep=$tmp/sweep
runs=("lr=1e-06,seed=1" "lr=3e-06,seed=1" "lr=1e-06,seed=2" "lr=3e-06,seed=2")

"$bin" sweep "$tmp/spec.lua" --slurm --dir "$sweep" >"$tmp/submit.out" 2>&1 || fail "submission: $(cat "$tmp/submit.out")"
job=$(sed -n 's/^submitted job \([0-9]*\):.*/\1/p' "$tmp/submit.out")
[ -n "$job" ] && ok "submitted array job $job: $(head -1 "$tmp/submit.out")" || { fail "no job id: $(cat "$tmp/submit.out")"; exit 1; }

# 2. Requeue run 0 once it has checkpointed at least once.
wait_for 60 "run 0 running with 4 steps" steps_at_least "$sweep/${runs[0]}" 4 && {
  scontrol requeue "${job}_0" && ok "requeued ${job}_0 at step $(lines "$sweep/${runs[0]}") ($(elapsed) s)" || fail "scontrol requeue"
}
# 3. SIGUSR1 to run 1's batch process (its supervisor).
wait_for 30 "run 1 running with 4 steps" steps_at_least "$sweep/${runs[1]}" 4 && {
  # scancel waits for slurmd's answer, which does not come while the job
  # it signalled requeues itself (it gives up after a while, exit status
  # 1): in the background, and the run's log tells what happened.
  scancel --batch --signal=USR1 "${job}_1" >"$tmp/scancel.out" 2>&1 &
  ok "sent SIGUSR1 to ${job}_1 at step $(lines "$sweep/${runs[1]}") ($(elapsed) s)"
}
# 4. Cancel run 2 once it runs (runs 2 and 3 take the CPUs that 0 and 1 left).
wait_for 60 "run 2 running with 2 steps" steps_at_least "$sweep/${runs[2]}" 2 && {
  scancel "${job}_2" && ok "cancelled ${job}_2 at step $(lines "$sweep/${runs[2]}") ($(elapsed) s)" || fail "scancel"
}
"$bin" sweep --status "$sweep" > "$tmp/status1.out" 2>&1
echo "--- status while running:"; cat "$tmp/status1.out"

# Everything but run 2 finishes; the requeued ones come back by themselves.
wait_for 150 "the queue to empty" queue_empty && ok "queue empty ($(elapsed) s)"
for i in 0 1 3; do state_is "$sweep/${runs[$i]}" done || fail "run $i: $(field "$sweep/${runs[$i]}" state), want done"; done
grep -q "stopped by SIGTERM (passed on as SIGINT)" "$sweep/${runs[0]}/run.log" \
  && grep -q "stopped by signal .* checkpoint written" "$sweep/${runs[0]}/run.log" \
  && ok "run 0: the requeue's SIGTERM stopped it with a checkpoint" || fail "run 0 log: $(cat "$sweep/${runs[0]}/run.log")"
grep -q "stopped by SIGUSR1 (passed on as SIGINT)" "$sweep/${runs[1]}/run.log" \
  && ok "run 1: SIGUSR1 stopped it with a checkpoint" || fail "run 1 log: $(cat "$sweep/${runs[1]}/run.log")"
state_is "$sweep/${runs[2]}" stopped && ok "the cancelled run stays stopped" || fail "run 2: $(field "$sweep/${runs[2]}" state)"
"$bin" sweep --status "$sweep" > "$tmp/status2.out" 2>&1
grep -q "4 runs: 3 done, 0 running, 0 pending, 0 failed, 1 stopped" "$tmp/status2.out" \
  && ok "--status: 3 done, 1 stopped" || fail "status: $(cat "$tmp/status2.out")"
"$bin" sweep --resume "$sweep" --dry-run > "$tmp/resume.dry" 2>&1
[ "$(wc -l < "$tmp/resume.dry")" = 1 ] && grep -qF "${runs[2]}" "$tmp/resume.dry" \
  && ok "--resume would resubmit run 2 only" || fail "resume --dry-run: $(cat "$tmp/resume.dry")"
"$bin" sweep --resume "$sweep" > "$tmp/resume.out" 2>&1 || fail "resume: $(cat "$tmp/resume.out")"
job2=$(sed -n 's/^submitted job \([0-9]*\):.*/\1/p' "$tmp/resume.out")
grep -q "(array 2)" "$tmp/resume.out" && ok "resubmitted run 2 alone as job $job2" || fail "resume: $(cat "$tmp/resume.out")"
wait_for 90 "every run done" all_done && ok "all 4 runs done ($(elapsed) s)"
wait_for 30 "the queue to empty again" queue_empty

# 5. Results: the same metrics as an uninterrupted run of the same config.
for i in 0 1 2 3; do
  d=$sweep/${runs[$i]}
  FAKE_TRAIN_STEP_MS=1 "$fake" "$d/sweep_config.lua" --set "run.dir=$tmp/ref/$i" >/dev/null 2>&1
  if cmp -s "$d/metrics.jsonl" "$tmp/ref/$i/metrics.jsonl"; then
    ok "run $i: metrics.jsonl equals the uninterrupted reference ($(lines "$d") steps)"
  else
    fail "run $i: metrics differ from the reference"; diff "$d/metrics.jsonl" "$tmp/ref/$i/metrics.jsonl" | head -5
  fi
  grep -q '"finished": true' "$d/summary.json" || fail "run $i: summary not finished"
done
for i in 0 1 2; do
  d=$sweep/${runs[$i]}
  a=$(field "$d" attempts)
  [ "${a:-0}" -ge 2 ] && [ "$(field "$d" resumed)" = true ] && grep -q "start resume=1 from=[1-9]" "$d/fake_events.log" \
    && ok "run $i: $a attempts, resumed from a checkpoint ($(grep -o 'from=[0-9]*' "$d/fake_events.log" | tr '\n' ' '))" \
    || fail "run $i: attempts ${a:-?}, resumed $(field "$d" resumed), events: $(tr '\n' ' ' < "$d/fake_events.log")"
done
[ "$(field "$sweep/${runs[3]}" attempts)" = 1 ] && ok "run 3: one attempt" || fail "run 3 attempts $(field "$sweep/${runs[3]}" attempts)"
r0=$(field "$sweep/${runs[0]}" slurm_restarts)
[ "${r0:-0}" -ge 1 ] && ok "run 0 ran again as Slurm restart $r0" || fail "run 0 slurm_restarts ${r0:-?}"
grep -q "scontrol requeue .*: requeued" "$sweep/${runs[1]}/run.log" && ok "run 1's supervisor requeued its job after SIGUSR1" \
  || fail "run 1 log: $(grep 'rlvr sweep' "$sweep/${runs[1]}/run.log")"
grep -q "slurm job ${job2}_2" "$sweep/${runs[2]}/run.log" && ok "run 2's last attempt ran in the resubmitted job" \
  || fail "run 2 log: $(grep '====' "$sweep/${runs[2]}/run.log")"
"$bin" sweep --status "$sweep" > "$tmp/status3.out" 2>&1
grep -q "4 runs: 4 done" "$tmp/status3.out" && ok "--status: 4 done" || fail "final status: $(cat "$tmp/status3.out")"
echo "--- final status:"; cat "$tmp/status3.out"
echo "elapsed $(elapsed) s"
[ "$fails" = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
