#!/usr/bin/env bash
# Link-level code size of Postie on a Cortex-M4: links small representative
# applications (bench/apps/) against Postie built as a static library, with
# -Os -ffunction-sections -fdata-sections and -Wl,--gc-sections (newlib's
# nosys specs), then reads each map file and sums the .text and .rodata that
# came from Postie's objects: what an application really carries, unlike the
# object sizes of bench/size-arm.sh. Prints Markdown tables.
#
#   bash bench/size-link.sh [--top N] [--keep DIR] [APP[:CONFIG] ...]
#
# APP is one of bench/apps/app_<APP>.c; CONFIG a postie_config.h for that
# application (found as "postie_config.h", -DPOSTIE_HAVE_CONFIG_H), or
# "default". Without arguments: netx:bench/postie_config_netx.h,
# fetch:bench/postie_config_fetch.h, send:bench/postie_config_send.h,
# fetch:tests/config/postie_config_off.h (every switch off), all:default,
# netx:default (the NetX set with every feature compiled in).
# --top N: the N largest Postie symbols of each application (default 8).
# --keep DIR: leave the objects, ELF and map files in DIR.
# --lto: instead, a whole-ELF table: each application built and linked with
#   and without -flto (library and application alike), and Postie's share
#   counted as the ELF's .text+.rodata minus that of the same build of
#   bench/apps/app_none.c (a main() that calls nothing of Postie). With LTO
#   the objects merge, so the map cannot say whose a byte is; the difference
#   also counts the application's own calls and the C library and libgcc
#   routines Postie pulls in (memcpy, the 64-bit division, ...), so the
#   non-LTO column is given the same way for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOP=8
KEEP=
LTO=0
apps=()
while [ $# -gt 0 ]; do
  case $1 in
    --top) TOP=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --lto) LTO=1; shift ;;
    -*) echo "usage: $0 [--top N] [--keep DIR] [--lto] [APP[:CONFIG] ...]" >&2; exit 2 ;;
    *) apps+=("$1"); shift ;;
  esac
done
[ ${#apps[@]} -gt 0 ] || apps=(netx:bench/postie_config_netx.h fetch:bench/postie_config_fetch.h
                               send:bench/postie_config_send.h fetch:tests/config/postie_config_off.h
                               all:default netx:default)
CC=arm-none-eabi-gcc
command -v $CC >/dev/null || { echo "size-link: $CC not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2; exit 1; }
if [ -n "$KEEP" ]; then out=$KEEP; mkdir -p "$out"; else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
CFLAGS=(-mcpu=cortex-m4 -mthumb -Os -std=c99 -ffunction-sections -fdata-sections
        -Wall -Wextra -Werror -Iinclude)
SRCS=(src/core/*.c src/pop3/*.c src/smtp/*.c)

# build DIR CONFIG [EXTRA-FLAG...]: Postie as DIR/libpostie.a for CONFIG
build() {
  local dir=$1 cfg=$2 flags=("${CFLAGS[@]}") s
  shift 2
  flags+=("$@")
  mkdir -p "$dir/cfg"
  if [ "$cfg" != default ]; then
    [ -f "$cfg" ] || { echo "size-link: no such file: $cfg" >&2; exit 1; }
    printf '#include "%s"\n' "$ROOT/$cfg" > "$dir/cfg/postie_config.h"
    flags+=(-DPOSTIE_HAVE_CONFIG_H -I"$dir/cfg")
  fi
  printf '%s\n' "${flags[@]}" > "$dir/flags"
  for s in "${SRCS[@]}"; do
    $CC "${flags[@]}" -c "$s" -o "$dir/$(basename "$s" .c).o"
  done
  rm -f "$dir/libpostie.a"
  arm-none-eabi-gcc-ar rcs "$dir/libpostie.a" "$dir"/*.o
}

# sums DIR/app.map: "total" line, then "size symbol" and "obj size file"
# lines of Postie's input sections in .text/.rodata that survived
# --gc-sections. The map gives each input section's address and size, but
# for merged string sections (.rodata.*.str1.1) ld prints the size of the
# whole merged pool on more than one of them, so a section is counted only
# up to the next section's address, and Postie's address ranges are united:
# every byte is counted once.
readmap() {
  awk '
    function hex(s,   i, v, c) {
      v = 0; s = tolower(s); sub(/^0x/, "", s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
      return v
    }
    /^Linker script and memory map/ { on = 1; next }
    !on { next }
    # an input section: " .text.name  0xaddr  0xsize  file" (maybe split over two lines)
    /^ \.(text|rodata)/ {
      name = $1
      if (NF >= 4) { addr = $2; size = $3; file = $4 } else { getline; addr = $1; size = $2; file = $3 }
      if (hex(size) == 0) next
      postie = file ~ /libpostie\.a\(/ ? 1 : 0
      if (name ~ /^\.rodata\.str/) name = "(string-literals)"
      sub(/^\.(text|rodata)\.?/, "", name); if (name == "") name = "(" file ")"
      obj = file; sub(/.*\(/, "", obj); sub(/\).*/, "", obj)
      printf "%d %d %d %s %s\n", hex(addr), hex(size), postie, obj, name
    }
  ' "$1" | sort -n -k1,1 | awk '
    { a[NR] = $1; z[NR] = $2; p[NR] = $3; o[NR] = $4; s[NR] = $5 }
    END {
      reach = 0
      for (i = 1; i <= NR; i++) {
        end = a[i] + z[i]
        for (k = i + 1; k <= NR && a[k] == a[i]; k++) { }
        if (k <= NR && a[k] < end) end = a[k]   # no further than the next section
        if (!p[i]) continue
        from = a[i] > reach ? a[i] : reach      # bytes not counted yet
        if (end > from) {
          n = end - from; total += n; sym[s[i]] += n; byobj[o[i]] += n; reach = end
        }
      }
      print "total", total
      for (x in sym) print sym[x], x
      for (x in byobj) print "obj", byobj[x], x
    }
  '
}

# elfsize DIR APP [LINK-FLAG...]: links bench/apps/app_APP.c against DIR's
# library with DIR's flags and prints the ELF's .text+.rodata
elfsize() {
  local dir=$1 app=$2 flags
  shift 2
  mapfile -t flags < "$dir/flags"
  $CC "${flags[@]}" -c bench/apps/app_$app.c -o "$dir/app_$app.o"
  $CC "${flags[@]}" -c bench/apps/app_stub.c -o "$dir/app_stub.o"
  $CC -mcpu=cortex-m4 -mthumb -Os --specs=nosys.specs -Wl,--gc-sections "$@" \
      -o "$dir/app_$app.elf" "$dir/app_$app.o" "$dir/app_stub.o" -L"$dir" -lpostie
  arm-none-eabi-size -A "$dir/app_$app.elf" |
    awk '$1 == ".text" || $1 == ".rodata" { t += $2 } END { print t }'
}

if [ "$LTO" = 1 ]; then
  printf '| application | configuration | without LTO: ELF - app_none (bytes) | with -flto: ELF - app_none (bytes) | KiB with -flto |\n|---|---|---:|---:|---:|\n'
  for spec in "${apps[@]}"; do
    app=${spec%%:*}; cfg=default
    [ "$spec" = "$app" ] || cfg=${spec#*:}
    [ -f bench/apps/app_$app.c ] || { echo "size-link: no such application: bench/apps/app_$app.c" >&2; exit 1; }
    key=$(printf '%s' "$cfg" | tr -c 'A-Za-z0-9' _)
    res=()
    for mode in plain lto; do
      dir=$out/$mode-$key
      if [ "$mode" = lto ]; then ex=(-flto); else ex=(); fi
      [ -f "$dir/libpostie.a" ] || build "$dir" "$cfg" "${ex[@]}"
      a=$(elfsize "$dir" "$app" "${ex[@]}")
      b=$(elfsize "$dir" none "${ex[@]}")
      res+=($((a - b)))
    done
    printf '| %s | %s | %d | %d | %.1f |\n' "$app" "$cfg" "${res[0]}" "${res[1]}" \
      "$(awk -v t="${res[1]}" 'BEGIN { print t / 1024 }')"
  done
  exit 0
fi

declare -A built
rows=()
tops=()
objs=()
for spec in "${apps[@]}"; do
  app=${spec%%:*}; cfg=default
  [ "$spec" = "$app" ] || cfg=${spec#*:}
  src=bench/apps/app_$app.c
  [ -f "$src" ] || { echo "size-link: no such application: $src" >&2; exit 1; }
  key=$(printf '%s' "$cfg" | tr -c 'A-Za-z0-9' _)
  dir=$out/$key
  [ -n "${built[$key]:-}" ] || { build "$dir" "$cfg"; built[$key]=1; }
  mapfile -t flags < "$dir/flags"
  $CC "${flags[@]}" -c "$src" -o "$dir/app_$app.o"
  $CC "${flags[@]}" -c bench/apps/app_stub.c -o "$dir/app_stub.o"
  $CC -mcpu=cortex-m4 -mthumb -Os --specs=nosys.specs -Wl,--gc-sections \
      -Wl,-Map="$dir/app_$app.map" -o "$dir/app_$app.elf" \
      "$dir/app_$app.o" "$dir/app_stub.o" -L"$dir" -lpostie
  res=$(readmap "$dir/app_$app.map")
  total=$(printf '%s\n' "$res" | awk '$1 == "total" { print $2 }')
  objs+=("$app ($cfg): $(printf '%s\n' "$res" | awk '$1 == "obj" { print $2, $3 }' | sort -rn |
          awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')")
  rows+=("| $app | $cfg | $total | $(awk -v t="$total" 'BEGIN { printf "%.1f", t / 1024 }') |")
  tops+=("$app ($cfg): $(printf '%s\n' "$res" | awk '$1 != "total" && $1 != "obj"' | sort -rn |
          awk -v top="$TOP" 'NR <= top { printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')")
done

printf '| application | configuration | Postie .text+.rodata (bytes) | KiB |\n|---|---|---:|---:|\n'
printf '%s\n' "${rows[@]}"
printf '\nPostie bytes linked per object file:\n\n'
for t in "${objs[@]}"; do printf -- '- %s\n' "$t"; done
printf '\nLargest Postie symbols linked (bytes):\n\n'
for t in "${tops[@]}"; do printf -- '- %s\n' "$t"; done
