#!/usr/bin/env bash
# test_eval_cli.sh — `rlvr eval` and `rlvr rollout` as commands: exit codes,
# the summary's fields, one JSON line per sample, reproducible and
# batch-independent samples, budget forcing counted, and a rollout worker
# that leaves cleanly on SIGTERM while no learner answers.
. "$(dirname "$0")/../lib.sh"
model=tests/fixtures/models/tiny-qwen2

expect 0 "eval --help" -- "$bin" eval --help
expect 2 "eval without a model" -- "$bin" eval --size 2
expect 1 "eval with a bad split" -- "$bin" eval --model $model --split validation --size 2
check "the message names eval.split" -- grep -q "eval.split" "$tmp/err"
expect 1 "eval with a bad pass_k" -- "$bin" eval --model $model --samples 2 --pass-k 3 --size 2
# plain template: the r1 text alone is longer than the tiny models' 128 positions
common=(--model $model --task arith --size 4 --max-tokens 6 --set task.template=plain)
expect 0 "greedy eval" -- "$bin" eval "${common[@]}" --output "$tmp/g.jsonl" --summary "$tmp/g.json"
python3 - "$tmp/g.jsonl" "$tmp/g.json" "$tmp/out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
printed = json.loads(open(sys.argv[3]).read())
assert s == printed, "the summary file and the printed summary differ"
assert len(lines) == 4, len(lines)
for l in lines:
    for k in ("id", "sample", "prompt", "completion", "tokens", "score", "correct", "status", "answer", "finish", "end", "seed", "details"):
        assert k in l, k
    assert 1 <= l["tokens"] <= 6 and l["finish"] in ("eos", "length")
assert s["problems"] == 4 and s["samples_per_problem"] == 1
for k in ("accuracy", "pass@1", "maj@1", "finish", "sampling", "mean_completion_tokens"):
    assert k in s, k
assert s["accuracy"] == sum(l["correct"] for l in lines) / 4
print("summary and lines ok")
PY
check "greedy summary fields" -- test $? = 0
expect 0 "eval makes the directories of its output paths" -- "$bin" eval "${common[@]}" --output "$tmp/new/a/g.jsonl" --summary "$tmp/new/b/g.json"
check "both written there" -- test -s "$tmp/new/a/g.jsonl" -a -s "$tmp/new/b/g.json"
expect 0 "sampled eval" -- "$bin" eval "${common[@]}" --samples 3 --temperature 1 --output "$tmp/s1.jsonl"
python3 - "$tmp/s1.jsonl" "$tmp/out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = json.loads(open(sys.argv[2]).read())
assert len(lines) == 12
for k in ("pass@1", "pass@2", "pass@3", "maj@3"):
    assert k in s, k
assert sorted(set(l["sample"] for l in lines)) == [0, 1, 2]
PY
check "sampled summary has pass@1..3 and maj@3" -- test $? = 0
"$bin" eval "${common[@]}" --samples 3 --temperature 1 --output "$tmp/s2.jsonl" --set eval.batch=1 >/dev/null 2>&1
check "same seed, one problem per request: the same samples" -- cmp -s "$tmp/s1.jsonl" "$tmp/s2.jsonl"
"$bin" eval "${common[@]}" --samples 3 --temperature 1 --output "$tmp/s3.jsonl" --set sample.seed=77 >/dev/null 2>&1
check "another seed: other samples" -- bash -c "! cmp -s '$tmp/s1.jsonl' '$tmp/s3.jsonl'"
expect 0 "budget forcing" -- "$bin" eval --model $model --task arith --size 4 --max-tokens 30 --budget --set task.template=plain \
  --set budget.max_think_tokens=3 --output "$tmp/b.jsonl"
python3 - "$tmp/b.jsonl" "$tmp/out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = json.loads(open(sys.argv[2]).read())
cut = [l for l in lines if l["finish"] == "budget"]
assert s["budget"]["thinking_cut"] == len(cut) >= 1, (s["budget"], len(cut))
for l in cut:
    assert l["think_tokens"] == 3 and " </think> <answer>" in l["completion"], l
PY
check "thinking cut at 3 tokens, answer prefix appended" -- test $? = 0

expect 0 "rollout --help" -- "$bin" rollout --help
expect 2 "rollout without --connect" -- "$bin" rollout --model $model
expect 2 "rollout with a bad address" -- "$bin" rollout --model $model --connect udp://x:1
# No learner listens: the worker waits; SIGTERM ends it cleanly.
"$bin" rollout --model $model --connect tcp://127.0.0.1:1 --set verify.workers=1 >"$tmp/r.out" 2>"$tmp/r.err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
rc=$?
check "rollout leaves with exit 0 on SIGTERM" -- test $rc = 0
check "rollout says it stopped" -- grep -q "stopped by a signal" "$tmp/r.err"

finish
