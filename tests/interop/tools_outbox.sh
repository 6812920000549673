#!/usr/bin/env bash
# postie-send's durable outbox (issue 15 part 3): --queue, --flush,
# --list-queue against the test Postfix (one connection for the queue,
# 5xx moved aside, two flushes at once, SIGKILL at each kill point of
# postie-send-test and at random moments) and against the scripted server
# (4xx with back-off, the maximum age, 5xx after the dot, a connection cut
# between the dot and the reply). Usage: tools_outbox.sh BUILD_DIR.
. "$(dirname "$0")/tools_lib.sh"
SEND_SHIPPED=$BUILD/tools/postie-send
SEND_TEST=$BUILD/tools/postie-send-test
[ -x "$SEND_TEST" ] || cmake --build "$BUILD" --target postie-send-test -j2 >/dev/null 2>&1 ||
  { echo "cannot build $SEND_TEST" >&2; exit 1; }
check "the shipped postie-send has no kill points" \
  bash -c "! grep -q POSTIE_SEND_TEST_KILL '$SEND_SHIPPED'"
check "the test build has them" grep -q POSTIE_SEND_TEST_KILL "$SEND_TEST"
SEND_TEST=$(wrap_tool "$SEND_TEST" "$WORK/bin")
SERVER=$ROOT/tests/scripted/scripted_server.py

export POSTIE_PASSWORD=$PASS2
ACC="$SMTP --user $USER2"
mk() { # seq [recipient]
  printf 'From: %s\r\nTo: %s\r\nSubject: outbox %s\r\nX-Seq: %s\r\n\r\nbody of %s\r\n' \
    "$USER2" "${2:-$USER1}" "$1" "$1" "$1"
}
box_count() { find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | wc -l; }
wait_for() { # maildir count: Postfix delivers asynchronously
  local i
  for i in $(seq 1 150); do [ "$(box_count "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}
# the X-Seq of every message in the Maildir, sorted, one line
seqs() { for f in "$1"/new/* "$1"/cur/*; do [ -f "$f" ] && sed -n 's/^X-Seq: //p' "$f" | tr -d '\r'; done | sort -n | tr '\n' ' '; }
queued() { find "$1/queue" -name '*.msg' | wc -l; }
# a message queued for the test Postfix (stdin), into outbox $1
q() { local ob=$1; shift; "$SEND" $ACC --outbox "$ob" --queue "$@"; }

# ---- 1. --queue, --list-queue, --flush over one connection ------------------
"$STACK" reset "$STACK_DIR" "$USER1"
OB=$WORK/ob1
for i in 1 2 3 4 5; do mk $i > "$WORK/m$i"; done
for i in 1 2 3 4 5; do expect_rc "--queue message $i" 0 q "$OB" -t < "$WORK/m$i"; done
check "five files in queue/, none left in tmp/" all [ "$(queued "$OB")" = 5 ] -a [ "$(nfiles "$OB/tmp")" = 0 ]
check "  ... each file private (mode 0600)" [ "$(stat -c %a "$OB"/queue/*.msg | sort -u)" = 600 ]
sleep 1
check "--queue sent nothing" [ "$(box_count "$MAILDIR1")" = 0 ]
expect_rc "--list-queue" 0 "$SEND" --list-queue --outbox "$OB"
check "  ... five waiting for the first flush" [ "$(grep -c 'waiting for the first flush' "$WORK/out")" = 5 ]
check "  ... with sender and recipient" grep -q "from <$USER2> to <$USER1>" "$WORK/out"
check "  ... and a total" grep -q "^5 messages waiting in $OB/queue, 0 moved aside" "$WORK/out"
expect_rc "-bp (mailq) lists it too" 0 "$SEND" -bp --outbox "$OB"
expect_rc "--flush" 0 "$SEND" --flush --outbox "$OB" --trace
check "  ... over one connection (one EHLO, five MAIL FROM)" \
  all [ "$(grep -c '^C: EHLO' "$WORK/err")" = 1 ] -a [ "$(grep -c '^C: MAIL FROM' "$WORK/err")" = 5 ]
check "  ... one line per message on standard output" [ "$(grep -c ': sent to 1 recipient (250 ' "$WORK/out")" = 5 ]
check "  ... and in the outbox's log" [ "$(grep -c 'Z [0-9.a-f]*: sent to 1 recipient (250 ' "$OB/log")" = 5 ]
check "  ... the queue is empty" [ "$(find "$OB/queue" -type f | wc -l)" = 0 ]
wait_for "$MAILDIR1" 5; sleep 0.5
check "  ... each message delivered once ($(seqs "$MAILDIR1"))" [ "$(seqs "$MAILDIR1")" = "1 2 3 4 5 " ]
expect_rc "a second flush has nothing to do" 0 "$SEND" --flush --outbox "$OB"
check "  ... and sends nothing" [ ! -s "$WORK/out" ]

# ---- 2. composed messages and --batch files queue too; the config's outbox -
printf 'hello from the outbox\n' > "$WORK/body"
expect_rc "--queue a composed message" 0 "$SEND" $ACC --outbox "$OB" --queue --from "$USER2" --to "$USER1" --subject composed --body-file "$WORK/body"
mk 6 > "$WORK/m6"; mk 7 > "$WORK/m7"
expect_rc "--queue --batch two files" 0 "$SEND" $ACC --outbox "$OB" --queue --batch "$WORK/m6" "$WORK/m7"
mkdir -p "$XDG_CONFIG_HOME/postie"
printf 'account ob\nhost %s\nport %s\ntls off\nuser %s\nfrom %s\noutbox %s\n' \
  "$STACK_HOST" "$SMTP_PORT" "$USER2" "$USER2" "$WORK/ob-cfg" > "$XDG_CONFIG_HOME/postie/config"
mk 8 > "$WORK/m8"
expect_rc "--queue to the account's outbox (config key 'outbox')" 0 "$SEND" -a ob --queue -t < "$WORK/m8"
check "  ... it is there" [ "$(queued "$WORK/ob-cfg")" = 1 ]
check "three in the first outbox" [ "$(queued "$OB")" = 3 ]
expect_rc "--flush the first outbox" 0 "$SEND" --flush --outbox "$OB"
expect_rc "--flush -a ob (the account's outbox)" 0 "$SEND" --flush -a ob
wait_for "$MAILDIR1" 9; sleep 0.5
check "all nine arrived once ($(seqs "$MAILDIR1"))" all [ "$(box_count "$MAILDIR1")" = 9 ] -a [ "$(seqs "$MAILDIR1")" = "1 2 3 4 5 6 7 8 " ]
check "  ... the composed one with its subject" grep -lq '^Subject: composed' "$MAILDIR1"/new/*
rm "$XDG_CONFIG_HOME/postie/config"
expect_rc "--flush with recipients is a usage error" 64 "$SEND" --flush --outbox "$OB" "$USER1"
expect_rc "--queue and --flush together are a usage error" 64 "$SEND" --flush --queue --outbox "$OB"

# ---- 3. a 5xx refusal: moved aside with the server's reply -----------------
mk 9 "$UNKNOWN_USER" > "$WORK/m9"
expect_rc "--queue to an unknown user" 0 q "$OB" -t < "$WORK/m9"
expect_rc "--flush: the recipient is refused (5xx)" 67 "$SEND" --flush --outbox "$OB"
check "  ... says so with the reply" grep -Eq "refused, not sent to anyone: recipient <$UNKNOWN_USER> refused: 55[0-9]" "$WORK/out"
check "  ... moved into failed/ (with its reason), out of the queue" \
  all [ "$(find "$OB/failed" -name '*.msg' | wc -l)" = 1 ] -a [ "$(queued "$OB")" = 0 ] -a [ "$(find "$OB/failed" -name '*.st' | wc -l)" = 1 ]
expect_rc "--list-queue shows it and why" 0 "$SEND" --list-queue --outbox "$OB"
check "  ... 'why: recipient <...> refused: 55x'" grep -Eq "^  why: recipient <$UNKNOWN_USER> refused: 55[0-9]" "$WORK/out"
check "  ... '0 waiting, 1 moved aside'" grep -q "^0 messages waiting in $OB/queue, 1 moved aside" "$WORK/out"
expect_rc "the next flush does not send it again" 0 "$SEND" --flush --outbox "$OB"

# ---- 4. two flushes at once never send the same message ---------------------
"$STACK" reset "$STACK_DIR" "$USER1"
OB2=$WORK/ob2
for i in $(seq 101 140); do mk $i | q "$OB2" -t || bad "queue $i"; done
check "40 messages queued" [ "$(queued "$OB2")" = 40 ]
( "$SEND" --flush --outbox "$OB2" >"$WORK/f1.out" 2>"$WORK/f1.err"; echo $? >"$WORK/f1.rc" ) &
( "$SEND" --flush --outbox "$OB2" >"$WORK/f2.out" 2>"$WORK/f2.err"; echo $? >"$WORK/f2.rc" ) &
wait
n1=$(grep -c ': sent to ' "$WORK/f1.out"); n2=$(grep -c ': sent to ' "$WORK/f2.out")
echo "# flush A sent $n1, flush B sent $n2"
check "both flushes exit 0" all [ "$(cat "$WORK/f1.rc")" = 0 ] -a [ "$(cat "$WORK/f2.rc")" = 0 ]
check "together they sent 40 ($n1 + $n2)" [ $((n1 + n2)) = 40 ]
check "no ID sent by both" [ "$(cat "$WORK/f1.out" "$WORK/f2.out" | grep ': sent to ' | cut -d: -f1 | sort | uniq -d | wc -l)" = 0 ]
wait_for "$MAILDIR1" 40; sleep 1
want=$(seq 101 140 | tr '\n' ' ')
check "each of the 40 delivered exactly once" [ "$(seqs "$MAILDIR1")" = "$want" ]

# ---- 5. SIGKILL at each kill point, then a flush: each message once ---------
"$STACK" reset "$STACK_DIR" "$USER1"
OB3=$WORK/ob3
qt() { # kill-point seq: --queue through the test build
  mk "$2" | POSTIE_SEND_TEST_KILL=$1 "$SEND_TEST" $ACC --outbox "$OB3" --queue -t
}
qt queue-written:1 201; st=$?
check "killed at 'queue-written' (exit $st): not queued, the caller still holds it" \
  all [ "$st" = 137 ] -a [ "$(queued "$OB3")" = 0 ]
mk 201 | q "$OB3" -t
qt queued:1 202; st=$?
check "killed at 'queued' (exit $st): already safe in the queue" all [ "$st" = 137 ] -a [ "$(queued "$OB3")" = 2 ]
for i in 203 204 205 206; do mk $i | q "$OB3" -t; done
mk 207 "$UNKNOWN_USER" | q "$OB3" -t
fl() { POSTIE_SEND_TEST_KILL=$1 "$SEND_TEST" --flush --outbox "$OB3" >>"$WORK/kill.out" 2>>"$WORK/kill.err"; }
# end-marked: the end marker is synced, the dot not yet sent; sent: the
# message left the queue after its 250; moved: a refused one is in failed/
for kp in end-marked:2 sent:2 end-marked:1 sent:1 moved:1; do
  fl "$kp"; st=$?
  check "flush killed at '$kp' (exit $st; $(queued "$OB3") queued)" [ "$st" = 137 ]
done
expect_rc "then a flush runs to its end" 0 "$SEND" --flush --outbox "$OB3"
check "  ... the queue is empty, the refused one in failed/" \
  all [ "$(queued "$OB3")" = 0 ] -a [ "$(find "$OB3/failed" -name '*.msg' | wc -l)" = 1 ]
wait_for "$MAILDIR1" 6; sleep 1
check "each message delivered exactly once ($(seqs "$MAILDIR1"))" [ "$(seqs "$MAILDIR1")" = "201 202 203 204 205 206 " ]
check "the flushes after an end-marked kill said it may have been delivered" \
  [ "$(grep -c 'may have been delivered: a flush stopped after the end' "$OB3/log")" = 2 ]

# The one window where a message goes out twice: killed after its end went
# out, before its reply was read. The next flush sends it again and the log
# says exactly that.
id208=$(mk 208 | q "$OB3" -t -v 2>&1 | sed -n 's/.*queued as \([^ ]*\) in .*/\1/p')
fl end-sent:1; st=$?
check "flush killed at 'end-sent' (exit $st)" [ "$st" = 137 ]
expect_rc "the next flush sends it again" 0 "$SEND" --flush --outbox "$OB3"
check "  ... its log line says it may arrive twice" \
  grep -q "$id208: sent to 1 recipient (250 .*an earlier attempt's reply was lost, so the recipients may have it twice" "$OB3/log"
check "  ... and the recovery said why" grep -q "$id208: may have been delivered: a flush stopped after the end of the message went out and before the server's reply was recorded" "$OB3/log"
sleep 1; wait_for "$MAILDIR1" 7
n208=$(for f in "$MAILDIR1"/new/*; do sed -n 's/^X-Seq: 208\r*$/x/p' "$f"; done | grep -c x)
echo "# message 208 arrived $n208 times (Postfix had its end before the kill)"
check "  ... it arrived once or twice, nothing else twice" \
  all [ "$n208" -ge 1 ] -a [ "$n208" -le 2 ] -a [ "$(seqs "$MAILDIR1" | tr ' ' '\n' | grep -v '^208$' | sort | uniq -d | wc -l)" = 0 ]

# Random SIGKILLs while 30 messages are flushed; then a flush to the end.
# Every message arrives; one that arrives twice is one the log names as
# "may have been delivered" (killed between its dot and its recorded reply).
"$STACK" reset "$STACK_DIR" "$USER1"
OB4=$WORK/ob4
declare -A ids
for i in $(seq 301 330); do ids[$i]=$(mk $i | q "$OB4" -t -v 2>&1 | sed -n 's/.*queued as \([^ ]*\) in .*/\1/p'); done
RANDOM=${OUTBOX_SEED:-$$}; echo "# seed $RANDOM"
kills=0
for t in $(seq 1 12); do
  "$SEND_TEST" --flush --outbox "$OB4" >/dev/null 2>&1 &
  pid=$!
  sleep "0.$(printf '%03d' $((RANDOM % 150)))"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null; [ $? = 137 ] && kills=$((kills + 1))
done
echo "# $kills flushes killed; $(queued "$OB4") messages still queued"
expect_rc "after $kills random kills a flush runs to its end" 0 "$SEND" --flush --outbox "$OB4"
check "  ... the queue is empty" [ "$(queued "$OB4")" = 0 ]
wait_for "$MAILDIR1" 30; sleep 1
missing=0; unexplained=0
for i in $(seq 301 330); do
  n=$(grep -l "^X-Seq: $i" "$MAILDIR1"/new/* 2>/dev/null | wc -l)
  [ "$n" -ge 1 ] || missing=$((missing + 1))
  if [ "$n" -gt 1 ]; then
    echo "# message $i (${ids[$i]}) arrived $n times; its log says so in $(grep -Ec "${ids[$i]}: (may have been delivered|sent .*may have it twice)" "$OB4/log") line(s)"
    grep -Eq "${ids[$i]}: (may have been delivered|sent .*may have it twice)" "$OB4/log" || unexplained=$((unexplained + 1))
  fi
done
check "every message arrived ($missing missing)" [ "$missing" = 0 ]
check "every duplicate is one the log said may arrive twice ($unexplained unexplained)" [ "$unexplained" = 0 ]

# ---- 6. the scripted server: 4xx and back-off, maximum age, 5xx, a cut -----
serve() { # NAME: the transcript $WORK/NAME.txt; sets PORT and SPID
  local pf=$WORK/$1.port
  rm -f "$pf"
  python3 "$SERVER" --port-file "$pf" --timeout 60 --step-timeout 30 "$WORK/$1.txt" 2>"$WORK/$1.server" &
  SPID=$!
  for _ in $(seq 1 200); do [ -s "$pf" ] && break; sleep 0.05; done
  PORT=$(cat "$pf" 2>/dev/null)
}
served() { wait "$SPID"; }
HELLO='S: 220 scripted ESMTP
C-RAW-UNTIL: \r\n
S: 250 scripted'
one() { # rcpt final-reply: one message's transaction
  printf 'C: MAIL FROM:<a@x.test>\nS: 250 ok\nC: RCPT TO:<%s>\nS: 250 ok\nC: DATA\nS: 354 go\nC-RAW-UNTIL: \\r\\n.\\r\\n\n%s\n' "$1" "$2"
}
printf 'defaults\noutbox_retry_min 10s\noutbox_retry_max 15s\noutbox_max_age 1h\n' > "$WORK/retry.cfg"
printf 'defaults\noutbox_max_age 1s\n' > "$WORK/age.cfg"
OB5=$WORK/ob5
qs() { # config port rcpt: a message for the scripted server
  printf 'From: a@x.test\nTo: %s\nSubject: s\n\nbody\n' "$3" |
    "$SEND" -C "$1" --host 127.0.0.1 --port "$2" --tls off --timeout 10 --outbox "$OB5" --queue -f a@x.test "$3"
}
# 4xx after the dot for the first, the second accepted: one connection
{ echo "$HELLO"; one b1@x.test 'S: 451 4.3.0 try again later'; one b2@x.test 'S: 250 2.0.0 queued'; printf 'C: QUIT\nS: 221 bye\n'; } > "$WORK/d1.txt"
serve d1
qs "$WORK/retry.cfg" "$PORT" b1@x.test; qs "$WORK/retry.cfg" "$PORT" b2@x.test
t0=$(date +%s)
expect_rc "4xx: the flush says 'try again later' (75)" 75 "$SEND" --flush --outbox "$OB5"
served; check "  ... both messages went over one connection" [ $? = 0 ]
check "  ... the refused one deferred with the reply, attempt 1" grep -q ": deferred (451 4.3.0 try again later); attempt 1, next try from" "$WORK/out"
check "  ... the other sent" grep -q ': sent to 1 recipient (250 2.0.0 queued)' "$WORK/out"
st=$(ls "$OB5"/queue/*.st); next=$(sed -n 's/^next //p' "$st")
check "  ... next try 5-10 s later (back-off 10 s, jitter: half to all of it; $((next - t0)) s)" \
  all [ $((next - t0)) -ge 4 ] -a [ $((next - t0)) -le 11 ]
expect_rc "--list-queue says why it waits" 0 "$SEND" --list-queue --outbox "$OB5"
check "  ... 'deferred, 1 attempt; next try' and the reply" \
  all grep -Eq ': (deferred, 1 attempt; next try from|deferred, 1 attempt; due at)' "$WORK/out" -a grep -q '^  last: 451 4.3.0 try again later' "$WORK/out"
expect_rc "a flush before the next try sends nothing (no server needed)" 0 "$SEND" --flush --outbox "$OB5" -v
check "  ... it says the message waits" grep -q '1 waiting for their next try' "$WORK/err"
# the second 4xx doubles the back-off (20 s, capped by outbox_retry_max 15 s:
# 7-15 s). Instead of waiting, the test moves the next try to now.
sed -i 's/^next .*/next 0/' "$OB5"/queue/*.st
{ echo "$HELLO"; one b1@x.test 'S: 452 4.3.1 still busy'; printf 'C: QUIT\nS: 221 bye\n'; } > "$WORK/d2.txt"
serve d2
sed -i "s/^port .*/port $PORT/" "$OB5"/queue/*.msg   # the server moved
t0=$(date +%s)
expect_rc "the next try: 4xx again (75)" 75 "$SEND" --flush --outbox "$OB5"
served; check "  ... the server played its transcript" [ $? = 0 ]
next=$(sed -n 's/^next //p' "$OB5"/queue/*.st)
check "  ... attempt 2, the back-off doubled to the 15 s cap ($((next - t0)) s)" \
  all grep -q 'attempt 2, next try' "$WORK/out" -a [ $((next - t0)) -ge 7 ] -a [ $((next - t0)) -le 16 ]
sed -i 's/^next .*/next 0/' "$OB5"/queue/*.st
{ echo "$HELLO"; one b1@x.test 'S: 250 2.0.0 finally'; printf 'C: QUIT\nS: 221 bye\n'; } > "$WORK/d3.txt"
serve d3
sed -i "s/^port .*/port $PORT/" "$OB5"/queue/*.msg
expect_rc "the third try is accepted" 0 "$SEND" --flush --outbox "$OB5"
served; check "  ... queue empty" all [ $? = 0 ] -a [ "$(queued "$OB5")" = 0 ]

# a message older than outbox_max_age that gets a 4xx is moved aside
{ echo "$HELLO"; one b9@x.test 'S: 421 4.4.2 closing'; } > "$WORK/d4.txt"
serve d4
qs "$WORK/age.cfg" "$PORT" b9@x.test; sleep 2
expect_rc "4xx past the maximum age: moved aside" 69 "$SEND" --flush --outbox "$OB5"
served
check "  ... 'expired' with the last reply" grep -q 'expired: not sent within .*; last: 421 4.4.2 closing; moved to failed/' "$WORK/out"
check "  ... in failed/" [ "$(find "$OB5/failed" -name '*.msg' | wc -l)" = 1 ]

# 5xx after the dot: moved aside with the reply; a cut between the dot and
# the reply: kept, and the log says it may have been delivered
{ echo "$HELLO"; one c1@x.test 'S: 554 5.7.1 rejected as spam'; one c2@x.test 'CLOSE'; } > "$WORK/d5.txt"
serve d5
qs "$WORK/retry.cfg" "$PORT" c1@x.test; qs "$WORK/retry.cfg" "$PORT" c2@x.test
expect_rc "5xx, then a cut after the dot" 69 "$SEND" --flush --outbox "$OB5"
served; check "  ... the server saw both messages whole" [ $? = 0 ]
check "  ... the 5xx one moved aside with the reply" grep -q ': refused by the server: 554 5.7.1 rejected as spam; moved to failed/' "$WORK/out"
check "  ... the cut one: 'may have been delivered', kept for the next flush" \
  all grep -q ": may have been delivered: the connection was lost after the end of the message went out and before the server's reply" "$WORK/out" -a [ "$(queued "$OB5")" = 1 ]
check "  ... the same in the log" grep -q "may have been delivered: the connection was lost after the end" "$OB5/log"
expect_rc "--list-queue: the lost reply is named" 0 "$SEND" --list-queue --outbox "$OB5"
check "  ... 'may get it twice'" grep -q "an earlier attempt's reply was lost: the recipients may get it twice" "$WORK/out"
check "  ... two moved aside (expired, refused)" grep -q "^1 message waiting in $OB5/queue, 2 moved aside" "$WORK/out"
{ echo "$HELLO"; one c2@x.test 'S: 250 2.0.0 ok'; printf 'C: QUIT\nS: 221 bye\n'; } > "$WORK/d6.txt"
serve d6
sed -i "s/^port .*/port $PORT/" "$OB5"/queue/*.msg
expect_rc "the next flush sends it again at once (no back-off after a lost reply)" 0 "$SEND" --flush --outbox "$OB5"
served
check "  ... and says it may arrive twice" grep -q "sent to 1 recipient (250 2.0.0 ok); an earlier attempt's reply was lost, so the recipients may have it twice" "$WORK/out"

# an unreachable server: deferred with the reason
qs "$WORK/retry.cfg" 1 d1@x.test
expect_rc "no server: deferred (75)" 75 "$SEND" --flush --outbox "$OB5"
check "  ... with the connection error as the reason" grep -q ': deferred (not sent: .*127.0.0.1' "$WORK/out"
finish
