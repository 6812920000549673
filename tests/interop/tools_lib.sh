# Sourced by the tools' interop tests (tests/interop/tools_*.sh).
# Usage of a test: tools_X.sh BUILD_DIR. The stack's env file is $STACK_ENV,
# or BUILD_DIR/stack/env; when the stack does not answer it is started there
# (scripts/teststack.sh, ports from STACK_PORT_BASE).
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
FETCH=$BUILD/tools/postie-fetch
SEND=$BUILD/tools/postie-send
[ -x "$FETCH" ] && [ -x "$SEND" ] || { echo "tools not built in $BUILD/tools" >&2; exit 1; }
STACK_ENV=${STACK_ENV:-$BUILD/stack/env}
if ! { [ -f "$STACK_ENV" ] && bash "$ROOT/scripts/teststack.sh" status "$(dirname "$STACK_ENV")" >/dev/null 2>&1; }; then
  bash "$ROOT/scripts/teststack.sh" start "$(dirname "$STACK_ENV")" >/dev/null || { echo "cannot start the test stack" >&2; exit 1; }
fi
# shellcheck disable=SC1090
. "$STACK_ENV"
STACK=$ROOT/scripts/teststack.sh
WORK=$(mktemp -d "$BUILD/tools-test.XXXXXX")
# under tests/interop/valgrind.sh the tools run through wrappers (tool_wrap.sh)
. "$ROOT/tests/interop/tool_wrap.sh"
FETCH=$(wrap_tool "$FETCH" "$WORK/bin"); SEND=$(wrap_tool "$SEND" "$WORK/bin")
# The tools must not see the developer's own configuration or netrc.
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_STATE_HOME=$WORK/home/.state
mkdir -p "$HOME"
unset POSTIE_PASSWORD
failures=0; checks=0
# Output as tests/interop/run.sh expects: "ok - ..." / "not ok - ...", and
# "N passed, N failed" as the last line.
ok()   { checks=$((checks + 1)); echo "ok - $*"; }
bad()  { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok - $*"; }
check() { # description command...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
expect_rc() { # description want command...
  local d=$1 want=$2 got; shift 2
  "$@" >"$WORK/out" 2>"$WORK/err"; got=$?
  if [ "$got" = "$want" ]; then ok "$d (exit $got)"; else bad "$d: exit $got, want $want; stderr: $(head -c 300 "$WORK/err")"; fi
}
# all [ A ] -a [ B ] ...: every bracketed test holds (for check, which runs one command)
all() {
  local args=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -a ]; then "${args[@]}" || return 1; args=(); else args+=("$1"); fi
    shift
  done
  "${args[@]}"
}

nfiles() { find "$1" -maxdepth 1 -type f | wc -l; }
server_count() { find "$MAILDIR1/new" "$MAILDIR1/cur" -maxdepth 1 -type f | wc -l; }
finish() {
  echo "$((checks - failures)) passed, $failures failed"
  [ "$failures" -eq 0 ] && rm -rf "$WORK"
  [ "$failures" -eq 0 ]
}
POP="--host $STACK_HOST --port $POP3_PORT --tls off"
SMTP="--host $STACK_HOST --port $SMTP_PORT --tls off"
