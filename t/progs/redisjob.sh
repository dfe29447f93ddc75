#!/bin/bash
# redisjob.sh DIR PORT - redis-server (Debian's, nobody here wrote it)
# on 127.0.0.1:PORT, and in the same job a redis-cli on one connection
# to it that INCRs the key "injob" every 50 ms (redis-cli -r -1), its
# answers appended to DIR/cli.out.  No persistence: the keys live in
# the server's memory only.  Prints "pid P" and "ready redisjob" once
# the client has its first answer.  SIGTERM: both end: "done ok".
d=$1 port=$2
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$d" \
	--daemonize no --logfile "$d/redis.log" </dev/null &
srv=$!
for i in $(seq 200); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$port" -r -1 -i 0.05 INCR injob </dev/null >>"$d/cli.out" 2>&1 &
cli=$!
for i in $(seq 200); do [ -s "$d/cli.out" ] && break; sleep 0.05; done
trap 'kill $cli $srv; wait; echo "done ok"; exit 0' TERM
echo "pid $$"
echo "ready redisjob"
while :; do wait; done
