#!/usr/bin/env bash
# tests/interop/valgrind.sh BUILD_DIR [PROGRAM...] - the interop suites once
# under valgrind (memcheck): tests/interop/run.sh with POSTIE_INTEROP_VALGRIND
# set, so every interop program (pop3_interop, smtp_interop, tls_interop,
# netx_interop, netx_tls_interop), every tool the scripts start (postie-fetch,
# postie-send, postie-fetch-test) and examples/poll_many runs under
#   valgrind --error-exitcode=1 --leak-check=full
# against the real Dovecot and Postfix. One log per process in
# BUILD_DIR/logs/valgrind/; it passes when every test passes and no process
# reported a memory error or a definite, indirect or possible leak.
# PROGRAM...: only those (names as in run.sh). `make valgrind` runs it on a
# Debug build in build/valgrind; not part of `make test` (docs/testing.md).
set -u
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [PROGRAM...]" >&2; exit 2; }
build=$1; shift
# demo.sh runs `make demo`'s script on its own build and stack (nothing of
# ours to check there): left out unless named.
default="pop3_interop smtp_interop tls_interop netx_interop tools_fetch tools_send tools_tls
 tools_git_send_email tools_pipeline tools_crash tools_hostile tools_cut netx_tls_interop stack_private_dir
 poll_many"
programs=${*:-$default}

# First, that the options catch what they must: a program that loses a
# block and reads an uninitialised byte has to fail under them.
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 1; }
self=$(mktemp -d)
trap 'rm -rf "$self"' EXIT
printf '%s\n' '#include <stdlib.h>' \
  'int main(void) { char *p = malloc(16), *q = malloc(16); int r = q[3] == 120 ? 2 : 0;' \
  '  p = NULL; free(q); return r + (p != NULL); }' >"$self/leak.c"
cc -g -O0 -o "$self/leak" "$self/leak.c" || exit 1
if valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
     --log-file="$self/leak.log" "$self/leak"; then
  echo "valgrind.sh: a leaking program passed under valgrind: the check is broken" >&2; exit 1
fi
grep -q 'definitely lost: 16 bytes' "$self/leak.log" &&
  grep -q 'Conditional jump or move depends on uninitialised value' "$self/leak.log" ||
  { echo "valgrind.sh: valgrind did not report the planted leak and read" >&2; exit 1; }
echo "valgrind.sh: the planted leak and uninitialised read are caught (exit 1)"
POSTIE_INTEROP_VALGRIND=1 POSTIE_INTEROP_PROGRAMS="$(echo $programs)" \
  bash "$(dirname "$0")/run.sh" "$build"
