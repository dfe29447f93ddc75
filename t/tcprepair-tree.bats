#!/usr/bin/env bats
# --tcp-established in a process tree (issues 12 and 13): a TCP
# connection to a peer outside the job, held by a child of the job's
# root, comes back whole in that child, and the tree with it.  The root
# is t/progs/subreap (its child t/progs/tcpcount, which holds the
# connection); the peer t/progs/tcppeer.py, outside the job.

load helpers
load thaw
load inet
load tcprepair

setup() {
	thaw_setup
}

# child_conversation: subreap -> tcpcount connected to the peer on
# 127.0.0.1:PORT, three numbers talked; PID the root, CHILD tcpcount
child_conversation() {
	free_ports
	need_root
	peer listen 127.0.0.1 "$PORT"
	# not start_prog: the "pid P" line is the child's
	OUT=$T/job.out ERR=$T/job.err
	"$RUN" -- "$PROGS/subreap" 5 "$PROGS/tcpcount" connect 127.0.0.1 "$PORT" \
		>"$OUT" 2>"$ERR" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready tcpcount'
	CHILD=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$OUT")
	[ -n "$CHILD" ]
	wait_line "$T/peer.out" '^ready tcppeer'
	say talk 1 3
	peer_says '^talked 1 3'
}

@test "a connection held by a child of the job comes back whole in that child after --kill, bytes in flight each way once" {
	child_conversation
	in_flight
	freeze_ok "$T/img" --kill --tcp-established "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	dead "$CHILD"
	# the connection is the child's, in the child's members
	fds_of "$CHILD" | grep " peer=127.0.0.1:$PORT state=established .* repair=1 "
	! fds_of "$PID" | grep -q " peer=127.0.0.1:$PORT "
	thaw_bg --tcp-established "$T/img"
	restored subreap
	[ "$(cat "/proc/$CHILD/comm")" = tcpcount ]
	[ "$(awk '{print $4}' "/proc/$CHILD/stat")" = "$PID" ]
	say blob 200000
	say expect 11
	say expect 12
	peer_says '^got 12'
	grep -q '^blob ok 200000' "$T/peer.out"
	say talk 4 6
	peer_says '^talked 4 6'
	say quit
	peer_says '^eof'
	# the child ends, the root reaps it and ends: ckpt-thaw's status
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	grep -qx 'left 0' "$OUT"
	[ "$(grep '^got' "$OUT" | tr -d 'got \n')" = 1231011456 ]
	no_fail "$OUT" "$T/thaw.err"
}

@test "--cow --tcp-established: the job, thawed before its dump ends, goes on with the peer, which drips all along; the image holds the repaired connection" {
	child_conversation
	say drip 500 2
	sleep 0.3
	freeze_ok "$T/img" --cow --tcp-established "$PID"
	fds_of "$CHILD" | grep " peer=127.0.0.1:$PORT state=established .* repair=1 snd_seq=[0-9]* "
	peer_says '^dripped 500'
	wait_line "$OUT" '^(drip ok 500|FAIL)' 10
	grep -q '^drip ok 500' "$OUT"
	say talk 4 6
	peer_says '^talked 4 6'
	say quit
	peer_says '^eof'
	wait "$PID"
	grep -q '^done ok' "$OUT"
	grep -qx 'left 0' "$OUT"
	no_fail "$OUT" "$ERR"
}
