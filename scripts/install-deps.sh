#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a Debian 12 machine.
# Idempotent: installs only what is missing. Never starts system daemons.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libcmocka-dev
      libssl-dev openssl dovecot-core dovecot-pop3d postfix python3
      gcc-arm-none-eabi libnewlib-arm-none-eabi
      git git-email libmailtools-perl)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Keep the packages' own daemons from starting on the standard ports.
policy=/usr/sbin/policy-rc.d
had_policy=0; [ -e "$policy" ] && had_policy=1
if [ $had_policy -eq 0 ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
