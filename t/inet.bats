#!/usr/bin/env bats
# TCP and UDP sockets of a job (issue 13): listening sockets bound again
# to their address and port with their options, so that a restored
# server accepts again; UDP sockets keep their addresses; a connection
# to a peer outside the job comes back reset (ECONNRESET), so the
# program reconnects; a connection with both ends in the process is
# made again with the bytes queued each way.  Programs:
# t/progs/inetsrv.c, t/progs/inetcli.c, python3 -m http.server.

load helpers
load thaw
load inet

# http_server DIR PORT: python3 -m http.server on 127.0.0.1:PORT under
# ckpt-run, in the background (PID), serving DIR, once it answers
http_server() {
	local i
	need ckpt-run ckpt-freeze ckpt-thaw
	(cd "$1" && exec "$RUN" -- "$PYTHON" -m http.server --bind 127.0.0.1 "$2" \
		>"$T/http.out" 2>"$T/http.err" 3>&- 4>&-) &
	PID=$!
	STARTED+=("$PID")
	for ((i = 0; i < 250; i++)); do
		curl -s -m 1 -o /dev/null "http://127.0.0.1:$2/" && return 0
		sleep 0.02
	done
	cat "$T/http.err" >&2
	return 1
}

@test "a server's TCP and UDP sockets come back bound, with their options, and accept again (inetsrv)" {
	free_ports
	checkpoint_kill inetsrv "$PORT"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' domain=inet' >"$T/lines"
	cat "$T/lines"
	grep -q "^fd 3 socket .* addr=127.0.0.1:$PORT state=listen backlog=7 reuseaddr=1 keepalive=1 nodelay=1 defer_accept=" "$T/lines"
	grep -q "^fd 4 socket .* addr=\[::1\]:$((PORT + 1)) state=listen backlog=3 reuseport=1 v6only=1 " "$T/lines"
	grep -q "^fd 5 socket .* type=dgram .* addr=127.0.0.1:$((PORT + 2)) broadcast=1 " "$T/lines"
	grep -q "^fd 6 socket .* type=dgram .* addr=\[::1\]:$((PORT + 3)) peer=\[::1\]:$((PORT + 4)) " "$T/lines"
	grep -q "^fd 7 socket .* addr=127.0.0.1:$((PORT + 5)) state=close " "$T/lines"
	thaw_bg "$T/img"
	restored inetsrv
	# the backlog as the kernel has it (ss: a listener's Send-Q)
	ss -Hltn "sport = :$PORT" | awk '{print $3}' | grep -qx 7
	ss -Hltn "sport = :$((PORT + 1))" | awk '{print $3}' | grep -qx 3
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	! grep -q FAIL "$OUT"
	grep -q "^accepted on fd 3" "$OUT"
	grep -q "^accepted on fd 4" "$OUT"
	grep -q "^datagram on fd 5" "$OUT"
	finish
}

@test "python3 -m http.server answers curl again after a restore" {
	free_ports
	mkdir "$T/www"
	echo "hello from before" >"$T/www/index.html"
	http_server "$T/www" "$PORT"
	[ "$(curl -s -m 5 "http://127.0.0.1:$PORT/index.html")" = "hello from before" ]
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	! curl -s -m 1 "http://127.0.0.1:$PORT/"
	thaw_bg "$T/img"
	restored python3
	echo "written after" >"$T/www/new.html"
	[ "$(curl -s -m 5 "http://127.0.0.1:$PORT/index.html")" = "hello from before" ]
	[ "$(curl -s -m 5 "http://127.0.0.1:$PORT/new.html")" = "written after" ]
	kill -TERM "$PID"
	thaw_wait 143
}

# pong_server PORT: t/progs/pongsrv.py outside the job (no ckpt-run) on
# 127.0.0.1:PORT, its lines in $T/pong.out, its pid in SRV
pong_server() {
	"$PYTHON" "$CKPT_ROOT/t/progs/pongsrv.py" "$1" >"$T/pong.out" 2>"$T/pong.err" 3>&- 4>&- &
	SRV=$!
	STARTED+=("$SRV")
	wait_line "$T/pong.out" '^ready pongsrv'
}

# outside_reset: inetcli out, a client of pongsrv.py outside the job
# (REMOTE=1: as if on another machine), is restored reset, and reconnects
outside_reset() {
	free_ports
	pong_server "$PORT"
	checkpoint_kill inetcli out "$PORT"
	tar xOf "$T/img" "proc/$PID/fds" | grep "^fd 3 socket .* peer=127.0.0.1:$PORT state=established "
	"$BIN/ckpt-show" "$T/img" | grep " 3 socket .*a TCP connection to 127.0.0.1:$PORT, made again on loopback with socket [0-9]* if a process of the job has it, else reset"
	# a server on another machine: no peer_ino (the same reset, made at once)
	if [ "${REMOTE:-}" = 1 ]; then
		fds_edit "$PID" 's/ peer_ino=[0-9]*//'
		mv "$T/bad" "$T/img"
		"$BIN/ckpt-show" "$T/img" | grep " 3 socket .*a TCP connection to 127.0.0.1:$PORT outside the job, reset"
	fi
	thaw_bg "$T/img"
	restored inetcli
	# the first read or write after the restore fails with ECONNRESET
	wait_line "$OUT" '^connected 2' 10
	cat "$OUT"
	grep -q '^lost: ECONNRESET' "$OUT"
	[ "$(grep -c '^lost' "$OUT")" = 1 ]
	# and the new connection goes on with the server
	wait_line "$T/pong.out" '^conn 2'
	kill -USR1 "$PID"
	wait_line "$OUT" '^verify ok connections=2 '
	finish
}

@test "a client's connection to a server outside the job comes back reset: ECONNRESET, and it reconnects" {
	outside_reset
}

@test "a client's connection to a server on another machine (no local peer) comes back reset: ECONNRESET, and it reconnects" {
	REMOTE=1 outside_reset
}

@test "a TCP connection with both ends in the process comes back with the bytes queued each way (inetcli pair)" {
	in_process_pair pair
}

@test "the same over IPv6 (inetcli pair6)" {
	in_process_pair pair6
}

# in_process_pair MODE: inetcli MODE's connection within the process
in_process_pair() {
	checkpoint_kill inetcli "$1"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' domain=inet' >"$T/lines"
	cat "$T/lines"
	# both ends name each other, and each queue is saved
	[ "$(grep -c ' state=established .*peer_ino=[0-9]* .*data=socks/' "$T/lines")" = 2 ]
	img list "$T/img" | grep "^proc/$PID/socks/"
	# ckpt-show says what a restore makes of each
	"$BIN/ckpt-show" "$T/img" >"$T/show"
	grep -q ' 3 socket .*a TCP connection with fd 5, made again on loopback, the queued bytes put back' "$T/show"
	grep -q ' 4 socket .*a TCP listener on \(127.0.0.1\|\[::1\]\):[0-9]* again (backlog 4)' "$T/show"
	thaw_bg "$T/img"
	restored inetcli
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	grep -q '^verify ok' "$OUT"
	# every line sent before the checkpoint arrived once, in order
	grep -qx 'got 350 350' "$OUT"
	finish
}

@test "http.server with a client in the job holding a keep-alive connection: the same connection answers after the restore, and new clients too (httpka.py)" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	start_prog httpka.py
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	port=$(awk '$1 == "port" {print $2}' "$OUT")
	grep -qx '/1 request 1 on this connection' "$OUT"
	thaw_bg "$T/img"
	restored python3
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	grep -qx 'got /2 request 2 on this connection' "$OUT"
	[ "$(curl -s -m 5 "http://127.0.0.1:$port/new")" = "/new request 1 on this connection" ]
	kill -USR1 "$PID"
	wait_line "$OUT" '^got /3 request 3 on this connection'
	finish
}

@test "not root: a throwaway user's server comes back in a new user and pid namespace, bound as before, its sockets the user's" {
	need_root   # to make the user
	free_ports
	throwaway_user cki
	user_thaw_ns inetsrv "$PORT"
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/$prog/status"
	ss -Hltnpe "sport = :$PORT" | grep -q "uid:$(id -u "$NEW_USER") "
	kill -USR1 "$prog"
	wait_line "$D/out" '^(verify ok|FAIL)'
	cat "$D/out"
	grep -q "^accepted on fd 3" "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	grep -q '^done ok' "$D/out"
	! grep -q '^FAIL' "$D/out"
}

# child_line: wait for inetcli fork's child to have said its pid: CHILD
child_line() {
	wait_line "$OUT" '^child [0-9]+$'
	CHILD=$(awk '$1 == "child" && $2 ~ /^[0-9]+$/ {print $2; exit}' "$OUT")
	STARTED+=("$CHILD")
}

@test "a TCP connection between two processes of the job comes back connected, with the bytes queued each way (inetcli fork)" {
	BEFORE_KILL=child_line checkpoint_kill inetcli fork
	tar xOf "$T/img" "proc/$PID/fds" "proc/$CHILD/fds" | grep ' state=established' | tee "$T/lines"
	# the parent's end and the child's name each other, each queue saved
	a=$(awk '{for (i = 1; i <= NF; i++) if ($i ~ /^sock=/) print substr($i, 6)}' "$T/lines")
	[ "$(echo "$a" | wc -l)" = 2 ]
	for s in $a; do grep -q " peer_ino=$s .*data=socks/" "$T/lines"; done
	"$BIN/ckpt-show" "$T/img" | grep -q 'a TCP connection to 127.0.0.1:[0-9]*, made again on loopback with socket'
	thaw_bg "$T/img"
	restored inetcli
	kill -USR1 "$PID"
	kill -USR1 "$CHILD"
	wait_line "$OUT" '^parent round 1 ok|^FAIL'
	wait_line "$OUT" '^child round 1 ok|^FAIL'
	cat "$OUT"
	grep -qx 'parent round 1 ok got 350' "$OUT"
	grep -qx 'child round 1 ok got 350' "$OUT"
	finish
	grep -qx 'parent round 2 ok got 400' "$OUT"
	grep -qx 'child round 2 ok got 400' "$OUT"
}

@test "a queue larger than a new socket's buffer (160 kB, all of it delivered) comes back whole (inetcli bigpair)" {
	checkpoint_kill inetcli bigpair 20000
	tar xOf "$T/img" "proc/$PID/fds" | grep ' state=established'
	thaw_bg "$T/img"
	restored inetcli
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)' 20
	tail -n 3 "$OUT"
	grep -qx 'got 350 220350' "$OUT"
	finish
}

@test "a checkpoint that leaves the job running leaves its connections and their queues as they were; a restore of a later one still works" {
	BEFORE_KILL=live_checkpoint checkpoint_kill inetcli pair
	grep -qx 'got 350 350' "$OUT"
	grep -q '^verify ok' "$OUT"
	thaw_bg "$T/img"
	restored inetcli
	kill -USR1 "$PID"
	wait_line "$OUT" '^got 400 400|^FAIL'
	cat "$OUT"
	grep -qx 'got 400 400' "$OUT"
	finish
}

# udp_outside PORT FROM TEXT [TRANSPARENT]: a datagram TEXT to
# 127.0.0.1:PORT from FROM (ADDR:PORT), sent by a python3 outside the
# job, which exits; FROM an address of another machine with
# TRANSPARENT=1 (IP_TRANSPARENT, root)
udp_outside() {
	"$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[4] == "1":
    s.setsockopt(socket.SOL_IP, 19, 1)
a, p = sys.argv[2].rsplit(":", 1)
s.bind((a, int(p)))
s.sendto(sys.argv[3].encode(), ("127.0.0.1", int(sys.argv[1])))' "$1" "$2" "$3" "${4:-0}"
}

@test "UDP datagrams queued from several senders come back in order, each from its sender: in the job, closed since, outside, another machine's (udpq)" {
	free_ports
	start_prog udpq "$PORT"
	udp_outside "$PORT" "127.0.0.1:$((PORT + 5))" outside
	udp_outside "$PORT" "10.9.8.7:53" faraway 1
	sleep 0.1
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' type=dgram' | tee "$T/lines"
	grep -q " addr=127.0.0.1:$PORT .*data=socks/" "$T/lines"
	thaw_bg "$T/img"
	restored udpq
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	! grep -q FAIL "$OUT"
	# behind the program's own: the two from outside, in order
	grep -A2 "^got r4 127.0.0.1:$((PORT + 1)) four" "$OUT" | sed -n 2,3p >"$T/behind"
	printf '%s\n' "got r4 127.0.0.1:$((PORT + 5)) outside" "got r4 10.9.8.7:53 faraway" | diff - "$T/behind"
	finish
}

@test "a checkpoint that leaves the job running leaves its UDP queues as they were (udpq)" {
	free_ports
	start_prog udpq "$PORT"
	freeze_ok "$T/img" "$PID"
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	! grep -q FAIL "$OUT"
	kill -TERM "$PID"
	wait "$PID"
}

@test "not root: a UDP datagram queued from another machine's address: the user's checkpoint refuses it by name before --kill, the queue left as it was" {
	need_root   # to make the user and send from 10.9.8.7 (IP_TRANSPARENT)
	free_ports
	throwaway_user ckq
	user_dir
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D start_prog udpq "$PORT"
	udp_outside "$PORT" "10.9.8.7:53" faraway 1
	sleep 0.1
	run --separate-stderr as_user env CKPT_SOCKDIR="$D/sock" "$BIN/ckpt-freeze" --kill "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"ckpt-dumpfds: pid $PID fd 3: UDP socket "*": datagram 5 queued, from 10.9.8.7:53, an address of another machine: a restore could not send it again from there without IP_TRANSPARENT (root): refused"* ]]
	[[ $stderr == *"ckpt-freeze: pid $PID: not killed: it runs on"* ]]
	alive "$PID"
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	! grep -q FAIL "$OUT"
	grep -q "^got r4 10.9.8.7:53 faraway" "$OUT"
	kill -TERM "$PID"
	wait "$PID"
}

# outside_waiting PORT: a python3 outside the job connected to
# 127.0.0.1:PORT, never accepted; it says "reset" or "eof" once the
# connection ends, in $T/outside.out
outside_waiting() {
	"$PYTHON" -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
print("connected", flush=True)
try:
    print("eof" if s.recv(10) == b"" else "data", flush=True)
except ConnectionResetError:
    print("reset", flush=True)' "$1" >"$T/outside.out" 2>&1 3>&- 4>&- &
	STARTED+=("$!")
	wait_line "$T/outside.out" '^connected'
}

@test "a listener's backlog: the job's own clients, not accepted yet, are accepted after the restore; one from outside the job is reset (tcpbacklog)" {
	free_ports
	start_prog tcpbacklog "$PORT"
	outside_waiting "$PORT"
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	wait_line "$T/outside.out" '^(reset|eof|data)'
	grep -qx reset "$T/outside.out"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' type=stream' | tee "$T/lines"
	[ "$(grep -c " listener=$(awk '/state=listen/ {for (i = 1; i <= NF; i++) if ($i ~ /^sock=/) print substr($i, 6)}' "$T/lines") unaccepted_rq=0" "$T/lines")" = 2 ]
	"$BIN/ckpt-show" "$T/img" | grep 'waited in the backlog'
	thaw_bg "$T/img"
	restored tcpbacklog
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	grep -qx 'accepted=2' "$OUT"
	finish
}

@test "a listener's backlog: a client of the job that sent bytes on a connection not accepted yet: refused at the checkpoint by name, before --kill (tcpbacklog sent)" {
	free_ports
	start_prog tcpbacklog "$PORT" sent
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"ckpt-dumpfds: pid $PID fd 5: TCP socket "*" sent 6 bytes on its connection, which waits in the backlog of listener "*", not accepted yet: they cannot be read there without TCP_REPAIR: refused"* ]]
	[[ $stderr == *"ckpt-freeze: pid $PID: not killed: it runs on"* ]]
	alive "$PID"
	kill -TERM "$PID"
	wait "$PID"
}

@test "socket options come back exactly (buffer sizes set, keepalive times, TCP_NODELAY, SO_LINGER, IP_TOS, IPV6_TCLASS, SO_BROADCAST), and half-closed connections, end of file seen or not (sockopts)" {
	free_ports
	checkpoint_kill sockopts "$PORT"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' domain=inet' | tee "$T/lines"
	grep -q " sndbuf=.* rcvbuf=.* keepidle=33 keepintvl=7 keepcnt=4 linger=3 tos=16 " "$T/lines"
	grep -q " state=fin_wait2 .*data=socks/" "$T/lines"
	grep -q " state=close_wait .*data=socks/" "$T/lines"
	thaw_bg "$T/img"
	restored sockopts
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	! grep -q FAIL "$OUT"
	finish
}

# redis_outside PORT: a client outside the job (python3, RESP by
# hand) that INCRs "outside" every 50 ms on one connection, and when
# it is lost says "lost" and, once $T/go is there (after the restore's
# state check, which a new connection of the server's would change),
# connects again ("reconnected"); its lines in $T/outside.out
redis_outside() {
	"$PYTHON" -c '
import os, socket, sys, time
port, n, s = int(sys.argv[1]), 0, None
while True:
    try:
        if s is None and n and not os.path.exists(sys.argv[2]):
            time.sleep(0.05)
            continue
        if s is None:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            print("reconnected" if n else "connected", s.getsockname()[1], flush=True)
        s.sendall(b"INCR outside\r\n")
        r = s.recv(100)
        if not r.startswith(b":"):
            raise ConnectionError(r)
        n += 1
        print("ok", n, flush=True)
    except OSError as e:
        print("lost", type(e).__name__, flush=True)
        s = None
    time.sleep(0.05)' "$1" "$T/go" >"$T/outside.out" 2>&1 3>&- 4>&- &
	STARTED+=("$!")
	wait_line "$T/outside.out" '^ok 3$'
}

# redis_before: keys set from outside, the outside client going
redis_before() {
	redis-cli -p "$PORT" mset k1 one k2 two k3 three | grep -qx OK
	redis_outside "$PORT"
}

@test "redis-server with a redis-cli of the job on one connection and a client outside: the keys survive, the job's client goes on, the outside one reconnects" {
	free_ports
	BEFORE_KILL=redis_before checkpoint_kill redisjob "$T" "$PORT"
	before=$(wc -l <"$T/cli.out")
	wait_line "$T/outside.out" '^lost'
	# the server's end of the outside connection comes back reset, by
	# design (formats/fds.md), and redis closes it at once, its epoll
	# watch too: before the state check can see it
	cport=$(awk '$1 == "connected" {print $2; exit}' "$T/outside.out")
	fds=$(tar xOf "$T/img" $(tar tf "$T/img" | grep '^proc/[0-9]*/fds$'))
	fd=$(echo "$fds" | awk -v p=" peer=127.0.0.1:$cport " 'index($0, p) {print $2; exit}')
	ep=$(echo "$fds" | awk '$3 == "epoll" || / path=anon_inode:\[eventpoll\]/ {print $2; exit}')
	[ -n "$fd" ] && [ -n "$ep" ]
	STATE_EXPECT="fd $fd;fd $ep watch tfd $fd" thaw_bg "$T/img"
	restored redisjob
	touch "$T/go"
	[ "$(redis-cli -p "$PORT" get k2)" = two ]
	[ "$(redis-cli -p "$PORT" mget k1 k3 | tr '\n' ' ')" = "one three " ]
	wait_line "$T/outside.out" '^reconnected' 10
	wait_line "$T/outside.out" "^ok $(($(grep -c '^ok' "$T/outside.out") + 3))\$" 10
	# the job's client on its own connection: its counter goes on, one by one
	for ((i = 0; i < 100; i++)); do [ "$(wc -l <"$T/cli.out")" -gt $((before + 5)) ] && break; sleep 0.05; done
	cat "$T/cli.out" | tail -n 8
	awk 'NR > 1 && $1 != prev + 1 {bad = 1} {prev = $1} END {exit bad}' "$T/cli.out"
	[ "$(wc -l <"$T/cli.out")" -gt $((before + 5)) ]
	finish
}

@test "1000 unix socketpairs and 100 TCP connections in one process, a message queued to every end: each comes back (manysock)" {
	checkpoint_kill manysock 1000 100
	[ "$(tar xOf "$T/img" "proc/$PID/fds" | grep -c ' data=socks/')" = 2200 ]
	thaw_bg "$T/img"
	restored manysock
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	grep -v '^tick' "$OUT"
	grep -qx 'pairs=1000 tcp=100' "$OUT"
	finish
}
