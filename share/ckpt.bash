# ckpt.bash - checkpoint and restore in your own bats tests.
#
#     load "$(ckpt-run --bats-helper)"
#     teardown() { ckpt_teardown; }
#
#     @test "my program survives a checkpoint" {
#         ckpt_roundtrip ./my-program --its-args
#     }
#
# ckpt-bats(7) says what each function does; doc/example/ is a whole
# suite.  Every function works as root (restores at the old pids when
# they are free) and as any user (restores in a new user+pid
# namespace).  Everything a test started is killed by ckpt_teardown,
# even when the test failed half-way.

# the tools beside this file once installed ($PREFIX/share/ckpt/ ->
# $PREFIX/bin), or $CKPT_BIN, or $PATH
if [ -z "${CKPT_BIN:-}" ]; then
	CKPT_BIN=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../bin" 2>/dev/null && pwd)
	[ -x "$CKPT_BIN/ckpt-run" ] || CKPT_BIN=$(dirname "$(command -v ckpt-run)")
fi
CKPT_JOBS=()       # pids ckpt_start started
CKPT_THAWS=()      # ckpt-thaw pids ckpt_restore started
CKPT_N=0

# the test's own directory for images, outputs and sockets
_ckpt_dir() {
	if [ -z "${CKPT_DIR:-}" ]; then
		CKPT_DIR=$(mktemp -d "${BATS_TEST_TMPDIR:-${TMPDIR:-/tmp}}/ckpt.XXXXXX")
		export CKPT_SOCKDIR=$CKPT_DIR/sock
		mkdir -m 0700 "$CKPT_SOCKDIR"
	fi
}

_ckpt_fail() {
	echo "ckpt.bash: $*" >&2
	return 1
}

# ckpt_start CMD...: run CMD under ckpt-run in the background, stdin
# /dev/null, stdout and stderr into files; wait until it can be
# checkpointed.  Sets CKPT_PID, CKPT_OUT, CKPT_ERR, and CKPT_JOB_PID (the
# pid the job knows itself by, through every restore).
ckpt_start() {
	local i
	_ckpt_dir
	CKPT_N=$((CKPT_N + 1))
	CKPT_OUT=$CKPT_DIR/job$CKPT_N.out
	CKPT_ERR=$CKPT_DIR/job$CKPT_N.err
	"$CKPT_BIN/ckpt-run" -- "$@" </dev/null >"$CKPT_OUT" 2>"$CKPT_ERR" &
	CKPT_PID=$!
	CKPT_JOB_PID=$CKPT_PID
	CKPT_JOBS+=("$CKPT_PID")
	for ((i = 0; i < 500; i++)); do
		[ -S "$(_ckpt_sock "$CKPT_PID" "$CKPT_PID")" ] && return 0
		kill -0 "$CKPT_PID" 2>/dev/null || break
		sleep 0.01
	done
	_ckpt_fail "ckpt_start: $1 (pid $CKPT_PID) never became ready; its stderr:" \
		"$(cat "$CKPT_ERR")"
}

# ckpt_wait_output REGEX [SECS]: wait (10 s) until CKPT_OUT has a line
# matching REGEX
ckpt_wait_output() {
	local i
	for ((i = 0; i < ${2:-10} * 50; i++)); do
		grep -qE -- "$1" "$CKPT_OUT" 2>/dev/null && return 0
		sleep 0.02
	done
	_ckpt_fail "ckpt_wait_output: no line matching '$1' in $CKPT_OUT"
}

# ckpt_checkpoint IMG [FREEZE-OPTION...]: checkpoint the job CKPT_PID
# into IMG (packed); with --kill, also wait until the job is gone
ckpt_checkpoint() {
	local img=$1 o
	shift
	_ckpt_dir
	"$CKPT_BIN/ckpt-freeze" "$@" "$CKPT_PID" 2>"$CKPT_DIR/freeze.err" |
		"$CKPT_BIN/ckpt-pack" >"$img" 2>"$CKPT_DIR/pack.err" ||
		_ckpt_fail "ckpt_checkpoint: pid $CKPT_PID:" \
			"$(cat "$CKPT_DIR/freeze.err" "$CKPT_DIR/pack.err")" || return 1
	for o in "$@"; do
		[ "$o" = --kill ] && _ckpt_gone "$CKPT_PID"
	done
	return 0
}

# _ckpt_gone PID: reap PID if it is ours, and wait until it is gone
_ckpt_gone() {
	local i
	wait "$1" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.01
	done
	_ckpt_fail "pid $1 is still there after --kill"
}

# _ckpt_descendants PID: PID's descendants, from /proc
_ckpt_descendants() {
	local kids k
	kids=$(cat "/proc/$1/task/"*/children 2>/dev/null)
	for k in $kids; do
		echo "$k"
		_ckpt_descendants "$k"
	done
}

# _ckpt_sock P OLD: the control socket of process P, OLD in its own pid
# namespace: OLD.INO.sock, INO the inode of P's pid namespace, when P is
# outside its job's namespace (restored in a namespace of its own),
# else OLD.sock (ckpt-run(1))
_ckpt_sock() {
	local ns
	ns=$(stat -L -c %i "/proc/$1/ns/pid" 2>/dev/null) || ns=
	if [ -n "$ns" ] && [ -S "$CKPT_SOCKDIR/$2.$ns.sock" ]; then
		echo "$CKPT_SOCKDIR/$2.$ns.sock"
	else
		echo "$CKPT_SOCKDIR/$2.sock"
	fi
}

# ckpt_restore IMG: restore IMG with ckpt-thaw in the background
# (CKPT_THAW), and wait until the job runs again and its shim serves
# (it binds its socket anew: a new file, whose inode number the file
# system may give again, but not its ctime, under the same name at the
# same pid, or its own in a new pid namespace).
# CKPT_PID is then its root as this shell sees it (the same pid, or
# another one outside a new pid namespace).  The job's output goes on
# in the same files.
ckpt_restore() {
	local old=$CKPT_JOB_PID sock i p ns was
	_ckpt_dir
	was=$(stat -c "%i %z" "$CKPT_SOCKDIR/$old.sock" 2>/dev/null) || was=
	"$CKPT_BIN/ckpt-thaw" "$1" 2>>"$CKPT_DIR/thaw.err" &
	CKPT_THAW=$!
	CKPT_THAWS+=("$CKPT_THAW")
	for ((i = 0; i < 1000; i++)); do
		for p in $(_ckpt_descendants "$CKPT_THAW"); do
			# (ckpt-thaw's helpers come and go)
			ns=$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null) || continue
			[ "$ns" = "$old" ] || continue
			sock=$(_ckpt_sock "$p" "$old")
			if [ -S "$sock" ] && [ "$(stat -c "%i %z" "$sock" 2>/dev/null)" != "$was" ]; then
				CKPT_PID=$p
				return 0
			fi
		done
		kill -0 "$CKPT_THAW" 2>/dev/null || break
		sleep 0.01
	done
	_ckpt_fail "ckpt_restore: $1: the job did not come back; ckpt-thaw says:" \
		"$(cat "$CKPT_DIR/thaw.err")"
}

# ckpt_wait_restored: wait for the restored job's end; its status (the
# root's, as ckpt-thaw passes it on) in CKPT_STATUS
ckpt_wait_restored() {
	CKPT_STATUS=0
	wait "$CKPT_THAW" || CKPT_STATUS=$?
}

# _ckpt_plain OUT CMD...: run CMD as is; its status in CKPT_PLAIN_STATUS
# and how long it took in CKPT_PLAIN_MS
_ckpt_plain() {
	local out=$1 t0
	shift
	t0=$(date +%s%N)
	CKPT_PLAIN_STATUS=0
	"$@" </dev/null >"$out" 2>/dev/null || CKPT_PLAIN_STATUS=$?
	CKPT_PLAIN_MS=$((($(date +%s%N) - t0) / 1000000))
}

# _ckpt_same REF: the restored job ended as the plain run did
_ckpt_same() {
	if ! diff -u "$1" "$CKPT_OUT" >"$CKPT_DIR/diff"; then
		_ckpt_fail "the output differs with a checkpoint and restore (- plain, + restored):" \
			"$(head -n 40 "$CKPT_DIR/diff")"
		return 1
	fi
	[ "$CKPT_STATUS" = "$CKPT_PLAIN_STATUS" ] ||
		_ckpt_fail "exit status $CKPT_STATUS, not $CKPT_PLAIN_STATUS as without a checkpoint"
}

# ckpt_at_times MS... -- CMD...: run CMD under ckpt; at each moment MS
# (milliseconds from its start, increasing) checkpoint it with --kill
# and restore it; then it must end with the output and status of a run
# without ckpt.
ckpt_at_times() {
	local times=() ref t0 t now
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		times+=("$1")
		shift
	done
	shift
	_ckpt_dir
	ref=$CKPT_DIR/plain.out
	_ckpt_plain "$ref" "$@"
	ckpt_start "$@" || return 1
	t0=$(date +%s%N)
	for t in "${times[@]}"; do
		now=$((($(date +%s%N) - t0) / 1000000))
		[ "$t" -le "$now" ] || sleep "$(awk -v ms=$((t - now)) 'BEGIN { printf "%.3f", ms / 1000 }')"
		[ -e "/proc/$CKPT_PID" ] ||
			_ckpt_fail "$1 ended before the checkpoint at $t ms: make it run longer" || return 1
		ckpt_checkpoint "$CKPT_DIR/at$t.img" --kill || return 1
		ckpt_restore "$CKPT_DIR/at$t.img" || return 1
	done
	ckpt_wait_restored
	_ckpt_same "$ref"
}

# ckpt_roundtrip CMD...: one checkpoint and restore halfway through
# CMD's run (as long as a run without ckpt takes): the same output and
# exit status as without
ckpt_roundtrip() {
	_ckpt_dir
	_ckpt_plain "$CKPT_DIR/probe.out" "$@"
	ckpt_at_times $((CKPT_PLAIN_MS / 2)) -- "$@"
}

# ckpt_random N CMD...: N checkpoints and restores at random moments
# of CMD's run (as long as a run without ckpt takes): the same output
# and exit status as without
ckpt_random() {
	local n=$1 times i
	shift
	_ckpt_dir
	_ckpt_plain "$CKPT_DIR/probe.out" "$@"
	times=$(for ((i = 0; i < n; i++)); do
		echo $((RANDOM % (CKPT_PLAIN_MS * 8 / 10 + 1)))
	done | sort -n | awk '{ t = $1 > last + 50 ? $1 : last + 50; print t; last = t }')
	echo "ckpt_random: checkpoints at" $times "ms" >&2
	# shellcheck disable=SC2086 # one word per moment
	ckpt_at_times $times -- "$@"
}

# ckpt_teardown: kill every job a test started or restored, and the
# ckpt-thaw processes (call it from your teardown)
ckpt_teardown() {
	local p
	for p in "${CKPT_THAWS[@]}" "${CKPT_JOBS[@]}"; do
		for k in $(_ckpt_descendants "$p"); do kill -KILL "$k" 2>/dev/null || true; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	CKPT_JOBS=()
	CKPT_THAWS=()
	return 0
}
