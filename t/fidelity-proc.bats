#!/usr/bin/env bats
# Process state that a restore used to lose or refuse (issue 17, the
# process items): guard pages (MADV_GUARD_INSTALL), the siginfo of
# pending signals, an rseq area the program registered itself, a daemon
# that dropped root.  Each program (t/progs/) sets the state, is
# checkpointed with --kill, restored, and checks itself.  Runs as root
# (the old pids).

load helpers
load thaw   # its setup and teardown

# the guards lines of guardpg's region NAME (pages 2 and 5)
guard_lines() {
	local a
	a=$(region "$1")
	printf '%08x-%08x\n%08x-%08x\n' $((a + 2 * 4096)) $((a + 3 * 4096)) $((a + 5 * 4096)) $((a + 6 * 4096))
}

@test "guard pages, private and shared: recorded, never read, installed again; the pages around keep their bytes" {
	checkpoint_kill guardpg
	img cat "$T/img" "proc/$PID/guards" >"$T/guards"
	cat "$T/guards"
	{ guard_lines guard; guard_lines sguard; } | sort >"$T/want"
	diff "$T/want" "$T/guards"
	thaw_bg "$T/img"
	restored guardpg
	verify_prog
	finish
}

@test "a daemon that dropped root: root checkpoints it, restores it with its uid and not dumpable, and checkpoints it again" {
	need_root
	throwaway_user ckg
	local uid
	uid=$(id -u "$NEW_USER")
	user_dir
	# the restored shim binds in its uid's directory (root's is out of reach)
	CLEANUP+=("/tmp/ckpt-$uid")
	PROG_OWNER=$NEW_USER PROG_DIR=$D checkpoint_kill dropper "$uid"
	img cat "$T/img" "proc/$PID/core" >"$T/core"
	grep -qx "uid $uid $uid $uid $uid" "$T/core"
	grep -qx 'dumpable 0' "$T/core"
	thaw_bg "$T/img"
	restored dropper
	verify_prog
	[ "$(stat -c %u "/proc/$PID/mem")" = 0 ]
	freeze_ok "$T/img2" "$PID"
	verify_prog
	finish
}

@test "--cow of a daemon that dropped root is refused, naming why (its snapshot may not open its memory), and it runs on" {
	need_root
	need ckpt-run ckpt-freeze prog:dropper
	throwaway_user ckg
	user_dir
	PROG_OWNER=$NEW_USER PROG_DIR=$D start_prog dropper "$(id -u "$NEW_USER")"
	run --separate-stderr "$BIN/ckpt-freeze" --cow "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: not dumpable: its snapshot, pid "*", may not open its own memory; checkpoint it without --cow"* ]]
	alive "$PID"
	verify_prog
}

@test "signals queued and blocked come back queued, each with its siginfo and count: the process's, a thread's, from kill and sigqueue" {
	checkpoint_kill sigq
	img cat "$T/img" "proc/$PID/core" | grep -c '^siginfo ' >"$T/n.core"
	img cat "$T/img" "proc/$PID/threads" | grep -c '^siginfo ' >"$T/n.threads"
	# the process's five (SIGUSR2, four of SIGRTMIN+2), the main thread's
	# one, the second thread's two
	[ "$(cat "$T/n.core")" = 5 ]
	[ "$(cat "$T/n.threads")" = 3 ]
	thaw_bg "$T/img"
	restored sigq
	verify_prog
	finish
	[ "$(grep -c '^sigq process usr2=kill:child rt+2 values=101,102,103,104:child$' "$OUT")" -ge 3 ]
	[ "$(grep -c '^sigq thread rt+3 values=201,202$' "$OUT")" -ge 3 ]
}

# the rseq line of thread TID in the image's threads member
rseq_line() {
	img cat "$T/img" "proc/$PID/threads" | awk -v t="$1" '$1 == "thread" {on = $2 == t} on && $1 == "rseq"'
}

@test "rseq areas the program registered itself (glibc registered none): the kernel's address in the image, registered again in each thread" {
	PROG_PRE="env GLIBC_TUNABLES=glibc.pthread.rseq=0" checkpoint_kill rseqmine
	local main_area
	main_area=$(awk '/^area main/ {print $3}' "$OUT")
	rseq_line "$PID"
	[ "$(rseq_line "$PID")" = "rseq $main_area 32 0x53053053" ]
	img cat "$T/img" "proc/$PID/threads" | grep -x "rseq $(awk '/^area thread/ {print $3}' "$OUT") 32 0x53053053"
	thaw_bg "$T/img"
	restored rseqmine
	verify_prog
	finish
}

@test "an rseq area of the program's own in place of glibc's comes back registered" {
	checkpoint_kill rseqown
	thaw_bg "$T/img"
	restored rseqown
	verify_prog
	finish
}

@test "not root: a throwaway user's queued signals come back with their siginfo in a new user and pid namespace" {
	throwaway_user ckg
	user_thaw_ns sigq
	verify_prog "$prog" "$D/out"
	grep -q '^sigq process usr2=kill:child rt+2 values=101,102,103,104:child$' "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err"
	grep -q '^done ok' "$D/out"
	[ "$(grep -c '^sigq thread rt+3 values=201,202$' "$D/out")" -ge 3 ]
}

@test "not root: a throwaway user's own rseq area comes back registered in a new user and pid namespace" {
	throwaway_user ckg
	user_thaw_ns rseqown
	verify_prog "$prog" "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err"
	grep -q '^done ok' "$D/out"
}
