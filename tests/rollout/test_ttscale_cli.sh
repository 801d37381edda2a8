#!/usr/bin/env bash
# test_ttscale_cli.sh — `rlvr eval --budget-sweep/--waits` (the s1 test-time
# scaling sweep) and `rlvr eval --html` as commands: usage errors, the
# files of a sweep (sweep.json, sweep.md, sweep.html, one samples file per
# setting), the settings applied (every sample's thinking within its cap,
# same problems and seeds in every setting, other completions where the
# cap differs), the record's numbers against the sample lines, the pass@k
# curve against Python's binomials, and the plain eval's curves page.
. "$(dirname "$0")/../lib.sh"
model=tests/fixtures/models/tiny-qwen2

# plain template: the r1 text alone is longer than the tiny models' 128 positions
common=(--model $model --task arith --size 3 --max-tokens 24 --set task.template=plain)
expect 2 "a sweep without --sweep-dir" -- "$bin" eval "${common[@]}" --waits 0,1
expect 2 "--sweep-dir without a sweep" -- "$bin" eval "${common[@]}" --sweep-dir "$tmp/x"
expect 2 "a sweep with --output" -- "$bin" eval "${common[@]}" --waits 0,1 --sweep-dir "$tmp/x" --output "$tmp/x.jsonl"
expect 1 "an unknown sweep key" -- "$bin" eval "${common[@]}" --budget-sweep think=1,2 --sweep-dir "$tmp/x"
check "the message names the keys" -- grep -q "max_think_tokens, max_waits or min_think_tokens" "$tmp/err"
expect 1 "a bad sweep value" -- "$bin" eval "${common[@]}" --budget-sweep max_think_tokens=4,-1 --sweep-dir "$tmp/x"

expect 0 "sweep: max_think_tokens 3,6,12 x waits 0,1, 3 samples" -- "$bin" eval "${common[@]}" --samples 3 --temperature 1 \
  --budget-sweep max_think_tokens=3,6,12 --waits 0,1 --sweep-dir "$tmp/sw"
cp "$tmp/out" "$tmp/sw.stdout"
python3 - "$tmp/sw" "$tmp/sw.stdout" <<'PY'
import json, math, os, sys
d = sys.argv[1]
rec = json.load(open(os.path.join(d, "sweep.json")))
md = open(os.path.join(d, "sweep.md")).read()
html = open(os.path.join(d, "sweep.html")).read()
assert md == open(sys.argv[2]).read(), "the printed table differs from sweep.md"
assert rec["problems"] == 3 and rec["samples_per_problem"] == 3, rec
assert rec["axes"] == {"max_think_tokens": [3, 6, 12], "max_waits": [0, 1]}, rec["axes"]
st = rec["settings"]
assert len(st) == 6
want = [(c, w) for c in (3, 6, 12) for w in (0, 1)]
seeds = None
texts = {}
for i, (s, (cap, w)) in enumerate(zip(st, want)):
    assert s["label"] == f"max_think_tokens={cap} max_waits={w}", s["label"]
    assert s["max_think_tokens"] == cap and s["max_waits"] == w
    # --waits with budget.min_think_tokens 0: every end of thinking suppressed (min = max_tokens)
    assert s["min_think_tokens"] == 24, s
    sm = s["summary"]
    assert sm["budget"]["max_think_tokens"] == cap and sm["budget"]["max_waits"] == w
    lines = [json.loads(l) for l in open(os.path.join(d, s["samples_file"]))]
    assert len(lines) == 9, len(lines)
    think = []
    for l in lines:
        t = l["think_tokens"] if l["think_tokens"] >= 0 else l["tokens"]
        think.append(t)
        # the cap holds in every sample (a wait's inserted text may finish past it)
        assert t <= cap or (w > 0 and l["waits"] > 0), (cap, l)
        assert l["waits"] <= w
        if l["finish"] == "budget":
            # the answer prefix follows, unless max_tokens ended the completion inside it
            assert l["think_tokens"] >= cap and (" </think> <answer>" in l["completion"] or l["end"] == "length"), l
    assert abs(sm["budget"]["mean_think_tokens"] - sum(think) / 9) < 1e-9
    assert abs(sm["mean_completion_tokens"] - sum(l["tokens"] for l in lines) / 9) < 1e-9
    assert sm["budget"]["waits"] == sum(l["waits"] for l in lines)
    assert abs(sm["budget"]["mean_waits"] - sm["budget"]["waits"] / 9) < 1e-12
    assert sm["accuracy"] == sum(l["correct"] for l in lines) / 9
    # same problems and seeds in every setting
    key = [(l["id"], l["sample"], l["seed"]) for l in lines]
    assert seeds is None or key == seeds, "settings differ in problems or seeds"
    seeds = key
    texts[(cap, w)] = [l["completion"] for l in lines]
    # curves: pass@k from the lines with Python's binomials; maj@k in [0, 1]
    cv = sm["curves"]
    assert cv["k"] == [1, 2, 3] and len(cv["maj@k"]) == 3
    for k in (1, 2, 3):
        want_p = 0
        for pid in sorted(set(l["id"] for l in lines)):
            c = sum(l["correct"] for l in lines if l["id"] == pid)
            want_p += 1 - math.comb(3 - c, k) / math.comb(3, k)
        want_p /= 3
        assert abs(cv["pass@k"][k - 1] - want_p) < 1e-12, (k, cv["pass@k"], want_p)
        assert 0 <= cv["maj@k"][k - 1] <= 1
    assert abs(cv["pass@k"][0] - sm["accuracy"]) < 1e-12
assert texts[(3, 0)] != texts[(12, 0)], "caps 3 and 12 gave the same completions"
rows = [r for r in md.splitlines() if r.startswith("| ") and not r.startswith("| #")]
assert len(rows) == 6, md
assert "pass@3" in md and "maj@3" in md and "mean thinking tokens" in md
assert html.count("<svg") == 3 and "<script" not in html.lower(), "want 3 inline SVG plots and no script"
assert "Accuracy against mean thinking tokens" in html and "max_waits=1" in html
print("sweep record, table, page and samples ok")
PY
check "sweep files, caps, seeds, numbers and curves" -- test $? = 0

expect 0 "plain eval with --html" -- "$bin" eval "${common[@]}" --samples 4 --temperature 1 --summary "$tmp/s.json" --html "$tmp/s.html"
python3 - "$tmp/s.json" "$tmp/s.html" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
html = open(sys.argv[2]).read()
assert s["curves"]["k"] == [1, 2, 3, 4] and len(s["curves"]["pass@k"]) == 4
assert abs(s["curves"]["pass@k"][3] - s["pass@4"]) < 1e-12
assert html.count("<svg") == 2 and "<script" not in html.lower()
print("curves page ok")
PY
check "summary curves and the curves page" -- test $? = 0

finish
