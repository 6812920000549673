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
#
# Environment:
#   POSTIE_INTEROP_PROGRAMS="a b"  run only these programs (in this order).
#   POSTIE_INTEROP_VALGRIND=1      run every program under valgrind (what
#     tests/interop/valgrind.sh does): the compiled programs directly, and
#     the tools the scripts start (tools_lib.sh's wrappers, POSTIE_TOOL_WRAP);
#     one valgrind log per process in BUILD_DIR/logs/valgrind/, and the run
#     fails when any of them reports an error or a leak (docs/testing.md).
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
  tools_outbox
  tools_hostile
  tools_cut
  netx_tls_interop
  demo
  stack_private_dir
  poll_many
)

if [ -n "${POSTIE_INTEROP_PROGRAMS:-}" ]; then
  read -r -a PROGRAMS <<<"$POSTIE_INTEROP_PROGRAMS"
fi

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
mkdir -p "$1"
BUILD=$(cd "$1" && pwd -P)
STACK=$BUILD/stack
LOGS=$BUILD/logs
TESTSTACK=$ROOT/scripts/teststack.sh
mkdir -p "$LOGS"

# Under valgrind: errors and definite, indirect or possible leaks make the
# process exit 1 and are counted from the logs at the end; "still reachable"
# memory at exit (OpenSSL's and libc's own) is not a leak.
VG=()
VGLOGS=$LOGS/valgrind
if [ -n "${POSTIE_INTEROP_VALGRIND:-}" ]; then
  command -v valgrind >/dev/null || { echo "interop: valgrind is not installed" >&2; exit 1; }
  rm -rf "$VGLOGS"; mkdir -p "$VGLOGS"
  VG=(valgrind --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect,possible
      --errors-for-leak-kinds=definite,indirect,possible --num-callers=30)
fi

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
    if [ ${#VG[@]} -gt 0 ]; then
      POSTIE_TOOL_WRAP="${VG[*]} --log-file=$VGLOGS/$prog.%p.log" \
        timeout 1800 bash "$ROOT/tests/interop/$prog.sh" "$BUILD" > "$log" 2>&1
    else
      timeout 900 bash "$ROOT/tests/interop/$prog.sh" "$BUILD" > "$log" 2>&1
    fi
  elif [ ${#VG[@]} -gt 0 ]; then
    timeout 1800 "${VG[@]}" "--log-file=$VGLOGS/$prog.%p.log" "$BUILD/tests/$prog" > "$log" 2>&1
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

# Every valgrind log: the processes checked to their end, and those with an
# error or a leak. A log without a summary is a forked child that exec'd
# something else (a shell of system(), an MDA: not traced) or a process the
# test killed on purpose (tools_crash.sh).
if [ ${#VG[@]} -gt 0 ]; then
  nlogs=0; nopen=0; bad_logs=()
  for f in "$VGLOGS"/*.log; do
    [ -f "$f" ] || continue
    if ! grep -q 'ERROR SUMMARY:' "$f"; then nopen=$((nopen + 1)); continue; fi
    nlogs=$((nlogs + 1))
    if grep -q 'ERROR SUMMARY: [1-9]' "$f"; then bad_logs+=("$f"); fi
  done
  if [ ${#bad_logs[@]} -eq 0 ] && [ $nlogs -gt 0 ]; then
    total_pass=$((total_pass + 1))
    results+=("PASS valgrind: $nlogs processes checked to their exit, no error, no leak ($nopen exec'd or killed; logs $VGLOGS)")
  else
    total_fail=$((total_fail + 1))
    results+=("FAIL valgrind: ${#bad_logs[@]} of $nlogs processes with errors or leaks")
    for f in "${bad_logs[@]}"; do
      results+=("     $f: $(grep -m1 'ERROR SUMMARY' "$f" | sed 's/^==[0-9]*== //')")
    done
    for f in "${bad_logs[@]:0:3}"; do
      echo "   -- $f"; grep -v '^==[0-9]*== *$' "$f" | sed -n '1,60p' | sed 's/^/   | /'
    done
  fi
fi

echo
printf '%s\n' "${results[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
