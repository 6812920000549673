#!/usr/bin/env bash
# Checks the rules of docs/architecture.md on the code as built:
#  - src/ includes no OS or socket header and calls no allocator;
#  - src/ objects hold no mutable global state (no .data/.bss symbols);
#  - secrets on the stack are cleared by postie_wipe(), kept at -O2;
#  - src/ compiles for a Cortex-M target with newlib only (when
#    arm-none-eabi-gcc is installed);
#  - ports/mbedtls includes no OS header and compiles for a Cortex-M too
#    (when the mbed TLS headers are installed as well).
# Usage: check-layers.sh BUILD_DIR   (a tree built by CMake)
set -u
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
fail=0; checks=0

checks=$((checks + 1))
bad_inc=$(grep -nE '^\s*#\s*include\s*<(sys/|unistd\.h|netdb\.h|arpa/|netinet/|poll\.h|fcntl\.h|pthread\.h|stdio\.h|time\.h|signal\.h|errno\.h|stdlib\.h|openssl/)' -r src || true)
if [ -n "$bad_inc" ]; then echo "not ok - src/ includes OS headers:"; echo "$bad_inc"; fail=$((fail + 1)); else echo "ok - src/ includes no OS header"; fi

checks=$((checks + 1))
bad_alloc=$(grep -nE '\b(malloc|calloc|realloc|free|strdup|alloca)\s*\(' -r src || true)
if [ -n "$bad_alloc" ]; then echo "not ok - src/ allocates:"; echo "$bad_alloc"; fail=$((fail + 1)); else echo "ok - src/ never allocates"; fi

checks=$((checks + 1))
objs=$(find "$build/CMakeFiles/postie_obj.dir/src" -name '*.o' 2>/dev/null)
if [ -z "$objs" ]; then
  echo "not ok - no src/ objects found under $build"; fail=$((fail + 1))
else
  globals=$(for o in $objs; do nm "$o" | awk -v o="$o" '$2 ~ /^[BbDdCcGgSs]$/ {print o": "$3}'; done)
  if [ -n "$globals" ]; then echo "not ok - mutable globals in src/:"; echo "$globals"; fail=$((fail + 1));
  else echo "ok - no mutable global state in src/ ($(echo "$objs" | wc -l) objects)"; fi
fi

# Keys, pads and secret-derived digests on the stack are cleared with
# postie_wipe() (src/core/wipe.h): a memset() just before they go out of
# scope is a dead store that gcc -O2 drops. Each file that clears such
# locals must still call it once optimised.
checks=$((checks + 1))
wipe_tmp=$(mktemp -d)
missing=""
for f in md5 sha256 scram sasl_exchange pop3_session; do
  if ! cc -O2 -std=c99 -Iinclude -c "src/core/$f.c" -o "$wipe_tmp/$f.o" 2>"$wipe_tmp/err" ||
     ! nm -u "$wipe_tmp/$f.o" | grep -qw postie_wipe; then
    missing="$missing $f.c"
  fi
done
rm -rf "$wipe_tmp"
if [ -n "$missing" ]; then echo "not ok - secrets on the stack not wiped at -O2 in:$missing"; fail=$((fail + 1));
else echo "ok - stack secrets wiped with postie_wipe() at -O2 (md5, sha256, scram, sasl_exchange, pop3_session)"; fi

if command -v arm-none-eabi-gcc >/dev/null; then
  checks=$((checks + 1))
  if out=$(bash bench/size-arm.sh 2>&1); then echo "ok - src/ builds for Cortex-M4 with newlib"; echo "$out" | sed 's/^/    /';
  else echo "not ok - Cortex-M4 build failed:"; echo "$out"; fail=$((fail + 1)); fi
fi

# ports/mbedtls is for firmware too: no OS or socket header, no global state
# of its own, and it builds for a Cortex-M (against Debian's mbed TLS headers).
if [ -d ports/mbedtls ]; then
  checks=$((checks + 1))
  bad_inc=$(grep -nE '^\s*#\s*include\s*<(sys/|unistd\.h|netdb\.h|arpa/|netinet/|poll\.h|fcntl\.h|pthread\.h|stdio\.h|time\.h|signal\.h|errno\.h|stdlib\.h|openssl/)' -r ports/mbedtls || true)
  if [ -n "$bad_inc" ]; then echo "not ok - ports/mbedtls includes OS headers:"; echo "$bad_inc"; fail=$((fail + 1)); else echo "ok - ports/mbedtls includes no OS header"; fi
  if command -v arm-none-eabi-gcc >/dev/null && [ -f /usr/include/mbedtls/ssl.h ]; then
    checks=$((checks + 1))
    if out=$(bash bench/size-mbedtls-port.sh 2>&1); then echo "ok - ports/mbedtls builds for Cortex-M4 with newlib"; echo "$out" | sed 's/^/    /';
    else echo "not ok - ports/mbedtls Cortex-M4 build failed:"; echo "$out"; fail=$((fail + 1)); fi
  fi
fi

echo "$((checks - fail)) passed, $fail failed"
[ $fail -eq 0 ]
