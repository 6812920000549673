#!/usr/bin/env bash
# Runs every test stage of Postie and ends with a pass/fail summary.
# Stages: gcc build + unit tests; the feature-switch configurations (host
# tests and Cortex-M4 links); clang build + unit tests under ASan+UBSan;
# libFuzzer smoke runs over the committed corpora; scripted-server transcripts;
# interop against real Dovecot and Postfix on loopback; OAuth 2.0 against a
# real provider (tests/oauth); the firmware image in QEMU against the same
# servers.
# Prints a line as each stage starts (with its log), progress inside the long
# ones (builds, each fuzz target, each interop program), PASS/FAIL with the
# time, and at the end where the logs are: build/logs/<stage>.log.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGS=$ROOT/build/logs
mkdir -p "$LOGS"
FUZZ_SECONDS=${POSTIE_FUZZ_SECONDS:-15}
passed=0; failed=0; failed_names=()

# Progress goes to fd 3 (the terminal, or whatever make test's output is);
# each stage's own output goes to its log.
exec 3>&1
TOTAL=$(grep -c '^stage ' "${BASH_SOURCE[0]}")
n=0
progress() { echo "   $*" >&3; }
stage() {
  local name=$1; shift
  local log=$LOGS/$name.log start=$SECONDS
  n=$((n + 1))
  echo "== [$n/$TOTAL] $name: started at $(date +%H:%M:%S) (log: build/logs/$name.log)"
  if "$@" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "   PASS $name ($((SECONDS - start))s)"
  else
    failed=$((failed + 1)); failed_names+=("$name"); echo "   FAIL $name ($((SECONDS - start))s), last lines of build/logs/$name.log:"
    tail -n 40 "$log" | sed 's/^/   | /'
  fi
}

build_tree() { # dir compiler extra-cmake-args...
  local dir=$1 cc=$2; shift 2
  progress "building $dir ($cc${*:+ $*})"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug "$@" &&
    cmake --build "$dir" -j2
}
run_ctest() { # dir [env...]: the unit tests of a built tree
  progress "running the unit tests in $1"
  (cd "$1" && shift && env "$@" ctest --output-on-failure -j2)
}

unit_gcc()  { build_tree build/gcc gcc && run_ctest build/gcc; }
# TLS is optional at build time: everything builds and passes without OpenSSL
nossl() { build_tree build/nossl gcc -DPOSTIE_WITH_OPENSSL=OFF &&
          ! grep -rq 'libssl' build/nossl/postie.pc && run_ctest build/nossl; }
unit_asan() { build_tree build/asan clang -DPOSTIE_SANITIZE=ON &&
              run_ctest build/asan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1; }

fuzz_smoke() {
  build_tree build/fuzz clang -DPOSTIE_BUILD_FUZZ=ON -DPOSTIE_SANITIZE=ON -DPOSTIE_BUILD_TESTS=ON || return 1
  local f name corpus rc=0 n=0 total
  total=$(find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' | wc -l)
  for f in tests/fuzz/fuzz_*.c; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .c); corpus=tests/fuzz/corpus/${name#fuzz_}
    [ -d "$corpus" ] || { echo "missing corpus $corpus"; rc=1; continue; }
    local work; work=$(mktemp -d)
    echo "-- $name (${FUZZ_SECONDS}s over $corpus)"
    progress "fuzz $((n + 1))/$total: $name (${FUZZ_SECONDS} s)"
    if ! build/fuzz/tests/$name -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="$LOGS/$name-" "$work" "$corpus" 2>&1 | tail -n 15; then
      rc=1
    fi
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
    rm -rf "$work"; n=$((n + 1))
  done
  echo "$n fuzz targets run"
  [ $n -gt 0 ] && return $rc
}

stage unit-gcc  unit_gcc
stage layers    bash scripts/check-layers.sh build/gcc
# the feature switches: the all-off and NetX Duo configurations on the host
# (tests/config, built by unit-gcc with -Werror), then the NetX, fetch-only,
# send-only and full configurations cross-compiled for Cortex-M4 with -Werror
# and linked with --gc-sections (bench/size-link.sh prints the size table)
configs() {
  progress "tests/config: all-off and NetX configurations"
  (cd build/gcc && ctest --output-on-failure -R '^test_config_') || return 1
  if command -v arm-none-eabi-gcc >/dev/null; then
    progress "Cortex-M4 link sizes (bench/size-link.sh)"
    bash bench/size-link.sh
  else
    echo "arm-none-eabi-gcc missing: scripts/install-deps.sh installs it"; return 1
  fi
}
stage configs   configs
stage install   bash scripts/check-install.sh build/gcc
# the optimised builds (make bench's Release -O3, make demo's RelWithDebInfo)
# warn differently from -O0: gcc's -O3 flow analysis under -Werror
release_build() { build_tree build/release-check gcc -DCMAKE_BUILD_TYPE=Release \
                    -DPOSTIE_BUILD_TESTS=OFF -DPOSTIE_BUILD_BENCH=ON; }
stage release   release_build
stage no-openssl nossl
stage unit-asan unit_asan
stage fuzz      fuzz_smoke
# the transcripts against the gcc build, then again against the ASan+UBSan
# build of unit-asan (a memory error or leak in a client fails its case)
scripted_all() {
  local rc=0
  echo "-- build/gcc"; bash tests/scripted/run.sh build/gcc || rc=1
  if [ -d build/asan/tests ]; then
    echo "-- build/asan"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      bash tests/scripted/run.sh build/asan || rc=1
  fi
  return $rc
}
stage scripted scripted_all
# the interop programs' names as they start, on the terminal too
interop_all() {
  bash tests/interop/run.sh build/gcc | while IFS= read -r line; do
    printf '%s\n' "$line"
    case $line in "== "*) progress "interop: ${line#== }" ;; teststack:*) progress "$line" ;; esac
  done
  return "${PIPESTATUS[0]}"
}
stage interop  interop_all
# OAuth 2.0 in the tools against oidc-provider (npm) and the stack's Dovecot
# and Postfix validating its tokens (tests/oauth/run.sh, about 80 s; bounded)
stage oauth    timeout -k 10 300 bash tests/oauth/run.sh build/gcc
# the firmware (issue 14): the mps2-an386 image built (make firmware), then
# booted in qemu-system-arm against the loopback Dovecot and Postfix
# (scripts/firmware-test.sh: fetch over STLS, send over STARTTLS with AUTH,
# and the bad cases); bounded in time, so it cannot hang the run
firmware_all() {
  progress "building the mps2-an386 firmware (make firmware)"
  make --no-print-directory firmware JOBS=2 || return 1
  progress "ports/lwip with lwIP on the host (tests/firmware/test_lwip_raw.c, ASan+UBSan)"
  make --no-print-directory -C firmware -j2 host-test || return 1
  progress "booting it in qemu-system-arm (scripts/firmware-test.sh)"
  timeout -k 10 600 bash scripts/firmware-test.sh build/firmware
}
stage firmware firmware_all

echo
echo "Postie test summary: ${passed} stages passed, ${failed} failed${failed_names:+ (${failed_names[*]})}"
echo "Logs: build/logs/<stage>.log (one per stage); the interop programs' in build/gcc/logs/interop-*.log"
for f in ${failed_names[@]+"${failed_names[@]}"}; do echo "  failed: build/logs/$f.log"; done
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
