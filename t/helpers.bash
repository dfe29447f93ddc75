# helpers.bash - shared by the t/*.bats files.  Load with `load helpers`.
#
# CKPT_BUILD (default: the repo's build/) gives the shim, ckpt-run and
# the test programs; the tools under test (ckpt-freeze, ckpt-dumpmem,
# ckpt-dumpfds) come from CKPT_SAN_BUILD when it has them, so that
# `make check` runs them under ASan/UBSan.  Every program a test starts
# goes through start_prog, which records it for teardown.

bats_require_minimum_version 1.5.0

CKPT_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
: "${CKPT_BUILD:=$CKPT_ROOT/build}"
export CKPT_BUILD

# the directory holding the tools under test
ckpt_bin() {
	if [ -n "${CKPT_SAN_BUILD:-}" ] && [ -x "$CKPT_SAN_BUILD/bin/ckpt-freeze" ]; then
		echo "$CKPT_SAN_BUILD/bin"
	else
		echo "$CKPT_BUILD/bin"
	fi
}
BIN=$(ckpt_bin)
RUN=$CKPT_BUILD/bin/ckpt-run            # always the plain build: the shim
PROGS=$CKPT_BUILD/t
PROCSTATE=$CKPT_BUILD/t/procstate     # the state check's witness
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
# ASan: any report makes the tool fail (exit 99); as_other passes it on
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:exitcode=99}

# img CMD ARGS: t/ckptimg.py (list, cat, check, runs, stored, peek, threads,
# edit, dup, move)
img() {
	"$PYTHON" "$CKPT_ROOT/t/ckptimg.py" "$@"
}

# need CMD|prog:NAME...: skip the test when what it needs is not built
need() {
	local c
	for c in "$@"; do
		case $c in
		ckpt-run) [ -x "$RUN" ] && [ -f "$CKPT_BUILD/lib/ckpt/libckpt.so" ] ||
			skip "ckpt-run or the shim is not built ($CKPT_BUILD)" ;;
		prog:*) [ -x "$PROGS/${c#prog:}" ] ||
			skip "test program ${c#prog:} is not built ($PROGS)" ;;
		*) [ -x "$BIN/$c" ] || skip "$c is not built ($BIN)" ;;
		esac
	done
}

ckpt_setup() {
	export CKPT_SOCKDIR=$BATS_TEST_TMPDIR/sock
	mkdir -p -m 0700 "$CKPT_SOCKDIR"
	STARTED=()
	CLEANUP=()
	USERS_MADE=()
	NPROG=0
}

# kill every program this test started (and reap it)
ckpt_teardown() {
	local p
	for p in "${STARTED[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	for p in "${STARTED[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	STARTED=()
	[ "${#CLEANUP[@]}" -eq 0 ] || rm -rf "${CLEANUP[@]}"
	for p in "${USERS_MADE[@]}"; do
		pkill -KILL -u "$p" 2>/dev/null || true
		userdel -r "$p" >/dev/null 2>&1 || userdel "$p" >/dev/null 2>&1 || true
	done
	USERS_MADE=()
}

# wait_line FILE REGEX [SECONDS]: until a line of FILE matches (grep -E)
wait_line() {
	local file=$1 re=$2 secs=${3:-10} i
	for ((i = 0; i < secs * 50; i++)); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.02
	done
	echo "wait_line: no line matching '$re' in $file after ${secs}s; it ends:" >&2
	tail -n 5 "$file" >&2 2>/dev/null
	return 1
}

# wait_sock PID: the shim of PID has its socket (10 s): after a fork,
# the child's fork handler has run
wait_sock() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ -S "$CKPT_SOCKDIR/$1.sock" ] && return 0
		sleep 0.02
	done
	echo "wait_sock: no socket for $1" >&2
	return 1
}

# prog_files_own FILE...: a program run as another user writes its
# own files, as a real job does: a restore reopens them as that user
# (ckpt-thaw does a job's file work with the job's credentials)
prog_files_own() {
	local owner=${PROG_USER:-} a
	if [ "${PROG_AS:-}" = other ]; then
		for a in "${AS_OTHER[@]}"; do
			case $a in --reuid=*) owner=${a#--reuid=} ;; esac
		done
	fi
	[ -n "$owner" ] || return 0
	touch "$@" && chown "$owner:" "$@"
}

# start_prog NAME [ARG...]: start a test program under ckpt-run in the
# background, stdout to $OUT, stderr to $ERR, and wait for its ready
# line.  NAME.py runs with python3.  PROG_AS=other: the program runs as
# the user ckpttest (see other_user); PROG_USER=NAME: as the user NAME
# (see throwaway_user); PROG_PRE="CMD ARGS": run under that command,
# which execs the rest.  NO_SOCK=1: the shim is expected not to serve
# (no socket check).  PROG_DIR: where OUT and ERR go (a directory the
# program's user can reach, for a restore that reopens them as that
# user; default the test's own, which only root can reach).
# PROG_APPEND=1: OUT and ERR opened to append (O_APPEND: what a restore
# of the program prints then follows what it printed, never over it).
# Sets PID, OUT, ERR.
start_prog() {
	local name=$1
	shift
	local pre=()
	[ "${PROG_AS:-}" = other ] && pre=("${AS_OTHER[@]}" CKPT_SOCKDIR="$CKPT_SOCKDIR")
	[ -n "${PROG_USER:-}" ] && pre=(setpriv --reuid="$PROG_USER" --regid="$PROG_USER" --init-groups)
	# shellcheck disable=SC2206 # words, e.g. "setpriv --bounding-set -audit_control"
	[ -n "${PROG_PRE:-}" ] && pre=($PROG_PRE)
	NPROG=$((NPROG + 1))
	OUT=${PROG_DIR:-$BATS_TEST_TMPDIR}/$name.$NPROG.out
	ERR=${PROG_DIR:-$BATS_TEST_TMPDIR}/$name.$NPROG.err
	prog_files_own "$OUT" "$ERR"
	local cmd=("$PROGS/$name")
	[[ $name != *.py ]] || cmd=("$PYTHON" "$CKPT_ROOT/t/progs/$name")
	if [ "${PROG_APPEND:-}" = 1 ]; then
		"${pre[@]}" "$RUN" -- "${cmd[@]}" "$@" >>"$OUT" 2>>"$ERR" 3>&- 4>&- &
	else
		"${pre[@]}" "$RUN" -- "${cmd[@]}" "$@" >"$OUT" 2>"$ERR" 3>&- 4>&- &
	fi
	PID=$!
	STARTED+=("$PID")
	if ! wait_line "$OUT" '^ready ' 20; then
		echo "start_prog: $name did not get ready; its stderr:" >&2
		cat "$ERR" >&2
		return 1
	fi
	alive "$PID" || {
		echo "start_prog: $name (pid $PID) exited after ready; it ends:" >&2
		tail -n 3 "$OUT" "$ERR" >&2
		return 1
	}
	grep -qx "pid $PID" "$OUT" || {
		echo "start_prog: $name says $(grep '^pid' "$OUT"), \$! is $PID" >&2
		return 1
	}
	# the shim's socket is there before main runs
	[ "${NO_SOCK:-}" = 1 ] || [ -S "$CKPT_SOCKDIR/$PID.sock" ] || {
		echo "start_prog: no socket $CKPT_SOCKDIR/$PID.sock" >&2
		return 1
	}
}

# alive PID: running, neither gone nor a zombie
alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# dead PID: gone or a zombie (our shell is its parent, so it can stay one)
dead() {
	! alive "$1"
}

# last_num FILE KEY: the number after KEY in FILE's last line starting
# with KEY ("tick 12" or "progress shared=12")
last_num() {
	grep -E "^$2" "$1" | tail -n 1 | grep -Eo '[0-9]+$'
}

# wait_past FILE KEY N [SECONDS]: until a KEY line shows a number > N
wait_past() {
	local file=$1 key=$2 n=$3 secs=${4:-10} i v
	for ((i = 0; i < secs * 50; i++)); do
		# a file rewritten in place is empty for a moment: no number yet
		v=$(last_num "$file" "$key") || v=
		[ -n "$v" ] && [ "$v" -gt "$n" ] && return 0
		sleep 0.02
	done
	echo "wait_past: '$key' in $file stays at ${v:-nothing}, not past $n after ${secs}s" >&2
	return 1
}

# verify_prog [PID OUT]: SIGUSR1, then wait for one more "verify ok"
verify_prog() {
	local pid=${1:-$PID} out=${2:-$OUT} n
	n=$(grep -c '^verify ok' "$out" || true)
	kill -USR1 "$pid"
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c '^verify ok' "$out" || true)" -gt "$n" ] && break
		grep -q '^FAIL' "$out" && break
		sleep 0.02
	done
	if grep -q '^FAIL' "$out" || [ "$(grep -c '^verify ok' "$out" || true)" -le "$n" ]; then
		echo "verify_prog: $pid did not verify; it ends:" >&2
		tail -n 5 "$out" >&2
		return 1
	fi
}

# untraced PID: no thread of PID is traced (TracerPid 0; a thread that
# exits meanwhile is passed over)
untraced() {
	local f t
	for f in /proc/"$1"/task/*/status; do
		t=$(awk '$1 == "TracerPid:" {print $2}' "$f" 2>/dev/null) || continue
		[ -z "$t" ] || [ "$t" = 0 ] || { echo "untraced: $f: TracerPid $t" >&2; return 1; }
	done
}

# no_fail: the program's output has no FAIL line, and its stderr is empty
no_fail() {
	local out=${1:-$OUT} err=${2:-$ERR}
	if grep '^FAIL' "$out" >&2; then return 1; fi
	if [ -s "$err" ]; then
		echo "no_fail: stderr of the program:" >&2
		cat "$err" >&2
		return 1
	fi
}

# region NAME [OUT]: the address of "region NAME 0xADDR PAGES"
region() {
	awk -v n="$1" '$1 == "region" && $2 == n {print $3}' "${2:-$OUT}"
}

# hex arithmetic: addr BASE PAGE -> BASE + PAGE*4096, in hex
addr() {
	printf '0x%x\n' $(($1 + $2 * 4096))
}

# quiet_for OUT MS: the program printed nothing for MS ms (a frozen
# program cannot print; a running counter prints a tick every 10 ms)
quiet_for() {
	local out=$1 ms=$2 before after
	before=$(wc -c <"$out")
	sleep "$(awk -v m="$ms" 'BEGIN{print m/1000}')"
	after=$(wc -c <"$out")
	[ "$before" = "$after" ]
}

# the other uid, made once (root only)
other_user() {
	[ "$(id -u)" = 0 ] || return 1
	id ckpttest >/dev/null 2>&1 ||
		useradd --system --no-create-home --shell /usr/sbin/nologin ckpttest >/dev/null 2>&1 ||
		return 1
	id ckpttest >/dev/null 2>&1
}

# throwaway_user PREFIX: make a user PREFIX<n> for this test (root only),
# with a home directory, removed with its processes by ckpt_teardown;
# sets NEW_USER to its name (call it directly, not in $(...), so that
# teardown knows it).  A test plays an attacker or a victim with it:
# `setpriv --reuid=$NEW_USER --regid=$NEW_USER --init-groups CMD`.
throwaway_user() {
	local name n
	[ "$(id -u)" = 0 ] || return 1
	for ((n = $$ % 1000; ; n++)); do
		name=$1$n
		id "$name" >/dev/null 2>&1 && continue
		useradd --create-home --shell /bin/sh "$name" >/dev/null 2>&1 || return 1
		break
	done
	USERS_MADE+=("$name")
	NEW_USER=$name
}

# as_other CMD ARG...: run CMD as ckpttest, with our CKPT_SOCKDIR
AS_OTHER=(setpriv --reuid=ckpttest --regid=ckpttest --clear-groups env ASAN_OPTIONS="$ASAN_OPTIONS")
as_other() {
	"${AS_OTHER[@]}" CKPT_SOCKDIR="$CKPT_SOCKDIR" "$@"
}

# stream_ok CMD FILE ARG...: $BIN/CMD ARG... > FILE succeeds, silently
stream_ok() {
	local cmd=$1 file=$2 rc=0
	shift 2
	timeout -k 5 60 "$BIN/$cmd" "$@" >"$file" 2>"$file.err" || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$file.err" ]; then
		echo "$cmd $* exited $rc; stderr:" >&2
		cat "$file.err" >&2
		return 1
	fi
}

# freeze_ok FILE ARG...: ckpt-freeze ARG... > FILE succeeds, silently;
# a checkpoint with --kill (one to be restored) records the job's state
# beside FILE (freeze_recorded)
freeze_ok() {
	local a
	for a in "$@"; do
		if [ "$a" = --kill ]; then
			freeze_recorded "$@"
			return
		fi
	done
	stream_ok ckpt-freeze "$@"
}

# freeze_recorded FILE ARG...: ckpt-freeze ARG... > FILE, as stream_ok,
# the job's state recorded in FILE.state by t/progs/procstate: while the
# job is frozen (the stream's first byte comes once every thread is
# parked), each thread's signal mask from a moment before (a frozen
# thread's is the freeze handler's).  The last ARG is the pid; with
# --single that process alone.  ckpt-thaw's helpers compare the
# restored job with it (state_watch, t/thaw.bash).
freeze_recorded() {
	local file=$1 root=${!#} a tree=-t single= st
	shift
	rm -f "$file.state" "$file.state.run" "$file.state.moved"
	for a in "$@"; do
		[ "$a" = --single ] && tree= single=-s
		# rules may give restart paths: the restore opens files there
		[ "$a" = --files-rules ] && touch "$file.state.moved"
	done
	[ -z "${CKPT_FILES_DATA:-}" ] || touch "$file.state.moved"
	"$PROCSTATE" record "$file.state.run" $tree "$root"
	timeout -k 5 60 "$BIN/ckpt-freeze" "$@" 2>"$file.err" |
		"$PROCSTATE" tee $single "$file.state" "$root" "$file.state.run" >"$file"
	st=("${PIPESTATUS[@]}")
	if [ "${st[0]}" -ne 0 ] || [ "${st[1]}" -ne 0 ] || [ -s "$file.err" ]; then
		echo "ckpt-freeze $* exited ${st[0]} (procstate tee ${st[1]}); stderr:" >&2
		cat "$file.err" >&2
		return 1
	fi
}

# free_pid: a pid that was just used and is now free
free_pid() {
	sleep 1000 3>&- &
	local p=$!
	kill -KILL "$p"
	wait "$p" 2>/dev/null || true
	echo "$p"
}

# state_page IMG PID ADDR: "TICKS SHADOW" (signed) from counter's page
state_page() {
	img peek "$1" "$2" "$3" 16 | od -An -td8 | tr -s ' ' | sed 's/^ //'
}

# wait_bounded PID SECS: wait for a child; after SECS kill it, return 124
wait_bounded() {
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		# a zombie child still answers kill -0: wait reaps it
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
		sleep 0.02
	done
	if alive "$pid"; then
		echo "wait_bounded: $pid still running after ${secs}s: killed" >&2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

# freeze_refused MESSAGE: ckpt-freeze --kill $PID (its stream, cut, to
# /dev/null) fails, saying exactly "ckpt-freeze: pid $PID: MESSAGE" and
# that it did not kill; the program runs on: it verifies, then finishes
freeze_refused() {
	run --separate-stderr bash -c '"$1" --kill "$2" >/dev/null' _ "$BIN/ckpt-freeze" "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ckpt-freeze: pid $PID: $1
ckpt-freeze: pid $PID: not killed: it runs on" ]
	alive "$PID"
	verify_prog
	kill -TERM "$PID"
	wait "$PID"
}

# as_user CMD...: CMD as the throwaway user (NEW_USER), in $D
as_user() {
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		env ASAN_OPTIONS="$ASAN_OPTIONS" sh -c 'cd "$0" && exec "$@"' "$D" "$@"
}

# user_checkpoint PROG ARG...: as the throwaway user, in $D, PROG ARG...
# under ckpt-run (stdout in $D/out) and the user's own ckpt-freeze
# --kill of it into $D/img (a genuine image, the user's file).  Sets
# PID and OUT.
user_checkpoint() {
	as_user sh -c '
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- </dev/null
		mkdir -m 0700 sock && export CKPT_SOCKDIR=$PWD/sock
		run=$1 freeze=$2
		shift 2
		"$run" -- "$@" >out 2>err &
		p=$!
		for i in $(seq 200); do grep -q "^ready" out && break; sleep 0.05; done
		"$freeze" --kill $p >img || exit 1
		wait' _ "$RUN" "$BIN/ckpt-freeze" "$@"
	OUT=$D/out
	PID=$(awk '/^pid/ {print $2; exit}' "$OUT")
	[ -n "$PID" ]
	dead "$PID"
}

# img_craft IMG MEMBER SED OUT: IMG with MEMBER edited by the sed -E
# script SED, as OUT (an attacker's image); fails when SED changes nothing
img_craft() {
	img cat "$1" "$2" | sed -E "$3" >"$4.member"
	! cmp -s "$4.member" <(img cat "$1" "$2") || {
		echo "img_craft: '$3' changed nothing in $2" >&2
		return 1
	}
	img edit "$1" "$2" "$4.member" >"$4"
}
