#!/usr/bin/env python3
"""TLS front for the plain-text test servers, for the tools' TLS tests.

  tls_proxy.py MODE LISTEN_PORT TARGET_PORT CERT KEY PORTFILE

MODE implicit: TLS from the first byte, then bytes are relayed to
127.0.0.1:TARGET_PORT (POP3S/SMTPS in front of Dovecot/Postfix).
MODE smtp-starttls: relays SMTP in plain text, adds "250-STARTTLS" to the
first EHLO reply, answers STARTTLS itself with 220 and continues in TLS
(the client's second EHLO goes to the server as usual).
Writes its port to PORTFILE once listening; runs until killed.
"""
import socket
import ssl
import sys
import threading


def relay(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def readline(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        c = sock.recv(1)
        if not c:
            break
        buf += c
    return buf


def read_reply(sock):
    lines = []
    while True:
        line = readline(sock)
        if not line:
            return lines
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def handle(mode, client, target, ctx):
    try:
        server = socket.create_connection(("127.0.0.1", target))
        if mode == "implicit":
            client = ctx.wrap_socket(client, server_side=True)
        else:
            client.sendall(b"".join(read_reply(server)))  # greeting
            while True:
                cmd = readline(client)
                if not cmd:
                    return
                verb = cmd.strip().upper()
                if verb == b"STARTTLS":
                    client.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    client = ctx.wrap_socket(client, server_side=True)
                    break
                server.sendall(cmd)
                reply = read_reply(server)
                if verb.startswith(b"EHLO") and reply and reply[0].startswith(b"250"):
                    first = reply[0]
                    if first[3:4] == b" ":
                        first = first[:3] + b"-" + first[4:]
                    reply = [first, b"250-STARTTLS\r\n"] + reply[1:]
                    if reply[-1][3:4] == b"-" and len(reply) == 2:
                        reply[-1] = b"250 STARTTLS\r\n"
                client.sendall(b"".join(reply))
        t = threading.Thread(target=relay, args=(server, client), daemon=True)
        t.start()
        relay(client, server)
        t.join(5)
    except (OSError, ssl.SSLError):
        pass
    finally:
        client.close()


def main():
    mode, listen_port, target, cert, key, portfile = sys.argv[1:7]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(listen_port)))
    ls.listen(16)
    with open(portfile, "w") as f:
        f.write(str(ls.getsockname()[1]))
    while True:
        c, _ = ls.accept()
        threading.Thread(target=handle, args=(mode, c, int(target), ctx), daemon=True).start()


if __name__ == "__main__":
    main()
