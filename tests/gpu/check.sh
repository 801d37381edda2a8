#!/usr/bin/env bash
# check.sh — the GPU check, in one go: build with CUDA, run the `gpu` tests,
# the model benchmarks, the kernel lab and the op benchmarks (ours and
# PyTorch's side by side), and print a markdown table; written to $OUT/gpu_check.md (and the whole log to
# $OUT/gpu_check.log) when OUT is set. Sized to finish well inside 5 minutes
# on one H100; every step has its own time limit, so the table is printed
# whatever fails.
#
#   tests/gpu/check.sh [BUILD_DIR]        (default: build-gpu-check/, made fresh)
#
# The gpu tests are test_cuda_ops (each kernel against the CPU) and
# test_cuda_model (the whole model: training forward/backward and paged
# decode against the CPU model on the fixture models); test_wsync checks and
# times GPU weight sync (CUDA IPC between two processes, NCCL with one rank);
# test_learn_gpu_step and (whole-project builds only) test_learner_gpu run
# the learner's GRPO step on the GPU against the CPU (learner.device = cuda);
# test_cuda_source (whole-project builds only) runs the rollout engine on the
# GPU source against the CPU source (rollout.device = cuda).
#
# Then the model benchmarks (issue 5), each model as its own step, ours
# then PyTorch's, so that a cut run still has the pairs it reached:
# bench_cuda_model (decode tokens/s at batch 64 and 256 with 512+512 tokens
# and the memory-bandwidth roofline fraction, a training step on 4,096
# tokens with AdamW and MFU, weight sync, memory, what fits in 80 GiB) and
# dev/cuda/torch_model.py (the same phases in PyTorch eager: transformers'
# Qwen2 when installed, else a hand-written one), at Qwen2.5-0.5B, then
# 1.5B. Then compute-sanitizer on test_cuda_model, the kernel lab and the op
# benchmarks (ours and PyTorch's). The table joins ours and PyTorch's rows
# with their ratio.
#
# On a lent GPU machine, through the `run` device tool (it copies the working
# tree and runs the command in the repository root):
#   run  command: bash tests/gpu/check.sh   timeout_s: 420
#
# Build: the whole project with RLVR_CUDA=ON when its Debian packages are
# there; otherwise (a bare GPU image has CUDA, CMake, gcc and PyTorch but not
# Lua, ZeroMQ, ...) the standalone project of tests/gpu/CMakeLists.txt, which
# builds only model/cuda/, the CPU reference files and the lab. Either way the
# target gpu_check builds every gpu test and lab program.
#
# Environment: CUDA_ARCH (default 90: H100/H200), RLVR_CHECK_SMALL=1 (tiny
# benchmark shapes: a smoke run), RLVR_CHECK_NO_TORCH=1 (skip PyTorch),
# RLVR_CHECK_BUDGET (seconds for everything, default 285: each step's limit
# is cut to what is left, and steps with under 5 s left are not run; the
# benchmarks are told their limit, @BUDGET@ in a step's arguments, and fit
# their phases into it).
#
# Expected on one H100 (estimated without a GPU; the budget guards the
# rest): configure 10-20 s (the whole project fails fast on a bare image,
# then standalone), build 30-60 s on 16 cores (measured 69 s on 2 cores
# here; the longest file, attention.cu, 19 s), ctest 20-40 s, test_wsync
# 10-20 s, the four model benchmark steps 25-40 s each (decode capped at 6
# and 10 s, training at 5 s, plus setup, prefills, warm-ups and PyTorch's
# import), memcheck 20-60 s: about 230-290 s in all; the lab and the op
# benchmarks get what is left of the 285 s.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
dir=${1:-$root/build-gpu-check}
arch=${CUDA_ARCH:-90}
small=${RLVR_CHECK_SMALL:-0}
jobs=$(nproc 2>/dev/null || echo 4)
work=$(mktemp -d)
log=$work/gpu_check.log
if [ -n "${OUT:-}" ]; then mkdir -p "$OUT" && log=$OUT/gpu_check.log; fi  # there even if the run is cut
: > "$log"
t_start=$(date +%s)
deadline=$(( t_start + ${RLVR_CHECK_BUDGET:-285} ))
steps=()  # "| step | result | seconds |" rows

say() { echo "$@" | tee -a "$log"; }

# run_step NAME LIMIT_S OUTFILE CMD...: runs CMD with a time limit, output to
# OUTFILE and the log; records the result row.
run_step() {
  local name=$1 limit=$2 outf=$3
  shift 3
  local t0=$(date +%s)
  local left=$(( deadline - t0 ))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    steps+=("| $name | not run (time budget spent) | 0 |")
    say "-- $name: not run (time budget spent)"
    : > "$outf"
    return 124
  fi
  # @BUDGET@ in the arguments: the step's own limit less 5 s for start-up and
  # teardown, for the benchmarks to fit their phases into
  local args=() a
  for a in "$@"; do
    if [ "$a" = "@BUDGET@" ]; then args+=("$(( limit > 10 ? limit - 5 : 5 ))"); else args+=("$a"); fi
  done
  say "== $name (limit ${limit}s): ${args[*]}"
  timeout --kill-after=10 "$limit" "${args[@]}" > "$outf" 2>&1
  local rc=$?
  cat "$outf" >> "$log"
  local dt=$(( $(date +%s) - t0 ))
  local res
  case $rc in
    0) res="ok" ;;
    77) res="skipped (no GPU)" ;;
    124|137) res="TIMED OUT after ${limit}s" ;;
    *) res="FAILED (exit $rc)" ;;
  esac
  steps+=("| $name | $res | $dt |")
  say "-- $name: $res in ${dt}s"
  return $rc
}

dirty=""
[ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ] && dirty="(with uncommitted changes)"
say "rlvr GPU check: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') $dirty"
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)
say "GPU: ${gpu:-none found by nvidia-smi}"
say "nvcc: $(nvcc --version 2>/dev/null | tail -1 || echo none)"

# ---- configure and build ----
rm -rf "$dir"
mode=full
if ! run_step "configure (whole project, RLVR_CUDA=ON)" 60 "$work/configure.txt" \
     cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DRLVR_CUDA=ON -DRLVR_CUDA_SIM=OFF -DCMAKE_CUDA_ARCHITECTURES="$arch"; then
  # not a failure of the check: the project's packages are missing here
  unset 'steps[-1]'
  steps+=("| configure (whole project, RLVR_CUDA=ON) | not possible here (see log): standalone instead | |")
  mode=standalone
  rm -rf "$dir"
  run_step "configure (standalone tests/gpu)" 60 "$work/configure2.txt" \
    cmake -S "$root/tests/gpu" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="$arch"
fi
run_step "build gpu_check ($mode, sm_$arch)" 180 "$work/build.txt" cmake --build "$dir" --target gpu_check -j"$jobs"
built=$?
if [ $mode = full ]; then labdir=$dir/dev/cuda; testdir=$dir/tests/gpu; else labdir=$dir/dev_cuda; testdir=$dir; fi

# ---- tests, lab, benchmarks ----
: > "$work/torch.txt"
if [ $built -eq 0 ]; then
  # (the weight-sync tests run as their own steps below: their own limits and rows)
  run_step "ctest -L gpu" 100 "$work/ctest.txt" ctest --test-dir "$dir" -L gpu -E wsync --output-on-failure --timeout 90
  summary=$(grep -E "tests passed|tests failed" "$work/ctest.txt" | tail -1)
  [ -n "$summary" ] && steps+=("| ctest summary | $summary | |")
  # one row per gpu test (test_cuda_ops: the kernels; test_cuda_model: the
  # whole model, training and decode, against the CPU)
  while IFS= read -r row; do steps+=("$row"); done < <(
    sed -nE 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([A-Za-z0-9_]+) [. ]*(\*\*\*)?([A-Za-z][A-Za-z ()0-9-]*[A-Za-z)]) +([0-9.]+) sec.*/| ctest: \1 | \3 | \4 |/p' "$work/ctest.txt")
  # the tests' own comparison lines (each with its largest difference)
  cat "$dir/Testing/Temporary/LastTest.log" > "$work/ctest_detail.txt" 2>/dev/null
  # GPU weight sync (model/cuda/wsync.h): pack/unpack bit for bit, CUDA IPC
  # between two processes, NCCL with one rank, timings at 0.5B shape; then
  # the NCCL join timeout with a peer that never comes (two NCCL ranks cannot
  # share one GPU, so the broadcast between ranks is not run here)
  run_step "test_wsync" 45 "$work/wsync.txt" "$testdir/test_wsync"
  run_step "test_wsync --nccl-timeout" 20 "$work/wsync_timeout.txt" "$testdir/test_wsync" --nccl-timeout
  sflag=()
  [ "$small" = 1 ] && sflag=(--small)
  # The whole model, ours then PyTorch's, per model (issue 5's benchmarks).
  # torch is checked once here: its import takes seconds.
  have_torch=0
  if [ "${RLVR_CHECK_NO_TORCH:-0}" != 1 ] &&
     timeout 30 python3 -c "import torch; assert torch.cuda.is_available()" > "$work/torch_probe.txt" 2>&1; then
    have_torch=1
  fi
  : > "$work/model_bench.txt"
  : > "$work/torch_model.txt"
  models=(0.5b 1.5b)
  [ "$small" = 1 ] && models=(0.5b)  # --small: one tiny model
  for mdl in "${models[@]}"; do
    lim=45 tlim=50 label=$mdl
    [ "$mdl" = 1.5b ] && lim=50 tlim=55
    [ "$small" = 1 ] && label=tiny
    run_step "bench_cuda_model $label" $lim "$work/model_bench_$mdl.txt" \
      "$testdir/bench_cuda_model" --model "$mdl" --budget @BUDGET@ "${sflag[@]}"
    cat "$work/model_bench_$mdl.txt" >> "$work/model_bench.txt"
    if [ $have_torch = 1 ]; then
      run_step "PyTorch model $label (dev/cuda/torch_model.py)" $tlim "$work/torch_model_$mdl.txt" \
        python3 "$root/dev/cuda/torch_model.py" --model "$mdl" --budget @BUDGET@ "${sflag[@]}"
      cat "$work/torch_model_$mdl.txt" >> "$work/torch_model.txt"
    else
      steps+=("| PyTorch model $label | skipped (no torch with CUDA, or RLVR_CHECK_NO_TORCH=1) | |")
    fi
  done
  # out-of-bounds accesses and API errors in the whole-model path, which a
  # lucky comparison would not show (tiny models). After the benchmarks:
  # the CPU emulation (sim/) already checks every device access of these
  # tests against its allocation in the normal suite.
  sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  if [ -n "$sanitizer" ]; then
    run_step "compute-sanitizer memcheck test_cuda_model" 60 "$work/memcheck.txt" \
      "$sanitizer" --tool memcheck --error-exitcode 99 "$testdir/test_cuda_model"
    grep -E "ERROR SUMMARY" "$work/memcheck.txt" | tail -1 | sed 's/^/    /' >> "$log"
  else
    steps+=("| compute-sanitizer memcheck | not run (no compute-sanitizer) | |")
  fi
  run_step "lab_rmsnorm" 30 "$work/lab_rmsnorm.txt" "$labdir/lab_rmsnorm"
  run_step "lab_logsoftmax" 30 "$work/lab_logsoftmax.txt" "$labdir/lab_logsoftmax"
  run_step "lab_attention" 45 "$work/lab_attention.txt" "$labdir/lab_attention"
  run_step "lab_sample" 30 "$work/lab_sample.txt" "$labdir/lab_sample"
  run_step "lab_ops_bench" 60 "$work/bench.txt" "$labdir/lab_ops_bench" "${sflag[@]}"
  if [ $have_torch = 1 ]; then
    run_step "PyTorch ops (dev/cuda/torch_ops.py)" 60 "$work/torch.txt" python3 "$root/dev/cuda/torch_ops.py" "${sflag[@]}"
  else
    steps+=("| PyTorch ops | skipped (no torch with CUDA, or RLVR_CHECK_NO_TORCH=1) | |")
  fi
fi

# ---- the table ----
md=$work/gpu_check.md
{
  echo "# rlvr GPU check"
  echo
  echo "- commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?') $dirty, $(date -u +%Y-%m-%d)"
  echo "- GPU: ${gpu:-none}; build: $mode, sm_$arch; total $(( $(date +%s) - t_start )) s"
  echo
  echo "| step | result | seconds |"
  echo "|---|---|---|"
  printf '%s\n' "${steps[@]}"
  if [ -s "$work/ctest_detail.txt" ]; then
    echo
    echo "## GPU tests: each comparison with the CPU reference (largest difference)"
    echo
    echo '```'
    grep -E "^(ok  |FAIL|SKIP|device|     |all [0-9]+ checks|[0-9]+ of [0-9]+ checks)" "$work/ctest_detail.txt"
    echo '```'
  fi
  if [ -s "$work/wsync.txt" ] || [ -s "$work/wsync_timeout.txt" ]; then
    echo
    echo "## GPU weight sync (tests/gpu/test_wsync; target: 0.5B in under 100 ms on one machine)"
    echo
    echo '```'
    cat "$work/wsync.txt" "$work/wsync_timeout.txt" 2>/dev/null | grep -E "^(ok  |FAIL|SKIP|timing:|device|all [0-9]+ checks|[0-9]+ of [0-9]+ checks|CUDA error|rlvr:)"
    echo '```'
  fi
  if grep -qE "ERROR SUMMARY|Invalid|========= " "$work/memcheck.txt" 2>/dev/null; then
    echo
    echo "## compute-sanitizer memcheck of test_cuda_model"
    echo
    echo '```'
    grep -E "ERROR SUMMARY|^========= (Invalid|Program hit|  at|    at)" "$work/memcheck.txt" | head -30
    echo '```'
  fi
  if grep -qE "^\| " "$work/model_bench.txt" 2>/dev/null; then
    echo
    echo "## The whole model: rlvr (tests/gpu/bench_cuda_model) and PyTorch (dev/cuda/torch_model.py), bf16, random weights"
    echo
    grep -hE "^(device|model):" "$work/model_bench.txt" | sort -u
    grep -hE "^PyTorch" "$work/torch_model.txt" 2>/dev/null | sort -u
    echo
    echo "rlvr / PyTorch: above 1 is rlvr faster for tokens/s and %, below 1 is rlvr smaller for GiB. Decode tokens/s: generated tokens over the generation's time, prefill excluded, both sides sampling at temperature 1 and bringing the tokens to the host every step. MFU: (6 N + 6 L H D T) FLOPs per token over the dense bf16 peak (989 TFLOP/s on H100 SXM and H200)."
    echo
    echo "| model | phase | shape | rlvr | PyTorch | unit | rlvr / PyTorch | rlvr's note |"
    echo "|---|---|---|---|---|---|---|---|"
    # join on (model, phase, shape); the ratio is ours over PyTorch's
    awk -F'|' -v tf="$work/torch_model.txt" '
      function trim(s) { gsub(/^ +| +$/, "", s); return s }
      BEGIN {
        while ((getline line < tf) > 0) {
          n = split(line, f, "|")
          if (n >= 7 && f[5] ~ /[0-9]/) t[trim(f[2]) "|" trim(f[3]) "|" trim(f[4])] = trim(f[5])
        }
      }
      /^device:/ { fit = 0 }  # each run starts with its device line
      /^fit in 80 GiB/ { fit = 1 }
      !fit && NF >= 8 && $5 ~ /[0-9]/ && trim($2) != "model" {
        k = trim($2) "|" trim($3) "|" trim($4); v = trim($5); p = (k in t) ? t[k] : "";
        r = (p != "" && p + 0 > 0) ? sprintf("%.2f", v / p) : "";
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", trim($2), trim($3), trim($4), v, p, trim($6), r, trim($7)
      }' "$work/model_bench.txt"
    echo
    echo "### Targets (issue 5)"
    echo
    echo "| target | rlvr | PyTorch |"
    echo "|---|---|---|"
    pick() { awk -F'|' -v m="$2" -v ph="$3" -v sh="$4" '
      function trim(s) { gsub(/^ +| +$/, "", s); return s }
      trim($2) == m && trim($3) == ph && index(trim($4), sh) == 1 { print trim($5); exit }' "$1"; }
    echo "| decode Qwen2.5-0.5B, batch 256, 512+512: beat vLLM's published ~17,700 tokens/s (A800) | $(pick "$work/model_bench.txt" Qwen2.5-0.5B "decode generate" "batch 256") tokens/s | $(pick "$work/torch_model.txt" Qwen2.5-0.5B "decode generate" "batch 256") tokens/s |"
    echo "| decode Qwen2.5-0.5B, batch 256: fraction of the HBM roofline (weights + KV cache) | $(pick "$work/model_bench.txt" Qwen2.5-0.5B "decode roofline fraction" "batch 256") % | |"
    for mm in Qwen2.5-0.5B Qwen2.5-1.5B; do
      echo "| training step $mm, 4,096 tokens, AdamW included: MFU >= 40% | $(pick "$work/model_bench.txt" $mm "train step MFU" "8 x 512") % | $(pick "$work/torch_model.txt" $mm "train step MFU" "8 x 512") % |"
    done
    echo "| weight sync Qwen2.5-0.5B within one machine < 100 ms (one-process IPC slot write + read; test_wsync's two-process figure in its section) | $(pick "$work/model_bench.txt" Qwen2.5-0.5B "weight sync (CUDA IPC slot)" "") ms | |"
    echo "| weight sync Qwen2.5-1.5B (the same) | $(pick "$work/model_bench.txt" Qwen2.5-1.5B "weight sync (CUDA IPC slot)" "") ms | |"
    # from the largest model that ran (each run estimates from its own measurements)
    fitf=""
    for f in "$work/model_bench_0.5b.txt" "$work/model_bench_1.5b.txt"; do
      grep -q "^fit in 80 GiB" "$f" 2>/dev/null && fitf=$f
    done
    if [ -n "$fitf" ]; then
      echo
      echo "### What fits in 80 GiB (rlvr; computed from the measured bytes per parameter and per token, not run)"
      echo
      awk '/^fit in 80 GiB/ { fit = 1 } fit' "$fitf"
    fi
    if grep -qE "Traceback|Error" "$work/torch_model.txt" 2>/dev/null; then
      echo
      echo "### PyTorch errors"
      echo
      echo '```'
      grep -hE "Error|error" "$work/torch_model.txt" | head -10
      echo '```'
    fi
  fi
  for lab in lab_rmsnorm lab_logsoftmax lab_attention lab_sample; do
    if [ -s "$work/$lab.txt" ]; then
      echo
      echo "## $lab (checks at every block size, then timings with L2 cleared)"
      echo
      grep -E "^FAIL" "$work/$lab.txt" | head -20
      grep -E "lab checks|^device|no CUDA device" "$work/$lab.txt"
      echo
      grep -E "^\|" "$work/$lab.txt"
    fi
  done
  if grep -qE "^\| .*[0-9]" "$work/bench.txt" 2>/dev/null; then
    echo
    echo "## Ops at model shapes (bf16, 4,096-token micro-batch), ours and PyTorch eager"
    echo
    grep -E "^device" "$work/bench.txt"
    [ -s "$work/torch.txt" ] && grep -E "^PyTorch" "$work/torch.txt"
    echo
    echo "| model | op | shape | rlvr us | rate | of peak | PyTorch us | PyTorch / rlvr |"
    echo "|---|---|---|---|---|---|---|---|"
    # join on (model, op, shape); the speed-up is PyTorch's time over ours
    awk -F'|' -v tf="$work/torch.txt" '
      function trim(s) { gsub(/^ +| +$/, "", s); return s }
      BEGIN {
        while ((getline line < tf) > 0) {
          n = split(line, f, "|")
          if (n >= 6 && f[5] ~ /[0-9]/) t[trim(f[2]) "|" trim(f[3]) "|" trim(f[4])] = trim(f[5])
        }
      }
      NF >= 7 && $5 ~ /[0-9]/ {
        k = trim($2) "|" trim($3) "|" trim($4); us = trim($5); p = (k in t) ? t[k] : "";
        r = (p != "" && us + 0 > 0) ? sprintf("%.2fx", p / us) : "";
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", trim($2), trim($3), trim($4), us, trim($6), trim($7), p, r
      }' "$work/bench.txt"
  fi
  echo
  echo "Status: these kernels were compiled without a GPU; this table is their first evidence (docs/cuda.md)."
} > "$md"

cat "$md"
if [ -n "${OUT:-}" ]; then cp "$md" "$OUT/gpu_check.md"; fi
# exit status: failed if any step failed
if printf '%s\n' "${steps[@]}" | grep -qE "FAILED|TIMED OUT"; then exit 1; fi
exit 0
