#!/usr/bin/env bash
# test_select_cli.sh — `rlvr select` end to end on pool.jsonl with the tiny
# fixture model and the toy verifier verifiers/coin.lua, whose reference
# "always" scores 1, "never" 0, and anything else 1 for an odd number of
# completion bytes. pool.jsonl: 24 records p00..p23 in three domains
# (algebra, geometry, counting, in turn), answer "always" for p00, p08, p16,
# "never" for p01, p09, p17, a coin otherwise; plus one record of each
# malformed kind (m1 no prompt, m2 blank prompt, m3 no answer, m4 blank
# answer, m5 a boolean answer), d1 (p04's prompt in other case and spacing),
# a blank line, and "long" (a prompt longer than the model's 128 positions):
# 31 records.
# Checked: the output's structure and reasons, the drop counts, round-robin
# order over the clusters, determinism (same seed, other batch sizes; another
# seed changes the samples), pass rates read back with --rates-from, that the
# output reads back as a dataset, a generator pool, and errors that name file,
# line and field.
. "$(dirname "$0")/../lib.sh"
here=tests/select
model=tests/fixtures/models/tiny-qwen2
# plain template: the r1 text alone is longer than the tiny model's 128 positions
common=(--model $model --task $here/pool.jsonl --samples 6 --max-tokens 8 --set task.template=plain
        --set task.verifier=coin --set verify.paths=$here/verifiers --set verify.workers=2)

expect 0 "select --help" -- "$bin" select --help
expect 2 "select without a model" -- "$bin" select --task $here/pool.jsonl --output "$tmp/x.jsonl"
expect 2 "select without an output" -- "$bin" select --model $model --task $here/pool.jsonl
check "the message names --output" -- grep -q -- "--output" "$tmp/err"
expect 2 "select with an unknown argument" -- "$bin" select "${common[@]}" --output "$tmp/x.jsonl" --frobnicate

expect 0 "select 10 of the pool by domain" -- "$bin" select "${common[@]}" --n 10 --cluster-field domain \
  --output "$tmp/a.jsonl" --summary "$tmp/a.json" --dropped "$tmp/a.drop" --pass-rates "$tmp/a.rates"
cp "$tmp/out" "$tmp/a.printed"
python3 - "$tmp/a.jsonl" "$tmp/a.json" "$tmp/a.printed" "$tmp/a.drop" "$tmp/a.rates" <<'PY'
import json, sys
kept = [json.loads(l) for l in open(sys.argv[1])]
s = json.load(open(sys.argv[2]))
assert s == json.loads(open(sys.argv[3]).read()), "the summary file and the printed summary differ"
dropped = [json.loads(l) for l in open(sys.argv[4])]
rates = {r["id"]: r for r in map(json.loads, open(sys.argv[5]))}
d = s["dropped"]
# the counts: every record has exactly one reason
assert s["pool"] == 31 and s["wanted"] == 10 and s["kept"] == len(kept) == 10 and s["short"] == 0, s
assert s["kept"] + sum(d.values()) == s["pool"], d
assert len(dropped) == s["pool"] - s["kept"]
for r in ("missing_prompt", "empty_prompt", "missing_answer", "empty_answer", "bad_record", "duplicate_prompt", "prompt_too_long"):
    assert d[r] == 1, (r, d)
assert d["always_solved"] == 3 and d["never_solved"] >= 3 and d["too_hard"] == d["too_easy"] == 0, d
why = {x["id"]: x for x in dropped}
for i, r in (("m1", "missing_prompt"), ("m2", "empty_prompt"), ("m3", "missing_answer"), ("m4", "empty_answer"),
             ("m5", "bad_record"), ("d1", "duplicate_prompt"), ("long", "prompt_too_long"),
             ("p00", "always_solved"), ("p08", "always_solved"), ("p16", "always_solved"),
             ("p01", "never_solved"), ("p09", "never_solved"), ("p17", "never_solved")):
    assert why[i]["reason"] == r, (i, why[i])
assert "pool.jsonl:4:" in why["m1"]["detail"] and "task.prompt_field" in why["m1"]["detail"], why["m1"]
assert "line 6 (id p04)" in why["d1"]["detail"], why["d1"]
# the verifier decided the pass rates: 24 scored prompts, always 6/6, never 0/6
assert len(rates) == 24 and s["sampling"]["prompts_scored"] == 24, len(rates)
assert all(rates[i]["correct"] == 6 for i in ("p00", "p08", "p16")) and all(rates[i]["correct"] == 0 for i in ("p01", "p09", "p17"))
assert sum(s["solved_histogram"]) == 24 and len(s["solved_histogram"]) == 7
# each kept record: the original fields, and why it was kept
for rank, k in enumerate(kept):
    x = k["select"]
    assert x["rank"] == rank and x["samples"] == 6 and 0 < x["correct"] < 6, x
    assert abs(x["pass_rate"] - x["correct"] / 6) < 1e-12 and x["cluster"] == k["domain"], k
    assert rates[k["id"]]["correct"] == x["correct"] and "within the thresholds" in x["reason"]
    assert set(k) >= {"id", "question", "answer", "domain", "select"}
# round-robin: round r takes one of each cluster with an r-th eligible prompt, clusters by name
eligible = {}
for r in rates.values():
    if 0 < r["correct"] < 6: eligible.setdefault(r["cluster"], []).append(abs(r["pass_rate"] - 0.5))
expect_clusters = []
rnd = 0
while len(expect_clusters) < 10:
    expect_clusters += [c for c in sorted(eligible) if len(eligible[c]) > rnd]
    rnd += 1
assert [k["select"]["cluster"] for k in kept] == expect_clusters[:10], ([k["select"]["cluster"] for k in kept], expect_clusters)
for c in eligible:  # within a cluster: nearest to target 0.5 first
    dist = [abs(k["select"]["pass_rate"] - 0.5) for k in kept if k["select"]["cluster"] == c]
    assert dist == sorted(dist) and dist == sorted(eligible[c])[:len(dist)], (c, dist)
print("structure, reasons, counts and order ok")
PY
check "output, summary, dropped and pass-rate files" -- test $? = 0

"$bin" select "${common[@]}" --n 10 --cluster-field domain --output "$tmp/b.jsonl" --dropped "$tmp/b.drop" >/dev/null 2>&1
check "same config: the same output" -- cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl"
check "same config: the same drops" -- cmp -s "$tmp/a.drop" "$tmp/b.drop"
"$bin" select "${common[@]}" --n 10 --cluster-field domain --output "$tmp/c.jsonl" --set rollout.slots=3 --set eval.batch=1 >/dev/null 2>&1
check "other slots and batch: the same output" -- cmp -s "$tmp/a.jsonl" "$tmp/c.jsonl"
"$bin" select "${common[@]}" --n 10 --cluster-field domain --pass-rates "$tmp/d.rates" --output "$tmp/d.jsonl" --set sample.seed=99 >/dev/null 2>&1
check "another sampling seed: other pass rates" -- bash -c "! cmp -s '$tmp/a.rates' '$tmp/d.rates'"

expect 0 "the output reads back as a dataset" -- "$bin" tasks --set task.source="$tmp/a.jsonl" --set task.verifier=coin -n 10
check "one epoch is the 10 kept records" -- python3 -c "
import json
got = sorted(json.loads(l)['id'] for l in open('$tmp/out'))
want = sorted(json.loads(l)['id'] for l in open('$tmp/a.jsonl'))
assert got == want, (got, want)
"

# Thresholds: keep only the hard ones, unsolved included.
expect 0 "select with keep_unsolved and max_pass" -- "$bin" select "${common[@]}" --n 12 --cluster-field domain \
  --set select.keep_unsolved=true --max-pass 0.4 --output "$tmp/h.jsonl"
python3 - "$tmp/h.jsonl" "$tmp/out" <<'PY'
import json, sys
kept = [json.loads(l) for l in open(sys.argv[1])]
s = json.loads(open(sys.argv[2]).read())
assert all(k["select"]["pass_rate"] <= 0.4 for k in kept), kept
assert s["dropped"]["never_solved"] == 0 and s["dropped"]["too_easy"] > 0, s["dropped"]
assert {"p01", "p09", "p17"} <= {k["id"] for k in kept} or s["dropped"]["surplus"] > 0
PY
check "only pass rates <= 0.4 kept, unsolved among them" -- test $? = 0

# Pass rates from the first run's file instead of sampling: the same selections.
expect 0 "select with --rates-from" -- "$bin" select "${common[@]}" --n 10 --cluster-field domain --rates-from "$tmp/a.rates" --output "$tmp/r.jsonl"
check "the same output as the sampled run" -- cmp -s "$tmp/a.jsonl" "$tmp/r.jsonl"
check "the summary names the file" -- grep -q '"rates_from"' "$tmp/out"
expect 0 "--rates-from with other thresholds" -- "$bin" select "${common[@]}" --n 12 --cluster-field domain \
  --set select.keep_unsolved=true --max-pass 0.4 --rates-from "$tmp/a.rates" --output "$tmp/r2.jsonl"
check "the same output as sampling with those thresholds" -- cmp -s "$tmp/h.jsonl" "$tmp/r2.jsonl"
head -5 "$tmp/a.rates" > "$tmp/few.rates"
expect 1 "--rates-from a file without every prompt" -- "$bin" select "${common[@]}" --n 10 --rates-from "$tmp/few.rates" --output "$tmp/e.jsonl"
check "the message names the missing id" -- grep -q "no pass rate for id" "$tmp/err"

# Text-feature clusters (no cluster field).
expect 0 "select by the text feature" -- "$bin" select "${common[@]}" --n 6 --output "$tmp/t.jsonl"
python3 -c "
import json, sys
s = json.loads(open('$tmp/out').read())
assert s['cluster_by'] == 'text' and set(s['clusters']) <= {'text/short', 'text/medium', 'text/long', 'expression/short', 'expression/medium', 'expression/long'}, s['clusters']
" 2>&1
check "clusters are answer kind / length tertile" -- test $? = 0

# A generator's split as the pool.
expect 0 "select from a generator" -- "$bin" select --model $model --task arith --pool 12 --n 4 --samples 2 --max-tokens 4 \
  --set task.template=plain --set select.keep_unsolved=true --output "$tmp/g.jsonl"
check "4 generator items with their index" -- python3 -c "
import json
k = [json.loads(l) for l in open('$tmp/g.jsonl')]
assert len(k) == 4 and all('index' in x['select'] and x['id'].startswith('arith:train:') for x in k), k
"
expect 1 "a generator's training split without select.pool" -- "$bin" select --model $model --task arith --n 4 --output "$tmp/g.jsonl"
check "the message names select.pool" -- grep -q "select.pool" "$tmp/err"

# Bad inputs: errors that name the file, line and field; nothing written.
sed '2s/.*/{"id": "broken", "question": /' $here/pool.jsonl > "$tmp/badjson.jsonl"
expect 1 "a line that is not JSON" -- "$bin" select "${common[@]}" --task "$tmp/badjson.jsonl" --n 2 --output "$tmp/e.jsonl"
check "the message names file and line" -- grep -q "badjson.jsonl:2: malformed JSON" "$tmp/err"
check "no output written" -- test ! -e "$tmp/e.jsonl"
expect 1 "a kept record without the cluster field" -- "$bin" select "${common[@]}" --n 2 --cluster-field topic --output "$tmp/e.jsonl"
check "the message names line and field" -- grep -q "pool.jsonl:1: no field 'topic' (select.cluster_field)" "$tmp/err"
expect 1 "select.strict and a record without a prompt" -- "$bin" select "${common[@]}" --n 2 --set select.strict=true --output "$tmp/e.jsonl"
check "the message names line and field" -- grep -q "pool.jsonl:4: no field 'question,problem,prompt' (task.prompt_field)" "$tmp/err"
expect 1 "N larger than the pool" -- "$bin" select "${common[@]}" --n 40 --output "$tmp/e.jsonl"
check "the message names N and the pool size" -- grep -q "select.n = 40 is larger than the pool: $here/pool.jsonl has 31 records" "$tmp/err"
expect 1 "a missing file" -- "$bin" select "${common[@]}" --task "$tmp/nosuch.jsonl" --n 2 --output "$tmp/e.jsonl"
check "the message names the file" -- grep -q "nosuch.jsonl" "$tmp/err"
expect 1 "max_pass below min_pass" -- "$bin" select "${common[@]}" --n 2 --min-pass 0.8 --max-pass 0.2 --output "$tmp/e.jsonl"
check "the message names select.max_pass" -- grep -q "select.max_pass" "$tmp/err"
check "no output written by any failed run" -- test ! -e "$tmp/e.jsonl"

finish
