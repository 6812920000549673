#!/usr/bin/env bash
# Instructions per byte of each bench_core case, counted by callgrind
# (repeatable whatever the load of the machine, unlike wall-clock time).
#   bash bench/callgrind.sh [BUILD_DIR] [SCALE]
# BUILD_DIR: a tree configured with -DPOSTIE_BUILD_BENCH=ON (default
# build/bench; built here when bench_core is missing). SCALE divides the
# input sizes of bench_core (default 16: a 4 MiB message, 1 MiB of lines,
# 1 MiB for base64 and the attachment). Only the instructions executed inside
# bench_measured() are counted (the work; not the data generation), one
# repetition per case. Prints a Markdown table: all instructions per byte
# (the library and the benchmark's own loop around it), and those executed
# in the library alone (every function but the benchmark's own
# bench_measured, run_* and keep, from callgrind_annotate).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/bench}
scale=${2:-16}
command -v valgrind >/dev/null || { echo "callgrind: valgrind not found (apt-get install valgrind)" >&2; exit 1; }
bin=$build/bench/bench_core
if [ ! -x "$bin" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DPOSTIE_BUILD_BENCH=ON \
        -DPOSTIE_BUILD_TESTS=OFF -DPOSTIE_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build" --target bench_core -j2 >/dev/null
fi
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

printf '| case | bytes | per | instructions | instructions/byte | library instructions/byte | output bytes |\n|---|---:|---|---:|---:|---:|---:|\n'
i=0
while IFS= read -r name; do
  i=$((i + 1))
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$i" --collect-atstart=no \
           --toggle-collect='bench_measured*' \
           "$bin" --reps 1 --scale "$scale" --case "$name" > "$out/run.$i" 2> "$out/vg.$i" ||
    { cat "$out/vg.$i" >&2; exit 1; }
  ir=$(sed -n 's/^summary: *//p; s/^totals: *//p' "$out/cg.$i" | head -n1 | awk '{print $1}')
  bytes=$(sed -n 's/^bytes //p' "$out/run.$i")
  unit=$(sed -n 's/^unit //p' "$out/run.$i")
  obytes=$(sed -n 's/^out_bytes //p' "$out/run.$i")
  # self cost of the benchmark's own loops (and gcc's clones of them)
  own=$(callgrind_annotate --threshold=100 "$out/cg.$i" 2>/dev/null |
        awk '/:(bench_measured|run_[a-z0-9]+|keep)([ .]|$)/ { gsub(",", "", $1); s += $1 } END { print s + 0 }')
  awk -v n="$name" -v b="$bytes" -v u="$unit" -v ir="$ir" -v own="$own" -v o="$obytes" \
      'BEGIN { printf "| %s | %d | %s | %d | %.2f | %.2f | %d |\n", n, b, u, ir, ir / b, (ir - own) / b, o }'
done < <("$bin" --list)
