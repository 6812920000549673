#!/usr/bin/env bash
# End-to-end benchmark of the blocking clients against real servers on
# loopback (127.0.0.1 only), with bench_session:
#   1. POP3: 1,000 small messages, then one 20 MB message, fetched from
#      Dovecot (scripts/teststack.sh) with a 4096-byte read buffer;
#   2. SMTP: 1,000 messages on one connection to Postfix's smtp-sink, then to
#      the real Postfix of the test stack (delivering into a Maildir);
#   3. peak RSS of bench_session for one small message and for the 20 MB one.
# Each figure is the median of RUNS runs (default 5) of the whole exchange.
#
#   bash bench/run-session.sh [BUILD_DIR]      (default build/bench; as root)
#
# Environment: STACK_PORT_BASE (default 21300; POP3 is base+10, SMTP base+25,
# smtp-sink base+40), RUNS. The stack lives in BUILD_DIR/bench-stack and is
# always stopped at the end; smtp-sink is started here under `timeout` and
# stopped by its pid. Output: the runs, then a Markdown table (also written
# to BUILD_DIR/results/session.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
BUILD=${1:-$ROOT/build/bench}
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd -P)
RUNS=${RUNS:-5}
export STACK_PORT_BASE=${STACK_PORT_BASE:-21300}
SINK_PORT=$((STACK_PORT_BASE + 40))
BIN=$BUILD/bench/bench_session
STACK=$BUILD/bench-stack
TESTSTACK=$ROOT/scripts/teststack.sh
RESULTS=$BUILD/results
mkdir -p "$RESULTS"

[ "$(id -u)" -eq 0 ] || { echo "run-session: must run as root (the test stack does)" >&2; exit 1; }
command -v smtp-sink >/dev/null || { echo "run-session: smtp-sink not found (package postfix)" >&2; exit 1; }
if [ ! -x "$BIN" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPOSTIE_BUILD_BENCH=ON \
        -DPOSTIE_BUILD_TESTS=OFF -DPOSTIE_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$BUILD" --target bench_session -j2 >/dev/null
fi

work=$(mktemp -d)
sink_pid=""
cleanup() {
  if [ -n "$sink_pid" ] && kill -0 "$sink_pid" 2>/dev/null; then kill "$sink_pid" 2>/dev/null || true; fi
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

# ---------------------------------------------------------------- messages --
# 1,000 small messages (300..3,000 octets of 76-character lines) and one of
# 20,000,000 octets; one line in 40 starts with '.', so the server stuffs it.
python3 - "$work" <<'EOF'
import os, random, sys
d = sys.argv[1]
rnd = random.Random(20261122)
alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 +/=-"
def body(size):
    lines, n, i = [], 0, 0
    while n < size:
        line = bytes(rnd.choice(alphabet) for _ in range(76)) if size < 100000 else \
               alphabet[i % 40:] + alphabet[:i % 40] + alphabet[:76 - len(alphabet)]
        if i % 40 == 7:
            line = b"." + line[1:]
        lines.append(line)
        n += len(line) + 2
        i += 1
    return b"\r\n".join(lines) + b"\r\n"
def message(i, size):
    head = (b"From: <bench@postie.test>\r\nTo: <alice@postie.test>\r\n"
            b"Subject: bench message %d\r\nMessage-ID: <bench.%d@postie.test>\r\n\r\n" % (i, i))
    return head + body(size - len(head))
os.makedirs(os.path.join(d, "small"))
for i in range(1000):
    with open(os.path.join(d, "small", "%04d.eml" % i), "wb") as f:
        f.write(message(i, rnd.randint(300, 3000)))
# exactly 20,000,000 octets as served (CRLF line ends)
m = message(0, 20000000)[:20000000 - 2]
if m.endswith(b"\r"):
    m = m[:-1] + b"x"
m += b"\r\n"
assert len(m) == 20000000
with open(os.path.join(d, "large.eml"), "wb") as f:
    f.write(m)
EOF
"$TESTSTACK" deliver "$STACK" "$USER1" "$work"/small/*.eml >/dev/null
"$TESTSTACK" deliver "$STACK" "$USER2" "$work/large.eml" >/dev/null
"$TESTSTACK" deliver "$STACK" "$SINK" "$work/small/0000.eml" >/dev/null

log=$RESULTS/session.log
: > "$log"
run() { # label, command...
  local label=$1; shift
  echo "== $label" | tee -a "$log"
  "$@" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "run-session: $label failed" >&2; exit 1; }
}
field() { # label key: value of key=... in the summary line of that label
  awk -v l="== $1" -v k="$2" '$0 == l {on = 1; next} /^== / {on = 0}
    on && /^(pop3|smtp) / { for (i = 1; i <= NF; i++) if (split($i, a, "=") == 2 && a[1] == k) print a[2] }' "$log"
}

run "pop3 1 small" "$BIN" pop3 127.0.0.1 "$POP3_PORT" "$SINK" "$SINK_PASS" --runs 1 --buf 4096
run "pop3 1000 small" "$BIN" pop3 127.0.0.1 "$POP3_PORT" "$USER1" "$PASS1" --runs "$RUNS" --buf 4096
run "pop3 20 MB" "$BIN" pop3 127.0.0.1 "$POP3_PORT" "$USER2" "$PASS2" --runs "$RUNS" --buf 4096
"$TESTSTACK" reset "$STACK" "$SINK"

# smtp-sink: loopback only, bounded by `timeout`, stopped by its pid after
# its runs (and by the exit trap in any case). (Not -M: it exits on the last
# message without answering its dot.)
timeout 600 smtp-sink -u nobody "127.0.0.1:$SINK_PORT" 64 >"$work/smtp-sink.out" 2>&1 &
sink_pid=$!
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$SINK_PORT") 2>/dev/null && break
  sleep 0.1
done
run "smtp-sink 1000" "$BIN" smtp 127.0.0.1 "$SINK_PORT" bench@postie.test "$SINK" 1000 --runs "$RUNS"
kill "$sink_pid" 2>/dev/null || true
wait "$sink_pid" 2>/dev/null || true
sink_pid=""

t0=$(date +%s.%N)
run "postfix 1000" "$BIN" smtp 127.0.0.1 "$SMTP_PORT" bench@postie.test "$SINK" 1000 --runs "$RUNS"
t1=$(date +%s.%N)
want=$((RUNS * 1000)); got=0
for _ in $(seq 600); do
  got=$(find "$MAILDIR_SINK/new" "$MAILDIR_SINK/cur" -type f | wc -l)
  [ "$got" -ge "$want" ] && break
  sleep 0.2
done
t2=$(date +%s.%N)
echo "postfix: $got of $want messages in the Maildir; the last $(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}') s after the last run ended ($(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.1f", b - a}') s after the first began)" | tee -a "$log"
[ "$got" -ge "$want" ] || { echo "run-session: Postfix did not deliver every message" >&2; exit 1; }

{
  echo "| exchange | runs | median time (s) | messages/s | MB/s | peak RSS (KiB) |"
  echo "|---|---:|---:|---:|---:|---:|"
  for l in "pop3 1 small" "pop3 1000 small" "pop3 20 MB"; do
    echo "| POP3 fetch, $(field "$l" messages) message(s), $(field "$l" bytes) octets, 4096-byte reads | $(field "$l" runs) | $(field "$l" median_s) | $(field "$l" messages_per_s) | $(field "$l" MB_per_s) | $(field "$l" peak_rss_kib) |"
  done
  echo "| SMTP send to smtp-sink, 1000 messages of $(field "smtp-sink 1000" size) octets, one connection | $(field "smtp-sink 1000" runs) | $(field "smtp-sink 1000" median_s) | $(field "smtp-sink 1000" messages_per_s) | | $(field "smtp-sink 1000" peak_rss_kib) |"
  echo "| SMTP send to Postfix smtpd, 1000 messages of $(field "postfix 1000" size) octets, one connection | $(field "postfix 1000" runs) | $(field "postfix 1000" median_s) | $(field "postfix 1000" messages_per_s) | | $(field "postfix 1000" peak_rss_kib) |"
  echo
  echo "Load average (1, 5, 15 min) at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)."
} | tee "$RESULTS/session.md"
