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
