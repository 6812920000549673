#!/usr/bin/env bash
# tests/interop/run.sh BUILD_DIR - runs the interop programs against the real
# Dovecot and Postfix of scripts/teststack.sh, started in BUILD_DIR/stack and
# always stopped at the end.
#
# Each program is BUILD_DIR/tests/<name> (built from tests/interop/<name>.c),
# or a script tests/interop/<name>.sh run as `bash <name>.sh BUILD_DIR` (the
# command-line tools' tests: they use BUILD_DIR/tools/postie-*), reads the stack's settings from the environment (BUILD_DIR/stack/env),
# prints "ok - ..." / "not ok - ..." lines and ends with "N passed, N failed".
# Its full output goes to BUILD_DIR/logs/interop-<name>.log and is echoed.
# Exit status: 0 when every program passed.
set -u

# The interop programs, in the order they run. Adding one is one line here.
PROGRAMS=(
  pop3_interop
  smtp_interop
  tls_interop
  netx_interop
  tools_fetch
  tools_send
  tools_tls
  tools_git_send_email
  tools_pipeline
  tools_crash
  tools_hostile
  netx_tls_interop
  demo
  stack_private_dir
  poll_many
)

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
mkdir -p "$1"
BUILD=$(cd "$1" && pwd -P)
STACK=$BUILD/stack
LOGS=$BUILD/logs
TESTSTACK=$ROOT/scripts/teststack.sh
mkdir -p "$LOGS"

stop_stack() { "$TESTSTACK" stop "$STACK" >/dev/null 2>&1 || true; }
trap stop_stack EXIT
trap 'exit 130' INT TERM

total_pass=0; total_fail=0; results=()

# Build what is missing (a no-op when test-all.sh has just built the tree).
for prog in "${PROGRAMS[@]}"; do
  if [ -f "$ROOT/tests/interop/$prog.sh" ]; then
    for tool in postie-fetch postie-send; do
      [ -x "$BUILD/tools/$tool" ] || cmake --build "$BUILD" --target "$tool" -j2 >/dev/null 2>&1 ||
        { echo "interop: cannot build $tool in $BUILD" >&2; exit 1; }
    done
    # poll_many.sh runs the many-sessions example (examples/poll_many.c)
    if [ "$prog" = poll_many ] && [ ! -x "$BUILD/examples/poll_many" ]; then
      cmake --build "$BUILD" --target poll_many -j2 >/dev/null 2>&1 ||
        { echo "interop: cannot build poll_many in $BUILD" >&2; exit 1; }
    fi
  elif [ ! -x "$BUILD/tests/$prog" ]; then
    cmake --build "$BUILD" --target "$prog" -j2 >/dev/null 2>&1 ||
      { echo "interop: cannot build $prog in $BUILD (configure it with cmake first)" >&2; exit 1; }
  fi
done

if ! "$TESTSTACK" start "$STACK"; then
  echo "interop: the loopback mail stack did not start"
  echo "0 passed, 1 failed"
  exit 1
fi
set -a
# shellcheck disable=SC1091
. "$STACK/env"
set +a

for prog in "${PROGRAMS[@]}"; do
  log=$LOGS/interop-$prog.log
  echo "== $prog"
  start=$SECONDS
  if [ -f "$ROOT/tests/interop/$prog.sh" ]; then
    timeout 900 bash "$ROOT/tests/interop/$prog.sh" "$BUILD" > "$log" 2>&1
  else
    timeout 900 "$BUILD/tests/$prog" > "$log" 2>&1
  fi
  rc=$?
  sed 's/^/   /' "$log"
  summary=$(tail -n 1 "$log")
  if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}
  else
    p=0; f=1   # crashed or timed out before its summary
  fi
  [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
  if [ "$f" -eq 0 ]; then
    results+=("PASS $prog: $p passed ($((SECONDS - start))s)")
  else
    results+=("FAIL $prog: $p passed, $f failed, exit $rc ($((SECONDS - start))s); log $log")
    while IFS= read -r line; do results+=("     $line"); done < <(grep '^not ok' "$log" | head -n 20)
    echo "   -- last lines of the server logs:"
    tail -n 15 "$DOVECOT_LOG" "$POSTFIX_LOG" 2>/dev/null | sed 's/^/   | /'
  fi
done

echo
printf '%s\n' "${results[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
