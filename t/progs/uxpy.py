#!/usr/bin/env python3
"""uxpy.py - named unix sockets in Python, for t/unixsock.bats.

usage: uxpy.py MODE PATH

Each mode prints "pid P", "child C" per child, then "ready MODE".
  server    Python's own socketserver: a ForkingUnixStreamServer on
            PATH whose handler answers each line upper-cased.  A child
            connects, says "line 1", leaves the answer unread.  SIGUSR1
            (the parent passes it on): the child reads "LINE 1", says
            "line 2", reads "LINE 2": "client ok".  SIGTERM: the server
            stops, its children too: "done ok".
  client    connects to a server on PATH that is not in the job, says
            "hi".  Parks.
  early     listens on PATH; a child connects and sends "early" on a
            connection the server never accepts.  Parks.
  listen    listens on PATH and never accepts.  Parks.
  dgclient  a datagram socket connected to PATH (a server outside the
            job, as syslog's /dev/log), which it sends "one".  SIGTERM:
            it sends "two": "done ok".
  dgbound   the same, its socket bound to PATH.c first (so the server
            can answer it).
  oneshot   listens on PATH; a child connects and says "ping"; the
            parent accepts it, closes its listener (unlinking PATH when
            a third word says "unlink"), and leaves "ping" unread.
            SIGTERM: the parent reads "ping", answers "pong", the child
            reads it: "done ok".
  inflight  listens on PATH; a child connects, the parent accepts, the
            child sends it an fd (SCM_RIGHTS), unread.  Parks.
  passcred  a datagram socket bound to PATH with SO_PASSCRED; a child
            sends it a message, unread.  Parks.
"""
import os
import signal
import socket
import socketserver
import sys
import time


def park():
    while True:
        time.sleep(0.05)


class Upper(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())
            self.wfile.flush()


class Server(socketserver.ForkingMixIn, socketserver.UnixStreamServer):
    pass


def client_child(path, ready_w):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"line 1\n")
    f = s.makefile("rb")
    go = []
    signal.signal(signal.SIGUSR1, lambda *a: go.append(1))
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    os.write(ready_w, b"g")
    while not go:
        time.sleep(0.02)
    got = [f.readline()]
    s.sendall(b"line 2\n")
    got.append(f.readline())
    ok = got == [b"LINE 1\n", b"LINE 2\n"]
    print("client ok" if ok else "FAIL client got %r" % got, flush=True)
    park()


def server(path):
    srv = Server(path, Upper)
    r, w = os.pipe()
    kid = os.fork()
    if kid == 0:
        srv.socket.close()
        client_child(path, w)
    srv.handle_request()   # the child's connection: a handler process
    os.read(r, 1)
    print("pid %d\nchild %d\nready server" % (os.getpid(), kid), flush=True)

    def stop(*a):
        raise SystemExit

    signal.signal(signal.SIGUSR1, lambda *a: os.kill(kid, signal.SIGUSR1))
    signal.signal(signal.SIGTERM, stop)
    try:
        srv.serve_forever(poll_interval=0.05)
    except SystemExit:
        pass
    os.kill(kid, signal.SIGTERM)
    os.waitpid(kid, 0)
    for pid in list(srv.active_children or []):
        os.kill(pid, signal.SIGTERM)
    print("done ok", flush=True)


def main():
    mode, path = sys.argv[1], sys.argv[2]   # and a third word, for oneshot
    if mode == "server":
        return server(path)
    if mode in ("dgclient", "dgbound"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if mode == "dgbound":
            s.bind(path + ".c")
        s.connect(path)
        s.send(b"one")
        done = []
        signal.signal(signal.SIGTERM, lambda *a: done.append(1))
        ready(mode)
        while not done:
            time.sleep(0.02)
        s.send(b"two")
        print("done ok", flush=True)
        return
    if mode == "client":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b"hi\n")
        ready(mode)
        park()
    if mode == "passcred":
        d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        d.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        d.bind(path)
        kid = os.fork()
        if kid == 0:
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"who", path)
            park()
        ready(mode, kid)
        park()
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(path)
    ls.listen(4)
    if mode == "oneshot":
        return oneshot(ls, path)
    if mode == "inflight":
        kid = fork_client(ls, path, lambda c: socket.send_fds(c, [b"fd"], [os.pipe()[0]]))
        a = ls.accept()   # kept: its queue holds the fd
        ready(mode, kid)
        park()
    if mode == "early":
        ready(mode, fork_client(ls, path, lambda c: c.sendall(b"early")))
        park()
    ready(mode)
    park()


def ready(mode, kid=None):
    """the lines a test waits for, once what a child does is done"""
    if kid is not None:
        time.sleep(0.2)
    print("pid %d" % os.getpid() + ("\nchild %d" % kid if kid is not None else "") +
          "\nready " + mode, flush=True)


def fork_client(ls, path, then):
    """a child that connects to path, does then(its socket) and parks
    (returns only in the parent: the child's pid)"""
    kid = os.fork()
    if kid == 0:
        ls.close()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        then(c)
        park()
    return kid


def oneshot(ls, path):
    kid = os.fork()
    if kid == 0:
        ls.close()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        c.sendall(b"ping")
        signal.signal(signal.SIGTERM, lambda *a: None)
        os._exit(0 if c.recv(10) == b"pong" else 1)
    a, _ = ls.accept()
    ls.close()
    if sys.argv[3:] == ["unlink"]:
        os.unlink(path)
    done = []
    signal.signal(signal.SIGTERM, lambda *a: done.append(1))
    ready("oneshot", kid)
    while not done:
        time.sleep(0.02)
    ok = a.recv(10) == b"ping" and a.getsockname() == path
    a.sendall(b"pong")
    st = os.waitpid(kid, 0)[1]
    print("done ok" if ok and st == 0 else "FAIL oneshot %s %d" % (ok, st), flush=True)


main()
