#!/usr/bin/env bash
# tests/scripts/test_install_deps.sh - scripts/install-deps.sh leaves the
# system's services as they were. Runs the script against a fake root
# (POSTIE_DEPS_SYSROOT) with fake apt-get, dpkg-query, deb-systemd-helper and
# update-rc.d first in PATH: the fake apt-get "installs" a package the way its
# maintainer scripts do (systemd wants/ links, /etc/init.d script, rc S/K
# links), and the checks look at the links afterwards. Nothing outside a
# temporary folder is touched. Run by ctest (install_deps).
set -u
SCRIPT=$(cd "$(dirname "$0")/../.." && pwd -P)/scripts/install-deps.sh
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
failures=0; checks=0
ok()  { checks=$((checks + 1)); echo "ok - $*"; }
bad() { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

mkdir -p "$T/bin"
cat > "$T/bin/dpkg-query" <<'F'
#!/bin/sh
# dpkg-query -W -f='${Status}' PKG
for last; do :; done
grep -qx "$last" "$FAKE/installed" && printf 'install ok installed'
exit 0
F
cat > "$T/bin/apt-get" <<'F'
#!/bin/bash
echo "apt-get $*" >> "$FAKE/calls"
[ "$1" = install ] || exit 0
# what the maintainer scripts would do, unless policy-rc.d forbids starts
grep -qs 'exit 101' "$POSTIE_DEPS_SYSROOT/usr/sbin/policy-rc.d" && echo "policy refused starts" >> "$FAKE/calls"
enable_sysv() { # name
  mkdir -p "$R/etc/init.d"; touch "$R/etc/init.d/$1"
  for l in 2 3 4 5; do mkdir -p "$R/etc/rc$l.d"; ln -sf ../init.d/$1 "$R/etc/rc$l.d/S01$1"; done
  for l in 0 1 6; do mkdir -p "$R/etc/rc$l.d"; ln -sf ../init.d/$1 "$R/etc/rc$l.d/K01$1"; done
}
R=$POSTIE_DEPS_SYSROOT
for p; do
  case $p in -*|install) continue ;; esac
  echo "$p" >> "$FAKE/installed"
  case $p in
    dovecot-core)
      mkdir -p "$R/etc/systemd/system/multi-user.target.wants" "$R/etc/systemd/system/sockets.target.wants"
      ln -sf /lib/systemd/system/dovecot.service "$R/etc/systemd/system/multi-user.target.wants/dovecot.service"
      ln -sf /lib/systemd/system/dovecot.socket "$R/etc/systemd/system/sockets.target.wants/dovecot.socket"
      enable_sysv dovecot ;;
    postfix)
      mkdir -p "$R/etc/systemd/system/multi-user.target.wants"
      ln -sf /lib/systemd/system/postfix.service "$R/etc/systemd/system/multi-user.target.wants/postfix.service"
      enable_sysv postfix ;;
  esac
done
F
cat > "$T/bin/deb-systemd-helper" <<'F'
#!/bin/sh
echo "deb-systemd-helper $*" >> "$FAKE/calls"
[ "$1" = disable ] && rm -f "$POSTIE_DEPS_SYSROOT"/etc/systemd/system/*.wants/"$2"
exit 0
F
cat > "$T/bin/update-rc.d" <<'F'
#!/bin/bash
echo "update-rc.d $*" >> "$FAKE/calls"
if [ "$2" = disable ]; then
  for f in "$POSTIE_DEPS_SYSROOT"/etc/rc[2-5].d/S[0-9][0-9]"$1"; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    b=${f##*/}; mv "$f" "${f%/*}/K01${b:3}"
  done
fi
F
printf '#!/bin/sh\ncat >/dev/null\n' > "$T/bin/debconf-set-selections"
printf '#!/bin/sh\n[ "$1" = -u ] && echo 0 || /usr/bin/id "$@"\n' > "$T/bin/id"
chmod +x "$T/bin"/*

# the script's own package list (pkgs=(...)), so that adding a package there
# does not need an edit here
pkgs_all=$(sed -n '/^pkgs=(/,/)/p' "$SCRIPT" | sed 's/^pkgs=(//; s/).*$//' | tr -s ' \n' '  ')
case " $pkgs_all " in *" dovecot-core "*" postfix "*) ;; *) echo "not ok - cannot read pkgs=(...) from $SCRIPT"; exit 1 ;; esac

run_case() { # name: fresh fake root and fake dpkg state
  export FAKE=$T/$1 POSTIE_DEPS_SYSROOT=$T/$1/root
  mkdir -p "$POSTIE_DEPS_SYSROOT/usr/sbin"
  : > "$FAKE/calls"; : > "$FAKE/installed"
}

# 1. Postfix was installed (and enabled) before; this install brings Dovecot.
run_case one
for p in $pkgs_all; do [ "$p" = dovecot-core ] || [ "$p" = dovecot-pop3d ] || echo "$p" >> "$FAKE/installed"; done
PATH=$T/bin:$PATH bash "$T/bin/apt-get" install postfix >/dev/null   # the earlier install: enabled
printf '#!/bin/sh\n# the machine'"'"'s own\nexit 0\n' > "$POSTIE_DEPS_SYSROOT/usr/sbin/policy-rc.d"
: > "$FAKE/calls"
out=$(PATH=$T/bin:$PATH bash "$SCRIPT" 2>&1); rc=$?
R=$POSTIE_DEPS_SYSROOT
check "install-deps exits 0 (output: $out)" [ $rc -eq 0 ]
check "it installed the two missing packages" grep -q "apt-get install .*dovecot-core dovecot-pop3d" "$FAKE/calls"
check "the daemons could not start during the install (policy-rc.d exit 101)" grep -q "policy refused starts" "$FAKE/calls"
check "the machine's own policy-rc.d is put back" grep -q "the machine's own" "$R/usr/sbin/policy-rc.d"
check "no policy-rc.d copy left behind" [ -z "$(find "$R/usr/sbin" -name 'policy-rc.d.postie-saved*')" ]
check "dovecot.service is not wanted by any target" [ -z "$(find "$R/etc/systemd/system" -name dovecot.service)" ]
check "dovecot.socket is not wanted by any target" [ -z "$(find "$R/etc/systemd/system" -name dovecot.socket)" ]
check "no S link for dovecot in rc2..5" [ -z "$(find "$R"/etc/rc[2-5].d -name 'S*dovecot')" ]
check "K links for dovecot in rc2..5 (disabled, as update-rc.d does)" [ "$(find "$R"/etc/rc[2-5].d -name 'K*dovecot' | wc -l)" -eq 4 ]
check "postfix.service (installed before) is still enabled" [ -L "$R/etc/systemd/system/multi-user.target.wants/postfix.service" ]
check "postfix's rc links (installed before) are untouched" [ "$(find "$R"/etc/rc[2-5].d -name 'S01postfix' | wc -l)" -eq 4 ]
postfix_untouched() { ! grep -E "deb-systemd-helper|update-rc.d" "$FAKE/calls" | grep -q postfix; }
check "postfix was not disabled" postfix_untouched
check "it says what it left disabled" grep -q "dovecot.service came with this install: left disabled" <<<"$out"

# 2. Both come with this install, on a machine without a policy-rc.d.
run_case two
for p in $pkgs_all; do case $p in dovecot-*|postfix) ;; *) echo "$p" >> "$FAKE/installed" ;; esac; done
out=$(PATH=$T/bin:$PATH bash "$SCRIPT" 2>&1); rc=$?
R=$POSTIE_DEPS_SYSROOT
check "install-deps exits 0 (output: $out)" [ $rc -eq 0 ]
check "no unit of dovecot or postfix is enabled" [ -z "$(find "$R/etc/systemd/system" -name 'dovecot.*' -o -name 'postfix.*')" ]
check "no S link in rc2..5" [ -z "$(find "$R"/etc/rc[2-5].d -name 'S*')" ]
check "no policy-rc.d left (there was none before)" [ ! -e "$R/usr/sbin/policy-rc.d" ]

# 3. Nothing missing: nothing is installed or changed.
run_case three
for p in $pkgs_all; do echo "$p" >> "$FAKE/installed"; done
out=$(PATH=$T/bin:$PATH bash "$SCRIPT" 2>&1); rc=$?
nothing_done() { [ $rc -eq 0 ] && [ ! -s "$FAKE/calls" ]; }
check "nothing missing: exit 0, no apt-get, no service change" nothing_done

# 4. A service that stays enabled is an error that says what to do.
run_case four
for p in $pkgs_all; do [ "$p" = postfix ] || echo "$p" >> "$FAKE/installed"; done
out=$(PATH=$T/bin:$PATH bash -c 'deb-systemd-helper() { :; }; export -f deb-systemd-helper; bash "$0"' "$SCRIPT" 2>&1); rc=$?
named_failure() { [ $rc -ne 0 ] && grep -q "could not disable postfix.service" <<<"$out"; }
check "a unit still enabled after disabling fails the install, naming it (exit $rc: $out)" named_failure

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
