#!/usr/bin/env bash
# Postie and its peers over a slow link: the loopback test stack seen
# through bench/delay_proxy (each chunk held DELAY_MS in each direction:
# 10 ms each way = 20 ms of round trip; no netem), and the same POP3 run on
# plain loopback:
#   1. POP3: 1,000 messages of 10,000 octets into a Maildir: postie-fetch
#      (fsync per message), mpop (maildir delivery, fsync), fetchmail (an MDA
#      writing a Maildir file, no fsync), curl (pop3://.../[1-1000], one RETR
#      per URL on one reused connection, no fsync), at 20 ms RTT; then on
#      loopback, plain and STLS (postie-fetch, mpop; curl and fetchmail
#      plain only); then postie-fetch and mpop again into a Maildir on tmpfs
#      (/dev/shm), where an fsync is free: the share of the network;
#   2. SMTP: 100 messages of about 2 KB on one connection at 20 ms RTT:
#      bench_session smtp-batch (postie_smtp_send_batch) to Postfix with
#      CHUNKING and to a second smtpd without it (PIPELINING only), and with
#      512-octet messages, postie-send --batch (both servers), the older
#      one-message-at-a-time bench_session smtp, smtp-source -d, curl (the
#      100 files uploaded on one reused connection), msmtp (one connection a
#      message: it has no multi-message mode).
# Medians of RUNS (default 5) runs, the POP3 ones in interleaved rounds (each
# round runs every POP3 variant once); the slow peers (fetchmail, curl,
# msmtp at 20 ms) SLOW_RUNS (default 3). ONLY=pop3 runs the POP3 part alone. Peers missing are installed from Debian
# (apt-get install -y mpop fetchmail curl msmtp) when INSTALL_PEERS=1 (the
# default), else skipped and said so.
#
#   bash bench/run-latency.sh [BUILD_DIR]     (default build/bench; as root)
#
# Environment: STACK_PORT_BASE (default 21300), RUNS, SLOW_RUNS, DELAY_MS
# (default 10), INSTALL_PEERS, ONLY, BEFORE (another postie-fetch binary,
# e.g. an older build, run beside the current one in every POP3 round). Ports: the stack's (base+10 POP3, base+25
# SMTP), a second smtpd without CHUNKING (the stack's SMTP_NOCHUNKING_PORT when
# it has one, else base+42, added to the running
# stack's own master.cf here, gone when the stack stops), the proxies at
# base+50 (POP3), base+51 (SMTP), base+52 (SMTP without CHUNKING). Every
# proxy has a bounded lifetime (PROXY_LIFETIME, default 1800 s) and is
# stopped by its pid at the end. Only 127.0.0.1 is used.
# Output: the runs in BUILD_DIR/results/latency.log, the table in
# BUILD_DIR/results/latency.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=${1:-$ROOT/build/bench}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd -P)
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
DELAY_MS=${DELAY_MS:-10}
INSTALL_PEERS=${INSTALL_PEERS:-1}
ONLY=${ONLY:-}
BEFORE=${BEFORE:-}
PROXY_LIFETIME=${PROXY_LIFETIME:-1800}
export STACK_PORT_BASE=${STACK_PORT_BASE:-21300}
BASE=$STACK_PORT_BASE
NOCHUNK_PORT=$((BASE + 42))
PX_POP3=$((BASE + 50))
PX_SMTP=$((BASE + 51))
PX_NOCHUNK=$((BASE + 52))
NMSG=1000
MSGSIZE=10000
NSMTP=100
SMTPSIZE=2048
STACK=$BUILD/latency-stack
TESTSTACK=$ROOT/scripts/teststack.sh
RESULTS=$BUILD/results
LOG=$RESULTS/latency.log
mkdir -p "$RESULTS"

[ "$(id -u)" -eq 0 ] || { echo "run-latency: must run as root (the test stack does)" >&2; exit 1; }

for t in bench_session delay_proxy; do
  if [ ! -x "$BUILD/bench/$t" ] || [ ! -x "$BUILD/tools/postie-fetch" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPOSTIE_BUILD_BENCH=ON \
          -DPOSTIE_BUILD_TESTS=OFF -DPOSTIE_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$BUILD" -j2 >/dev/null
    break
  fi
done
BS=$BUILD/bench/bench_session
PROXY=$BUILD/bench/delay_proxy
FETCH=$BUILD/tools/postie-fetch

# ------------------------------------------------------------------ peers --
missing=()
for p in mpop fetchmail curl msmtp; do command -v "$p" >/dev/null || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ] && [ "$INSTALL_PEERS" = 1 ]; then
  echo "run-latency: installing ${missing[*]} (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
    echo "run-latency: apt-get install ${missing[*]} failed; those peers are skipped"
fi
have() { command -v "$1" >/dev/null; }

work=$(mktemp -d)
shm=""
pids=()
cleanup() {
  local p
  [ -n "$shm" ] && rm -rf "$shm"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$TESTSTACK" stop "$STACK" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
"$TESTSTACK" start "$STACK"
set -a
# shellcheck disable=SC1091
. "$STACK/env"
set +a

# A second smtpd without CHUNKING (PIPELINING only): the stack's own when it
# has one (SMTP_NOCHUNKING_PORT in its env), else added here to the running
# stack's runtime copy of master.cf (stop removes it).
if [ -n "${SMTP_NOCHUNKING_PORT:-}" ]; then
  NOCHUNK_PORT=$SMTP_NOCHUNKING_PORT
else
  PFCONF=$STACK_RUNTIME/conf/postfix
  printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_discard_ehlo_keywords=chunking\n' \
    "$NOCHUNK_PORT" >> "$PFCONF/master.cf"
  postfix -c "$PFCONF" reload >/dev/null 2>&1
fi

wait_port() {
  local _
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "run-latency: nothing listens on 127.0.0.1:$1" >&2
  exit 1
}
start_proxy() { # listen target
  "$PROXY" "$1" "$2" "$DELAY_MS" "$PROXY_LIFETIME" >>"$work/proxy.out" 2>&1 &
  pids+=($!)
  wait_port "$1"
}
wait_port "$NOCHUNK_PORT"
start_proxy "$PX_POP3" "$POP3_PORT"
start_proxy "$PX_SMTP" "$SMTP_PORT"
start_proxy "$PX_NOCHUNK" "$NOCHUNK_PORT"

nop() { :; }

# ---------------------------------------------------------------- messages --
python3 - "$work" "$NMSG" "$MSGSIZE" <<'EOF'
import os, random, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(20261206)
alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 +/=-"
os.makedirs(os.path.join(d, "msgs"))
for i in range(n):
    head = ("From: <bench@postie.test>\r\nTo: <alice@postie.test>\r\n"
            "Subject: latency bench %d\r\nMessage-ID: <lat.%d@postie.test>\r\n\r\n" % (i, i))
    body, k = [], len(head)
    while k < size:
        line = "".join(rnd.choice(alphabet) for _ in range(min(76, max(0, size - k - 2))))
        body.append(line)
        k += len(line) + 2
    with open(os.path.join(d, "msgs", "%04d.eml" % i), "w", newline="") as f:
        f.write(head + "\r\n".join(body) + "\r\n")
EOF
"$TESTSTACK" deliver "$STACK" "$USER1" "$work"/msgs/*.eml >/dev/null

# RTT actually seen through the proxy (and on plain loopback): median of 50
# NOOPs to Dovecot after a login, one at a time.
rtt_ms() { # port
  python3 - "$1" "$USER1" "$PASS1" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
f.readline()
for c in ("USER " + sys.argv[2], "PASS " + sys.argv[3]):
    s.sendall(c.encode() + b"\r\n")
    assert f.readline().startswith(b"+OK")
ts = []
for _ in range(50):
    t = time.monotonic(); s.sendall(b"NOOP\r\n"); assert f.readline().startswith(b"+OK")
    ts.append(time.monotonic() - t)
s.sendall(b"QUIT\r\n"); f.readline()
ts.sort(); print("%.3f" % (ts[25] * 1000))
EOF
}
RTT_PROXY=$(rtt_ms "$PX_POP3")
RTT_LOOP=$(rtt_ms "$POP3_PORT")
awk -v r="$RTT_PROXY" -v d="$DELAY_MS" 'BEGIN { exit !(r >= 2 * d && r < 2 * d + 10) }' ||
  { echo "run-latency: the round trip through the proxy is $RTT_PROXY ms, not about $((2 * DELAY_MS)) ms" >&2; exit 1; }

: > "$LOG"
echo "round trip: through the proxy ${RTT_PROXY} ms, plain loopback ${RTT_LOOP} ms (median of 50 POP3 NOOPs)" | tee -a "$LOG"

# timed NAME RUNS PREP CMD...: runs PREP then CMD (timed) RUNS times; adds
# each time to those of NAME so far (the POP3 rounds call it once a round)
# and sets MED[NAME] to their median; a failing run aborts the script.
declare -A MED TS
timed() {
  local name=$1 n=$2 prep=$3; shift 3
  local i t0 t1 ts=()
  read -r -a ts <<<"${TS[$name]:-}"
  for i in $(seq "$n"); do
    $prep
    t0=$(date +%s.%N)
    if ! "$@" >>"$work/cmd.out" 2>&1; then
      echo "run-latency: $name failed:" >&2
      tail -n 20 "$work/cmd.out" >&2
      exit 1
    fi
    t1=$(date +%s.%N)
    ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
  done
  TS[$name]="${ts[*]}"
  MED[$name]=$(printf '%s\n' "${ts[@]}" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : sprintf("%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2)}')
  echo "$name: ${ts[*]} -> median ${MED[$name]} s" | tee -a "$LOG"
}
count_check() { # name dir: every message must have arrived
  local got
  got=$(find "$2" -type f | wc -l)
  [ "$got" -eq "$NMSG" ] || { echo "run-latency: $1 delivered $got of $NMSG messages" >&2; exit 1; }
}

# ------------------------------------------------------------------- POP3 --
MD=$work/maildir
# The last run's Maildir is moved aside, not removed: its 1,000 files are
# removed only at the end (cleanup). Removing them just before the next run
# made that run's file creations slow on this machine's ext4, which skips
# inodes freed in the last minutes when it picks one for a new file
# (recently_deleted() in perf's profile of open(O_CREAT)): each of the next
# run's 1,000 creations walked past the freed ones, about 1 ms each, for
# whichever program ran next. Real deliveries do not follow a mass removal.
nfresh=0
fresh() {
  nfresh=$((nfresh + 1))
  [ -d "$MD" ] && mv "$MD" "$(dirname "$MD")/old.$nfresh"
  rm -f "$work/state" "$work/mpop-uidls" "$work/fetchids"
  mkdir -p "$MD"/{tmp,new,cur}
}

fetch_postie() { # port tls [binary]
  local extra=()
  [ "$2" = starttls ] && extra=(--cafile "$TLS_CA")
  POSTIE_PASSWORD=$PASS1 "${3:-$FETCH}" --host 127.0.0.1 --port "$1" --user "$USER1" --tls "$2" \
    "${extra[@]}" --maildir "$MD" --all --keep --state "$work/state" -q
}
mpop_conf() { # port tls -> file
  local f=$work/mpop.$1.$2
  {
    echo "account bench"
    echo "host 127.0.0.1"
    echo "port $1"
    echo "user $USER1"
    echo "password $PASS1"
    if [ "$2" = off ]; then echo "tls off"; echo "auth user"
    else echo "tls on"; echo "tls_starttls on"; echo "tls_trust_file $TLS_CA"; echo "tls_host_override localhost"; echo "auth user"; fi
    echo "keep on"
    echo "only_new off"
    echo "uidls_file $work/mpop-uidls"
    echo "delivery maildir $MD"
    echo "received_header off"
  } > "$f"
  chmod 600 "$f"
  echo "$f"
}
fetch_mpop() { mpop -C "$1" -q bench; }
fetchmail_rc() { # port
  local f=$work/fetchmailrc.$1
  printf 'poll 127.0.0.1 port %s proto pop3 user "%s" password "%s" keep fetchall sslproto "" mda "%s"\n' \
    "$1" "$USER1" "$PASS1" "$work/mda.sh" > "$f"
  chmod 600 "$f"
  echo "$f"
}
# fetchmail's MDA: each message into a new Maildir file (no fsync, as fetchmail's own delivery)
# shellcheck disable=SC2016 # $f is the MDA's own variable
printf '#!/bin/sh\nf=$(mktemp "%s/tmp/m.XXXXXXXX") && cat > "$f" && mv "$f" "%s/new/"\n' "$MD" "$MD" > "$work/mda.sh"
chmod 755 "$work/mda.sh"
fetch_fetchmail() { fetchmail -f "$1" --nosyslog --idfile "$work/fetchids" -s; }
netrc=$work/netrc
printf 'machine 127.0.0.1 login %s password %s\n' "$USER1" "$PASS1" > "$netrc"
chmod 600 "$netrc"
fetch_curl() { # port: one RETR per URL, the connection reused by curl
  curl -sS --netrc-file "$netrc" "pop3://127.0.0.1:$1/[1-$NMSG]" -o "$MD/new/#1"
}

# The disk's share: writing the same 1,000 files into a folder on the same
# file system, with an fsync each (and of the folder at the end), and with one
# sync() at the end instead.
ndisk=0
disk_write() { # fsync|sync (each run into a folder of its own, as fresh())
  ndisk=$((ndisk + 1))
  python3 - "$work/disk.$ndisk" "$NMSG" "$MSGSIZE" "$1" <<'PYEOF'
import os, sys
d, n, size, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(d)
data = b"x" * size
for i in range(n):
    fd = os.open(os.path.join(d, "%d" % i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    if mode == "fsync":
        os.fsync(fd)
    os.close(fd)
if mode == "fsync":
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
else:
    os.sync()
PYEOF
}
# Interleaved rounds: each round runs every POP3 variant once (the disk, then
# postie-fetch and mpop at 20 ms RTT, on loopback plain and STLS, and on
# tmpfs), so a change of the machine's load or of the shared disk's speed
# during the run hits every program alike; the medians are over the rounds.
# The slow peers (fetchmail, curl at 20 ms RTT) run after the rounds.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
  shm=$(mktemp -d -p /dev/shm postie-latency.XXXXXXXX)
fi
for round in $(seq "$RUNS"); do
  echo "== POP3 round $round of $RUNS (load average $(cut -d' ' -f1-3 /proc/loadavg)); $NMSG x $MSGSIZE octets into a Maildir" | tee -a "$LOG"
  MD=$work/maildir
  timed disk-fsync-each 1 nop disk_write fsync
  timed disk-one-sync 1 nop disk_write sync
  timed pop3-rtt-postie 1 fresh fetch_postie "$PX_POP3" off; count_check postie "$MD/new"
  if have mpop; then timed pop3-rtt-mpop 1 fresh fetch_mpop "$(mpop_conf "$PX_POP3" off)"; count_check mpop "$MD/new"; fi
  timed pop3-loop-postie 1 fresh fetch_postie "$POP3_PORT" off; count_check postie "$MD/new"
  timed pop3-loop-postie-stls 1 fresh fetch_postie "$POP3_PORT" starttls; count_check postie "$MD/new"
  if [ -n "$BEFORE" ]; then
    timed pop3-rtt-before 1 fresh fetch_postie "$PX_POP3" off "$BEFORE"; count_check before "$MD/new"
    timed pop3-loop-before 1 fresh fetch_postie "$POP3_PORT" off "$BEFORE"; count_check before "$MD/new"
    timed pop3-loop-before-stls 1 fresh fetch_postie "$POP3_PORT" starttls "$BEFORE"; count_check before "$MD/new"
  fi
  if have mpop; then
    timed pop3-loop-mpop 1 fresh fetch_mpop "$(mpop_conf "$POP3_PORT" off)"; count_check mpop "$MD/new"
    timed pop3-loop-mpop-stls 1 fresh fetch_mpop "$(mpop_conf "$POP3_PORT" starttls)"; count_check mpop "$MD/new"
  fi
  if have curl; then timed pop3-loop-curl 1 fresh fetch_curl "$POP3_PORT"; count_check curl "$MD/new"; fi
  # The same into a Maildir on tmpfs, where an fsync costs next to nothing:
  # what the network and the programs cost without the disk (the durability
  # steps are all still taken).
  if [ -n "$shm" ]; then
    MD=$shm/maildir
    timed pop3-shm-rtt-postie 1 fresh fetch_postie "$PX_POP3" off; count_check postie "$MD/new"
    if have mpop; then timed pop3-shm-rtt-mpop 1 fresh fetch_mpop "$(mpop_conf "$PX_POP3" off)"; count_check mpop "$MD/new"; fi
    timed pop3-shm-loop-postie 1 fresh fetch_postie "$POP3_PORT" off; count_check postie "$MD/new"
    timed pop3-shm-loop-postie-stls 1 fresh fetch_postie "$POP3_PORT" starttls; count_check postie "$MD/new"
    if [ -n "$BEFORE" ]; then
      timed pop3-shm-rtt-before 1 fresh fetch_postie "$PX_POP3" off "$BEFORE"; count_check before "$MD/new"
      timed pop3-shm-loop-before 1 fresh fetch_postie "$POP3_PORT" off "$BEFORE"; count_check before "$MD/new"
    fi
    if have mpop; then
      timed pop3-shm-loop-mpop 1 fresh fetch_mpop "$(mpop_conf "$POP3_PORT" off)"; count_check mpop "$MD/new"
      timed pop3-shm-loop-mpop-stls 1 fresh fetch_mpop "$(mpop_conf "$POP3_PORT" starttls)"; count_check mpop "$MD/new"
    fi
    rm -rf "$shm"/old.* # tmpfs: removing is free
  fi
done
MD=$work/maildir
echo "== POP3, the slow peers (load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$LOG"
if [ "$SLOW_RUNS" -gt 0 ]; then # SLOW_RUNS=0: skipped
  if have fetchmail; then timed pop3-rtt-fetchmail "$SLOW_RUNS" fresh fetch_fetchmail "$(fetchmail_rc "$PX_POP3")"; count_check fetchmail "$MD/new"; fi
  if have curl; then timed pop3-rtt-curl "$SLOW_RUNS" fresh fetch_curl "$PX_POP3"; count_check curl "$MD/new"; fi
  if have fetchmail; then timed pop3-loop-fetchmail "$SLOW_RUNS" fresh fetch_fetchmail "$(fetchmail_rc "$POP3_PORT")"; fi
fi

# ------------------------------------------------------------------- SMTP --
if [ "$ONLY" != pop3 ]; then
# To the sink account (delivered into its Maildir by the stack's Postfix).
echo "== SMTP at ${RTT_PROXY} ms RTT: $NSMTP messages of about $SMTPSIZE octets, one connection" | tee -a "$LOG"
bs_batch() { # label port [size]
  echo "-- $1" | tee -a "$work/bs.out" >> "$LOG"
  "$BS" smtp-batch 127.0.0.1 "$2" bench@postie.test "$SINK" "$NSMTP" --runs "$RUNS" --size "${3:-$SMTPSIZE}" | tee -a "$work/bs.out" >> "$LOG"
}
bs_field() { # label key
  awk -v l="-- $1" -v k="$2" '$0 == l {on = 1; next} /^-- / {on = 0}
    on && /^smtp-batch / { for (i = 1; i <= NF; i++) if (split($i, a, "=") == 2 && a[1] == k) print a[2] }' "$work/bs.out"
}
bs_batch chunking "$PX_SMTP"
bs_batch pipelining "$PX_NOCHUNK"
# the same on plain loopback: what the server's own work per message costs
bs_batch loop-chunking "$SMTP_PORT"
bs_batch loop-pipelining "$NOCHUNK_PORT"
# messages small enough that several fit in the client's output queue
# (POSTIE_CMD_MAX octets)
bs_batch small-chunking "$PX_SMTP" 512
bs_batch small-pipelining "$PX_NOCHUNK" 512
[ "$(bs_field chunking chunking)" = 1 ] || { echo "run-latency: Postfix did not offer CHUNKING" >&2; exit 1; }
if [ "$(bs_field pipelining chunking)" != 0 ] || [ "$(bs_field pipelining pipelining)" != 1 ]; then
  echo "run-latency: the second smtpd offers CHUNKING or no PIPELINING" >&2; exit 1
fi
echo "postie send_batch on loopback: CHUNKING total $(bs_field loop-chunking median_s) s (batch $(bs_field loop-chunking batch_s) s); PIPELINING only total $(bs_field loop-pipelining median_s) s (batch $(bs_field loop-pipelining batch_s) s)" | tee -a "$LOG"
echo "postie send_batch: CHUNKING total $(bs_field chunking median_s) s (batch $(bs_field chunking batch_s) s); PIPELINING only total $(bs_field pipelining median_s) s (batch $(bs_field pipelining batch_s) s)" | tee -a "$LOG"
timed smtp-rtt-postie-one-by-one "$RUNS" nop "$BS" smtp 127.0.0.1 "$PX_SMTP" bench@postie.test "$SINK" "$NSMTP" --runs 1 --size "$SMTPSIZE"
timed smtp-rtt-smtp-source "$RUNS" nop smtp-source -d -m "$NSMTP" -l "$SMTPSIZE" -f bench@postie.test -t "$SINK" "127.0.0.1:$PX_SMTP"
# the same message file for curl and msmtp
python3 - "$work/smtp.eml" "$SMTPSIZE" "$SINK" <<'EOF'
import sys
head = "From: <bench@postie.test>\r\nTo: <%s>\r\nSubject: postie bench\r\n\r\n" % sys.argv[3]
line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
body = ""
while len(head) + len(body) + len(line) <= int(sys.argv[2]):
    body += line
open(sys.argv[1], "w", newline="").write(head + body)
EOF
for i in $(seq "$NSMTP"); do ln -sf "$work/smtp.eml" "$work/smtp.$i.eml"; done
SEND=$BUILD/tools/postie-send
send_batch_tool() { # port: postie-send --batch, every file over one connection
  local files=() i
  for i in $(seq "$NSMTP"); do files+=("$work/smtp.$i.eml"); done
  "$SEND" --host 127.0.0.1 --port "$1" --tls off --batch -q "${files[@]}"
}
if "$SEND" --help 2>&1 | grep -q -- '--batch'; then
  timed smtp-rtt-postie-send "$RUNS" nop send_batch_tool "$PX_SMTP"
  timed smtp-rtt-postie-send-pipelining "$RUNS" nop send_batch_tool "$PX_NOCHUNK"
fi
if have curl; then
  timed smtp-rtt-curl "$SLOW_RUNS" nop curl -sS "smtp://127.0.0.1:$PX_SMTP" --mail-from bench@postie.test \
    --mail-rcpt "$SINK" -T "$work/smtp.[1-$NSMTP].eml"
fi
msmtp_all() {
  local i
  for i in $(seq "$NSMTP"); do
    msmtp --host=127.0.0.1 --port="$PX_SMTP" --tls=off --auth=off --from=bench@postie.test "$SINK" < "$work/smtp.eml" || return 1
  done
}
if have msmtp; then timed smtp-rtt-msmtp "$SLOW_RUNS" nop msmtp_all; fi

fi # ONLY

# ------------------------------------------------------------------ table --
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a / b }'; }
per_msg_rtt() { awk -v t="$1" -v r="$RTT_PROXY" -v n="$NSMTP" 'BEGIN { if (t == "") print ""; else printf "%.2f", t * 1000 / r / n }'; }
val() { echo "${MED[$1]:-}"; }
cell() { local v; v=$(val "$1"); [ -n "$v" ] && echo "$v s" || echo "not installed"; }
pp=$(val pop3-rtt-postie)
{
  echo "Round trip through the proxy: ${RTT_PROXY} ms (plain loopback ${RTT_LOOP} ms), median of 50 POP3 NOOPs."
  echo
  echo "| POP3, $NMSG × $MSGSIZE octets into a Maildir | median | peer ÷ postie (above 1: postie faster) | fsync per message |"
  echo "|---|---:|---:|---|"
  echo "| the disk alone: $NMSG files written, fsync each | $(cell disk-fsync-each) | | yes |"
  echo "| the disk alone: $NMSG files written, one sync at the end | $(cell disk-one-sync) | | no |"
  echo "| postie-fetch, ${RTT_PROXY} ms RTT | $(cell pop3-rtt-postie) | | yes |"
  echo "| mpop, ${RTT_PROXY} ms RTT | $(cell pop3-rtt-mpop) | $(ratio "$(val pop3-rtt-mpop)" "$pp") | yes |"
  echo "| fetchmail (MDA), ${RTT_PROXY} ms RTT, $SLOW_RUNS runs | $(cell pop3-rtt-fetchmail) | $(ratio "$(val pop3-rtt-fetchmail)" "$pp") | no |"
  echo "| curl (RETR per URL), ${RTT_PROXY} ms RTT, $SLOW_RUNS runs | $(cell pop3-rtt-curl) | $(ratio "$(val pop3-rtt-curl)" "$pp") | no |"
  echo "| postie-fetch, loopback | $(cell pop3-loop-postie) | | yes |"
  echo "| postie-fetch, loopback, STLS | $(cell pop3-loop-postie-stls) | | yes |"
  echo "| mpop, loopback | $(cell pop3-loop-mpop) | $(ratio "$(val pop3-loop-mpop)" "$(val pop3-loop-postie)") | yes |"
  echo "| mpop, loopback, STLS | $(cell pop3-loop-mpop-stls) | $(ratio "$(val pop3-loop-mpop-stls)" "$(val pop3-loop-postie-stls)") | yes |"
  echo "| fetchmail (MDA), loopback, $SLOW_RUNS runs | $(cell pop3-loop-fetchmail) | $(ratio "$(val pop3-loop-fetchmail)" "$(val pop3-loop-postie)") | no |"
  echo "| curl, loopback | $(cell pop3-loop-curl) | $(ratio "$(val pop3-loop-curl)" "$(val pop3-loop-postie)") | no |"
  if [ -n "$BEFORE" ]; then
    echo "| postie-fetch before (\`$BEFORE\`), ${RTT_PROXY} ms RTT | $(cell pop3-rtt-before) | $(ratio "$(val pop3-rtt-before)" "$pp") | yes |"
    echo "| postie-fetch before, loopback | $(cell pop3-loop-before) | $(ratio "$(val pop3-loop-before)" "$(val pop3-loop-postie)") | yes |"
    echo "| postie-fetch before, loopback, STLS | $(cell pop3-loop-before-stls) | $(ratio "$(val pop3-loop-before-stls)" "$(val pop3-loop-postie-stls)") | yes |"
    echo "| postie-fetch before, ${RTT_PROXY} ms RTT, Maildir on tmpfs | $(cell pop3-shm-rtt-before) | $(ratio "$(val pop3-shm-rtt-before)" "$(val pop3-shm-rtt-postie)") | yes (free) |"
    echo "| postie-fetch before, loopback, Maildir on tmpfs | $(cell pop3-shm-loop-before) | $(ratio "$(val pop3-shm-loop-before)" "$(val pop3-shm-loop-postie)") | yes (free) |"
  fi
  if [ -n "$(val pop3-shm-rtt-postie)" ]; then
    echo "| postie-fetch, ${RTT_PROXY} ms RTT, Maildir on tmpfs | $(cell pop3-shm-rtt-postie) | | yes (free) |"
    echo "| mpop, ${RTT_PROXY} ms RTT, Maildir on tmpfs | $(cell pop3-shm-rtt-mpop) | $(ratio "$(val pop3-shm-rtt-mpop)" "$(val pop3-shm-rtt-postie)") | yes (free) |"
    echo "| postie-fetch, loopback, Maildir on tmpfs | $(cell pop3-shm-loop-postie) | | yes (free) |"
    echo "| postie-fetch, loopback, STLS, Maildir on tmpfs | $(cell pop3-shm-loop-postie-stls) | | yes (free) |"
    echo "| mpop, loopback, Maildir on tmpfs | $(cell pop3-shm-loop-mpop) | $(ratio "$(val pop3-shm-loop-mpop)" "$(val pop3-shm-loop-postie)") | yes (free) |"
    echo "| mpop, loopback, STLS, Maildir on tmpfs | $(cell pop3-shm-loop-mpop-stls) | $(ratio "$(val pop3-shm-loop-mpop-stls)" "$(val pop3-shm-loop-postie-stls)") | yes (free) |"
  fi
  echo
  [ "$ONLY" = pop3 ] || {
  echo "| SMTP at ${RTT_PROXY} ms RTT, $NSMTP × ~$SMTPSIZE octets | median, whole connection | RTT a message (whole connection) | send_batch() alone | RTT a message (send_batch alone) |"
  echo "|---|---:|---:|---:|---:|"
  echo "| postie send_batch, CHUNKING (BDAT) | $(bs_field chunking median_s) s | $(per_msg_rtt "$(bs_field chunking median_s)") | $(bs_field chunking batch_s) s | $(per_msg_rtt "$(bs_field chunking batch_s)") |"
  echo "| postie send_batch, PIPELINING only | $(bs_field pipelining median_s) s | $(per_msg_rtt "$(bs_field pipelining median_s)") | $(bs_field pipelining batch_s) s | $(per_msg_rtt "$(bs_field pipelining batch_s)") |"
  echo "| postie send_batch, CHUNKING, 100 × ~$(bs_field small-chunking size) octets | $(bs_field small-chunking median_s) s | $(per_msg_rtt "$(bs_field small-chunking median_s)") | $(bs_field small-chunking batch_s) s | $(per_msg_rtt "$(bs_field small-chunking batch_s)") |"
  echo "| postie send_batch, PIPELINING only, 100 × ~$(bs_field small-pipelining size) octets | $(bs_field small-pipelining median_s) s | $(per_msg_rtt "$(bs_field small-pipelining median_s)") | $(bs_field small-pipelining batch_s) s | $(per_msg_rtt "$(bs_field small-pipelining batch_s)") |"
  echo "| postie send_batch, CHUNKING, plain loopback (no proxy) | $(bs_field loop-chunking median_s) s | | $(bs_field loop-chunking batch_s) s | |"
  echo "| postie send_batch, PIPELINING only, plain loopback (no proxy) | $(bs_field loop-pipelining median_s) s | | $(bs_field loop-pipelining batch_s) s | |"
  echo "| postie send_buf, one message at a time (CHUNKING offered, unused) | $(cell smtp-rtt-postie-one-by-one) | $(per_msg_rtt "$(val smtp-rtt-postie-one-by-one)") | | |"
  if [ -n "$(val smtp-rtt-postie-send)" ]; then
    echo "| postie-send --batch (process, files read, CHUNKING) | $(cell smtp-rtt-postie-send) | $(per_msg_rtt "$(val smtp-rtt-postie-send)") | | |"
    echo "| postie-send --batch, PIPELINING only | $(cell smtp-rtt-postie-send-pipelining) | $(per_msg_rtt "$(val smtp-rtt-postie-send-pipelining)") | | |"
  fi
  echo "| smtp-source -d (one connection) | $(cell smtp-rtt-smtp-source) | $(per_msg_rtt "$(val smtp-rtt-smtp-source)") | | |"
  echo "| curl, 100 uploads on one reused connection, $SLOW_RUNS runs | $(cell smtp-rtt-curl) | $(per_msg_rtt "$(val smtp-rtt-curl)") | | |"
  echo "| msmtp, one connection a message, $SLOW_RUNS runs | $(cell smtp-rtt-msmtp) | $(per_msg_rtt "$(val smtp-rtt-msmtp)") | | |"
  echo
  }
  echo "Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)."
} | tee "$RESULTS/latency.md"
