#!/usr/bin/env bash
# test_tasks_cli.sh — `rlvr tasks`: exit codes, the learner's order and its
# --start, the held-out split, worked examples (--sft), a user's generator
# found through task.paths (no rebuild), and errors that name the script.
. "$(dirname "$0")/../lib.sh"

expect 0 "tasks --help" -- "$bin" tasks --help
expect 2 "bad --split" -- "$bin" tasks --split validation
expect 2 "bad -n" -- "$bin" tasks -n -3
expect 1 "unknown generator" -- "$bin" tasks --set task.source=nosuchgen
check "message names the generator" -- grep -q "nosuchgen" "$tmp/err"

expect 0 "first five training items" -- "$bin" tasks -n 5
cp "$tmp/out" "$tmp/five"
check "five lines" -- test "$(wc -l < "$tmp/five")" = 5
expect 0 "same again" -- "$bin" tasks -n 5
check "the same items twice" -- cmp -s "$tmp/out" "$tmp/five"
expect 0 "--start 3" -- "$bin" tasks --start 3 -n 2
check "--start 3 continues the order" -- cmp -s "$tmp/out" <(tail -n 2 "$tmp/five")
expect 0 "another seed" -- "$bin" tasks -n 5 --set run.seed=2
check "another seed, other items" -- bash -c "! cmp -s \"$tmp/out\" \"$tmp/five\""

expect 0 "held-out split" -- "$bin" tasks --split heldout -n 100000 --set task.heldout_size=40
check "held-out split has task.heldout_size items" -- test "$(wc -l < "$tmp/out")" = 40
check "held-out ids" -- grep -q '"id":"arith:heldout:0:39"' "$tmp/out"

expect 0 "worked examples" -- "$bin" tasks --sft -n 3 --set task.template=plain --set task.source=linear
check "sft lines hold prompt and completion" -- grep -q '"completion":".*<answer>' "$tmp/out"
expect 1 "worked examples need solutions" -- "$bin" tasks --sft --set task.source=tests/fixtures/tasks/countdown_sample.jsonl
check "message names the item" -- grep -q "countdown_sample.jsonl:" "$tmp/err"

expect 0 "a user's generator by name" -- "$bin" tasks -n 3 --set task.paths=tests/fixtures/tasks/generators \
  --set task.source=tiny --set task.heldout_size=2
check "items come from it" -- grep -q '"id":"tiny:train:1:0"' "$tmp/out"
expect 1 "a generator that does not compile" -- "$bin" tasks \
  --set task.source=tests/fixtures/tasks/generators/syntax_error.lua
check "message names the script" -- grep -q "syntax_error.lua" "$tmp/err"

finish
