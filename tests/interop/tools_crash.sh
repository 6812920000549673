#!/usr/bin/env bash
# Crash safety of postie-fetch --delete: 300 messages through the kill points,
# 400 more for 20 SIGKILLs at random
# moments (each followed by a rerun that may itself be killed), then a run
# to completion. Every message must be delivered exactly once (checked by
# content) and none left on the server.
. "$(dirname "$0")/tools_lib.sh"
# The kill points live only in the test build of postie-fetch (testhook.h).
FETCH_SHIPPED=$BUILD/tools/postie-fetch
FETCH=$BUILD/tools/postie-fetch-test
[ -x "$FETCH" ] || cmake --build "$BUILD" --target postie-fetch-test -j2 >/dev/null 2>&1 ||
  { echo "cannot build $FETCH" >&2; exit 1; }
check "the shipped postie-fetch has no kill points" \
  bash -c "! grep -q POSTIE_FETCH_TEST_KILL '$FETCH_SHIPPED'"
check "the test build has them" grep -q POSTIE_FETCH_TEST_KILL "$FETCH"
FETCH=$(wrap_tool "$FETCH" "$WORK/bin") # under valgrind.sh (tool_wrap.sh)
N=${CRASH_MESSAGES:-300}
KILLS=${CRASH_KILLS:-20}
RANDOM=${CRASH_SEED:-$$}
echo "# seed $RANDOM"

"$STACK" reset "$STACK_DIR" "$USER1"
mkdir -p "$WORK/msgs"
mk() { # seq: 2-40 kB (base64 of random bytes: every message differs)
  {
    printf 'From: crash@postie.test\r\nTo: %s\r\nSubject: crash %s\r\nX-Crash-Seq: %s\r\n\r\n' "$USER1" "$1" "$1"
    head -c $(( (RANDOM % 38 + 2) * 1024 )) /dev/urandom | base64 | sed 's/$/\r/'
    printf 'end of %s\r\n' "$1"
  } > "$WORK/msgs/$1"
}
for i in $(seq 1 "$N"); do mk "$i"; done
"$STACK" deliver "$STACK_DIR" "$USER1" "$WORK"/msgs/* >/dev/null
export POSTIE_PASSWORD=$PASS1
run() { "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --state "$WORK/state" --delete -q; }

# First the windows that matter, deterministically: the process kills
# itself (POSTIE_FETCH_TEST_KILL=PHASE:N, at the Nth batch's PHASE) after a
# batch's group flush (its files fsynced, no pending entry saved yet), at
# the second batch's pending save, after the first batch's renames, and
# after its delivered save, before its DELEs are queued (the
# DELE-before-QUIT window is tested after the random kills, as it comes at
# the end of a run). A batch (64 messages) is committed on its own thread
# while the main thread reads the next one into tmp/, so each kill also
# finds the next batch half-read. After each kill: every file in new/ is a
# message, once (none twice, none half-written), and nothing was deleted.
new_seqs() { # the X-Crash-Seq of every file in new/, one a line
  local f
  for f in "$WORK"/md/new/*; do [ -e "$f" ] && sed -n 's/^X-Crash-Seq: //p' "$f" | head -1; done
}
delivered_before=0
for pk in synced:1 pending:2 renamed:1 recorded:1; do
  phase=${pk%%:*}
  POSTIE_FETCH_TEST_KILL=$pk "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --state "$WORK/state" --delete -q 2>>"$WORK/runs.err"
  st=$?
  nnew=$(find "$WORK/md/new" -type f | wc -l)
  if [ $st = 137 ]; then ok "killed at '$pk' ($nnew delivered, $(server_count) on the server)"
  else bad "kill point '$pk' not reached (exit $st)"; fi
  ndistinct=$(new_seqs | sort -u | wc -l)
  nbad=0
  for f in "$WORK"/md/new/*; do
    [ -e "$f" ] || continue
    seq=$(sed -n 's/^X-Crash-Seq: //p' "$f" | head -1)
    sed 's/\r$//' "$WORK/msgs/${seq:-none}" 2>/dev/null | cmp -s - "$f" || nbad=$((nbad + 1))
  done
  check "  ... new/ holds whole messages, each once ($nnew files, $ndistinct distinct, $nbad not whole), none deleted" \
    all [ "$ndistinct" = "$nnew" ] -a [ "$nbad" = 0 ] -a [ "$(server_count)" = "$N" ]
  case $phase in
    synced) check "  ... killed after the group flush: nothing renamed into new/ yet" [ "$nnew" = 0 ] ;;
    recorded) check "  ... killed after the first batch was recorded: it is in new/ ($nnew, was $delivered_before)" \
                [ "$nnew" -ge $((delivered_before + 64)) ] ;;
  esac
  delivered_before=$nnew
done

# More messages for the random kills (the windows above delivered most of
# the first ones): CRASH_MORE (default 400), so that every kill interrupts
# real work, fetching or committing.
MORE=${CRASH_MORE:-400}
for i in $(seq $((N + 1)) $((N + MORE))); do mk "$i"; done
"$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" $((N + 1)) $((N + MORE))) >/dev/null
N=$((N + MORE))

# Where the random kills land: a run fetches a whole batch into tmp/ before it
# records and renames it, so progress is the number of files in tmp/ and
# new/. Two kills in three wait until 1-80 more messages were fetched and
# then 0-9 ms more (the kill then falls while a message is written, the state
# file is saved, the batch is renamed, or DELEs go out); every third comes at
# a random time 0-29 ms after the start (log-in, UIDL, pending resolution).
progress() { echo $(( $(find "$WORK/md/tmp" "$WORK/md/new" -type f 2>/dev/null | wc -l) )); }
kills=0; tries=0
while [ $kills -lt "$KILLS" ] && [ $tries -lt 200 ]; do
  tries=$((tries + 1))
  start=$(progress)
  "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --state "$WORK/state" --delete -q 2>>"$WORK/runs.err" &
  pid=$!
  if [ $((tries % 3)) != 0 ]; then
    target=$((start + RANDOM % 80 + 1))
    while kill -0 $pid 2>/dev/null && [ "$(progress)" -lt $target ]; do :; done
    delay=$((RANDOM % 10))
  else
    delay=$((RANDOM % 30))
  fi
  sleep "0.$(printf '%03d' $delay)"
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null; st=$?
  if [ $st = 137 ]; then
    kills=$((kills + 1))
    echo "# kill $kills: $(find "$WORK/md/new" -type f | wc -l) delivered, $(find "$WORK/md/tmp" -type f | wc -l) in tmp/, $(grep -c '^P ' "$WORK/state" 2>/dev/null || true) pending, $(server_count) on the server"
  fi
done
check "$KILLS random SIGKILLs landed while postie-fetch ran ($kills in $tries runs)" [ "$kills" = "$KILLS" ]
echo "# $kills kills in $tries runs; delivered before the final run: $(find "$WORK/md/new" -type f | wc -l)"
echo "# errors of the interrupted runs:"; sort "$WORK/runs.err" | uniq -c | sed 's/^/#   /' | head
# The last window: DELEs sent, killed before QUIT (nothing is deleted then).
for i in $(seq $((N + 1)) $((N + 20))); do mk "$i"; done
"$STACK" deliver "$STACK_DIR" "$USER1" $(seq -f "$WORK/msgs/%g" $((N + 1)) $((N + 20))) >/dev/null
POSTIE_FETCH_TEST_KILL=deleted:1 "$FETCH" $POP --user "$USER1" --maildir "$WORK/md" --state "$WORK/state" --delete -q 2>>"$WORK/runs.err"
st=$?
if [ $st = 137 ]; then ok "killed at 'deleted' ($(find "$WORK/md/new" -type f | wc -l) delivered, $(server_count) on the server)"
else bad "kill point 'deleted' not reached (exit $st)"; fi
N=$((N + 20))

expect_rc "final run completes" 0 run
check "nothing left on the server" [ "$(server_count)" = 0 ]
check "no stray file in Maildir tmp/ named in the state" [ "$(grep -c '^P ' "$WORK/state")" = 0 ]

# exactly once, by content
missing=0; dup=0; wrong=0
declare -A seen
for f in "$WORK"/md/new/*; do
  seq=$(sed -n 's/^X-Crash-Seq: //p' "$f" | head -1)
  [ -n "$seq" ] || { wrong=$((wrong + 1)); continue; }
  if [ -n "${seen[$seq]:-}" ]; then dup=$((dup + 1)); fi
  seen[$seq]=1
  sed 's/\r$//' "$WORK/msgs/$seq" | cmp -s - "$f" || wrong=$((wrong + 1))
done
for i in $(seq 1 "$N"); do [ -n "${seen[$i]:-}" ] || missing=$((missing + 1)); done
check "every message delivered ($missing missing)" [ $missing = 0 ]
check "none delivered twice ($dup duplicates)" [ $dup = 0 ]
check "every delivered file identical to what was sent ($wrong differ)" [ $wrong = 0 ]
check "exactly $N files" [ "$(find "$WORK/md/new" -type f | wc -l)" = "$N" ]
echo "# files left in tmp/ by killed writes (never renamed, not mail): $(find "$WORK/md/tmp" -type f | wc -l)"
finish
