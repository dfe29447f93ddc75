#!/usr/bin/env bats
# --tcp-established, the hostile images (issue 13): in repair mode
# bind(2) takes any port, whoever holds it, and root's privileges would
# pass the kernel's own checks, so root's ckpt-thaw first asks the
# kernel whether the job's user could bind the connection's local
# address (a socket made and bound as that user): an image of a user's
# job cannot make a connection from a port below 1024, from an address
# this machine does not have, or from a port another user's socket
# holds (to speak as that server).  The attacker: a user (ckr<n>)
# whose job's image says so; root restores it as that user.  And the
# keeper that holds a killed job's connections until the restore
# (lib/tcpkeep.h) lets go for root only: the job's user cannot free
# the addresses early, so that the peer's next segment is reset.
# Programs: t/progs/tcpcount.c, t/progs/tcppeer.py.

load helpers
load thaw
load inet
load tcprepair

# user_job: tcpcount of a throwaway user, connected to a peer outside
# the job (root's tcppeer.py on 127.0.0.1:PORT), checkpointed by root
# with --kill --tcp-established into $T/img; fd 3 is the connection
user_job() {
	need ckpt-run ckpt-freeze ckpt-thaw prog:tcpcount
	need_root
	user_conversation
	CKPT_SOCKDIR=$D/sock freeze_ok "$T/img" --kill --tcp-established "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	fds_of "$PID" | grep "^fd 3 .* addr=127.0.0.1:[0-9]* peer=127.0.0.1:$PORT .* repair=1 "
}

# local_addr ADDR: $T/bad, the image with fd 3's local address ADDR
local_addr() {
	fds_edit "$PID" "s/^\(fd 3 .*\) addr=127.0.0.1:[0-9]* peer=/\1 addr=$1 peer=/"
	grep -q "^fd 3 .* addr=$1 peer=" "$T/fds.bad"
}

@test "a user's image whose repaired connection is from a port below 1024: refused (the user could not bind it)" {
	user_job
	low_port
	local_addr "127.0.0.1:$LOW"
	thaw_fails "pid $PID: fd 3: tcp socket 127.0.0.1:$LOW: its local address, which a repaired connection takes: permission denied" --tcp-established "$T/bad"
	[ -z "$(ss -Htan "sport = :$LOW")" ]
}

@test "a user's image whose repaired connection is from an address this machine does not have: refused" {
	user_job
	local_addr "192.0.2.7:$((PORT + 1))"
	thaw_fails "pid $PID: fd 3: tcp socket 192.0.2.7:$((PORT + 1)): its local address, which a repaired connection takes: address not available" --tcp-established "$T/bad"
}

@test "a user's image whose repaired connection is from a port root's server holds: refused (no speaking as that server)" {
	user_job
	holder "$((PORT + 1))"
	local_addr "127.0.0.1:$((PORT + 1))"
	thaw_fails "its local address, which a repaired connection takes: in use by another socket" --tcp-established "$T/bad"
	# and the genuine image comes back, the conversation goes on
	thaw_bg --tcp-established "$T/img"
	restored tcpcount
	say talk 1 2
	peer_says '^talked 1 2'
	[ "$(stat -c %U "/proc/$PID")" = "$NEW_USER" ]
}

@test "a hostile image's repair keys: unsent above sendq, an mss of 0, queued bytes of the wrong length: each refused by name" {
	user_job
	fds_edit "$PID" 's/^\(fd 3 .*\) unsent=0 /\1 unsent=5 /'
	thaw_fails "its unsent= is more than its sendq=" --tcp-established "$T/bad"
	fds_edit "$PID" 's/^\(fd 3 .*\) mss=[0-9]* /\1 mss=0 /'
	thaw_fails "its mss= is not one TCP has" --tcp-established "$T/bad"
	fds_edit "$PID" 's/^\(fd 3 .*\) recvq=0 /\1 recvq=4 /'
	thaw_fails "its queued bytes (data=): not recvq= + sendq= bytes" --tcp-established "$T/bad"
}

@test "the keeper of a killed job's connection lets go for root only: the job's user cannot free its addresses to reset the peer" {
	user_conversation
	say drip 1500 2
	sleep 0.5
	CKPT_SOCKDIR=$D/sock freeze_ok "$T/img" --kill --tcp-established "$PID"
	wait "$PID" 2>/dev/null || true
	local_addr=$(fds_of "$PID" | sed -n 's/^fd 3 .* addr=\([0-9.:]*\) peer=.*/\1/p')
	# the user asks the keeper (its abstract socket) to let go
	run as_user "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect("\0ckpt-tcpkeep %s 127.0.0.1:%s" % (sys.argv[1], sys.argv[2]))
s.settimeout(2)
print("answer %r" % s.recv(1))' "$local_addr" "$PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == "answer b''" ]]
	sleep 1
	# still kept: the peer's segments met silence, and the restore goes on
	thaw_bg --tcp-established "$T/img"
	restored tcpcount
	peer_says '^dripped 1500'
	wait_line "$OUT" '^(drip ok 1500|FAIL)' 10
	grep -q '^drip ok 1500' "$OUT"
}
