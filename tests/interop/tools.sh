#!/usr/bin/env bash
# Runs every end-to-end test of postie-fetch and postie-send:
#   bash tests/interop/tools.sh BUILD_DIR
# Uses the stack of $STACK_ENV (default BUILD_DIR/stack/env), starting it when
# it does not answer. Exit status: 0 when every script passed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: tools.sh BUILD_DIR}
rc=0
for t in tools_fetch tools_send tools_tls tools_git_send_email tools_pipeline tools_crash tools_outbox tools_hostile; do
  echo "== $t"
  if bash "$here/$t.sh" "$build"; then echo "== $t: PASS"; else echo "== $t: FAIL"; rc=1; fi
done
exit $rc
