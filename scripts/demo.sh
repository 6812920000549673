#!/usr/bin/env bash
# scripts/demo.sh BUILD_DIR - `make demo`: the command-line tools end to end.
#
#   1. starts the private loopback mail servers (scripts/teststack.sh) in
#      BUILD_DIR/demo-stack: Dovecot (POP3) and Postfix (SMTP);
#   2. draws a picture (a PNG of the Mandelbrot set, made by python3);
#   3. Bob sends it to Alice as an attachment with postie-send in compose
#      mode, over STARTTLS with SMTP authentication, the server certificate
#      checked against the stack's own CA;
#   4. Alice fetches her mail with postie-fetch over STLS into a Maildir;
#   5. prints what arrived (headers, MIME parts, the text), decodes the
#      attachment from the fetched message and compares it byte for byte
#      (sha256) with the file that was sent; checks in the servers' logs that
#      both sessions were encrypted and authenticated;
#   6. stops the servers (also on failure) and ends with one verdict line:
#      "DEMO PASSED: ..." (exit 0) or "DEMO FAILED: ..." (exit 1).
#
# Every file it makes is under BUILD_DIR: the work folder BUILD_DIR/demo
# (the picture, the note, the fetched Maildir, the decoded attachment) and
# the stack. The tools run with XDG_CONFIG_HOME and XDG_STATE_HOME in
# BUILD_DIR/demo, so the user's own configuration is neither read nor
# written. Runs as root (the servers need it). tests/interop/demo.sh runs it
# and checks the verdict.
#
# Uses ports from STACK_PORT_BASE (default 21200 here, so that the demo and
# the interop tests, which default to 21100, can run side by side).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=$(cd "$1" && pwd -P)
STACK=$BUILD/demo-stack
WORK=$BUILD/demo
SEND=$BUILD/tools/postie-send
FETCH=$BUILD/tools/postie-fetch
TESTSTACK=$ROOT/scripts/teststack.sh
export STACK_PORT_BASE=${STACK_PORT_BASE:-21200}
started=$SECONDS

for t in "$SEND" "$FETCH"; do
  [ -x "$t" ] || { echo "demo: $t is missing: build first (make build)"; echo "DEMO FAILED: the tools are not built"; exit 1; }
done
command -v python3 >/dev/null || { echo "DEMO FAILED: python3 is missing (scripts/install-deps.sh installs it)"; exit 1; }

# Paths as the user would type them: relative to the current folder when
# they are inside it.
here=$(pwd -P)
rel() { case $1 in "$here"/*) printf '%s\n' "${1#"$here"/}" ;; *) printf '%s\n' "$1" ;; esac; }
# Shows a command run with a password in POSTIE_PASSWORD (never shown), as
# it could be typed into a shell.
show() {
  local out="" a
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9@%+=:,./_-]+$ ]]; then out+=" $a"
    else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '$ POSTIE_PASSWORD=********%s\n' "$out"
}
indent() { sed 's/^/   /'; }

# On any failure: stop the servers, point at the logs, and say where it
# stopped as the last line.
step="checking the build"
verdict=""
finish() {
  local rc=$?
  "$TESTSTACK" stop "$STACK" >/dev/null 2>&1 || true
  if [ -z "$verdict" ]; then
    [ $rc -eq 0 ] && rc=1
    echo "   (the servers are stopped; their logs are in $(rel "$STACK")/log)"
    echo "DEMO FAILED: $step (exit $rc)"
  fi
  exit $rc
}
trap finish EXIT
trap 'exit 130' INT TERM
fail() { step="$step: $*"; exit 1; }

echo "Postie demo: postie-send -> Postfix (STARTTLS, AUTH) -> Maildir -> Dovecot -> postie-fetch (STLS)"
echo

step="starting the mail servers"
echo "== 1. Starting the loopback mail servers in $(rel "$STACK")"
"$TESTSTACK" start "$STACK" | indent
# shellcheck disable=SC1091
. "$STACK/env"

rm -rf "$WORK"
mkdir -p "$WORK/config" "$WORK/state" "$WORK/received"
export XDG_CONFIG_HOME=$WORK/config XDG_STATE_HOME=$WORK/state
unset POSTIE_PASSWORD
PICTURE=$WORK/mandelbrot.png
NOTE=$WORK/note.txt
INBOX=$WORK/inbox
CA=$(rel "$TLS_CA")
SUBJECT="Postie demo — a picture of the Mandelbrot set"

step="drawing the attachment"
python3 - "$PICTURE" <<'EOF'
# A 640x480 PNG of the Mandelbrot set, smooth colouring; standard library only.
import colorsys, math, struct, sys, zlib
W, H, N = 640, 480, 100
rows = []
for y in range(H):
    ci = (y - H / 2) * 2.5 / H
    row = bytearray(b"\x00")                    # PNG filter type 0 for the row
    for x in range(W):
        c = complex((x - W * 0.66) * 2.5 / H, ci)
        z = 0j
        for i in range(N):
            z = z * z + c
            a = z.real * z.real + z.imag * z.imag
            if a > 64.0:
                nu = i + 1 - math.log2(math.log2(a) / 2)
                r, g, b = colorsys.hsv_to_rgb((0.58 + nu / 40.0) % 1.0, 0.75, min(1.0, 0.25 + nu / 25.0))
                row += bytes((int(r * 255), int(g * 255), int(b * 255)))
                break
        else:
            row += b"\x10\x10\x30"
    rows.append(bytes(row))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))
with open(sys.argv[1], "wb") as f:
    f.write(png)
EOF
cat > "$NOTE" <<EOF
Hello Alice,

here is the picture I promised: the Mandelbrot set, 640 x 480 pixels,
drawn by a few lines of Python. It travelled from postie-send to Postfix
over STARTTLS, after an authenticated login, and you are reading it
through Dovecot and postie-fetch over STLS.

Bob
EOF
sent_sum=$(sha256sum "$PICTURE" | cut -d' ' -f1)
echo
echo "== 2. The attachment: $(rel "$PICTURE") (640x480 PNG, $(stat -c %s "$PICTURE") bytes)"
echo "   sha256 $sent_sum"

step="sending with postie-send"
echo
echo "== 3. Bob sends it to Alice with postie-send (SMTP port $SMTP_PORT: STARTTLS, then AUTH)"
send_cmd=("$(rel "$SEND")" --tls starttls --cafile "$CA" --host "$TLS_SERVER_NAME" --port "$SMTP_PORT"
          --user "$USER2" --from "$USER2" --to "$USER1" --subject "$SUBJECT"
          --body-file "$(rel "$NOTE")" --attach "$(rel "$PICTURE")" -v)
show "${send_cmd[@]}"
rc=0; POSTIE_PASSWORD=$PASS2 "${send_cmd[@]}" > "$WORK/send.out" 2>&1 || rc=$?
indent < "$WORK/send.out"
[ $rc -eq 0 ] || fail "postie-send exited with $rc"

step="waiting for Postfix to deliver"
t0=$(date +%s%N)
for _ in $(seq 1 150); do
  [ -n "$(find "$MAILDIR1/new" "$MAILDIR1/cur" -type f 2>/dev/null | head -n 1)" ] && break
  sleep 0.1
done
[ -n "$(find "$MAILDIR1/new" "$MAILDIR1/cur" -type f 2>/dev/null | head -n 1)" ] || fail "nothing arrived in 15 s"
echo "   (Postfix delivered it into Alice's mailbox on the server after $(( ($(date +%s%N) - t0) / 1000000 )) ms)"

step="fetching with postie-fetch"
echo
echo "== 4. Alice fetches her mail with postie-fetch (POP3 port $POP3_PORT: STLS, then login) into a Maildir"
fetch_cmd=("$(rel "$FETCH")" --tls starttls --cafile "$CA" --host "$TLS_SERVER_NAME" --port "$POP3_PORT"
           --user "$USER1" --maildir "$(rel "$INBOX")" -v)
show "${fetch_cmd[@]}"
rc=0; POSTIE_PASSWORD=$PASS1 "${fetch_cmd[@]}" > "$WORK/fetch.out" 2>&1 || rc=$?
indent < "$WORK/fetch.out"
[ $rc -eq 0 ] || fail "postie-fetch exited with $rc"
mapfile -t fetched < <(find "$INBOX/new" -type f)
[ ${#fetched[@]} -eq 1 ] || fail "${#fetched[@]} messages in $(rel "$INBOX")/new, expected 1"
MSG=${fetched[0]}

step="reading the fetched message"
echo
echo "== 5. What arrived: $(rel "$MSG") ($(stat -c %s "$MSG") bytes)"
rc=0
python3 - "$MSG" "$NOTE" "$WORK/received" "$SUBJECT" "$USER2" "$USER1" > "$WORK/inspect.out" 2>&1 <<'EOF' || rc=$?
import email, email.policy, os, struct, sys
path, note, outdir, subject, sender, rcpt = sys.argv[1:7]
m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
problems = []
for h in ("From", "To", "Subject", "Date", "Message-ID"):
    print("%-11s %s" % (h + ":", m.get(h, "(missing)")))
received = " ".join(str(m.get("Received", "")).split())
print("%-11s %s" % ("Received:", received))
if m.get("Subject") != subject: problems.append("the subject differs")
if sender not in str(m.get("From")): problems.append("From is not " + sender)
if rcpt not in str(m.get("To")): problems.append("To is not " + rcpt)
# Postfix writes "with ESMTPSA" for a session that was encrypted (S) and
# authenticated (A) (RFC 3848).
if " with ESMTPSA " not in received: problems.append("Received does not say ESMTPSA (TLS + AUTH)")
print()
print("MIME structure:")
for part in m.walk():
    line = "  " + part.get_content_type()
    if part.is_multipart():
        print(line)
        continue
    payload = part.get_payload(decode=True) or b""
    cte = part.get("Content-Transfer-Encoding", "7bit")
    fn = part.get_filename()
    print("    %s%s, %s, %d bytes decoded" % (part.get_content_type(),
          ' "%s" (%s)' % (fn, part.get_content_disposition()) if fn else "", cte, len(payload)))
body = m.get_body(("plain",))
text = body.get_content() if body else ""
print()
print("The text:")
for l in text.rstrip("\n").split("\n"):
    print("  | " + l)
if text.replace("\r\n", "\n").strip() != open(note, encoding="utf-8").read().strip():
    problems.append("the text differs from the note that was sent")
atts = list(m.iter_attachments())
if len(atts) != 1:
    problems.append("%d attachments, expected 1" % len(atts))
else:
    a = atts[0]
    data = a.get_content()
    name = os.path.basename(a.get_filename() or "attachment")
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)
    if a.get_content_type() != "image/png": problems.append("the attachment is " + a.get_content_type())
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        print()
        print("Decoded the attachment %s: a %dx%d PNG image" % (name, w, h))
    else:
        problems.append("the attachment is not a PNG image")
for p in problems:
    print("PROBLEM: " + p)
sys.exit(1 if problems else 0)
EOF
indent < "$WORK/inspect.out"
[ $rc -eq 0 ] || fail "the message is not what was sent (see above)"

step="comparing the attachment"
GOT=$WORK/received/$(basename "$PICTURE")
[ -f "$GOT" ] || fail "no attachment named $(basename "$PICTURE") was decoded"
got_sum=$(sha256sum "$GOT" | cut -d' ' -f1)
echo
echo "== 6. The attachment, checked byte for byte"
echo "   sent:     $sent_sum  $(rel "$PICTURE")"
echo "   received: $got_sum  $(rel "$GOT")"
{ [ "$got_sum" = "$sent_sum" ] && cmp -s "$PICTURE" "$GOT"; } || fail "the decoded attachment differs from the file that was sent"
echo "   identical ($(stat -c %s "$GOT") bytes)"

step="checking the servers' logs"
echo
echo "== 7. What the servers logged"
# The log daemons may write a moment later than the clients finished.
smtp_log="" pop_log=""
for _ in $(seq 1 30); do
  smtp_log=$(grep -h "sasl_username=$USER2" "$POSTFIX_LOG" 2>/dev/null | tail -n 1 || true)
  pop_log=$(grep -h "Login: user=<$USER1>" "$DOVECOT_LOG" 2>/dev/null | tail -n 1 || true)
  [ -n "$smtp_log" ] && [ -n "$pop_log" ] && break
  sleep 0.1
done
# The TLS handshake of the session that authenticated as Bob: same smtpd
# process, before the login.
pid=$(sed -n 's/.*postfix\/smtpd\[\([0-9]*\)\]: .*/\1/p' <<<"$smtp_log")
tls_log=$(awk -v p="smtpd[$pid]:" -v u="sasl_username=$USER2" \
  'index($0, p) { if (index($0, "TLS connection established")) t = $0; if (index($0, u)) { print t; exit } }' \
  "$POSTFIX_LOG" 2>/dev/null || true)
echo "   Postfix: ${tls_log#*postfix/}" | sed 's/ (256\/256 bits).*//; s/ key-exchange.*//'
echo "   Postfix: ${smtp_log#*postfix/}"
echo "   Dovecot: ${pop_log#*Info: }" | sed 's/, session=.*//'
[ -n "$smtp_log" ] || fail "Postfix logged no authenticated session for $USER2"
[ -n "$tls_log" ] || fail "Postfix logged no TLS handshake for the session of $USER2"
[[ $pop_log == *", TLS,"* ]] || fail "Dovecot did not log a TLS login for $USER1"

step="stopping the servers"
echo
echo "== Stopping the servers"
"$TESTSTACK" stop "$STACK" | indent
verdict="DEMO PASSED: sent with postie-send over STARTTLS + AUTH, fetched with postie-fetch over STLS, attachment identical (sha256 ${sent_sum:0:16}...), $((SECONDS - started)) s"
echo "$verdict"
