#!/usr/bin/env bash
# firmware-test.sh [OUT] - boots the mps2-an386 firmware (make firmware) in
# qemu-system-arm against the loopback Dovecot and Postfix of
# scripts/teststack.sh and checks what it did, byte for byte, on the host.
#
# The guest (192.0.2.15/24, QEMU user-mode network with restrict=on) reaches
# nothing but the guestfwd addresses below, each served by
# tests/firmware/guestfwd.py on the host:
#   192.0.2.100:110   Dovecot's POP3 port (STLS)
#   192.0.2.100:25    Postfix's SMTP port (STARTTLS, AUTH)
#   192.0.2.100:1110  a POP3 server without STLS
#   192.0.2.100:2110  Dovecot's POP3 port through a path that cuts the
#                     connection after 6000 bytes from the server (mid-RETR)
#   192.0.2.100:3110  the same path, which stops passing bytes after 6000
# The test CA and a CA that signed nothing the servers use are written into
# the firmware's CA slots in flash (-device loader at 0x3FE000).
#
# Checks: every scenario's RESULT line on the UART (fetch and send DONE;
# badcert ERR_TLS_VERIFY; nostls ERR_TLS_REQUIRED; cut ERR_CLOSED; stall
# ERR_TIMEOUT), the fetched messages (semihosting files) equal to the ones
# delivered into the mailbox, the message Postfix delivered equal to what
# the firmware composed and sent (and its attachment equal to the bytes the
# board generated), the mailbox left whole, "DONE", exit code 0, no FAULT.
# The whole run is bounded (FW_TEST_TIMEOUT, default 300 s): it cannot hang.
# Prints "ok - ..." / "not ok - ..." and "N passed, N failed"; exit 0 when
# all passed. Needs root (the stack), qemu-system-arm, python3.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${1:-build/firmware}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd -P)
ELF=$OUT/postie-fw.elf
RUN=$OUT/run
STACK=$OUT/stack
LIMIT=${FW_TEST_TIMEOUT:-300}
pass=0; fail=0
ok()    { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else notok "$what"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

[ -f "$ELF" ] || { notok "firmware image $ELF (run make firmware)"; finish; }
command -v qemu-system-arm >/dev/null || { notok "qemu-system-arm installed"; finish; }

stop_stack() { "$ROOT/scripts/teststack.sh" stop "$STACK" >/dev/null 2>&1 || true; }
trap stop_stack EXIT
if ! "$ROOT/scripts/teststack.sh" start "$STACK" >"$OUT/stack-start.log" 2>&1; then
  cat "$OUT/stack-start.log"; notok "the loopback mail stack starts"; finish
fi
set -a; . "$STACK/env"; set +a

rm -rf "$RUN"; mkdir -p "$RUN/expect"
# the mailbox the firmware fetches: two messages, the second 20 KB with
# lines that need dot-stuffing
"$ROOT/scripts/teststack.sh" reset "$STACK" "$USER1" >/dev/null
"$ROOT/scripts/teststack.sh" reset "$STACK" "$USER2" >/dev/null
python3 - "$RUN/expect" <<'PY'
import sys
d = sys.argv[1]
one = ("From: Tester <tester@postie.test>\r\nTo: alice@postie.test\r\n"
       "Subject: first\r\nMessage-ID: <fw-1@postie.test>\r\n\r\nShort one.\r\n")
lines = ["From: Tester <tester@postie.test>", "To: alice@postie.test",
         "Subject: second, longer", "Message-ID: <fw-2@postie.test>", ""]
i = 0
while sum(len(l) + 2 for l in lines) < 20000:
    lines.append(("." if i % 7 == 0 else "") + "line %d of the second message, some text to fill it" % i)
    i += 1
two = "\r\n".join(lines) + "\r\n"
open(d + "/msg-1.eml", "w", newline="").write(one)
open(d + "/msg-2.eml", "w", newline="").write(two)
PY
"$ROOT/scripts/teststack.sh" deliver "$STACK" "$USER1" "$RUN/expect/msg-1.eml" >/dev/null
sleep 1  # distinct delivery times: the POP3 order is the order delivered
"$ROOT/scripts/teststack.sh" deliver "$STACK" "$USER1" "$RUN/expect/msg-2.eml" >/dev/null

# the CA slots: [u32 length][DER], 4 KiB each: the test CA, then the other CA
openssl x509 -in "$TLS_CA" -outform DER -out "$RUN/ca.der"
openssl x509 -in "$TLS_OTHER_CA" -outform DER -out "$RUN/other-ca.der"
python3 - "$RUN" <<'PY'
import struct, sys
d = sys.argv[1]
blob = b""
for f in ("ca.der", "other-ca.der"):
    der = open(d + "/" + f, "rb").read()
    slot = struct.pack("<I", len(der)) + der
    blob += slot + b"\0" * (4096 - len(slot))
open(d + "/ca-slots.bin", "wb").write(blob)
PY

G="python3 $ROOT/tests/firmware/guestfwd.py"
NET="user,id=n0,net=192.0.2.0/24,host=192.0.2.2,restrict=on"
NET+=",guestfwd=tcp:192.0.2.100:110-cmd:$G relay 127.0.0.1 $POP3_PORT"
NET+=",guestfwd=tcp:192.0.2.100:25-cmd:$G relay 127.0.0.1 $SMTP_PORT"
NET+=",guestfwd=tcp:192.0.2.100:1110-cmd:$G nostls"
NET+=",guestfwd=tcp:192.0.2.100:2110-cmd:$G cut 127.0.0.1 $POP3_PORT 6000"
NET+=",guestfwd=tcp:192.0.2.100:3110-cmd:$G stall 127.0.0.1 $POP3_PORT 6000"
export FW_GUESTFWD_LOG=$RUN/guestfwd.log
start=$SECONDS
(cd "$RUN" && timeout -k 5 "$LIMIT" qemu-system-arm -M mps2-an386 -nographic -monitor none \
   -serial "file:$RUN/uart.log" \
   -semihosting-config "enable=on,target=native,arg=scenarios: fetch send badcert nostls cut stall" \
   -kernel "$ELF" -device "loader,file=$RUN/ca-slots.bin,addr=0x3FE000,force-raw=on" \
   -netdev "$NET" -net nic,netdev=n0 >"$RUN/qemu.log" 2>&1)
rc=$?
echo "-- the firmware's UART ($((SECONDS - start)) s, exit code $rc):"
sed 's/^/   /' "$RUN/uart.log"
[ -s "$RUN/guestfwd.log" ] && { echo "-- guestfwd:"; sed 's/^/   /' "$RUN/guestfwd.log"; }
[ -s "$RUN/qemu.log" ] && { echo "-- qemu:"; sed 's/^/   /' "$RUN/qemu.log"; }
tr -d '\r' < "$RUN/uart.log" > "$RUN/uart.txt"

check "the firmware ran to its end within ${LIMIT} s and exited 0 (no hang, no reboot)" \
  test "$rc" -eq 0
check "it printed DONE once, booted once, and no FAULT" \
  bash -c "[ \$(grep -c '^DONE\$' '$RUN/uart.txt') -eq 1 ] && [ \$(grep -c '^postie-fw: ' '$RUN/uart.txt') -eq 1 ] && ! grep -q FAULT '$RUN/uart.txt'"
result() { grep -q "^RESULT $1 $2\\b" "$RUN/uart.txt"; }
check "fetch over STLS (test CA, name localhost): RESULT fetch DONE, 2 messages" \
  bash -c "grep -q '^RESULT fetch DONE .*messages=2 ' '$RUN/uart.txt'"
for i in 1 2; do
  check "fetched message $i equals the delivered one byte for byte" \
    cmp -s "$RUN/fetched-$i.eml" "$RUN/expect/msg-$i.eml"
done
check "the mailbox is left whole (no DELE): 2 messages" \
  test "$(find "$MAILDIR1/new" "$MAILDIR1/cur" -type f | wc -l)" -eq 2
check "Dovecot saw the firmware log in over TLS (its log: Login user=<$USER1> ... TLS)" \
  grep -aq "Login: user=<$USER1>, method=PLAIN, .*TLS" "$DOVECOT_LOG"
check "send over STARTTLS with AUTH: RESULT send DONE" result send DONE
check "Postfix saw TLS 1.2 from the firmware, then SASL as $USER1 (its log)" \
  bash -c "grep -aq 'TLS connection established from .*TLSv1.2 with cipher ECDHE-' '$POSTFIX_LOG' && grep -aq 'sasl_username=$USER1' '$POSTFIX_LOG'"
# Postfix delivers to bob's Maildir; wait for it
for _ in $(seq 1 40); do
  n=$(find "$MAILDIR2/new" -type f 2>/dev/null | wc -l)
  [ "$n" -ge 1 ] && break
  sleep 0.5
done
delivered=$(find "$MAILDIR2/new" -type f 2>/dev/null | head -n 1)
check "Postfix delivered one message to $USER2" test -n "$delivered"
if [ -n "$delivered" ]; then
  cp "$delivered" "$RUN/delivered.eml"
  check "the delivered message is the one the firmware composed, byte for byte (after Postfix's trace headers)" \
    python3 - "$RUN/sent.eml" "$RUN/delivered.eml" <<'PY'
import sys
sent = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
got = open(sys.argv[2], "rb").read()
i = got.find(b"\nDate: ")
sys.exit(0 if sent.startswith(b"Date: ") and i >= 0 and got[i + 1:] == sent else 1)
PY
  check "its attachment sensor-log.bin holds the 24000 bytes the board made" \
    python3 - "$RUN/delivered.eml" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
want = bytes((i * 7 + 3) & 0xFF for i in range(24000))
parts = [p for p in m.iter_attachments() if p.get_filename() == "sensor-log.bin"]
ok = (m["Subject"] == "Postie firmware test" and len(parts) == 1
      and parts[0].get_content() == want
      and "composed on the board" in m.get_body(("plain",)).get_content())
sys.exit(0 if ok else 1)
PY
fi
check "a certificate that does not verify: RESULT badcert ERR_TLS_VERIFY" result badcert ERR_TLS_VERIFY
check "a server without STLS: RESULT nostls ERR_TLS_REQUIRED, and it sent no password" \
  bash -c "grep -q '^RESULT nostls ERR_TLS_REQUIRED' '$RUN/uart.txt' && ! grep -q 'nostls: got \\(USER\\|PASS\\)' '$RUN/guestfwd.log'"
check "a connection cut mid-RETR: RESULT cut ERR_CLOSED" result cut ERR_CLOSED
check "a path that stops passing bytes: RESULT stall ERR_TIMEOUT (5 s limit)" result stall ERR_TIMEOUT
grep '^MEASURE\|^RESULT' "$RUN/uart.txt" > "$OUT/firmware-figures.txt"
finish
