#!/usr/bin/env bats
# Unix socket pairs between the processes of a job (issue 12): a
# socketpair(2) whose ends are in two processes is checkpointed whole
# by ckpt-freeze --kill, the bytes queued each way saved once, and
# restored by ckpt-thaw as one socketpair again: every message arrives
# once, whole and in order, boundaries kept for dgram and seqpacket,
# shutdown kept, an end inherited by two processes one open file.  What
# cannot come back is refused at the checkpoint (fds in flight,
# SCM_CREDENTIALS, a datagram of no bytes, a pair with an end
# outside the job), and a hostile image is refused at the restore with
# no process left.  Programs: t/progs/sockpair.c, t/progs/sockpy.py,
# t/progs/peekoff.c.

load helpers
load thaw

setup() { kids_setup; }
teardown() { kids_teardown; }

# kids [OUT]: the "child N" pids the program printed, into KIDS and C
kids() {
	local c
	for c in $(awk '$1 == "child" && $2 ~ /^[0-9]+$/ {print $2}' "${1:-$OUT}"); do
		KIDS+=("$c")
	done
	C=${KIDS[0]:-}
}

# socks_once IMG: every socks/INODE member names a socket saved once in
# the whole stream, and only the first holder's lines carry data=
socks_once() {
	local dup
	dup=$(img list "$1" | awk -F/ '$3 == "socks" {print $4}' | sort | uniq -d)
	[ -z "$dup" ] || { echo "socks saved twice: $dup" >&2; return 1; }
	! tar xOf "$1" --wildcards 'proc/*/fds' | grep ' share=' | grep -q ' data='
}

# py_checkpoint_kill MODE: sockpy.py MODE under ckpt-run, then
# ckpt-freeze --kill of the whole job to $T/img; every process gone
py_checkpoint_kill() {
	need ckpt-run ckpt-freeze ckpt-thaw
	start_prog sockpy.py "$1"
	kids
	[ "$1" != mppipe ] || wait_line "$OUT" '^child sent' 10
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	for c in "${KIDS[@]}"; do dead "$c"; done
}

@test "sockpair: stream, dgram and seqpacket pairs between parent and child, bytes queued both ways: after --kill and restore every message arrives once, in order, boundaries kept" {
	BEFORE_KILL=verify_prog checkpoint_kill sockpair
	kids
	dead "$C"
	img check "$T/img"
	socks_once "$T/img"
	# the dgram and seqpacket ends in the child: their queues saved there
	[ "$(fds_of "$C" | grep -c ' type=\(dgram\|seqpacket\) .* data=socks/')" -eq 2 ]
	# the stream pair: both ends inherited, one open file each (share=)
	[ "$(fds_of "$C" | grep ' type=stream ' | grep -c " share=$PID:")" -eq 2 ]
	# the child's shut end of the last pair
	fds_of "$C" | grep -q ' type=stream .* shutdown=2 '
	thaw_bg "$T/img"
	restored sockpair
	alive "$C"
	verify_prog
	grep -qx 'child round 2 ok got 60' "$OUT"
	grep -qx 'parent round 2 ok got 60' "$OUT"
	finish
	grep -qx 'child round 3 ok got 120' "$OUT"
	grep -qx 'parent round 3 ok got 120' "$OUT"
}

@test "sockpair: Python multiprocessing.Pipe() between parent and child, objects queued both ways: each arrives once and in order after the restore" {
	need_root
	py_checkpoint_kill mppipe
	grep -qx 'child sent 40' "$OUT"
	img check "$T/img"
	socks_once "$T/img"
	[ "$(img list "$T/img" | grep -c "^proc/$PID/socks/")" -eq 2 ]
	thaw_bg "$T/img"
	restored python3
	alive "$C"
	finish
	grep -qx 'child got 40 ok' "$OUT"
}

@test "sockpair: not root: Python multiprocessing.Pipe() between parent and child comes back in a new user and pid namespace, every object once and in order" {
	need_root
	throwaway_user cksp
	user_thaw_ns sockpy.py mppipe
	KIDS+=("$(pgrep -P "$prog")")
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/${KIDS[0]}/status"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err" "$D/out"
	grep -qx 'child got 40 ok' "$D/out"
	grep -qx 'done ok' "$D/out"
	! grep -q '^FAIL' "$D/out"
}

@test "sockpair: a child whose fd 0 is its end of a pair with its parent (a subprocess's stdin): the job's pair, not ckpt-thaw's stdin; lines queued both ways come back" {
	need_root
	py_checkpoint_kill stdio
	fds_of "${KIDS[0]}" | grep -Eq '^fd 0 socket .* type=stream .* data=socks/'
	thaw_bg "$T/img" </dev/null
	restored python3
	alive "$C"
	finish
	grep -qx 'child stdin ok' "$OUT"
}

@test "sockpair: not root: the pairs of a throwaway user's job come back in a new user and pid namespace" {
	need_root
	throwaway_user cksp
	user_thaw_ns sockpair
	local c
	c=$(pgrep -P "$prog")
	KIDS+=("$c")
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/$c/status"
	verify_prog "$prog" "$D/out"
	grep -qx 'child round 1 ok got 30' "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err"
	grep -qx 'parent round 2 ok got 90' "$D/out"
	grep -qx 'child round 2 ok got 90' "$D/out"
	grep -q '^done ok' "$D/out"
	! grep -q '^FAIL' "$D/out"
}

# refused_at_checkpoint MESSAGE: ckpt-freeze --kill $PID fails (exit
# 1), its stderr has MESSAGE (grep -E) and says it did not kill; every
# process of the job runs on
refused_at_checkpoint() {
	local rc=0 p msg=$1
	shift
	"$BIN/ckpt-freeze" --kill "$@" "$PID" >/dev/null 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -Eq "$msg" "$T/err"
	grep -q "^ckpt-freeze: pid $PID: not killed: it runs on" "$T/err"
	for p in "$PID" "${KIDS[@]}"; do alive "$p"; done
}

@test "sockpair: fds in flight (SCM_RIGHTS) in a pair between two processes: refused at the checkpoint before --kill, naming the pid, fd and socket" {
	need ckpt-run ckpt-freeze
	start_prog sockpy.py inflight
	kids
	refused_at_checkpoint "^ckpt-dumpfds: pid $PID fd [0-9]+: unix socket [0-9]+ has fds in flight \(SCM_RIGHTS\) queued: a restore could not bring them back: refused$"
}

@test "sockpair: messages queued with SCM_CREDENTIALS (SO_PASSCRED): refused at the checkpoint, naming the pid, fd and socket" {
	need ckpt-run ckpt-freeze
	start_prog sockpy.py passcred
	kids
	refused_at_checkpoint "^ckpt-dumpfds: pid $PID fd [0-9]+: unix socket [0-9]+ has messages queued with their senders' credentials \(SO_PASSCRED, SCM_CREDENTIALS\)"
}

@test "sockpair: a pair whose other end was closed (the child wrote, then exited): its queue comes back, then the end of file" {
	need_root
	py_checkpoint_kill orphan
	[ "$(fds_of "$PID" | grep -c ' peer_ino=0 .* peer_closed=1 data=socks/')" -eq 2 ]
	thaw_bg "$T/img"
	restored python3
	finish
}

@test "sockpair: a socket that gets its senders' credentials (SO_PASSCRED), nothing queued: it still gets them after the restore" {
	need_root
	py_checkpoint_kill passcred-idle
	fds_of "$PID" | grep -Eq '^fd [0-9]+ socket .* type=dgram .* passcred=1 '
	thaw_bg "$T/img"
	restored python3
	finish
	grep -qx "creds pid=$C" "$OUT"
}

@test "sockpair: a datagram longer than the peek's buffer (300000 bytes, the sender's SO_SNDBUF raised) comes back whole, then the next one" {
	need_root
	py_checkpoint_kill bigdgram
	[ "$(img cat "$T/img" "proc/$PID/socks/$(sock_ino "$PID" 3)" | head -n 1)" = 300000 ]
	thaw_bg "$T/img"
	restored python3
	finish
}

@test "sockpair: a datagram of no bytes: refused at the checkpoint, naming the pid, fd and socket" {
	need ckpt-run ckpt-freeze
	start_prog sockpy.py emptydgram
	kids
	refused_at_checkpoint "^ckpt-dumpfds: pid $PID fd [0-9]+: unix socket [0-9]+ has a message queued that the peek cannot see \(a zero-length datagram\): refused$"
}

@test "sockpair: a pair with its other end in a process outside the job (--single): refused at the checkpoint, naming both ends" {
	need ckpt-run ckpt-freeze prog:sockpair
	start_prog sockpair
	kids
	refused_at_checkpoint "^ckpt-freeze: pid $PID fd [0-9]+: unix socket [0-9]+ is one end of a socket pair whose other end, socket [0-9]+, is fd [0-9]+ of pid $C, a process outside the job: a restore could not make the pair: refused$" --single
	verify_prog
}

# fds_edit PID SED: $T/img with PID's fds member through sed SED, as $T/bad
fds_edit() {
	fds_of "$1" | sed "$2" >"$T/fds"
	! cmp -s "$T/fds" <(fds_of "$1")
	img edit "$T/img" "proc/$1/fds" "$T/fds" >"$T/bad"
}

# sock_ino PID FD: the sock= of fd FD of PID in $T/img
sock_ino() {
	fds_of "$1" | awk -v fd="$2" '$1 == "fd" && $2 == fd {for (i = 3; i <= NF; i++) if ($i ~ /^sock=/) print substr($i, 6)}'
}

# no_job_left: no process of the image runs (a failed restore leaves none)
no_job_left() {
	local p
	for p in "$PID" "${KIDS[@]}"; do dead "$p"; done
}

@test "sockpair: hostile images: a pair whose ends do not cross, an end in no process, a socks member too long for the socket or not messages: exit 1, named, no process left" {
	checkpoint_kill sockpair
	kids
	local a b x s
	# the child's dgram end (fd 6) names the parent's seqpacket end
	a=$(sock_ino "$PID" 5)
	b=$(sock_ino "$C" 6)
	x=$(sock_ino "$PID" 7)
	fds_edit "$C" "/^fd 6 /s/ peer_ino=$a / peer_ino=$x /"
	thaw_fails "pid $C: fd 6: unix socket $b: its peer is socket $x, but socket $a names it as its peer: the two ends of a pair do not cross" "$T/bad"
	no_job_left
	# queued to the parent's stream end: more than a socket can hold
	# (a send buffer grows to twice net.core.wmem_max, no further)
	s=$(sock_ino "$PID" 3)
	head -c $((2 * $(cat /proc/sys/net/core/wmem_max) + 1048576)) /dev/zero >"$T/big"
	img edit "$T/img" "proc/$PID/socks/$s" "$T/big" >"$T/bad"
	thaw_fails "pid $PID: fd 3: unix socket $s: its queued bytes (socks/$s) no longer fit in the socket" "$T/bad"
	no_job_left
	# a dgram member whose length runs past its end
	printf '100\nabc' >"$T/short"
	img edit "$T/img" "proc/$C/socks/$b" "$T/short" >"$T/bad"
	thaw_fails "pid $C: fd 6: unix socket $b: member socks/$b is not its messages" "$T/bad"
	no_job_left
	# a socket that names itself as its peer
	fds_edit "$C" "/^fd 6 /s/ peer_ino=$a / peer_ino=$b /"
	thaw_fails "pid $C: fd 6: unix socket $b: its sock= and peer_ino= must name two sockets" "$T/bad"
	no_job_left
	# the child's dgram end is gone: the parent's has no peer in the job
	fds_edit "$C" "/^fd 6 /d"
	thaw_fails "pid $PID: fd 5: unix socket $a: its peer, socket $b, is no fd of any process of the job" "$T/bad"
	no_job_left
	# the untouched image restores
	thaw_bg "$T/img"
	restored sockpair
	finish
}

@test "sockpair: a hostile image with one socket of a pair owned in three processes (no share=): exit 1, named, no process left" {
	need_root
	py_checkpoint_kill three
	local c2=${KIDS[1]} fd a
	fd=$(fds_of "$c2" | awk "/ type=dgram .* share=$PID:/ {print \$2}")
	a=$(sock_ino "$c2" "$fd")
	fds_edit "$c2" "/^fd $fd /s/ share=$PID:[0-9]*//"
	thaw_fails "pid $c2: fd $fd: unix socket $a: already fd " "$T/bad"
	grep -q "of pid $PID: one socket is one open file, which another fd or process can only share (dup=, share=)" <<<"$stderr"
	no_job_left
}

@test "sockpair: a queue the program walks with a peek offset of its own (SO_PEEK_OFF at 10): a checkpoint leaves the offset where it was, and a restore brings every byte back (peekoff)" {
	need ckpt-run ckpt-freeze prog:peekoff
	start_prog peekoff
	freeze_ok "$T/img" "$PID"
	fds_of "$PID" | grep -Eq '^fd [0-9]+ socket .* type=stream .* rqueue=100 .* data=socks/'
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	grep -qx 'peeked 10' "$OUT"
	grep -qx 'verify ok' "$OUT"
	kill -TERM "$PID"
	need_root
	checkpoint_kill peekoff
	[ "$(img cat "$T/img" "proc/$PID/socks/$(sock_ino "$PID" 3)" | wc -c)" = 100 ]
	thaw_bg "$T/img"
	restored peekoff
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	grep -qx 'verify ok' "$OUT"
	finish
}
