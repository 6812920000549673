#!/usr/bin/env bash
# Runs scripted-server transcripts against the client programs they name.
#
#   tests/scripted/run.sh BUILD_DIR [CASE.txt...]
#
# With no CASE, runs every tests/scripted/cases/*.txt. For each case it starts
# scripted_server.py on an ephemeral loopback port, runs the client named by
# the case's "# client:" line from BUILD_DIR/tests/ with @PORT@, @HOST@ and
# @DIR@ substituted, and judges the case by the directives below (see
# README.md). Prints one PASS/FAIL/SKIP line per case, then exactly
# "N passed, N failed"; exits non-zero if any case failed or none ran.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [CASE.txt...]" >&2; exit 2; }
build=$(cd "$1" && pwd) || { echo "no build directory $1" >&2; exit 2; }
shift
bindir=$build/tests
python=${PYTHON:-python3}
if [ $# -gt 0 ]; then cases=("$@"); else cases=("$here"/cases/*.txt); fi
work=$(mktemp -d "${TMPDIR:-/tmp}/postie-scripted.XXXXXX")
trap 'rm -rf "$work"' EXIT
runner_timeout=()
command -v timeout >/dev/null 2>&1 && runner_timeout=(timeout 30)

passed=0 failed=0 skipped=0

indent() { sed 's/^/    | /' "$@"; }

can_listen_ipv6() {
  "$python" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null
}

for case in "${cases[@]}"; do
  [ -f "$case" ] || { echo "FAIL $case: no such case"; failed=$((failed + 1)); continue; }
  name=$(basename "$case" .txt)
  client="" expect=pass client_exit=0 server_args=() requires=""
  want_out=$work/$name.want have_out=0 server_error=()
  : >"$want_out"
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    case $line in
      "# client: "*)       client=${line#"# client: "} ;;
      "# expect: "*)       expect=${line#"# expect: "} ;;
      "# client-exit: "*)  client_exit=${line#"# client-exit: "} ;;
      "# server-args: "*)  read -r -a server_args <<<"${line#"# server-args: "}" ;;
      "# server-error: "*) server_error+=("${line#"# server-error: "}") ;;
      "# requires: "*)     requires=${line#"# requires: "} ;;
      "# stdout:"*)        rest=${line#"# stdout:"}; rest=${rest# }
                           printf '%s\n' "$rest" >>"$want_out"; have_out=1 ;;
    esac
  done <"$case"

  if [ -z "$client" ]; then
    echo "FAIL $name: no '# client:' line"; failed=$((failed + 1)); continue
  fi
  if [ "$expect" != pass ] && [ "$expect" != fail ]; then
    echo "FAIL $name: '# expect:' must be pass or fail"; failed=$((failed + 1)); continue
  fi
  if [ "$requires" = ipv6 ] && ! can_listen_ipv6; then
    echo "SKIP $name: ::1 not available"; skipped=$((skipped + 1)); continue
  fi

  host=127.0.0.1
  for a in ${server_args[@]+"${server_args[@]}"}; do [ "$a" = --ipv6 ] && host=::1; done

  read -r -a argv <<<"$client"
  exe=$bindir/${argv[0]}
  if [ ! -x "$exe" ]; then
    echo "FAIL $name: client $exe not built"; failed=$((failed + 1)); continue
  fi

  portfile=$work/$name.port
  "$python" "$here/scripted_server.py" --port-file "$portfile" \
      ${server_args[@]+"${server_args[@]}"} "$case" 2>"$work/$name.server" &
  spid=$!
  for _ in $(seq 1 200); do
    [ -s "$portfile" ] && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
  done
  if [ ! -s "$portfile" ]; then
    kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
    echo "FAIL $name: server did not start"; indent "$work/$name.server"
    failed=$((failed + 1)); continue
  fi
  port=$(cat "$portfile")

  args=()
  for a in "${argv[@]:1}"; do
    a=${a//@PORT@/$port}; a=${a//@HOST@/$host}; a=${a//@DIR@/$here/cases}
    args+=("$a")
  done
  ${runner_timeout[@]+"${runner_timeout[@]}"} "$exe" ${args[@]+"${args[@]}"} \
      >"$work/$name.out" 2>"$work/$name.err"
  crc=$?
  wait "$spid"
  src=$?

  why=""
  if [ "$expect" = pass ]; then
    [ "$src" -eq 0 ] || why="server exited $src"
    [ -n "$why" ] || [ "$crc" -eq "$client_exit" ] || why="client exited $crc, expected $client_exit"
    if [ -z "$why" ] && [ "$have_out" -eq 1 ] && ! cmp -s "$want_out" "$work/$name.out"; then
      why="client output differs"
    fi
  else
    [ "$src" -eq 1 ] || why="expected the server to fail (exit 1), it exited $src"
  fi
  for e in ${server_error[@]+"${server_error[@]}"}; do
    [ -n "$why" ] || grep -qF -- "$e" "$work/$name.server" || why="server stderr lacks: $e"
  done

  if [ -z "$why" ]; then
    echo "PASS $name"; passed=$((passed + 1))
  else
    echo "FAIL $name: $why"
    echo "  server stderr:"; indent "$work/$name.server"
    echo "  client stdout:"; indent "$work/$name.out"
    echo "  client stderr:"; indent "$work/$name.err"
    if [ "$have_out" -eq 1 ]; then
      echo "  expected client stdout:"; indent "$want_out"
    fi
    failed=$((failed + 1))
  fi
done

[ "$skipped" -eq 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
