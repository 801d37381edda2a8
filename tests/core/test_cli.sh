#!/usr/bin/env bash
# test_cli.sh — exit codes and messages of the command line itself.
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
fails=0
expect() { # expect CODE DESCRIPTION -- command...
  local want=$1 what=$2; shift 3
  "$@" >/tmp/rlvr_cli_out.$$ 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what: exit $got, want $want"; cat /tmp/rlvr_cli_out.$$; fails=$((fails+1))
  else
    echo "ok   $what"
  fi
}
expect 2 "no command" -- "$bin"
expect 2 "unknown command" -- "$bin" frobnicate
expect 0 "--help" -- "$bin" --help
expect 0 "config --help" -- "$bin" config --help
expect 0 "config prints defaults" -- "$bin" config
expect 1 "config unknown --set key" -- "$bin" config --set sample.temprature=1
grep -q "did you mean 'sample.temperature'" /tmp/rlvr_cli_out.$$ || { echo "FAIL: nearest key not named"; fails=$((fails+1)); }
expect 2 "config unknown flag" -- "$bin" config --frob
expect 1 "config missing file" -- "$bin" config /nonexistent.lua
# The printed config is itself a valid config that round-trips.
"$bin" config --set run.seed=42 > /tmp/rlvr_cli_cfg.$$.lua
expect 0 "config reads its own output" -- "$bin" config /tmp/rlvr_cli_cfg.$$.lua
grep -q "seed = 42" /tmp/rlvr_cli_out.$$ || { echo "FAIL: round trip lost run.seed"; fails=$((fails+1)); }
# docs/config.md carries the reference; it must match the binary.
"$bin" config --reference > /tmp/rlvr_cli_ref.$$
if ! grep -qF -f /tmp/rlvr_cli_ref.$$ docs/config.md || [ "$(grep -cF -x -f /tmp/rlvr_cli_ref.$$ docs/config.md)" != "$(wc -l < /tmp/rlvr_cli_ref.$$)" ]; then
  echo "FAIL: docs/config.md is out of date; regenerate its table with: rlvr config --reference"; fails=$((fails+1))
fi
rm -f /tmp/rlvr_cli_out.$$ /tmp/rlvr_cli_cfg.$$.lua /tmp/rlvr_cli_ref.$$
echo "$fails failed"
[ "$fails" = 0 ]
