#!/usr/bin/env bats
# restore-again.bats - a job ckpt-thaw restored in a pid namespace of
# its own (not root; or its pids were taken) is checkpointed again from
# outside by its outer pid: ckpt-freeze joins its namespaces (lib/nsjoin.c)
# and writes the pids the job knows, so that the image restores again
# and the job goes on.  Root never enters a namespace its user owns.

load helpers
load thaw

# user_sockdir USER: a socket directory USER owns, in CKPT_SOCKDIR
user_sockdir() {
	export CKPT_SOCKDIR
	CKPT_SOCKDIR=$(mktemp -d /tmp/ckpt-again-sock-XXXXXX)
	TMPDIRS+=("$CKPT_SOCKDIR")
	chown "$1:" "$CKPT_SOCKDIR"
}

# as_user CMD...: CMD as $U (exec'd: a background as_user's pid is CMD's)
as_user() {
	exec setpriv --reuid="$U" --regid="$U" --init-groups env ASAN_OPTIONS="$ASAN_OPTIONS" "$@"
}

# ticks_past N: the counter's output gets 3 ticks past tick N
ticks_past() {
	wait_past "$OUT" tick $(($1 + 2)) 20
}

# user_restored: a counter of a throwaway user ($U), checkpointed with
# --kill by that user and restored by that user in new user and pid
# namespaces (TPID; its outer pid in prog)
user_restored() {
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	need_root
	throwaway_user ckra
	U=$NEW_USER
	user_sockdir "$U"
	PROG_DIR=$(mktemp -d /tmp/ckpt-again-XXXXXX)
	TMPDIRS+=("$PROG_DIR")
	chown "$U:" "$PROG_DIR"
	PROG_USER=$U start_prog counter -i 20
	wait_past "$OUT" tick 3
	(as_user "$BIN/ckpt-freeze" --kill "$PID") >"$PROG_DIR/img1" 2>"$T/f1.err"
	wait "$PID" 2>/dev/null || true
	as_user "$THAW" "$PROG_DIR/img1" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	in_new_ns
}

@test "as a user: a job restored in a new user+pid namespace is checkpointed again by its pid outside, restored again, and counts on" {
	user_restored
	[ "$prog" != "$PID" ]
	ticks_past "$(last_num "$OUT" tick)"
	# again, by the pid it has out here
	(as_user "$BIN/ckpt-freeze" --kill "$prog") >"$PROG_DIR/img2" 2>"$T/f2.err" || {
		cat "$T/f2.err"
		false
	}
	[ ! -s "$T/f2.err" ]
	# the image holds the pids the job knows
	img cat "$PROG_DIR/img2" ckpt/manifest | grep -qx "root $PID"
	thaw_wait 137
	local n
	n=$(last_num "$OUT" tick)
	as_user "$THAW" "$PROG_DIR/img2" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	in_new_ns
	ticks_past "$n"
	kill -TERM "$prog"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

@test "as root: a job restored in a new pid namespace (its pid taken) is checkpointed again and restored at its pid" {
	KEY=tick checkpoint_kill counter -i 20
	# the pid taken by a program without the shim: the restore goes
	# into a namespace (a second restore of the same image would bind
	# the same socket name: doc/design.md, "A job in a pid namespace of
	# its own")
	hold_pid "$PID"
	thaw_bg "$T/img"
	in_new_ns
	[ "$prog" != "$PID" ]
	ticks_past "$(last_num "$OUT" tick)"
	freeze_ok "$T/again" --kill "$prog"
	img cat "$T/again" ckpt/manifest | grep -qx "root $PID"
	thaw_wait 137
	# the pid free again: back at it
	kill "$HOLDER"
	wait "$HOLDER" 2>/dev/null || true
	local n
	n=$(last_num "$OUT" tick)
	thaw_bg "$T/again"
	restored counter
	ticks_past "$n"
	finish
}

@test "root does not enter a namespace a user owns: a user's restored job is refused, named, and runs on" {
	user_restored
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$prog"
	echo "exit $status; $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $prog: runs in a user namespace of its own"*"checkpoint it as that user"* ]]
	[ -z "$output" ]
	alive "$prog"
	ticks_past "$(last_num "$OUT" tick)"
}
