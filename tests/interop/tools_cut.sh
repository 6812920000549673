#!/usr/bin/env bash
# postie-fetch --delete, the connection cut at many points of a pipelined
# fetch, then a rerun with --delete: every message delivered exactly once and
# none deleted on the server before it is durable (issue 17).
#
# The server is tests/scripted/pop3_state_server.py: a maildrop that answers
# whatever comes (a cut run and its rerun send different commands), offers
# PIPELINING, removes messages only at QUIT, and checks at each DELE that the
# message is already in the Maildir's new/ (or cur/). 20 messages: the fetch
# pipelines RETRs in a window of 8 and sends the DELEs of the first batch of
# 16 while the last RETRs are in flight. An uncut run gives the outline of
# the server's output (byte offsets of each reply); the connection is then cut
# (FIN) before each reply, in its middle, and inside each RETR's terminator:
# during a RETR body, between RETRs, during the DELE replies, during QUIT's
# reply; also on QUIT with no reply with and without the server's update, and
# with a reset at a few points. After each cut: the cut run exits 0 or 75
# (EX_TEMPFAIL) within its timeout, the rerun exits 0, the Maildir holds each
# message once with its exact content, the maildrop is empty, and no DELE
# came before its message was durable.
#
# CUT_POINTS=named runs only one cut per kind (what tests/interop/valgrind.sh
# does, the tools being 20-50 times slower there). Needs no mail stack.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
FETCH=$BUILD/tools/postie-fetch
SERVER=$ROOT/tests/scripted/pop3_state_server.py
[ -x "$FETCH" ] || cmake --build "$BUILD" --target postie-fetch -j2 >/dev/null 2>&1 ||
  { echo "cannot build $FETCH" >&2; exit 1; }
WORK=$(mktemp -d "$BUILD/tools-cut.XXXXXX")
. "$ROOT/tests/interop/tool_wrap.sh"
FETCH=$(wrap_tool "$FETCH" "$WORK/bin")
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_STATE_HOME=$WORK/home/.state
mkdir -p "$HOME"
export POSTIE_PASSWORD=s3cret
failures=0; checks=0
ok()  { checks=$((checks + 1)); echo "ok - $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok - $*"; }
points=${CUT_POINTS:-all}
[ "$TOOL_WRAPPED" = 1 ] && points=${CUT_POINTS:-named}
N=20

# The messages: distinct, some with lines that start with "." (stuffed on the
# wire), one of 6 KB; CRLF line ends, as a maildrop serves them.
mkdir -p "$WORK/orig"
python3 - "$WORK/orig" "$N" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(1, n + 1):
    uid = "uid-%02d" % i
    lines = ["From: cut@postie.test", "X-Cut-Id: %s" % uid, "Subject: cut %d" % i, "",
             "body of message %d" % i]
    if i % 3 == 0:
        lines += [".a line that starts with a dot", "..two dots", "."]
    if i == 7:
        lines += ["%04d %s" % (k, "x" * 60) for k in range(100)]
    lines.append("end of %d" % i)
    with open(os.path.join(d, uid), "wb") as f:
        f.write(("\r\n".join(lines) + "\r\n").encode())
EOF

# One server process serves every run (tests/scripted/pop3_state_server.py
# --control): serve TAG [--cut SPEC] [--rst] [--outline F] sets up the next
# connection; served TAG waits for its end and sets SST (its status: 1 when a
# DELE came before its message was durable, or on an error).
rm -f "$WORK/port"
python3 "$SERVER" --mailbox "$WORK/box" --port-file "$WORK/port" --durable "$WORK/md" \
  --control "$WORK/control" --timeout 300 2>"$WORK/server.err" &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 1 400); do [ -s "$WORK/port" ] && break; sleep 0.025; done
PORT=$(cat "$WORK/port" 2>/dev/null)
[ -n "$PORT" ] || { echo "not ok - the state server did not start: $(cat "$WORK/server.err")"; echo "0 passed, 1 failed"; exit 1; }
serve() {
  local tag=$1 cut="" rst=0 outline="" durable=""; shift
  while [ $# -gt 0 ]; do
    case $1 in
      --cut) cut=$2; shift ;; --rst) rst=1 ;; --outline) outline=$2; shift ;; --durable) durable=$2; shift ;;
    esac
    shift
  done
  rm -f "$WORK/$tag.status"
  printf 'cut=%s\nrst=%s\nlog=%s\noutline=%s\nstatus=%s\ndurable=%s\n' "$cut" "$rst" "$WORK/$tag.log" \
    "$outline" "$WORK/$tag.status" "$durable" >"$WORK/control"
}
served() {
  local i
  for i in $(seq 1 2400); do [ -s "$WORK/$1.status" ] && break; sleep 0.025; done
  SST=$(cat "$WORK/$1.status" 2>/dev/null || echo "no status")
}
fetch() { # TAG: one postie-fetch --delete run against the server; sets RC
  timeout 120 "$FETCH" --host 127.0.0.1 --port "$PORT" --tls off --user u --timeout 20 \
    --maildir "$WORK/md" --state "$WORK/state" --delete -q >"$WORK/$1.out" 2>"$WORK/$1.err"
  RC=$?
}
fresh() { rm -rf "$WORK/box" "$WORK/md" "$WORK/state"; cp -r "$WORK/orig" "$WORK/box"; }

# The Maildir holds each original exactly once, byte for byte (LF line ends
# there): the sorted checksums of its files against the originals'; prints
# the difference in X-Cut-Id terms.
mkdir -p "$WORK/orig-lf"
for f in "$WORK"/orig/*; do tr -d '\r' <"$f" >"$WORK/orig-lf/${f##*/}"; done
(cd "$WORK/orig-lf" && sha256sum -- * | cut -c1-64 | sort) >"$WORK/want.sums"
exactly_once() {
  local got
  got=$(find "$WORK/md/new" "$WORK/md/cur" -type f -exec sha256sum {} + 2>/dev/null | cut -c1-64 | sort)
  [ "$got" = "$(cat "$WORK/want.sums")" ] && return 0
  echo "want $N messages once each, got $(find "$WORK/md/new" "$WORK/md/cur" -type f 2>/dev/null | wc -l):" \
    "$(cat "$WORK"/md/new/* "$WORK"/md/cur/* 2>/dev/null | sed -n 's/^X-Cut-Id: //p' | sort | uniq -c | tr -s ' \n' ' ')"
  return 1
}

# ---- the uncut run: the outline of the server's output ---------------------
fresh
serve full --outline "$WORK/outline"
fetch full
served full; sst=$SST
if [ "$RC" = 0 ] && [ "$sst" = 0 ] && exactly_once >/dev/null && [ -z "$(ls "$WORK/box")" ]; then
  ok "uncut pipelined fetch of $N messages with --delete: all delivered once, maildrop empty"
else
  bad "uncut fetch: exit $RC, server $sst: $(head -c 300 "$WORK/full.err") $(cat "$WORK/full.log")"
fi
echo "# uncut session: $(grep -c '^C: ' "$WORK/full.log") commands, $(tail -n 1 "$WORK/outline" | cut -d' ' -f2) bytes from the server"

# The checks can fail: a server that looks for the messages in another
# (empty) Maildir sees every DELE as premature, and a Maildir missing one
# message, or holding one twice, is not "exactly once".
fresh
mkdir -p "$WORK/empty/new"
serve selftest --durable "$WORK/empty"
fetch selftest
served selftest
if [ "$SST" = 1 ] && grep -q "VIOLATION: DELE 1 " "$WORK/selftest.log"; then
  ok "self-check: a DELE before the message is durable is caught"
else bad "self-check: premature DELE not caught (status $SST)"; fi
first=$(find "$WORK/md/new" -type f | head -n 1)
mv "$first" "$WORK/one"
if exactly_once >/dev/null; then bad "self-check: a missing message not caught"; else ok "self-check: a missing message is caught"; fi
cp "$WORK/one" "$first"; cp "$WORK/one" "$first.copy"
if exactly_once >/dev/null; then bad "self-check: a duplicate not caught"; else ok "self-check: a duplicate is caught"; fi

# ---- the cut points --------------------------------------------------------
# kind:spec:label, spec as pop3_state_server.py --cut (plus rst- for a reset)
cuts=()
while read -r start end label; do
  mid=$(( (start + end) / 2 ))
  case $label in
    RETR-*) cuts+=("retr-body:byte:$mid:in the body of $label" "between-retr:byte:$start:before $label"
                   "retr-end:byte:$((end - 2)):in $label's terminator") ;;
    DELE-*) cuts+=("dele:byte:$start:before $label's reply" "dele:byte:$mid:in $label's reply") ;;
    QUIT)   cuts+=("quit:byte:$start:before QUIT's reply (no update)" "quit:byte:$mid:in QUIT's reply (after the update)") ;;
    *)      cuts+=("session:byte:$start:before the $label reply" "session:byte:$mid:in the $label reply") ;;
  esac
done <"$WORK/outline"
cuts+=("quit:quit-noreply::QUIT unanswered, no update" "quit:quit-update::QUIT unanswered, after the update")
mid_of() { awk -v l="$1" '$3 == l { print int(($1 + $2) / 2) }' "$WORK/outline"; }
cuts+=("rst:byte:$(mid_of RETR-3):reset in the body of RETR-3" "rst:byte:$(mid_of DELE-2):reset in DELE-2's reply"
       "rst:byte:$(mid_of LIST):reset in the LIST reply")
if [ "$points" = named ]; then
  cuts=("retr-body:byte:$(mid_of RETR-3):in the body of RETR-3"
        "between-retr:byte:$(awk '$3 == "RETR-10" { print $1 }' "$WORK/outline"):before RETR-10"
        "dele:byte:$(mid_of DELE-5):in DELE-5's reply"
        "quit:byte:$(mid_of QUIT):in QUIT's reply (after the update)"
        "quit:quit-noreply::QUIT unanswered, no update"
        "rst:byte:$(mid_of RETR-12):reset in the body of RETR-12")
fi

declare -A kinds=()
nbad=0; n=0; t0=$SECONDS
for c in "${cuts[@]}"; do
  IFS=: read -r kind mode arg label <<<"$c"
  n=$((n + 1))
  args=(--cut "$mode${arg:+:$arg}")
  [ "$kind" = rst ] && args+=(--rst)
  fresh
  serve "cut$n" "${args[@]}"
  fetch "cut$n"; rc1=$RC
  served "cut$n"; s1=$SST
  on_server=$(ls "$WORK/box" | wc -l)
  serve "re$n"
  fetch "re$n"; rc2=$RC
  served "re$n"; s2=$SST
  why=""
  case $rc1 in 0|75) ;; *) why+=" cut run exit $rc1 ($(head -c 200 "$WORK/cut$n.err"));" ;; esac
  [ "$s1" = 0 ] || why+=" cut run's server: $(grep -h 'VIOLATION\|error' "$WORK/cut$n.log" | head -3) (status $s1);"
  [ "$rc2" = 0 ] || why+=" rerun exit $rc2 ($(head -c 200 "$WORK/re$n.err"));"
  [ "$s2" = 0 ] || why+=" rerun's server: $(grep -h 'VIOLATION\|error' "$WORK/re$n.log" | head -3) (status $s2);"
  once=$(exactly_once) || why+=" $once;"
  [ -z "$(ls "$WORK/box")" ] || why+=" left on the server: $(ls "$WORK/box" | tr '\n' ' ');"
  if [ -n "$why" ]; then
    nbad=$((nbad + 1))
    bad "cut $label (--cut ${args[*]}):$why"
  else
    kinds[$kind]=$(( ${kinds[$kind]:-0} + 1 ))
    echo "# cut $label: cut run exit $rc1, $on_server left on the server, rerun exit 0, $N delivered once"
  fi
done
if [ $nbad = 0 ]; then
  ok "$n cuts ($(for k in "${!kinds[@]}"; do printf '%s %s, ' "$k" "${kinds[$k]}"; done | sed 's/, $//')), each followed by a rerun: every message delivered exactly once, none deleted before it was durable ($((SECONDS - t0)) s)"
fi
for k in retr-body between-retr retr-end dele quit rst; do
  [ "$points" = named ] && [ "$k" = retr-end ] && continue
  if [ "${kinds[$k]:-0}" -gt 0 ]; then ok "cut kind '$k' covered (${kinds[$k]} cuts)"; else bad "cut kind '$k' not covered"; fi
done

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ] && rm -rf "$WORK"
[ "$failures" -eq 0 ]
