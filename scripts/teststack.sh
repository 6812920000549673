#!/usr/bin/env bash
# teststack.sh - Postie's private loopback mail servers for the interop tests
# and the demo: Dovecot (POP3) and Postfix (SMTP with Dovecot SASL), both
# delivering into / serving the same Maildirs under one folder.
#
#   teststack.sh start  DIR                  (re)start the stack in DIR, write DIR/env
#   teststack.sh stop   DIR                  stop it (safe when nothing runs)
#   teststack.sh status DIR                  exit 0 when both servers answer
#   teststack.sh deliver DIR USERADDR FILE...  put message files into USERADDR's
#                                            Maildir/new (CRLF line ends stored
#                                            as LF); prints each new file's path
#   teststack.sh reset  DIR USERADDR         empty that user's mailbox
#
# DIR is a folder of its own under the build folder (e.g. build/gcc/stack),
# wherever the clone is (a home folder of mode 0700 too). The servers' files
# live in a private folder /var/tmp/postie-stack.XXXXXXXXXX that start makes
# (the daemons' users can reach it; named in DIR/env as STACK_RUNTIME) and
# stop removes, copying the servers' logs to DIR/log. Only loopback addresses
# are ever bound, and Postfix never delivers anywhere but into that folder:
# mail relayed to other domains is discarded.
#
# Ports come from STACK_PORT_BASE (default 21100):
#   POP3 base+10 (STLS offered), SMTP base+25 (STARTTLS offered),
#   SMTP without CHUNKING base+26 (the same smtpd, BDAT not offered),
#   SMTPS base+65 (implicit TLS), SMTPS with an expired certificate base+66,
#   POP3S base+95 (implicit TLS); submission base+87 stays reserved.
# Certificates: a throw-away CA and server certificates for localhost,
# 127.0.0.1 and ::1, made at every start by tests/tls/gen-certs.sh (never
# committed); the keys stay in the runtime folder, the certificates are
# copied to DIR/tls, and DIR/env names the CA file.
#
# OAuth 2.0 (tests/oauth/run.sh): with STACK_OAUTH_INTROSPECTION_URL set at
# start (http://CLIENT:SECRET@127.0.0.1:PORT/PATH, an RFC 7662 endpoint on
# loopback), Dovecot also offers XOAUTH2 and OAUTHBEARER (so Postfix's SMTP
# AUTH does too, through Dovecot SASL), its oauth2 passdb asks that endpoint
# whether a token is active and takes the user name from the answer's "sub",
# and one more mailbox, OAUTH_USER (carol@postie.test, no password), exists.
# Without it the stack is as before.
#
# Must run as root (the daemons drop to their own users; the Maildirs belong
# to Debian's `mail` user, uid 8). Needs dovecot-core, dovecot-pop3d, postfix
# and python3 (scripts/install-deps.sh installs them).
set -euo pipefail

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

die() { echo "teststack: $*" >&2; exit 1; }

# ---------------------------------------------------------------- settings --

DOMAIN=postie.test
# name:password. Passwords are kept in plaintext on purpose: APOP and CRAM-MD5
# need the server to know them. No ':' in a password (passwd-file format).
ACCOUNTS=("alice:wonderland-42" "bob:looking-glass-7" "sink:sink-pass-100")
MAIL_UID=8   # Debian's `mail` user and group
MAIL_GID=8
MAX_MESSAGE=41943040   # 40 MiB: room for the 30 MB interop message
OAUTH_URL=${STACK_OAUTH_INTROSPECTION_URL:-}
OAUTH_NAME=carol       # the OAuth 2.0 mailbox (only with OAUTH_URL)

# The mailboxes: every account, and the OAuth one when OAuth is on.
mailbox_names() {
  local a
  for a in "${ACCOUNTS[@]}"; do echo "${a%%:*}"; done
  [ -n "$OAUTH_URL" ] && echo "$OAUTH_NAME"
  return 0
}

set_ports() {
  local base=${STACK_PORT_BASE:-21100}
  case $base in ''|*[!0-9]*) die "STACK_PORT_BASE must be a number";; esac
  [ "$base" -ge 1024 ] && [ "$base" -le 65400 ] || die "STACK_PORT_BASE out of range (1024..65400)"
  POP3_PORT=$((base + 10))
  SMTP_PORT=$((base + 25))
  SMTP_NOCHUNKING_PORT=$((base + 26)) # CHUNKING not offered (DATA only)
  SMTPS_PORT=$((base + 65))          # implicit TLS (RFC 8314 submissions)
  SMTPS_EXPIRED_PORT=$((base + 66))  # implicit TLS, expired certificate
  SUBMISSION_PORT=$((base + 87))     # reserved
  POP3S_PORT=$((base + 95))          # implicit TLS
}

# Paths of one stack. DIR (D) is the caller's folder, usually under the
# build folder of a clone: anywhere a user can clone, a home folder of mode
# 0700 included. The daemons run as their own users (postfix, dovecot,
# dovenull, mail) and cannot enter such a folder, so everything they open
# (configuration they read after dropping privileges, queues, state, logs,
# sockets, Maildirs) lives in a private runtime folder made by `start` with
# mktemp under /var/tmp (RUNTIME_PARENT), mode 0755, owned by root. Its path is
# recorded in DIR/runtime and DIR/env; `stop` copies its logs to DIR/log and
# removes it. The path is short, so the Unix sockets (limit 108 bytes) fit.
# DIR keeps only what root reads: env, runtime, log/ (after stop), tls/ (the
# CA and server certificates, without keys, for the clients).
RUNTIME_PARENT=${STACK_RUNTIME_PARENT:-/var/tmp}

# Refuses a DIR that is a system folder, saying why (start writes env,
# runtime, log/ and tls/ into DIR, and removes earlier ones).
check_dir() {
  local d=$1
  case $d in
    /|/bin|/boot|/dev|/etc|/home|/lib|/lib32|/lib64|/libx32|/media|/mnt|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/usr/*bin|/usr/lib*|/usr/include|/usr/share|/usr/local|/usr/src|/var)
      die "refusing DIR=$d: the stack writes its env, logs and certificates into DIR and removes earlier ones there, so DIR must be a folder of its own (e.g. BUILD/stack), not a system folder" ;;
    /bin/*|/boot/*|/dev/*|/etc/*|/lib*/*|/proc/*|/run/*|/sbin/*|/sys/*|/usr/bin/*|/usr/sbin/*|/usr/lib*/*|/usr/include/*|/usr/share/*)
      die "refusing DIR=$d: it is inside a system folder; put the stack under your build folder (e.g. BUILD/stack)" ;;
  esac
}

set_paths() {
  [ -n "$1" ] || usage
  case $1 in /*) check_dir "$1" ;; esac
  mkdir -p "$1" || die "cannot create DIR=$1"
  D=$(cd "$1" && pwd -P)
  check_dir "$D"
  R=""
  if [ -f "$D/runtime" ]; then
    R=$(cat "$D/runtime")
    runtime_ok "$R" || die "$D/runtime names '$R', which is not a runtime folder made by this script; remove that file"
  elif [ -f "$D/conf/dovecot.conf" ]; then
    R=$D   # a stack started by an earlier version of this script, in DIR itself
  fi
  runtime_paths
}

runtime_paths() {
  CONF=$R/conf
  LOG=$R/log
  RUN=$R/run            # Dovecot base_dir
  SPOOL=$R/spool        # Postfix queue_directory
  PFDATA=$R/pfdata      # Postfix data_directory
  STATE=$R/state        # Dovecot state_dir
  MAILROOT=$R/mail      # <domain>/<user>/Maildir
  TLSDIR=$R/conf/tls    # CA, server certificates and keys (gen-certs.sh)
}

# A runtime folder this script made: a real folder named
# RUNTIME_PARENT/postie-stack.XXXXXXXXXX owned by root.
runtime_ok() {
  case $1 in "$RUNTIME_PARENT"/postie-stack.??????????) ;; *) return 1 ;; esac
  [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %u "$1")" = 0 ]
}

# Every folder on the way to RUNTIME_PARENT must let the daemons' users in.
check_runtime_parent() {
  local p=$RUNTIME_PARENT
  [ -d "$p" ] || die "no folder $p for the servers' runtime files (set STACK_RUNTIME_PARENT to a folder every user can enter)"
  while :; do
    [ "$(( 0$(stat -c %a "$p") & 01 ))" -ne 0 ] ||
      die "$p is not enterable by other users (mode $(stat -c %a "$p")): the servers, which run as postfix, dovecot and mail, could not reach their files there; set STACK_RUNTIME_PARENT to a folder every user can enter"
    [ "$p" = / ] && break
    p=$(dirname "$p")
  done
}

# Makes a fresh runtime folder and records it in DIR/runtime.
make_runtime() {
  check_runtime_parent
  R=$(mktemp -d "$RUNTIME_PARENT/postie-stack.XXXXXXXXXX") || die "cannot create a folder in $RUNTIME_PARENT"
  chmod 0755 "$R"
  printf '%s\n' "$R" > "$D/runtime"
  runtime_paths
}

# Keeps the logs in DIR/log, then removes the runtime folder and its record.
remove_runtime() {
  [ -n "$R" ] || return 0
  if [ "$R" != "$D" ] && runtime_ok "$R"; then
    if [ -d "$LOG" ]; then
      rm -rf "$D/log"
      cp -r "$LOG" "$D/log" 2>/dev/null || true
    fi
    rm -rf "$R"
  fi
  rm -f "$D/runtime"
  R=""
  runtime_paths
}

have_ipv6() {
  python3 - <<'EOF' 2>/dev/null
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.bind(("::1", 0))
EOF
}

# --------------------------------------------------------- configuration --

# Dovecot listeners, one service block per login service: POP3 (STLS is
# offered there because ssl = yes) and POP3S (TLS from the first byte).
dovecot_services() {
  cat <<EOF
service pop3-login {
  inet_listener pop3 {
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = $POP3S_PORT
    ssl = yes
  }
}

service auth {
  # Postfix's smtpd asks Dovecot to check SASL logins here.
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

# With OAUTH_URL: the oauth2 passdb (tokens checked by introspection).
dovecot_oauth_passdb() {
  [ -n "$OAUTH_URL" ] || return 0
  cat <<EOF
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $CONF/oauth2.conf.ext
}
EOF
}

write_dovecot_oauth() {
  [ -n "$OAUTH_URL" ] || return 0
  case $OAUTH_URL in
    http://*@127.0.0.1:*|http://*@localhost:*) ;;
    *) die "STACK_OAUTH_INTROSPECTION_URL must be http://CLIENT:SECRET@127.0.0.1:PORT/PATH (loopback)" ;;
  esac
  # the introspection client's secret is in the URL: readable by Dovecot only
  cat > "$CONF/oauth2.conf.ext" <<EOF
# Generated by scripts/teststack.sh (STACK_OAUTH_INTROSPECTION_URL).
introspection_mode = post
introspection_url = $OAUTH_URL
force_introspection = yes
username_attribute = sub
active_attribute = active
active_value = true
EOF
  chown root:dovecot "$CONF/oauth2.conf.ext"; chmod 0640 "$CONF/oauth2.conf.ext"
}

write_dovecot_conf() {
  local listen="127.0.0.1"
  [ "$IPV6" = 1 ] && listen="127.0.0.1, ::1"
  : > "$CONF/users"
  local a name pass
  for a in "${ACCOUNTS[@]}"; do
    name=${a%%:*}; pass=${a#*:}
    printf '%s@%s:{PLAIN}%s\n' "$name" "$DOMAIN" "$pass" >> "$CONF/users"
  done
  chown root:dovecot "$CONF/users"; chmod 0640 "$CONF/users"

  cat > "$CONF/dovecot.conf" <<EOF
# Generated by scripts/teststack.sh: a private Dovecot for Postie's tests.
instance_name = postie-$(printf '%s' "$D" | cksum | cut -d' ' -f1)
base_dir = $RUN
state_dir = $STATE
log_path = $LOG/dovecot.log
info_log_path = $LOG/dovecot.log
debug_log_path = $LOG/dovecot.log

protocols = pop3
listen = $listen
# STLS on the POP3 port, implicit TLS on POP3S; certificates from gen-certs.sh.
ssl = yes
ssl_cert = <$TLSDIR/server.pem
ssl_key = <$TLSDIR/server.key
ssl_min_protocol = TLSv1.2

default_internal_user = dovecot
default_login_user = dovenull

# Loopback only, tests only: plaintext USER/PASS is allowed without TLS, and
# APOP/CRAM-MD5/SCRAM-SHA-256 work because the passdb holds plaintext
# passwords (Dovecot derives the SCRAM keys from them).
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 apop scram-sha-256$([ -n "$OAUTH_URL" ] && echo " xoauth2 oauthbearer")
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $CONF/users
}
$(dovecot_oauth_passdb)
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$MAILROOT/%d/%n
}

first_valid_uid = $MAIL_UID
last_valid_uid = $MAIL_UID
first_valid_gid = $MAIL_GID
mail_location = maildir:~/Maildir

protocol pop3 {
  # The UIDL is the Maildir file name: the tests map each message to its file.
  pop3_uidl_format = %f
  # poll_many opens hundreds of sessions for one user from 127.0.0.1 at once.
  mail_max_userip_connections = 1000
}
# Room for those sessions: a login process and a pop3 process per session.
default_process_limit = 500

$(dovecot_services)
EOF
}

# One smtpd per loopback address. Extra arguments become "-o name=value"
# overrides; the TLS issue adds submission and SMTPS as one call each, e.g.
#   postfix_smtpd "$SUBMISSION_PORT" smtpd_tls_security_level=encrypt
postfix_smtpd() {
  local port=$1; shift
  local addr o
  for addr in $POSTFIX_LISTEN; do
    echo "$addr:$port inet n - n - - smtpd"
    for o in "$@"; do echo "  -o $o"; done
  done
}

write_postfix_conf() {
  local pc=$CONF/postfix a name
  mkdir -p "$pc"
  POSTFIX_LISTEN="127.0.0.1"
  [ "$IPV6" = 1 ] && POSTFIX_LISTEN="127.0.0.1 [::1]"

  : > "$pc/vmailbox"
  for name in $(mailbox_names); do
    printf '%s@%s %s/%s/Maildir/\n' "$name" "$DOMAIN" "$DOMAIN" "$name" >> "$pc/vmailbox"
  done

  local inet_protocols=ipv4
  [ "$IPV6" = 1 ] && inet_protocols=all

  cat > "$pc/main.cf" <<EOF
# Generated by scripts/teststack.sh: a private Postfix for Postie's tests.
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $PFDATA
mail_owner = postfix
setgid_group = postdrop

maillog_file = $LOG/postfix.log
maillog_file_prefixes = $LOG

myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no
append_dot_mydomain = no
inet_interfaces = loopback-only
inet_protocols = $inet_protocols
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP Postie test stack
smtpd_peername_lookup = no

# Nothing leaves this machine: mail that an authenticated client relays to
# any other domain is accepted and then discarded.
default_transport = discard:relayed mail is discarded by the Postie test stack
relay_transport = discard:relayed mail is discarded by the Postie test stack

# The virtual domain: exactly the Maildirs Dovecot serves. Unknown users in
# it are refused at RCPT TO with 550; "user+tag@" reaches user.
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $MAILROOT
virtual_mailbox_maps = texthash:$pc/vmailbox
virtual_minimum_uid = $MAIL_UID
virtual_uid_maps = static:$MAIL_UID
virtual_gid_maps = static:$MAIL_GID
recipient_delimiter = +
unknown_virtual_mailbox_reject_code = 550

# SASL through Dovecot (so SCRAM-SHA-256 too); plaintext AUTH allowed
# (loopback tests). STARTTLS offered on the SMTP port; SMTPS ports wrap TLS.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = no
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLSDIR/server.pem
smtpd_tls_key_file = $TLSDIR/server.key
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_loglevel = 1

# Relaying only for authenticated clients; anyone may mail the virtual domain.
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination

# Sizes and limits for the interop tests (a 30 MB message; 100 recipients
# of which some are refused, without being slowed down or cut off).
message_size_limit = $MAX_MESSAGE
virtual_mailbox_limit = 0
mailbox_size_limit = 0
smtpd_recipient_limit = 1000
smtpd_soft_error_limit = 200
smtpd_hard_error_limit = 400
smtpd_error_sleep_time = 0
smtpd_junk_command_limit = 1000
# Hundreds of sessions at once (poll_many): smtpd processes for all of them.
default_process_limit = 500
EOF

  {
    echo "# Generated by scripts/teststack.sh. No chroot: paths are the real ones."
    echo "# service type  private unpriv  chroot  wakeup  maxproc command + args"
    postfix_smtpd "$SMTP_PORT"
    postfix_smtpd "$SMTP_NOCHUNKING_PORT" smtpd_discard_ehlo_keywords=chunking
    postfix_smtpd "$SMTPS_PORT" smtpd_tls_wrappermode=yes
    postfix_smtpd "$SMTPS_EXPIRED_PORT" smtpd_tls_wrappermode=yes \
      "smtpd_tls_cert_file=$TLSDIR/expired.pem" "smtpd_tls_key_file=$TLSDIR/expired.key"
    cat <<'EOF'
tlsmgr     unix  -  -  n  1000? 1 tlsmgr
pickup     unix  n  -  n  60   1  pickup
cleanup    unix  n  -  n  -    0  cleanup
qmgr       unix  n  -  n  300  1  qmgr
rewrite    unix  -  -  n  -    -  trivial-rewrite
bounce     unix  -  -  n  -    0  bounce
defer      unix  -  -  n  -    0  bounce
trace      unix  -  -  n  -    0  bounce
verify     unix  -  -  n  -    1  verify
flush      unix  n  -  n  1000? 0 flush
proxymap   unix  -  -  n  -    -  proxymap
proxywrite unix  -  -  n  -    1  proxymap
showq      unix  n  -  n  -    -  showq
error      unix  -  -  n  -    -  error
retry      unix  -  -  n  -    -  error
discard    unix  -  -  n  -    -  discard
local      unix  -  n  n  -    -  local
virtual    unix  -  n  n  -    -  virtual
anvil      unix  -  -  n  -    1  anvil
scache     unix  -  -  n  -    1  scache
postlog    unix-dgram n - n -  1  postlogd
EOF
  } > "$pc/master.cf"
}

write_env() {
  local host6=""
  [ "$IPV6" = 1 ] && host6="::1"
  {
    echo "# Written by scripts/teststack.sh start; source it from sh/bash."
    echo "# The servers' files (Maildirs, logs) are in STACK_RUNTIME while the"
    echo "# stack runs; stop removes it and copies the logs to STACK_DIR/log."
    echo "STACK_DIR='$D'"
    echo "STACK_SCRIPT='$SCRIPT'"
    echo "STACK_HOST=127.0.0.1"
    echo "STACK_HOST6='$host6'"
    echo "POP3_PORT=$POP3_PORT"
    echo "SMTP_PORT=$SMTP_PORT"
    echo "SMTP_NOCHUNKING_PORT=$SMTP_NOCHUNKING_PORT"
    echo "POP3S_PORT=$POP3S_PORT"
    echo "SMTPS_PORT=$SMTPS_PORT"
    echo "SMTPS_EXPIRED_PORT=$SMTPS_EXPIRED_PORT"
    echo "TLS_SERVER_NAME=localhost"
    echo "STACK_RUNTIME='$R'"
    echo "TLS_CA='$D/tls/ca.pem'"
    echo "TLS_OTHER_CA='$D/tls/other-ca.pem'"
    echo "TLS_SERVER_CERT='$D/tls/server.pem'"
    echo "DOMAIN=$DOMAIN"
    local i=1 a name pass
    for a in "${ACCOUNTS[@]}"; do
      name=${a%%:*}; pass=${a#*:}
      if [ "$name" = sink ]; then
        echo "SINK=$name@$DOMAIN"
        echo "SINK_PASS='$pass'"
        echo "MAILDIR_SINK='$MAILROOT/$DOMAIN/$name/Maildir'"
      else
        echo "USER$i=$name@$DOMAIN"
        echo "PASS$i='$pass'"
        echo "MAILDIR$i='$MAILROOT/$DOMAIN/$name/Maildir'"
        i=$((i + 1))
      fi
    done
    echo "UNKNOWN_USER=nobody@$DOMAIN"
    if [ -n "$OAUTH_URL" ]; then
      echo "OAUTH_USER=$OAUTH_NAME@$DOMAIN"
      echo "MAILDIR_OAUTH='$MAILROOT/$DOMAIN/$OAUTH_NAME/Maildir'"
      echo "export OAUTH_USER MAILDIR_OAUTH"
    fi
    echo "RECIPIENT_DELIMITER=+"
    echo "SMTP_MAX_SIZE=$MAX_MESSAGE"
    echo "DOVECOT_LOG='$LOG/dovecot.log'"
    echo "POSTFIX_LOG='$LOG/postfix.log'"
    echo "export STACK_RUNTIME STACK_DIR STACK_SCRIPT STACK_HOST STACK_HOST6 POP3_PORT SMTP_PORT DOMAIN"
    echo "export POP3S_PORT SMTPS_PORT SMTPS_EXPIRED_PORT TLS_SERVER_NAME TLS_CA TLS_OTHER_CA TLS_SERVER_CERT"
    echo "export USER1 PASS1 MAILDIR1 USER2 PASS2 MAILDIR2 SINK SINK_PASS MAILDIR_SINK"
    echo "export UNKNOWN_USER RECIPIENT_DELIMITER SMTP_MAX_SIZE DOVECOT_LOG POSTFIX_LOG"
    echo "export SMTP_NOCHUNKING_PORT"
  } > "$D/env.tmp"
  mv "$D/env.tmp" "$D/env"
}

make_maildir() { # path: an empty Maildir owned by the mail user
  mkdir -p "$1/new" "$1/cur" "$1/tmp"
  chown -R "$MAIL_UID:$MAIL_GID" "$(dirname "$1")"
  chmod 0700 "$1" "$1/new" "$1/cur" "$1/tmp"
}

# ------------------------------------------------------------- processes --

pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

dovecot_pid() { [ -n "$R" ] && [ -f "$RUN/master.pid" ] && cat "$RUN/master.pid" || true; }
postfix_pid() { [ -n "$R" ] && [ -f "$SPOOL/pid/master.pid" ] && tr -d ' \n' < "$SPOOL/pid/master.pid" || true; }

wait_gone() { # pid seconds
  local i=0
  while pid_alive "$1" && [ $i -lt $(($2 * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  ! pid_alive "$1"
}

# Reads the greeting of host:port; succeeds when it starts with $3. With a
# 4th argument (a CA file), the greeting is read over TLS (implicit TLS),
# the server's certificate verified against that CA for "localhost".
probe() {
  python3 - "$1" "$2" "$3" "${4:-}" <<'EOF' 2>/dev/null
import socket, ssl, sys
host, port, want, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
with socket.create_connection((host, port), timeout=2) as raw:
    s = raw
    if ca:
        s = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="localhost")
    s.settimeout(2)
    data = b""
    while b"\n" not in data:
        chunk = s.recv(512)
        if not chunk:
            break
        data += chunk
    sys.exit(0 if data.startswith(want) else 1)
EOF
}

hosts() { echo 127.0.0.1; [ "$IPV6" = 1 ] && echo ::1; return 0; }

# Fails with a clear message when another program (another stack?) holds
# one of our ports: the probes would otherwise talk to the wrong servers.
ports_free() {
  local h p
  for h in $(hosts); do
    for p in "$POP3_PORT" "$SMTP_PORT" "$SMTP_NOCHUNKING_PORT" "$POP3S_PORT" "$SMTPS_PORT" "$SMTPS_EXPIRED_PORT"; do
      python3 - "$h" "$p" <<'EOF' 2>/dev/null ||
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
EOF
        die "port $p on $h is in use (another stack?): choose another STACK_PORT_BASE"
    done
  done
}

wait_ready() { # seconds
  local deadline=$((SECONDS + $1)) h ok
  while :; do
    ok=1
    for h in $(hosts); do
      probe "$h" "$POP3_PORT" "+OK" || { ok=0; break; }
      probe "$h" "$SMTP_PORT" "220" || { ok=0; break; }
      probe "$h" "$SMTP_NOCHUNKING_PORT" "220" || { ok=0; break; }
      probe "$h" "$POP3S_PORT" "+OK" "$TLSDIR/ca.pem" || { ok=0; break; }
      probe "$h" "$SMTPS_PORT" "220" "$TLSDIR/ca.pem" || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

stop_stack() {
  local p
  [ -n "$R" ] || return 0   # nothing was started in DIR
  p=$(postfix_pid)
  if pid_alive "$p"; then
    # abort, not stop: nothing in this stack's queue is worth waiting for,
    # and the master exits in about a second instead of four or five
    [ -f "$CONF/postfix/main.cf" ] &&
      postfix -c "$CONF/postfix" abort >> "$LOG/postfix.out" 2>&1 || true
    wait_gone "$p" 15 || { kill -TERM "$p" 2>/dev/null || true; wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null || true; }
  fi
  p=$(dovecot_pid)
  if pid_alive "$p"; then
    kill -TERM "$p" 2>/dev/null || true
    wait_gone "$p" 15 || kill -KILL "$p" 2>/dev/null || true
  fi
}

# A failed start leaves nothing running and no runtime folder; the logs stay
# in DIR/log.
start_failed() {
  stop_stack
  remove_runtime
  die "$1 (the servers' logs: $D/log)"
}

start_stack() {
  stop_stack
  remove_runtime
  # A fresh stack every time: configuration, queues, logs and mailboxes, in
  # a new runtime folder the daemons can reach (see set_paths).
  rm -rf "$D/log" "$D/tls" "$D/env"
  # what an earlier version of this script kept in DIR itself
  rm -rf "$D/conf" "$D/spool" "$D/pfdata" "$D/state" "$D/mail" "$D/run"
  make_runtime
  mkdir -p "$CONF" "$LOG" "$SPOOL" "$PFDATA" "$STATE" "$MAILROOT" "$RUN"
  chmod 0755 "$CONF" "$LOG" "$SPOOL" "$MAILROOT" "$RUN"
  chown postfix:postfix "$PFDATA"

  IPV6=0; have_ipv6 && IPV6=1
  ports_free
  local name
  for name in $(mailbox_names); do
    mkdir -p "$MAILROOT/$DOMAIN/$name"
    make_maildir "$MAILROOT/$DOMAIN/$name/Maildir"
  done
  chmod 0755 "$MAILROOT/$DOMAIN"

  # Fresh certificates every start (the CA lives two days); keys stay here.
  mkdir -p "$TLSDIR"
  sh "$(dirname "$SCRIPT")/../tests/tls/gen-certs.sh" "$TLSDIR" > "$LOG/gen-certs.out" 2>&1 ||
    { cat "$LOG/gen-certs.out" >&2; start_failed "could not make the test certificates"; }
  chmod 0600 "$TLSDIR"/*.key
  chmod 0644 "$TLSDIR"/*.pem
  # the clients' copy of the certificates (no keys), kept after stop
  mkdir -p "$D/tls"
  cp "$TLSDIR"/*.pem "$D/tls/"

  write_dovecot_conf
  write_dovecot_oauth
  write_postfix_conf

  dovecot -c "$CONF/dovecot.conf" > "$LOG/dovecot.out" 2>&1 < /dev/null ||
    { cat "$LOG/dovecot.out" "$LOG/dovecot.log" >&2 2>/dev/null || true; start_failed "dovecot did not start"; }
  # postfix(1) reports start-up errors only to a terminal or to the log.
  if ! postfix -c "$CONF/postfix" start > "$LOG/postfix.out" 2>&1 < /dev/null; then
    cat "$LOG/postfix.out" >&2 || true
    tail -n 20 "$LOG/postfix.log" >&2 2>/dev/null || true
    start_failed "postfix did not start"
  fi

  if ! wait_ready 30; then
    echo "teststack: servers did not answer within 30 s; logs:" >&2
    tail -n 20 "$LOG/dovecot.log" "$LOG/postfix.log" >&2 2>/dev/null || true
    start_failed "the servers did not answer"
  fi
  write_env
  echo "teststack: up in $D (POP3 $POP3_PORT, SMTP $SMTP_PORT, POP3S $POP3S_PORT, SMTPS $SMTPS_PORT$([ "$IPV6" = 1 ] && echo ', IPv4+IPv6' || echo ', IPv4 only'))"
}

status_stack() {
  local rc=0 p h
  IPV6=0; have_ipv6 && IPV6=1
  p=$(dovecot_pid)
  if pid_alive "$p"; then echo "dovecot: running (pid $p)"; else echo "dovecot: not running"; rc=1; fi
  p=$(postfix_pid)
  if pid_alive "$p"; then echo "postfix: running (pid $p)"; else echo "postfix: not running"; rc=1; fi
  for h in $(hosts); do
    if probe "$h" "$POP3_PORT" "+OK"; then echo "pop3 $h port $POP3_PORT: answers"; else echo "pop3 $h port $POP3_PORT: no answer"; rc=1; fi
    if probe "$h" "$SMTP_PORT" "220"; then echo "smtp $h port $SMTP_PORT: answers"; else echo "smtp $h port $SMTP_PORT: no answer"; rc=1; fi
    if probe "$h" "$POP3S_PORT" "+OK" "$TLSDIR/ca.pem"; then echo "pop3s $h port $POP3S_PORT: answers"; else echo "pop3s $h port $POP3S_PORT: no answer"; rc=1; fi
    if probe "$h" "$SMTPS_PORT" "220" "$TLSDIR/ca.pem"; then echo "smtps $h port $SMTPS_PORT: answers"; else echo "smtps $h port $SMTPS_PORT: no answer"; rc=1; fi
  done
  return $rc
}

maildir_of() { # user@domain -> its Maildir (must exist)
  local addr=$1 local_part dom
  case $addr in *@*) ;; *) die "not a full address: $addr";; esac
  local_part=${addr%@*}; dom=${addr##*@}
  case $local_part$dom in *[!A-Za-z0-9._-]*|.*) die "unsupported address: $addr";; esac
  [ -n "$R" ] || die "no stack runs in $D (start it first)"
  [ -d "$MAILROOT/$dom/$local_part/Maildir/new" ] || die "no mailbox for $addr in $D"
  echo "$MAILROOT/$dom/$local_part/Maildir"
}

deliver() { # user files...
  local md f
  md=$(maildir_of "$1"); shift
  [ $# -ge 1 ] || usage
  for f in "$@"; do [ "$f" = - ] || [ -f "$f" ] || die "no such file: $f"; done
  # One process for any number of files (the interop tests deliver 1,000).
  # Each file is written in tmp/ with CRLF line ends turned into LF, then
  # renamed into new/ (the Maildir protocol: Dovecot never sees a partial
  # file). Name: time.P<pid>Q<n>.postie, unique per delivery.
  local py
  py=$(cat <<'EOF'
import os, sys, time
md, uid, gid, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
now, pid, n = int(time.time()), os.getpid(), 0
for f in files:
    if f == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(f, "rb") as src:
            data = src.read()
    data = data.replace(b"\r\n", b"\n")
    while True:
        n += 1
        base = "%d.P%dQ%d.postie" % (now, pid, n)
        if not os.path.exists(os.path.join(md, "new", base)):
            break
    tmp = os.path.join(md, "tmp", base)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chown(tmp, uid, gid)
    os.rename(tmp, os.path.join(md, "new", base))
    print(os.path.join(md, "new", base))
EOF
)
  python3 -c "$py" "$md" "$MAIL_UID" "$MAIL_GID" "$@"
}

reset_box() { # user
  local md
  md=$(maildir_of "$1")
  # Messages and Dovecot's index/uidlist files: the mailbox starts over.
  find "$md" -mindepth 1 -delete
  make_maildir "$md"
}

# ------------------------------------------------------------------ main --

[ $# -ge 2 ] || usage
[ "$(id -u)" -eq 0 ] || die "must run as root (the servers switch to their own users)"
SCRIPT=$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")
cmd=$1
set_ports
set_paths "$2"
shift 2
# A running stack keeps the ports it was started with.
if [ "$cmd" != start ] && [ -f "$D/env" ]; then
  POP3_PORT=$(sed -n 's/^POP3_PORT=//p' "$D/env")
  SMTP_PORT=$(sed -n 's/^SMTP_PORT=//p' "$D/env")
  POP3S_PORT=$(sed -n 's/^POP3S_PORT=//p' "$D/env")
  SMTPS_PORT=$(sed -n 's/^SMTPS_PORT=//p' "$D/env")
fi
case $cmd in
  start)   [ $# -eq 0 ] || usage; start_stack ;;
  stop)    [ $# -eq 0 ] || usage; stop_stack; remove_runtime; echo "teststack: stopped ($D; logs in $D/log)" ;;
  status)  [ $# -eq 0 ] || usage; status_stack ;;
  deliver) [ $# -ge 2 ] || usage; deliver "$@" ;;
  reset)   [ $# -eq 1 ] || usage; reset_box "$1" ;;
  *) usage ;;
esac
