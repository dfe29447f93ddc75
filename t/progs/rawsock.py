# rawsock.py - holds a raw ICMP socket (root's: CAP_NET_RAW; a restore
# does not make one) on fd 3 and a TCP listener on fd 4, then "pid
# N", "ready rawsock"; SIGTERM ends it with "done ok".
import os
import signal
import socket
import sys
import time

icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
os.dup2(icmp.fileno(), 3)
lis = socket.socket()
lis.bind(("127.0.0.1", 0))
lis.listen(1)
os.dup2(lis.fileno(), 4)
signal.signal(signal.SIGTERM, lambda s, f: (print("done ok", flush=True), sys.exit(0)))
print("pid %d" % os.getpid())
print("ready rawsock", flush=True)
while True:
    time.sleep(1)
