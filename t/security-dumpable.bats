#!/usr/bin/env bats
# security-dumpable.bats - a process that is not dumpable (a daemon that
# dropped from root to a user with setuid: the kernel lets only
# CAP_SYS_PTRACE read its memory, and makes its /proc files root's),
# attacked by the user it now runs as (issue 17).  Run as root: each
# test makes a throwaway user (prefix ckg) and plays it with setpriv.
#
# Who is trusted: the kernel.  The user's ckpt-freeze asks it
# (/proc/PID/mem is root's) and refuses before it connects; the shim
# serves only root while the process is not dumpable, so a client of
# the user's own gets nothing (no record, no memory, no fds the daemon
# opened as root); root's ckpt-freeze opens /proc/PID/mem itself, which
# the kernel lets it, and takes the uid and the dumpable flag from the
# kernel, not from the shim.

load helpers
load thaw

setup() {
	thaw_setup
	ATTACK=$CKPT_ROOT/t/attacker.py
}

teardown() {
	thaw_teardown
}

# a dropper (t/progs/dropper.c) started as root, now NEW_USER's; the
# files the user may reach in D
dropped_daemon() {
	need_root
	throwaway_user ckg
	U=$(id -u "$NEW_USER")
	user_dir
	CLEANUP+=("/tmp/ckpt-$U")
	PROG_OWNER=$NEW_USER PROG_DIR=$D start_prog dropper "$U"
}

# user_freeze PID: the user's own ckpt-freeze of PID, its own socket
# directory unset (it looks where the process says, then its default)
user_freeze() {
	run --separate-stderr setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		env -u CKPT_SOCKDIR ASAN_OPTIONS="$ASAN_OPTIONS" sh -c '"$1" --kill "$2" >/dev/null' _ \
		"$BIN/ckpt-freeze" "$1"
	echo "exit $status; stderr: $stderr"
}

@test "the user a daemon dropped to cannot checkpoint it: refused, naming why, and the daemon runs on" {
	dropped_daemon
	user_freeze "$PID"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ckpt-freeze: pid $PID: not dumpable (it dropped from root, or runs a setuid or setcap program): only root may checkpoint it
ckpt-freeze: pid $PID: not killed: it runs on" ]
	alive "$PID"
	verify_prog
}

@test "restored by root, the daemon's shim in the user's directory serves root only: the user's tools and a raw client get nothing" {
	dropped_daemon
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	thaw_bg "$T/img"
	restored dropper
	# the restored shim listens in the user's own directory
	[ -S "/tmp/ckpt-$U/$PID.sock" ]
	user_freeze "$PID"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: not dumpable"*"only root may checkpoint it"* ]]
	# a client of the user's own talks to the shim directly
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		"$PYTHON" "$ATTACK" client "/tmp/ckpt-$U/$PID.sock" hello read >"$T/client.out" 2>&1 || true
	cat "$T/client.out"
	grep -qx connected "$T/client.out"
	! grep -q '^hello pid' "$T/client.out" || false
	grep -q "refused a connection from uid $U: the process is not dumpable, only root may checkpoint it" "$ERR"
	: >"$ERR"
	alive "$PID"
	verify_prog
	# root still may
	freeze_ok "$T/img2" "$PID"
	verify_prog
	finish
}

@test "a process of the user's own that made itself not dumpable is refused to the user, and root records it as the kernel shows it" {
	need_root
	throwaway_user ckg
	U=$(id -u "$NEW_USER")
	user_dir
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D start_prog dropper "$U"
	user_freeze "$PID"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: not dumpable"* ]]
	CKPT_SOCKDIR=$D/sock freeze_ok "$T/img" "$PID"
	img cat "$T/img" "proc/$PID/core" >"$T/core"
	grep -qx "uid $U $U $U $U" "$T/core"
	grep -qx 'dumpable 0' "$T/core"
	verify_prog
}
