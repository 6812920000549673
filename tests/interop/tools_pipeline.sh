#!/usr/bin/env bash
# postie-fetch pipelining (RFC 2449 PIPELINING) against the test Dovecot,
# which announces it: the --trace dialogue shows several RETRs sent before
# the first reply and a batch's DELEs in a row; with --no-pipelining every
# command waits for the reply before it. Both ways, every message is
# delivered exactly once (checked by content) and none is left on the server.
# The window is octets in flight: more than 8 RETRs of small messages, two
# of 675 kB (2 MiB window), replayed from the trace. Under strace: every
# file fsynced before its rename, a batch's fsyncs in a row.
. "$(dirname "$0")/tools_lib.sh"
N=${PIPE_MESSAGES:-40}
export POSTIE_PASSWORD=$PASS1
mkdir -p "$WORK/msgs"
mk() { # seq
  {
    printf 'From: pipe@postie.test\r\nTo: %s\r\nSubject: pipe %s\r\nX-Pipe-Seq: %s\r\n\r\n' "$USER1" "$1" "$1"
    head -c $(( (RANDOM % 6 + 1) * 700 )) /dev/urandom | base64 | sed 's/$/\r/'
    printf '.dot line of %s\r\n' "$1"
  } > "$WORK/msgs/$1"
}
for i in $(seq 1 $((2 * N))); do mk "$i"; done

# exactly_once DIR FIRST LAST: each of FIRST..LAST once, byte for byte
exactly_once() {
  local dir=$1 first=$2 last=$3 f seq missing=0 dup=0 wrong=0
  declare -A seen
  for f in "$dir"/new/*; do
    seq=$(sed -n 's/^X-Pipe-Seq: //p' "$f" | head -1)
    [ -n "$seq" ] || { wrong=$((wrong + 1)); continue; }
    [ -n "${seen[$seq]:-}" ] && dup=$((dup + 1))
    seen[$seq]=1
    sed 's/\r$//' "$WORK/msgs/$seq" | cmp -s - "$f" || wrong=$((wrong + 1))
  done
  for i in $(seq "$first" "$last"); do [ -n "${seen[$i]:-}" ] || missing=$((missing + 1)); done
  check "  ... every message once ($missing missing, $dup twice, $wrong differ)" \
    all [ $missing = 0 ] -a [ $dup = 0 ] -a [ $wrong = 0 ] -a [ "$(nfiles "$dir/new")" = $((last - first + 1)) ]
}

# the longest run of consecutive client lines matching RE, with no server line between
longest_run() { # RE file
  grep -E '^(C|S): ' "$2" | awk -v re="$1" '
    /^C: / && $0 ~ re { n++; if (n > max) max = n; next }
    /^S: / { n = 0 }
    END { print max + 0 }'
}

# inflight TRACE: "RETRS OCTETS", the most RETRs sent whose reply had not
# begun to arrive, and the most octets (LIST sizes) those RETRs announced,
# replaying the --trace dialogue: every command gets one reply, in order;
# multi-line replies (CAPA, UIDL, LIST, RETR) run to a lone "."
inflight() {
  python3 - "$1" <<'PY'
import sys
multi = {"CAPA", "UIDL", "LIST", "RETR", "TOP"}
sizes, sent, body, listing = {}, [], None, False
most = octets = 0
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    line = line.rstrip("\n")
    if line.startswith("C: "):
        w = line[3:].split()
        if not w or w[0] == "<redacted>":
            continue
        sent.append((w[0].upper(), w[1:]))
        r = [a for c, a in sent if c == "RETR"]
        most = max(most, len(r))
        octets = max(octets, sum(sizes.get(int(a[0]), 0) for a in r))
    elif line.startswith("S: "):
        t = line[3:]
        if body is not None:
            if t == ".":
                body = None
            elif listing:
                n, sz = t.split()[:2]
                sizes[int(n)] = int(sz)
            continue
        if t.startswith("+ ") or t == "+" or not sent:
            continue  # a SASL continuation, the greeting
        cmd, args = sent.pop(0)
        if t.startswith("+OK") and cmd in multi and not (cmd in ("UIDL", "LIST") and args):
            body, listing = cmd, cmd == "LIST"
print(most, octets)
PY
}

# 1. pipelined
"$STACK" reset "$STACK_DIR" "$USER1"
"$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" 1 "$N") >/dev/null
expect_rc "fetch $N messages with --delete --trace (pipelined)" 0 \
  "$FETCH" $POP --user "$USER1" --maildir "$WORK/md1" --state "$WORK/st1" --delete --trace
cp "$WORK/err" "$WORK/trace1"
check "  ... Dovecot announces PIPELINING in CAPA" grep -qx 'S: PIPELINING' "$WORK/trace1"
retrs=$(longest_run '^C: RETR ' "$WORK/trace1")
deles=$(longest_run '^C: DELE ' "$WORK/trace1")
check "  ... several RETRs sent before the first reply ($retrs in a row)" [ "$retrs" -ge 4 ]
check "  ... a batch's DELEs sent in a row ($deles in a row)" [ "$deles" -ge 8 ]
check "  ... $N RETRs and $N DELEs, each once" all [ "$(grep -c '^C: RETR ' "$WORK/trace1")" = "$N" ] -a [ "$(grep -c '^C: DELE ' "$WORK/trace1")" = "$N" ]
first_dele=$(grep -nE '^C: DELE ' "$WORK/trace1" | head -1 | cut -d: -f1)
first_body=$(grep -nE '^S: X-Pipe-Seq: ' "$WORK/trace1" | head -1 | cut -d: -f1)
check "  ... the first DELE only after messages were received" [ "${first_dele:-0}" -gt "${first_body:-999999}" ]
check "  ... nothing left on the server" [ "$(server_count)" = 0 ]
check "  ... no pending entry left in the state" [ "$(grep -c '^P ' "$WORK/st1")" = 0 ]
exactly_once "$WORK/md1" 1 "$N"

# 2. the same path one command at a time
"$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" $((N + 1)) $((2 * N))) >/dev/null
expect_rc "fetch $N messages with --no-pipelining" 0 \
  "$FETCH" $POP --user "$USER1" --maildir "$WORK/md2" --state "$WORK/st2" --delete --trace --no-pipelining
cp "$WORK/err" "$WORK/trace2"
check "  ... every command waits for the reply before it" [ "$(longest_run '^C: ' "$WORK/trace2")" = 1 ]
check "  ... $N RETRs and $N DELEs" all [ "$(grep -c '^C: RETR ' "$WORK/trace2")" = "$N" ] -a [ "$(grep -c '^C: DELE ' "$WORK/trace2")" = "$N" ]
check "  ... nothing left on the server" [ "$(server_count)" = 0 ]
exactly_once "$WORK/md2" $((N + 1)) $((2 * N))

# 3. configuration: "pipelining no" in the account does the same
mkdir -p "$XDG_CONFIG_HOME/postie"
printf 'account t\nhost %s\nport %s\ntls off\nuser %s\npipelining no\n' "$STACK_HOST" "$POP3_PORT" "$USER1" > "$XDG_CONFIG_HOME/postie/config"
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK/msgs/1" "$WORK/msgs/2" "$WORK/msgs/3" >/dev/null
expect_rc "account with 'pipelining no'" 0 "$FETCH" --account t --maildir "$WORK/md3" --state "$WORK/st3" --trace
check "  ... one command at a time" all [ "$(longest_run '^C: ' "$WORK/err")" = 1 ] -a [ "$(grep -c '^C: RETR ' "$WORK/err")" = 3 ]
sed -i 's/pipelining no/pipelining maybe/' "$XDG_CONFIG_HOME/postie/config"
expect_rc "'pipelining maybe' is a configuration error" 78 "$FETCH" --account t --maildir "$WORK/md3" --state "$WORK/st3"
rm "$XDG_CONFIG_HOME/postie/config"
# 4. the window is octets, not a count: small messages keep more than 8
# RETRs in flight (up to the queue's POSTIE_POP3_PIPELINE_MAX commands, 255 by default) ...
"$STACK" reset "$STACK_DIR" "$USER1"
"$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" 1 "$N") >/dev/null
expect_rc "fetch $N small messages (--trace -v)" 0 \
  "$FETCH" $POP --user "$USER1" --maildir "$WORK/md4" --state "$WORK/st4" --trace -v
read -r most octets < <(inflight "$WORK/err")
check "  ... more than 8 RETRs in flight, at most the queue's 255 ($most; $octets octets)" \
  all [ "$most" -gt 8 ] -a [ "$most" -le 255 ]
check "  ... -v says how deep the window went" grep -q 'RETRs ([0-9]* octets) in flight' "$WORK/err"
exactly_once "$WORK/md4" 1 "$N"
# ... and large ones (about 675 kB each) are bounded by the 2 MiB window:
# three in flight, never four
mkdir -p "$WORK/big"
for i in 1 2 3 4 5 6 7 8; do
  { printf 'From: pipe@postie.test\r\nTo: %s\r\nSubject: big %s\r\nX-Pipe-Seq: big%s\r\n\r\n' "$USER1" "$i" "$i"
    head -c 500000 /dev/urandom | base64 | sed 's/$/\r/'; } > "$WORK/big/$i"
done
"$STACK" reset "$STACK_DIR" "$USER1"
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK"/big/* >/dev/null
expect_rc "fetch 8 messages of about 675 kB (--trace --delete)" 0 \
  "$FETCH" $POP --user "$USER1" --maildir "$WORK/md5" --state "$WORK/st5" --trace --delete
read -r most octets < <(inflight "$WORK/err")
check "  ... 3 RETRs in flight, their $octets octets within 2097152" \
  all [ "$most" = 3 ] -a [ "$octets" -le 2097152 ] -a [ "$octets" -gt 1500000 ]
check "  ... 8 messages delivered, none left on the server" \
  all [ "$(nfiles "$WORK/md5/new")" = 8 ] -a [ "$(server_count)" = 0 ]
bad_big=0
for i in 1 2 3 4 5 6 7 8; do
  f=$(grep -l "^X-Pipe-Seq: big$i\$" "$WORK"/md5/new/* | head -1)
  sed 's/\r$//' "$WORK/big/$i" | cmp -s - "${f:-/dev/null}" || bad_big=$((bad_big + 1))
done
check "  ... each byte for byte ($bad_big differ)" [ $bad_big = 0 ]
# ... and without PIPELINING the replay sees one command at a time
read -r most octets < <(inflight "$WORK/trace2")
check "  ... --no-pipelining: one RETR in flight ($most)" [ "$most" = 1 ]
# 5. the disk: each file is flushed (its own fsync, or a syncfs with no write
# to it since) before its pending entry is saved and before its rename into
# new/ (never skipped); the flushes run on the committing thread, which never
# reads the network (the main thread reads the next batch meanwhile); and no
# DELE goes out before the message
# it deletes is renamed into new/, new/ flushed (an fsync of it or a syncfs)
# and then recorded by a state save: at every write of DELEs, the DELEs sent
# so far are at most the files renamed before the last flush before the last
# state save. Seen with strace (-ff: one log per thread, merged by
# time). 2N messages, so more than one batch (64) is committed.
# (not under tests/interop/valgrind.sh: strace would see valgrind's own calls)
if [ "$TOOL_WRAPPED" = 0 ] && command -v strace >/dev/null && strace -o /dev/null true 2>/dev/null; then
  "$STACK" reset "$STACK_DIR" "$USER1"
  "$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" 1 $((2 * N))) >/dev/null
  # (LeakSanitizer cannot run under ptrace: a sanitizer build skips leak checks here)
  mkdir -p "$WORK/strace6"
  POSTIE_PASSWORD=$PASS1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -ff -ttt -T -s 4096 \
    -o "$WORK/strace6/t" -e trace=openat,close,fsync,fdatasync,syncfs,rename,read,recvfrom,sendto,write \
    "$FETCH" $POP --user "$USER1" --maildir "$WORK/md6" --state "$WORK/st6" --delete -q
  rc6=$?
  check "fetch $((2 * N)) messages under strace (exit $rc6)" all [ "$rc6" = 0 ] -a [ "$(nfiles "$WORK/md6/new")" = $((2 * N)) ]
  read -r renamed unsynced flushes mixed deles early < <(python3 - "$WORK/strace6" "$WORK/md6/tmp/" "$WORK/st6" <<'PY'
import os, re, sys
logdir, tmp, state = sys.argv[1], sys.argv[2], sys.argv[3]
events = []
for name in os.listdir(logdir):
    tid = name.rsplit(".", 1)[-1]
    for line in open(os.path.join(logdir, name), errors="replace"):
        m = re.match(r'(\d+\.\d+) (.*?)(?: <(\d+\.\d+)>)?$', line.rstrip("\n"))
        if m:
            t, call = float(m.group(1)), m.group(2)
            # -ttt stamps a call's entry. A file descriptor is handed out
            # when openat returns, so an openat is placed at its return
            # (-T: entry + duration): another thread's close of the same
            # number, which entered before that, then comes first, and the
            # merged order never pairs a number with the wrong file.
            if call.startswith("openat(") and m.group(3):
                t += float(m.group(3))
            events.append((t, tid, call))
events.sort(key=lambda e: e[0])
fds, synced, saved_after, written = {}, {}, set(), set()
renamed = unsynced = flushes = 0
sync_tids, read_tids = set(), set()
renamed_now = renamed_flushed = recorded = deles = early = 0
newdir = tmp[:-len("tmp/")] + "new"
for _, tid, line in events:
    m = re.search(r'^openat\(AT_FDCWD, "([^"]*)".* = (\d+)$', line)
    if m:
        fds[m.group(2)] = m.group(1); continue
    m = re.search(r'^close\((\d+)\)', line)
    if m:
        fds.pop(m.group(1), None); continue
    m = re.search(r'^f(?:data)?sync\((\d+)\)', line)
    if m:
        p = fds.get(m.group(1), "")
        if p.rstrip("/") == newdir:    # new/ synced: the renames so far are durable
            renamed_flushed = renamed_now
        if p.startswith(tmp):
            synced[p] = True; sync_tids.add(tid); flushes += 1
        continue
    if re.search(r'^syncfs\(', line):   # every file written so far, on its file system
        for p in written:
            synced[p] = True
        renamed_flushed = renamed_now      # and the renames into new/
        sync_tids.add(tid); flushes += 1
        continue
    if re.search(r'^(read|recvfrom)\(', line):
        if line.startswith("recvfrom("):
            read_tids.add(tid)
        continue
    m = re.search(r'^write\((\d+),', line)
    if m and fds.get(m.group(1), "").startswith(tmp):
        p = fds[m.group(1)]
        written.add(p); synced[p] = False   # dirty again: an earlier flush does not cover it
        continue
    m = re.search(r'^(sendto|write)\(\d+, "(.*)"', line)
    if m:
        n = m.group(2).count("DELE ")
        if n and m.group(2).startswith(("DELE ", "RETR ")):
            deles += n
            if deles > recorded:
                early += 1
        continue
    m = re.search(r'^rename\("([^"]*)", "([^"]*)"\)', line)
    if m:
        src, dst = m.groups()
        if dst == state:   # a state save: the pending entries of what is synced
            saved_after.update(p for p, v in synced.items() if v)
            recorded = renamed_flushed     # renamed, new/ flushed, then saved
        elif src.startswith(tmp):
            renamed += 1; renamed_now += 1
            if not synced.get(src) or src not in saved_after:
                unsynced += 1
print(renamed, unsynced, flushes, len(sync_tids & read_tids), deles, early)
PY
)
  check "  ... every file flushed, and its pending entry saved, before its rename ($renamed renamed, $unsynced not)" \
    all [ "$renamed" = $((2 * N)) ] -a [ "$unsynced" = 0 ]
  check "  ... the flushes ($flushes) on the committing thread, which never reads the network ($mixed)" \
    all [ "$flushes" -ge 1 ] -a [ "$mixed" = 0 ]
  check "  ... every DELE sent after its message was renamed, flushed and recorded ($deles DELEs, $early too early)" \
    all [ "$deles" = $((2 * N)) ] -a [ "$early" = 0 ]
  check "  ... nothing left on the server" [ "$(server_count)" = 0 ]
  # 7. without --delete no DELE follows the last batch, so QUIT goes out
  # while that batch is flushed on the committing thread (not after it);
  # the run still ends only once it is durable (every file flushed before
  # its rename, as above)
  "$STACK" reset "$STACK_DIR" "$USER1"
  "$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" 1 "$N") >/dev/null
  mkdir -p "$WORK/strace7"
  POSTIE_PASSWORD=$PASS1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 strace -ff -ttt -T -s 64 \
    -o "$WORK/strace7/t" -e trace=syncfs,fsync,fdatasync,sendto,write \
    "$FETCH" $POP --user "$USER1" --maildir "$WORK/md7" --state "$WORK/st7" --keep -q
  rc7=$?
  read -r quit_t last_flush_end < <(python3 - "$WORK/strace7" <<'PY'
import os, re, sys
quit_t, flush_end = None, 0.0
for name in os.listdir(sys.argv[1]):
    for line in open(os.path.join(sys.argv[1], name), errors="replace"):
        m = re.match(r'(\d+\.\d+) (\w+)\((.*?)(?: <(\d+\.\d+)>)?$', line.rstrip("\n"))
        if not m:
            continue
        t, call, rest = float(m.group(1)), m.group(2), m.group(3)
        if call in ("sendto", "write") and re.match(r'\d+, "QUIT\\r\\n"', rest):
            quit_t = t
        elif call in ("syncfs", "fsync", "fdatasync"):
            flush_end = max(flush_end, t + float(m.group(4) or 0))
print(quit_t if quit_t is not None else 0, flush_end)
PY
)
  check "--keep: $N messages under strace (exit $rc7)" all [ "$rc7" = 0 ] -a [ "$(nfiles "$WORK/md7/new")" = "$N" ]
  check "  ... QUIT sent before the last flush ended ($quit_t < $last_flush_end)" \
    python3 -c "import sys; q, f = map(float, sys.argv[1:]); sys.exit(not (0 < q < f))" "$quit_t" "$last_flush_end"
else
  echo "# strace cannot run here (or valgrind runs the tools): the flush and DELE order check is skipped"
fi
"$STACK" reset "$STACK_DIR" "$USER1"
finish
