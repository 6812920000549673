#!/usr/bin/env bash
# The long fuzzing campaign (make fuzz; docs/testing.md, "Fuzzing campaign").
#
# Builds the libFuzzer targets with ASan+UBSan into build/fuzz, runs each
# tests/fuzz/fuzz_<name>.c for POSTIE_FUZZ_SECONDS (default 450 s: the eight
# targets take an hour) starting from its committed corpus
# tests/fuzz/corpus/<name>/, then merges what it found into that corpus with
# libFuzzer's -set_cover_merge=1 (-merge=1 with a greedy set cover: only
# inputs that add coverage, and fewer of them for the same coverage). Review and
# commit the corpus additions (git status tests/fuzz/corpus) when they are
# small. Prints a table per target (executions, exec/s, coverage edges and
# features before and after, corpus files added) and writes it to
# build/logs/fuzz-campaign.md. Exits non-zero when a target crashed, leaked,
# timed out or ran out of memory (its input is in build/logs/fuzz_<name>-*).
#
# Environment:
#   POSTIE_FUZZ_SECONDS  seconds per target (default 450)
#   POSTIE_FUZZ_TARGETS  space-separated names to run (default: all), e.g.
#                        "pop3_proto smtp_session"
#   POSTIE_FUZZ_BUILD    build folder (default build/fuzz)
#   POSTIE_FUZZ_NO_MERGE set to 1 to leave the committed corpora untouched
#   POSTIE_FUZZ_MERGE    the libFuzzer merge flag (default set_cover_merge;
#                        "merge" for plain -merge=1)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER=${POSTIE_FUZZ_SECONDS:-450}
BUILD=${POSTIE_FUZZ_BUILD:-build/fuzz}
LOGS=$ROOT/build/logs
mkdir -p "$LOGS"

targets=()
if [ -n "${POSTIE_FUZZ_TARGETS:-}" ]; then
  for t in $POSTIE_FUZZ_TARGETS; do targets+=("$t"); done
else
  for f in tests/fuzz/fuzz_*.c; do n=$(basename "$f" .c); targets+=("${n#fuzz_}"); done
fi

# only the fuzzers (and the library they link) are built
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
      -DPOSTIE_BUILD_FUZZ=ON -DPOSTIE_SANITIZE=ON -DPOSTIE_BUILD_TESTS=ON >/dev/null &&
  cmake --build "$BUILD" -j2 --target "${targets[@]/#/fuzz_}" >"$LOGS/fuzz-campaign-build.log" 2>&1 || {
    echo "fuzz build failed, see $LOGS/fuzz-campaign-build.log"; exit 1; }

# "cov: N ft: M" of the last status line libFuzzer printed in a log
cov_ft() { grep -E '(INITED|DONE|pulse|NEW|REDUCE).*cov: ' "$1" | tail -n 1 |
           sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+).*/\1 \2/'; }
# coverage of a corpus directory alone (one pass, no mutation)
corpus_cov() { "$1" -runs=0 -rss_limit_mb=2048 "$2" >"$3" 2>&1; cov_ft "$3"; }

report=$LOGS/fuzz-campaign.md
{
  echo "Fuzzing campaign, $(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS_PER} s per target, one job"
  echo "(POSTIE_FUZZ_SECONDS=${SECONDS_PER} make fuzz; clang $(clang -dumpversion), ASan+UBSan)"
  echo
  echo "| target | executions | exec/s | corpus cov/ft before | after run | merged corpus cov/ft | files added |"
  echo "|---|---|---|---|---|---|---|"
} >"$report"

rc=0
for name in "${targets[@]}"; do
  bin=$BUILD/tests/fuzz_$name corpus=tests/fuzz/corpus/$name
  [ -x "$bin" ] || { echo "no fuzzer $bin"; rc=1; continue; }
  mkdir -p "$corpus"
  work=$(mktemp -d)
  log=$LOGS/fuzz-campaign-$name.log
  before_files=$(find "$corpus" -type f | wc -l)
  read -r cov0 ft0 <<<"$(corpus_cov "$bin" "$corpus" "$LOGS/fuzz-campaign-$name-before.log")"
  echo "-- $name: ${SECONDS_PER}s from $corpus ($before_files files, cov $cov0 ft $ft0)"
  # new inputs go to $work (the first folder); the committed corpus is read only
  "$bin" -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$LOGS/fuzz_$name-" "$work" "$corpus" >"$log" 2>&1
  st=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  read -r cov1 ft1 <<<"$(cov_ft "$log")"
  if [ $st -ne 0 ]; then
    echo "   FAILED (exit $st): see $log and $LOGS/fuzz_$name-*"; tail -n 20 "$log"; rc=1
  fi
  if [ "${POSTIE_FUZZ_NO_MERGE:-0}" != 1 ]; then
    "$bin" -"${POSTIE_FUZZ_MERGE:-set_cover_merge}"=1 -rss_limit_mb=2048 "$corpus" "$work" >"$LOGS/fuzz-campaign-$name-merge.log" 2>&1 ||
      { echo "   merge failed: $LOGS/fuzz-campaign-$name-merge.log"; rc=1; }
  fi
  after_files=$(find "$corpus" -type f | wc -l)
  read -r cov2 ft2 <<<"$(corpus_cov "$bin" "$corpus" "$LOGS/fuzz-campaign-$name-after.log")"
  rm -rf "$work"
  printf '   %s executions (%s/s), cov %s ft %s during the run; corpus now cov %s ft %s, +%d files\n' \
    "${execs:-?}" "${speed:-?}" "${cov1:-?}" "${ft1:-?}" "${cov2:-?}" "${ft2:-?}" $((after_files - before_files))
  printf '| %s | %s | %s | %s / %s | %s / %s | %s / %s | %d |\n' "$name" "${execs:-?}" "${speed:-?}" \
    "${cov0:-?}" "${ft0:-?}" "${cov1:-?}" "${ft1:-?}" "${cov2:-?}" "${ft2:-?}" \
    $((after_files - before_files)) >>"$report"
done
echo
cat "$report"
[ $rc -eq 0 ] && echo "fuzz campaign: no failure" || echo "fuzz campaign: FAILURES (see above)"
exit $rc
