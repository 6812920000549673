# Sourced by the interop scripts that run the tools. Under
# tests/interop/valgrind.sh, tests/interop/run.sh passes the valgrind command
# (with its options and log file) in POSTIE_TOOL_WRAP; then
# `wrap_tool BINARY DIR` writes DIR/<name of BINARY>, a script that runs
# BINARY under that command with the arguments it is given, and prints that
# script's path. Otherwise it prints BINARY. TOOL_WRAPPED is 1 when the tools
# run wrapped (a test that reads the binary itself, or limits the process's
# address space, checks it).
TOOL_WRAPPED=0
[ -n "${POSTIE_TOOL_WRAP:-}" ] && TOOL_WRAPPED=1
wrap_tool() { # BINARY DIR
  if [ "$TOOL_WRAPPED" = 0 ]; then echo "$1"; return; fi
  local w
  w=$2/$(basename "$1")
  mkdir -p "$2"
  { echo '#!/bin/sh'; printf 'exec %s %s "$@"\n' "$POSTIE_TOOL_WRAP" "$1"; } > "$w"
  chmod +x "$w"
  echo "$w"
}
