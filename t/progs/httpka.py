# httpka.py - python3's http.server (ThreadingHTTPServer, HTTP/1.1) on
# a loopback port of its choosing, and a client in the same process
# holding a keep-alive connection to it (http.client): the issue's
# keep-alive case.  Each answer says which request it is on its
# connection ("/PATH request N on this connection"): a second request
# answered "request 2" went over the very connection of the first.
# Prints the first answer, "port P", "pid N", "ready httpka".
# SIGUSR1: one more request on the same connection, "got ANSWER" then
# "verify ok" (or "FAIL ..."); SIGTERM: the same, then "done ok".
import http.client
import http.server
import os
import signal
import sys
import threading
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive
    n = 0

    def do_GET(self):
        self.n += 1
        body = ("%s request %d on this connection\n" % (self.path, self.n)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


want = {"verify": False, "exit": False}
signal.signal(signal.SIGUSR1, lambda s, f: want.__setitem__("verify", True))
signal.signal(signal.SIGTERM, lambda s, f: want.__setitem__("exit", True))

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
port = srv.server_address[1]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
sock0 = None
k = 0


def get():
    global k
    k += 1
    conn.request("GET", "/%d" % k)
    return conn.getresponse().read().decode().strip()


print(get())
sock0 = conn.sock
print("port %d" % port)
print("pid %d" % os.getpid())
print("ready httpka", flush=True)
while True:
    while not want["verify"] and not want["exit"]:
        time.sleep(0.02)
    try:
        answer = get()
    except Exception as e:
        print("FAIL request %d: %r" % (k, e), flush=True)
        sys.exit(1)
    print("got " + answer)
    if conn.sock is not sock0 or answer != "/%d request %d on this connection" % (k, k):
        print("FAIL not the same connection", flush=True)
        sys.exit(1)
    if want["exit"]:
        print("done ok", flush=True)
        sys.exit(0)
    want["verify"] = False
    print("verify ok", flush=True)
