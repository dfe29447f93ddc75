#!/usr/bin/env bats
# security-shim.bats - the shim and the tools that talk to it, attacked
# (issue 9, holes 3 and 4).  Run as root: each test makes throwaway users
# (prefix cks1) and plays the attacker as one of them with setpriv; the
# attacker's tools are t/attacker.py (a relay that passes a shim off as
# another process's, and a client that misbehaves).
#
# Who is trusted: the kernel (/proc/PID and SO_PEERCRED as the tool sees
# them), the target's own uid, and root.  A socket directory must be the
# target's uid's own, 0700, with no symlink on the way; the process
# listening behind PID.sock must be PID itself.  Anything else is refused
# by the tools and, for the directory, by the shim too.
#
# The later tests play a client of the program's own uid that
# misbehaves (silent, malformed, at a full fd table): it may delay a
# checkpoint by the shim's request deadline, never block it, leave fds in
# the program, or make the control thread spin; and processes that end
# without exit handlers leave no pile of sockets.

load helpers

setup() {
	ckpt_setup
	T=$BATS_TEST_TMPDIR
	ATTACK=$CKPT_ROOT/t/attacker.py
}

teardown() {
	ckpt_teardown
}

# as USER CMD...: CMD as USER (the tools keep their ASan settings)
as() {
	local u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --init-groups env ASAN_OPTIONS="$ASAN_OPTIONS" "$@"
}

# two users, VIC and ATT, and PUB: a sticky world-writable directory
# standing for /tmp (the default socket directory's parent); the
# attacker runs his own counter (APID) with its socket in ADIR
two_users() {
	need ckpt-run ckpt-freeze prog:counter
	[ "$(id -u)" = 0 ] || skip "needs root to make users"
	throwaway_user cks1
	VIC=$NEW_USER
	throwaway_user cks1
	ATT=$NEW_USER
	PUB=$(mktemp -d /tmp/cks1-pub.XXXXXX)
	CLEANUP+=("$PUB")
	chmod 1777 "$PUB"
	ADIR=$PUB/att
	as "$ATT" mkdir -m 0700 "$ADIR"
	CKPT_SOCKDIR=$ADIR PROG_USER=$ATT start_prog counter
	APID=$PID AOUT=$OUT
}

# relay_at PATH TO: the attacker's relay listening at PATH, passing his
# counter off as pid TO
relay_at() {
	as "$ATT" "$PYTHON" "$ATTACK" relay "$1" "$ADIR/$APID.sock" "$APID" "$2" \
		>"$T/relay.out" 2>&1 3>&- &
	STARTED+=("$!")
	wait_line "$T/relay.out" '^ready relay'
}

# both counters still tick: nothing was killed or left frozen
both_run() {
	local n
	alive "$APID"
	alive "$VPID"
	n=$(last_num "$AOUT" tick)
	wait_past "$AOUT" tick "$n"
	n=$(last_num "$VOUT" tick)
	wait_past "$VOUT" tick "$n"
}

# squat HOW: the attacker makes the victim's default socket directory
# VDIR ($PUB/ckpt-<victim uid>) before the victim starts, HOW being a
# mode (the directory is his, with that mode) or "symlink" (a symlink to
# a directory of his, 0711); he then puts his relay at the victim's pid
# name in it.  The victim's shim must not serve there, and neither the
# victim's nor root's ckpt-freeze --kill may talk to the relay.
squat() {
	two_users
	VDIR=$PUB/ckpt-$(id -u "$VIC")
	local real=$VDIR
	if [ "$1" = symlink ]; then
		real=$PUB/att2
		as "$ATT" mkdir -m 0711 "$real"
		as "$ATT" ln -s "$real" "$VDIR"
	else
		as "$ATT" mkdir "$VDIR"
		as "$ATT" chmod "$1" "$VDIR"
	fi
	unset CKPT_SOCKDIR
	XDG_RUNTIME_DIR=$PUB PROG_USER=$VIC NO_SOCK=1 start_prog counter
	VPID=$PID VOUT=$OUT
	cat "$ERR"
	# one line, naming the directory; the program runs on
	[ "$(wc -l <"$ERR")" = 1 ]
	grep -q "^ckpt-shim: pid $VPID: .*socket directory $VDIR: " "$ERR"
	[ ! -e "$real/$VPID.sock" ]
	relay_at "$real/$VPID.sock" "$VPID"

	run --separate-stderr as "$VIC" env XDG_RUNTIME_DIR="$PUB" "$BIN/ckpt-freeze" --kill "$VPID"
	echo "victim's ckpt-freeze: exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $VPID: socket directory $VDIR: "* ]]
	[ -z "$output" ]
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$VPID"
	echo "root's ckpt-freeze: exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $VPID: socket directory $VDIR: "* ]]
	[ -z "$output" ]
	! grep -q '^client' "$T/relay.out" || false
	both_run
}

@test "another user's socket directory, mode 0777: the shim does not serve there, the tools refuse it" {
	squat 0777
}

@test "another user's socket directory, mode 0711: the shim does not serve there, the tools refuse it" {
	squat 0711
}

@test "another user's socket directory, mode 0700: the shim does not serve there, the tools refuse it" {
	squat 0700
}

@test "the socket directory a symlink to another user's: the shim does not serve there, the tools refuse it" {
	squat symlink
}

@test "a symlink higher up on the way to the socket directory: the shim does not serve there, the tools refuse it" {
	two_users
	# the victim's own 0700 directory, named through the attacker's
	# symlink, which he can point elsewhere at any time
	as "$VIC" mkdir -m 0755 "$PUB/vic"
	as "$VIC" mkdir -m 0700 "$PUB/vic/sock"
	as "$ATT" ln -s "$PUB/vic" "$PUB/via"
	VDIR=$PUB/via/sock
	CKPT_SOCKDIR=$VDIR PROG_USER=$VIC NO_SOCK=1 start_prog counter
	VPID=$PID VOUT=$OUT
	cat "$ERR"
	[ "$(wc -l <"$ERR")" = 1 ]
	grep -q "^ckpt-shim: pid $VPID: .*socket directory $VDIR: a symlink on the way" "$ERR"
	[ ! -e "$PUB/vic/sock/$VPID.sock" ]
	# root follows the CKPT_SOCKDIR of the victim's environment
	unset CKPT_SOCKDIR
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$VPID"
	echo "root's ckpt-freeze: exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $VPID: socket directory $VDIR: a symlink on the way"* ]]
	both_run
}

@test "a relay under the victim's pid name in its own directory: ckpt-freeze --kill refuses it, kills nothing" {
	two_users
	VDIR=$PUB/vic
	as "$VIC" mkdir -m 0700 "$VDIR"
	CKPT_SOCKDIR=$VDIR PROG_USER=$VIC start_prog counter
	VPID=$PID VOUT=$OUT
	# The directory checks leave only the victim and root able to put a
	# socket in VDIR; root's hard link here stands for any such way, so
	# that the peer check is what stands in the way.  First the
	# attacker's own shim's socket under the victim's pid name, then his
	# relay, which also rewrites the pid in the replies.
	ln -f "$ADIR/$APID.sock" "$VDIR/$VPID.sock"
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$VPID"
	echo "root's ckpt-freeze, renamed socket: exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	as "$ATT" mkdir -m 0711 "$PUB/relay"
	relay_at "$PUB/relay/r.sock" "$VPID"
	ln -f "$PUB/relay/r.sock" "$VDIR/$VPID.sock"
	local who
	for who in "$VIC" root; do
		run --separate-stderr as "$who" env CKPT_SOCKDIR="$VDIR" "$BIN/ckpt-freeze" --kill "$VPID"
		echo "$who's ckpt-freeze, relay: exit $status; stderr: $stderr"
		[ "$status" -eq 1 ]
		[[ $stderr == "ckpt-freeze: pid $VPID: $VDIR/$VPID.sock is served by pid "*", not by pid $VPID "* ]]
		[ -z "$output" ]
	done
	both_run
}

@test "a client that connects and says nothing, or stops after hello, delays a checkpoint by at most the deadline" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter
	local act s e
	for act in wait "hello wait"; do
		mkfifo "$T/hold"
		# shellcheck disable=SC2086
		"$PYTHON" "$ATTACK" client "$CKPT_SOCKDIR/$PID.sock" $act <"$T/hold" >"$T/client.out" 2>&1 &
		STARTED+=("$!")
		exec 9>"$T/hold"
		wait_line "$T/client.out" '^connected'
		s=$(date +%s%N)
		freeze_ok "$T/img" "$PID"
		e=$(date +%s%N)
		echo "$act: checkpoint after $(((e - s) / 1000000)) ms"
		[ $(((e - s) / 1000000)) -lt 9000 ]
		img check "$T/img"
		exec 9>&-
		rm -f "$T/hold"
	done
	grep -q "^ckpt-shim: pid $PID: dropped a connection that sent no request in 5000 ms" "$ERR"
	verify_prog
}

@test "malformed requests carrying 100 fds leave no fd in the program" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter
	local before after kind
	before=$(ls "/proc/$PID/fd" | wc -l)
	for kind in junk short; do
		"$PYTHON" "$ATTACK" client "$CKPT_SOCKDIR/$PID.sock" "$kind" 100 read >"$T/client.out" 2>&1
		cat "$T/client.out"
		grep -qx closed "$T/client.out"
	done
	after=$(ls "/proc/$PID/fd" | wc -l)
	echo "fds before $before, after $after"
	[ "$after" -eq "$before" ]
	freeze_ok "$T/img" "$PID"
	verify_prog
}

@test "a full fd table: the control thread waits without spinning, and serves once there is room" {
	need ckpt-run ckpt-freeze
	cat >"$T/fill.py" <<-'EOF'
	import os, resource, signal, time
	fds = []
	limit = resource.getrlimit(resource.RLIMIT_NOFILE)
	def fill(sig, frame):
	    # every free slot below the limit, so that none is left for the shim
	    null = os.open("/dev/null", os.O_RDONLY)
	    for fd in range(3, limit[0]):
	        try:
	            os.fstat(fd)
	        except OSError:
	            os.dup2(null, fd)
	            fds.append(fd)
	    # and the limit below every fd, as a program may set it once it
	    # has what it needs: the slot the shim's connection leaves is
	    # then out of reach too
	    resource.setrlimit(resource.RLIMIT_NOFILE, (3, limit[1]))
	    print("full", len(fds), flush=True)
	def free(sig, frame):
	    resource.setrlimit(resource.RLIMIT_NOFILE, limit)
	    for fd in fds[:16]:
	        os.close(fd)
	    del fds[:16]
	    print("freed", flush=True)
	signal.signal(signal.SIGUSR1, free)
	signal.signal(signal.SIGUSR2, fill)
	print("pid", os.getpid(), flush=True)
	print("ready fill", flush=True)
	while True:
	    time.sleep(0.05)
	EOF
	OUT=$T/fill.out ERR=$T/fill.err
	(ulimit -n 64 && exec "$RUN" -- "$PYTHON" "$T/fill.py") >"$OUT" 2>"$ERR" 3>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready fill'
	# A blocked accept4 holds an fd slot of its own, so the table is
	# filled while the shim serves a client; once that client goes,
	# accept4 meets EMFILE
	mkfifo "$T/hold"
	"$PYTHON" "$ATTACK" client "$CKPT_SOCKDIR/$PID.sock" hello wait <"$T/hold" >"$T/a.out" 2>&1 &
	STARTED+=("$!")
	exec 9>"$T/hold"
	wait_line "$T/a.out" '^hello pid'
	kill -USR2 "$PID"
	wait_line "$OUT" '^full'
	exec 9>&-
	sleep 0.5
	local t0 t1
	t0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	sleep 1
	t1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
	echo "cpu ticks in 1 s: $((t1 - t0))"
	[ $((t1 - t0)) -lt 20 ]
	# a client waits in the backlog until there is room
	"$PYTHON" "$ATTACK" client "$CKPT_SOCKDIR/$PID.sock" hello >"$T/b.out" 2>&1 &
	STARTED+=("$!")
	wait_line "$T/b.out" '^connected'
	sleep 0.3
	! grep -q '^hello' "$T/b.out" || false
	kill -USR1 "$PID"
	wait_line "$OUT" '^freed'
	wait_line "$T/b.out" "^hello pid $PID"
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
}

@test "processes that _exit leave no pile of sockets: 1000 of them leave at most 2" {
	need ckpt-run
	cat >"$T/forks.py" <<-'EOF'
	import os
	for i in range(1000):
	    p = os.fork()
	    if p == 0:
	        os._exit(0)
	    os.waitpid(p, 0)
	print("done", flush=True)
	EOF
	"$RUN" -- "$PYTHON" "$T/forks.py" >"$T/forks.out" 2>"$T/forks.err" 3>&-
	cat "$T/forks.err"
	grep -qx "done" "$T/forks.out"
	local n
	n=$(find "$CKPT_SOCKDIR" -name '*.sock' | wc -l)
	echo "sockets left: $n"
	[ "$n" -le 2 ]
	# the next process to bind sweeps what is left
	start_prog counter
	[ "$(find "$CKPT_SOCKDIR" -name '*.sock')" = "$CKPT_SOCKDIR/$PID.sock" ]
}

@test "a process restored in a new pid namespace sweeps no live process's socket" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	start_prog counter
	local other=$PID tp reaper r i
	start_prog counter
	freeze_ok "$T/img" "$PID"
	# its pid is taken, so ckpt-thaw restores it in a new pid namespace,
	# where every pid outside, $other's too, looks gone to kill()
	"$BIN/ckpt-thaw" "$T/img" >"$T/thaw.out" 2>"$T/thaw.err" &
	tp=$!
	STARTED+=("$tp")
	for ((i = 0; i < 500; i++)); do
		reaper=$(pgrep -P "$tp" | head -n 1) || true
		r=${reaper:+$(pgrep -P "$reaper" | head -n 1)} || true
		# the restored control thread has bound (and swept) once its
		# listening socket is there
		[ -n "$r" ] && find "/proc/$r/fd" -lname 'socket:*' | grep -q . && break
		sleep 0.02
	done
	# the namespace's reaper outlives ckpt-thaw: teardown kills it too,
	# and the namespace with it
	[ -z "$reaper" ] || STARTED+=("$reaper")
	cat "$T/thaw.err"
	[ -n "$r" ]
	sleep 0.2
	ls "$CKPT_SOCKDIR"
	[ -S "$CKPT_SOCKDIR/$other.sock" ]
	freeze_ok "$T/img2" "$other"
}

@test "the shim's fds, listening socket and live connection, sit high: 32 under the soft limit, or at 992 and up under a higher one" {
	need ckpt-run prog:counter
	start_prog counter
	mkfifo "$T/hold"
	"$PYTHON" "$ATTACK" client "$CKPT_SOCKDIR/$PID.sock" hello wait <"$T/hold" >"$T/client.out" 2>&1 &
	STARTED+=("$!")
	exec 9>"$T/hold"
	wait_line "$T/client.out" '^hello pid'
	local fd n=0 low=$(($(ulimit -n) - 32))
	[ "$(ulimit -n)" = unlimited ] || [ "$low" -gt 992 ] && low=992
	for fd in "/proc/$PID/fd"/*; do
		[[ $(readlink "$fd") == socket:* ]] || continue
		echo "socket at fd ${fd##*/}"
		n=$((n + 1))
		[ "${fd##*/}" -ge "$low" ] && [ "${fd##*/}" -lt $((low + 32)) ]
	done
	exec 9>&-
	[ "$n" -eq 2 ]
}
