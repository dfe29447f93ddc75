#!/usr/bin/env bats
# --tcp-established (issue 13): as root, a TCP connection to a peer
# outside the job is saved with TCP_REPAIR and made again whole, so
# that the peer (t/progs/tcppeer.py, a python3 of ours, never under
# ckpt-run) and the job (t/progs/tcpcount.c) go on with the same
# conversation, no byte lost or repeated, with the bytes that were in
# flight each way at the checkpoint.

load helpers
load thaw
load inet
load tcprepair

# job_conversation ADDR [RCVBUF [JOBADDR]]: tcpcount connected to the
# peer on ADDR (as JOBADDR, when given), three numbers talked; PID, OUT
job_conversation() {
	free_ports
	need_root
	peer listen "$1" "$PORT" ${2:-}
	start_prog tcpcount connect "${3:-$1}" "$PORT"
	wait_line "$T/peer.out" '^ready tcppeer'
	say talk 1 3
	peer_says '^talked 1 3'
}

# killed_repaired: ckpt-freeze --kill --tcp-established of the job into
# $T/img, its pid free again
killed_repaired() {
	freeze_ok "$T/img" --kill --tcp-established "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
}

# checkpoint_repair: ckpt-freeze --kill --tcp-established, then (after
# GAP seconds) the restore in the background
checkpoint_repair() {
	killed_repaired
	sleep "${GAP:-0}"
	fds_of "$PID" | grep ' repair=1 '
	thaw_bg --tcp-established "$T/img"
	restored tcpcount
}

# talk_to_end: three more numbers, then the end of the conversation
talk_to_end() {
	say talk 4 6
	peer_says '^talked 4 6'
	say quit
	peer_says '^eof'
}

# goes_on_live: the job that was not killed (our child) goes on to its end
goes_on_live() {
	talk_to_end
	wait "$PID"
	grep -q '^done ok' "$OUT"
}

# goes_on: the same conversation, then its end
goes_on() {
	talk_to_end
	grep -q '^done ok' "$OUT"
	[ "$(grep -c '^got ' "$OUT")" = "$(grep -c '^got [0-9]' "$OUT")" ]
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
}

# key K [IMG]: the number after K= on fd 3's line
key() {
	fds_of "$PID" "${2:-$T/img}" | sed -n "s/^fd 3 .* $1=\([0-9]*\) .*/\1/p"
}

@test "a connection to a peer outside the job comes back whole after --kill: the conversation goes on" {
	job_conversation 127.0.0.1
	checkpoint_repair
	fds_of "$PID" | grep " peer=127.0.0.1:$PORT state=established .* repair=1 snd_seq=[0-9]* rcv_seq=[0-9]* sendq=[0-9]* unsent=0 recvq=0 mss=[0-9]* wscale=[0-9]*,[0-9]* sack=1 tsval=[0-9]* window="
	say talk 4 6
	peer_says '^talked 4 6'
	# the restored socket goes on from the old one: its sequence numbers
	# moved by the 6 bytes each way since ("4\n5\n6\n", "5\n6\n7\n"), its
	# timestamp clock by the seconds since (TCP_TIMESTAMP: the peer's
	# PAWS check drops a segment whose timestamp went back)
	freeze_ok "$T/img2" --tcp-established "$PID"
	[ $((($(key snd_seq "$T/img2") - $(key snd_seq)) & 0xffffffff)) = 6 ]
	[ $((($(key rcv_seq "$T/img2") - $(key rcv_seq)) & 0xffffffff)) = 6 ]
	ts=$((($(key tsval "$T/img2") - $(key tsval)) & 0xffffffff))
	echo "timestamp clock moved by $ts"
	[ "$ts" -gt 0 ] && [ "$ts" -lt 60000 ]
	say quit
	peer_says '^eof'
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
	# every number once, in order, across the restore
	[ "$(grep '^got' "$OUT" | tr -d 'got \n')" = 123456 ]
}

# flight_both_ways ADDR: the bytes in flight each way come, once
flight_both_ways() {
	job_conversation "$1" 4096
	in_flight
	checkpoint_repair
	fds_of "$PID" | grep ' repair=1 .* unsent=[1-9][0-9]* recvq=6 .* data=socks/'
	"$BIN/ckpt-show" "$T/img" | grep " 3 socket .*a TCP connection to .*:$PORT outside the job, made again whole with TCP_REPAIR ([1-9][0-9]* and 6 bytes queued to send and to read) by ckpt-thaw --tcp-established, else reset"
	say blob 200000
	say expect 11
	say expect 12
	peer_says '^got 12'
	grep -q '^blob ok 200000' "$T/peer.out"
	goes_on
	[ "$(grep '^got' "$OUT" | tr -d 'got \n')" = 1231011456 ]
}

@test "bytes in flight both ways at the checkpoint come once, in order, after the restore (IPv4)" {
	flight_both_ways 127.0.0.1
}

@test "bytes in flight both ways at the checkpoint come once, in order, after the restore (IPv6)" {
	flight_both_ways ::1
	fds_of "$PID" | grep -q " domain=inet6 .* peer=\[::1\]:$PORT .* repair=1 "
}

@test "an inet6 socket's connection to an IPv4 peer (v4-mapped addresses) comes back whole" {
	job_conversation 127.0.0.1 "" ::ffff:127.0.0.1
	checkpoint_repair
	fds_of "$PID" | grep "^fd 3 .* domain=inet6 .* addr=\[::ffff:127.0.0.1\]:[0-9]* peer=\[::ffff:127.0.0.1\]:$PORT .* repair=1 "
	goes_on
}

@test "the peer sends all along, while the job is checkpointed, killed and restored: every line comes once, in order" {
	job_conversation 127.0.0.1
	say drip 1500 2
	sleep 0.5
	# the peer's segments while the checkpoint reads the queues, and
	# between the kill and the restore (two seconds: its retransmissions)
	# meet silence: none is acknowledged and lost, none is reset
	GAP=2 checkpoint_repair
	peer_says '^dripped 1500'
	wait_line "$OUT" '^(drip ok 1500|FAIL)' 10
	grep -q '^drip ok 1500' "$OUT"
	goes_on
}

@test "a megabyte queued to the job at the checkpoint comes back whole (the member socks/INODE)" {
	job_conversation 127.0.0.1
	# a large transfer first: the job's receive buffer grows, as a busy
	# program's does; then a megabyte it does not read yet
	say give 8000000
	wait_line "$OUT" '^took 8000000 ok'
	say send sleep 2
	wait_line "$OUT" '^sleeping'
	say give 1000000
	peer_says '^gave 1000000'
	checkpoint_repair
	# what the job's window took (most of it; the rest waits in the
	# peer's send queue, its window probes meeting the keeper's silence)
	fds_of "$PID" | grep ' repair=1 .* data=socks/'
	echo "queued to the job: $(key recvq) bytes"
	# more than a new socket's window (64 KiB); how far past it depends
	# on how much the kernel grew the job's buffer during the transfer
	# (98304 bytes in one CI run: not grown at all)
	[ "$(key recvq)" -gt 65536 ]
	[ "$(tar tvf "$T/img" | awk -v m="proc/$PID/socks/" 'index($6, m) == 1 {print $3}')" = \
		$(($(key recvq) + $(key sendq))) ]
	wait_line "$OUT" '^took 1000000 ok'
	goes_on
}

@test "its pid taken at the restore: restored in a new pid namespace (the same network namespace), the conversation goes on" {
	job_conversation 127.0.0.1
	killed_repaired
	hold_pid "$PID"
	thaw_bg --tcp-established "$T/img"
	in_new_ns
	talk_to_end
	grep -q '^done ok' "$OUT"
}

@test "ckpt-freeze --kill piped straight into ckpt-thaw (the old socket still there as the restore begins): the conversation goes on" {
	job_conversation 127.0.0.1
	("$BIN/ckpt-freeze" --kill --tcp-established "$PID" | "$THAW" --tcp-established) 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	# the old job, our child: reaped once killed, so that its pid is free
	wait "$PID" 2>/dev/null || true
	talk_to_end
	wait_line "$OUT" '^done ok' 10
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
	[ "$(grep '^got' "$OUT" | tr -d 'got \n')" = 123456 ]
}

@test "its addresses still a connection's at the restore (the first restore runs on): refused, naming them; the first goes on" {
	job_conversation 127.0.0.1
	checkpoint_repair
	run --separate-stderr timeout 30 "$THAW" --tcp-established "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"fd 3: tcp socket 127.0.0.1:"*": its local address, which a repaired connection takes: in use by another socket"* ]]
	goes_on
}

@test "a listener and the connection it accepted from a client outside the job come back; the client goes on" {
	free_ports
	need_root
	start_prog tcpcount accept 127.0.0.1 "$PORT"
	peer connect 127.0.0.1 "$PORT"
	wait_line "$T/peer.out" '^ready tcppeer'
	wait_line "$OUT" '^accepted'
	say talk 1 3
	peer_says '^talked 1 3'
	checkpoint_repair
	fds_of "$PID" | grep "^fd 3 .* addr=127.0.0.1:$PORT state=listen "
	fds_of "$PID" | grep "^fd 4 .* addr=127.0.0.1:$PORT peer=127.0.0.1:[0-9]* state=established .* repair=1 "
	# the listener is back too
	ss -Hltn "sport = :$PORT" | grep -q LISTEN
	goes_on
}

# segs_now: the segments the peer has received so far (its next
# segs_in line)
segs_now() {
	local n i
	n=$(grep -c '^segs_in' "$T/peer.out" || true)
	say segs
	for ((i = 0; i < 250; i++)); do
		[ "$(grep -c '^segs_in' "$T/peer.out")" -gt "$n" ] && break
		sleep 0.02
	done
	last_num "$T/peer.out" segs_in
}

@test "a checkpoint without --kill: the peer receives no segment, the conversation goes on" {
	job_conversation 127.0.0.1
	# the count once it holds still: the job's delayed ack of the
	# peer's last bytes may come a moment after "talked"
	local prev=-1 i
	for ((i = 0; i < 10; i++)); do
		before=$(segs_now)
		[ "$before" = "$prev" ] && break
		prev=$before
		sleep 0.3
	done
	[ "$before" = "$prev" ]
	freeze_ok "$T/img" --tcp-established "$PID"
	fds_of "$PID" | grep ' repair=1 '
	sleep 0.5
	[ "$(segs_now)" = "$before" ]
	goes_on_live
}

@test "a socket with a filter of its own: the checkpoint is refused, naming it, before --kill; the conversation goes on" {
	job_conversation 127.0.0.1
	say send filter
	wait_line "$OUT" '^filtered'
	run --separate-stderr "$BIN/ckpt-freeze" --kill --tcp-established "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"fd 3: TCP connection "*" (--tcp-established): a filter dropping what comes meanwhile (SO_ATTACH_FILTER): it has a socket filter of its own"* ]]
	[[ $stderr == *"not killed: it runs on"* ]]
	alive "$PID"
	# out of repair mode, not killed: it answers
	goes_on_live
}

@test "without --tcp-established at the restore, a repaired image's connection comes back reset (the default)" {
	job_conversation 127.0.0.1
	killed_repaired
	thaw_bg "$T/img"
	# its first read after the restore: ECONNRESET, and it exits 1
	wait_line "$OUT" '^FAIL read' 10
	grep -q 'FAIL read: Connection reset by peer' "$OUT"
	thaw_wait 1
}

@test "unprivileged: --tcp-established is refused before --kill fires, and the job runs on" {
	need ckpt-run ckpt-freeze prog:tcpcount
	user_conversation
	run --separate-stderr as_user env CKPT_SOCKDIR="$D/sock" "$BIN/ckpt-freeze" --kill --tcp-established "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"--tcp-established: the kernel refuses TCP_REPAIR (it needs CAP_NET_ADMIN: run as root)"* ]]
	[[ $stderr == *"not killed"* ]]
	[ -z "$output" ]
	alive "$PID"
	run --separate-stderr as_user "$BIN/ckpt-thaw" --tcp-established /dev/null
	[ "$status" -eq 1 ]
	[[ $stderr == *"--tcp-established: the kernel refuses TCP_REPAIR"* ]]
	say talk 1 2
	peer_says '^talked 1 2'
}

# half_closed_repaired STATE: the connection checkpointed half closed
# (its fd line in STATE, repaired) with --kill, and restored
half_closed_repaired() {
	killed_repaired
	fds_of "$PID" | grep "^fd 3 socket .* state=$1 .* repair=1 "
	thaw_bg --tcp-established "$T/img"
	restored tcpcount
}

@test "half closed by the job (shutdown SHUT_WR, fin_wait1/2): restored whole, the peer's bytes still come to it, no reset" {
	job_conversation 127.0.0.1
	say send shutwr
	wait_line "$OUT" '^shut'
	say readeof
	peer_says '^eof'
	# fin_wait1 until the peer's ack of our FIN came (it may wait, as a
	# delayed ack): both are repaired
	half_closed_repaired 'fin_wait[12]'
	fds_of "$PID" | grep '^fd 3 .* fin=1'
	say send 7
	wait_line "$OUT" '^got 7'
	say send quit
	wait_line "$OUT" '^done ok'
	thaw_wait 0
	! grep -q '^FAIL' "$T/peer.out"
	no_fail "$OUT" "$T/thaw.err"
}

@test "half closed by the peer (close_wait): restored whole, the job reads the end again and its answer reaches the peer" {
	job_conversation 127.0.0.1
	say shutwr
	peer_says '^shut'
	wait_line "$OUT" '^peer shut'
	half_closed_repaired close_wait
	kill -USR1 "$PID"
	say expect bye
	peer_says '^got bye'
	wait_line "$OUT" '^done ok'
	grep -q '^eof again' "$OUT"
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
}

# keeper_holds: a keeper (ckpt-tcpkeep) holds this test's connection
keeper_holds() {
	ss -Htanp "( sport = :$PORT or dport = :$PORT )" | grep -q '"ckpt-tcpkeep"'
}

@test "--tcp-keep 2: the keeper lets go of the connection after two seconds, not 300; --tcp-keep without --kill and --tcp-established is a usage error" {
	job_conversation 127.0.0.1
	freeze_ok "$T/img" --kill --tcp-established --tcp-keep 2 "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	keeper_holds
	local i
	# its end comes by whole seconds (1 to 3 s after it began)
	for ((i = 0; i < 50; i++)); do
		keeper_holds || break
		sleep 0.1
	done
	echo "let go after about $i tenths of a second"
	! keeper_holds
	[ "$i" -ge 5 ]
	run "$BIN/ckpt-freeze" --tcp-established --tcp-keep 2 "$$"
	[ "$status" -eq 2 ] && [[ $output == *"--tcp-keep: only with --tcp-established and --kill"* ]]
	run "$BIN/ckpt-freeze" --kill --tcp-keep 2 "$$"
	[ "$status" -eq 2 ]
	run "$BIN/ckpt-freeze" --kill --tcp-established --tcp-keep 0 "$$"
	[ "$status" -eq 2 ]
}
