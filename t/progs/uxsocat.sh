#!/bin/bash
# uxsocat.sh DIR - socat, a program nobody here wrote, as a unix socket
# server and its client in one job: "socat UNIX-LISTEN:DIR/s.sock,fork
# EXEC:cat" answers each connection with a cat of its own (a socat
# child per connection); a second socat connects to it, its stdin the
# fifo DIR/in (held open here), its stdout appended to DIR/client.out,
# so each line written into DIR/in comes back into DIR/client.out.
# Prints "pid P" and "ready uxsocat" once the client is connected.
# SIGTERM: both socats end: "done ok".
d=$1
rm -f "$d/s.sock" "$d/in"
mkfifo "$d/in"
exec 3<>"$d/in"
socat UNIX-LISTEN:"$d/s.sock",fork EXEC:cat &
srv=$!
for i in $(seq 100); do [ -S "$d/s.sock" ] && break; sleep 0.05; done
socat UNIX-CONNECT:"$d/s.sock" - <&3 >>"$d/client.out" &
cli=$!
for i in $(seq 100); do [ -n "$(pgrep -P "$srv")" ] && break; sleep 0.05; done
trap 'kill $cli $srv; wait; echo "done ok"; exit 0' TERM
echo "pid $$"
echo "ready uxsocat"
while :; do wait; done
