#!/usr/bin/env bats
# Root restoring a user's job with what ttyleft added (issue 13):
# ckpt-thaw --pty (lib/ptyrelay.c) and unix connections to outside the
# job that come back reset (sockout lines, lib/sockplan.c).  The
# attacker is a throwaway user ckrN: it runs its programs under
# ckpt-run, checkpoints them itself with --kill (a genuine image, its
# own file), then may edit the image.  Root runs ckpt-thaw on it.  What
# must hold: --pty puts the job's stdio that was on a terminal on the
# new terminal, never on a path the image names; the new terminal is
# the user's, not root's; another terminal the image names is opened
# only as the user could (not at all), and the split ckpt-thaw still
# fails as a whole; a connection to outside the job never connects to
# the path its line names.  Runs as root.

load helpers
load thaw

setup() {
	thaw_setup
	need_root
	need ckpt-run ckpt-freeze ckpt-thaw prog:ttyown
	throwaway_user ckr
	user_own_dir
}

# craft MEMBER SED: the image's MEMBER edited by SED, as $D/crafted,
# the user's file (its word, not root's)
craft() {
	img_craft "$D/img" "$1" "$2" "$D/crafted"
	chown "$NEW_USER:" "$D/crafted"
}

@test "security-ttyleft: root restores a user's terminal job with --pty, its fd 0 line edited to name root's terminal: the job is on a new terminal, the user's, and root's is untouched" {
	root_pty   # first: the user's terminal has another index
	user_ttyown_kill
	# the job's terminal (fd 0, and 1 and 2 its dups) renamed root's
	craft "proc/$PID/fds" "s/^(fd 0 pts .* rdev=)136:[0-9]+ pty=[0-9]+ (.*path=)\/dev\/pts\/[0-9]+/\1136:$RPTY pty=$RPTY \2\/dev\/pts\/$RPTY/"
	mkfifo "$D/keys"
	setsid "$THAW" -q --pty "$D/crafted" <"$D/keys" >"$D/log3" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	exec {KEYS}>"$D/keys"
	restored ttyown
	local tty
	tty=$(readlink "/proc/$PID/fd/0")
	echo "the job's fd 0: $tty"
	[[ $tty == /dev/pts/* ]] && [ "$tty" != "/dev/pts/$RPTY" ]
	[ "$(stat -L -c %U "/proc/$PID/fd/0")" = "$NEW_USER" ]
	[ "$(stat -c %u "/proc/$PID/status")" = "$(id -u "$NEW_USER")" ]
	verify_prog "$PID" "$D/log3"
	tr -d '\r' <"$D/log3" | grep -x 'term echo=0 icanon=0 fg=1 ctty=1 winch=0 rows=30 cols=100'
	[ "$(stat -c '%u %a' "/dev/pts/$RPTY")" = "0 600" ]
	kill -TERM "$PID"
	wait "$TPID"
	exec {KEYS}>&-
}

@test "security-ttyleft: --pty and a slave line edited to name root's terminal: opened as the user, refused, fd and path named; ckpt-thaw exits 1 and nothing runs" {
	root_pty
	user_ttyown_kill
	craft "proc/$PID/fds" "/^fd 0 pts /{p;s/^fd 0 /fd 9 /;s/ rdev=136:[0-9]+ pty=[0-9]+ / rdev=136:$RPTY pty=$RPTY /;s/ ctty=1 fg=[0-9]+//;s|path=/dev/pts/[0-9]+|path=/dev/pts/$RPTY|}"
	thaw_fails "pid $PID: fd 9: pts /dev/pts/$RPTY: Permission denied" --pty "$D/crafted"
	[ "$(stat -c '%u %a' "/dev/pts/$RPTY")" = "0 600" ]
}

@test "security-ttyleft: a connection to outside the job whose line is edited to name root's server: it comes back reset, never connected there; without its sockout line, refused, and root's server untouched" {
	need ckpt-run
	as_user "$PYTHON" "$CKPT_ROOT/t/progs/pongsrv.py" "$D/pong.sock" >"$T/pong.out" 2>&1 3>&- 4>&- &
	STARTED+=("$!")
	wait_line "$T/pong.out" '^ready pongsrv'
	user_checkpoint "$PYTHON" "$CKPT_ROOT/t/progs/uxretry.py" "$D/pong.sock"
	# root's own server, in a directory only root may enter
	local R
	R=$(mktemp -d)
	TMPDIRS+=("$R")
	"$PYTHON" "$CKPT_ROOT/t/progs/pongsrv.py" "$R/root.sock" >"$T/root.out" 2>&1 3>&- 4>&- &
	STARTED+=("$!")
	wait_line "$T/root.out" '^ready pongsrv'
	craft "proc/$PID/fds" "s|peer=$D/pong.sock|peer=$R/root.sock|"
	tar xOf "$D/crafted" ckpt/manifest | grep -q '^sockout '
	"$THAW" "$D/crafted" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	restored python3
	verify_prog "$PID" "$OUT"
	grep -qx 'lost: ECONNRESET' "$OUT"
	! grep -q '^conn' "$T/root.out"
	kill -KILL "$PID"
	wait "$TPID" || true
	# the sockout line gone: a named connection whose listener is not
	# the job's; root's live server is "address in use", not replaced
	img_craft "$D/crafted" ckpt/manifest '/^sockout /d' "$D/crafted2"
	chown "$NEW_USER:" "$D/crafted2"
	run --separate-stderr timeout -s TERM 30 "$THAW" "$D/crafted2"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$R/root.sock"* ]]
	dead "$PID"
	! grep -q '^conn' "$T/root.out"
	[ -S "$R/root.sock" ] && [ "$(stat -c %u "$R/root.sock")" = 0 ]
}
