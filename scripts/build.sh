#!/usr/bin/env bash
# build.sh — configure and build rlvr.
#   scripts/build.sh [--sanitize|--fuzz] [BUILD_DIR]
# Default build dir: build/ (build-asan/ with --sanitize, build-fuzz/ with --fuzz).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=normal
case "${1:-}" in
  --sanitize) mode=asan; shift ;;
  --fuzz) mode=fuzz; shift ;;
esac
case $mode in
  normal) dir=${1:-$root/build}; flags=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=${1:-$root/build-asan}; flags=(-DCMAKE_BUILD_TYPE=Debug -DRLVR_SANITIZE=ON -DRLVR_CUDA=OFF) ;;
  fuzz) dir=${1:-$root/build-fuzz}; flags=(-DCMAKE_BUILD_TYPE=Debug -DRLVR_FUZZ=ON -DRLVR_CUDA=OFF -DRLVR_CUDA_SIM=OFF -DCMAKE_C_COMPILER=clang) ;;
esac
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$dir" "${flags[@]}" >/dev/null
fi
cmake --build "$dir" -j"$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^gmake|Consolidate compiler' || true
# grep swallows cmake's status; check it produced the binary.
cmake --build "$dir" -j"$(nproc)" >/dev/null
