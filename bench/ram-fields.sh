#!/usr/bin/env bash
# RAM of each session context on a Cortex-M4 (arm-none-eabi-gcc, 32-bit),
# field by field, for one configuration: prints a Markdown table.
#   bash bench/ram-fields.sh [CONFIG]   (a postie_config.h; default: the defaults)
# e.g. bash bench/ram-fields.sh bench/postie_config_netx.h
set -euo pipefail
cd "$(dirname "$0")/.."
CFG=${1:-default}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
flags=(-mcpu=cortex-m4 -mthumb -Os -std=c99 -Wall -Wextra -Werror -Iinclude)
if [ "$CFG" != default ]; then
  printf '#include "%s"\n' "$PWD/$CFG" > "$out/postie_config.h"
  flags+=(-DPOSTIE_HAVE_CONFIG_H -I"$out")
fi
hex() { printf '%d' "0x$1"; }
size_of() { # type
  printf '#include "postie/pop3.h"\n#include "postie/smtp.h"\nchar sz[sizeof(%s)];\n' "$1" > "$out/p.c"
  arm-none-eabi-gcc "${flags[@]}" -c "$out/p.c" -o "$out/p.o"
  hex "$(arm-none-eabi-nm -S "$out/p.o" | awk '$4 == "sz" { print $2 }')"
}
field() { # type field
  printf '#include "postie/pop3.h"\n#include "postie/smtp.h"\nchar sz[sizeof(((%s *)0)->%s)];\n' "$1" "$2" > "$out/p.c"
  if arm-none-eabi-gcc "${flags[@]}" -c "$out/p.c" -o "$out/p.o" 2>/dev/null; then
    hex "$(arm-none-eabi-nm -S "$out/p.o" | awk '$4 == "sz" { print $2 }')"
  else
    echo "not built"
  fi
}
# a field compiled out shows "-" (its probe does not compile)
printf '| field (%s) | postie_pop3 | postie_smtp |\n|---|---:|---:|\n' "$CFG"
for f in tr timeout_ms state caps count timestamp sasl reply body ext domain saved dot sh messages_sent conn conn.line conn.in conn.out conn.cmds server_name random random_ctx sx; do
  printf '| %s | %s | %s |\n' "$f" "$(field postie_pop3 "$f" | sed 's/not built/-/')" "$(field postie_smtp "$f" | sed 's/not built/-/')"
done
printf '| **total** | **%s** | **%s** |\n' "$(size_of postie_pop3)" "$(size_of postie_smtp)"
