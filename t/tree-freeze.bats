#!/usr/bin/env bats
# ckpt-freeze of a whole job (issue 12): every process of the tree in
# one stream, frozen as one cut, and the shim's fork handling under
# checkpoints.  Restores of trees: the thaw side's tests.

load helpers

setup() {
	ckpt_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	ckpt_teardown
}

@test "fork under back-to-back checkpoints: no child keeps its parent's control socket or connection" {
	need ckpt-run ckpt-freeze prog:forksock
	start_prog forksock
	local i fails=0
	# every connection is accepted and closed by the parent's control
	# thread while the main thread forks: a child whose fd table was
	# copied in between held the parent's connection (1 fork in 200)
	for ((i = 0; i < 300; i++)); do
		"$BIN/ckpt-freeze" --force "$PID" >/dev/null 2>>"$T/freeze.err" || fails=$((fails + 1))
	done
	[ "$fails" -eq 0 ] || { cat "$T/freeze.err" >&2; false; }
	wait_past "$OUT" forks 1000 20
	verify_prog
	kill -TERM "$PID"
	wait_bounded "$PID" 10
	grep -qx 'done ok' "$OUT"
	no_fail
}
