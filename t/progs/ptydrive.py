#!/usr/bin/env python3
"""ptydrive - run a command in a new pseudo-terminal, as a person at a
terminal would: usage: ptydrive.py FIFO LOG PIDFILE CMD ARG...

Writes the command's pid to PIDFILE, everything it prints on the
terminal to LOG, and types into the terminal every byte written to
FIFO (made if missing).  Exits with the command's status (128+signal
when a signal ended it)."""
import os
import pty
import select
import sys


def main():
    fifo, log, pidfile, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    if not os.path.exists(fifo):
        os.mkfifo(fifo, 0o600)
    pid, master = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % pid)
    os.rename(pidfile + ".tmp", pidfile)
    keys = os.open(fifo, os.O_RDWR)   # never at end of file
    out = open(log, "ab", buffering=0)
    while True:
        r, _, _ = select.select([master, keys], [], [])
        if keys in r:
            os.write(master, os.read(keys, 4096))
        if master in r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            out.write(data)
    _, st = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))


main()
