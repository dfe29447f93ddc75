#!/usr/bin/env bats
# ckpt-thaw and fds of other kinds (formats/fds.md, issue 6): devices and
# directories are reopened, status flags, FD_CLOEXEC and offsets come
# back, and a MAP_SHARED mapping of a file still maps the file.  A
# program (t/progs/fdk_prog.c) sets things up; ckpt-freeze --kill
# checkpoints it; ckpt-thaw restores it; the program, on SIGUSR1, says
# what it finds through its fds, and the test looks at /proc/PID/fd,
# /proc/PID/fdinfo and /proc/PID/maps.  Runs as root (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	[ -z "${TARGET:-}" ] || kill -KILL "$TARGET" 2>/dev/null || true
	thaw_teardown
}

# target_start: a process outside the job for a pidfd to name (TARGET)
target_start() {
	sleep 600 3>&- &
	TARGET=$!
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
	# same fds, same files, same offsets, same flags (O_CLOEXEC included);
	# the two saved ones (policy c, nb and off2) come back as a new file
	# renamed over the old one (formats/fds.md): same path, new inode
	[ "$(grep -E '^(nb|off2) ' "$T/before" | awk '{print $4}')" != \
	  "$(grep -E '^(nb|off2) ' "$T/after" | awk '{print $4}')" ]
	diff <(sed -E 's/^((nb|off2) .*):[0-9]+ pos/\1:INO pos/' "$T/before") \
	     <(sed -E 's/^((nb|off2) .*):[0-9]+ pos/\1:INO pos/' "$T/after")
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

@test "fdkinds: data=files/N on a pipe's line is refused, naming the member and line; no file is made" {
	mkdir "$T/d" "$T/cwd"
	checkpoint_kill fdk_prog flags "$T/d"
	local pr nb data line
	pr=$(progfd pr)
	nb=$(progfd nb)
	data=$(tar xOf "$T/img" "proc/$PID/fds" | grep "^fd $nb " | grep -o 'data=files/[0-9]*')
	[ -n "$data" ]
	tar xOf "$T/img" "proc/$PID/fds" |
		sed -E "/^fd $pr /{s/ data=[^ ]+//;s| path=| $data path=|}" >"$T/fds"
	grep "^fd $pr pipe .* $data path=pipe:" "$T/fds"
	line=$(grep -n "^fd $pr " "$T/fds" | cut -d: -f1)
	img edit "$T/img" "proc/$PID/fds" "$T/fds" >"$T/crafted"
	run --separate-stderr sh -c 'cd "$1" && exec timeout 20 "$2" "$3"' _ "$T/cwd" "$THAW" "$T/crafted"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"member proc/$PID/fds line $line: fd $pr pipe: data= of a pipe must name pipes/INODE"* ]]
	dead "$PID"
	[ -z "$(ls -A "$T/cwd")" ]
}

@test "fdkinds: a pidfd on a process outside the job comes back on that process" {
	target_start
	checkpoint_kill pidfdk "$TARGET"
	local fd
	fd=$(progfd pidfd)
	tar xOf "$T/img" "proc/$PID/fds" | grep -E "^fd $fd pidfd .* pid=$TARGET start=[1-9][0-9]* boot=[0-9a-f-]{36} "
	thaw_bg "$T/img"
	restored pidfdk
	verify_prog
	[ "$(last pidfd "fd=$fd")" = "pidfd fd=$fd pid=$TARGET alive=1 nonblock=1" ]
	# the same process: its end shows through the restored pidfd
	kill -KILL "$TARGET"
	wait "$TARGET" 2>/dev/null || true
	verify_prog
	[[ $(last pidfd "fd=$fd") == "pidfd fd=$fd pid="*" alive=0 nonblock=1" ]]
	finish
}

@test "fdkinds: a pidfd whose process ended since the checkpoint: exit 1, the fd named, no process" {
	target_start
	checkpoint_kill pidfdk "$TARGET"
	kill -KILL "$TARGET"
	wait "$TARGET" 2>/dev/null || true
	thaw_fails "fd $(progfd pidfd): pidfd anon_inode:[pidfd]: cannot be restored: its process has ended since" "$T/img"
}

@test "fdkinds: a pidfd on the process itself: ckpt-freeze --kill refuses, names it, and the program runs on" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:pidfdk
	start_prog pidfdk self
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: fd $(progfd pidfd): pidfd anon_inode:[pidfd]: cannot be restored: a pidfd on the process itself"* ]]
	[[ $stderr == *"pid $PID: not killed: it runs on"* ]]
	verify_prog
	[ "$(last pidfd "fd=$(progfd pidfd)")" = "pidfd fd=$(progfd pidfd) pid=$PID alive=1 nonblock=1" ]
	kill -TERM "$PID"
}

@test "fdkinds: a memfd comes back with its mode and its seals" {
	BEFORE_KILL=verify_prog checkpoint_kill memfdk
	local fd before
	before=$(grep '^memfd ' "$OUT")
	echo "$before"
	grep -q "^memfd sealed fd=[0-9]* mode=0640 seals=0xe bytes=sealed\\\\x20bytes write=EPERM$" <<<"$before"
	grep -q "^memfd plain fd=[0-9]* mode=0600 seals=0x1 bytes=plain\\\\x20bytes write=ok$" <<<"$before"
	grep -q "^memfd locked fd=[0-9]* mode=0755 seals=0x9 bytes=locked\\\\x20bytes write=EPERM$" <<<"$before"
	thaw_bg "$T/img"
	restored memfdk
	verify_prog
	diff <(echo "$before") <(grep '^memfd ' "$OUT" | tail -n 3)
	fd=$(progfd sealed)
	[ "$(stat -L -c %a "/proc/$PID/fd/$fd")" = 640 ]
	finish
}

@test "fdkinds: root restores another uid's memfds: owned by that uid, and an image's set-id mode bits are dropped" {
	throwaway_user ckwrt
	local d fd
	d=$(mktemp -d /tmp/ckpt-fdkinds-XXXXXX)
	TMPDIRS+=("$d")
	chmod 0777 "$d"
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups mkdir -m 0700 "$d/sock"
	CKPT_SOCKDIR=$d/sock PROG_USER=$NEW_USER PROG_DIR=$d checkpoint_kill memfdk
	fd=$(progfd locked)
	# the attacker's image asks for a set-uid, set-gid executable
	img cat "$T/img" "proc/$PID/fds" | sed -E "/^fd $fd memfd /s/ mode=0100755 / mode=0106755 /" >"$T/fds"
	grep -q "^fd $fd memfd .* mode=0106755 " "$T/fds"
	img edit "$T/img" "proc/$PID/fds" "$T/fds" >"$T/crafted"
	thaw_bg "$T/crafted"
	restored memfdk
	[ "$(stat -L -c '%U %a' "/proc/$PID/fd/$fd")" = "$NEW_USER 755" ]
	[ "$(stat -L -c '%U %a' "/proc/$PID/fd/$(progfd sealed)")" = "$NEW_USER 640" ]
	verify_prog
	[[ $(last memfd locked) == "memfd locked fd=$fd mode=0755 seals=0x9 "* ]]
	finish
}
