#!/usr/bin/env bash
# deps.sh — install the Debian packages rlvr builds with, if any is missing.
#   scripts/deps.sh          packages to build, run and test
#   scripts/deps.sh --ci     also clang (fuzzing) and python3 (fixture fetching)
set -euo pipefail
pkgs=(build-essential cmake pkg-config git
      libopenblas-openmp-dev liblua5.4-dev libcjson-dev libpcre2-dev libutf8proc-dev
      libzmq3-dev libmsgpack-dev libseccomp-dev python3 python3-venv lua5.4)
if [ "${1:-}" = "--ci" ]; then
  pkgs+=(clang libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "rlvr: installing Debian packages: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
