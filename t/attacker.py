#!/usr/bin/env python3
"""attacker.py - what t/security-shim.bats plays against a shim.

usage: attacker.py relay LISTEN TARGET FROM TO
       attacker.py client SOCKET ACTION...

relay: a fake shim.  Binds LISTEN (SOCK_SEQPACKET, mode 0777) and, for
each client, connects to TARGET (a real shim's socket, of process FROM)
and forwards every packet both ways with its fds, turning every 32-bit
FROM in a reply into TO: a tool that asks for pid TO gets the answers of
process FROM under TO's name.  Prints "ready relay", then "client" per
connection.

client: connects to SOCKET (prints "connected") and does each ACTION:
  hello      send CKPT_OP_HELLO, print "hello pid N" from the reply
  junk N     send a malformed request (3 bytes) carrying N fds of
             /dev/null, print "sent N fds"
  short N    the same with a header whose length field lies
  wait       hold the connection until stdin closes
  read       wait for the shim to close the connection, print "closed"
"""
import array
import os
import select
import socket
import struct
import sys

MAXFDS = 253
HELLO = struct.pack("<IIQ", 1, 0, 0)  # struct ckpt_req {op, len, arg}


def recv(s):
    fds = array.array("i")
    data, anc, _, _ = s.recvmsg(1 << 17, socket.CMSG_SPACE(MAXFDS * fds.itemsize))
    for level, typ, d in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(d[: len(d) - len(d) % fds.itemsize])
    return data, list(fds)


def send(s, data, fds):
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    s.sendmsg([data], anc)
    for fd in fds:
        os.close(fd)


def rewrite(data, frm, to):
    b = bytearray(data)
    for off in range(24, len(b) - 3, 4):  # after struct ckpt_rep
        if struct.unpack_from("<I", b, off)[0] == frm:
            struct.pack_into("<I", b, off, to)
    return bytes(b)


def forward(c, target, frm, to):
    t = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    t.connect(target)
    while True:
        ready, _, _ = select.select([c, t], [], [])
        for src, dst in ((c, t), (t, c)):
            if src in ready:
                data, fds = recv(src)
                if not data:
                    return
                send(dst, rewrite(data, frm, to) if src is t else data, fds)


def relay(listen, target, frm, to):
    os.umask(0)
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    lsock.bind(listen)
    lsock.listen(8)
    print("ready relay", flush=True)
    while True:
        c, _ = lsock.accept()
        print("client", flush=True)
        try:
            forward(c, target, int(frm), int(to))
        except OSError as e:
            print("relay:", e, flush=True)
        c.close()


def client(path, actions):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    print("connected", flush=True)
    while actions:
        a = actions.pop(0)
        if a == "hello":
            s.send(HELLO)
            r = s.recv(1 << 17)
            print("hello pid %d" % struct.unpack_from("<I", r, 28)[0], flush=True)
        elif a in ("junk", "short"):
            n = int(actions.pop(0))
            fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(n)]
            data = b"xyz" if a == "junk" else struct.pack("<IIQ", 1, 10, 0)
            send(s, data, fds)
            print("sent %d fds" % n, flush=True)
        elif a == "wait":
            sys.stdin.read()
        elif a == "read":
            while s.recv(1 << 17):
                pass
            print("closed", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "relay":
        relay(*sys.argv[2:6])
    else:
        client(sys.argv[2], sys.argv[3:])
