#!/usr/bin/env bash
# Code size of the mbed TLS transport (ports/mbedtls/tls_mbedtls.c) and RAM
# of its context for a Cortex-M4 (Thumb-2), gcc-arm-none-eabi -Os, compiled
# against Debian's mbed TLS 2.28 headers (libmbedtls-dev). mbed TLS itself is
# not measured here (that needs mbed TLS built for the target).
#   bash bench/size-mbedtls-port.sh [CPU]    (default cortex-m4)
# Debian's config.h is a host configuration (pthread mutexes, sockets,
# files); a firmware's leaves those out, and so does this measurement, through
# an MBEDTLS_USER_CONFIG_FILE made here. Two rows: with the transport's own
# CTR_DRBG (ENTROPY_C, CTR_DRBG_C) and with the application's generator.
set -euo pipefail
cd "$(dirname "$0")/.."
CPU=${1:-cortex-m4}
CC=arm-none-eabi-gcc
command -v $CC >/dev/null || { echo "size-mbedtls-port: $CC not found" >&2; exit 1; }
[ -f /usr/include/mbedtls/ssl.h ] || { echo "size-mbedtls-port: no mbed TLS headers (apt-get install libmbedtls-dev)" >&2; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
# only mbedtls/ from /usr/include: newlib's headers, not glibc's
mkdir -p "$out/inc"; ln -s /usr/include/mbedtls "$out/inc/mbedtls"
cat > "$out/fw.h" <<'EOC'
#undef MBEDTLS_THREADING_C
#undef MBEDTLS_THREADING_PTHREAD
#undef MBEDTLS_NET_C
#undef MBEDTLS_FS_IO
#undef MBEDTLS_TIMING_C
#undef MBEDTLS_HAVEGE_C
#undef MBEDTLS_PSA_ITS_FILE_C
#undef MBEDTLS_PSA_CRYPTO_STORAGE_C
EOC
{ cat "$out/fw.h"; printf '#undef MBEDTLS_ENTROPY_C\n#undef MBEDTLS_CTR_DRBG_C\n#undef MBEDTLS_PSA_CRYPTO_C\n'; } > "$out/fw-rng.h"
cat > "$out/sz.c" <<'EOC'
#include "postie/mbedtls_tls.h"
char sz_postie_mbedtls[sizeof(postie_mbedtls)];
EOC
CFLAGS=(-mcpu="$CPU" -mthumb -Os -std=c99 -ffunction-sections -fdata-sections
        -Wall -Wextra -Werror -Iinclude -Iports/mbedtls/include -I"$out/inc")
printf '| mbed TLS transport (%s, -Os) | .text (bytes) | sizeof(postie_mbedtls) |\n|---|---:|---:|\n' "$CPU"
for cfg in fw fw-rng; do
  f=(-DMBEDTLS_USER_CONFIG_FILE="\"$out/$cfg.h\"")
  $CC "${CFLAGS[@]}" "${f[@]}" -c ports/mbedtls/tls_mbedtls.c -o "$out/t.o"
  $CC "${CFLAGS[@]}" "${f[@]}" -c "$out/sz.c" -o "$out/sz.o"
  text=$(arm-none-eabi-size "$out/t.o" | awk 'NR==2 {print $1}')
  ctx=$(arm-none-eabi-nm -S "$out/sz.o" | awk '$4=="sz_postie_mbedtls" {print $2}')
  name="own CTR_DRBG (default)"; [ $cfg = fw-rng ] && name="application's rng (no ENTROPY_C/CTR_DRBG_C)"
  printf '| %s | %s | %d |\n' "$name" "$text" "$((16#$ctx))"
done
