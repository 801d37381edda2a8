#!/usr/bin/env bash
# test_bench_model.sh — smoke test of `rlvr bench model` on the tiny shape:
# exit codes, the fields of the table and of --json (and that they agree with
# each other and with the batch asked for), the shapes' parameter counts
# against the published ones, --write-config read back by --model, and --model
# on a fixture checkpoint against the tensor sizes in its safetensors header.
# Nothing here is timed.
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
expect() { # expect CODE WHAT -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ]; then fail "$what: exit $got, want $want"; cat "$tmp/out" "$tmp/err"; else ok "$what"; fi
}
small=(--batch 2 --seq 16 --decode-batch 3 --prompt 5 --gen 4 --iters 2 --threads 2)

expect 0 "help" -- "$bin" bench model --help
grep -q -- "--shape" "$tmp/out" || fail "help does not mention --shape"
expect 0 "bench lists model" -- "$bin" bench --help
grep -q "^  model" "$tmp/out" || fail "rlvr bench --help does not list model"

# Text table: one line per phase with tok/s, then peak RSS and threads.
expect 0 "tiny, table" -- "$bin" bench model --shape tiny "${small[@]}"
for field in "^fwdbwd .*B=2 T=16 .* tok/s .*of 2 " "^fwd .*B=2 T=16 .* tok/s" "^prefill .*B=3 P=5 .* tok/s" \
             "^decode .*B=3 N=4 .* tok/s" "^peak RSS [0-9.]* MB, threads 2$" "tiny (llama, 0.1M params"; do
  grep -q -- "$field" "$tmp/out" && ok "table has /$field/" || { fail "table lacks /$field/"; cat "$tmp/out"; }
done

# JSON: keys, token counts, and figures that agree with their own times.
expect 0 "tiny, json" -- "$bin" bench model --shape tiny "${small[@]}" --json
python3 - "$tmp/out" <<'PY' && ok "json fields consistent" || fail "json fields"
import json, statistics, sys
d = json.load(open(sys.argv[1]))
assert d["impl"] == "rlvr" and d["shape"] == "tiny" and d["arch"] == "llama", d
assert d["params"] == 131392 and d["threads"] == 2 and d["iters"] == 2, d
assert d["peak_rss_mb"] > 0
want = {"fwdbwd": 2 * 16, "fwd": 2 * 16, "prefill": 3 * 5, "decode": 3 * 4}
for k, tokens in want.items():
    p = d[k]
    assert p["tokens"] == tokens, (k, p)
    assert len(p["times_s"]) == p["iters"] == 2, (k, p)
    assert all(t > 0 for t in p["times_s"]), (k, p)
    med = statistics.median(p["times_s"])
    assert abs(p["median_s"] - med) <= 1e-6 + 1e-4 * med, (k, p)
    assert p["min_s"] <= p["median_s"] <= p["max_s"], (k, p)
    assert abs(p["tok_per_s"] - tokens / p["median_s"]) <= 1e-3 * p["tok_per_s"], (k, p)
    assert p["cpu_s_per_ktok"] >= 0, (k, p)
PY

# --phases runs only what it names.
expect 0 "phases decode" -- "$bin" bench model --shape tiny "${small[@]}" --phases decode --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "decode" in d and "prefill" in d and "fwdbwd" not in d and "fwd" not in d' \
  "$tmp/out" && ok "phases decode: only prefill and decode" || fail "phases decode ran other phases"

# Parameter counts of the public shapes, as the model cards publish them
# (sum of numel in transformers, tied embeddings counted once).
expect 0 "list" -- "$bin" bench model --list
for pair in smollm2-135m:134515008 smollm2-360m:361821120 qwen2.5-0.5b:494032768 qwen2.5-1.5b:1543714304 \
            qwen3-0.6b:596049920 llama3.2-1b:1235814400; do
  name=${pair%%:*} want=${pair##*:}
  got=$(awk -v n="$name" '$1 == n {print $11}' "$tmp/out")
  [ "$got" = "$want" ] && ok "$name: $want params" || fail "$name: $got params, want $want"
done

# --write-config then --model reads the same shape back.
expect 0 "write-config" -- "$bin" bench model --shape qwen3-0.6b --write-config "$tmp/q3"
grep -q '"model_type": "qwen3"' "$tmp/q3/config.json" && grep -q '"head_dim": 128' "$tmp/q3/config.json" \
  && ok "config.json written" || fail "config.json content"
expect 0 "tiny written and read back" -- "$bin" bench model --shape tiny --write-config "$tmp/tiny"
expect 0 "--model on written config" -- "$bin" bench model --model "$tmp/tiny" "${small[@]}" --phases fwd --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["params"] == 131392, d["params"]' "$tmp/out" \
  && ok "read-back params" || fail "read-back params differ"

# --model on a fixture checkpoint: its parameter count equals the sum of the
# tensor sizes in the safetensors header (lm_head absent when tied).
model=tests/fixtures/models/tiny-qwen2
expect 0 "--model fixture" -- "$bin" bench model --model "$model" "${small[@]}" --json
python3 - "$tmp/out" "$model/model.safetensors" <<'PY' && ok "fixture params = safetensors numel" || fail "fixture params"
import json, math, struct, sys
d = json.load(open(sys.argv[1]))
with open(sys.argv[2], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
numel = sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
assert d["params"] == numel and d["arch"] == "qwen2", (d["params"], numel, d["arch"])
PY

# Usage errors.
expect 2 "unknown shape" -- "$bin" bench model --shape nope
expect 2 "unknown phase" -- "$bin" bench model --phases fwd,back
expect 2 "bad batch" -- "$bin" bench model --batch 0
expect 2 "shape and model" -- "$bin" bench model --shape tiny --model "$model"
expect 2 "seq beyond max_position" -- "$bin" bench model --shape tiny --seq 5000 --iters 1
expect 1 "missing model dir" -- "$bin" bench model --model "$tmp/none"

[ "$fails" = 0 ] && echo "all ok" || { echo "$fails failed"; exit 1; }
