#!/usr/bin/env python3
"""What QEMU's user-mode network starts for each guest connection to a
guestfwd address (-netdev user,...,guestfwd=tcp:IP:PORT-cmd:python3 guestfwd.py ...).
The guest's TCP stream is this process's stdin/stdout (slirp also puts
stderr on it: nothing may be printed there).

  guestfwd.py relay HOST PORT             pass the bytes both ways
  guestfwd.py cut HOST PORT N             pass them, but close both sides
                                          once N bytes came from the server
  guestfwd.py stall HOST PORT N           after N bytes from the server,
                                          pass nothing more and close nothing
  guestfwd.py nostls                      a POP3 server that offers no STLS
                                          (CAPA without it), answers QUIT

Each run appends one line to $FW_GUESTFWD_LOG (when set) saying what it did.
"""
import os
import select
import socket
import sys
import time


def log(msg):
    path = os.environ.get("FW_GUESTFWD_LOG")
    if path:
        with open(path, "a") as f:
            f.write(msg + "\n")


def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


def relay(host, port, cut=None, stall=None):
    up = socket.create_connection((host, int(port)), timeout=10)
    up.settimeout(None)
    from_server = 0
    stalled = False
    mode = "cut" if cut is not None else "stall" if stall is not None else "relay"
    while True:
        r, _, _ = select.select([0, up], [], [], 60)
        if not r:
            if stalled:
                continue
            break
        if 0 in r:
            data = os.read(0, 65536)
            if not data:
                break
            if not stalled:
                up.sendall(data)
        if up in r:
            data = up.recv(65536)
            if not data:
                break
            if stalled:
                continue
            limit = cut if cut is not None else stall
            if limit is not None and from_server + len(data) >= limit:
                data = data[: limit - from_server]
                write_all(1, data)
                from_server += len(data)
                if cut is not None:
                    log(f"{mode} {port}: closed after {from_server} bytes from the server")
                    up.close()
                    os.close(1)
                    os.close(0)
                    return
                log(f"{mode} {port}: stalled after {from_server} bytes from the server")
                stalled = True
                continue
            write_all(1, data)
            from_server += len(data)
    log(f"{mode} {port}: ended after {from_server} bytes from the server")


def nostls():
    log("nostls: connection")
    write_all(1, b"+OK fake POP3 server without STLS\r\n")
    buf = b""
    while True:
        data = os.read(0, 4096)
        if not data:
            return
        buf += data
        while b"\r\n" in buf:
            line, buf = buf.split(b"\r\n", 1)
            cmd = line.split(b" ", 1)[0].upper()
            log("nostls: got " + cmd.decode("ascii", "replace"))
            if cmd == b"CAPA":
                write_all(1, b"+OK capabilities\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n")
            elif cmd == b"QUIT":
                write_all(1, b"+OK bye\r\n")
                return
            else:
                write_all(1, b"-ERR not here\r\n")


def main():
    args = sys.argv[1:]
    try:
        if args[0] == "relay":
            relay(args[1], args[2])
        elif args[0] == "cut":
            relay(args[1], args[2], cut=int(args[3]))
        elif args[0] == "stall":
            relay(args[1], args[2], stall=int(args[3]))
            time.sleep(1)
        elif args[0] == "nostls":
            nostls()
    except Exception as e:  # never onto the guest's stream
        log(f"{args[0]}: {e!r}")


if __name__ == "__main__":
    main()
