#!/usr/bin/env bash
# test_generate_score.sh — rlvr generate and rlvr score end to end on the tiny
# fixture models: exit codes, output shape, bad input, reproducibility, and
# that score's log-probs of a generated completion equal generate's bit for bit
# (the decode path and the full forward do the same arithmetic).
. "$(dirname "$0")/../lib.sh"

for m in tiny-qwen2 tiny-qwen3 tiny-llama; do
  model=tests/fixtures/models/$m
  expect 0 "$m: generate text" -- "$bin" generate --model "$model" --prompt "12+7=" -n 2 --max-tokens 12
  grep -q "^12+7=" "$tmp/out" || fail "$m: completion does not start with the prompt"
  expect 0 "$m: generate json" -- "$bin" generate --model "$model" --prompt "12+7=" -n 3 --max-tokens 12 --seed 5 --json
  cp "$tmp/out" "$tmp/gen1"
  "$bin" generate --model "$model" --prompt "12+7=" -n 3 --max-tokens 12 --seed 5 --json > "$tmp/gen2"
  cmp -s "$tmp/gen1" "$tmp/gen2" && ok "$m: same seed, same completions" || fail "$m: same seed gave different completions"
  # Completion 0 does not depend on how many others run beside it.
  "$bin" generate --model "$model" --prompt "12+7=" -n 1 --max-tokens 12 --seed 5 --json > "$tmp/gen3"
  [ "$(head -1 "$tmp/gen1")" = "$(head -1 "$tmp/gen3")" ] && ok "$m: completion independent of n" || fail "$m: completion 0 changed with n"
  # Score the generated ids: the prompt then the completion, as token ids.
  python3 - "$tmp/gen1" "$model" > "$tmp/check.txt" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 3, "want 3 lines"
for l in lines:
    assert set(l) == {"index", "text", "prompt_token_ids", "token_ids", "logprobs", "finish_reason"}, l.keys()
    assert len(l["token_ids"]) == len(l["logprobs"]) and 1 <= len(l["token_ids"]) <= 12
    assert l["finish_reason"] in ("eos", "length")
    assert all(lp <= 0 for lp in l["logprobs"])
print("shape ok")
PY
  [ $? = 0 ] && ok "$m: json fields" || fail "$m: json fields: $(cat "$tmp/check.txt")"

  # Scoring the generated ids gives generate's log-probs bit for bit (the
  # JSON numbers print floats with 17 digits, so equal text is equal bits).
  expect 0 "$m: score generated ids" -- "$bin" score --model "$model" --input "$tmp/gen1"
  python3 - "$tmp/gen1" "$tmp/out" <<'PY'
import json, sys
gens = [json.loads(l) for l in open(sys.argv[1])]
scores = [json.loads(l) for l in open(sys.argv[2])]
assert len(gens) == len(scores) == 3
n = 0
for g, s in zip(gens, scores):
    start = s["scored_from"]
    assert start == len(g["prompt_token_ids"]), (start, g["prompt_token_ids"])
    assert s["token_ids"][start:] == g["token_ids"]
    got = s["logprobs"][start:]
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(got, g["logprobs"])) if a != b]
    if bad:
        print("FAIL: score and generate log-probs differ:", bad[:5]); sys.exit(1)
    n += len(got)
print("ok   bitwise equal over", n, "tokens")
PY
  [ $? = 0 ] || fail "$m: score vs generate log-probs"
done

model=tests/fixtures/models/tiny-qwen2
expect 2 "generate without prompt" -- "$bin" generate --model "$model"
expect 2 "generate without model" -- "$bin" generate --prompt hi
expect 1 "generate with a missing model dir" -- "$bin" generate --model /nonexistent --prompt hi
grep -q "/nonexistent" "$tmp/err" || fail "error does not name the directory"
expect 1 "generate with bad top_p" -- "$bin" generate --model "$model" --prompt hi --top-p 2
grep -q "sample.top_p" "$tmp/err" || fail "error does not name sample.top_p"
expect 1 "generate past the context" -- "$bin" generate --model "$model" --prompt hi --max-tokens 100000
expect 2 "generate unknown flag" -- "$bin" generate --model "$model" --prompt hi --frob
expect 0 "generate --help" -- "$bin" generate --help
expect 0 "generate with chat template" -- "$bin" generate --model "$model" --prompt hi --template chatml --max-tokens 4
expect 1 "generate with unknown template" -- "$bin" generate --model "$model" --prompt hi --template nosuch --max-tokens 4

printf '{"text":"hello"}\nnot json\n{"txt":1}\n{"prompt":"a","completion":"b"}\n' > "$tmp/in.jsonl"
expect 1 "score with bad lines exits 1" -- "$bin" score --model "$model" --input "$tmp/in.jsonl"
[ "$(wc -l < "$tmp/out")" = 4 ] && ok "score: one line per input" || fail "score: want 4 output lines"
grep -q '"error":"[^"]*in.jsonl:2: not a JSON object' "$tmp/out" || fail "score: line 2 error not named"
grep -q "in.jsonl:3: needs a string field 'text'" "$tmp/out" || fail "score: line 3 error not named"
expect 0 "score --text" -- "$bin" score --model "$model" --text "hello world" --text "x"
expect 0 "score from stdin" -- bash -c "echo '{\"text\":\"abc\"}' | '$bin' score --model '$model' --input -"
expect 2 "score with nothing to score" -- "$bin" score --model "$model"
expect 1 "score missing file" -- "$bin" score --model "$model" --input /nonexistent.jsonl

finish
