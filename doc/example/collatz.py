#!/usr/bin/env python3
"""collatz.py - an example program for doc/example/collatz.bats: prints
the length of the Collatz sequence of each n from 1 to N (default 300),
slowly, one line each, then a checksum: the same output on every run,
whatever stops it in between."""
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
total = 0
for i in range(1, n + 1):
    x, steps = i, 0
    while x != 1:
        x = x // 2 if x % 2 == 0 else 3 * x + 1
        steps += 1
    total += steps
    print(f"{i} {steps}", flush=True)
    time.sleep(0.005)
print(f"total {total}", flush=True)
