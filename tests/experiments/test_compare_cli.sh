#!/usr/bin/env bash
# test_compare_cli.sh — rlvr compare from the command line on the hand-made
# runs of tests/experiments/fixtures/compare: the default markdown table
# (reward, accuracy, maj@G and pass@G with nulls, held-out accuracy before,
# after and the gain; values worked out by hand below and in
# test_compare.c), --csv, --runs, --html (a well-formed page with one figure
# per metrics.jsonl metric and one curve per run plus one mean per group of
# several runs; a null breaks a curve), and exit statuses.
. "$(dirname "$0")/../lib.sh"
fix=tests/experiments/fixtures/compare

expect 0 "compare a directory of runs" -- "$bin" compare "$fix/runs"
grep -qF "| reward final | reward best | accuracy final | accuracy best | maj_at_g final | maj_at_g best | pass_at_g final | pass_at_g best | held-out before | held-out after | held-out gain (points) |" "$tmp/out" \
  && ok "default columns (consensus_majority_correct, null everywhere, left out)" || fail "header: $(head -1 "$tmp/out")"
# grpo: reward finals 0.3, 0.5, bests 0.5, 0.5; accuracy 0.25, 0.5 both;
# maj@G and pass@G only grpo-s2's 0.5 (grpo-s1 has nulls only: one run, no
# std); held-out before 0.2 (eval.sft) and 0.1 (eval.initial), after 0.3 and
# 0.5, gains 10 and 40 points: 25 ± 30/sqrt(2).
grep -qF "| grpo | 1e-06 | 2 | 3 | 0.4 ± 0.1414 | 0.5 ± 0 | 0.375 ± 0.1768 | 0.375 ± 0.1768 | 0.5 | 0.5 | 0.5 | 0.5 | 0.15 ± 0.07071 | 0.4 ± 0.1414 | 25 ± 21.21 |" "$tmp/out" \
  && ok "grpo row" || fail "table: $(cat "$tmp/out")"
# dapo: maj@G finals 0.75 (dapo-s1) and 0.5 (dapo-s2, whose last line is
# null): 0.625 ± 0.25/sqrt(2); pass@G 1, 1; gains 40, 50.
grep -qF "| dapo | 2e-06 | 2 | 3 | 0.725 ± 0.1061 | 0.8 ± 0.1414 | 0.75 ± 0 | 0.875 ± 0.1768 | 0.625 ± 0.1768 | 0.625 ± 0.1768 | 1 ± 0 | 1 ± 0 | 0.2 ± 0 | 0.65 ± 0.07071 | 45 ± 7.071 |" "$tmp/out" \
  && ok "dapo row" || fail "table: $(cat "$tmp/out")"
expect 0 "--csv --runs" -- "$bin" compare "$fix/runs" --csv --runs
[ "$(wc -l < "$tmp/out")" = 5 ] && grep -q "^dapo-s2,dapo,2e-06,2,3,0.8,0.9,0.75,1,0.5,0.5,1,1,0.2,0.7,50$" "$tmp/out" \
  && grep -q "^grpo-s1,grpo,1e-06,1,3,0.3,0.5,0.25,0.25,,,,,0.2,0.3,10$" "$tmp/out" \
  && ok "one CSV row per run, nulls empty" || fail "csv: $(cat "$tmp/out")"
expect 0 "--metric heldout --csv" -- "$bin" compare "$fix/runs" --metric heldout --csv
head -1 "$tmp/out" | grep -qx "loss.aggregation,optim.lr,runs,steps,heldout_before_mean,heldout_before_std,heldout_after_mean,heldout_after_std,heldout_gain_points_mean,heldout_gain_points_std" \
  && grep -q "^dapo,2e-06,2,3,0.2,0,0.65,0.07071067812,45,7.071067812$" "$tmp/out" \
  && ok "held-out columns in CSV" || fail "csv: $(cat "$tmp/out")"
expect 0 "--html" -- "$bin" compare "$fix/runs" --metric reward --metric loss --metric summary:eval.grpo.accuracy \
  --html "$tmp/cmp.html" --title "a & b"
[ -s "$tmp/cmp.html" ] && ok "wrote the page" || fail "no page"
[ "$(grep -c '<svg' "$tmp/cmp.html")" = 2 ] && ok "two figures (summary values have none)" || fail "figures: $(grep -c '<svg' "$tmp/cmp.html")"
# Per figure: 4 runs and 2 group means.
[ "$(grep -c '<polyline' "$tmp/cmp.html")" = 12 ] && ok "12 curves" || fail "curves: $(grep -c '<polyline' "$tmp/cmp.html")"
grep -q "<title>a &amp; b</title>" "$tmp/cmp.html" && ok "title escaped" || fail "title"
grep -q "<th>eval.grpo.accuracy</th>" "$tmp/cmp.html" && ok "summary column in the page's table" || fail "table head"
# maj@G: dapo-s1 (0.5, null, 0.75) is two dots, dapo-s2 and grpo-s2 one
# polyline each, grpo-s1 (nulls only) nothing; the group means: dapo's at
# every step (one of its runs has a value at each), grpo's grpo-s2's.
expect 0 "--html with maj_at_g" -- "$bin" compare "$fix/runs" --metric maj_at_g --metric heldout --html "$tmp/maj.html"
[ "$(grep -c '<polyline' "$tmp/maj.html")" = 4 ] && [ "$(grep -c '<circle' "$tmp/maj.html")" = 2 ] \
  && ok "a null breaks a run's curve" || fail "maj curves: $(grep -c '<polyline' "$tmp/maj.html") polylines, $(grep -c '<circle' "$tmp/maj.html") dots"
grep -q "<th>held-out gain (points)</th>" "$tmp/maj.html" && grep -q ">45 &#177; 7.1</td>" "$tmp/maj.html" \
  && ok "held-out gain in the page's table" || fail "page table: $(grep '<tr>' "$tmp/maj.html")"
if command -v python3 >/dev/null; then
  python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert len(d.getElementsByTagName('svg')) == 2" \
    "$tmp/cmp.html" && ok "the page parses as XML" || fail "the page is not well-formed"
  python3 -c "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); assert len(d.getElementsByTagName('circle')) == 2" \
    "$tmp/maj.html" && ok "the maj@G page parses as XML" || fail "the maj@G page is not well-formed"
fi
expect 1 "a metric no run has" -- "$bin" compare "$fix/runs" --metric rewrd
grep -q "metric 'rewrd' has no value in any run's metrics.jsonl" "$tmp/err" && ok "... named, with the fields there are" || fail "$(cat "$tmp/err")"
expect 1 "a metric that is null on every line" -- "$bin" compare "$fix/runs" --metric consensus_majority_correct
grep -q "metric 'consensus_majority_correct' has no value" "$tmp/err" && ok "... is no value, not 0" || fail "$(cat "$tmp/err")"
expect 1 "a malformed metrics line" -- "$bin" compare "$fix/bad"
grep -q "bad/metrics.jsonl:2" "$tmp/err" && ok "... named with its line" || fail "$(cat "$tmp/err")"
expect 2 "no directories" -- "$bin" compare
expect 2 "unknown option" -- "$bin" compare "$fix/runs" --bogus

finish
