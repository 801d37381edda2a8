#!/usr/bin/env bash
# test_examples.sh — the example configs in experiments/examples/ are honest:
# each loads with `rlvr config` (no unknown key, no wrong type), and each
# runs a tiny version of itself with only sizes, paths and the model
# overridden (--set), on JSONL files written here:
#   r1_zero_gsm8k.lua  `rlvr train`, 2 steps, on the tiny-qwen2 fixture (plain
#                      template: the R1-Zero text does not fit its 128
#                      positions), and again with the r1_zero template as
#                      written on a fresh tiny byte-level model with 512
#                      positions (model.init=tiny: rlvr train warm-starts it
#                      with a few SFT steps); that run's model/ serves the
#                      templates of the other examples as written;
#   s1_budget_eval.lua `rlvr eval` with budget forcing (summary, samples with
#                      finish "budget"), and --budget-sweep / --waits;
#   ttrl_consensus.lua `rlvr train` on prompts without answers (consensus
#                      verifier, metrics with consensus_groups);
#   s1k_select.lua     `rlvr select` on a pool whose toy verifier
#                      (tests/select/verifiers/coin.lua) fixes some pass rates
#                      at 1 and 0, with the example's thresholds, then
#                      `rlvr train` on the selection with its curriculum.
. "$(dirname "$0")/../lib.sh"
ex=experiments/examples
fixture=tests/fixtures/models/tiny-qwen2
common=(--set run.threads=1 --set verify.workers=1 --set rollout.slots=4)
tiny_train=(--set sample.max_tokens=8 --set train.steps=2 --set train.prompts_per_step=2 --set train.group_size=2
            --set train.micro_batch=4 --set train.eval=false --set train.workers=1 --set train.report=false
            --set checkpoint.every=1)

# Data: GSM8K-style (question, "... #### n"), unlabelled prompts, a pool with ids.
for i in 1 2 3 4 5 6; do
  echo "{\"question\":\"Tom has $i apples and buys $i more. How many now?\",\"answer\":\"$i + $i = $((2*i))\\n#### $((2*i))\"}"
done > "$tmp/train.jsonl"
for i in 7 8 9; do
  echo "{\"question\":\"What is $i + $i?\",\"answer\":\"#### $((2*i))\"}"
done > "$tmp/test.jsonl"
for i in 1 2 3 4; do echo "{\"question\":\"What is $i * 3?\"}"; done > "$tmp/unlabelled.jsonl"
{ echo '{"id":"a1","question":"Easy one?","answer":"always"}'
  echo '{"id":"n1","question":"Hard one?","answer":"never"}'
  for i in 1 2 3 4 5 6; do echo "{\"id\":\"c$i\",\"question\":\"Coin $i?\",\"answer\":\"coin\"}"; done
} > "$tmp/pool.jsonl"

for f in r1_zero_gsm8k s1_budget_eval ttrl_consensus s1k_select; do
  expect 0 "rlvr config $f.lua" -- "$bin" config "$ex/$f.lua"
  check "$f.lua: no warnings" -- test ! -s "$tmp/err"
done
check "README names every example" -- bash -c "for f in r1_zero_gsm8k s1_budget_eval ttrl_consensus s1k_select; do grep -q \"\$f.lua\" $ex/README.md || exit 1; done"

# r1_zero_gsm8k on the fixture model.
expect 0 "r1_zero_gsm8k: train 2 steps on tiny-qwen2" -- "$bin" train "$ex/r1_zero_gsm8k.lua" \
  --set model.path=$fixture --set task.template=plain \
  --set task.source="$tmp/train.jsonl" --set task.heldout_path="$tmp/test.jsonl" \
  --set reward.overlong_max=8 --set reward.overlong_cache=2 --set run.dir="$tmp/r1" "${common[@]}" "${tiny_train[@]}"
check "r1_zero_gsm8k: 2 metric lines" -- test "$(wc -l < "$tmp/r1/metrics.jsonl")" = 2
check "r1_zero_gsm8k: trained model" -- test -s "$tmp/r1/model/config.json"
check "r1_zero_gsm8k: checkpoints" -- test -d "$tmp/r1/checkpoints/step-00000002"
check "r1_zero_gsm8k: math verifier, gsm8k answers" -- grep -q '"verifier":"math".*"answer":"[0-9]*"' "$tmp/r1/samples.jsonl"

# r1_zero_gsm8k with its template as written, on a fresh tiny model.
expect 0 "r1_zero_gsm8k: train with the r1_zero template (tiny fresh model)" -- "$bin" train "$ex/r1_zero_gsm8k.lua" \
  --set model.path= --set model.init=tiny --set model.init_max_position=512 --set model.init_layers=1 \
  --set model.init_hidden=32 --set model.init_intermediate=64 --set model.init_heads=2 --set model.init_kv_heads=2 \
  --set sft.examples=4 --set sft.batch_size=4 --set sft.warmup_steps=1 \
  --set task.source="$tmp/train.jsonl" --set task.heldout_path="$tmp/test.jsonl" \
  --set reward.overlong_max=8 --set reward.overlong_cache=2 --set run.dir="$tmp/r1z" "${common[@]}" "${tiny_train[@]}"
check "r1_zero template: 2 metric lines" -- test "$(wc -l < "$tmp/r1z/metrics.jsonl")" = 2
check "r1_zero template: trained model" -- test -s "$tmp/r1z/model/config.json"
model=$tmp/r1z/model

# s1_budget_eval: one evaluation with budget forcing, then a sweep.
expect 0 "s1_budget_eval: eval 3 problems on tiny-qwen2" -- "$bin" eval "$ex/s1_budget_eval.lua" \
  --model $fixture --set task.template=plain --set task.source="$tmp/test.jsonl" --set eval.size=3 \
  --set eval.max_tokens=16 --set budget.min_think_tokens=3 --set budget.max_think_tokens=6 \
  --output "$tmp/ev/samples.jsonl" --summary "$tmp/ev/summary.json" "${common[@]}"
check "s1_budget_eval: 3 samples" -- test "$(wc -l < "$tmp/ev/samples.jsonl")" = 3
check "s1_budget_eval: summary with budget settings" -- grep -q '"max_think_tokens":[[:space:]]*6' "$tmp/ev/summary.json"
check "s1_budget_eval: thinking cut at the cap" -- grep -q '"finish":"budget"' "$tmp/ev/samples.jsonl"
expect 0 "s1_budget_eval: --budget-sweep and --waits (r1 template)" -- "$bin" eval "$ex/s1_budget_eval.lua" \
  --model "$model" --set task.source="$tmp/test.jsonl" --set eval.size=3 --set eval.max_tokens=16 \
  --budget-sweep max_think_tokens=4,8 --waits 0,1 --sweep-dir "$tmp/sweep" "${common[@]}"
check "s1_budget_eval: sweep files" -- test -s "$tmp/sweep/sweep.json" -a -s "$tmp/sweep/sweep.md" -a -s "$tmp/sweep/samples-03.jsonl"
check "s1_budget_eval: 4 settings" -- test "$(grep -c 'max_think_tokens=' "$tmp/sweep/sweep.md")" = 4

# ttrl_consensus: prompts without answers.
expect 0 "ttrl_consensus: train 2 steps on unlabelled prompts" -- "$bin" train "$ex/ttrl_consensus.lua" \
  --set model.path=$fixture --set task.template=plain --set task.source="$tmp/unlabelled.jsonl" \
  --set run.dir="$tmp/ttrl" "${common[@]}" "${tiny_train[@]}"
check "ttrl_consensus: 2 metric lines" -- test "$(wc -l < "$tmp/ttrl/metrics.jsonl")" = 2
check "ttrl_consensus: consensus groups counted" -- grep -q '"consensus_groups":2' "$tmp/ttrl/metrics.jsonl"
check "ttrl_consensus: consensus verifier" -- grep -q '"verifier":"consensus"' "$tmp/ttrl/samples.jsonl"
expect 0 "ttrl_consensus: train with the r1 template" -- "$bin" train "$ex/ttrl_consensus.lua" \
  --set model.path="$model" --set task.source="$tmp/unlabelled.jsonl" \
  --set run.dir="$tmp/ttrl2" "${common[@]}" "${tiny_train[@]}"

# s1k_select: select from the pool, then train on the selection with the curriculum.
sel=(--set verify.paths=tests/select/verifiers --set task.verifier=coin)
expect 0 "s1k_select: rlvr select" -- "$bin" select "$ex/s1k_select.lua" --task "$tmp/pool.jsonl" \
  --model "$model" --set select.n=4 --set select.samples=4 --set eval.max_tokens=8 \
  --set select.output="$tmp/s1k/selected.jsonl" --set select.pass_rates="$tmp/s1k/rates.jsonl" \
  --set select.summary="$tmp/s1k/summary.json" --set select.dropped="$tmp/s1k/dropped.jsonl" "${sel[@]}" "${common[@]}"
check "s1k_select: a pass rate for every record" -- test "$(wc -l < "$tmp/s1k/rates.jsonl")" = 8
check "s1k_select: the always-solved prompt dropped" -- grep -q '"id":"a1".*"reason":"always_solved"' "$tmp/s1k/dropped.jsonl"
check "s1k_select: the never-solved prompt dropped" -- grep -q '"id":"n1".*"reason":"never_solved"' "$tmp/s1k/dropped.jsonl"
check "s1k_select: some prompts kept" -- test -s "$tmp/s1k/selected.jsonl"
check "s1k_select: only coin prompts kept" -- bash -c "! grep -q '\"id\":\"[an]1\"' '$tmp/s1k/selected.jsonl'"
expect 0 "s1k_select: train 2 steps with the curriculum" -- "$bin" train "$ex/s1k_select.lua" \
  --set model.path="$model" --set task.source="$tmp/s1k/selected.jsonl" --set task.curriculum="$tmp/s1k/rates.jsonl" \
  --set task.heldout_path="$tmp/test.jsonl" --set run.dir="$tmp/s1k/train" "${sel[@]}" "${common[@]}" "${tiny_train[@]}"
check "s1k_select: curriculum logged" -- grep -q "curriculum .*(easy_first): [1-9][0-9]* of [0-9]* training records rated" "$tmp/err"
check "s1k_select: 2 metric lines" -- test "$(wc -l < "$tmp/s1k/train/metrics.jsonl")" = 2
check "s1k_select: trained on selected prompts" -- grep -q '"item_id":"c[1-6]"' "$tmp/s1k/train/samples.jsonl"

finish
