#!/usr/bin/env bash
# train_sim.sh — `rlvr train` with the learner and the rollout workers on
# (emulated) GPUs: rlvr_sim is the rlvr program built on cudasim, the CPU
# emulation of CUDA (docs/cuda_sim.md), so this runs the whole GPU path of a
# GRPO run on any machine: learner.device = cuda (bf16), rollout.device =
# cuda with sampling on the device, and the weights going learner -> workers
# GPU to GPU, by NCCL (two worker processes: a communicator of 3 ranks) and
# by CUDA IPC (one worker). On the tiny Qwen2 fixture with the lowbytes
# reward, 3 steps each. Checks: exit 0, a finished summary with both
# held-out accuracies, 3 metrics lines whose recomputed-vs-sampled log-prob
# gap is within bf16 rounding, and the learner's log saying which weight
# sync ran. Needs RLVR_BIN = rlvr_sim (set by ctest).
. "$(dirname "$0")/../lib.sh"

run() { # run NAME WEIGHT_SYNC WORKERS
  local name=$1 sync=$2 workers=$3
  cat >"$tmp/$name.lua" <<LUA
return {
  run = {dir = '$tmp/$name'},
  model = {path = 'tests/fixtures/models/tiny-qwen2'},
  task = {source = 'arith', template = 'plain', heldout_size = 8, verifier = 'lowbytes'},
  sample = {temperature = 1.0, max_tokens = 8},
  train = {steps = 3, prompts_per_step = 2, group_size = 4, workers = $workers, eval = true, eval_size = 8},
  optim = {lr = 0.003},
  rollout = {max_groups = 1, slots = 4, device = 'cuda', dtype = 'bf16'},
  learner = {device = 'cuda', dtype = 'bf16', weight_sync = '$sync'},
  verify = {workers = 1, paths = 'tests/learner/verifiers'},
  transport = {peer_timeout_ms = 5000, heartbeat_ms = 200},
}
LUA
  expect 0 "$name: rlvr_sim train (learner and $workers worker(s) on cuda, weight_sync $sync)" -- \
    "$bin" train "$tmp/$name.lua"
  cp "$tmp/err" "$tmp/$name.err"
  check "$name: summary finished, both accuracies" -- python3 - "$tmp/$name/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
e = s["eval"]
assert s["finished"] is True and s["steps"] == 3, s
assert 0 <= e["initial"]["accuracy"] <= 1 and 0 <= e["grpo"]["accuracy"] <= 1, e
PY
  check "$name: 3 steps logged, recomputed log-probs within 1e-2 of the sampled ones" -- python3 - "$tmp/$name/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
steps = [r for r in rows if "step" in r and "reward" in r]
assert len(steps) == 3, len(steps)
for r in steps:
    d = r["max_logprob_diff"]
    assert d is not None and 0 <= d < 1e-2, r
PY
}

run nccl nccl 2
check "nccl: the learner synced by NCCL with a communicator of 3 ranks" -- \
  grep -q "communicator of 3 ranks up" "$tmp/nccl.err"
run ipc ipc 1
check "ipc: the learner synced by CUDA IPC" -- grep -qi "weight sync by CUDA IPC" "$tmp/ipc.err"
finish
