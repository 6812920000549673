#!/usr/bin/env bash
# postie-send against the test Postfix, each message fetched back from
# Dovecot with postie-fetch: sendmail -t (Bcc removed), recipients as
# arguments, -f, the lone-dot rule of -i, compose mode with an attachment,
# refused recipients, wrong password, configuration file.
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
finish
