# tcppeer.py FIFO listen|connect ADDR PORT [RCVBUF] - the other end of
# tcpcount's conversation, a program outside the job (never under
# ckpt-run), for t/tcprepair.bats.  listen: takes one connection on
# ADDR:PORT; connect: connects there.  RCVBUF: its SO_RCVBUF, set before
# the connection (a small one keeps what tcpcount sends in tcpcount's
# send queue while we do not read).  It says "ready tcppeer" once it
# listens or is connected, then does what each line written to FIFO
# says (opened again after each writer: `echo CMD > FIFO`, so that no
# writer stays open for a job started later to inherit):
#   talk A B     sends A .. B, each answered with N+1 ("talked A B")
#   send TEXT    sends the line TEXT, reads nothing ("sent TEXT")
#   expect N     reads a line, which must be N ("got N")
#   give N       sends "take N", N bytes, byte i 'a' + i % 26, and "\n"
#                ("gave N")
#   drip N MS    sends "d1" .. "dN", one every MS ms, then "dend N", from
#                a thread of its own ("dripped N" at its end)
#   blob N       reads N bytes and "\n", byte i 'a' + i % 26 ("blob ok N")
#   segs         "segs_in K": the segments it received so far (TCP_INFO)
#   quit         sends "quit", then reads the end ("eof")
#   readeof      reads to the end, which must come with nothing before
#                it ("eof")
#   shutwr       shuts its writing (shutdown SHUT_WR: "shut")
# Any surprise (a wrong line, a reset) is "FAIL ..." and exit 1.
import socket
import struct
import sys
import threading
import time


def conn_open(how, host, port, rcvbuf):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if how == "connect":
        s.connect((host, port))
        return s
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1)
    print("listening", flush=True)
    c, _ = s.accept()
    s.close()
    return c


def drip(s, n, ms):
    try:
        for k in range(1, n + 1):
            s.sendall(b"d%d\n" % k)
            time.sleep(ms / 1000)
        s.sendall(b"dend %d\n" % n)
        print("dripped %d" % n, flush=True)
    except Exception as e:
        print("FAIL drip: %s: %s" % (type(e).__name__, e), flush=True)


def commands(fifo):
    while True:
        with open(fifo) as f:
            yield from f


def main():
    fifo, how, host, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rcvbuf = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    s = conn_open(how, host, port, rcvbuf)
    f = s.makefile("rb")
    print("ready tcppeer", flush=True)

    def expect(want):
        got = f.readline()
        if got != b"%s\n" % want.encode():
            raise RuntimeError("wanted %r, got %r" % (want, got))

    for cmd in commands(fifo):
        w = cmd.split()
        if not w:
            continue
        if w[0] == "talk":
            for n in range(int(w[1]), int(w[2]) + 1):
                s.sendall(b"%d\n" % n)
                expect(str(n + 1))
            print("talked %s %s" % (w[1], w[2]), flush=True)
        elif w[0] == "send":
            s.sendall(cmd[5:].strip().encode() + b"\n")
            print("sent %s" % cmd[5:].strip(), flush=True)
        elif w[0] == "expect":
            expect(w[1])
            print("got %s" % w[1], flush=True)
        elif w[0] == "give":
            n = int(w[1])
            s.sendall(b"take %d\n" % n + bytes(ord("a") + i % 26 for i in range(n)) + b"\n")
            print("gave %d" % n, flush=True)
        elif w[0] == "drip":
            threading.Thread(target=drip, args=(s, int(w[1]), int(w[2])), daemon=True).start()
        elif w[0] == "blob":
            n = int(w[1])
            data = f.read(n + 1)
            want = bytes(ord("a") + i % 26 for i in range(n)) + b"\n"
            if data != want:
                raise RuntimeError("blob of %d bytes: %d came, differing" % (n, len(data)))
            print("blob ok %d" % n, flush=True)
        elif w[0] == "segs":
            info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
            print("segs_in %d" % struct.unpack_from("I", info, 140)[0], flush=True)
        elif w[0] == "readeof":
            if f.read() != b"":
                raise RuntimeError("bytes before the end")
            print("eof", flush=True)
        elif w[0] == "shutwr":
            s.shutdown(socket.SHUT_WR)
            print("shut", flush=True)
        elif w[0] == "quit":
            s.sendall(b"quit\n")
            if f.read() != b"":
                raise RuntimeError("bytes after quit")
            print("eof", flush=True)
            return


try:
    main()
except Exception as e:   # a reset, a wrong line: the test sees it
    print("FAIL %s: %s" % (type(e).__name__, e), flush=True)
    sys.exit(1)
