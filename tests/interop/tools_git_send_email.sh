#!/usr/bin/env bash
# git send-email uses postie-send as its sendmail (both --sendmail-cmd and an
# smtpServer path): the patch goes through the test Postfix, comes back with
# postie-fetch, and applies with git am to the same tree.
. "$(dirname "$0")/tools_lib.sh"
if ! git send-email --help >/dev/null 2>&1 && [ ! -x "$(git --exec-path)/git-send-email" ]; then
  echo "git send-email is missing (Debian package git-email; scripts/install-deps.sh installs it)" >&2
  exit 1
fi
"$STACK" reset "$STACK_DIR" "$USER1"
git config --global user.name "Bob Builder"
git config --global user.email "$USER2"
git config --global init.defaultBranch main

# account for postie-send in the (test's own) configuration file
mkdir -p "$XDG_CONFIG_HOME/postie"
cat > "$XDG_CONFIG_HOME/postie/config" <<CFG
account test
host $STACK_HOST
smtp_port $SMTP_PORT
pop3_port $POP3_PORT
tls off
user $USER2
password_env BOB_PASSWORD
CFG
export BOB_PASSWORD=$PASS2

A=$WORK/a; B=$WORK/b
git init -q "$A"
printf 'line one\nline two\n' > "$A/file.txt"
git -C "$A" add file.txt && git -C "$A" commit -qm "base"
git clone -q "$A" "$B"
# a change with the lines mail likes to break: From at line start, a lone
# dot, trailing blanks, a tab, UTF-8, a long line
{
  printf 'line one\nFrom the start of a line\n.\n..\ntrailing blanks   \n\ttabbed\nUTF-8: Grüße ✓\n'
  head -c 900 /dev/zero | tr '\0' 'y'; printf '\nline two\n'
} > "$A/file.txt"
printf 'new file\n' > "$A/added.txt"
git -C "$A" add file.txt added.txt
git -C "$A" commit -qm "Change file: tricky lines" -m "Body of the commit message, with Grüße."
git -C "$A" format-patch -q -1 -o "$WORK/patches"

fetch_one() { # maildir
  local i
  for i in $(seq 1 100); do
    [ "$(find "$MAILDIR1/new" -type f | wc -l)" -ge 1 ] && break
    sleep 0.1
  done
  POSTIE_PASSWORD=$PASS1 "$FETCH" $POP --user "$USER1" --maildir "$1" --state "$1.state" --delete -q
}
apply_check() { # maildir label
  local f
  f=$(find "$1/new" -type f | head -1)
  check "$2: the patch came back" [ -n "$f" ]
  git -C "$B" reset -q --hard origin/main
  if git -C "$B" am -q "$f" >"$WORK/am.log" 2>&1; then ok "$2: git am applied it"; else bad "$2: git am failed: $(head -c 300 "$WORK/am.log")"; fi
  check "$2: same tree as the original commit" [ "$(git -C "$A" rev-parse 'HEAD^{tree}')" = "$(git -C "$B" rev-parse 'HEAD^{tree}')" ]
  check "$2: same subject and author" [ "$(git -C "$A" log -1 --format='%an <%ae>|%s|%b')" = "$(git -C "$B" log -1 --format='%an <%ae>|%s|%b')" ]
}

# 1. --sendmail-cmd (git appends -i and the recipients)
expect_rc "git send-email --sendmail-cmd=postie-send" 0 git -C "$A" send-email --quiet --confirm=never --8bit-encoding=UTF-8 \
  --suppress-cc=all --to="Alice <$USER1>" --from="Bob Builder <$USER2>" \
  --sendmail-cmd="$SEND" "$WORK"/patches/*.patch
fetch_one "$WORK/md1"
apply_check "$WORK/md1" "--sendmail-cmd"

# 2. smtpServer set to postie-send's path (the older way), with --envelope-sender (-f)
"$STACK" reset "$STACK_DIR" "$USER1"
expect_rc "git send-email --smtp-server=/path/to/postie-send" 0 git -C "$A" send-email --quiet --confirm=never --8bit-encoding=UTF-8 \
  --suppress-cc=all --to="$USER1" --from="Bob Builder <$USER2>" --envelope-sender="$USER2" \
  --smtp-server="$SEND" "$WORK"/patches/*.patch
fetch_one "$WORK/md2"
apply_check "$WORK/md2" "smtpServer path"
check "envelope sender from -f" grep -q "^Return-Path: <$USER2>" "$WORK"/md2/new/*
finish
