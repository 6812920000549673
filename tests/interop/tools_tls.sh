#!/usr/bin/env bash
# The tools over TLS: TLS fronts (tls_proxy.py, certificates from
# tests/tls/gen-certs.sh) before the test Dovecot and Postfix.
#   postie-fetch --tls implicit: verified with --cafile; refused without it
#     (certificate from an unknown CA) and with a wrong host name: exit 76,
#     one line, nothing lost.
#   postie-send --tls implicit and --tls starttls, the same checks.
. "$(dirname "$0")/tools_lib.sh"
if [ "$("$FETCH" --host 127.0.0.1 --port 1 --tls implicit --user x --maildir "$WORK/x" 2>&1 | grep -c 'not supported in this build')" != 0 ]; then
  echo "skip - this build has no TLS"; exit 0
fi
sh "$ROOT/tests/tls/gen-certs.sh" "$WORK/certs" >/dev/null
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap cleanup EXIT
start_proxy() { # name mode target-port [cert]; the port ends up in $WORK/port.NAME
  local cert=${4:-server}
  python3 "$ROOT/tests/interop/tls_proxy.py" "$2" 0 "$3" "$WORK/certs/$cert.pem" "$WORK/certs/$cert.key" \
    "$WORK/port.$1" >"$WORK/proxy.$1.log" 2>&1 &
  pids+=($!)
}
start_proxy pop3s implicit "$POP3_PORT"
start_proxy smtps implicit "$SMTP_PORT"
start_proxy starttls smtp-starttls "$SMTP_PORT"
start_proxy wrong implicit "$POP3_PORT" wrong
for n in pop3s smtps starttls wrong; do
  for _ in $(seq 1 50); do [ -s "$WORK/port.$n" ] && break; sleep 0.1; done
done
POP3S=$(cat "$WORK/port.pop3s"); WRONG=$(cat "$WORK/port.wrong"); SMTPS_PORT=$(cat "$WORK/port.smtps"); STARTTLS=$(cat "$WORK/port.starttls")
CA=$WORK/certs/ca.pem

"$STACK" reset "$STACK_DIR" "$USER1"
printf 'Subject: over tls\r\n\r\nsecret body\r\n' > "$WORK/m"
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK/m" >/dev/null
export POSTIE_PASSWORD=$PASS1
expect_rc "fetch, implicit TLS, unknown CA: certificate refused" 76 "$FETCH" --host localhost --port "$POP3S" --tls implicit --user "$USER1" --maildir "$WORK/md" --state "$WORK/st" --delete
check "  ... one line naming the certificate problem" bash -c "[ \$(wc -l < '$WORK/err') = 1 ] && grep -qi 'certif' '$WORK/err'"
check "  ... message still on the server" [ "$(server_count)" = 1 ]
expect_rc "fetch, implicit TLS, certificate for another host name" 76 "$FETCH" --host localhost --port "$WRONG" --tls implicit --cafile "$CA" --user "$USER1" --maildir "$WORK/md" --state "$WORK/st"
check "  ... says the name does not match" grep -qi "name" "$WORK/err"
expect_rc "fetch, implicit TLS, --cafile: verified" 0 "$FETCH" --host localhost --port "$POP3S" --tls implicit --cafile "$CA" --user "$USER1" --maildir "$WORK/md" --state "$WORK/st" --delete --trace
check "  ... delivered" grep -q 'secret body' "$WORK"/md/new/*
check "  ... trace shows the TLS dialogue, password redacted" bash -c "grep -q '^C: RETR 1' '$WORK/err' && ! grep -qF -- '$PASS1' '$WORK/err'"
expect_rc "fetch --cafile of a missing file" 78 "$FETCH" --host localhost --port "$POP3S" --tls implicit --cafile "$WORK/none.pem" --user "$USER1" --maildir "$WORK/md" --state "$WORK/st"

export POSTIE_PASSWORD=$PASS2
printf 'Subject: smtps\n\nvia implicit TLS\n' > "$WORK/s1"
expect_rc "send, implicit TLS, unknown CA: refused" 76 "$SEND" --host localhost --port "$SMTPS_PORT" --tls implicit --user "$USER2" -f "$USER2" "$USER1" < "$WORK/s1"
expect_rc "send, implicit TLS, --cafile" 0 "$SEND" --host localhost --port "$SMTPS_PORT" --tls implicit --cafile "$CA" --user "$USER2" -f "$USER2" "$USER1" < "$WORK/s1"
printf 'Subject: starttls\n\nvia STARTTLS\n' > "$WORK/s2"
expect_rc "send, STARTTLS, unknown CA: refused" 76 "$SEND" --host localhost --port "$STARTTLS" --tls starttls --user "$USER2" -f "$USER2" "$USER1" < "$WORK/s2"
expect_rc "send, STARTTLS, --cafile" 0 "$SEND" --trace --host localhost --port "$STARTTLS" --tls starttls --cafile "$CA" --user "$USER2" -f "$USER2" "$USER1" < "$WORK/s2"
check "  ... AUTH only after the TLS handshake" bash -c "grep -n '^-- TLS started\|^C: AUTH' '$WORK/err' | head -1 | grep -q 'TLS started'"
expect_rc "send, STARTTLS against a server without it" 69 "$SEND" --host 127.0.0.1 --port "$SMTP_PORT" --tls starttls --user "$USER2" -f "$USER2" "$USER1" < "$WORK/s2"
for _ in $(seq 1 50); do [ "$(server_count)" -ge 2 ] && break; sleep 0.1; done
check "both TLS messages arrived" [ "$(server_count)" = 2 ]
"$STACK" reset "$STACK_DIR" "$USER1"
finish
