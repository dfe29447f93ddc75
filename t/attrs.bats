#!/usr/bin/env bats
# Process attributes a restore sets again (issue 17, "Process
# attributes"): oom_score_adj, loginuid, THP disable and the
# child-subreaper flag, each checked by the program itself
# (t/progs/rst_attrs.c) and from outside in /proc; and a recorded value
# the restore cannot set fails the restore, naming it, with no process
# left.  Runs as root (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	thaw_teardown
}

# core_has LINE: the image's core records LINE
core_has() {
	img cat "$T/img" "proc/$PID/core" | grep -qx "$1"
}

# outside_ok OOM LOGINUID: what the kernel shows of $PID from outside
outside_ok() {
	echo "oom_score_adj $(cat "/proc/$PID/oom_score_adj"), loginuid $(cat "/proc/$PID/loginuid"), $(grep THP_enabled "/proc/$PID/status")"
	[ "$(cat "/proc/$PID/oom_score_adj")" = "$1" ]
	[ "$(cat "/proc/$PID/loginuid")" = "$2" ]
	grep -q '^THP_enabled:[[:space:]]*0$' "/proc/$PID/status"
}

@test "attrs: oom_score_adj 300, THP disable, child subreaper and loginuid come back" {
	checkpoint_kill rst_attrs 300
	lu=$(awk '/^loginuid/ {print $2}' "$OUT")
	core_has "oom-score-adj 300"
	core_has "loginuid $lu"
	core_has "thp-disable 1"
	core_has "child-subreaper 1"
	thaw_bg "$T/img"
	restored rst_attrs
	outside_ok 300 "$lu"
	verify_prog
	finish
}

@test "attrs: THP disabled except where advised comes back as that mode" {
	checkpoint_kill rst_attrs 300 - 3
	core_has "thp-disable 3"
	thaw_bg "$T/img"
	restored rst_attrs
	verify_prog
	finish
}

@test "attrs: a loginuid set since login comes back where ckpt-thaw's own is another" {
	[ "$(cat /proc/self/loginuid)" != 4242 ] || skip "our own loginuid is 4242"
	checkpoint_kill rst_attrs 250 4242
	core_has "loginuid 4242"
	thaw_bg "$T/img"
	restored rst_attrs
	outside_ok 250 4242
	verify_prog
	finish
}

@test "attrs: a restore that cannot lower oom_score_adj (no CAP_SYS_RESOURCE) fails naming it, and leaves no process" {
	! capsh --has-p=cap_sys_resource 2>/dev/null || skip "we have CAP_SYS_RESOURCE: lowering would work"
	checkpoint_kill rst_attrs 300
	img cat "$T/img" "proc/$PID/core" | sed 's/^oom-score-adj .*/oom-score-adj -500/' >"$T/core"
	img edit "$T/img" "proc/$PID/core" "$T/core" >"$T/bad"
	thaw_fails "pid $PID: oom_score_adj -500: cannot set it (lowering it needs CAP_SYS_RESOURCE)" "$T/bad"
}

@test "attrs: a restore that may not change a set loginuid (no CAP_AUDIT_CONTROL) fails naming it, and leaves no process" {
	# no CAP_AUDIT_CONTROL in the program, so that its image asks for
	# none either
	PROG_PRE="setpriv --bounding-set -audit_control" checkpoint_kill rst_attrs 300 4243
	# ckpt-thaw with a loginuid of its own (4244) and without
	# CAP_AUDIT_CONTROL: the image's cannot replace it
	run --separate-stderr timeout -s TERM 30 sh -c 'echo 4244 >/proc/self/loginuid && exec setpriv --bounding-set -audit_control "$@"' sh "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: loginuid 4243: cannot set it"* ]]
	dead "$PID"
}

@test "attrs: an oom-score-adj out of range, or a thp-disable 2, in an image is refused" {
	checkpoint_kill rst_attrs 300
	for v in 1001 -1001 -0 +5 0x10; do
		img cat "$T/img" "proc/$PID/core" | sed "s/^oom-score-adj .*/oom-score-adj $v/" >"$T/core"
		img edit "$T/img" "proc/$PID/core" "$T/core" >"$T/bad"
		thaw_fails "malformed oom-score-adj" "$T/bad"
	done
	img cat "$T/img" "proc/$PID/core" | sed "s/^thp-disable .*/thp-disable 2/" >"$T/core"
	img edit "$T/img" "proc/$PID/core" "$T/core" >"$T/bad"
	thaw_fails "malformed thp-disable (0, 1 or 3)" "$T/bad"
}

@test "attrs: root restores another uid's process: its attributes come back before the ids change" {
	throwaway_user cks8
	user_checkpoint_kill rst_attrs 300 4245
	thaw_bg "$T/img"
	restored rst_attrs
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/$PID/status"
	outside_ok 300 4245
	verify_prog
	finish
}

@test "attrs: not root: restored in a new user and pid namespace with its attributes" {
	throwaway_user cks8
	user_thaw_ns rst_attrs 400
	PID=$prog
	outside_ok 400 "$(awk '/^loginuid/ {print $2}' "$D/out")"
	verify_prog "$prog" "$D/out"
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err"
	grep -q '^done ok' "$D/out"
}

# user_prog LOGINUID: rst_attrs 300 LOGINUID as a throwaway user,
# checkpointed with --kill to $T/img
user_prog() {
	throwaway_user cks8
	user_checkpoint_kill rst_attrs 300 "$1"
}

@test "attrs: root does not take a lower oom_score_adj from another user's image" {
	user_prog 4248
	img cat "$T/img" "proc/$PID/core" | sed 's/^oom-score-adj .*/oom-score-adj -500/' >"$T/core"
	img edit "$T/img" "proc/$PID/core" "$T/core" >"$T/bad"
	chown "$NEW_USER:" "$T/bad"
	thaw_fails "owned by uid $(id -u "$NEW_USER"), but its core claims oom_score_adj -500, below ours (" "$T/bad"
}

@test "attrs: root does not take another loginuid from another user's image once its own is set" {
	user_prog 4247
	chown "$NEW_USER:" "$T/img"
	run --separate-stderr timeout -s TERM 30 sh -c 'echo 4246 >/proc/self/loginuid && exec "$@"' sh "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"owned by uid $(id -u "$NEW_USER"), but its core claims loginuid 4247, not ours (4246)"* ]]
	dead "$PID"
}
