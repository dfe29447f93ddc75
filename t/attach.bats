#!/usr/bin/env bats
# attach.bats - ckpt-attach loads the shim into programs started
# without ckpt-run (a C program, python3), which then checkpoint,
# die, restore and run on; and what it refuses: a program with the
# shim already, one already traced, another user's, a pid that is not
# there, each named, the program unharmed.

load helpers
load thaw

# start_plain PROG ARGS: PROG started without ckpt-run (PID, OUT, ERR)
start_plain() {
	local name=$1
	shift
	OUT=$T/$name.out
	ERR=$T/$name.err
	case $name in
	*.py) "$PYTHON" "$CKPT_ROOT/t/progs/$name" "$@" >"$OUT" 2>"$ERR" 3>&- 4>&- & ;;
	*) "$PROGS/$name" "$@" >"$OUT" 2>"$ERR" 3>&- 4>&- & ;;
	esac
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready ' 30
	! grep -q libckpt "/proc/$PID/maps"
}

# attach_ok: ckpt-attach $PID, silently
attach_ok() {
	stream_ok ckpt-attach "$T/attach.out" "$PID"
	grep -q '/libckpt.so$' "/proc/$PID/maps"
}

# around PROG ARGS: start PROG plainly, attach, let it tick, checkpoint
# it with --kill, restore it, let it tick past where it was, end it
around() {
	need ckpt-attach ckpt-freeze ckpt-thaw "prog:$1"
	need_root
	start_plain "$@"
	wait_past "$OUT" tick 2 30
	attach_ok
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick $((n + 2)) 20
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	n=$(last_num "$OUT" tick)
	thaw_bg "$T/img"
	wait_past "$OUT" tick $((n + 3)) 30
	finish
}

@test "a C program started without ckpt-run: attached, checkpointed, killed, restored, and it counts on" {
	around counter -i 20
}

@test "python3 started without ckpt-run: attached, checkpointed, killed, restored, and it counts on" {
	PROGS=$CKPT_ROOT/t/progs around counter.py -i 20
}

@test "refused, the program unharmed: the shim already there, a pid that is not there, a program already traced" {
	need ckpt-run ckpt-attach prog:counter
	start_prog counter
	run --separate-stderr "$BIN/ckpt-attach" "$PID"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ckpt-attach: pid $PID: has the shim already" ]
	run --separate-stderr "$BIN/ckpt-attach" "$(free_pid)"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-attach: pid "*": No such process" ]]
	# a tracer is there first (the test's own seize, as a debugger's)
	start_plain counter -i 20
	"$PYTHON" -c '
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), 0, 0) != 0:   # PTRACE_SEIZE
    sys.exit("seize failed")
print("seized", flush=True)
time.sleep(3)' "$PID" >"$T/tracer" &
	local tracer=$!
	wait_line "$T/tracer" '^seized' 10
	run --separate-stderr "$BIN/ckpt-attach" "$PID"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ckpt-attach: pid $PID: ptrace: Operation not permitted" ]
	! grep -q libckpt "/proc/$PID/maps"
	wait "$tracer"
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick $((n + 2)) 20
	alive "$PID"
	no_fail "$OUT" "$ERR"
}

@test "another user's program: refused (ptrace), it runs on without the shim" {
	need ckpt-attach prog:counter
	need_root
	other_user
	throwaway_user ckat
	PROG_DIR=$(mktemp -d /tmp/ckpt-attach-XXXXXX)
	TMPDIRS+=("$PROG_DIR")
	chmod 0777 "$PROG_DIR"
	OUT=$PROG_DIR/c.out
	setpriv --reuid=ckpttest --regid=ckpttest --clear-groups "$PROGS/counter" -i 20 >"$OUT" 2>&1 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready ' 20
	run --separate-stderr setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		"$BIN/ckpt-attach" "$PID"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ckpt-attach: pid $PID: not yours (uid $(id -u ckpttest)): refused" ]
	! grep -q libckpt "/proc/$PID/maps"
	alive "$PID"
}

@test "as a user, on the user's own program: attached, checkpointed, restored in a new namespace" {
	need ckpt-attach ckpt-freeze ckpt-thaw prog:counter
	need_root
	throwaway_user ckat
	local u=$NEW_USER
	export CKPT_SOCKDIR
	CKPT_SOCKDIR=$(mktemp -d /tmp/ckpt-attach-sock-XXXXXX)
	TMPDIRS+=("$CKPT_SOCKDIR")
	chown "$u:" "$CKPT_SOCKDIR"
	PROG_DIR=$(mktemp -d /tmp/ckpt-attach-XXXXXX)
	TMPDIRS+=("$PROG_DIR")
	chown "$u:" "$PROG_DIR"
	OUT=$PROG_DIR/c.out
	install -o "$u" -m 0644 /dev/null "$OUT"   # the restore reopens it as the user
	setpriv --reuid="$u" --regid="$u" --init-groups "$PROGS/counter" -i 20 >"$OUT" 2>&1 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_past "$OUT" tick 2 20
	setpriv --reuid="$u" --regid="$u" --init-groups "$BIN/ckpt-attach" "$PID"
	(exec setpriv --reuid="$u" --regid="$u" --init-groups "$BIN/ckpt-freeze" --kill "$PID") \
		>"$PROG_DIR/img"
	wait "$PID" 2>/dev/null || true
	local n
	n=$(last_num "$OUT" tick)
	setpriv --reuid="$u" --regid="$u" --init-groups "$THAW" "$PROG_DIR/img" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	in_new_ns || { cat "$T/thaw.err"; false; }
	wait_past "$OUT" tick $((n + 3)) 20
	kill -TERM "$prog"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
}
