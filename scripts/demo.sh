#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR - `make demo`: starts the private loopback mail
# servers (scripts/teststack.sh) in BUILD_DIR/demo-stack, puts three sample
# messages into a mailbox, and lists and prints them with the example
# program examples/pop3_fetch.c built on the library. Stops the servers at
# the end, whatever happens. Runs as root (the servers need it).
#
# Uses ports from STACK_PORT_BASE (default 21200 here, so that the demo and
# the interop tests, which default to 21100, can run side by side).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=$(cd "$1" && pwd -P)
STACK=$BUILD/demo-stack
FETCH=$BUILD/examples/pop3_fetch
export STACK_PORT_BASE=${STACK_PORT_BASE:-21200}

[ -x "$FETCH" ] || { echo "demo: $FETCH is missing: build first (make build)" >&2; exit 1; }

trap '"$ROOT/scripts/teststack.sh" stop "$STACK" >/dev/null 2>&1 || true' EXIT

echo "== Starting Dovecot (POP3) and Postfix (SMTP) on loopback"
"$ROOT/scripts/teststack.sh" start "$STACK"
# shellcheck disable=SC1091
. "$STACK/env"

echo "== Putting three sample messages into $USER1's mailbox"
samples=$(mktemp -d "$STACK/samples.XXXXXX")
cat > "$samples/1.eml" <<EOF
From: Postie <postie@$DOMAIN>
To: Alice <$USER1>
Subject: Welcome to Postie
Date: Mon, 2 Nov 2026 09:00:00 +0000
Message-ID: <welcome.demo@$DOMAIN>

Hello Alice,

this message was fetched over POP3 by examples/pop3_fetch.c, a small
program built on the Postie library: no heap, one context struct, and a
status for every call.

Have a nice day!
EOF
cat > "$samples/2.eml" <<EOF
From: Bob <$USER2>
To: Alice <$USER1>
Subject: Lunch on Friday?
Date: Tue, 3 Nov 2026 11:30:00 +0000
Message-ID: <lunch.demo@$DOMAIN>

Hi Alice,

shall we try the new noodle place on Friday at noon?
I will bring the map.

Bob
EOF
cat > "$samples/3.eml" <<EOF
From: Postie <postie@$DOMAIN>
To: Alice <$USER1>
Subject: Dots are safe
Date: Wed, 4 Nov 2026 16:45:00 +0000
Message-ID: <dots.demo@$DOMAIN>

POP3 ends a message with a line holding a single dot, so the server
doubles the dot at the start of lines like the next three:
.a line that starts with a dot
...three dots
.
Postie takes the extra dots away again: you see the lines as written.
EOF
"$ROOT/scripts/teststack.sh" deliver "$STACK" "$USER1" "$samples/1.eml" "$samples/2.eml" "$samples/3.eml" >/dev/null
rm -rf "$samples"

echo "== POP3_PASSWORD=... pop3_fetch $STACK_HOST $POP3_PORT $USER1"
echo
POP3_PASSWORD=$PASS1 "$FETCH" "$STACK_HOST" "$POP3_PORT" "$USER1" | tr -d '\r'
echo
echo "== Done: stopping the servers"
