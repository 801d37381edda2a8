#!/usr/bin/env bash
# test_bench_step.sh — `rlvr bench step` summarises metrics.jsonl timing by
# phase: on hand-written steps whose medians, means and shares are worked out
# below by hand, with --skip, --json, and errors that name the file and line.
set -u
bin=${RLVR_BIN:-build/rlvr}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
expect() { # expect DESCRIPTION FIXED-STRING OUTPUT
  if printf '%s' "$3" | grep -qF -- "$2"; then echo "ok: $1"; else echo "FAIL: $1: no '$2' in:"; printf '%s\n' "$3"; fails=$((fails + 1)); fi
}
line() { # line STEP STEP_S WAIT LEARN SYNC GEN VERIFY ELAPSED
  printf '{"step":%s,"samples":4,"completion_tokens":40,"timing":{"step_s":%s,"wait_s":%s,"learn_s":%s,"sync_s":%s,"worker_generate_s":%s,"worker_verify_s":%s,"elapsed_s":%s}}\n' "$@"
}
mkdir -p "$dir/a" "$dir/b"
{ line 1 9 9 0 0 9 9 9; line 2 0.8 0.5 0.25 0.05 2 0.4 10; line 3 1.6 1.0 0.5 0.1 4 0.8 12; } > "$dir/a/metrics.jsonl"
line 2 3.0 1.5 1.0 0.15 6 1.2 100 > "$dir/b/metrics.jsonl"

# Kept steps (step 1 of a left out). Wall time: a's steps 2 and 3 grew
# elapsed_s by 1 and 2; b's step 2 has no previous line, so its step_s, 3:
# 1, 2, 3 -> median 2, mean 2;
# wait 0.5, 1, 1.5 -> mean 1 = 50% of the step; learn 0.25, 0.5, 1 -> median
# 0.5, mean 0.583; p90 interpolates: step 2 + 0.8 = 2.8; sync mean 0.1 = 5%; other = wall - wait - learn - sync =
# 0.2, 0.4, 0.35 -> median 0.35; generate mean 4 s over 4 samples = 1000 ms.
out=$("$bin" bench step "$dir/a" "$dir/b" 2>&1); rc=$?
expect "exit 0" "rc=0" "rc=$rc"
expect "counts" "3 steps from 2 run(s), first 1 of each left out; 4 samples and 40 completion tokens per step" "$out"
expect "step row" "| step (wall) | 2.000 | 2.000 | 2.800 | 100.0% |" "$out"
expect "wait row" "| wait (generate + verify) | 1.000 | 1.000 | 1.400 | 50.0% |" "$out"
expect "learn row" "| learn | 0.500 | 0.583 | 0.900 | 29.2% |" "$out"
expect "sync row" "| sync | 0.100 | 0.100 | 0.140 | 5.0% |" "$out"
expect "other row" "| other (metrics, samples, checkpoints) | 0.350 | 0.317 | 0.390 | 15.8% |" "$out"
expect "generate row" "| worker generate (sum over samples) | 4.000 | 4.000 | 5.600 | 1000.00 ms per sample |" "$out"
expect "tokens/s" "completion tokens per second of step time (mean): 20" "$out"

out=$("$bin" bench step --skip 0 --json "$dir/a" 2>&1)
expect "json, skip 0" '"steps":3' "$out"
expect "json mean (step 1: no previous line, step_s 9)" '"wall_s":{"mean":4,"median":2' "$out"

printf 'not json\n' >> "$dir/b/metrics.jsonl"
out=$("$bin" bench step "$dir/b" 2>&1); rc=$?
expect "bad line names file and line" "$dir/b/metrics.jsonl:2: not a JSON object" "$out"
expect "bad line exits 1" "rc=1" "rc=$rc"
printf '{"step":2,"samples":4,"completion_tokens":40,"timing":{"step_s":1}}\n' > "$dir/b/metrics.jsonl"
out=$("$bin" bench step "$dir/b" 2>&1)
expect "missing field named" "metrics.jsonl:1: 'elapsed_s' is missing" "$out"
out=$("$bin" bench step "$dir/none" 2>&1); rc=$?
expect "missing file exits 1" "rc=1" "rc=$rc"
expect "missing file named" "$dir/none/metrics.jsonl" "$out"
line 1 1 1 0 0 1 1 1 > "$dir/b/metrics.jsonl"
out=$("$bin" bench step "$dir/b" 2>&1)
expect "nothing after skip" "no steps after the first 1" "$out"
out=$("$bin" bench step --skip x "$dir/a" 2>&1); rc=$?
expect "bad --skip exits 2" "rc=2" "rc=$rc"
[ $fails = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
