#!/usr/bin/env python3
"""Scripted TCP server for Postie's protocol tests: plays one transcript.

    scripted_server.py [--ipv6] [--host ADDR] --port-file F [--timeout S]
                       [--step-timeout S] [--split-delay MS] [-v] TRANSCRIPT

Listens on 127.0.0.1 (::1 with --ipv6) on an ephemeral port, writes the port
number to F once it is listening, accepts ONE connection and plays TRANSCRIPT
against it. Exit status: 0 when every step was played and every client line
matched; 1 on a mismatch, a timeout or an unexpected close (the reason is
printed on stderr, with expected and received bytes escaped); 2 on a usage or
transcript syntax error. The format is described in README.md next to this
file. Dependency-free: Python 3 standard library only.
"""

import argparse
import os
import socket
import struct
import sys
import time

# ---- escapes ----------------------------------------------------------------


class TranscriptError(Exception):
    pass


def unescape(text, where):
    """Bytes from text with \\r \\n \\t \\\\ and \\xNN escapes."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c != 0x5C:  # backslash
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(text):
            raise TranscriptError("%s: lone backslash at end" % where)
        e = chr(text[i + 1])
        if e == "r":
            out += b"\r"
            i += 2
        elif e == "n":
            out += b"\n"
            i += 2
        elif e == "t":
            out += b"\t"
            i += 2
        elif e == "\\":
            out += b"\\"
            i += 2
        elif e == "x":
            digits = text[i + 2:i + 4]
            try:
                if len(digits) != 2:
                    raise ValueError
                out.append(int(digits.decode("ascii"), 16))
            except (ValueError, UnicodeDecodeError):
                raise TranscriptError("%s: bad \\x escape" % where)
            i += 4
        else:
            raise TranscriptError("%s: unknown escape \\%s" % (where, e))
    return bytes(out)


def show(data):
    """Bytes as one readable line: printable ASCII as is, the rest escaped."""
    if data is None:
        return "<connection closed>"
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif b == 0x0D:
            out.append("\\r")
        elif b == 0x0A:
            out.append("\\n")
        elif b == 0x09:
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return '"' + "".join(out) + '"'


# ---- transcript ---------------------------------------------------------------

# keyword -> does it take an argument ("S:" is written with a colon; the ones
# without an argument may be written with or without it)
KEYWORDS = {
    "S": True, "S-RAW": True, "C": True, "C-RAW": True, "C-RAW-UNTIL": True,
    "C-RAW-EXPECT": True, "C-RAW-EXPECT-FILE": True, "SLEEP": True,
    "CLOSE": False, "RESET": False, "STALL": None, "EXPECT-CLOSE": False,
}


def parse(path):
    """List of (line number, keyword, argument bytes or None)."""
    steps = []
    with open(path, "rb") as f:
        raw = f.read()
    for n, line in enumerate(raw.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip() or line.startswith(b"#"):
            continue
        where = "%s:%d" % (path, n)
        head, colon, rest = line.partition(b":")
        name = head.strip().decode("ascii", "replace")
        if colon and name in KEYWORDS:
            # exactly one space separates the colon from the text; more is text
            key, arg = name, (rest[1:] if rest.startswith(b" ") else rest)
        else:
            key, arg = line.strip().decode("ascii", "replace"), None
        if key not in KEYWORDS:
            raise TranscriptError("%s: unknown step %r" % (where, key))
        takes = KEYWORDS[key]
        if takes is True and arg is None:
            raise TranscriptError("%s: %s needs an argument" % (where, key))
        if takes is False and arg:
            raise TranscriptError("%s: %s takes no argument" % (where, key))
        if key in ("SLEEP", "STALL") and arg is not None and arg.strip():
            try:
                int(arg.strip())
            except ValueError:
                raise TranscriptError("%s: %s wants milliseconds" % (where, key))
        if key in ("S-RAW", "C-RAW", "C-RAW-UNTIL", "C-RAW-EXPECT"):
            arg = unescape(arg, where)
            if key in ("C-RAW", "C-RAW-UNTIL") and not arg:
                raise TranscriptError("%s: %s needs at least one byte" % (where, key))
        steps.append((n, key, arg))
    return steps


# ---- playing --------------------------------------------------------------------


class Failure(Exception):
    pass


class Player:
    def __init__(self, conn, args, transcript_dir, start):
        self.conn = conn
        self.buf = b""
        self.eof = False
        self.args = args
        self.dir = transcript_dir
        self.deadline = start + args.timeout
        self.last_block = None

    def log(self, direction, data):
        if self.args.verbose:
            sys.stderr.write("scripted_server: %s %s\n" % (direction, show(data)))

    def wait_limit(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Failure("global timeout (%gs) reached" % self.args.timeout)
        return min(left, self.args.step_timeout)

    def fill(self, what):
        """Reads more client bytes into self.buf; sets self.eof on close."""
        if self.conn is None:
            raise Failure("%s, but the connection was already closed by the script" % what)
        self.conn.settimeout(self.wait_limit())
        try:
            data = self.conn.recv(65536)
        except socket.timeout:
            raise Failure("timed out waiting for the client: %s; had %s"
                          % (what, show(self.buf)))
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
        self.log("<", data)
        self.buf += data

    def send(self, data):
        if self.conn is None:
            raise Failure("cannot send %s: connection already closed by the script" % show(data))
        self.log(">", data)
        self.conn.settimeout(self.wait_limit())
        try:
            self.conn.sendall(data)
        except socket.timeout:
            raise Failure("timed out sending %s" % show(data))
        except OSError as e:
            raise Failure("sending %s failed: %s (client gone?)" % (show(data), e))

    def read_line(self, what):
        while b"\n" not in self.buf and not self.eof:
            self.fill(what)
        if b"\n" not in self.buf:
            got, self.buf = self.buf, b""
            return got + b" <then the client closed>" if got else None
        i = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def read_exact(self, n, what):
        while len(self.buf) < n and not self.eof:
            self.fill(what)
        got, self.buf = self.buf[:n], self.buf[n:]
        return got

    def read_until(self, marker, what):
        limit = 64 << 20
        while marker not in self.buf and not self.eof:
            if len(self.buf) > limit:
                raise Failure("%s: more than %d bytes without the marker" % (what, limit))
            self.fill(what)
        if marker not in self.buf:
            raise Failure("%s: client closed first; had %s" % (what, show(self.buf[-200:])))
        i = self.buf.index(marker) + len(marker)
        block, self.buf = self.buf[:i], self.buf[i:]
        return block

    def close(self, reset=False):
        if self.conn is None:
            return
        if reset:
            self.conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.conn.close()
        self.conn = None

    def wait_close(self, ms, allow_data):
        """Waits for the client to close. ms None: until the step/global
        limit (failure if it does not). Returns True if it closed."""
        end = None if ms is None else time.monotonic() + ms / 1000.0
        while not self.eof:
            if self.buf and not allow_data:
                raise Failure("expected the client to close; it sent %s" % show(self.buf))
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.conn.settimeout(min(left, self.wait_limit()))
                try:
                    data = self.conn.recv(65536)
                except socket.timeout:
                    return False
                except ConnectionResetError:
                    data = b""
                self.log("<", data)
                if not data:
                    self.eof = True
                else:
                    self.buf += data
            else:
                self.fill("the client to close the connection")
            if allow_data:
                self.buf = b""
        if self.buf and not allow_data:
            raise Failure("expected the client to close; it sent %s first" % show(self.buf))
        return True

    def play(self, steps):
        for n, key, arg in steps:
            at = "line %d (%s)" % (n, key)
            if key == "S":
                self.send(arg + b"\r\n")
            elif key == "S-RAW":
                self.send(arg)
                time.sleep(self.args.split_delay / 1000.0)
            elif key == "C":
                want = arg + b"\r\n"
                got = self.read_line("%s: %s" % (at, show(want)))
                if got != want:
                    raise Failure("%s: mismatch\n  expected: %s\n  got:      %s"
                                  % (at, show(want), show(got)))
            elif key == "C-RAW":
                got = self.read_exact(len(arg), at)
                if got != arg:
                    raise Failure("%s: mismatch\n  expected: %s\n  got:      %s"
                                  % (at, show(arg), show(got)))
            elif key == "C-RAW-UNTIL":
                self.last_block = self.read_until(arg, "%s: until %s" % (at, show(arg)))
            elif key in ("C-RAW-EXPECT", "C-RAW-EXPECT-FILE"):
                if self.last_block is None:
                    raise Failure("%s: no C-RAW-UNTIL block before it" % at)
                if key == "C-RAW-EXPECT":
                    want = arg
                else:
                    path = os.path.join(self.dir, arg.decode("utf-8"))
                    with open(path, "rb") as f:
                        want = f.read()
                got = self.last_block
                if got != want:
                    i = 0
                    while i < min(len(got), len(want)) and got[i] == want[i]:
                        i += 1
                    raise Failure("%s: block differs at byte %d (expected %d bytes, got %d)\n"
                                  "  expected: %s\n  got:      %s"
                                  % (at, i, len(want), len(got),
                                     show(want[max(0, i - 20):i + 40]),
                                     show(got[max(0, i - 20):i + 40])))
            elif key == "SLEEP":
                time.sleep(int(arg.strip()) / 1000.0)
            elif key == "CLOSE":
                self.close()
            elif key == "RESET":
                self.close(reset=True)
            elif key == "STALL":
                if self.conn is None:
                    raise Failure("%s: connection already closed by the script" % at)
                ms = int(arg.strip()) if arg is not None and arg.strip() else None
                if self.wait_close(ms, allow_data=True):
                    self.log("-", b"client closed during STALL")
            elif key == "EXPECT-CLOSE":
                if self.conn is None:
                    raise Failure("%s: connection already closed by the script" % at)
                self.wait_close(None, allow_data=False)
            else:  # parse() only lets known keywords through
                raise Failure("%s: internal error" % at)
        self.close()


def main():
    ap = argparse.ArgumentParser(description="Plays one transcript to one client.")
    ap.add_argument("transcript")
    ap.add_argument("--port-file", required=True, help="file to write the port number to")
    ap.add_argument("--ipv6", action="store_true", help="listen on ::1 instead of 127.0.0.1")
    ap.add_argument("--host", help="address to listen on (overrides --ipv6's choice)")
    ap.add_argument("--timeout", type=float, default=20.0,
                    help="seconds the whole run may take (default 20)")
    ap.add_argument("--step-timeout", type=float, default=10.0,
                    help="seconds to wait for the client in one step (default 10)")
    ap.add_argument("--split-delay", type=float, default=50.0,
                    help="milliseconds to pause after each S-RAW (default 50)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every byte on stderr")
    args = ap.parse_args()

    try:
        steps = parse(args.transcript)
    except (TranscriptError, OSError) as e:
        sys.stderr.write("scripted_server: %s\n" % e)
        return 2

    host = args.host or ("::1" if args.ipv6 else "127.0.0.1")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((host, 0))
    lsock.listen(1)
    port = lsock.getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)  # readers never see a half-written file

    start = time.monotonic()
    lsock.settimeout(args.timeout)
    try:
        conn, peer = lsock.accept()
    except socket.timeout:
        sys.stderr.write("scripted_server: no client connected within %gs\n" % args.timeout)
        return 1
    finally:
        lsock.close()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if args.verbose:
        sys.stderr.write("scripted_server: client %s connected to port %d\n" % (peer[0], port))

    player = Player(conn, args, os.path.dirname(os.path.abspath(args.transcript)), start)
    try:
        player.play(steps)
    except Failure as e:
        sys.stderr.write("scripted_server: FAIL %s: %s\n" % (os.path.basename(args.transcript), e))
        player.close()
        return 1
    except OSError as e:
        sys.stderr.write("scripted_server: FAIL %s: %s\n" % (os.path.basename(args.transcript), e))
        player.close()
        return 1
    if args.verbose:
        sys.stderr.write("scripted_server: transcript complete (%d steps)\n" % len(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
