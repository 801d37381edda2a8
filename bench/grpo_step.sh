#!/usr/bin/env bash
# grpo_step.sh — seconds per GRPO step by phase for the default run: runs the
# GRPO part of `rlvr train` (experiments/default.lua: SFT warm start, then
# STEPS GRPO steps, no held-out evaluations) into a scratch run directory and
# summarises its metrics.jsonl with `rlvr bench step`.
#
#   bench/grpo_step.sh [--steps N] [--bin PATH] [--out DIR] [--set key=value ...]
#
# Defaults: 30 steps, rlvr from $RLVR_BIN or build/rlvr, a temporary run
# directory (removed afterwards unless --out is given). Other --set overrides
# pass through to `rlvr train` (e.g. --set run.threads=2). The table leaves
# out the first step (process start-up). docs/bench.md has the results.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${RLVR_BIN:-$root/build/rlvr}
steps=30
out=""
sets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "grpo_step.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[ -x "$bin" ] || { echo "grpo_step.sh: no rlvr binary at $bin (build first, or --bin)" >&2; exit 1; }

if [ -z "$out" ]; then
  out=$(mktemp -d "${TMPDIR:-/tmp}/rlvr-grpo-step.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" train --run-dir "$out/run" --set train.steps="$steps" --set train.eval=false "${sets[@]}" > "$out/train.log" 2>&1 ||
  { tail -20 "$out/train.log" >&2; echo "grpo_step.sh: rlvr train failed (log above)" >&2; exit 1; }
echo "after the run: load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" bench step "$out/run"
