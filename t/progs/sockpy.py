#!/usr/bin/env python3
"""sockpy.py - unix socket pairs between a Python parent and its
children, for t/sockpair.bats.

usage: sockpy.py MODE

Each mode prints "pid P", then "child C" per child, then "ready MODE"
once what it queues is queued.
  mppipe    multiprocessing.Pipe() (duplex: a socketpair) to a child
            (fork start method); each side sends N objects the other
            does not read yet.  SIGTERM: the parent wakes the child
            (SIGUSR1); each receives the other's N, checking every one
            arrives once and in order and nothing more; the child's
            exit status is checked; "done ok", or "FAIL ...".
  three     a dgram pair with a message queued each way: end b in a
            first child, end a in the parent and (inherited) in a
            second child.  Parks.
  inflight  a child sends an fd (SCM_RIGHTS) over a stream pair to the
            parent, which does not read it.  Parks.
  passcred  the parent's end of a dgram pair has SO_PASSCRED; a child
            sends it a message, unread.  Parks.
  bigdgram  a child (SO_SNDBUF raised) sends a datagram of 300000
            bytes, then one of 5, to the parent, unread.  SIGTERM: the
            parent reads both, checking their lengths and bytes, then
            that nothing more is queued: "done ok", or "FAIL ...".
  emptydgram  a child sends a datagram of no bytes, unread.  Parks.
  orphan    a child sends its last words over a stream pair and a
            dgram pair to the parent, closes its ends and exits (the
            parent reaps it); nothing read yet.  SIGTERM: the parent
            reads the stream's words then its end of file, the
            datagram, then nothing more; a send on the stream pair
            fails with EPIPE: "done ok", or "FAIL ...".
  passcred-idle  the parent's end of a dgram pair has SO_PASSCRED,
            nothing queued.  SIGTERM: the parent wakes the child
            (SIGUSR1), which sends a message; the parent reads it with
            its SCM_CREDENTIALS: "creds pid=P" (P: the child's pid as
            the parent sees it) and "done ok", or "FAIL ...".
  stdio     a stream pair whose child end is the child's fd 0 (as a
            subprocess's stdin): the parent writes N lines to it, the
            child N lines back through its fd 0, none read yet.
            SIGTERM: the parent wakes the child (SIGUSR1), each reads
            the other's N lines, checking them; "child stdin ok", then
            "done ok" once the child exited 0, or "FAIL ...".
"""
import multiprocessing as mp
import os
import signal
import socket
import struct
import sys
import time

N = 40


def park():
    while True:
        time.sleep(0.05)


def payload(who, i):
    return (who, i, bytes([i % 251]) * (i * 53 % 700))


def recv_all(conn, who):
    for i in range(N):
        got = conn.recv()
        if got != payload(who, i):
            print("FAIL", who, "message", i, "is", repr(got)[:60], flush=True)
            return False
    if conn.poll(0.3):
        print("FAIL more than", N, "messages from", who, flush=True)
        return False
    return True


def mp_child(conn):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    for i in range(N):
        conn.send(payload("c", i))
    print("child sent", N, flush=True)
    signal.sigwait({signal.SIGUSR1})
    ok = recv_all(conn, "p")
    print("child got", N, "ok" if ok else "FAIL", flush=True)
    sys.exit(0 if ok else 1)


def mppipe():
    mp.set_start_method("fork")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    a, b = mp.Pipe()
    p = mp.Process(target=mp_child, args=(b,))
    p.start()
    for i in range(N):
        a.send(payload("p", i))
    print("pid", os.getpid(), flush=True)
    print("child", p.pid, flush=True)
    print("ready mppipe", flush=True)
    signal.sigwait({signal.SIGTERM})
    os.kill(p.pid, signal.SIGUSR1)
    ok = recv_all(a, "c")
    p.join(20)
    if p.exitcode != 0:
        print("FAIL child exit code", p.exitcode, flush=True)
        ok = False
    print("done ok" if ok else "FAIL", flush=True)
    return 0 if ok else 1


def forked(f):
    c = os.fork()
    if c == 0:
        f()
        park()
    return c


def ready(mode, *children):
    print("pid", os.getpid(), flush=True)
    for c in children:
        print("child", c, flush=True)
    print("ready", mode, flush=True)
    park()


def three():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.send(b"to b")
    b.send(b"to a")
    c1 = forked(a.close)
    c2 = forked(b.close)
    b.close()
    ready("three", c1, c2)


def sender(mode, kind, send):
    a, b = socket.socketpair(socket.AF_UNIX, kind)
    if mode == "passcred":
        a.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    c = forked(lambda: (a.close(), send(b)))
    b.close()
    a.recv(1, socket.MSG_PEEK)   # what the child sent is there
    ready(mode, c)


BIG = bytes(i % 251 for i in range(300000))


def bigdgram():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    c = os.fork()
    if c == 0:
        a.close()
        b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 400000)
        b.send(BIG)
        b.send(b"small")
        park()
    b.close()
    a.recv(1, socket.MSG_PEEK)
    print("pid", os.getpid(), flush=True)
    print("child", c, flush=True)
    print("ready bigdgram", flush=True)
    signal.sigwait({signal.SIGTERM})
    first, second = a.recv(400000), a.recv(400000)
    try:
        more = a.recv(1, socket.MSG_DONTWAIT)
    except BlockingIOError:
        more = None
    os.kill(c, signal.SIGKILL)
    if first != BIG or second != b"small" or more is not None:
        print("FAIL", len(first), second[:10], more, flush=True)
        return 1
    print("done ok", flush=True)
    return 0


def lines_check(f, who):
    for i in range(N):
        got = f.readline()
        if got != "%s line %d\n" % (who, i):
            print("FAIL", who, "line", i, "is", repr(got), flush=True)
            return False
    return True


def stdio_child():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    for i in range(N):
        os.write(0, b"c line %d\n" % i)
    signal.sigwait({signal.SIGUSR1})
    ok = lines_check(os.fdopen(0, "r"), "p")
    print("child stdin ok" if ok else "FAIL child stdin", flush=True)
    os._exit(0 if ok else 1)


def stdio():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    a, b = socket.socketpair()
    c = os.fork()
    if c == 0:
        os.dup2(b.fileno(), 0)
        a.close()
        b.close()
        stdio_child()
    b.close()
    for i in range(N):
        a.sendall(b"p line %d\n" % i)
    a.recv(1, socket.MSG_PEEK)
    print("pid", os.getpid(), flush=True)
    print("child", c, flush=True)
    print("ready stdio", flush=True)
    signal.sigwait({signal.SIGTERM})
    os.kill(c, signal.SIGUSR1)
    ok = lines_check(a.makefile("r"), "c")
    _, st = os.waitpid(c, 0)
    if st != 0:
        print("FAIL child status", st, flush=True)
        ok = False
    print("done ok" if ok else "FAIL", flush=True)
    return 0 if ok else 1


def passcred_idle():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGUSR1})
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    c = os.fork()
    if c == 0:
        a.close()
        signal.sigwait({signal.SIGUSR1})
        b.send(b"who am i")
        os._exit(0)
    b.close()
    print("pid", os.getpid(), flush=True)
    print("child", c, flush=True)
    print("ready passcred-idle", flush=True)
    signal.sigwait({signal.SIGTERM})
    os.kill(c, signal.SIGUSR1)
    msg, anc, _, _ = a.recvmsg(64, socket.CMSG_SPACE(12))
    os.waitpid(c, 0)
    creds = [struct.unpack("iII", d[:12]) for lvl, typ, d in anc
             if lvl == socket.SOL_SOCKET and typ == socket.SCM_CREDENTIALS]
    if msg != b"who am i" or not creds:
        print("FAIL message", msg, "credentials", creds, flush=True)
        return 1
    print("creds pid=%d" % creds[0][0], flush=True)
    print("done ok", flush=True)
    return 0


def orphan():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    s, s2 = socket.socketpair()
    d, d2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    c = os.fork()
    if c == 0:
        s.close()
        d.close()
        s2.sendall(b"last words")
        d2.send(b"last datagram")
        os._exit(0)
    s2.close()
    d2.close()
    os.waitpid(c, 0)
    print("pid", os.getpid(), flush=True)
    print("ready orphan", flush=True)
    signal.sigwait({signal.SIGTERM})
    got = b""
    while True:
        b = s.recv(100)
        if not b:
            break
        got += b
    dg = d.recv(100, socket.MSG_DONTWAIT)
    try:
        more = d.recv(100, socket.MSG_DONTWAIT)
    except BlockingIOError:
        more = None
    try:
        s.send(b"x")
        epipe = False
    except BrokenPipeError:
        epipe = True
    if got != b"last words" or dg != b"last datagram" or more is not None or not epipe:
        print("FAIL", got, dg, more, epipe, flush=True)
        return 1
    print("done ok", flush=True)
    return 0


def main():
    mode = sys.argv[1]
    if mode == "mppipe":
        return mppipe()
    if mode == "orphan":
        return orphan()
    if mode == "passcred-idle":
        return passcred_idle()
    if mode == "stdio":
        return stdio()
    if mode == "three":
        three()
    if mode == "inflight":
        sender(mode, socket.SOCK_STREAM, lambda s: socket.send_fds(s, [b"fd"], [1]))
    if mode == "passcred":
        sender(mode, socket.SOCK_DGRAM, lambda s: s.send(b"who am i"))
    if mode == "bigdgram":
        return bigdgram()
    if mode == "emptydgram":
        sender(mode, socket.SOCK_DGRAM, lambda s: s.send(b""))
    print("usage: sockpy.py mppipe|stdio|three|inflight|passcred|passcred-idle|bigdgram|emptydgram|orphan", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
