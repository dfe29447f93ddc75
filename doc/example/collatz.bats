#!/usr/bin/env bats
# collatz.bats - what a user's own test of their program looks like:
# collatz.py must give the same output with checkpoints and restores in
# the middle of its run as without.  Run it with
#     bats doc/example/collatz.bats
# once ckpt is installed (or with the build tree's bin/ first in PATH).

load "$(ckpt-run --bats-helper)"

teardown() {
	ckpt_teardown
}

@test "collatz survives a checkpoint and restore halfway" {
	ckpt_roundtrip python3 "$BATS_TEST_DIRNAME/collatz.py"
}

@test "collatz survives three checkpoints at random moments" {
	ckpt_random 3 python3 "$BATS_TEST_DIRNAME/collatz.py"
}

@test "step by step: start, wait for a line, checkpoint, kill, restore, finish" {
	ckpt_start python3 "$BATS_TEST_DIRNAME/collatz.py" 200
	ckpt_wait_output '^100 '
	ckpt_checkpoint "$BATS_TEST_TMPDIR/img.tar" --kill
	ckpt_restore "$BATS_TEST_TMPDIR/img.tar"
	ckpt_wait_restored
	[ "$CKPT_STATUS" -eq 0 ]
	[ "$(tail -n 1 "$CKPT_OUT")" = "total 8418" ]
	[ "$(wc -l <"$CKPT_OUT")" -eq 201 ]
}
