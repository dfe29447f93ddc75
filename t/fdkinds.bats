#!/usr/bin/env bats
# ckpt-thaw and fds of other kinds (formats/fds.md, issue 6): devices and
# directories are reopened, status flags, FD_CLOEXEC and offsets come
# back, and a MAP_SHARED mapping of a file still maps the file.  A
# program (t/progs/fdk_prog.c) sets things up; ckpt-freeze --kill
# checkpoints it; ckpt-thaw restores it; the program, on SIGUSR1, says
# what it finds through its fds, and the test looks at /proc/PID/fd,
# /proc/PID/fdinfo and /proc/PID/maps.  Runs as root (the old pids).

load helpers

setup() {
	ckpt_setup
	T=$BATS_TEST_TMPDIR
	THAW=$BIN/ckpt-thaw
	TPIDS=()
}

teardown() {
	local p
	for p in "${TPIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${TPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ckpt_teardown
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "restoring with the old pids needs root"
}

# checkpoint_kill PROG ARGS (FREEZE_ARGS: more ckpt-freeze options):
# start PROG, checkpoint it to $T/img with --kill, and reap it so that
# its pid is free again.  BEFORE_KILL, when set, is run once the program
# is ready and before the checkpoint.
checkpoint_kill() {
	need ckpt-run ckpt-freeze ckpt-thaw "prog:$1"
	need_root
	start_prog "$@"
	[ -z "${BEFORE_KILL:-}" ] || "$BEFORE_KILL"
	freeze_ok "$T/img" --kill ${FREEZE_ARGS:-} "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
}

# thaw_bg ARGS: ckpt-thaw in the background; TPID, stderr in $T/thaw.err
thaw_bg() {
	"$THAW" "$@" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
}

# thaw_wait STATUS: ckpt-thaw (TPID) exits with STATUS
thaw_wait() {
	local st=0
	wait "$TPID" || st=$?
	echo "ckpt-thaw exited $st; stderr:"
	cat "$T/thaw.err"
	[ "$st" -eq "$1" ]
}

# restored PROG: wait until $PID runs PROG again (the restore is done)
restored() {
	local i
	for ((i = 0; i < 250; i++)); do
		if alive "$PID" && [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = "$1" ]; then
			return 0
		fi
		sleep 0.02
	done
	echo "restored: $PID is not running $1; ckpt-thaw says:" >&2
	cat "$T/thaw.err" >&2
	return 1
}

# finish: SIGTERM, the program says "done ok", ckpt-thaw exits 0, and
# nothing went to the program's or ckpt-thaw's stderr
finish() {
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

# progfd NAME: the fd fdk_prog opened for NAME
progfd() {
	awk -v n="$1" '$1 == "open" && $2 == n {print $3}' "$OUT"
}

# last KIND NAME: the last line "KIND NAME ..." the program printed
last() {
	grep "^$1 $2 " "$OUT" | tail -n 1
}

# fdstate: for each fd fdk_prog named, "NAME FD LINK DEV:INO pos=POS
# flags=FLAGS" from /proc/PID/fd and /proc/PID/fdinfo (a pipe's inode is
# left out: a restore makes a new pipe)
fdstate() {
	local name fd link di
	awk '$1 == "open" {print $2, $3}' "$OUT" | while read -r name fd; do
		link=$(readlink "/proc/$PID/fd/$fd")
		di=$(stat -L -c %d:%i "/proc/$PID/fd/$fd")
		case $link in pipe:*) link=pipe di=- ;; esac
		echo "$name $fd $link $di $(awk '$1 == "pos:" || $1 == "flags:" {printf "%s%s ", $1, $2}' "/proc/$PID/fdinfo/$fd")"
	done
}

# snap: fdstate before the checkpoint (BEFORE_KILL)
snap() {
	fdstate >"$T/before"
}

@test "fdkinds: a directory, /dev/null, /dev/zero and /dev/urandom are reopened at their fd numbers and work" {
	mkdir "$T/d"
	BEFORE_KILL=snap checkpoint_kill fdk_prog dev "$T/d"
	# no controlling tty here (CI has none): the program did not open /dev/tty
	# and its part is left out; with one, "tty fd=N ok=1" is checked below
	thaw_bg "$T/img"
	restored fdk_prog
	# before the program acts through its fds (reading the directory
	# moves its offset; the O_APPEND write, app's): the comm is set back
	# once the process runs its own code again, so the fds are all there
	fdstate >"$T/after"
	verify_prog "$PID" "$OUT"
	diff "$T/before" "$T/after"
	[ "$(readlink "/proc/$PID/fd/$(progfd dir)")" = "$T/d" ]
	[ "$(readlink "/proc/$PID/fd/$(progfd null)")" = /dev/null ]
	[ "$(readlink "/proc/$PID/fd/$(progfd zero)")" = /dev/zero ]
	[ "$(readlink "/proc/$PID/fd/$(progfd urandom)")" = /dev/urandom ]
	local ino
	ino=$(stat -c %i "$T/d")
	[ "$(last dir "fd=$(progfd dir)")" = "dir fd=$(progfd dir) ino=$ino entries=3 inside=inside-file" ]
	[ "$(last null "fd=$(progfd null)")" = "null fd=$(progfd null) wrote=5 read=0" ]
	[ "$(last zero "fd=$(progfd zero)")" = "zero fd=$(progfd zero) read=4096 nonzero=0" ]
	[[ $(last urandom "fd=$(progfd urandom)") =~ ^"urandom fd=$(progfd urandom) read=64 nonzero="[1-9][0-9]*$ ]]
	if grep -q '^tty none' "$OUT"; then
		[ -z "$(progfd tty)" ]
	else
		[ "$(last tty "fd=$(progfd tty)")" = "tty fd=$(progfd tty) ok=1" ]
	fi
	finish
}

@test "fdkinds: O_APPEND, O_NONBLOCK, FD_CLOEXEC and the offsets of several files come back" {
	mkdir "$T/d"
	BEFORE_KILL=snap checkpoint_kill fdk_prog flags "$T/d"
	cat "$T/before"
	# what the program set up is what fdinfo showed before the checkpoint
	[[ $(grep '^off1 ' "$T/before") == *" pos:3 "* ]]
	[[ $(grep '^off4 ' "$T/before") == *" pos:1000 "* ]]
	printf 'extra\n' >>"$T/d/app.log"
	thaw_bg "$T/img"
	restored fdk_prog
	# before the program acts through its fds (reading the directory
	# moves its offset; the O_APPEND write, app's): the comm is set back
	# once the process runs its own code again, so the fds are all there
	fdstate >"$T/after"
	verify_prog "$PID" "$OUT"
	# same fds, same files, same offsets, same flags (O_CLOEXEC included)
	diff "$T/before" "$T/after"
	grep -E "^(fl|wrote|pipe) " "$OUT"
	# what the program sees through its fds
	[ "$(last fl app)" = "fl app fd=$(progfd app) fl=02001 fd_flags=0 pos=0" ]
	[ "$(last fl nb)" = "fl nb fd=$(progfd nb) fl=04002 fd_flags=0 pos=2" ]
	[ "$(last fl ce)" = "fl ce fd=$(progfd ce) fl=00 fd_flags=1 pos=1" ]
	[ "$(last fl nce)" = "fl nce fd=$(progfd nce) fl=00 fd_flags=0 pos=4" ]
	[ "$(last fl off1)" = "fl off1 fd=$(progfd off1) fl=00 fd_flags=0 pos=3" ]
	[ "$(last fl off2)" = "fl off2 fd=$(progfd off2) fl=02 fd_flags=0 pos=7" ]
	[ "$(last fl off3)" = "fl off3 fd=$(progfd off3) fl=01 fd_flags=0 pos=10" ]
	[ "$(last fl off4)" = "fl off4 fd=$(progfd off4) fl=00 fd_flags=0 pos=1000" ]
	[ "$(last fl pr)" = "fl pr fd=$(progfd pr) fl=04000 fd_flags=0 pos=-1" ]
	[ "$(last fl pw)" = "fl pw fd=$(progfd pw) fl=01 fd_flags=0 pos=-1" ]
	# O_APPEND: the write went to the end, after what came since the checkpoint
	[ "$(last wrote app)" = "wrote app pos=17" ]
	[ "$(printf 'line1\nextra\nmore\n')" = "$(cat "$T/d/app.log")" ]
	# the non-blocking read end gives the queued bytes, then EAGAIN, not a hang
	[ "$(last pipe same=1)" = "pipe same=1 read=queued eagain=1" ]
	finish
}

# map_line: the /proc/PID/maps line of the program's mapping
map_line() {
	local a
	a=$(region map)
	awk -v a="${a#0x}" '$1 ~ "^0*" a "-" {print}' "/proc/$PID/maps"
}

snap_map() {
	map_line >"$T/map.before"
}

@test "fdkinds: a MAP_SHARED mapping of a file keeps mapping the file, both ways" {
	mkdir "$T/d"
	BEFORE_KILL=snap_map checkpoint_kill fdk_prog map "$T/d"
	cat "$T/map.before"
	[[ $(cat "$T/map.before") == *" rw-s "*" $T/d/map.dat" ]]
	# the mark written through the mapping before the checkpoint is in the file
	[ "$(head -c 11 "$T/d/map.dat")" = MARK-BEFORE ]
	thaw_bg "$T/img"
	restored fdk_prog
	# the same mapping, of the same file (same device and inode)
	map_line >"$T/map.after"
	cat "$T/map.after"
	[ "$(awk '{print $1, $2, $4, $5, $6}' "$T/map.before")" = "$(awk '{print $1, $2, $4, $5, $6}' "$T/map.after")" ]
	# a write to the file is seen through the mapping
	printf 'FROM-THE-TEST-01' | dd of="$T/d/map.dat" bs=1 seek=100 conv=notrunc status=none
	verify_prog "$PID" "$OUT"
	[ "$(last map at0=MARK-BEFORE-----)" = "map at0=MARK-BEFORE----- at100=FROM-THE-TEST-01" ]
	# a write through the mapping is seen in the file
	[ "$(last wrote map)" = "wrote map AFTER-1" ]
	[ "$(dd if="$T/d/map.dat" bs=1 skip=200 count=7 status=none)" = AFTER-1 ]
	[ "$(stat -c %s "$T/d/map.dat")" -eq 4096 ]
	finish
	[ "$(dd if="$T/d/map.dat" bs=1 skip=200 count=7 status=none)" = AFTER-2 ]
}
