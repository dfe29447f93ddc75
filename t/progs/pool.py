#!/usr/bin/env python3
"""pool.py - multiprocessing.Pool workers sending each result through a
Queue: every result must arrive once.

usage: pool.py [N [DELAY_MS]]

A Pool of 4 workers (fork start method) runs N tasks (default 400);
task i sleeps DELAY_MS (default 25) and puts (i, i*i) on a Queue that
every worker inherited, and returns i*i.  The parent prints "pid P",
"ready pool.py n=N", reads the Queue, printing "progress got=K" every
20 results, and checks that no task's result comes twice, that all N
came, that nothing more comes after them, and that map_async returned
[0, 1, 4, ...].  Then "result count=N sum=S" and "done ok", exit 0;
else "FAIL ...", exit 1.
"""
import multiprocessing as mp
import os
import queue
import sys
import time

Q = None
DELAY = 0.025


def init(q, delay):
    global Q, DELAY
    Q, DELAY = q, delay


def work(i):
    time.sleep(DELAY)
    Q.put((i, i * i))
    return i * i


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def collect(q, n):
    seen = {}
    while len(seen) < n:
        try:
            i, v = q.get(timeout=60)
        except queue.Empty:
            fail("missing results after 60 s: %d of %d came" % (len(seen), n))
        if i in seen:
            fail("task %d's result came twice" % i)
        if v != i * i:
            fail("task %d's result is %d, want %d" % (i, v, i * i))
        seen[i] = v
        if len(seen) % 20 == 0:
            print("progress got=%d" % len(seen), flush=True)
    try:
        i, v = q.get(timeout=0.5)
        fail("a result more after all %d: task %d" % (n, i))
    except queue.Empty:
        pass
    return seen


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    delay = (int(sys.argv[2]) if len(sys.argv) > 2 else 25) / 1000
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    print("pid %d\nready pool.py n=%d" % (os.getpid(), n), flush=True)
    with ctx.Pool(4, initializer=init, initargs=(q, delay)) as pool:
        res = pool.map_async(work, range(n), chunksize=1)
        seen = collect(q, n)
        got = res.get(timeout=60)
    if got != [i * i for i in range(n)]:
        fail("map_async returned %d results, not 0, 1, 4, ..." % len(got))
    print("result count=%d sum=%d" % (len(seen), sum(seen.values())), flush=True)
    print("done ok", flush=True)


if __name__ == "__main__":
    main()
