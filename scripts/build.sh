#!/usr/bin/env bash
# scripts/build.sh BUILD_DIR JOBS [CMAKE_ARGS...] - configures and builds
# Postie quietly, as `make build` / `make demo` / `make install` do: one line
# saying where the full log goes (BUILD_DIR/logs/build.log), then progress
# only (a percentage redrawn in place on a terminal, a line every quarter
# otherwise), and the time taken. On failure: the compiler's error lines, the
# last lines of the log, and the log's path; exit status non-zero.
set -u
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR JOBS [CMAKE_ARGS...]" >&2; exit 2; }
build=$1; jobs=$2; shift 2
cd "$(dirname "$0")/.."
mkdir -p "$build/logs"
log=$build/logs/build.log
start=$SECONDS
echo "Building Postie in $build (full log: $log)"
tty=0; [ -t 1 ] && tty=1
{ cmake -S . -B "$build" "$@" && cmake --build "$build" -j"$jobs"; } 2>&1 | tee "$log" |
  awk -v tty=$tty '
    /^\[ *[0-9]+%\]/ {
      p = substr($0, 2, index($0, "%") - 2) + 0
      if (tty) { printf "\r  building: %3d%%", p; fflush() }
      else if (p >= next_mark) { printf "  building: %3d%%\n", p; fflush(); while (next_mark <= p) next_mark += 25 }
      shown = 1
    }
    END { if (tty && shown) printf "\r" }
    BEGIN { next_mark = 25 }'
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
  [ $tty = 1 ] && echo
  echo "Build FAILED (exit $rc). Errors:"
  grep -E 'error|Error|CMake Error' "$log" | head -n 20 | sed 's/^/  | /'
  echo "  last lines of $log:"
  tail -n 15 "$log" | sed 's/^/  | /'
  echo "Full log: $log"
  exit "$rc"
fi
echo "  built in $((SECONDS - start)) s (full log: $log)"
