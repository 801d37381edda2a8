#!/usr/bin/env bash
# test_verify_cli.sh — `rlvr verify`: exit codes, one output line per input
# line in order, input errors named by line, --output, --inline agreeing with
# the worker pool, the summary on stderr.
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
tmp=$(mktemp -d /tmp/rlvr_verify_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }
paths=(--set verify.paths=tests/verifiers/scripts --set verify.instructions=200000 --set verify.workers=2)

"$bin" verify --help >/dev/null && ok "--help" || fail "--help"
"$bin" verify --frob >/dev/null 2>&1; [ $? = 2 ] && ok "unknown flag: exit 2" || fail "unknown flag"
"$bin" verify --verifier no_such_verifier "${paths[@]}" </dev/null >/dev/null 2>"$tmp/err"; rc=$?
[ $rc = 1 ] && grep -q "no verifier 'no_such_verifier'" "$tmp/err" && ok "unknown verifier: exit 1, named" || { fail "unknown verifier (exit $rc)"; cat "$tmp/err"; }
"$bin" verify --list "${paths[@]}" | grep -qx exact && ok "--list" || fail "--list lacks exact"

cat > "$tmp/in.jsonl" <<'IN'
{"completion": "42", "reference": "42"}
{"completion": "41", "reference": "42"}

{"completion": "", "reference": "42"}
not json
{"completion": "7", "reference": {"answer": "7"}, "meta": {"a": 1}}
{"completion": "pcall", "verifier": "loop"}
{"reference": "42"}
{"completion": "x", "verifier": "runtime_error"}
IN
"$bin" verify --verifier exact "${paths[@]}" < "$tmp/in.jsonl" > "$tmp/out" 2> "$tmp/err"; rc=$?
[ $rc = 1 ] && ok "input errors: exit 1" || fail "input errors: exit $rc, want 1"
[ "$(wc -l < "$tmp/out")" = 8 ] && ok "8 output lines for 8 non-blank input lines" || fail "$(wc -l < "$tmp/out") output lines"
want=(ok ok wrong-format input-error ok timeout input-error verifier-error)
scores=(1 0 0 0 1 0 0 0)
for i in "${!want[@]}"; do
  line=$(sed -n "$((i+1))p" "$tmp/out")
  case "$line" in
    "{\"score\":${scores[$i]},\"status\":\"${want[$i]}\","*) ;;
    *) fail "line $((i+1)): want score ${scores[$i]} status ${want[$i]}: $line" ;;
  esac
done
ok "statuses and scores in input order"
sed -n 4p "$tmp/out" | grep -q '"error":"line 5: not valid JSON"' && ok "bad JSON names its input line" || fail "line 5 not named: $(sed -n 4p "$tmp/out")"
sed -n 7p "$tmp/out" | grep -q "line 8: field 'completion' is missing" && ok "missing completion named" || fail "missing completion: $(sed -n 7p "$tmp/out")"
grep -q "ok 3, wrong-format 1, timeout 1, sandbox-error 0, verifier-error 1, input-error 2" "$tmp/err" && ok "summary counts" || { fail "summary"; cat "$tmp/err"; }
grep -q "mean score 0.5000 over 4 scored items" "$tmp/err" && ok "summary mean" || fail "summary mean"

# The same through a file, into a file; and in-process.
"$bin" verify --verifier exact "${paths[@]}" --input "$tmp/in.jsonl" --output "$tmp/out2" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out2" && ok "--input/--output give the same lines" || fail "--output differs"
"$bin" verify --verifier exact "${paths[@]}" --inline < "$tmp/in.jsonl" > "$tmp/out3" 2>/dev/null
cmp -s "$tmp/out" "$tmp/out3" && ok "--inline gives the same lines as the pool" || { fail "--inline differs"; diff "$tmp/out" "$tmp/out3"; }

# Clean input: exit 0; many lines keep their order across workers.
for i in $(seq 1 3000); do echo "{\"completion\": \"$i\", \"reference\": \"$((i % 7 ? i : i + 1))\"}"; done > "$tmp/many.jsonl"
"$bin" verify --verifier exact "${paths[@]}" < "$tmp/many.jsonl" > "$tmp/many.out" 2>/dev/null; rc=$?
[ $rc = 0 ] && ok "clean input: exit 0" || fail "clean input: exit $rc"
bad=0
i=0
while IFS= read -r line; do
  i=$((i+1))
  if [ $((i % 7)) = 0 ]; then s=0; else s=1; fi
  case "$line" in "{\"score\":$s,\"status\":\"ok\",\"version\":\"1.0\",\"details\":{\"got\":\"$i\","*) ;; *) bad=$((bad+1));; esac
done < "$tmp/many.out"
[ $i = 3000 ] && [ $bad = 0 ] && ok "3000 lines in order" || fail "$bad of $i lines out of order or wrong"
"$bin" verify --verifier exact "${paths[@]}" --input /nonexistent.jsonl >/dev/null 2>&1; [ $? = 1 ] && ok "missing input file: exit 1" || fail "missing input file"

echo "$fails failed"
[ "$fails" = 0 ]
