#!/usr/bin/env python3
"""uxretry - a client of a line server outside the job (pongsrv.py on a
unix PATH) that connects again when its connection is lost, as a
program's own reconnect logic does (t/unixsock.bats).

usage: uxretry.py PATH   prints "pid P", "connected 1", sends "1" and
leaves its answer unread, "ready uxretry".  On each SIGUSR1, a round:
it reads the answer to its last line ("answer pong N"), then takes any
notice the server pushed without waiting (none come: nothing, or the
error), then sends the next number.  A read or write that fails or ends
says "lost: ERRNO-NAME" (or "lost: EOF"), connects again ("connected
K") and sends its line again.  "verify ok connections=K" ends a round.
SIGTERM: "done ok"."""
import errno
import os
import signal
import socket
import sys
import time

path = sys.argv[1]
conns = 0
rounds = []


def connect():
    global conns
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conns += 1
    print("connected %d" % conns, flush=True)
    return s


def lost(e):
    name = "EOF" if e is None else errno.errorcode.get(e.errno, str(e))
    print("lost: %s" % name, flush=True)


def read_line(s):
    b = b""
    while not b.endswith(b"\n"):
        c = s.recv(1)
        if not c:
            raise EOFError
        b += c
    return b.decode().strip()


def round_once(s, n):
    """the answer to n, the notices, then n + 1 sent: the socket"""
    while True:
        try:
            print("answer %s" % read_line(s), flush=True)
            try:
                notice = s.recv(64, socket.MSG_DONTWAIT)
                if not notice:
                    raise EOFError
            except BlockingIOError:
                pass
            s.sendall(b"%d\n" % (n + 1))
            return s
        except EOFError:
            lost(None)
        except OSError as e:
            lost(e)
        s.close()
        s = connect()
        s.sendall(b"%d\n" % n)


def main():
    signal.signal(signal.SIGUSR1, lambda *a: rounds.append(1))
    signal.signal(signal.SIGTERM, lambda *a: (print("done ok", flush=True), os._exit(0)))
    s = connect()
    s.sendall(b"1\n")
    # its answer is queued before the checkpoint can come
    while not s.recv(1, socket.MSG_PEEK):
        pass
    print("pid %d\nready uxretry" % os.getpid(), flush=True)
    n = 1
    while True:
        if rounds:
            rounds.pop()
            s = round_once(s, n)
            n += 1
            print("verify ok connections=%d" % conns, flush=True)
        time.sleep(0.02)


main()
