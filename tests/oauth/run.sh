#!/usr/bin/env bash
# tests/oauth/run.sh BUILD_DIR - OAuth 2.0 in postie-fetch and postie-send
# against real parts on loopback (issue 15):
#   - oidc-provider (npm; tests/oauth/provider.mjs) issues the tokens, with
#     5-second access tokens and refresh tokens that rotate at every use;
#   - the test Dovecot (scripts/teststack.sh with STACK_OAUTH_INTROSPECTION_URL)
#     checks each token at the provider's introspection endpoint, for POP3
#     and, through Dovecot SASL, for Postfix's SMTP AUTH;
#   - tests/oauth/browser.py does what the user does in the browser (the
#     device code page, the login and consent pages, the loopback redirect).
# Cases: the first authorization (device flow); OAUTHBEARER and XOAUTH2 over
# POP3 and SMTP; a refresh on expiry; the rotated refresh token kept across
# runs; a refresh after the server refused a token the file said was valid;
# the authorization code flow with PKCE and a loopback redirect (and a
# forged redirect ignored); a revoked grant (exit 77 and the command that
# re-authorizes); the provider down (exit 75, the token file unchanged); no
# token in any output or trace.
# The provider and the stack run on STACK_PORT_BASE's ports (provider:
# base+40) in BUILD_DIR/oauth-stack and are always stopped at the end. The
# npm packages are installed from tests/oauth/package-lock.json (npm ci) when
# tests/oauth/node_modules is missing or stale (about 10 s). Every wait is
# bounded; the whole run takes about 90 s (103 s with npm ci first).
set -u
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
BUILD=$(cd "$1" && pwd -P)
HERE=$ROOT/tests/oauth
FETCH=$BUILD/tools/postie-fetch
SEND=$BUILD/tools/postie-send
[ -x "$FETCH" ] && [ -x "$SEND" ] || { echo "tools not built in $BUILD/tools" >&2; exit 1; }
command -v node >/dev/null || { echo "node is missing: scripts/install-deps.sh installs nodejs and npm" >&2; exit 1; }

BASE=${STACK_PORT_BASE:-21100}
PPORT=$((BASE + 40))
AT_TTL=5
ISSUER=http://127.0.0.1:$PPORT
STACKDIR=$BUILD/oauth-stack
WORK=$(mktemp -d "$BUILD/oauth-test.XXXXXX")
export HOME=$WORK/home XDG_CONFIG_HOME=$WORK/home/.config XDG_STATE_HOME=$WORK/home/.state
mkdir -p "$HOME"
unset POSTIE_PASSWORD

failures=0; checks=0
ok()   { checks=$((checks + 1)); echo "ok - $*"; }
bad()  { checks=$((checks + 1)); failures=$((failures + 1)); echo "not ok - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
# run NAME command...: stdout/stderr into $WORK/NAME.out/.err, exit code in RC
run() { local n=$1; shift; "$@" >"$WORK/$n.out" 2>"$WORK/$n.err"; RC=$?; }
expect() { # description want-rc name
  if [ "$RC" = "$2" ]; then ok "$1 (exit $RC)"; else bad "$1: exit $RC, want $2; stderr: $(head -c 400 "$WORK/$3.err")"; fi
}

PROVIDER_PID=""
start_provider() {
  : > "$WORK/provider.log"
  # shellcheck disable=SC2086
  node "$HERE/provider.mjs" "$PPORT" "$AT_TTL" ${PROVIDER_ARGS:-} >"$WORK/provider.log" 2>&1 &
  PROVIDER_PID=$!

  for _ in $(seq 1 100); do
    grep -q "provider ready" "$WORK/provider.log" && return 0
    kill -0 "$PROVIDER_PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "the provider did not start:" >&2; cat "$WORK/provider.log" >&2
  return 1
}
stop_provider() {
  [ -n "$PROVIDER_PID" ] || return 0
  kill "$PROVIDER_PID" 2>/dev/null

  for _ in $(seq 1 50); do kill -0 "$PROVIDER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$PROVIDER_PID" 2>/dev/null
  wait "$PROVIDER_PID" 2>/dev/null
  PROVIDER_PID=""
}
cleanup() {
  stop_provider
  bash "$ROOT/scripts/teststack.sh" stop "$STACKDIR" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # a timeout still stops the provider and the stack

# ---- set-up: npm packages, provider, stack -------------------------------------

# npm ci (exactly the committed lock) when the packages are missing or do not
# match package.json any more
if [ ! -d "$HERE/node_modules/oidc-provider" ] ||
   ! (cd "$HERE" && npm ls --omit=dev >/dev/null 2>&1); then
  echo "-- npm ci in tests/oauth"
  (cd "$HERE" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "npm ci failed" >&2; exit 1; }
fi
start_provider || exit 1
STACK_OAUTH_INTROSPECTION_URL="http://dovecot:dovecot-introspection-secret@127.0.0.1:$PPORT/token/introspection" \
  bash "$ROOT/scripts/teststack.sh" start "$STACKDIR" || { echo "cannot start the test stack" >&2; exit 1; }
# shellcheck disable=SC1091
. "$STACKDIR/env"

TOKENS=$WORK/tokens/carol.json
CFG=$WORK/config
cat > "$CFG" <<EOC
account carol
  host localhost
  pop3_port $POP3S_PORT
  pop3_tls implicit
  smtp_port $SMTP_PORT
  smtp_tls starttls
  cafile $TLS_CA
  timeout 20
  user $OAUTH_USER
  from $OAUTH_USER
  oauth_provider $ISSUER
  oauth_client_id postie
  oauth_scope openid offline_access mail
  oauth_token_file $TOKENS
  maildir $WORK/Maildir
EOC
HINT_FETCH="postie-fetch --authorize -C $CFG -a carol"
HINT_SEND="postie-send --authorize -C $CFG -a carol"

# every token the provider gave: none may appear in any output
: > "$WORK/seen-tokens"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$TOKENS" "$1"; }
remember_tokens() { field access_token >> "$WORK/seen-tokens"; field refresh_token >> "$WORK/seen-tokens"; }
set_expiry() { # unix time: what the file says about the access token
  python3 - "$TOKENS" "$1" <<'PY'
import json, os, sys
p, t = sys.argv[1], int(sys.argv[2])
d = json.load(open(p)); d["expires_at"] = t
fd = os.open(p + ".edit", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(d).encode()); os.close(fd); os.rename(p + ".edit", p)
PY
}
deliver() { printf 'From: x@postie.test\r\nSubject: %s\r\n\r\nbody\r\n' "$1" > "$WORK/msg"
            bash "$ROOT/scripts/teststack.sh" deliver "$STACKDIR" "$OAUTH_USER" "$WORK/msg" >/dev/null; }
delivered() { grep -rl "Subject: $1" "$WORK/Maildir/new" >/dev/null 2>&1; }
# the tool's line "or open URL" (device flow) or the indented URL (browser)
wait_for_url() { # errfile pattern

  for _ in $(seq 1 100); do
    URL=$(sed -n "$2" "$1" | head -n 1)
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  return 1
}

# ---- 1. the first authorization: device flow ----------------------------------

"$FETCH" -C "$CFG" -a carol --authorize=device -v >"$WORK/auth1.out" 2>"$WORK/auth1.err" &
AUTH_PID=$!
if wait_for_url "$WORK/auth1.err" 's/.*: or open \(http[^ ]*\)$/\1/p'; then
  ok "device flow: the tool shows the verification address and the code"
  if python3 "$HERE/browser.py" "$URL" "$OAUTH_USER" >"$WORK/browser1.log" 2>&1; then
    ok "device flow: the user approves in the browser (login, consent)"
  else
    bad "device flow: approval failed: $(cat "$WORK/browser1.log")"
  fi
else
  bad "device flow: no verification address on stderr: $(head -c 300 "$WORK/auth1.err")"
fi
# the tool polls every 5 s (the provider's interval): bounded wait
for _ in $(seq 1 200); do kill -0 $AUTH_PID 2>/dev/null || break; sleep 0.1; done
kill $AUTH_PID 2>/dev/null
wait $AUTH_PID; RC=$?
expect "device flow: --authorize ends once approved" 0 auth1
check "the endpoints came from the RFC 8414 metadata" \
  grep -q "metadata: $ISSUER/.well-known/oauth-authorization-server" "$WORK/auth1.err"
check "device flow: the tokens are in a file of mode 0600" test "$(stat -c %a "$TOKENS" 2>/dev/null)" = 600
check "device flow: the file holds a refresh token" test -n "$(field refresh_token)"
remember_tokens

# ---- 2. POP3 and SMTP with the token --------------------------------------------

deliver first-oauth
run fetch1 "$FETCH" -C "$CFG" -a carol --trace -v
expect "postie-fetch logs in with the access token (OAUTHBEARER over POP3S)" 0 fetch1
check "postie-fetch: the message arrived" delivered first-oauth
check "postie-fetch: OAUTHBEARER was chosen (the server offers both)" grep -q "C: AUTH OAUTHBEARER <redacted>" "$WORK/fetch1.err"
remember_tokens

printf 'Subject: sent-oauth\r\n\r\nbody\r\n' > "$WORK/out-msg"
run send1 "$SEND" -C "$CFG" -a carol --trace "$USER1" < "$WORK/out-msg"
expect "postie-send logs in with the access token (SMTP AUTH through Dovecot SASL)" 0 send1
check "postie-send: Postfix accepted the login" grep -q "^S: 235" "$WORK/send1.err"
# Postfix delivers in the background: wait for it (at most 20 s)
arrived() { for _ in $(seq 1 200); do grep -rlq "Subject: $2" "$1" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
check "postie-send: the message reached alice" arrived "$MAILDIR1/new" sent-oauth

# XOAUTH2: on POP3 the token goes after the "+ " challenge (Microsoft's way)
cp "$CFG" "$WORK/config-x"; echo "  oauth_mechanism xoauth2" >> "$WORK/config-x"
sed -i "s|^  oauth_token_file .*|  oauth_token_file $TOKENS|" "$WORK/config-x"
deliver xoauth2-pop
run fetchx env "$FETCH" -C "$WORK/config-x" -a carol --trace
expect "XOAUTH2 over POP3" 0 fetchx
check "XOAUTH2 over POP3: AUTH XOAUTH2, the server's '+ ', then the token" \
  sh -c "grep -A2 '^C: AUTH XOAUTH2\$' '$WORK/fetchx.err' | grep -q '^S: + ' && grep -A2 '^C: AUTH XOAUTH2\$' '$WORK/fetchx.err' | grep -q '^C: <redacted>'"
run sendx "$SEND" -C "$WORK/config-x" -a carol --trace "$USER1" < "$WORK/out-msg"
expect "XOAUTH2 over SMTP" 0 sendx
check "XOAUTH2 over SMTP: chosen" grep -q "C: AUTH XOAUTH2 <redacted>" "$WORK/sendx.err"

# ---- 3. refresh on expiry, rotation kept across runs -------------------------------

RT0=$(field refresh_token)
sleep $((AT_TTL + 1))
deliver after-expiry
run fetch2 "$FETCH" -C "$CFG" -a carol -v
expect "after the access token expired: refreshed, then logged in" 0 fetch2
check "the refresh was done before the login" grep -q "refreshing the OAuth 2.0 access token" "$WORK/fetch2.err"
check "the message arrived" delivered after-expiry
RT1=$(field refresh_token)
check "the provider rotated the refresh token and the new one is saved" test -n "$RT1" -a "$RT1" != "$RT0"
remember_tokens
sleep $((AT_TTL + 1))
deliver after-restart
run fetch3 "$FETCH" -C "$CFG" -a carol -v
expect "a new run after another expiry refreshes with the rotated token" 0 fetch3
check "the message arrived" delivered after-restart
RT2=$(field refresh_token)
check "rotated again, and saved" test -n "$RT2" -a "$RT2" != "$RT1"
remember_tokens
sleep $((AT_TTL + 1))
run send2 "$SEND" -C "$CFG" -a carol -v "$USER1" < "$WORK/out-msg"
expect "postie-send refreshes with the refresh token postie-fetch saved" 0 send2
remember_tokens

# both tools at once with an expired token: one refreshes under the lock, the
# other waits and takes what it saved (without the lock the second would
# spend the rotated-away refresh token, and the provider would revoke the
# whole grant for the reuse)
sleep $((AT_TTL + 1))
deliver concurrent
"$FETCH" -C "$CFG" -a carol -v >"$WORK/conc1.out" 2>"$WORK/conc1.err" & P1=$!
"$SEND" -C "$CFG" -a carol -v "$USER1" < "$WORK/out-msg" >"$WORK/conc2.out" 2>"$WORK/conc2.err" & P2=$!
wait $P1; R1=$?; wait $P2; R2=$?
check "postie-fetch and postie-send at once after expiry: both log in (exit $R1 and $R2)" \
  test "$R1" = 0 -a "$R2" = 0
check "... and only one of them refreshed" \
  test "$(cat "$WORK/conc1.err" "$WORK/conc2.err" | grep -c "refreshing the OAuth 2.0 access token")" = 1
remember_tokens

# ---- 4. the server refuses a token the file says is valid --------------------------

sleep $((AT_TTL + 1))                   # the access token expired at the provider...
set_expiry $(( $(date +%s) + 3600 ))    # ...while the file says it is good for an hour
deliver after-refusal
run fetch4 "$FETCH" -C "$CFG" -a carol -v
expect "a token the server refuses is refreshed once and the login tried again" 0 fetch4
check "it says why it refreshed" grep -q "the server refused the access token; refreshing it" "$WORK/fetch4.err"
check "the message arrived" delivered after-refusal
remember_tokens

# ---- 5. authorization code with PKCE and a loopback redirect ------------------------

"$SEND" -C "$CFG" -a carol --authorize=browser >"$WORK/auth2.out" 2>"$WORK/auth2.err" &
AUTH_PID=$!
if wait_for_url "$WORK/auth2.err" 's/^  \(http[^ ]*\)$/\1/p'; then
  ok "browser flow: the tool shows the authorization address"
  check "browser flow: the request carries a S256 code challenge and a loopback redirect" \
    sh -c "echo '$URL' | grep -q 'code_challenge_method=S256' && echo '$URL' | grep -q 'redirect_uri=http%3A%2F%2F127.0.0.1%3A'"
  LOOP=$(sed -n 's/.*waiting for the browser at \(http[^ ]*\) .*/\1/p' "$WORK/auth2.err")
  # a redirect that is not the answer to this request (wrong state) is ignored
  FORGED=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${LOOP}?code=forged&state=forged")
  check "browser flow: a forged redirect (wrong state) is refused and the tool waits on" \
    sh -c "[ '$FORGED' = 400 ] && kill -0 $AUTH_PID"
  if python3 "$HERE/browser.py" "$URL" "$OAUTH_USER" >"$WORK/browser2.log" 2>&1; then
    ok "browser flow: login, consent, redirect to the tool"
  else
    bad "browser flow: $(cat "$WORK/browser2.log")"
  fi
else
  bad "browser flow: no address on stderr: $(head -c 300 "$WORK/auth2.err")"
fi
for _ in $(seq 1 100); do kill -0 $AUTH_PID 2>/dev/null || break; sleep 0.1; done
kill $AUTH_PID 2>/dev/null
wait $AUTH_PID; RC=$?
expect "browser flow: --authorize ends once the code is exchanged" 0 auth2
check "browser flow: new tokens saved" test "$(field refresh_token)" != "$RT2"
remember_tokens
deliver after-browser
run fetch5 "$FETCH" -C "$CFG" -a carol
expect "the tokens of the browser flow log in" 0 fetch5
check "the message arrived" delivered after-browser

# ---- 6. a revoked grant --------------------------------------------------------------

curl -s --max-time 10 -d "client_id=postie" --data-urlencode "token=$(field refresh_token)" \
  -d token_type_hint=refresh_token "$ISSUER/token/revocation" >/dev/null
set_expiry 0
cp "$TOKENS" "$WORK/tokens-before"
run fetch6 "$FETCH" -C "$CFG" -a carol
expect "revoked grant: postie-fetch exits 77" 77 fetch6
check "revoked grant: postie-fetch prints the command that re-authorizes" grep -qF "$HINT_FETCH" "$WORK/fetch6.err"
run send6 "$SEND" -C "$CFG" -a carol "$USER1" < "$WORK/out-msg"
expect "revoked grant: postie-send exits 77" 77 send6
check "revoked grant: postie-send prints the command that re-authorizes" grep -qF "$HINT_SEND" "$WORK/send6.err"
check "revoked grant: the token file is left as it was" cmp -s "$TOKENS" "$WORK/tokens-before"

# ---- 7. the provider is down -----------------------------------------------------------

# a fresh grant first (device flow again, as the hint says), then the provider stops
"$FETCH" -C "$CFG" -a carol --authorize >"$WORK/auth3.out" 2>"$WORK/auth3.err" &
AUTH_PID=$!
wait_for_url "$WORK/auth3.err" 's/.*: or open \(http[^ ]*\)$/\1/p' &&
  python3 "$HERE/browser.py" "$URL" "$OAUTH_USER" >"$WORK/browser3.log" 2>&1
for _ in $(seq 1 200); do kill -0 $AUTH_PID 2>/dev/null || break; sleep 0.1; done
kill $AUTH_PID 2>/dev/null
wait $AUTH_PID; RC=$?
expect "re-authorized with the command the error gave" 0 auth3
remember_tokens
stop_provider
set_expiry 0
cp "$TOKENS" "$WORK/tokens-before"
run fetch7 "$FETCH" -C "$CFG" -a carol --trace
expect "provider down: postie-fetch exits 75 (try again later)" 75 fetch7
check "provider down: it says so" grep -q "cannot reach the OAuth 2.0 provider" "$WORK/fetch7.err"
check "provider down: found out before any connection to the mail server" \
  sh -c "! grep -q '^-- connected' '$WORK/fetch7.err'"
run send7 "$SEND" -C "$CFG" -a carol "$USER1" < "$WORK/out-msg"
expect "provider down: postie-send exits 75" 75 send7
check "provider down: no stored state lost (the token file is unchanged)" cmp -s "$TOKENS" "$WORK/tokens-before"
check "provider down: the file still holds the refresh token" test -n "$(field refresh_token)"

# ---- 8. another provider without RFC 8414 metadata: OpenID Connect discovery --------

PROVIDER_ARGS=no-rfc8414
start_provider || exit 1
"$FETCH" -C "$CFG" -a carol --authorize -v >"$WORK/auth4.out" 2>"$WORK/auth4.err" &
AUTH_PID=$!
wait_for_url "$WORK/auth4.err" 's/.*: or open \(http[^ ]*\)$/\1/p' &&
  python3 "$HERE/browser.py" "$URL" "$OAUTH_USER" >"$WORK/browser4.log" 2>&1
for _ in $(seq 1 200); do kill -0 $AUTH_PID 2>/dev/null || break; sleep 0.1; done
kill $AUTH_PID 2>/dev/null
wait $AUTH_PID; RC=$?
expect "a provider with OpenID Connect discovery only: authorized" 0 auth4
check "its endpoints came from .well-known/openid-configuration" \
  grep -q "metadata: $ISSUER/.well-known/openid-configuration" "$WORK/auth4.err"
remember_tokens
deliver after-oidc
run fetch8 "$FETCH" -C "$CFG" -a carol
expect "and its tokens log in" 0 fetch8
check "the message arrived" delivered after-oidc

# ---- no token anywhere in what the tools printed ----------------------------------------

leaks=0
while IFS= read -r t; do
  [ -n "$t" ] || continue
  if grep -rqF -- "$t" "$WORK"/*.out "$WORK"/*.err 2>/dev/null; then leaks=$((leaks + 1)); fi
done < "$WORK/seen-tokens"
check "no access or refresh token in any output, trace or error ($(sort -u "$WORK/seen-tokens" | grep -c .) tokens checked)" \
  test "$leaks" -eq 0

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ] && rm -rf "$WORK"
[ "$failures" -eq 0 ]
