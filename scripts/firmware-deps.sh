#!/usr/bin/env bash
# firmware-deps.sh [DIR] - the sources the firmware image is built from,
# obtained from Debian's archive only (make firmware calls it; so does
# scripts/install-deps.sh when run as root):
#   - the packages of the toolchain and the emulator (gcc-arm-none-eabi,
#     libnewlib-arm-none-eabi, qemu-system-arm, dpkg-dev for dpkg-source);
#   - Debian's source packages of lwIP (2.1.3) and mbed TLS (2.28), with
#     Debian's patches applied, unpacked into DIR/lwip and DIR/mbedtls
#     (default build/firmware/src; never committed).
# apt has no deb-src lines here by default: this adds one for the same
# Debian mirror and suite the machine's deb lines use
# (/etc/apt/sources.list.d/postie-deb-src.sources) before `apt-get source`.
# Idempotent: does nothing when both trees are there and the tools installed.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${1:-build/firmware/src}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd -P)

pkgs=(gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dpkg-dev python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
have_src() { [ -f "$DIR/lwip/src/core/tcp.c" ] && [ -f "$DIR/mbedtls/library/ssl_cli.c" ]; }
if [ ${#missing[@]} -eq 0 ] && have_src; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "firmware-deps: need root to install ${missing[*]:-} and Debian's lwip/mbedtls sources" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
SRCLIST=/etc/apt/sources.list.d/postie-deb-src.sources
updated=0
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  # the mirror of the machine's own Debian lines (deb822 or one-line form)
  uri=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
  [ -n "$uri" ] || uri=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*debian\)\/* .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" "$suite" > "$SRCLIST"
  echo "firmware-deps: added $SRCLIST ($uri $suite)"
fi
apt-get update -qq; updated=1
if [ ${#missing[@]} -gt 0 ]; then
  echo "firmware-deps: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! have_src; then
  work=$(mktemp -d "$DIR/.get.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get source --download-only lwip mbedtls >/dev/null 2>&1) ||
    { echo "firmware-deps: apt-get source lwip mbedtls failed" >&2; exit 1; }
  chmod -R a+rX "$work"
  for pkg in lwip mbedtls; do
    rm -rf "${DIR:?}/$pkg"
    (cd "$work" && dpkg-source -x "$(ls ${pkg}_*.dsc | head -n 1)" "$DIR/$pkg" >/dev/null 2>&1)
    echo "firmware-deps: $pkg source in $DIR/$pkg ($(ls "$work"/${pkg}_*.dsc | sed 's/.*_//; s/\.dsc$//'))"
  done
fi
: "$updated"
have_src
