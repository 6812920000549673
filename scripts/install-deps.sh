#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a Debian 12 machine.
# Idempotent: installs only what is missing. Never starts system daemons, and
# leaves the system's services as they were: when this install is what brings
# Dovecot or Postfix onto the machine, their system services (dovecot.service,
# dovecot.socket, postfix.service and their /etc/rc?.d links) are disabled
# again, so a reboot does not start a Dovecot on ports 110/995 or a Postfix on
# port 25. The tests run private instances of their own (scripts/teststack.sh).
# Services of packages that were installed before are not touched.
#
# For tests/scripts/test_install_deps.sh: POSTIE_DEPS_SYSROOT prefixes the
# /etc and /usr/sbin paths this script reads and writes (default: none).
set -euo pipefail

SYSROOT=${POSTIE_DEPS_SYSROOT:-}

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libcmocka-dev
      libssl-dev openssl libmbedtls-dev dovecot-core dovecot-pop3d postfix python3
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm dpkg-dev
      git git-email libmailtools-perl strace valgrind
      libcurl4-openssl-dev libcjson-dev nodejs)
# libcurl and cJSON: the tools' OAuth 2.0 (HTTP, JSON). nodejs (and npm, below)
# run the OAuth 2.0 provider of tests/oauth (oidc-provider, from npm by
# `npm ci` against the committed package-lock.json).

# package -> the system services it ships (systemd unit, SysV script name)
services_of() {
  case $1 in
    dovecot-core) echo "dovecot.service dovecot.socket" ;;
    postfix)      echo "postfix.service" ;;
  esac
}
sysv_name() { local u=${1%.service}; u=${u%.socket}; echo "$u"; }

# The firmware's lwIP and mbed TLS: Debian's source packages (apt-get source,
# with a deb-src line for the machine's own mirror), unpacked under
# build/firmware/src by scripts/firmware-deps.sh (a no-op once they are there).
if [ -z "$SYSROOT" ]; then
  bash "$(dirname "$0")/firmware-deps.sh"
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm: Debian's package, unless the nodejs already installed brings its own
# (NodeSource's does, and Debian's npm would not install beside it)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi

# The services this install brings (of packages not installed before).
new_units=()
for p in "${missing[@]}"; do
  for u in $(services_of "$p"); do new_units+=("$u"); done
done

export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own daemons from starting while they install: a
# policy-rc.d that refuses every start, in place of the machine's own (put
# back afterwards, also on failure).
policy=$SYSROOT/usr/sbin/policy-rc.d
saved_policy=""
if [ -e "$policy" ] || [ -L "$policy" ]; then
  saved_policy=$(mktemp "$policy.postie-saved.XXXXXX")
  mv -f "$policy" "$saved_policy"
fi
restore_policy() {
  rm -f "$policy"
  [ -n "$saved_policy" ] && mv -f "$saved_policy" "$policy"
  return 0
}
trap restore_policy EXIT
printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"

echo "install-deps: installing ${missing[*]}"
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# The services the install enabled are disabled again, the way an admin
# would (state kept by deb-systemd-helper, so a package upgrade does not
# enable them again; SysV links turned from S to K by update-rc.d).
unit_enabled() { # unit: a wants/ link for it, or an S link of its SysV script
  local name; name=$(sysv_name "$1")
  compgen -G "$SYSROOT/etc/systemd/system/*.wants/$1" >/dev/null && return 0
  [[ $1 == *.service ]] && compgen -G "$SYSROOT/etc/rc[2-5].d/S[0-9][0-9]$name" >/dev/null && return 0
  return 1
}
left=()
for u in ${new_units[@]+"${new_units[@]}"}; do
  deb-systemd-helper disable "$u" >/dev/null 2>&1 || true
  if [[ $u == *.service ]] && [ -e "$SYSROOT/etc/init.d/$(sysv_name "$u")" ]; then
    update-rc.d "$(sysv_name "$u")" disable >/dev/null 2>&1 || true
  fi
  if unit_enabled "$u"; then left+=("$u"); else echo "install-deps: $u came with this install: left disabled"; fi
done
if [ ${#left[@]} -gt 0 ]; then
  echo "install-deps: could not disable ${left[*]}: run 'systemctl disable ${left[*]}'" >&2
  exit 1
fi
