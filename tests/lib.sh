# lib.sh — what the shell tests of the rlvr binary share; source it first:
#   . "$(dirname "$0")/../lib.sh"
# It sets bin (the binary, from $RLVR_BIN), tmp (a scratch folder removed on
# exit; a script that needs more cleanup sets its own EXIT trap and removes
# "$tmp" there) and fails (the count of failed checks), and defines:
#   ok WHAT / fail WHAT             print a result line (fail counts it)
#   expect CODE WHAT -- command...  run it with stdout in $tmp/out and stderr
#                                   in $tmp/err; pass when it exits with CODE
#                                   (on failure both are printed)
#   check WHAT -- command...        pass when the command succeeds
#   finish                          the last line: exit 1 when any failed
set -u
bin=${RLVR_BIN:?RLVR_BIN names the rlvr binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
expect() { # expect CODE WHAT -- command...
  local want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ]; then fail "$what: exit $got, want $want"; cat "$tmp/out" "$tmp/err"; else ok "$what"; fi
}
check() { # check WHAT -- test command...
  local what=$1; shift 2
  if "$@"; then ok "$what"; else fail "$what"; fi
}
finish() {
  if [ "$fails" -ne 0 ]; then echo "$fails failed"; exit 1; fi
  echo "all passed"
}
