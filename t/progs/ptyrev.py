#!/usr/bin/env python3
"""ptyrev - a pty pair held the other way round: the parent keeps the
slave, its child the master (t/pty.bats: refused at the checkpoint).

usage: ptyrev.py   prints "pid N", "child N", "ready ptyrev", then
waits; SIGTERM ends both."""
import os
import pty
import signal
import sys

m, s = pty.openpty()
child = os.fork()
if child == 0:
    os.close(s)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    while True:
        signal.pause()
os.close(m)
print("pid %d\nchild %d\nready ptyrev" % (os.getpid(), child), flush=True)
signal.signal(signal.SIGTERM, lambda *a: (os.kill(child, signal.SIGTERM), sys.exit(0)))
while True:
    signal.pause()
