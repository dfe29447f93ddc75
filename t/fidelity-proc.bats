#!/usr/bin/env bats
# Process state that a restore used to lose or refuse (issue 17, the
# process items): guard pages (MADV_GUARD_INSTALL), the siginfo of
# pending signals, an rseq area the program registered itself, a daemon
# that dropped root.  Each program (t/progs/) sets the state, is
# checkpointed with --kill, restored, and checks itself.  Runs as root
# (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	thaw_teardown
}

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
