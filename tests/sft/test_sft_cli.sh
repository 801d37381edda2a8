#!/usr/bin/env bash
# test_sft_cli.sh — rlvr sft end to end: a fresh tiny model trained for a few
# steps on generated worked examples and on a JSONL file, the run directory
# it leaves (config, metrics per step, the model, periodic saves, evaluation),
# that the saved model loads again (--model), and errors that name the file,
# line and field with exit status 1 (2 for usage errors).
. "$(dirname "$0")/../lib.sh"
small=(--set model.init_hidden=32 --set model.init_intermediate=64 --set model.init_max_position=96
       --set task.template=plain --set sft.batch_size=8 --set sft.micro_batch_size=3 --set sample.max_tokens=24)

expect 0 "sft from scratch on generated examples" -- "$bin" sft --init tiny "${small[@]}" --examples 40 --steps 4 \
  --set sft.save_every=2 --eval 6 --set sft.eval_samples=2 --run-dir "$tmp/run"
for f in config.lua metrics.jsonl eval.jsonl model/config.json model/model.safetensors model/tokenizer.json \
         step_2/model.safetensors; do
  [ -f "$tmp/run/sft/$f" ] && ok "wrote sft/$f" || fail "no sft/$f"
done
[ "$(wc -l < "$tmp/run/sft/metrics.jsonl")" = 4 ] && ok "one metrics line per step" || fail "metrics lines: $(wc -l < "$tmp/run/sft/metrics.jsonl")"
grep -q '"step": 4, "loss": ' "$tmp/run/sft/metrics.jsonl" && ok "metrics carry step and loss" || fail "metrics: $(tail -1 "$tmp/run/sft/metrics.jsonl")"
grep -q '"problems": 6, "greedy_accuracy": ' "$tmp/run/sft/eval.jsonl" && ok "eval line" || fail "eval: $(cat "$tmp/run/sft/eval.jsonl")"
grep -q 'pass@2' "$tmp/err" && ok "eval printed with pass@k" || fail "no eval summary on stderr"

# The same seed gives the same losses (the run is deterministic).
"$bin" sft --init tiny "${small[@]}" --examples 40 --steps 4 --run-dir "$tmp/run2" 2>/dev/null
cut -d, -f1-2 "$tmp/run/sft/metrics.jsonl" > "$tmp/l1"; cut -d, -f1-2 "$tmp/run2/sft/metrics.jsonl" > "$tmp/l2"
cmp -s "$tmp/l1" "$tmp/l2" && ok "same seed, same losses" || fail "losses differ between identical runs"

# Continue from the saved model on a JSONL file.
printf '%s\n' '{"prompt": "What is 1 + 1?\n", "completion": "1 + 1 = 2\n<answer>2</answer>"}' \
  '{"prompt": "What is 2 + 2?\n", "completion": "2 + 2 = 4\n<answer>4</answer>"}' > "$tmp/data.jsonl"
expect 0 "sft from a model directory on a JSONL file" -- "$bin" sft --model "$tmp/run/sft/model" --data "$tmp/data.jsonl" \
  --steps 2 --set sft.batch_size=2 --run-dir "$tmp/run3"
[ -f "$tmp/run3/sft/model/tokenizer.json" ] && ok "tokenizer copied from the source model" || fail "no tokenizer in run3"

# Errors.
printf '%s\n' '{"prompt": "a", "completion": "b"}' '{"prompt": "a"}' > "$tmp/bad.jsonl"
expect 1 "missing field" -- "$bin" sft --init tiny "${small[@]}" --data "$tmp/bad.jsonl" --run-dir "$tmp/run4"
grep -q "bad.jsonl:2: no field 'completion'" "$tmp/err" && ok "names file, line and field" || fail "message: $(cat "$tmp/err")"
printf '%s\n' '{"prompt": "a", "completion": "b"' > "$tmp/bad2.jsonl"
expect 1 "malformed line" -- "$bin" sft --init tiny "${small[@]}" --data "$tmp/bad2.jsonl" --run-dir "$tmp/run4"
grep -q "bad2.jsonl:1: malformed JSON" "$tmp/err" && ok "names the malformed line" || fail "message: $(cat "$tmp/err")"
expect 1 "missing model directory" -- "$bin" sft --model "$tmp/nope" --run-dir "$tmp/run4"
expect 2 "no model at all" -- "$bin" sft --run-dir "$tmp/run4"
expect 2 "unknown init" -- "$bin" sft --init huge --run-dir "$tmp/run4"
expect 1 "bad size key" -- "$bin" sft --init tiny --set model.init_heads=5 --run-dir "$tmp/run4"
grep -q "model.init_heads" "$tmp/err" && ok "names model.init_heads" || fail "message: $(cat "$tmp/err")"
expect 1 "bad sft key value" -- "$bin" sft --init tiny "${small[@]}" --set sft.schedule=linear --steps 1 --run-dir "$tmp/run4"
grep -q "sft.schedule" "$tmp/err" && ok "names sft.schedule" || fail "message: $(cat "$tmp/err")"
expect 2 "unknown argument" -- "$bin" sft --init tiny --frobnicate

finish
