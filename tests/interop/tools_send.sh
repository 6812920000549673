#!/usr/bin/env bash
# postie-send against the test Postfix, each message fetched back from
# Dovecot with postie-fetch: sendmail -t (Bcc removed), recipients as
# arguments, -f, the lone-dot rule of -i, compose mode with an attachment,
# refused recipients, wrong password, configuration file; --batch over one
# connection, with CHUNKING and without.
. "$(dirname "$0")/tools_lib.sh"

for u in "$USER1" "$USER2" "$SINK"; do "$STACK" reset "$STACK_DIR" "$u"; done
wait_for() { # maildir count: Postfix delivers asynchronously
  local i
  for i in $(seq 1 100); do
    [ "$(find "$1/new" "$1/cur" -maxdepth 1 -type f 2>/dev/null | wc -l)" -ge "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
fetch_box() { # user pass maildir
  POSTIE_PASSWORD=$2 "$FETCH" $POP --user "$1" --maildir "$3" --state "$3.state" --delete -q
}

# 1. sendmail -t: To, folded Cc and Bcc; Bcc must not reach anyone
cat > "$WORK/t.eml" <<MSG
From: Bob <$USER2>
To: Alice <$USER1>
Cc: undisclosed: ,
  $SINK;
Bcc: $USER2
Subject: sendmail -t test

first line
.
after a lone dot
MSG
export POSTIE_PASSWORD=$PASS2
expect_rc "sendmail -t -i" 0 "$SEND" $SMTP --user "$USER2" -t -i < "$WORK/t.eml"
check "delivered to To (alice)" wait_for "$MAILDIR1" 1
check "delivered to Cc in a group (sink)" wait_for "$MAILDIR_SINK" 1
check "delivered to Bcc (bob)" wait_for "$MAILDIR2" 1
fetch_box "$USER1" "$PASS1" "$WORK/a"
fetch_box "$USER2" "$PASS2" "$WORK/b"
check "postie-fetch got alice's copy" [ "$(nfiles "$WORK/a/new")" = 1 ]
check "no Bcc header in alice's copy" bash -c "! grep -qi '^Bcc:' '$WORK'/a/new/*"
check "no Bcc header in bob's (Bcc) copy" bash -c "! grep -qi '^Bcc:' '$WORK'/b/new/*"
check "-i: text after the lone dot arrived" grep -q '^after a lone dot$' "$WORK"/a/new/*
check "-i: the lone dot itself arrived" grep -qx '\.' "$WORK"/a/new/*
check "envelope sender from the From header" grep -q "^Return-Path: <$USER2>" "$WORK"/a/new/*
"$STACK" reset "$STACK_DIR" "$SINK"; "$STACK" reset "$STACK_DIR" "$USER2"

# 2. recipients as arguments, -f, and no -i: a lone dot ends the message
printf 'Subject: args\n\nkept\n.\nnot sent\n' > "$WORK/d.eml"
expect_rc "recipients as arguments, -f, -oi not given" 0 "$SEND" $SMTP --user "$USER2" -f "$USER2" "$USER1" < "$WORK/d.eml"
check "delivered" wait_for "$MAILDIR1" 1
fetch_box "$USER1" "$PASS1" "$WORK/a2"
check "text before the dot arrived" grep -q '^kept$' "$WORK"/a2/new/*
check "text after the dot did not" bash -c "! grep -q 'not sent' '$WORK'/a2/new/*"
check "-f set the envelope sender" grep -q "^Return-Path: <$USER2>" "$WORK"/a2/new/*

# 3. compose mode with an attachment, fetched back and decoded
head -c 5000 /dev/urandom > "$WORK/blob.bin"
printf 'Hello Alice,\nthe file is attached.\n' > "$WORK/body.txt"
expect_rc "compose mode with --attach" 0 "$SEND" $SMTP --user "$USER2" --from "$USER2" \
  --to "$USER1" --cc "$SINK" --subject "Compose test ✓" --body-file "$WORK/body.txt" --attach "$WORK/blob.bin"
check "delivered to --to" wait_for "$MAILDIR1" 1
check "delivered to --cc" wait_for "$MAILDIR_SINK" 1
fetch_box "$USER1" "$PASS1" "$WORK/a3"
check "attachment decodes to the same bytes, body and subject intact" python3 - "$WORK"/a3/new/* "$WORK/blob.bin" <<'PY'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)
assert m['Subject'] == 'Compose test ✓', m['Subject']
parts = list(m.iter_attachments())
assert len(parts) == 1 and parts[0].get_filename() == 'blob.bin'
assert parts[0].get_content() == open(sys.argv[2], 'rb').read()
assert 'the file is attached.' in m.get_body(('plain',)).get_content()
PY
"$STACK" reset "$STACK_DIR" "$SINK"
expect_rc "--attach of a missing file" 66 "$SEND" $SMTP --user "$USER2" --from "$USER2" --to "$USER1" --attach "$WORK/missing"

# 4. a refused recipient: reported, nothing sent, permanent code
printf 'Subject: refused\n\nx\n' > "$WORK/r.eml"
expect_rc "unknown recipient" 67 "$SEND" $SMTP --user "$USER2" -f "$USER2" "$USER1" "$UNKNOWN_USER" < "$WORK/r.eml"
check "  ... names the refused recipient" grep -q "recipient $UNKNOWN_USER refused: 550" "$WORK/err"
sleep 1
check "  ... nothing was sent to the others" [ "$(find "$MAILDIR1/new" -type f | wc -l)" = 0 ]

# 5. --trace: the dialogue without the credentials
printf 'Subject: traced\n\nx\n' > "$WORK/tr.eml"
expect_rc "--trace" 0 "$SEND" --trace $SMTP --user "$USER2" -f "$USER2" "$USER1" < "$WORK/tr.eml"
check "  ... shows the dialogue" bash -c "grep -q '^C: MAIL FROM:<$USER2>' '$WORK/err' && grep -q '^S: 250' '$WORK/err'"
check "  ... AUTH redacted, no password in any form" bash -c "grep -q '^C: AUTH ' '$WORK/err' && grep -q '^C: <redacted>\|^C: AUTH [A-Z0-9-]* <redacted>' '$WORK/err' && ! grep -qF -- '$PASS2' '$WORK/err' && ! grep -qF -- \"\$(printf '%s' '$PASS2' | base64)\" '$WORK/err'"
check "delivered" wait_for "$MAILDIR1" 1
"$STACK" reset "$STACK_DIR" "$USER1"

# 6. wrong password, no sender, unreachable, configuration file
POSTIE_PASSWORD=wrong expect_rc "wrong password" 77 "$SEND" $SMTP --user "$USER2" -f "$USER2" "$USER1" < "$WORK/r.eml"
check "  ... one line" [ "$(wc -l < "$WORK/err")" = 1 ]
expect_rc "no sender anywhere" 64 "$SEND" $SMTP --user "$USER2" "$USER1" < "$WORK/body.txt"
expect_rc "no recipients" 64 "$SEND" $SMTP --user "$USER2" -f "$USER2" < "$WORK/r.eml"
expect_rc "unreachable" 75 "$SEND" --host 127.0.0.1 --port 1 --tls off -f "$USER2" "$USER1" < "$WORK/r.eml"
unset POSTIE_PASSWORD
mkdir -p "$XDG_CONFIG_HOME/postie"
cat > "$XDG_CONFIG_HOME/postie/config" <<CFG
account mail
host $STACK_HOST
pop3_port $POP3_PORT
smtp_port $SMTP_PORT
tls off
user $USER2
from $USER2
password_env BOB_PW
CFG
BOB_PW=$PASS2 expect_rc "account from the configuration (smtp_port, from, password_env)" 0 "$SEND" "$USER1" < "$WORK/r.eml"
check "delivered" wait_for "$MAILDIR1" 1
"$STACK" reset "$STACK_DIR" "$USER1"
# 7. --batch: 20 messages over one connection (BDAT on the main port, DATA
# pipelined across messages on the port without CHUNKING); message 07 has
# one unknown recipient, reported, while its other recipient gets it. Every
# message arrives byte for byte (after the trace headers Postfix puts on
# top; the messages carry Date and Message-ID, so it adds none inside).
rm -f "$XDG_CONFIG_HOME/postie/config"
export POSTIE_PASSWORD=$PASS2
mkdir -p "$WORK/batch"
for i in $(seq -w 1 20); do
  to=$USER1; [ "$i" = 07 ] && to="$USER1, $UNKNOWN_USER"
  {
    printf 'From: Bob <%s>\r\nTo: %s\r\nSubject: batch %s\r\nDate: %s\r\nMessage-ID: <batch-%s.%s@postie.test>\r\nX-Batch-Seq: %s\r\n\r\n' \
      "$USER2" "$to" "$i" "$(date -R)" "$i" "$$" "$i"
    head -c $(( (10#$i % 5 + 1) * 900 )) /dev/urandom | base64 | sed 's/$/\r/'
    printf '.a line starting with a dot\r\n.\r\nthe end of %s\r\n' "$i"
  } > "$WORK/batch/$i.eml"
done
same_in_maildir() { # DIR: every batch message once, each ends with its file
  python3 - "$1" "$WORK/batch" <<'PY'
import os, re, sys
box, src = sys.argv[1], sys.argv[2]
seen = {}
for d in ("new", "cur"):
    for n in os.listdir(os.path.join(box, d)):
        b = open(os.path.join(box, d, n), "rb").read()
        m = re.search(rb"^X-Batch-Seq: (\d+)$", b, re.M)
        assert m, n
        seen.setdefault(m.group(1).decode(), []).append(b)
assert sorted(seen) == ["%02d" % i for i in range(1, 21)], sorted(seen)
for k, v in seen.items():
    assert len(v) == 1, (k, len(v))
    want = open(os.path.join(src, k + ".eml"), "rb").read().replace(b"\r\n", b"\n")
    got = v[0]
    assert got.endswith(want), k
    top = got[: len(got) - len(want)].decode()
    for line in top.splitlines():  # only what the server added on top
        assert re.match(r"(Return-Path|X-Original-To|Delivered-To|Received):|\s", line), line
PY
}
batch_case() { # NAME PORT
  local name=$1 port=$2 t0 t1
  "$STACK" reset "$STACK_DIR" "$USER1"
  t0=$(date +%s%N)
  expect_rc "--batch of 20 messages ($name), one recipient refused" 67 \
    "$SEND" --host "$STACK_HOST" --port "$port" --tls off --user "$USER2" --trace --batch "$WORK"/batch/*.eml
  t1=$(date +%s%N)
  echo "# $name: 20 messages in $(( (t1 - t0) / 1000000 )) ms (with --trace)"
  cp "$WORK/out" "$WORK/$name.out"; cp "$WORK/err" "$WORK/$name.trace"
  check "  ... one connection" [ "$(grep -c '^-- connected' "$WORK/$name.trace")" = 1 ]
  check "  ... 20 MAIL commands" [ "$(grep -c '^C: MAIL FROM:' "$WORK/$name.trace")" = 20 ]
  check "  ... 19 messages reported accepted" [ "$(grep -c '\.eml: accepted for 1 recipient (250' "$WORK/$name.out")" = 19 ]
  check "  ... 07 accepted for 1 of 2" grep -q '/07\.eml: accepted for 1 of 2 recipients (250' "$WORK/$name.out"
  check "  ... and its refused recipient named with the reply" \
    grep -q "/07\.eml:   recipient $UNKNOWN_USER refused: 550 5\.1\.1 (permanent)" "$WORK/$name.out"
  check "  ... the summary says so" grep -q 'of 20 messages: 19 accepted, 1 accepted for some recipients only' "$WORK/$name.trace"
  check "  ... all 20 delivered" wait_for "$MAILDIR1" 20
  check "  ... each byte for byte, once" same_in_maildir "$MAILDIR1"
}
batch_case chunking "$SMTP_PORT"
check "  ... BDAT for every message, no DATA" \
  all [ "$(grep -c '^C: BDAT [0-9]* LAST$' "$WORK/chunking.trace")" = 20 ] -a [ "$(grep -c '^C: DATA$' "$WORK/chunking.trace")" = 0 ]
inflight=$(awk '/^S: 235/ {on = 1; next} on && /^S: / {exit} on && /^C: MAIL FROM:/ {n++} END {print n + 0}' "$WORK/chunking.trace")
echo "# chunking: $inflight messages sent before the first reply"
check "  ... several messages in flight before the first reply ($inflight)" [ "$inflight" -ge 2 ]
batch_case pipelining "$SMTP_NOCHUNKING_PORT"
check "  ... no CHUNKING offered: DATA for every message, no BDAT" \
  all [ "$(grep -c '^C: DATA$' "$WORK/pipelining.trace")" = 20 ] -a [ "$(grep -c '^C: BDAT' "$WORK/pipelining.trace")" = 0 ]
joined=$(awk '/^C: \.$/ {dot = 1; next} dot && /^C: MAIL FROM:/ {n++} {dot = 0} END {print n + 0}' "$WORK/pipelining.trace")
check "  ... a message's final dot and the next MAIL in one flight ($joined times)" [ "$joined" -ge 10 ]
expect_rc "--batch with a missing file: nothing sent" 66 "$SEND" $SMTP --user "$USER2" --batch "$WORK/batch/01.eml" "$WORK/missing.eml"
printf 'Subject: nobody\r\n\r\nx\r\n' > "$WORK/norcpt.eml"
expect_rc "--batch with a message without recipients: nothing sent" 64 "$SEND" $SMTP --user "$USER2" --batch "$WORK/batch/01.eml" "$WORK/norcpt.eml"
check "  ... names the file" grep -q 'norcpt.eml: no recipients' "$WORK/err"
expect_rc "--batch and compose options do not mix" 64 "$SEND" $SMTP --batch --to "$USER1" "$WORK/batch/01.eml"
"$STACK" reset "$STACK_DIR" "$USER1"
finish
