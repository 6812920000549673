#!/usr/bin/env bash
# tests/interop/demo.sh BUILD_DIR - keeps `make demo` from rotting: runs
# scripts/demo.sh against BUILD_DIR as `make demo` does (its own stack in
# BUILD_DIR/demo-stack) and checks its verdict and what it printed; also
# that it fails loudly without the tools. Run by tests/interop/run.sh.
#
# The demo's stack uses STACK_PORT_BASE + 200 (21300 by default), clear of
# the interop stack (base) and of a `make demo` running beside (21200).
# The demo's full output: BUILD_DIR/logs/demo-run.log.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd -P)
base=${STACK_PORT_BASE:-21100}
if [ "$base" -le 65200 ]; then base=$((base + 200)); else base=$((base - 200)); fi
mkdir -p "$BUILD/logs"
OUT=$BUILD/logs/demo-run.log
WORK=$(mktemp -d "$BUILD/demo-test.XXXXXX")

failures=0; checks=0
ok()  { checks=$((checks + 1)); echo "ok - $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok - $*"; }
check() { # description command...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}

# 1. the demo itself, with an empty HOME: nothing may be written there.
mkdir -p "$WORK/home"
rm -rf "$BUILD/demo"   # no result of an earlier run may pass for this one
start=$SECONDS
(cd "$ROOT" && HOME=$WORK/home STACK_PORT_BASE=$base timeout 300 bash scripts/demo.sh "$BUILD") > "$OUT" 2>&1
rc=$?
took=$((SECONDS - start))
last=$(tail -n 1 "$OUT")
check "scripts/demo.sh exits 0 (${took}s; output in $OUT)" [ "$rc" -eq 0 ]
passed_verdict() { [[ $last == "DEMO PASSED: "* ]]; }
check "its last line is the verdict DEMO PASSED" passed_verdict
check "it ran postie-send in compose mode over STARTTLS with a login and an attachment" \
  grep -qE '^\$ POSTIE_PASSWORD=\*+ [^ ]*/postie-send --tls starttls --cafile [^ ]+ --host [^ ]+ --port [0-9]+ --user [^ ]+ --from .* --attach ' "$OUT"
check "it ran postie-fetch over STLS into a Maildir" \
  grep -qE '^\$ POSTIE_PASSWORD=\*+ [^ ]*/postie-fetch --tls starttls --cafile [^ ]+ .*--maildir ' "$OUT"
sent=$(sed -n 's/^ *sent: *\([0-9a-f]\{64\}\) .*/\1/p' "$OUT")
got=$(sed -n 's/^ *received: *\([0-9a-f]\{64\}\) .*/\1/p' "$OUT")
sums_equal() { [ -n "$sent" ] && [ "$sent" = "$got" ]; }
check "the attachment's sha256, sent and received, printed and equal" sums_equal
check "the decoded attachment on disk is the file that was sent" \
  cmp -s "$BUILD/demo/mandelbrot.png" "$BUILD/demo/received/mandelbrot.png"
shows_message() { grep -q "^   Subject: " "$OUT" && grep -q "with ESMTPSA" "$OUT" && grep -q "^     | Hello Alice," "$OUT"; }
check "the headers and the text of the message are shown" shows_message
# The passwords are the stack's (its env file stays after the stop).
# shellcheck disable=SC1091
pw=$( [ -f "$BUILD/demo-stack/env" ] && . "$BUILD/demo-stack/env" && printf '%s\n%s\n' "$PASS1" "$PASS2" )
no_password() { [ -n "$pw" ] && ! grep -qF -e "$pw" "$OUT"; }
check "no password in the output" no_password
stack_stopped() { ! STACK_PORT_BASE=$base bash "$ROOT/scripts/teststack.sh" status "$BUILD/demo-stack" >/dev/null 2>&1; }
check "the demo's servers are stopped afterwards" stack_stopped
check "nothing was written into HOME" [ -z "$(ls -A "$WORK/home")" ]
check "the demo took less than a minute" [ "$took" -lt 60 ]

# 2. a demo that cannot run says so in its last line and exits non-zero.
mkdir -p "$WORK/empty-build"
(cd "$ROOT" && STACK_PORT_BASE=$base bash scripts/demo.sh "$WORK/empty-build") > "$WORK/empty.out" 2>&1
rc=$?
failed_verdict() { [ "$rc" -ne 0 ] && tail -n 1 "$WORK/empty.out" | grep -q "^DEMO FAILED: "; }
check "without the tools: exit non-zero and a DEMO FAILED verdict" failed_verdict

if [ "$failures" -ne 0 ]; then
  echo "# the demo's output:"
  sed 's/^/# /' "$OUT"
fi
[ "$failures" -eq 0 ] && rm -rf "$WORK"
echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
