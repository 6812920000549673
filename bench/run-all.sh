#!/usr/bin/env bash
# Every Postie benchmark, in the order `make bench` runs them, with results
# written to BUILD_DIR/results/ (one Markdown file each) and echoed:
#   machine.txt    where it ran: date, nproc, CPU model, load average
#   core.md        bench_core: MB/s of the no-I/O core (median of 5)
#   callgrind.md   bench/callgrind.sh: instructions per byte (when valgrind is installed)
#   session.md     bench/run-session.sh: POP3/SMTP against loopback servers (as root)
#   latency.md     bench/run-latency.sh: Postie and its peers at 20 ms RTT through
#                  bench/delay_proxy, and POP3 on loopback (as root)
#   size-arm.md, size-arm-min.md   bench/size-arm.sh: Cortex-M4 code and RAM
#   size-link.md, size-link-lto.md, ram-netx.md   bench/size-link.sh (and
#                                  --lto), bench/ram-fields.sh: what
#                                  applications link; RAM field by field
#   sizes-host.md  bench_sizes and bench_sizes_min: RAM per context on this host
#   bash bench/run-all.sh BUILD_DIR    (configured with -DPOSTIE_BUILD_BENCH=ON and built)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd -P)
R=$BUILD/results
mkdir -p "$R"
cd "$ROOT"

{
  echo "date (UTC): $(date -u '+%Y-%m-%d %H:%M')"
  echo "nproc: $(nproc)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "compiler: $(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt") ($(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt"))"
} | tee "$R/machine.txt"

echo; echo "== core throughput (bench_core)"
"$BUILD/bench/bench_core" | tee "$R/core.md"

echo; echo "== core instructions per byte (bench/callgrind.sh)"
if command -v valgrind >/dev/null; then
  bash bench/callgrind.sh "$BUILD" | tee "$R/callgrind.md"
else
  echo "valgrind not installed: skipped (apt-get install valgrind)" | tee "$R/callgrind.md"
fi

echo; echo "== end to end (bench/run-session.sh)"
bash bench/run-session.sh "$BUILD"

echo; echo "== at 20 ms round trip, beside the peers (bench/run-latency.sh)"
bash bench/run-latency.sh "$BUILD"

echo; echo "== Cortex-M4 code and RAM (bench/size-arm.sh)"
bash bench/size-arm.sh --files | tee "$R/size-arm.md"
echo
bash bench/size-arm.sh --config bench/postie_config_min.h | tee "$R/size-arm-min.md"
echo; echo "== Cortex-M4 link-level sizes (bench/size-link.sh, bench/ram-fields.sh)"
bash bench/size-link.sh | tee "$R/size-link.md"
bash bench/size-link.sh --lto | tee "$R/size-link-lto.md"
bash bench/ram-fields.sh bench/postie_config_netx.h | tee "$R/ram-netx.md"

echo; echo "== RAM per context on this host (bench_sizes, bench_sizes_min)"
{ "$BUILD/bench/bench_sizes"; echo; "$BUILD/bench/bench_sizes_min"; } | tee "$R/sizes-host.md"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$R/machine.txt"
echo; echo "bench: results in $R"
