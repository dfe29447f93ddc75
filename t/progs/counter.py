#!/usr/bin/env python3
"""counter.py - a Python program that counts and checks its objects.

usage: counter.py [-i MS] [-n TICKS]

Builds some objects (a dict of lists, a bytearray, a chain of class
instances, a string), keeps their sha256, then prints "pid N",
"ready counter.py pid=N sum=HEX" and "tick N" every MS ms (default 10).
Every tick re-checks one object's invariant; SIGUSR1: recompute the
whole sha256, print "verify ok ticks=N sum=HEX" and go on; SIGTERM or
TICKS ticks: the same, print "done ok ...", exit 0.  Any mismatch:
"FAIL ..." and exit 1.
"""
import hashlib
import os
import signal
import sys
import time


class Node:
    def __init__(self, n, nxt):
        self.n = n
        self.sq = n * n
        self.nxt = nxt


def build():
    table = {"k%05d" % i: [i, i * 3, str(i)] for i in range(20000)}
    blob = bytearray((i * 131 + 7) & 0xFF for i in range(1 << 20))
    head = None
    for n in range(5000):
        head = Node(n, head)
    text = "ckpt " * 10000
    return table, blob, head, text


def digest(objs):
    table, blob, head, text = objs
    h = hashlib.sha256()
    for k in sorted(table):
        h.update(("%s=%r;" % (k, table[k])).encode())
    h.update(bytes(blob))
    node = head
    while node is not None:
        h.update(b"%d:%d," % (node.n, node.sq))
        node = node.nxt
    h.update(text.encode())
    return h.hexdigest()


def cheap_check(objs, tick):
    table, blob, head, text = objs
    i = tick % 20000
    v = table["k%05d" % i]
    if v != [i, i * 3, str(i)]:
        fail("table entry k%05d is %r" % (i, v))
    j = (tick * 4093) % len(blob)
    if blob[j] != (j * 131 + 7) & 0xFF:
        fail("blob byte %d is %d" % (j, blob[j]))


def fail(why):
    print("FAIL", why, flush=True)
    sys.exit(1)


def main():
    ms, maxticks = 10, -1
    args = sys.argv[1:]
    while args:
        opt = args.pop(0)
        if opt == "-i" and args:
            ms = int(args.pop(0))
        elif opt == "-n" and args:
            maxticks = int(args.pop(0))
        else:
            print("usage: counter.py [-i MS] [-n TICKS]", file=sys.stderr)
            sys.exit(2)

    flags = {"verify": False, "exit": False}
    signal.signal(signal.SIGUSR1, lambda s, f: flags.__setitem__("verify", True))
    signal.signal(signal.SIGTERM, lambda s, f: flags.__setitem__("exit", True))

    objs = build()
    want = digest(objs)
    ticks = 0
    print("pid", os.getpid(), flush=True)
    print("ready counter.py pid=%d sum=%s" % (os.getpid(), want), flush=True)
    while True:
        if flags["verify"] or flags["exit"] or ticks == maxticks:
            got = digest(objs)
            if got != want:
                fail("sha256 %s, want %s" % (got, want))
            done = flags["exit"] or ticks == maxticks
            print("%s ok ticks=%d sum=%s" % ("done" if done else "verify", ticks, got),
                  flush=True)
            if done:
                sys.exit(0)
            flags["verify"] = False
        ticks += 1
        cheap_check(objs, ticks)
        print("tick", ticks, flush=True)
        time.sleep(ms / 1000.0)


if __name__ == "__main__":
    main()
