#!/usr/bin/env bash
# `make install PREFIX=DIR` gives a working library: installs a build into a
# temporary prefix, then builds examples/pop3_fetch.c against it with nothing
# but `pkg-config --cflags --libs postie` (shared and static), and runs both.
# Usage: check-install.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
build=${1:-build/gcc}
prefix=$(mktemp -d); trap 'rm -rf "$prefix"' EXIT
pass=0; fail=0
ok()  { echo "ok - $1"; pass=$((pass + 1)); }
bad() { echo "not ok - $1"; fail=$((fail + 1)); }

if cmake --install "$build" --prefix "$prefix" >/dev/null; then ok "cmake --install into $prefix"; else bad "install"; fi
for f in include/postie/pop3.h include/postie/postie_config_defaults.h lib/libpostie.a lib/libpostie.so lib/pkgconfig/postie.pc; do
  [ -e "$prefix/$f" ] && ok "installed $f" || bad "missing $f"
done

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
if flags=$(pkg-config --cflags --libs postie); then ok "pkg-config --cflags --libs postie: $flags"; else bad "pkg-config postie"; fi

# The POSIX port's headers (ports/posix/include/postie in the tree) install
# beside the core's, at the same <postie/...> path; posix_tls.h only when the
# build has OpenSSL, and then a program using the OpenSSL transport's names
# (postie_openssl_*) builds from the installed tree alone; the 0.1 names
# (postie_tls_*) still build, with a deprecation warning.
for f in include/postie/posix_tcp.h include/postie/posix_random.h; do
  [ -e "$prefix/$f" ] && ok "installed $f" || bad "missing $f"
done
if grep -q '^POSTIE_WITH_OPENSSL:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  [ -e "$prefix/include/postie/posix_tls.h" ] && ok "installed include/postie/posix_tls.h" || bad "missing include/postie/posix_tls.h"
  printf '%s\n' '#include <postie/posix_tls.h>' \
    'int main(void) { postie_openssl_options o; postie_openssl_options_init(&o);' \
    '  return o.pin_kind == POSTIE_OPENSSL_PIN_NONE ? 0 : 1; }' >"$prefix/ossl_new.c"
  printf '%s\n' '#include <postie/posix_tls.h>' \
    'int main(void) { postie_tls_options o; postie_tls_options_init(&o);' \
    '  return o.pin_kind == POSTIE_TLS_PIN_NONE ? 0 : 1; }' >"$prefix/ossl_old.c"
  # shellcheck disable=SC2086
  if cc -Wall -Werror -o "$prefix/ossl_new" "$prefix/ossl_new.c" $flags && LD_LIBRARY_PATH=$prefix/lib "$prefix/ossl_new"; then
    ok "postie_openssl_* builds and runs against the installed headers"; else bad "postie_openssl_* program"; fi
  # shellcheck disable=SC2086
  if warn=$(cc -Wall -o "$prefix/ossl_old" "$prefix/ossl_old.c" $flags 2>&1) && LD_LIBRARY_PATH=$prefix/lib "$prefix/ossl_old" \
     && echo "$warn" | grep -q "deprecated"; then
    ok "the deprecated postie_tls_* names build (with a warning) and run"; else bad "deprecated postie_tls_* names: $warn"; fi
else
  [ ! -e "$prefix/include/postie/posix_tls.h" ] && ok "no posix_tls.h in a build without OpenSSL" || bad "posix_tls.h installed without OpenSSL"
fi
# The mbed TLS transport (ports/mbedtls), when built: its header beside the
# others and libpostie_mbedtls.a; a program using it builds from the
# installed tree (with mbed TLS's own libraries) and runs.
if grep -q '^POSTIE_WITH_MBEDTLS:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  for f in include/postie/mbedtls_tls.h lib/libpostie_mbedtls.a; do
    [ -e "$prefix/$f" ] && ok "installed $f" || bad "missing $f"
  done
  printf '%s\n' '#include <postie/mbedtls_tls.h>' \
    'int main(void) { postie_mbedtls t; postie_transport tr = {0}; postie_mbedtls_options o;' \
    '  postie_mbedtls_options_init(&o);  /* no CA: refused */' \
    '  return postie_mbedtls_init(&t, &tr, &o) == POSTIE_ERR_PARAM ? 0 : 1; }' >"$prefix/mbed.c"
  # shellcheck disable=SC2086
  if cc -Wall -Werror -o "$prefix/mbed" "$prefix/mbed.c" $(pkg-config --cflags postie) \
       "$prefix/lib/libpostie_mbedtls.a" "$prefix/lib/libpostie.a" \
       $(pkg-config --static --libs-only-l postie | sed 's/-lpostie//') -lmbedtls -lmbedx509 -lmbedcrypto \
     && "$prefix/mbed"; then
    ok "postie_mbedtls_* builds and runs against the installed headers"; else bad "postie_mbedtls_* program"; fi
else
  [ ! -e "$prefix/include/postie/mbedtls_tls.h" ] && ok "no mbedtls_tls.h in a build without mbed TLS" || bad "mbedtls_tls.h installed without mbed TLS"
fi
# shellcheck disable=SC2086
if cc -Wall -Werror -o "$prefix/fetch-shared" examples/pop3_fetch.c $flags; then ok "example builds against the shared library"; else bad "shared build"; fi
# shellcheck disable=SC2086
if cc -Wall -Werror -static-libgcc -o "$prefix/fetch-static" examples/pop3_fetch.c $(pkg-config --cflags postie) \
     "$prefix/lib/libpostie.a" $(pkg-config --static --libs-only-l postie | sed 's/-lpostie//'); then
  ok "example builds against the static library"; else bad "static build"; fi

# Both must run: against a closed loopback port they report the refusal and exit 1.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for v in shared static; do
  out=$(LD_LIBRARY_PATH=$prefix/lib POP3_PASSWORD=x "$prefix/fetch-$v" 127.0.0.1 "$port" nobody 2>&1); rc=$?
  if [ $rc -eq 1 ] && echo "$out" | grep -q "could not connect"; then ok "$v example runs and reports: $out"
  else bad "$v example: rc=$rc out=$out"; fi
done
if LD_LIBRARY_PATH=$prefix/lib ldd "$prefix/fetch-shared" | grep -q "=> $prefix/lib/libpostie.so"; then ok "shared example uses the installed libpostie.so"
else bad "shared example does not load $prefix/lib/libpostie.so"; fi

# The NetX Duo layer: a sample program in the guides' style builds with nothing
# but `pkg-config --cflags --libs postie-netx`.
for f in include/postie/netx/nx_api.h include/postie/netx/tx_api.h include/postie/netx/nxd_pop3_client.h \
         include/postie/netx/nxd_smtp_client.h lib/libpostie_netx.a lib/pkgconfig/postie-netx.pc; do
  [ -e "$prefix/$f" ] && ok "installed $f" || bad "missing $f"
done
if nflags=$(pkg-config --cflags --libs postie-netx); then ok "pkg-config --cflags --libs postie-netx: $nflags"; else bad "pkg-config postie-netx"; fi
for s in demo_netx_pop3_client demo_netx_smtp_client; do
  # shellcheck disable=SC2086
  if cc -Wall -Werror -DNETX_DEMO_FROM_ENV -o "$prefix/$s" examples/netx/$s.c $nflags; then ok "$s builds against the installed layer"
  else bad "$s build"; fi
done

# The tools and their man pages; the installed tools run and answer --help.
for f in bin/postie-fetch bin/postie-send share/man/man1/postie-fetch.1 share/man/man1/postie-send.1 \
         share/man/man5/postie.5; do
  [ -e "$prefix/$f" ] && ok "installed $f" || bad "missing $f"
done
for t in postie-fetch postie-send; do
  if LD_LIBRARY_PATH=$prefix/lib "$prefix/bin/$t" --help 2>&1 | grep -q -- '--tls'; then ok "installed $t --help"
  else bad "installed $t --help"; fi
done
if command -v man >/dev/null && MANPATH=$prefix/share/man man -P cat postie-fetch 2>/dev/null | grep -q 'postie-fetch'; then
  ok "man postie-fetch renders from the installed pages"
elif ! command -v man >/dev/null; then ok "man not installed here: page presence checked above"
else bad "man postie-fetch does not render"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
