#!/usr/bin/env bash
# poll_many.sh BUILD_DIR - the many-sessions example (examples/poll_many.c)
# against the real Dovecot and Postfix: POLL_MANY_SESSIONS (default 200) POP3
# fetches and as many SMTP sends at once, on one thread, every 4th session of
# each kind upgraded with STLS/STARTTLS and its certificate checked against
# the test CA for the stack's host name.
#
# Checks: every POP3 session fetched every message of the prepared mailbox
# (UIDL, RETR each, no DELE) and each message's SHA-256 equals that of the
# Maildir file as POP3 serves it (LF -> CRLF); every SMTP session got 250 and
# each message is on disk in the sink's Maildir with the bytes sent (after
# the trace headers Postfix adds); the servers' logs show the TLS sessions.
# Run by tests/interop/run.sh (which sources the stack's env file).
set -u
BUILD=$(cd "$1" && pwd -P)
N=${POLL_MANY_SESSIONS:-200}
TLS_EVERY=4
PROG=$BUILD/examples/poll_many
WORK=$BUILD/poll_many
rm -rf "$WORK"; mkdir -p "$WORK"

fails=0; passes=0
ok() { echo "ok - $*"; passes=$((passes + 1)); }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }
finish() { echo "$passes passed, $fails failed"; [ "$fails" -eq 0 ]; exit $?; }

[ -x "$PROG" ] || { notok "examples/poll_many is built ($PROG)"; finish; }
# under tests/interop/valgrind.sh the program runs through a wrapper (tool_wrap.sh)
. "$(dirname "$0")/tool_wrap.sh"
PROG=$(wrap_tool "$PROG" "$WORK/bin")

# The mailbox every POP3 session reads: known messages of several shapes
# (dot-stuffed lines, a bare "." line, long lines, 200 KB, an empty body).
python3 - "$WORK" <<'EOF'
import random, sys
w = sys.argv[1]
r = random.Random(12)
msgs = [
    "Subject: small\n\nhello\n",
    "Subject: dots\n\n.one\n..two\n.\nend\n",
    "Subject: long lines\n\n" + "".join("x" * 990 + "\n" for _ in range(50)),
    "Subject: big\n\n" + "".join(("." if i % 9 == 0 else "") + "y" * r.randint(0, 120) + "\n"
                                 for i in range(3500)),
    "Subject: empty body\n\n",
]
for i, m in enumerate(msgs):
    open("%s/msg%d.eml" % (w, i), "w").write(m)
EOF
"$STACK_SCRIPT" reset "$STACK_DIR" "$USER1" >/dev/null &&
  "$STACK_SCRIPT" reset "$STACK_DIR" "$SINK" >/dev/null &&
  "$STACK_SCRIPT" deliver "$STACK_DIR" "$USER1" "$WORK"/msg*.eml > "$WORK/delivered" ||
  { notok "mailboxes prepared"; finish; }

tls_pop3_before=$(grep -c "Login: user=<$USER1>.*, TLS" "$DOVECOT_LOG" 2>/dev/null)
tls_smtp_before=$(grep -c "TLS connection established from" "$POSTFIX_LOG" 2>/dev/null)

start=$(date +%s%N)
POLL_MANY_PASS=$PASS1 "$PROG" --host "$STACK_HOST" --pop3 "$N" --pop3-port "$POP3_PORT" \
  --smtp "$N" --smtp-port "$SMTP_PORT" --user "$USER1" --from "$USER1" --to "$SINK" \
  --tls-every "$TLS_EVERY" --ca "$TLS_CA" --name "$TLS_SERVER_NAME" --tag "run$$" \
  --timeout 60000 > "$WORK/out" 2> "$WORK/err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
grep '^#' "$WORK/out"
grep '^fail' "$WORK/out" | head -n 20 | sed 's/^/# /'
sed 's/^/# stderr: /' "$WORK/err" | head -n 5
if [ $rc -eq 0 ]; then ok "poll_many ran $N POP3 + $N SMTP sessions on one thread ($ms ms)"
else notok "poll_many exit status $rc (0 expected)"; fi

# Every outcome against the Maildirs (Postfix may still be delivering: wait).
pyout=$(python3 - "$WORK/out" "$MAILDIR1" "$MAILDIR_SINK" "$N" "run$$" <<'EOF'
import hashlib, os, sys, time
out, box, sink, n, tag = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

# POP3: the mailbox as POP3 serves it, by UIDL (= file name before ":2,")
want = {}
for d in ("new", "cur"):
    for f in os.listdir(os.path.join(box, d)):
        data = open(os.path.join(box, d, f), "rb").read()
        want[f.split(":")[0]] = hashlib.sha256(crlf(data)).hexdigest()
got, done, sent = {}, {}, {}
for line in open(out):
    w = line.split()
    if w[:1] == ["pop3"] and len(w) == 4 and w[2] == "done":
        done[int(w[1])] = int(w[3])
    elif w[:1] == ["pop3"] and len(w) == 5:
        got.setdefault(int(w[1]), {})[w[2]] = w[4]
    elif w[:1] == ["smtp"] and len(w) == 5:
        sent[int(w[1])] = (w[2], w[3], w[4])
bad = [i for i in range(n) if done.get(i) != len(want) or got.get(i) != want]
check(len(want) == 5 and not bad,
      "%d POP3 sessions each fetched all %d messages byte-identical to the Maildir files%s"
      % (n, len(want), " (wrong: sessions %s)" % bad[:10] if bad else ""))

# SMTP: every message got 250 and is delivered with the bytes sent
bad = [i for i in range(n) if i not in sent or sent[i][1] != "250"]
check(not bad, "%d SMTP sessions each got 250 for their recipient%s"
      % (n, " (wrong: %s)" % bad[:10] if bad else ""))
mark = ("X-Poll-Many: %s " % tag).encode()
deadline, found = time.time() + 120, {}
while True:
    for d in ("new", "cur"):
        for f in os.listdir(os.path.join(sink, d)):
            if f in found:
                continue
            data = open(os.path.join(sink, d, f), "rb").read()
            at = data.find(mark)
            if at >= 0:
                k = int(data[at + len(mark):data.index(b"\n", at)])
                found[f] = (k, hashlib.sha256(crlf(data[at:])).hexdigest())
    if len(found) >= n or time.time() > deadline:
        break
    time.sleep(0.2)
by_id = {}
for k, h in found.values():
    by_id.setdefault(k, []).append(h)
bad = [i for i in range(n) if i not in sent or by_id.get(i) != [sent[i][2]]]
check(not bad, "%d messages delivered into the sink's Maildir, each once, with the bytes sent%s"
      % (n, " (wrong: %s)" % bad[:10] if bad else ""))
EOF
)
echo "$pyout"
passes=$((passes + $(grep -c '^ok - ' <<< "$pyout")))
fails=$((fails + $(grep -c '^not ok - ' <<< "$pyout")))
[ -n "$pyout" ] || notok "the outcomes could be checked"

tls_pop3=$(($(grep -c "Login: user=<$USER1>.*, TLS" "$DOVECOT_LOG") - tls_pop3_before))
tls_smtp=$(($(grep -c "TLS connection established from" "$POSTFIX_LOG") - tls_smtp_before))
want_tls=$(((N + TLS_EVERY - 1) / TLS_EVERY))
if [ "$tls_pop3" -ge "$want_tls" ]; then ok "Dovecot logged $tls_pop3 POP3 logins over TLS (STLS), $want_tls expected"
else notok "Dovecot logged $tls_pop3 POP3 logins over TLS, $want_tls expected"; fi
if [ "$tls_smtp" -ge "$want_tls" ]; then ok "Postfix logged $tls_smtp TLS sessions (STARTTLS), $want_tls expected"
else notok "Postfix logged $tls_smtp TLS sessions, $want_tls expected"; fi
# The certificate is really checked: another CA, or another name, fails
# every TLS session with ERR_TLS_VERIFY before a credential is sent.
for bad in "--ca $TLS_OTHER_CA --name $TLS_SERVER_NAME" "--ca $TLS_CA --name wrong.example"; do
  # shellcheck disable=SC2086
  POLL_MANY_PASS=$PASS1 "$PROG" --host "$STACK_HOST" --pop3 2 --pop3-port "$POP3_PORT" \
    --smtp 2 --smtp-port "$SMTP_PORT" --user "$USER1" --from "$USER1" --to "$SINK" \
    --tls-every 1 $bad --timeout 20000 > "$WORK/bad" 2>&1
  rc=$?
  nfail=$(grep -c '^fail .* ERR_TLS_VERIFY ' "$WORK/bad")
  if [ $rc -ne 0 ] && [ "$nfail" -eq 4 ]; then ok "TLS sessions refused with ERR_TLS_VERIFY ($bad)"
  else notok "TLS sessions with $bad: exit $rc, $nfail of 4 refused with ERR_TLS_VERIFY"; sed 's/^/# /' "$WORK/bad"; fi
done
# The loop's clock: a server that accepts and never speaks fails every
# session with ERR_TIMEOUT after the idle limit, and the loop ends.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
end = time.time() + 30
while time.time() < end:
    s.settimeout(0.5)
    try: held.append(s.accept()[0])
    except socket.timeout: pass
' > "$WORK/silent.port" &
silent=$!
for _ in $(seq 50); do [ -s "$WORK/silent.port" ] && break; sleep 0.1; done
t0=$(date +%s%N)
POLL_MANY_PASS=x "$PROG" --pop3 3 --pop3-port "$(cat "$WORK/silent.port")" --user u \
  --timeout 1000 > "$WORK/silent" 2>&1
rc=$?
t_ms=$((($(date +%s%N) - t0) / 1000000))
kill "$silent" 2>/dev/null; wait "$silent" 2>/dev/null
nto=$(grep -c '^fail pop3 .* ERR_TIMEOUT ' "$WORK/silent")
if [ $rc -ne 0 ] && [ "$nto" -eq 3 ] && [ $t_ms -ge 1000 ] && [ $t_ms -lt 10000 ]; then
  ok "a silent server: 3 sessions fail with ERR_TIMEOUT after the 1 s idle limit ($t_ms ms)"
else
  notok "a silent server: exit $rc, $nto of 3 ERR_TIMEOUT, $t_ms ms"; sed 's/^/# /' "$WORK/silent"
fi
finish
