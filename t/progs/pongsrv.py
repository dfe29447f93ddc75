# pongsrv.py PORT|PATH - a line server outside the job, for t/inet.bats
# (and t/unixsock.bats: on a unix PATH): on 127.0.0.1:PORT it answers each line "N" with "pong N", one thread a
# connection.  It says "pid P" and "ready pongsrv" once it listens, then
# "conn K" as connection K comes and "end K: HOW" as it goes (HOW:
# "eof" or the error, "reset" for ECONNRESET).
import socket
import sys
import threading


def serve(conn, k):
    how = "eof"
    f = conn.makefile("rb")
    try:
        for line in f:
            conn.sendall(b"pong " + line.strip() + b"\n")
    except ConnectionResetError:
        how = "reset"
    except OSError as e:
        how = str(e)
    print("end %d: %s" % (k, how), flush=True)
    conn.close()


def main():
    if sys.argv[1].startswith("/"):
        lis = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lis.bind(sys.argv[1])
    else:
        lis = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lis.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lis.bind(("127.0.0.1", int(sys.argv[1])))
    lis.listen(16)
    print("pid %d" % __import__("os").getpid(), flush=True)
    print("ready pongsrv", flush=True)
    k = 0
    while True:
        conn, _ = lis.accept()
        k += 1
        print("conn %d" % k, flush=True)
        threading.Thread(target=serve, args=(conn, k), daemon=True).start()


main()
