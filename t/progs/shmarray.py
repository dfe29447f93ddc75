#!/usr/bin/env python3
"""shmarray.py - a parent and its child counting in a
multiprocessing.Array (fork start method): the array lives in an
unlinked /dev/shm file (multiprocessing.heap's arena) that both map
and hold open (the arena's fd, and mmap's own copy of it).

usage: shmarray.py

Slot 0 is the parent's count, slot 1 the child's; the child copies
slot 2 (the parent's token) into slot 3.  Prints "pid P", "child C",
"ready shmarray.py".  SIGUSR1 to the parent: a new token, which the
child must echo within 5 s, and the child's count must move: "verify
ok mine=N other=M", else "FAIL ...".  SIGTERM: the child is stopped,
"done ok", exit 0.
"""
import multiprocessing as mp
import os
import signal
import sys
import time

want = {"verify": False, "exit": False}


def child(a):
    while True:
        a[1] += 1
        a[3] = a[2]
        time.sleep(0.005)


def verify(a):
    token, before = a[0] + 1000000, a[1]
    a[2] = token
    for _ in range(1000):
        if a[3] == token and a[1] != before:
            print("verify ok mine=%d other=%d" % (a[0], a[1]), flush=True)
            return
        a[0] += 1
        time.sleep(0.005)
    print("FAIL the child does not echo %d (echoes %d), count %d was %d"
          % (token, a[3], a[1], before), flush=True)
    sys.exit(1)


def main():
    ctx = mp.get_context("fork")
    a = ctx.Array("q", 4, lock=False)
    p = ctx.Process(target=child, args=(a,), daemon=True)
    p.start()
    signal.signal(signal.SIGUSR1, lambda *_: want.update(verify=True))
    signal.signal(signal.SIGTERM, lambda *_: want.update(exit=True))
    print("pid %d\nchild %d\nready shmarray.py" % (os.getpid(), p.pid), flush=True)
    while not want["exit"]:
        if want["verify"]:
            want["verify"] = False
            verify(a)
        a[0] += 1
        time.sleep(0.005)
    p.kill()
    p.join()
    print("done ok", flush=True)


if __name__ == "__main__":
    main()
