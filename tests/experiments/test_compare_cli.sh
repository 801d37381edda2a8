#!/usr/bin/env bash
# test_compare_cli.sh — rlvr compare from the command line on the hand-made
# runs of tests/experiments/fixtures/compare: the markdown table (rows
# worked out by hand in test_compare.c), --csv, --runs, --html (a
# well-formed page with one figure per metrics.jsonl metric and one curve
# per run plus one mean per group of several runs), and exit statuses.
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
fix=tests/experiments/fixtures/compare
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

expect 0 "compare a directory of runs" -- "$bin" compare "$fix/runs"
grep -qF "| grpo | 1e-06 | 2 | 3 | 0.4 ± 0.1414 | 0.5 ± 0 | 0.375 ± 0.1768 | 0.375 ± 0.1768 | 0.2 ± 0 | 0.4 ± 0.1414 |" "$tmp/out" \
  && ok "grpo row" || fail "table: $(cat "$tmp/out")"
expect 0 "--csv --runs" -- "$bin" compare "$fix/runs" --csv --runs
[ "$(wc -l < "$tmp/out")" = 5 ] && grep -q "^dapo-s2,dapo,2e-06,2,3,0.8,0.9,0.75,1,0.2,0.7$" "$tmp/out" \
  && ok "one CSV row per run" || fail "csv: $(cat "$tmp/out")"
expect 0 "--html" -- "$bin" compare "$fix/runs" --metric reward --metric loss --metric summary:eval.grpo.accuracy \
  --html "$tmp/cmp.html" --title "a & b"
[ -s "$tmp/cmp.html" ] && ok "wrote the page" || fail "no page"
[ "$(grep -c '<svg' "$tmp/cmp.html")" = 2 ] && ok "two figures (summary values have none)" || fail "figures: $(grep -c '<svg' "$tmp/cmp.html")"
# Per figure: 4 runs and 2 group means.
[ "$(grep -c '<polyline' "$tmp/cmp.html")" = 12 ] && ok "12 curves" || fail "curves: $(grep -c '<polyline' "$tmp/cmp.html")"
grep -q "<title>a &amp; b</title>" "$tmp/cmp.html" && ok "title escaped" || fail "title"
if command -v python3 >/dev/null; then
  python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert len(d.getElementsByTagName('svg')) == 2" \
    "$tmp/cmp.html" && ok "the page parses as XML" || fail "the page is not well-formed"
fi
expect 1 "a metric no run has" -- "$bin" compare "$fix/runs" --metric rewrd
grep -q "metric 'rewrd' is in no run's metrics.jsonl" "$tmp/err" && ok "... named, with the fields there are" || fail "$(cat "$tmp/err")"
expect 1 "a malformed metrics line" -- "$bin" compare "$fix/bad"
grep -q "bad/metrics.jsonl:2" "$tmp/err" && ok "... named with its line" || fail "$(cat "$tmp/err")"
expect 2 "no directories" -- "$bin" compare
expect 2 "unknown option" -- "$bin" compare "$fix/runs" --bogus

[ "$fails" = 0 ] && echo "all passed" || { echo "$fails failed"; exit 1; }
