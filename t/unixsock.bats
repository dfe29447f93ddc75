#!/usr/bin/env bats
# Named unix sockets (issue 13): a server listening on a path or an
# abstract name and its client, a child, mid-conversation, with bytes
# queued both ways and a second connection waiting in the backlog, are
# checkpointed by ckpt-freeze --kill and restored by ckpt-thaw: the
# listener bound again with its backlog, the conversation connected
# again through it (each end with its names), its bytes once and in
# order, the waiting connection queued again; what cannot come back is
# refused, by name.  Programs: t/progs/uxecho.c.  The attacker's side is
# t/security-unixsock.bats.

load helpers
load thaw

setup() { kids_setup; }
teardown() { kids_teardown; }

# kids: the "child N" pid the program printed, into KIDS and C
kids() {
	C=$(awk '$1 == "child" {print $2; exit}' "$OUT")
	KIDS+=("$C")
}

# echo_restored TYPE ADDR: uxecho TYPE ADDR checkpointed with --kill,
# restored; two rounds (the waiting connection accepted in the first)
# and the last
echo_restored() {
	checkpoint_kill uxecho "$1" "$2"
	kids
	dead "$C"
	thaw_bg "$T/img"
	restored uxecho
	alive "$C"
	verify_prog
	grep -qx 'parent round 1 ok got 20' "$OUT"
	grep -qx 'child round 1 ok got 20' "$OUT"
	verify_prog
	finish
	grep -qx 'child round 3 ok got 80' "$OUT"
	grep -qx 'parent round 3 ok got 80' "$OUT"
}

@test "unixsock: a stream server on a path and its client (a child), bytes queued both ways, a connection waiting in the backlog: after --kill and restore each message arrives once, in order, the names are back, the waiting connection is accepted first" {
	echo_restored stream "$T/srv.sock"
	local l
	l=$(fds_of "$PID" | grep ' listen=1 ')
	[[ $l == *" addr=$T/srv.sock "* ]]
	[[ $l == *" backlog=8 "* ]]
	[[ $l == *" pending="[0-9]* ]]
	[[ $l == *" sockfile=0"* ]]
	fds_of "$C" | grep -q " peer=$T/srv.sock peer_ino=0 .* listener="
	[ "$(img list "$T/img" | grep -c '/socks/')" -eq 2 ]
	[ -S "$T/srv.sock" ]
}

@test "unixsock: seqpacket: the same, message boundaries kept" {
	echo_restored seqpacket "$T/srv.sock"
	fds_of "$PID" | grep -q ' type=seqpacket .* listen=1 '
}

@test "unixsock: an abstract name: the same, no file made" {
	local name=@ckpt-uxecho-$$-$BATS_TEST_NUMBER
	echo_restored stream "$name"
	fds_of "$PID" | grep -q " listen=1 addr=$name "
	! fds_of "$PID" | grep -q ' sockfile='
}

# senders FILE: the sender of each message of a socks/INODE member of
# a dgram socket ("LEN[ FROM]\n" then LEN bytes), "-" for no name
senders() {
	"$PYTHON" -c 'import sys
b = open(sys.argv[1], "rb").read()
while b:
	head, b = b.split(b"\n", 1)
	n, _, frm = head.partition(b" ")
	print(frm.decode() or "-")
	b = b[int(n):]' "$1"
}

# dgram_restored ADDR: uxdgram ADDR checkpointed with --kill, restored,
# two rounds and the last: every message once, in order, from its sender
dgram_restored() {
	checkpoint_kill uxdgram "$1"
	kids
	dead "$C"
	thaw_bg "$T/img"
	restored uxdgram
	alive "$C"
	verify_prog
	verify_prog
	finish
	grep -qx 'parent round 3 ok got 15' "$OUT"
	grep -qx 'child round 3 ok got 15' "$OUT"
}

@test "unixsock: dgram: a server bound to a path, its client bound and connected to it, a second client unnamed: messages queued both ways come back once, in order, boundaries kept, each from its sender (recvfrom), the names too" {
	dgram_restored "$T/d.sock"
	# the server's queue: from the named client and from no name, in turn
	local q
	q=$(fds_of "$PID" | awk '/ type=dgram / {for (i = 1; i <= NF; i++) if ($i ~ /^data=/) print substr($i, 6)}')
	img cat "$T/img" "proc/$PID/$q" >"$T/q"
	[ "$(senders "$T/q" | tr '\n' ' ')" = "$(printf "$T/d.sock.c - %.0s" 1 2 3 4 5)" ]
}

@test "unixsock: dgram on abstract names: the same" {
	dgram_restored "@ckpt-uxdgram-$$-$BATS_TEST_NUMBER"
}

@test "unixsock: the socket file left behind by the killed server is replaced; the restored server owns a new one with the old mode" {
	BEFORE_KILL=verify_prog checkpoint_kill uxecho stream "$T/srv.sock"
	kids
	local old
	old=$(stat -c %i "$T/srv.sock")
	chmod 0710 "$T/srv.sock"
	thaw_bg "$T/img"
	restored uxecho
	[ "$(stat -c %i "$T/srv.sock")" != "$old" ]
	[ "$(stat -c %a "$T/srv.sock")" = "$(fds_of "$PID" | awk '/ listen=1 / {for (i = 1; i <= NF; i++) if ($i ~ /^sockfile=/) print substr($i, 11)}')" ]
	! ls -a "$T" | grep -q '\.ckpt-'
	verify_prog
	finish
}

@test "unixsock: the socket file gone at restore is bound again" {
	BEFORE_KILL=verify_prog checkpoint_kill uxecho stream "$T/srv.sock"
	kids
	rm "$T/srv.sock"
	thaw_bg "$T/img"
	restored uxecho
	[ -S "$T/srv.sock" ]
	verify_prog
	finish
}

@test "unixsock: Python's socketserver (ForkingUnixStreamServer) with a client in the job mid-conversation: after the restore the client gets its answer and goes on, and a new client from outside is served" {
	need_root
	need ckpt-run ckpt-freeze ckpt-thaw
	start_prog uxpy.py server "$T/s.sock"
	kids
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	dead "$C"
	thaw_bg "$T/img"
	restored python3
	alive "$C"
	kill -USR1 "$PID"
	wait_line "$OUT" '^client ok' 10
	run "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"from outside\n")
print(s.makefile("rb").readline().decode().strip())' "$T/s.sock"
	[ "$output" = "FROM OUTSIDE" ]
	finish
}

@test "unixsock: address in use: the checkpointed server still runs (no --kill): the restore is refused, naming the fd, socket and path; no process is left and the running server goes on" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:uxecho
	need_root
	start_prog uxecho stream "$T/srv.sock"
	kids
	local ino
	ino=$(stat -c %i "$T/srv.sock")
	freeze_ok "$T/img" "$PID"
	run --separate-stderr timeout -s TERM 30 "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"fd 3: unix socket "*" ($T/srv.sock): bind $T/srv.sock: address in use: a live socket is there (another server?)"* ]]
	[ "$(stat -c %i "$T/srv.sock")" = "$ino" ]
	! ls -a "$T" | grep -q '\.ckpt-'
	[ "$(pgrep -c -f "uxecho stream $T/srv.sock")" -eq 2 ]
	verify_prog
	kill -TERM "$PID"
	wait_line "$OUT" '^done ok' 10
}

@test "unixsock: a restore that fails after a socket file was replaced puts the old one back and leaves no new one (nothing half-restored)" {
	checkpoint_kill uxecho stream "$T/srv.sock"
	kids
	local ino
	ino=$(stat -c %i "$T/srv.sock")
	# the conversation's name, on both its ends, where a file is
	fds_of "$PID" | sed "/ listen=0 /s| addr=$T/srv.sock | addr=$T/taken |" >"$T/fds.p"
	fds_of "$C" | sed "s| peer=$T/srv.sock peer_ino=[1-9]| peer=$T/taken&|; s|taken peer=$T/srv.sock|taken|" >"$T/fds.c"
	grep -q " peer=$T/taken peer_ino=" "$T/fds.c"
	img edit "$T/img" "proc/$PID/fds" "$T/fds.p" >"$T/bad1"
	img edit "$T/bad1" "proc/$C/fds" "$T/fds.c" >"$T/bad"
	echo data >"$T/taken"
	thaw_fails "fd 5: unix socket " "$T/bad"
	[[ $stderr == *"bind $T/taken: its path is there and is not a socket (left alone)"* ]]
	[ "$(stat -c %i "$T/srv.sock")" = "$ino" ]
	[ "$(cat "$T/taken")" = data ]
	! ls -a "$T" | grep -q '\.ckpt-'
	dead "$C"
}

# refused_at_checkpoint MESSAGE: ckpt-freeze --kill $PID fails (exit
# 1) with MESSAGE (grep -E) on stderr, and kills nothing
refused_at_checkpoint() {
	local rc=0 p
	"$BIN/ckpt-freeze" --kill "$PID" >/dev/null 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -Eq "$1" "$T/err"
	grep -q "^ckpt-freeze: pid $PID: not killed: it runs on" "$T/err"
	for p in "$PID" "${KIDS[@]}"; do alive "$p"; done
}

@test "unixsock: a connection from outside the job waiting in a listener's backlog: refused at the checkpoint, naming the listener and the outside client" {
	need ckpt-run ckpt-freeze
	start_prog uxpy.py listen "$T/l.sock"
	"$PYTHON" -c 'import socket, sys, time
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
print("in", flush=True)
time.sleep(60)' "$T/l.sock" >"$T/c.out" &
	KIDS+=("$!")
	wait_line "$T/c.out" '^in' 10
	refused_at_checkpoint "^ckpt-freeze: pid $PID fd [0-9]+: listening unix socket [0-9]+ \($T/l.sock\) has a connection waiting in its backlog from socket [0-9]+, fd [0-9]+ of pid $!, a process outside the job: a restore could not make it again: refused$"
}

@test "unixsock: bytes sent on a connection not accepted yet: refused at the checkpoint, naming the client socket" {
	need ckpt-run ckpt-freeze
	start_prog uxpy.py early "$T/e.sock"
	kids
	refused_at_checkpoint "^ckpt-freeze: pid $C fd [0-9]+: unix socket [0-9]+ has sent bytes on a connection not accepted yet \(in the backlog of socket [0-9]+\): nothing can read them back without accepting it: refused$"
}

@test "unixsock: not root: a throwaway user's server and client on a path come back in a new user and pid namespace, the waiting connection too" {
	need_root
	throwaway_user cku
	TMPDIRS+=("/tmp/ckpt-uxecho-$$-$BATS_TEST_NUMBER.sock")
	user_thaw_ns uxecho stream /tmp/ckpt-uxecho-$$-$BATS_TEST_NUMBER.sock
	local c
	c=$(pgrep -P "$prog")
	KIDS+=("$c")
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/$c/status"
	[ "$(stat -c %U "/tmp/ckpt-uxecho-$$-$BATS_TEST_NUMBER.sock")" = "$NEW_USER" ]
	verify_prog "$prog" "$D/out"
	grep -qx 'child round 1 ok got 20' "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err"
	grep -qx 'parent round 2 ok got 60' "$D/out"
	grep -q '^done ok' "$D/out"
	! grep -q '^FAIL' "$D/out"
}

@test "unixsock: a datagram socket connected to a server outside the job (as syslog's /dev/log): connected to the name again at the restore; the server gets what it sends after" {
	need_root
	need ckpt-run ckpt-freeze ckpt-thaw
	"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("up", flush=True)
while True:
	print(s.recv(100).decode(), flush=True)' "$T/log.sock" >"$T/log.out" &
	KIDS+=("$!")
	wait_line "$T/log.out" '^up' 10
	start_prog uxpy.py dgclient "$T/log.sock"
	wait_line "$T/log.out" '^one' 10
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	fds_of "$PID" | grep -q " type=dgram .* peer=$T/log.sock "
	thaw_bg "$T/img"
	restored python3
	finish
	wait_line "$T/log.out" '^two' 10
}

@test "unixsock: a datagram socket connected to a server outside the job with messages from it queued: refused at the checkpoint, naming both" {
	need ckpt-run ckpt-freeze
	"$PYTHON" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("up", flush=True)
data, frm = s.recvfrom(100)
s.sendto(b"answer", frm)
print("answered", flush=True)
time.sleep(60)' "$T/srv.sock" >"$T/srv.out" &
	local srv=$!
	KIDS+=("$srv")
	wait_line "$T/srv.out" '^up' 10
	start_prog uxpy.py dgbound "$T/srv.sock"
	wait_line "$T/srv.out" '^answered' 10
	refused_at_checkpoint "^ckpt-freeze: pid $PID fd [0-9]+: unix socket [0-9]+ has messages queued from socket [0-9]+ \($T/srv.sock\), fd [0-9]+ of pid $srv, a process outside the job: they could not be sent again from there: refused$"
}

@test "unixsock: fds in flight (SCM_RIGHTS) on a connection through a named listener, and messages queued with SCM_CREDENTIALS to a named datagram socket: refused at the checkpoint, naming the pid, fd and socket" {
	need ckpt-run ckpt-freeze
	start_prog uxpy.py inflight "$T/i.sock"
	kids
	refused_at_checkpoint "^ckpt-dumpfds: pid $PID fd [0-9]+: unix socket [0-9]+ has fds in flight \(SCM_RIGHTS\) queued: a restore could not bring them back: refused$"
	start_prog uxpy.py passcred "$T/p.sock"
	kids
	refused_at_checkpoint "^ckpt-dumpfds: pid $PID fd [0-9]+: unix socket [0-9]+ has messages queued with their senders' credentials \(SO_PASSCRED, SCM_CREDENTIALS\)"
}

# socat_one: a first line through socat's client and server, back
socat_one() {
	echo one >"$T/in"
	wait_line "$T/client.out" '^one$' 10
}

@test "unixsock: socat as a unix socket server (UNIX-LISTEN,fork EXEC:cat) and socat as its client in one job: after the restore a line into the client comes back through the server, and a new client from outside is answered" {
	BEFORE_KILL=socat_one checkpoint_kill uxsocat "$T"
	thaw_bg "$T/img"
	restored uxsocat
	echo two >"$T/in"
	wait_line "$T/client.out" '^two$' 10
	[ "$(echo three | timeout 10 socat - UNIX-CONNECT:"$T/s.sock")" = three ]
	[ "$(cat "$T/client.out")" = "$(printf 'one\ntwo')" ]
	finish
}

# oneshot [unlink]: uxpy.py oneshot (its listener closed after its one
# accept, its path unlinked too with "unlink") checkpointed and
# restored; the conversation goes on
oneshot() {
	need_root
	need ckpt-run ckpt-freeze ckpt-thaw
	start_prog uxpy.py oneshot "$T/o.sock" "$@"
	kids
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	dead "$C"
	! fds_of "$PID" | grep -q ' listen=1 '
	thaw_bg "$T/img"
	restored python3
	alive "$C"
}

@test "unixsock: a server that closed its listener after its one accept (the socket file left): the conversation comes back through a listener bound for the while, and the path is as it was" {
	oneshot
	[ -S "$T/o.sock" ]
	finish
}

@test "unixsock: the same, the server having unlinked the path: no socket file is left by the restore" {
	oneshot unlink
	[ ! -e "$T/o.sock" ]
	! ls -a "$T" | grep -q '\.ckpt-'
	finish
}

@test "unixsock: the restored server and client checkpointed and restored again: the names, the backlog and the queues come back a second time" {
	checkpoint_kill uxecho stream "$T/srv.sock"
	kids
	thaw_bg "$T/img"
	restored uxecho
	verify_prog
	freeze_ok "$T/img2" --kill "$PID"
	wait "$TPID" 2>/dev/null || true
	dead "$PID"
	dead "$C"
	fds_of "$PID" "$T/img2" | grep -q " listen=1 addr=$T/srv.sock .* backlog=8 "
	thaw_bg "$T/img2"
	restored uxecho
	verify_prog
	finish
	grep -qx 'parent round 3 ok got 80' "$OUT"
	grep -qx 'child round 3 ok got 80' "$OUT"
}

@test "unixsock: a connection waiting in a listener's backlog whose client has since closed it: refused at the checkpoint (what it sent waits unread in the server's end)" {
	need ckpt-run ckpt-freeze
	start_prog uxpy.py listen "$T/l.sock"
	"$PYTHON" -c 'import socket, sys
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
c.sendall(b"bye")' "$T/l.sock"
	refused_at_checkpoint "^ckpt-freeze: pid $PID fd [0-9]+: listening unix socket [0-9]+ \($T/l.sock\) has a connection waiting in its backlog whose client has closed it: what it sent could not be read back without accepting it: refused$"
}

@test "unixsock: a client bound to a name of its own (its conversation and its waiting connection): both ends' names come back, the client's file too" {
	checkpoint_kill uxecho stream "$T/srv.sock" bound
	kids
	fds_of "$PID" | grep -q " listen=0 addr=$T/srv.sock peer=$T/srv.sock.c .* accepted=1 "
	fds_of "$C" | grep -q " addr=$T/srv.sock.c peer=$T/srv.sock .* accepted=0 "
	fds_of "$C" | grep -q " addr=$T/srv.sock.w peer=$T/srv.sock .* listener="
	rm -f "$T/srv.sock.c"
	thaw_bg "$T/img"
	restored uxecho
	[ -S "$T/srv.sock.c" ] && [ -S "$T/srv.sock.w" ]
	verify_prog
	verify_prog
	finish
}

# A stream connection to a server outside the job has the policy TCP to
# outside has by default (formats/fds.md, "Named unix sockets")
@test "unixsock: a client connected to a server outside the job comes back reset: the answer queued to it first, then ECONNRESET, and it connects again" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	"$PYTHON" "$CKPT_ROOT/t/progs/pongsrv.py" "$T/pong.sock" >"$T/pong.out" 2>"$T/pong.err" 3>&- 4>&- &
	KIDS+=("$!")
	wait_line "$T/pong.out" '^ready pongsrv'
	start_prog uxretry.py "$T/pong.sock"
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	tar xOf "$T/img" ckpt/manifest | grep -x "sockout [0-9]*"
	thaw_bg "$T/img"
	restored python3
	verify_prog
	cat "$OUT"
	grep -qx 'answer pong 1' "$OUT"
	[ "$(grep -c '^lost' "$OUT")" = 1 ]
	grep -qx 'lost: ECONNRESET' "$OUT"
	grep -qx 'connected 2' "$OUT"
	verify_prog
	grep -qx 'answer pong 2' "$OUT"
	grep -qx 'conn 2' "$T/pong.out"
	finish
}
