#!/usr/bin/env bash
# postie-fetch against the test Dovecot: Maildir, mbox, MDA, --new-only,
# --delete, --max-size, configuration file, trace redaction, and the errors
# (wrong password, unreachable host, bad configuration, full disk).
. "$(dirname "$0")/tools_lib.sh"

"$STACK" reset "$STACK_DIR" "$USER1"
mkdir -p "$WORK/msgs"
mk() { # n extra-body
  printf 'From: sender@postie.test\r\nTo: %s\r\nSubject: fetch test %s\r\nX-Seq: %s\r\n\r\nbody of %s\r\n.leading dot\r\nFrom the start of a line\r\n>From quoted\r\n%s\r\n' \
    "$USER1" "$1" "$1" "$1" "$2" > "$WORK/msgs/$1"
}
for i in 1 2 3 4 5; do mk $i "line $i"; done
mk 6 "$(head -c 30000 /dev/zero | tr '\0' 'x')"   # a 30 kB line: big for --max-size
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK"/msgs/{1,2,3,4,5,6} >/dev/null

export POSTIE_PASSWORD=$PASS1
# 1. Maildir, new only: every message byte for byte (CRLF stored as LF)
expect_rc "fetch into a new Maildir" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --new-only
check "six messages in new/" [ "$(nfiles "$WORK/md/new")" = 6 ]
check "nothing left in tmp/" [ "$(nfiles "$WORK/md/tmp")" = 0 ]
same=0
for i in 1 2 3 4 5 6; do
  sed 's/\r$//' "$WORK/msgs/$i" > "$WORK/want"
  for f in "$WORK"/md/new/*; do cmp -s "$f" "$WORK/want" && { same=$((same + 1)); break; }; done
done
check "each message delivered intact (dot and From lines untouched)" [ "$same" = 6 ]
check "state file records six delivered UIDLs" [ "$(grep -c '^D ' "$XDG_STATE_HOME/postie/uidl/$USER1@$STACK_HOST:$POP3_PORT")" = 6 ]

# 2. again: nothing new; then two more arrive
expect_rc "second run with --new-only" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --new-only
check "no duplicate on the second run" [ "$(nfiles "$WORK/md/new")" = 6 ]
mk 7 seven; mk 8 eight
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK/msgs/7" "$WORK/msgs/8" >/dev/null
expect_rc "third run after two new messages" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --new-only -v
check "exactly the two new ones fetched" [ "$(nfiles "$WORK/md/new")" = 8 ]
check "-v said what it did" grep -q "2 messages .* delivered" "$WORK/err"
# a MUA moving mail to cur/ does not matter
mv "$WORK/md/new/"* "$WORK/md/cur/" 2>/dev/null
expect_rc "run after the MUA read everything" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --new-only
check "still no duplicate" [ "$(nfiles "$WORK/md/new")" = 0 ]

# 3. the defaults, as mpop's users expect: with neither --new-only nor a
# destination, three runs deliver each message once into ~/Maildir (the
# state kept in its default place); --all then fetches everything again.
# (Before issue 15 the default was --all: 8, then 16, then 24 files.)
export XDG_STATE_HOME=$WORK/home/.state-defaults
rm -rf "$HOME/Maildir"
for r in 1 2 3; do
  expect_rc "default run $r (no --new-only, no destination)" 0 "$FETCH" $POP --user "$USER1"
  check "  ... ~/Maildir holds each of the 8 messages once after run $r" [ "$(nfiles "$HOME/Maildir/new")" = 8 ]
done
check "  ... the state was kept in the default place (8 delivered UIDLs)" \
  [ "$(grep -c '^D ' "$XDG_STATE_HOME/postie/uidl/$USER1@$STACK_HOST:$POP3_PORT")" = 8 ]
seqs=$(for f in "$HOME"/Maildir/new/*; do sed -n 's/^X-Seq: //p' "$f"; done | sort -n | tr '\n' ' ')
check "  ... one file for each message (X-Seq $seqs)" [ "$seqs" = "1 2 3 4 5 6 7 8 " ]
expect_rc "--all fetches every message again" 0 "$FETCH" $POP --user "$USER1" --all
check "--all: 16 files in ~/Maildir (each message once more)" [ "$(nfiles "$HOME/Maildir/new")" = 16 ]
expect_rc "--all into another Maildir" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md-all" --state "$WORK/st-all" --all
check "--all: 8 messages" [ "$(nfiles "$WORK/md-all/new")" = 8 ]
export XDG_STATE_HOME=$WORK/home/.state

# 4. --max-size skips the big one; MDA gets each message with POSTIE_UIDL
expect_rc "--mda with --max-size 10k" 0 "$FETCH" $POP --user "$USER1" --state "$WORK/st-mda" \
  --max-size 10k --mda "{ echo \"== \$POSTIE_UIDL\"; cat; } >> '$WORK/mda.out'"
check "MDA got 7 messages (the 30 kB one skipped)" [ "$(grep -c '^== ' "$WORK/mda.out")" = 7 ]
check "MDA did not get the big one" bash -c "! grep -q 'X-Seq: 6' '$WORK/mda.out'"

# 5. trace: dialogue shown, password never
expect_rc "--trace run" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md-tr" --state "$WORK/st-tr" --trace --max-size 1
check "trace shows the dialogue" grep -q '^C: UIDL' "$WORK/err"
check "trace shows the login redacted" grep -Eq '^C: (APOP|PASS|AUTH) .*<redacted>' "$WORK/err"
check "trace never shows the password" bash -c "! grep -qF -- '$PASS1' '$WORK/err'"
check "the strongest login the server offers: SASL SCRAM-SHA-256" grep -q '^C: AUTH SCRAM-SHA-256' "$WORK/err"

# 5b. the progress bar: drawn on a terminal (a pty from script(1)), never
# when standard error is a file, and -q silences it on a terminal too
script -qefc "stty cols 120; $FETCH $POP --user $USER1 --maildir $WORK/md-pb --state $WORK/st-pb" /dev/null \
  >"$WORK/pty" 2>&1 </dev/null
check "progress bar on a terminal: bar, messages, bytes, rate, time left" \
  grep -Eq '\[#{20}\] 8/8 msgs .* [0-9.]+ ?[KMG]?i?B/s .*left' "$WORK/pty"
expect_rc "the same fetch with standard error a file" 0 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md-pb2" --state "$WORK/st-pb2"
check "  ... draws no progress bar" bash -c "! grep -q 'msgs' '$WORK/err'"
script -qefc "stty cols 120; $FETCH $POP --user $USER1 --maildir $WORK/md-pb3 --state $WORK/st-pb3 -q" /dev/null \
  >"$WORK/pty" 2>&1 </dev/null
check "-q on a terminal: no progress bar" bash -c "! grep -q 'msgs' '$WORK/pty'"

# 6. --delete into an mbox: server emptied, mboxrd quoting
expect_rc "--delete into an mbox" 0 "$FETCH" $POP --user "$USER1" --mbox "$WORK/mbox" --delete --state "$WORK/st-mbox"
check "server mailbox is empty" [ "$(server_count)" = 0 ]
check "8 messages in the mbox" [ "$(grep -c '^From MAILER-DAEMON ' "$WORK/mbox")" = 8 ]
check "mboxrd quoting of From lines" [ "$(grep -c '^>From the start of a line' "$WORK/mbox")" = 8 ]
check "mboxrd quoting of >From lines" [ "$(grep -c '^>>From quoted' "$WORK/mbox")" = 8 ]
check "state emptied after the server deleted them" [ "$(grep -c '^[DP] ' "$WORK/st-mbox")" = 0 ]

# 7. configuration file with passwordeval and an account
unset POSTIE_PASSWORD
mkdir -p "$XDG_CONFIG_HOME/postie"
cat > "$XDG_CONFIG_HOME/postie/config" <<CFG
defaults
tls off
account test
host $STACK_HOST
port $POP3_PORT
user $USER1
passwordeval "printf '%s\n' '$PASS1'"
maildir $WORK/md-cfg
new_only yes
account broken
host $STACK_HOST
port $POP3_PORT
user $USER1
password_env NOT_SET_ANYWHERE
maildir $WORK/md-cfg
CFG
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK/msgs/1" >/dev/null
expect_rc "account from the configuration file" 0 "$FETCH" --account test
check "configured Maildir got the message" [ "$(nfiles "$WORK/md-cfg/new")" = 1 ]
expect_rc "flags override the file (--maildir)" 0 "$FETCH" --account test --maildir "$WORK/md-cfg2" --all
check "overridden Maildir got it" [ "$(nfiles "$WORK/md-cfg2/new")" = 1 ]
expect_rc "missing password variable is a configuration error" 78 "$FETCH" --account broken
check "  ... with one clear line" [ "$(wc -l < "$WORK/err")" = 1 ]
expect_rc "unknown account" 78 "$FETCH" --account nosuch
echo "host" > "$WORK/bad.cfg"
expect_rc "malformed configuration" 78 "$FETCH" --config "$WORK/bad.cfg"
check "  ... names file and line" grep -q "bad.cfg:1:" "$WORK/err"
expect_rc "missing configuration file named with --config" 78 "$FETCH" --config "$WORK/none.cfg"
rm "$XDG_CONFIG_HOME/postie/config"

# 8. errors: one line each, distinct codes, nothing lost
export POSTIE_PASSWORD=wrong-password
expect_rc "wrong password" 77 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md-x" --state "$WORK/st-x" --delete
check "  ... one line on stderr" [ "$(wc -l < "$WORK/err")" = 1 ]
check "  ... message still on the server" [ "$(server_count)" = 1 ]
export POSTIE_PASSWORD=$PASS1
expect_rc "unreachable port" 75 "$FETCH" --host 127.0.0.1 --port 1 --tls off --user "$USER1" --maildir "$WORK/md-x" --state "$WORK/st-x"
expect_rc "unknown host" 68 "$FETCH" --host no-such-host.invalid --tls off --user "$USER1" --maildir "$WORK/md-x" --state "$WORK/st-x"
expect_rc "bad --tls value" 64 "$FETCH" $POP --tls maybe --user "$USER1" --maildir "$WORK/md-x"
expect_rc "no destination and no HOME (so no ~/Maildir)" 64 env -u HOME "$FETCH" $POP --user "$USER1" --state "$WORK/st-x"
check "  ... says why" grep -q "HOME is not set" "$WORK/err"
expect_rc "no --tls: STLS required, unknown CA refused before login" 76 "$FETCH" --host localhost --port "$POP3_PORT" --user "$USER1" --maildir "$WORK/md-x" --state "$WORK/st-x"
expect_rc "--tls implicit against a plain-text server" 76 "$FETCH" --host 127.0.0.1 --port "$POP3_PORT" --tls implicit --timeout 5 --user "$USER1" --maildir "$WORK/md-x" --state "$WORK/st-x"
check "  ... names TLS" grep -qi "tls" "$WORK/err"

# 9. full disk: a 64 kB file system; the big message cannot be written
if mkdir -p "$WORK/full" && mount -t tmpfs -o size=64k tmpfs "$WORK/full" 2>/dev/null; then
  "$STACK" deliver "$STACK_DIR" "$USER1" "$WORK/msgs/6" "$WORK/msgs/6" "$WORK/msgs/6" >/dev/null
  before=$(server_count)
  expect_rc "full disk" 74 "$FETCH" $POP --user "$USER1" --maildir "$WORK/full/md" --state "$WORK/st-full" --delete
  check "  ... one line naming the problem" grep -q "No space left on device" "$WORK/err"
  after=$(server_count)
  delivered=$(nfiles "$WORK/full/md/new")
  check "  ... every message either delivered or still on the server ($delivered + $after of $before)" [ $((delivered + after)) = "$before" ]
  check "  ... no partial file left in tmp/" [ "$(nfiles "$WORK/full/md/tmp")" = 0 ]
  umount "$WORK/full"
else
  echo "skip - full disk test (cannot mount a tmpfs here)"
fi
"$STACK" reset "$STACK_DIR" "$USER1"
finish
