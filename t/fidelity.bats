#!/usr/bin/env bats
# Kernel state that a restore used to get wrong without a word, leaving
# the program blocked forever (issue 17, "Fidelity"): a program
# (t/progs/fid_prog.c) sets the state, ckpt-freeze --kill checkpoints
# it, ckpt-thaw restores it, and on SIGTERM the program checks the state
# itself and says "done ok" or "FAIL ...".  Runs as root (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	thaw_teardown
}

@test "fidelity: a periodic timerfd that expired unread comes back with its tick pending, still armed" {
	checkpoint_kill fid_prog timerfd
	[[ $(fdline timerfd) == *" ticks=1 "*" interval=1000.000000000 "* ]]
	thaw_bg "$T/img"
	restored fid_prog
	finish
	grep -qx 'timer ticks=1 interval=1000 armed=1' "$OUT"
}

@test "fidelity: a timerfd left unread for many periods is recorded with all of them, and the program reads them" {
	checkpoint_kill fid_prog missed
	local ticks
	ticks=$(fdline timerfd | tr ' ' '\n' | sed -n 's/^ticks=//p')
	echo "ticks=$ticks"
	[ "$ticks" -ge 5 ]
	thaw_bg "$T/img"
	restored fid_prog
	finish
	grep -qx 'missed ticks>=5' "$OUT"
}

@test "fidelity: bytes queued both ways in a unix stream socketpair come back, and nothing more" {
	checkpoint_kill fid_prog stream
	[[ $(fdline socket) == *" data=socks/"* ]]
	thaw_bg "$T/img"
	restored fid_prog
	finish
	grep -qx 'stream b=from-a:0123456789 a=from-b' "$OUT"
}

@test "fidelity: datagrams queued in a unix dgram socketpair come back one by one, their boundaries kept" {
	checkpoint_kill fid_prog dgram
	thaw_bg "$T/img"
	restored fid_prog
	finish
	grep -qx 'dgram msgs=3 lens=1,7,300' "$OUT"
}

@test "fidelity: a stream socketpair shut down for writing keeps its queued bytes, then gives its end of file" {
	checkpoint_kill fid_prog shut
	[[ $(fdline socket) == *" shutdown="[123]" "* ]]
	thaw_bg "$T/img"
	restored fid_prog
	finish
	grep -qx 'shut b=tail-bytes eof=1 epipe=1' "$OUT"
}

@test "fidelity: read-only private regions with pages written through /proc/self/mem come back with them, read-only and not charged to the commit (no ac)" {
	mkdir "$T/d"
	checkpoint_kill fid_mem roforce "$T/d"
	thaw_bg "$T/img"
	restored fid_mem
	verify_prog
	finish
	cat "$OUT"
	grep -qx 'roforce anon=forced-anon file=forced-file ac=0' "$OUT"
}

@test "fidelity: a private map of a deleted file the process holds open comes back a map of that file at its offset, the pages it changed on top (it was anonymous memory)" {
	mkdir "$T/d"
	checkpoint_kill fid_mem gonemap "$T/d"
	thaw_bg "$T/img"
	restored fid_mem
	verify_prog
	grep " $T/d/g (deleted)\$" "/proc/$PID/maps"
	finish
	cat "$OUT"
	grep -qx 'gonemap file=1 off=1000 bytes=changed,g' "$OUT"
}

@test "fidelity: a private map of a deleted file no fd holds comes back a map of a deleted file of its name at its offset, every page as it was (it was anonymous memory)" {
	mkdir "$T/d"
	checkpoint_kill fid_mem gonenofd "$T/d"
	thaw_bg "$T/img"
	restored fid_mem
	verify_prog
	grep " $T/d/g (deleted)\$" "/proc/$PID/maps"
	[ -z "$(ls -A "$T/d")" ]
	finish
	cat "$OUT"
	grep -qx 'gonemap file=1 off=1000 bytes=changed,g' "$OUT"
}

@test "fidelity: a private map of a deleted file whose directory is gone by the restore comes back anonymous memory, every page as it was, as before" {
	mkdir "$T/d"
	checkpoint_kill fid_mem gonenofd "$T/d"
	rm -rf "$T/d"
	# the file is lost (procstate.c's known entry): its bytes are not
	thaw_bg "$T/img"
	restored fid_mem
	local a
	a=$(awk '$1 == "map" {print $2}' "$OUT")
	grep "^${a#0x}-" "/proc/$PID/maps"
	grep -Eq "^${a#0x}-[0-9a-f]+ rw-p 00000000 00:00 0 *\$" "/proc/$PID/maps"
	[ "$(python3 -c 'import sys; f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2], 16)); print(f.read(7).decode(), chr(f.read(4096)[4089]))' "/proc/$PID/mem" "$a")" = "changed g" ]
	kill -KILL "$PID"
	wait "$TPID" || true
}

@test "fidelity: fds in flight in a socketpair are refused at the checkpoint, naming the fd, and the program runs on" {
	need ckpt-run ckpt-freeze
	start_prog fid_prog inflight
	local rc=0
	"$BIN/ckpt-freeze" --kill "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -Eq "ckpt-dumpfds: pid $PID fd [0-9]+: unix socket [0-9]+ has fds in flight \(SCM_RIGHTS\)" "$T/err"
	grep -q "ckpt-freeze: pid $PID: not killed: it runs on" "$T/err"
	alive "$PID"
	# the peek left the message and its fd in place
	verify_prog "$PID" "$OUT"
	grep -qx 'inflight fds=1' "$OUT"
}
