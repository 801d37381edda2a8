#!/usr/bin/env bash
# test.sh — install what is missing, build, and run the test suite (no GPU tests).
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   ASan + UBSan build in build-asan/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$@"
dir=$root/build
[ "${1:-}" = "--sanitize" ] && dir=$root/build-asan
cd "$dir"
ctest -LE gpu --output-on-failure -j"$(nproc)"
