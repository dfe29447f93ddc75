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
