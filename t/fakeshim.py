#!/usr/bin/env python3
"""fakeshim.py - a program that plays its own shim, and lies.

usage: fakeshim.py TID

Listens on $CKPT_SOCKDIR/<its pid>.sock (SOCK_SEQPACKET), as the shim
does, and answers HELLO truly, but FREEZE with "frozen, and thread TID
blocks the freeze signal": TID being another process's thread, which a
root ckpt-freeze must not seize.  Every other request: ENOSYS.  Prints
"pid P" and "ready fakeshim"."""
import os
import socket
import struct
import sys

HELLO, FREEZE = 1, 2
ENOSYS = 38


def reply(c, err=0, payload=b"", arg=0):
    c.send(struct.pack("<iIIIQ", err, len(payload), 0, 0, arg) + payload)


def serve(c, tid):
    while True:
        data = c.recv(1 << 17)
        if len(data) < 16:
            return
        op, _, _ = struct.unpack_from("<IIQ", data)
        if op == HELLO:
            reply(c, payload=struct.pack("<IIII", 3, os.getpid(), 63, 0))
        elif op == FREEZE:
            reply(c, payload=struct.pack("<I", tid), arg=1)
        else:
            reply(c, err=-ENOSYS)


def main():
    tid = int(sys.argv[1])
    path = os.path.join(os.environ["CKPT_SOCKDIR"], "%d.sock" % os.getpid())
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    s.listen(4)
    print("pid %d\nready fakeshim" % os.getpid(), flush=True)
    while True:
        c, _ = s.accept()
        serve(c, tid)
        c.close()


main()
