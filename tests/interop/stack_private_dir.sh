#!/usr/bin/env bash
# tests/interop/stack_private_dir.sh BUILD_DIR - the loopback stack works from
# a clone where the daemons' users cannot go: a folder of mode 0700 (as a home
# folder, /root included, is on Debian), made under /usr/local/src when that
# exists (teststack.sh once refused DIR there). The stack is started in
# PARENT/clone/build/stack, a message goes through Postfix into a Maildir and
# back out of Dovecot with the tools, and stop leaves no runtime folder
# behind and the logs in DIR/log. Also: a DIR that is a system folder is
# refused with the reason. Run by tests/interop/run.sh.
#
# Its stack uses STACK_PORT_BASE + 300 (21400 by default), clear of the
# interop stack (base) and of the demo's (base + 200).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd -P)
FETCH=$BUILD/tools/postie-fetch
SEND=$BUILD/tools/postie-send
TESTSTACK=$ROOT/scripts/teststack.sh
base=${STACK_PORT_BASE:-21100}
if [ "$base" -le 65100 ]; then base=$((base + 300)); else base=$((base - 300)); fi
export STACK_PORT_BASE=$base

failures=0; checks=0
ok()  { checks=$((checks + 1)); echo "ok - $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok - $*"; }
check() { # description command...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}

where=$BUILD
[ -d /usr/local/src ] && [ -w /usr/local/src ] && where=/usr/local/src
PARENT=$(mktemp -d "$where/postie-private.XXXXXX") || { echo "not ok - mktemp in $where"; echo "0 passed, 1 failed"; exit 1; }
DIR=$PARENT/clone/build/stack
cleanup() {
  bash "$TESTSTACK" stop "$DIR" >/dev/null 2>&1 || true
  rm -rf "$PARENT"
}
trap cleanup EXIT
chmod 0700 "$PARENT"
mkdir -p "$DIR" "$PARENT/home"
# under tests/interop/valgrind.sh the tools run through wrappers (tool_wrap.sh)
. "$ROOT/tests/interop/tool_wrap.sh"
FETCH=$(wrap_tool "$FETCH" "$PARENT/bin"); SEND=$(wrap_tool "$SEND" "$PARENT/bin")
echo "# DIR=$DIR (parent $PARENT, mode $(stat -c %a "$PARENT"))"
check "the parent folder is mode 0700 (no way in for the daemons' users)" [ "$(stat -c %a "$PARENT")" = 700 ]
postfix_kept_out() { ! setpriv --reuid=postfix --regid=postfix --clear-groups test -x "$PARENT/clone"; }
check "user postfix cannot enter it" postfix_kept_out

# 1. start there
if out=$(bash "$TESTSTACK" start "$DIR" 2>&1); then ok "teststack.sh start in a 0700 folder: $out"
else bad "teststack.sh start in a 0700 folder: $out"; echo "$((checks - failures)) passed, $failures failed"; exit 1; fi
# shellcheck disable=SC1091
. "$DIR/env"
RUNTIME=$STACK_RUNTIME
outside() { [ -d "$RUNTIME/mail" ] && [[ $RUNTIME != "$PARENT"/* ]]; }
check "the servers' files are outside DIR, in $RUNTIME" outside
check "DIR/runtime records the runtime folder" [ "$(cat "$DIR/runtime")" = "$RUNTIME" ]
ca_in_dir() { [ -f "$TLS_CA" ] && [[ $TLS_CA == "$DIR"/* ]]; }
check "the clients' CA file is in DIR" ca_in_dir
check "no private key in DIR" [ -z "$(find "$DIR" -name '*.key')" ]
stack_up() { bash "$TESTSTACK" status "$DIR" >/dev/null 2>&1; }
check "teststack.sh status: both servers answer" stack_up

# 2. a message through both servers with the tools (STARTTLS, login), as the demo does
export HOME=$PARENT/home XDG_CONFIG_HOME=$PARENT/home/.config XDG_STATE_HOME=$PARENT/home/.state
printf 'Hello from a private folder.\n' > "$PARENT/note.txt"
if out=$(POSTIE_PASSWORD=$PASS2 "$SEND" --tls starttls --cafile "$TLS_CA" --host "$TLS_SERVER_NAME" \
           --port "$SMTP_PORT" --user "$USER2" --from "$USER2" --to "$USER1" --subject "private dir" \
           --body-file "$PARENT/note.txt" 2>&1); then ok "postie-send through Postfix"
else bad "postie-send through Postfix: $out"; fi
arrived() {
  local i
  for i in $(seq 1 100); do
    [ -n "$(find "$MAILDIR1/new" "$MAILDIR1/cur" -type f 2>/dev/null)" ] && return 0
    sleep 0.1
  done
  return 1
}
check "Postfix delivered it into the Maildir (user mail, in the runtime folder)" arrived
if out=$(POSTIE_PASSWORD=$PASS1 "$FETCH" --tls starttls --cafile "$TLS_CA" --host "$TLS_SERVER_NAME" \
           --port "$POP3_PORT" --user "$USER1" --maildir "$PARENT/inbox" 2>&1); then ok "postie-fetch from Dovecot"
else bad "postie-fetch from Dovecot: $out"; fi
check "the fetched message is the one sent" grep -rqs "Hello from a private folder." "$PARENT/inbox/new"

# 3. stop: nothing left running or behind, logs kept
if out=$(bash "$TESTSTACK" stop "$DIR" 2>&1); then ok "teststack.sh stop: $out"; else bad "teststack.sh stop: $out"; fi
check "the runtime folder is removed" [ ! -e "$RUNTIME" ]
check "DIR/runtime is removed" [ ! -e "$DIR/runtime" ]
logs_kept() { [ -s "$DIR/log/postfix.log" ] && [ -s "$DIR/log/dovecot.log" ]; }
check "the servers' logs are kept in DIR/log" logs_kept
stack_down() { ! bash "$TESTSTACK" status "$DIR" >/dev/null 2>&1; }
check "status says the stack is down" stack_down

# 4. system folders are refused, with the reason, and nothing is made there
for d in /usr /etc/postie-stack-test /var; do
  out=$(bash "$TESTSTACK" start "$d" 2>&1); rc=$?
  if [ $rc -ne 0 ] && [[ $out == *"refusing DIR=$d: "*"folder"* ]]; then ok "DIR=$d refused: $out"
  else bad "DIR=$d: exit $rc: $out"; fi
done
check "nothing was made in /etc" [ ! -e /etc/postie-stack-test ]

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
