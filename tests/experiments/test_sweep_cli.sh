#!/usr/bin/env bash
# test_sweep_cli.sh — rlvr sweep end to end on this machine, with fake_train
# (tests/experiments/fake_train.c) standing in for `rlvr train`:
#   --dry-run lists the runs; a typo fails before anything runs (nearest key);
#   a local sweep runs every run at most -j at once, and each run's
#   metrics.jsonl equals that of fake_train run directly with the run's
#   config (the overrides reached it);
#   an injected failure shows as failed with its exit status and log line;
#   --resume re-runs only the unfinished runs;
#   SIGTERM to the sweep stops the runs (checkpoint, state stopped), and
#   --resume continues them from their checkpoints to the same results;
#   a run stopped from elsewhere (its summary says finished: false) is not
#   done; a second runner on the same sweep is refused;
#   --slurm --no-submit / --dry-run write sbatch scripts bash accepts.
# Usage: test_sweep_cli.sh FAKE_TRAIN (RLVR_BIN names rlvr).
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
fake=${1:?usage: test_sweep_cli.sh FAKE_TRAIN}
tmp=$(mktemp -d)
bg=()
cleanup() {
  for p in "${bg[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
expect() { # expect CODE WHAT -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ]; then fail "$what: exit $got, want $want"; cat "$tmp/out" "$tmp/err"; else ok "$what"; fi
}
# state RUN_DIR: the state recorded in its sweep_state.json
state() { sed -n 's/^[[:space:]]*"state":[[:space:]]*"\([a-z]*\)".*/\1/p' "$1/sweep_state.json" 2>/dev/null; }
attempts() { sed -n 's/^[[:space:]]*"attempts":[[:space:]]*\([0-9]*\).*/\1/p' "$1/sweep_state.json" 2>/dev/null; }
# reference RUN_DIR OUT: fake_train run directly on the run's own config
reference() {
  FAKE_TRAIN_STEP_MS=1 "$fake" "$1/sweep_config.lua" --set "run.dir=$2" >/dev/null 2>&1
}

cat > "$tmp/spec.lua" <<EOF
return {
  name = "demo",
  base = { train = { steps = 6 }, checkpoint = { every = 2 } },
  grid = { ["loss.aggregation"] = { "grpo", "dapo" } },
  zip = { ["optim.lr"] = { 1e-6, 3e-6 }, ["loss.eps_high"] = { 0.2, 0.28 } },
  seeds = { 1, 2 },
  command = { "$fake" },
}
EOF
names=("aggregation=grpo,eps_high=0.2,lr=1e-06,seed=1" "aggregation=grpo,eps_high=0.28,lr=3e-06,seed=1"
       "aggregation=dapo,eps_high=0.2,lr=1e-06,seed=1" "aggregation=dapo,eps_high=0.28,lr=3e-06,seed=1"
       "aggregation=grpo,eps_high=0.2,lr=1e-06,seed=2" "aggregation=grpo,eps_high=0.28,lr=3e-06,seed=2"
       "aggregation=dapo,eps_high=0.2,lr=1e-06,seed=2" "aggregation=dapo,eps_high=0.28,lr=3e-06,seed=2")

# --- dry run and spec errors ------------------------------------------------
expect 0 "dry run" -- "$bin" sweep "$tmp/spec.lua" --dir "$tmp/s1" --dry-run
[ "$(grep -c -- '--set run.seed=' "$tmp/out")" = 8 ] && ok "dry run lists 8 runs" || fail "dry run: $(cat "$tmp/out")"
for n in "${names[@]}"; do grep -qF -- "$n" "$tmp/out" || fail "dry run lacks $n"; done
grep -qF -- "--set checkpoint.every=2 --set train.steps=6 --set loss.aggregation=dapo --set loss.eps_high=0.28 --set optim.lr=3e-06 --set run.seed=2" "$tmp/out" \
  && ok "dry run shows each run's overrides" || fail "overrides: $(cat "$tmp/out")"
[ ! -e "$tmp/s1" ] && ok "dry run writes nothing" || fail "dry run created $tmp/s1"

sed 's/"loss.aggregation"/"loss.agregation"/' "$tmp/spec.lua" > "$tmp/typo.lua"
expect 1 "a typo in the spec fails" -- "$bin" sweep "$tmp/typo.lua" --dir "$tmp/typo"
grep -q "did you mean 'loss.aggregation'" "$tmp/err" && grep -q "typo.lua" "$tmp/err" \
  && ok "the error names the spec and the nearest key" || fail "typo message: $(cat "$tmp/err")"
[ ! -e "$tmp/typo" ] && ok "nothing created for a bad spec" || fail "bad spec created a directory"
expect 2 "no spec is a usage error" -- "$bin" sweep
expect 2 "two modes are a usage error" -- "$bin" sweep "$tmp/spec.lua" --status "$tmp/s1"

# --- a local sweep ------------------------------------------------------------
expect 0 "local sweep, 2 at once" -- env FAKE_TRAIN_STEP_MS=5 "$bin" sweep "$tmp/spec.lua" --dir "$tmp/s1" -j 2
grep -q "8 done, 0 failed" "$tmp/err" && ok "8 done" || fail "summary: $(tail -3 "$tmp/err")"
# Never more than 2 at once: replay the start/end lines.
awk '/ start /{n++; if (n>m) m=n} / (done|failed|stopped) /{n--} END{exit !(m==2)}' "$tmp/err" \
  && ok "at most 2 ran at once (and 2 did)" || fail "concurrency: $(cat "$tmp/err")"
for n in "${names[@]}"; do
  d="$tmp/s1/$n"
  [ "$(state "$d")" = done ] || fail "$n: state $(state "$d")"
  reference "$d" "$tmp/ref/$n"
  cmp -s "$d/metrics.jsonl" "$tmp/ref/$n/metrics.jsonl" || fail "$n: metrics differ from fake_train on its own config"
  [ "$(wc -l < "$d/metrics.jsonl")" = 6 ] || fail "$n: $(wc -l < "$d/metrics.jsonl") metrics lines"
  grep -q "^==== rlvr sweep: $n attempt 1" "$d/run.log" || fail "$n: run.log lacks the attempt header"
done
ok "every run's metrics match its config's reference"
# The runs differ: seed and config reach the command.
cmp -s "$tmp/s1/${names[0]}/metrics.jsonl" "$tmp/s1/${names[4]}/metrics.jsonl" && fail "seeds 1 and 2 gave the same metrics"
cmp -s "$tmp/s1/${names[0]}/metrics.jsonl" "$tmp/s1/${names[2]}/metrics.jsonl" && fail "grpo and dapo gave the same metrics"
expect 0 "status" -- "$bin" sweep --status "$tmp/s1"
grep -q "8 runs: 8 done, 0 running, 0 pending, 0 failed, 0 stopped" "$tmp/out" && ok "status counts" || fail "status: $(cat "$tmp/out")"
expect 0 "status --json" -- "$bin" sweep --status "$tmp/s1" --json
grep -q '"done":[[:space:]]*8' "$tmp/out" && ok "json counts" || fail "json: $(cat "$tmp/out")"
expect 1 "the same spec into the same directory is refused" -- "$bin" sweep "$tmp/spec.lua" --dir "$tmp/s1"
grep -q -- "--resume" "$tmp/err" && ok "... pointing at --resume" || fail "message: $(cat "$tmp/err")"
expect 0 "resume of a finished sweep does nothing" -- "$bin" sweep --resume "$tmp/s1"
grep -q "nothing to resume" "$tmp/out" && ok "nothing to resume" || fail "resume: $(cat "$tmp/out")"

# --- a failure, then --resume ---------------------------------------------------
expect 1 "a sweep with failing runs exits 1" -- env FAKE_TRAIN_STEP_MS=5 FAKE_TRAIN_FAIL_SEED=2 "$bin" sweep "$tmp/spec.lua" --dir "$tmp/s2" -j 2
grep -q "4 done, 4 failed" "$tmp/err" && ok "4 done, 4 failed" || fail "summary: $(tail -3 "$tmp/err")"
expect 0 "status of the failed sweep" -- "$bin" sweep --status "$tmp/s2"
grep -qF "${names[5]}" "$tmp/out" && grep -q "failed .*exit status 3 after .*injected failure at step 2" "$tmp/out" \
  && ok "status says failed, with the exit status and the log's last line" || fail "status: $(cat "$tmp/out")"
grep -q "== ${names[4]} (failed): the end of" "$tmp/out" && ok "status shows the log tail of failed runs" || fail "no log tail"
expect 0 "resume --dry-run lists the 4 failed runs" -- "$bin" sweep --resume "$tmp/s2" --dry-run
[ "$(wc -l < "$tmp/out")" = 4 ] && ! grep -q "seed=1" "$tmp/out" && ok "only the seed-2 runs" || fail "resume list: $(cat "$tmp/out")"
expect 0 "resume re-runs them" -- env FAKE_TRAIN_STEP_MS=5 "$bin" sweep --resume "$tmp/s2" -j 2
grep -q "4 done, 0 failed" "$tmp/err" && ok "4 resumed runs done" || fail "resume: $(tail -3 "$tmp/err")"
for i in 0 1 2 3 4 5 6 7; do
  d="$tmp/s2/${names[$i]}"
  want=1; [ "$i" -ge 4 ] && want=2
  [ "$(attempts "$d")" = "$want" ] || fail "${names[$i]}: $(attempts "$d") attempts, want $want"
  cmp -s "$d/metrics.jsonl" "$tmp/ref/${names[$i]}/metrics.jsonl" || fail "${names[$i]}: metrics after resume differ"
done
ok "attempts 1 for the good runs, 2 for the resumed; metrics as the reference"
# It failed at step 2 before its step-2 checkpoint: --resume, from step 0.
grep -q "start resume=1 from=0" "$tmp/s2/${names[4]}/fake_events.log" \
  && ok "the failed run was started again with --resume" || fail "events: $(cat "$tmp/s2/${names[4]}/fake_events.log")"

# --- SIGTERM to the sweep, then --resume ----------------------------------------
# Steps of a second each: the checks below run the (possibly ASan-built)
# binary three times before the stop, and must not outlast the runs.
FAKE_TRAIN_STEP_MS=1000 "$bin" sweep "$tmp/spec.lua" --dir "$tmp/s3" -j 2 >"$tmp/s3.out" 2>"$tmp/s3.err" &
sweep_pid=$!
bg+=("$sweep_pid")
# Wait until both first runs have logged 3 steps.
for _ in $(seq 1 300); do
  a=$(cat "$tmp/s3/${names[0]}/metrics.jsonl" 2>/dev/null | wc -l)
  b=$(cat "$tmp/s3/${names[1]}/metrics.jsonl" 2>/dev/null | wc -l)
  [ "$a" -ge 3 ] && [ "$b" -ge 3 ] && break
  sleep 0.1
done
# A second runner on the same sweep is refused while this one holds it.
expect 1 "a second runner on a running sweep is refused" -- "$bin" sweep --resume "$tmp/s3" --local
grep -q "another rlvr sweep runs this sweep" "$tmp/err" && ok "... saying so" || fail "lock message: $(cat "$tmp/err")"
expect 0 "status while running" -- "$bin" sweep --status "$tmp/s3"
grep -q "2 running, 6 pending" "$tmp/out" && ok "status: 2 running, 6 pending" || fail "status: $(cat "$tmp/out")"
kill -TERM "$sweep_pid"
wait "$sweep_pid"
code=$?
[ "$code" = 1 ] && ok "the stopped sweep exits 1" || fail "stopped sweep exit $code"
for i in 0 1; do
  d="$tmp/s3/${names[$i]}"
  [ "$(state "$d")" = stopped ] && ok "${names[$i]} stopped" || fail "${names[$i]}: state $(state "$d")"
  [ -f "$d/checkpoints/latest" ] || fail "${names[$i]}: no checkpoint after the stop"
  [ "$(wc -l < "$d/metrics.jsonl")" -lt 6 ] || fail "${names[$i]}: finished before the stop; the test proves nothing"
done
[ -z "$(state "$tmp/s3/${names[2]}")" ] && ok "runs not started have no state" || fail "run 2 has state $(state "$tmp/s3/${names[2]}")"
expect 0 "status after the stop" -- "$bin" sweep --status "$tmp/s3"
grep -q "0 done, 0 running, 6 pending, 0 failed, 2 stopped" "$tmp/out" && grep -q "stopped by SIGTERM" "$tmp/out" \
  && ok "status: 2 stopped by SIGTERM, 6 pending" || fail "status: $(cat "$tmp/out")"
expect 0 "resume after the stop" -- env FAKE_TRAIN_STEP_MS=5 "$bin" sweep --resume "$tmp/s3" -j 2
for i in 0 1 2 3 4 5 6 7; do
  d="$tmp/s3/${names[$i]}"
  [ "$(state "$d")" = done ] || fail "${names[$i]}: state $(state "$d") after resume"
  cmp -s "$d/metrics.jsonl" "$tmp/ref/${names[$i]}/metrics.jsonl" || fail "${names[$i]}: metrics after stop+resume differ"
done
for i in 0 1; do
  grep -q "start resume=1 from=[1-5]" "$tmp/s3/${names[$i]}/fake_events.log" \
    || fail "${names[$i]}: not continued from a checkpoint: $(cat "$tmp/s3/${names[$i]}/fake_events.log")"
done
ok "stopped runs continued from their checkpoints to the reference results"

# --- a run stopped from elsewhere exits 0 but is not done -----------------------
cat > "$tmp/one.lua" <<EOF
return { base = { train = { steps = 40 } }, command = { "$fake" } }
EOF
FAKE_TRAIN_STEP_MS=100 "$bin" sweep "$tmp/one.lua" --dir "$tmp/s4" >/dev/null 2>&1 &
p=$!
bg+=("$p")
for _ in $(seq 1 100); do
  [ -s "$tmp/s4/run/metrics.jsonl" ] && break
  sleep 0.1
done
run_pid=$(sed -n 's/^[[:space:]]*"pid":[[:space:]]*\([0-9]*\).*/\1/p' "$tmp/s4/run/sweep_state.json")
[ -n "$run_pid" ] && kill -TERM "$run_pid"
wait "$p"
[ "$(state "$tmp/s4/run")" = stopped ] && ok "exit 0 with summary finished: false is stopped, not done" \
  || fail "state $(state "$tmp/s4/run"): $(cat "$tmp/s4/run/run.log")"

# --- Slurm scripts without Slurm -------------------------------------------------
cat > "$tmp/sl.lua" <<EOF
return { grid = { ["optim.lr"] = { 1e-6, 2e-6, 3e-6 } }, seeds = { 1, 2 }, command = { "$fake" },
         slurm = { partition = "debug", cpus_per_task = 2 } }
EOF
expect 0 "--slurm --no-submit writes the script" -- "$bin" sweep "$tmp/sl.lua" --dir "$tmp/s5" --slurm --no-submit \
  --time 00:10:00 --sbatch-opt=--exclusive --max-running 2
script="$tmp/s5/slurm/array-1.sbatch"
[ -f "$script" ] && ok "script written" || fail "no $script: $(cat "$tmp/out")"
for want in "#SBATCH --array=0-5%2" "#SBATCH --requeue" "#SBATCH --signal=B:USR1@120" "#SBATCH --partition=debug" \
            "#SBATCH --cpus-per-task=2" "#SBATCH --time=00:10:00" "#SBATCH --exclusive" "#SBATCH --job-name=rlvr-sl" \
            "sweep --exec $tmp/s5 --index \"\${SLURM_ARRAY_TASK_ID}\""; do
  grep -qF -- "$want" "$script" || fail "script lacks '$want'"
done
bash -n "$script" && ok "the script has every option and bash accepts it" || fail "bash -n $script"
! grep -q "{{" "$script" && ok "no placeholder left" || fail "placeholders left in $script"
expect 0 "--dry-run --slurm --nodes 2 prints the multi-node script" -- "$bin" sweep "$tmp/sl.lua" --dir "$tmp/s6" --slurm --dry-run --nodes 2
sed -n '/^#!\/bin\/bash/,$p' "$tmp/out" > "$tmp/multi.sbatch"
grep -q "#SBATCH --nodes=2" "$tmp/multi.sbatch" && grep -q "scontrol show hostnames" "$tmp/multi.sbatch" \
  && grep -q "rollout.connect=tcp://\${head}:\${port}" "$tmp/multi.sbatch" && bash -n "$tmp/multi.sbatch" \
  && ok "multi-node script: nodes, host list, worker wiring, bash accepts it" || fail "multi-node script: $(cat "$tmp/multi.sbatch")"
[ ! -e "$tmp/s6" ] && ok "--dry-run --slurm writes nothing" || fail "--dry-run --slurm created $tmp/s6"
# --exec runs one run as an array element would; --config-path names its config.
# Runs: seeds outermost, so index 4 is the second lr of seed 2.
expect 0 "--config-path" -- "$bin" sweep --config-path "$tmp/s5" --index 4
[ "$(cat "$tmp/out")" = "$tmp/s5/lr=2e-06,seed=2/sweep_config.lua" ] && ok "config path of run 4" || fail "config path: $(cat "$tmp/out")"
expect 0 "--exec runs one run" -- env FAKE_TRAIN_STEP_MS=1 "$bin" sweep --exec "$tmp/s5" --index 4
[ "$(state "$tmp/s5/lr=2e-06,seed=2")" = done ] && ok "--exec recorded done" || fail "--exec state"
expect 0 "--exec of a done run does nothing" -- "$bin" sweep --exec "$tmp/s5" --index 4
[ "$(attempts "$tmp/s5/lr=2e-06,seed=2")" = 1 ] && ok "still one attempt" || fail "attempts $(attempts "$tmp/s5/lr=2e-06,seed=2")"
expect 2 "--exec with an index out of range" -- "$bin" sweep --exec "$tmp/s5" --index 6

# --- rlvr compare on a sweep directory ---------------------------------------------
expect 0 "compare the sweep" -- "$bin" compare "$tmp/s1" --metric reward --metric summary:eval.grpo.accuracy
head -1 "$tmp/out" | grep -qF "| loss.aggregation | loss.eps_high | optim.lr | runs | steps | reward final |" \
  && ok "the keys that differ are the columns" || fail "compare header: $(head -1 "$tmp/out")"
[ "$(grep -c '^| [gd][a-z]* | 0.2[8]* | [13]e-06 | 2 | 6 |' "$tmp/out")" = 4 ] \
  && ok "4 groups of 2 seeds, 6 steps each" || fail "compare: $(cat "$tmp/out")"

[ "$fails" = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
