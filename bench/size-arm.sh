#!/usr/bin/env bash
# Code and RAM size of Postie for a Cortex-M4 (Thumb-2), measured with
# Debian's gcc-arm-none-eabi at -Os. Prints a Markdown table.
#   bash bench/size-arm.sh [CPU]        (default cortex-m4)
# The same compile proves src/ needs no OS headers: only the C library's
# <string.h>, <stddef.h>, <stdint.h> come from newlib.
set -euo pipefail
cd "$(dirname "$0")/.."
CPU=${1:-cortex-m4}
CC=arm-none-eabi-gcc
command -v $CC >/dev/null || { echo "size-arm: $CC not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
CFLAGS=(-mcpu="$CPU" -mthumb -Os -std=c99 -ffunction-sections -fdata-sections
        -Wall -Wextra -Werror -Iinclude)

# module name -> sources (from the firmware source lists)
declare -A mods
mods[core]=$(ls src/core/*.c)
[ -d src/pop3 ] && mods[pop3]=$(ls src/pop3/*.c 2>/dev/null || true)
[ -d src/smtp ] && mods[smtp]=$(ls src/smtp/*.c 2>/dev/null || true)

printf '| module | .text (bytes) | .data | .bss |\n|---|---:|---:|---:|\n'
tt=0
for m in core pop3 smtp; do
  srcs=${mods[$m]:-}
  [ -n "$srcs" ] || continue
  objs=()
  for s in $srcs; do
    o=$out/$(basename "$s" .c).o
    $CC "${CFLAGS[@]}" -c "$s" -o "$o"; objs+=("$o")
  done
  read -r t d b < <(arm-none-eabi-size -t "${objs[@]}" | tail -n1 | awk '{print $1, $2, $3}')
  printf '| %s | %s | %s | %s |\n' "$m" "$t" "$d" "$b"
  tt=$((tt + t))
done
printf '| **all** | **%s** | | |\n\n' "$tt"

# RAM a session needs: the context structs the caller owns.
cat > "$out/sizes.c" <<'EOC'
#include "postie/pop3.h"
#if __has_include("postie/smtp.h")
#include "postie/smtp.h"
char postie_sizeof_smtp[sizeof(postie_smtp)];
#endif
char postie_sizeof_pop3[sizeof(postie_pop3)];
#if __has_include("postie/compose.h")
#include "postie/compose.h"
char postie_sizeof_compose[sizeof(postie_compose)];
#endif
EOC
$CC "${CFLAGS[@]}" -c "$out/sizes.c" -o "$out/sizes.o"
printf '| context | RAM (bytes, default config) |\n|---|---:|\n'
arm-none-eabi-nm -S "$out/sizes.o" | while read -r _addr size _type name; do
  case $name in postie_sizeof_*) printf '| postie_%s | %d |\n' "${name#postie_sizeof_}" "$((16#$size))";; esac
done
