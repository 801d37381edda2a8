#!/usr/bin/env bash
# compare_model.sh — `rlvr bench model` and PyTorch eager (bench/torch_model.py)
# side by side on the same model shape, batch, thread count and timing method,
# and the ratio rlvr / torch for each phase (fwd+bwd, fwd, prefill, decode).
#
#   bench/compare_model.sh [--shape NAME] [--bin PATH] [--python PATH] [--repeat R]
#                          [--batch B] [--seq T] [--decode-batch B] [--prompt P]
#                          [--gen N] [--threads N] [--iters K] [--phases LIST]
#                          [--attn sdpa|eager] [--omp-wait active|passive] [--out DIR]
#
# Defaults: shape llama-20m, B=4 T=256 (1024 tokens), decode batch 8, P=64,
# N=32, threads = all cores, 3 iterations, 2 repeats; rlvr from $RLVR_BIN or
# build/rlvr; Python /work/venv-ref/bin/python (torch + transformers; see
# bench/torch_model.py). The two sides alternate, rlvr then torch, R times,
# so that both see the same machine within a short time; the table gives the
# median over the repeats of each side's per-run median and the ratio of those
# medians, the same for each side's fastest iteration ("best", the one least
# disturbed by other load), and CPU seconds per 1000 tokens (all threads;
# less sensitive to other load on a shared machine). --omp-wait sets
# OMP_WAIT_POLICY for both sides (both use libgomp): on a machine with more
# runnable threads than cores, libgomp's default spinning at barriers wastes
# CPU and multiplies the wall time of multi-threaded runs (docs/bench.md);
# passive makes waiting threads sleep. Every run's
# figures are printed too, so the spread is visible. --out keeps the JSON.
# No network access is needed: the config comes from `rlvr bench model
# --write-config`. docs/bench.md has the results.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shape=llama-20m
bin=${RLVR_BIN:-$root/build/rlvr}
python=/work/venv-ref/bin/python
repeat=2
batch=4 seq=256 dbatch=8 prompt=64 gen=32 iters=3 phases=fwdbwd,fwd,decode attn=sdpa
ncpu=$(getconf _NPROCESSORS_ONLN)
threads=$ncpu
out=

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in -h|--help) usage; exit 0 ;; esac
  [ $# -ge 2 ] || { echo "compare_model.sh: $1 needs a value" >&2; exit 2; }
  case "$1" in
    --shape) shape=$2 ;;
    --bin) bin=$2 ;;
    --python) python=$2 ;;
    --repeat) repeat=$2 ;;
    --batch) batch=$2 ;;
    --seq) seq=$2 ;;
    --decode-batch) dbatch=$2 ;;
    --prompt) prompt=$2 ;;
    --gen) gen=$2 ;;
    --threads) threads=$2 ;;
    --iters) iters=$2 ;;
    --phases) phases=$2 ;;
    --attn) attn=$2 ;;
    --out) out=$2 ;;
    --omp-wait) export OMP_WAIT_POLICY=$2 ;;
    *) echo "compare_model.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift 2
done

[ -x "$bin" ] || { echo "compare_model.sh: no rlvr binary at $bin (build first, or --bin / RLVR_BIN)" >&2; exit 1; }
[ -x "$python" ] || { echo "compare_model.sh: no Python at $python (--python)" >&2; exit 1; }

if [ -n "$out" ]; then mkdir -p "$out"; dir=$out; else dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT; fi
"$bin" bench model --shape "$shape" --write-config "$dir/config" > /dev/null

common=(--batch "$batch" --seq "$seq" --decode-batch "$dbatch" --prompt "$prompt" --gen "$gen"
        --threads "$threads" --iters "$iters" --phases "$phases")
export OMP_NUM_THREADS=$threads HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

lscpu_field() { lscpu | sed -n "s/^$1:[[:space:]]*//p" | head -1; }
{
  echo "machine: $(lscpu_field 'Model name') (family $(lscpu_field 'CPU family') model $(lscpu_field 'Model'))," \
       "$(lscpu_field 'Core(s) per socket') cores x $(lscpu_field 'Socket(s)') socket(s), $ncpu CPUs online," \
       "$(free -g | awk '/^Mem:/ {print $2}') GiB; $(uname -sr)"
  echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "rlvr:    $bin; source tree now at $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')" \
       "($(git -C "$root" status --porcelain -- model 2>/dev/null | wc -l) uncommitted paths in model/)"
  echo "torch:   $("$python" -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)')"
  echo "shape:   $shape; fwd+bwd B=$batch T=$seq; decode B=$dbatch P=$prompt N=$gen; threads $threads;" \
       "$iters iterations (median) x $repeat repeats; torch attn $attn;" \
       "OMP_WAIT_POLICY ${OMP_WAIT_POLICY:-unset}"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$dir/header.txt"

for r in $(seq 1 "$repeat"); do
  "$bin" bench model --shape "$shape" "${common[@]}" --json > "$dir/rlvr.$r.json"
  "$python" "$root/bench/torch_model.py" --config "$dir/config" "${common[@]}" --attn "$attn" --json \
    > "$dir/torch.$r.json"
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"

"$python" - "$dir" "$repeat" <<'EOF'
import json, statistics, sys
d, R = sys.argv[1], int(sys.argv[2])
runs = {impl: [json.load(open(f"{d}/{impl}.{r}.json")) for r in range(1, R + 1)] for impl in ("rlvr", "torch")}
names = [("fwdbwd", "fwd+bwd"), ("fwd", "fwd"), ("prefill", "prefill"), ("decode", "decode")]
r0, t0 = runs["rlvr"][0], runs["torch"][0]
print(f"params: rlvr {r0['params'] / 1e6:.1f}M, torch {t0['params'] / 1e6:.1f}M; "
      f"peak RSS MB: rlvr {max(x['peak_rss_mb'] for x in runs['rlvr']):.0f}, "
      f"torch {max(x['peak_rss_mb'] for x in runs['torch']):.0f}")
print()
print("per run, tok/s (rlvr / torch):")
for key, label in names:
    if key not in r0:
        continue
    cells = [f"{a[key]['tok_per_s']:.1f} / {b[key]['tok_per_s']:.1f}" for a, b in zip(runs["rlvr"], runs["torch"])]
    print(f"  {label:<8} " + "   ".join(cells))
print()
print(f"{'phase':<8} {'rlvr tok/s':>11} {'torch tok/s':>12} {'ratio':>6}   {'best rlvr':>10} {'best torch':>10} {'ratio':>6}"
      f"   {'rlvr cpu-s/1k':>13} {'torch cpu-s/1k':>14} {'ratio':>6}")
for key, label in names:
    if key not in r0:
        continue
    med = {i: statistics.median(x[key]["tok_per_s"] for x in runs[i]) for i in runs}
    best = {i: max(x[key]["tokens"] / x[key]["min_s"] for x in runs[i]) for i in runs}
    cpu = {i: statistics.median(x[key]["cpu_s_per_ktok"] for x in runs[i]) for i in runs}
    print(f"{label:<8} {med['rlvr']:11.1f} {med['torch']:12.1f} {med['rlvr'] / med['torch']:6.2f}"
          f"   {best['rlvr']:10.1f} {best['torch']:10.1f} {best['rlvr'] / best['torch']:6.2f}"
          f"   {cpu['rlvr']:13.3f} {cpu['torch']:14.3f} {cpu['torch'] / cpu['rlvr']:6.2f}")
print("tok/s: median over repeats of each run's median iteration; best: the fastest iteration of all runs;")
print("cpu-s/1k: CPU seconds (all threads) per 1000 tokens, median over repeats. ratio > 1: rlvr faster.")
EOF
