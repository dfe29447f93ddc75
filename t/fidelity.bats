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

# fdline KIND: the first "fd N KIND" line of the image's fds member
fdline() {
	tar xOf "$T/img" "proc/$PID/fds" | grep -m1 "^fd [0-9]* $1 "
}

@test "fidelity: a periodic timerfd that expired unread comes back with its tick pending, still armed" {
	checkpoint_kill fid_prog timerfd
	[[ $(fdline timerfd) == *" ticks=1 "*" interval=1000.000000000 "* ]]
	thaw_bg "$T/img"
	restored fid_prog
	finish
	grep -qx 'timer ticks=1 interval=1000 armed=1' "$OUT"
}
