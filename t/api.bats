#!/usr/bin/env bats
# api.bats - include/ckpt.h, the program's side (ckpt(3)): without the
# shim it does nothing; under it a program's hooks run around each
# checkpoint (checkpoint, then resume; checkpoint, then restore after a
# restore), in the order added, once each, on the shim's control
# thread, not in a signal handler; a checkpoint that fails resumes too.

load helpers
load thaw

# hooks_are EVENT...: the hook lines of $OUT, events only, are these
# (each for hook 1 then hook 2)
hooks_are() {
	local want="" e
	for e in "$@"; do want+="hook 1 $e"$'\n'"hook 2 $e"$'\n'; done
	sed -n 's/^\(hook [12] [a-z]*\) tid=.*/\1/p' "$OUT" >"$T/hooks"
	cat "$T/hooks"
	[ "$(cat "$T/hooks")" = "${want%$'\n'}" ]
	# never the main thread, never on a signal stack
	! grep '^hook' "$OUT" | grep -v "handler=0\$"
	! grep -q "tid=$PID " "$OUT"
}

# wait_hooks N: until $OUT has N hook lines (10 s)
wait_hooks() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c '^hook ' "$OUT")" -ge "$1" ] && return 0
		sleep 0.02
	done
	echo "wait_hooks: $(grep -c '^hook ' "$OUT") hook lines, not $1" >&2
	return 1
}

@test "without the shim: ckpt_running() is 0 and ckpt_hook does nothing" {
	need prog:apihooks
	"$PROGS/apihooks" >"$T/out" 3>&- 4>&- &
	local p=$!
	wait_line "$T/out" '^ready ' 10
	kill -TERM "$p"
	wait "$p"
	grep -qx 'running 0' "$T/out"
	grep -q '^done ok .* hooks=0$' "$T/out"
}

@test "under the shim: checkpoint, then resume, in the order added, for each checkpoint" {
	need ckpt-run ckpt-freeze prog:apihooks
	start_prog apihooks
	grep -qx 'running 1' "$OUT"
	freeze_ok "$T/img" "$PID"
	wait_hooks 4
	freeze_ok "$T/img" "$PID"
	wait_hooks 8
	verify_prog
	hooks_are checkpoint resume checkpoint resume
	grep -q '^verify ok .* hooks=8$' "$OUT"
}

@test "a checkpoint that fails (its stream cannot be written) resumes the program's hooks too" {
	need ckpt-run ckpt-freeze prog:apihooks
	start_prog apihooks
	run --separate-stderr bash -c '"$0" "$1" >/dev/full' "$BIN/ckpt-freeze" "$PID"
	echo "$stderr"
	[ "$status" -eq 1 ]
	wait_hooks 4
	hooks_are checkpoint resume
}

@test "after --kill and a restore: checkpoint, then restore, never resume" {
	KEY=ready checkpoint_kill apihooks
	thaw_bg "$T/img"
	restored apihooks
	wait_hooks 4
	hooks_are checkpoint restore
	finish
}
