#!/usr/bin/env python3
"""A small stateful POP3 server that cuts the connection where it is told.

    pop3_state_server.py --mailbox DIR --port-file F [--cut SPEC] [--rst]
                         [--durable MAILDIR] [--outline FILE] [--log FILE]
                         [--timeout S]

The transcript player (scripted_server.py) needs the client's commands in an
exact order; a fetch that is cut and rerun sends a different sequence each
time (what the first run delivered is deleted, not fetched, on the rerun), so
this server keeps a maildrop instead and answers whatever comes, in order, as
RFC 1939 says, with PIPELINING in CAPA (RFC 2449): the client's pipelined
commands are read as they come and answered one by one.

The maildrop: DIR holds one file per message, named by its UID, sorted by
name for the message numbers; a file holds the message with CRLF line ends.
USER/PASS take any user and the password "s3cret". DELE only marks; the
files of the marked messages are removed at QUIT (the UPDATE state), never
on a cut. Accepts ONE connection, serves it, exits.

--cut SPEC, where the server stops (a FIN after shutting its side, then it
reads and drops what the client still sends until the client closes):
  byte:N       after exactly N bytes of server output (greeting included):
               N 0 closes before the greeting; N in the middle of a reply
               sends its first part. A cut between two replies is made as
               soon as the earlier reply is out, before the next command is
               read (so a QUIT after it is never processed).
  quit-noreply on QUIT: no reply and no update (the deletions are lost).
  quit-update  on QUIT: the update (marked messages removed), no reply.
--rst: cut with a reset (SO_LINGER 0) instead.

--durable MAILDIR: at each DELE, the message must already be in MAILDIR's
new/ or cur/ (found by its "X-Cut-Id:" header line): a DELE of a message
not yet durable is logged as "VIOLATION". The exit status is 1 when a
violation was seen.
--outline FILE: writes one line per reply: "START END LABEL" (byte offsets
of server output, END exclusive; LABEL: greeting, CAPA, RETR-2, DELE-1,
QUIT, ...), so a driver can choose cut points and name them.
--log FILE: the commands received (PASS hidden) and the events.
--control FILE: serve one connection after another (until none comes for
--timeout seconds), each set up by FILE as it is when it comes: lines
"cut=SPEC", "rst=1", "log=PATH", "outline=PATH", "status=PATH" (the
connection's exit status is written there when it is over), "durable=DIR"
(instead of --durable). One process for
a whole series of runs: a Python start-up per run is slow on a busy machine.
Python 3 standard library only.
"""

import argparse
import os
import socket
import struct
import sys
import time


def durable(maildir, cut_id):
    needle = ("X-Cut-Id: %s" % cut_id).encode()
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            try:
                with open(os.path.join(d, name), "rb") as f:
                    if needle in f.read():
                        return True
            except OSError:
                pass
    return False


class Cut(Exception):
    pass


class Server:
    def __init__(self, args, conn):
        self.a = args
        self.conn = conn
        self.sent = 0
        self.outline = []
        self.log = []
        self.violations = 0
        self.names = sorted(n for n in os.listdir(args.mailbox)
                            if not n.startswith("."))
        self.msgs = []
        for n in self.names:
            with open(os.path.join(args.mailbox, n), "rb") as f:
                self.msgs.append(f.read())
        self.deleted = set()
        self.cut_byte = None
        if args.cut and args.cut.startswith("byte:"):
            self.cut_byte = int(args.cut[5:])

    def send(self, data, label):
        start = self.sent
        if self.cut_byte is not None:
            room = self.cut_byte - self.sent
            if room <= 0:
                raise Cut()
            if len(data) > room:
                self.conn.sendall(data[:room])
                self.sent += room
                self.outline.append((start, start + len(data), label))
                raise Cut()
        self.conn.sendall(data)
        self.sent += len(data)
        self.outline.append((start, self.sent, label))
        if self.cut_byte is not None and self.sent >= self.cut_byte:
            raise Cut()

    def live(self):
        return [i for i in range(len(self.msgs)) if i not in self.deleted]

    def number(self, arg):
        try:
            n = int(arg)
        except ValueError:
            return None
        if 1 <= n <= len(self.msgs) and (n - 1) not in self.deleted:
            return n - 1
        return None

    def serve(self):
        f = self.conn.makefile("rb")
        self.send(b"+OK state server ready\r\n", "greeting")
        authed = False
        while True:
            line = f.readline(1024)
            if not line:
                self.log.append("client closed")
                return
            cmd = line.rstrip(b"\r\n").decode("latin-1")
            verb, _, arg = cmd.partition(" ")
            verb = verb.upper()
            self.log.append("C: " + ("PASS ***" if verb == "PASS" else cmd))
            label = verb if not arg or verb in ("USER", "PASS") else verb + "-" + arg
            if verb == "CAPA":
                self.send(b"+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n.\r\n", label)
            elif verb == "USER":
                self.send(b"+OK\r\n", label)
            elif verb == "PASS":
                authed = arg == "s3cret"
                self.send(b"+OK logged in\r\n" if authed else b"-ERR no\r\n", label)
            elif not authed and verb != "QUIT":
                self.send(b"-ERR log in first\r\n", label)
            elif verb == "STAT":
                live = self.live()
                self.send(b"+OK %d %d\r\n" % (len(live), sum(len(self.msgs[i]) for i in live)),
                          label)
            elif verb in ("UIDL", "LIST") and not arg:
                out = [b"+OK\r\n"]
                for i in self.live():
                    v = self.names[i].encode() if verb == "UIDL" else b"%d" % len(self.msgs[i])
                    out.append(b"%d %s\r\n" % (i + 1, v))
                out.append(b".\r\n")
                self.send(b"".join(out), label)
            elif verb in ("UIDL", "LIST"):
                i = self.number(arg)
                if i is None:
                    self.send(b"-ERR no such message\r\n", label)
                else:
                    v = self.names[i].encode() if verb == "UIDL" else b"%d" % len(self.msgs[i])
                    self.send(b"+OK %d %s\r\n" % (i + 1, v), label)
            elif verb == "RETR":
                i = self.number(arg)
                if i is None:
                    self.send(b"-ERR no such message\r\n", label)
                    continue
                body = self.msgs[i]
                stuffed = b"".join((b"." + ln if ln.startswith(b".") else ln)
                                   for ln in body.splitlines(keepends=True))
                if stuffed and not stuffed.endswith(b"\r\n"):
                    stuffed += b"\r\n"
                self.send(b"+OK %d octets\r\n" % len(body) + stuffed + b".\r\n", label)
            elif verb == "DELE":
                i = self.number(arg)
                if i is None:
                    self.send(b"-ERR no such message\r\n", label)
                    continue
                if self.a.durable and not durable(self.a.durable, self.names[i]):
                    self.violations += 1
                    self.log.append("VIOLATION: DELE %s (%s) before it was durable in %s"
                                    % (arg, self.names[i], self.a.durable))
                self.deleted.add(i)
                self.send(b"+OK deleted\r\n", label)
            elif verb == "NOOP":
                self.send(b"+OK\r\n", label)
            elif verb == "RSET":
                self.deleted.clear()
                self.send(b"+OK\r\n", label)
            elif verb == "QUIT":
                if self.a.cut == "quit-noreply":
                    self.log.append("QUIT: cut, no update")
                    raise Cut()
                self.update()
                if self.a.cut == "quit-update":
                    raise Cut()
                self.send(b"+OK bye\r\n", label)
                return
            else:
                self.send(b"-ERR unknown command\r\n", label)

    def update(self):
        for i in sorted(self.deleted):
            os.unlink(os.path.join(self.a.mailbox, self.names[i]))
        self.log.append("UPDATE: removed %s" % " ".join(self.names[i] for i in sorted(self.deleted)))


def serve_one(a, conn):
    """Serves one connection as a says; returns the exit status."""
    conn.settimeout(a.timeout)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s = Server(a, conn)
    status = 0
    try:
        s.serve()
        conn.close()
    except Cut:
        s.log.append("CUT at byte %d (%s)" % (s.sent, a.cut))
        if a.rst:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
        else:
            try:
                conn.shutdown(socket.SHUT_WR)
                deadline = time.time() + a.timeout
                while time.time() < deadline and conn.recv(4096):
                    pass
            except OSError:
                pass
            conn.close()
    except (socket.timeout, OSError) as e:
        s.log.append("error: %s" % e)
        conn.close()
        status = 1
    if s.violations:
        status = 1
    if a.outline:
        with open(a.outline, "w") as f:
            for start, end, label in s.outline:
                f.write("%d %d %s\n" % (start, end, label))
    if a.log:
        with open(a.log, "w") as f:
            f.write("\n".join(s.log) + "\n")
    return status


def bad_cut(cut):
    return cut and not (cut in ("quit-noreply", "quit-update") or cut.startswith("byte:"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mailbox", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cut")
    ap.add_argument("--rst", action="store_true")
    ap.add_argument("--durable")
    ap.add_argument("--outline")
    ap.add_argument("--log")
    ap.add_argument("--control")
    ap.add_argument("--timeout", type=float, default=30.0)
    a = ap.parse_args()
    if bad_cut(a.cut):
        print("bad --cut %s" % a.cut, file=sys.stderr)
        return 2

    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(tmp, a.port_file)
    ls.settimeout(a.timeout)
    while True:
        try:
            conn, _ = ls.accept()
        except socket.timeout:
            if a.control:
                return 0  # the driver is done (or gone)
            print("no client within %.0f s" % a.timeout, file=sys.stderr)
            return 1
        if not a.control:
            return serve_one(a, conn)
        # --control FILE: one connection after another, each set up by the
        # lines "cut=SPEC", "rst=1", "log=PATH", "outline=PATH", "status=PATH"
        # of FILE as it is when the connection comes; the connection's exit
        # status is written to status=PATH once it is over.
        b = argparse.Namespace(**vars(a))
        b.cut, b.rst, b.log, b.outline, done = None, False, None, None, None
        with open(a.control) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                if k == "cut":
                    b.cut = v or None
                elif k == "rst":
                    b.rst = v == "1"
                elif k == "log":
                    b.log = v
                elif k == "outline":
                    b.outline = v
                elif k == "status":
                    done = v
                elif k == "durable":
                    b.durable = v or a.durable
        st = 2 if bad_cut(b.cut) else serve_one(b, conn)
        if done:
            with open(done + ".tmp", "w") as f:
                f.write("%d\n" % st)
            os.rename(done + ".tmp", done)


if __name__ == "__main__":
    sys.exit(main())
