#!/usr/bin/env bash
# test_sweep_train.sh — rlvr sweep with the real `rlvr train` (the tiny
# Qwen2 fixture, 16 GRPO steps, two seeds): a sweep run straight through,
# and the same sweep stopped mid-run as Slurm stops a job (SIGTERM to the
# run's processes and to its supervisor) and then --resume'd. The
# supervisor passes the stop on as SIGINT, train checkpoints and exits
# 0 with "finished": false in summary.json, the run is recorded as stopped
# (not done), and the resumed sweep ends with the same final and best
# reward, accuracy and loss per run as the uninterrupted one (train's
# top-level metrics do not depend on interruptions: docs/metrics.md).
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
state() { sed -n 's/^[[:space:]]*"state":[[:space:]]*"\([a-z]*\)".*/\1/p' "$1/sweep_state.json" 2>/dev/null; }
lines() { cat "$1/metrics.jsonl" 2>/dev/null | wc -l; }

cat > "$tmp/spec.lua" <<'EOF'
return {
  name = "train",
  base = {
    model = {path = 'tests/fixtures/models/tiny-qwen2'},
    task = {source = 'arith', template = 'plain', heldout_size = 16, verifier = 'lowbytes'},
    sample = {temperature = 1.0, max_tokens = 8},
    train = {steps = 16, prompts_per_step = 4, group_size = 4, workers = 1, eval = false, report = false},
    optim = {lr = 0.003},
    rollout = {max_groups = 1, slots = 4},
    verify = {workers = 1, paths = 'tests/learner/verifiers'},
    checkpoint = {every = 2},
    run = {threads = 1},
  },
  seeds = { 1, 2 },
}
EOF

"$bin" sweep "$tmp/spec.lua" --dir "$tmp/straight" -j 2 >"$tmp/straight.log" 2>&1 \
  && ok "the sweep ran straight through" || fail "straight sweep: $(tail -5 "$tmp/straight.log")"

"$bin" sweep "$tmp/spec.lua" --dir "$tmp/stopped" -j 2 >"$tmp/stopped.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ "$(lines "$tmp/stopped/seed=1")" -ge 3 ] && [ "$(lines "$tmp/stopped/seed=2")" -ge 3 ] && break
  sleep 0.1
done
# As Slurm stops a job (requeue, preemption, scancel): SIGTERM to every
# process of the run (train and its worker: the run's process group), and
# to the supervisors (here through the sweep), which add their SIGINT.
for r in seed=1 seed=2; do
  rp=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$tmp/stopped/$r/sweep_state.json")
  [ -n "$rp" ] && kill -TERM -- "-$rp"
done
kill -TERM "$pid"
wait "$pid"
code=$?
pid=
[ "$code" = 1 ] && ok "SIGTERM: the sweep exits 1" || fail "stopped sweep exit $code: $(tail -5 "$tmp/stopped.log")"
for r in seed=1 seed=2; do
  d=$tmp/stopped/$r
  n=$(lines "$d")
  [ "$(state "$d")" = stopped ] && [ "$n" -lt 16 ] && ok "$r stopped at step $n" || fail "$r: state $(state "$d"), $n steps"
  grep -q '"finished":[[:space:]]*false' "$d/summary.json" 2>/dev/null && [ -f "$d/checkpoints/latest" ] \
    && ok "$r: train wrote its checkpoint and an unfinished summary" || fail "$r: no checkpoint or summary: $(tail -5 "$d/run.log")"
done
"$bin" sweep --resume "$tmp/stopped" -j 2 >"$tmp/resume.log" 2>&1 && ok "--resume" || fail "resume: $(tail -5 "$tmp/resume.log")"
for r in seed=1 seed=2; do
  d=$tmp/stopped/$r
  [ "$(state "$d")" = done ] && [ "$(lines "$d")" = 16 ] && grep -q -- "--resume$" "$d/run.log" \
    && ok "$r: done, 16 steps, resumed with --resume" || fail "$r: state $(state "$d"), $(lines "$d") steps"
done
metrics=(--metric reward --metric accuracy --metric loss)
"$bin" compare "$tmp/straight" --runs --csv "${metrics[@]}" > "$tmp/a.csv" 2>/dev/null
"$bin" compare "$tmp/stopped" --runs --csv "${metrics[@]}" > "$tmp/b.csv" 2>/dev/null
if [ -s "$tmp/a.csv" ] && cmp -s "$tmp/a.csv" "$tmp/b.csv"; then
  ok "final and best reward, accuracy and loss equal those of the uninterrupted sweep"
else
  fail "metrics differ:"; diff "$tmp/a.csv" "$tmp/b.csv"
fi
[ "$fails" = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
