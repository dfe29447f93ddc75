#!/usr/bin/env bats
# POSIX timers (timer_create, issue 17): checkpointed with --kill and
# restored with the same ids, clocks, notifications (a signal with its
# sigev_value, a thread of the program), times left and periods; the
# program checks its own timers (t/progs/ptimers.c) and /proc/PID/timers
# shows the same list from outside.  As root (the old pids), as root
# restoring a throwaway user's program, and as that user alone (a new
# user and pid namespace).

load helpers
load thaw

setup() { thaw_setup; }
teardown() { thaw_teardown; }

# timers_of PID: /proc/PID/timers, pids and tids as seen from inside
# (the program's own "pid" and "worker" lines say which)
timers_of() {
	cat "/proc/$1/timers"
}

# first_ticks: past A's and C's first expiry (20 and 30 ms)
first_ticks() {
	sleep 0.1
}

# the member the checkpoint wrote, for $PID, and the ids it holds
member_ok() {
	local m
	m=$(img cat "$T/img" "proc/$PID/timers")
	echo "$m"
	[ "$(echo "$m" | wc -l)" = 3 ]
	[[ $m == *"timer 0 1 signal 34 0x5eed "*" 0.020000000 0"* ]]
	[[ $m == *"timer 1 0 signal 35 0xfa2 "*" 0.000000000 0"* ]]
	[[ $m == *"timer 3 1 tid=$(awk '/^worker/ {print $2}' "$OUT") 36 0x7d "*" 0.030000000 0"* ]]
}

@test "ptimers: ids, clocks, signals, values, the thread target and the periods come back" {
	checkpoint_kill ptimers
	grep -qx "ids 0 1 3" "$OUT"
	member_ok
	thaw_bg "$T/img"
	restored ptimers
	timers_of "$PID" >"$T/after"
	cat "$T/after"
	grep -c '^ID:' "$T/after" | grep -qx 3
	grep -q "^notify: signal/tid.$(awk '/^worker/ {print $2}' "$OUT")" "$T/after"
	verify_prog
	grep '^timers' "$OUT"
	finish
}

@test "ptimers: a timer's times left come back as recorded, not counting the time between" {
	checkpoint_kill ptimers
	sleep 1.5
	thaw_bg "$T/img"
	restored ptimers
	verify_prog
	# B was an hour ahead: after the checkpoint and 1.5 s, still 3599 s
	# left (3598 on a slow machine), as recorded
	grep -Eq '^timers .* left=359[89]$' "$OUT"
	finish
}

@test "ptimers: a timer's signal pending at the checkpoint comes back with the timer's siginfo" {
	BEFORE_KILL=first_ticks checkpoint_kill ptimers pending
	# SIGRTMIN (34) pending for the process
	img cat "$T/img" "proc/$PID/core" | grep -x 'sigpending 0x0000000200000000'
	thaw_bg "$T/img"
	restored ptimers
	verify_prog
	finish
}

@test "ptimers: timers on the process's CPU clock and on a named thread's come back on those clocks" {
	checkpoint_kill ptimers cpu
	thaw_bg "$T/img"
	restored ptimers
	cat "/proc/$PID/timers"
	grep -qx 'ClockID: -6' "/proc/$PID/timers"
	grep -qx "ClockID: $(awk '/^cpuclock/ {print $2}' "$OUT")" "/proc/$PID/timers"
	verify_prog
	finish
}

@test "ptimers: a timer on the CPU clock of a thread the kernel does not name is refused; the program runs on" {
	need ckpt-run ckpt-freeze prog:ptimers
	start_prog ptimers threadclock
	freeze_refused "POSIX timer 0: on the CPU clock of the thread that made it (clock -2), which the kernel does not name, in a process of several threads: cannot be restored"
}

@test "ptimers: a timer the image makes signal a thread it does not have is refused, no process" {
	checkpoint_kill ptimers
	img cat "$T/img" "proc/$PID/timers" | sed 's/ tid=[0-9]* / tid=99999 /' >"$T/timers"
	img edit "$T/img" "proc/$PID/timers" "$T/timers" >"$T/bad"
	thaw_fails "the timer signals a thread the image does not have" "$T/bad"
}

@test "ptimers: root restores a throwaway user's timers as that user" {
	throwaway_user cklow
	user_checkpoint_kill ptimers
	member_ok
	thaw_bg "$T/img"
	restored ptimers
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/$PID/status"
	grep -c '^ID:' "/proc/$PID/timers" | grep -qx 3
	verify_prog
	finish
}

@test "ptimers: not root: a throwaway user's timers come back in a new user and pid namespace" {
	throwaway_user cklow
	user_thaw_ns ptimers
	grep -c '^ID:' "/proc/$prog/timers" | grep -qx 3
	verify_prog "$prog" "$D/out"
	grep '^timers' "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err"
	grep -q '^done ok' "$D/out"
}
