#!/usr/bin/env bats
# ckpt-dumpfds: the fds member and the files it keeps, for each case of
# the policy and each form of rule (formats/fds.md).  The restore is not
# involved: these check the image, and that the program never noticed.

load helpers

setup() {
	ckpt_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	ckpt_teardown
}

# usage_error ARG...: exit 2, usage on stderr, stdout empty
usage_error() {
	run --separate-stderr "$BIN/ckpt-dumpfds" "$@"
	echo "exit $status; stdout: $output; stderr: $stderr"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ $stderr == *usage:* ]]
}

# dump FILE ARG...: ckpt-dumpfds ARG... > FILE succeeds, silently
dump() {
	stream_ok ckpt-dumpfds "$@"
}

# progfd NAME: the fd number fds_policy printed as "fd NAME N"
progfd() {
	awk -v n="$1" '$1 == "fd" && $2 == n {print $3}' "$OUT"
}

# line N: the "fd N" line of $T/fds
line() {
	grep "^fd $1 " "$T/fds"
}

# key N KEY: the value of KEY on the "fd N" line ("" when absent)
key() {
	line "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# start fds_policy in $T/d and dump it with ARG...; $T/fds is the member
policy_dump() {
	mkdir -p "$T/d"
	start_prog fds_policy "$T/d"
	dump "$T/img" "$@" "$PID"
	tar xOf "$T/img" "proc/$PID/fds" >"$T/fds"
	cat "$T/fds"
}

@test "dumpfds: usage errors exit 2, --help exits 0" {
	need ckpt-dumpfds
	usage_error
	usage_error 1 2
	usage_error --bogus 1
	usage_error --files-rules
	usage_error --offset 5 1
	usage_error --control 0 --offset x 1
	local p
	for p in abc 12x -5 '' ' 7' 0x10 99999999999999999999; do
		usage_error "$p"
	done
	run --separate-stderr "$BIN/ckpt-dumpfds" --help
	[ "$status" -eq 0 ]
	[[ $output == *usage:*--files-rules* ]]
	[ -z "$stderr" ]
}

@test "dumpfds: a pid without a shim fails, naming the pid, writing nothing" {
	need ckpt-dumpfds
	sleep 100 &
	STARTED+=("$!")
	run --separate-stderr "$BIN/ckpt-dumpfds" "$!"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ $stderr == *"pid $!"* ]]
}

@test "dumpfds: a, b, c, deleted, memfd; offsets and queues left alone" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	policy_dump
	local ro db wo del mfd
	ro=$(progfd ro) db=$(progfd db) wo=$(progfd wronly) del=$(progfd deleted) mfd=$(progfd memfd)
	# a: read-only, not saved
	[ "$(key "$ro" policy)" = a ]
	[ "$(key "$ro" pos)" = 5 ]
	[ -z "$(key "$ro" data)" ]
	[ "$(key "$ro" path)" = "$T/d/ro.txt" ]
	# b: O_APPEND, and writable at the end
	[ "$(key "$(progfd append)" policy)" = b ]
	[ "$(key "$(progfd end)" policy)" = b ]
	[ "$(key "$(progfd end)" pos)" = 11 ]
	[ -z "$(key "$(progfd end)" data)" ]
	# c: writable before the end, saved whole
	[ "$(key "$db" policy)" = c ]
	[ "$(key "$db" pos)" = 3 ]
	[ "$(key "$db" size)" = 18 ]
	[ "$(key "$db" data)" = "files/$db" ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$db")" = 0123456789database ]
	# c through a write-only fd: read by a reopen, not the fd
	[ "$(key "$wo" policy)" = c ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$wo")" = "write only data" ]
	# deleted: always saved, path without " (deleted)"
	line "$del" | grep -q "^fd $del deleted "
	[ "$(key "$del" policy)" = deleted ]
	[ "$(key "$del" path)" = "$T/d/gone.dat" ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$del")" = "deleted but open" ]
	# unlinked but linked beside its old name: that file, by the link
	# found (formats/fds.md), its old name said; read-only: not saved
	local ln=$(progfd linked)
	line "$ln" | grep -q "^fd $ln file "
	[ "$(key "$ln" path)" = "$T/d/other.dat" ]
	[ "$(key "$ln" unlinked)" = "$T/d/linked.dat" ]
	[ "$(key "$ln" policy)" = a ]
	[ -z "$(key "$ln" data)" ]
	# memfd: saved, its name and seals
	line "$mfd" | grep -q "^fd $mfd memfd "
	[ "$(key "$mfd" name)" = 'fds\040policy' ]
	[ "$(key "$mfd" seals)" = 0x2 ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$mfd")" = "memfd bytes" ]
	verify_prog
	no_fail
}

@test "dumpfds: one copy per file, dup'd fds point at their first" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	policy_dump
	local db db2 dbdup
	db=$(progfd db) db2=$(progfd db2) dbdup=$(progfd dbdup)
	# db2 is the same file opened again read-only: its own policy, the copy of db
	[ "$(key "$db2" policy)" = a ]
	[ "$(key "$db2" data)" = "files/$db" ]
	[ -z "$(key "$db2" dup)" ]
	# dbdup shares db's description
	[ "$(key "$dbdup" dup)" = "$db" ]
	[ "$(key "$dbdup" data)" = "files/$db" ]
	run -0 tar tf "$T/img"
	[ "$(grep -c "^proc/$PID/files/$db\$" <<<"$output")" -eq 1 ]
	[ "$(grep -c "^proc/$PID/files/\($db2\|$dbdup\)\$" <<<"$output")" -eq 0 ]
	# members in order: fds first, files/ in fd order
	[ "${lines[0]}" = "proc/$PID/fds" ]
	[ "$(grep files/ <<<"$output")" = "$(grep files/ <<<"$output" | sort -t/ -k4 -n)" ]
}

@test "dumpfds: pipes, sockets, eventfd, epoll, timerfd, dir, chr" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	policy_dump
	local r w s0 s1 ino ev ep
	r=$(progfd pipe_r) w=$(progfd pipe_w) s0=$(progfd sock0) s1=$(progfd sock1)
	ev=$(progfd eventfd) ep=$(progfd epoll)
	ino=$(key "$r" pipe)
	[ -n "$ino" ]
	[ "$(key "$w" pipe)" = "$ino" ]
	[ "$(key "$r" end)" = r ]
	[ "$(key "$w" end)" = w ]
	[ "$(key "$r" data)" = "pipes/$ino" ]
	[ "$(tar xOf "$T/img" "proc/$PID/pipes/$ino")" = "in the pipe" ]
	line "$s0" | grep -q "domain=unix type=stream"
	[ "$(key "$s0" peer_ino)" = "$(key "$s1" sock)" ]
	[ "$(key "$s1" peer_ino)" = "$(key "$s0" sock)" ]
	[ "$(key "$s0" cloexec)" = 1 ]
	[ "$(key "$ev" count)" = 7 ]
	[ $(( $(key "$ev" flags) & 04000 )) -ne 0 ]   # EFD_NONBLOCK
	grep -qx "epoll $ep $ev events=0x19 data=0xfeed ino=[0-9]*" "$T/fds"
	line "$(progfd timerfd)" | grep -Eq ' clock=1 .*interval=5\.000000000 '
	line "$(progfd dir)" | grep -q "^fd $(progfd dir) dir "
	[ "$(key "$(progfd null)" rdev)" = 1:3 ]
	# locks: flock (on both fds of the description), POSIX, OFD
	grep -qx "lock $(progfd db) class=flock type=write start=0 end=eof pid=$PID" "$T/fds"
	grep -qx "lock $(progfd dbdup) class=flock type=write start=0 end=eof pid=$PID" "$T/fds"
	grep -qx "lock $(progfd end) class=posix type=write start=0 end=4 pid=$PID" "$T/fds"
	grep -qx "lock $(progfd ro) class=ofd type=read start=1 end=3 pid=-1" "$T/fds"
	[ "$(grep -c '^lock ' "$T/fds")" -eq 4 ]
	# a named fifo: its path escaped, its bytes saved like a pipe's
	local fifo=$(progfd fifo)
	line "$fifo" | grep -q "^fd $fifo fifo "
	[ "$(key "$fifo" path)" = "$T/d/a\\040fifo" ]
	[ "$(key "$fifo" end)" = rw ]
	[ "$(tar xOf "$T/img" "proc/$PID/$(key "$fifo" data)")" = "fifo bytes" ]
	[ "$(key "$(progfd space)" path)" = "$T/d/sp\\040ace\\134.txt" ]
	# the pipe still holds its bytes, every offset is where it was
	verify_prog
	no_fail
}

@test "dumpfds: --checkpoint-open-files saves every file (d)" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	policy_dump --checkpoint-open-files
	local ro app
	ro=$(progfd ro) app=$(progfd append)
	[ "$(key "$ro" policy)" = d ]
	[ "$(key "$ro" data)" = "files/$ro" ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$ro")" = "read only" ]
	[ "$(key "$app" policy)" = d ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$app")" = "line 1" ]
	# deleted files stay "deleted"
	[ "$(key "$(progfd deleted)" policy)" = deleted ]
	verify_prog
}

# the rules the next two tests use, for the files of fds_policy in $T/d
write_rules() {
	cat >"$T/rules" <<EOF
# keep the read-only file, not the database
$T/d/ro.txt:SAVE_AND_RESTORE=1;RESTART_PATH=/ignored

$T/d/db.dat:SAVE_AND_RESTORE=0
$T/d/*.log:SAVE_AND_RESTORE=0;RESTART_PATH=/var/tmp/new logs/*.log
$T/d/wronly.dat:SAVE_AND_RESTORE=0;RESTART_PATH=/elsewhere/w.dat
$T/d/sp ace\\\\.txt:SAVE_AND_RESTORE=1
$T/*:SAVE_AND_RESTORE=0;RESTART_PATH=/moved/*
EOF
}

check_rules() {
	local ro db app wo
	ro=$(progfd ro) db=$(progfd db) app=$(progfd append) wo=$(progfd wronly)
	[ "$(key "$ro" policy)" = rule:2 ]
	[ "$(key "$ro" data)" = "files/$ro" ]
	[ -z "$(key "$ro" restart)" ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$ro")" = "read only" ]
	[ "$(key "$db" policy)" = rule:4 ]
	[ -z "$(key "$db" data)" ]
	[ -z "$(key "$db" restart)" ]
	[ "$(tar tf "$T/img" | grep -c "files/$db\$")" -eq 0 ]
	[ "$(key "$app" policy)" = rule:5 ]
	[ "$(key "$app" restart)" = '/var/tmp/new\040logs/append.log' ]
	[ "$(key "$wo" restart)" = /elsewhere/w.dat ]
	# the directory is matched by the last pattern: its wildcard part maps
	[ "$(key "$(progfd dir)" policy)" = rule:8 ]
	[ "$(key "$(progfd dir)" restart)" = /moved/d ]
	# a space and a quoted backslash in the pattern
	[ "$(key "$(progfd space)" policy)" = rule:7 ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$(progfd space)")" = spaced ]
	# deleted files are saved whatever the rules say
	[ "$(key "$(progfd deleted)" policy)" = deleted ]
	# the rules member is the file, byte for byte, and comes last
	tar xOf "$T/img" "proc/$PID/rules" | cmp - "$T/rules"
	[ "$(tar tf "$T/img" | tail -n 1)" = "proc/$PID/rules" ]
}

@test "dumpfds: --files-rules: save, don't save, restart paths, pattern mapping" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	write_rules
	policy_dump --files-rules "$T/rules"
	check_rules
	verify_prog
}

@test "dumpfds: \$CKPT_FILES_DATA names the rules file" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	write_rules
	CKPT_FILES_DATA=$T/rules policy_dump
	check_rules
}

@test "dumpfds: a malformed rules line: exit 1, file and line named, nothing written" {
	need ckpt-run ckpt-dumpfds prog:fds_policy
	mkdir -p "$T/d"
	start_prog fds_policy "$T/d"
	local bad
	for bad in 'relative/path:SAVE_AND_RESTORE=1' '/x:SAVE_AND_RESTORE=2' \
		'/x:SAVE_AND_RESTORE=1;RESTART=/y' '/x' '/x[ab:SAVE_AND_RESTORE=0' \
		'/x:SAVE_AND_RESTORE=0;RESTART_PATH=/y*'; do
		printf '# ok\n/a:SAVE_AND_RESTORE=1\n%s\n/b:SAVE_AND_RESTORE=0\n' "$bad" >"$T/bad"
		run --separate-stderr "$BIN/ckpt-dumpfds" --files-rules "$T/bad" "$PID"
		echo "$bad: exit $status; stderr: $stderr"
		[ "$status" -eq 1 ]
		[ -z "$output" ]
		[[ $stderr == *"$T/bad:3: "* ]]
		CKPT_FILES_DATA=$T/bad run --separate-stderr "$BIN/ckpt-dumpfds" "$PID"
		[ "$status" -eq 1 ]
		[ -z "$output" ]
		[[ $stderr == *"$T/bad:3: "* ]]
	done
	run --separate-stderr "$BIN/ckpt-dumpfds" --files-rules "$T/missing" "$PID"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$T/missing"* ]]
	# never frozen: it answers at once
	verify_prog
}

@test "dumpfds: 1000 open files, in batches, each saved" {
	need ckpt-run ckpt-dumpfds prog:fds_many
	mkdir -p "$T/m"
	start_prog fds_many "$T/m" 1000
	dump "$T/img" "$PID"
	tar xOf "$T/img" "proc/$PID/fds" >"$T/fds"
	[ "$(grep -c "^fd [0-9]* file .* policy=c data=files/" "$T/fds")" -eq 1000 ]
	run -0 tar tf "$T/img"
	[ "$(grep -c "^proc/$PID/files/" <<<"$output")" -eq 1000 ]
	# sorted by fd, each line's path and bytes agree
	[ "$(cut -d' ' -f2 "$T/fds")" = "$(cut -d' ' -f2 "$T/fds" | sort -n)" ]
	local first last fd i
	read -r _ first last < <(grep '^fds ' "$OUT")
	for fd in "$first" "$last" $(( (first + last) / 2 )); do
		i=$(key "$fd" path | sed 's/.*\/f//')
		[ "$(tar xOf "$T/img" "proc/$PID/files/$fd")" = "file $i" ]
		[ "$(key "$fd" pos)" = 2 ]
	done
	verify_prog
	no_fail
}

@test "dumpfds: in ckpt-freeze's stream, the fds member and the saved files" {
	need ckpt-run ckpt-freeze ckpt-dumpfds prog:fds_policy
	mkdir -p "$T/d"
	start_prog fds_policy "$T/d"
	freeze_ok "$T/img" "$PID"
	tar xOf "$T/img" "proc/$PID/fds" >"$T/fds"
	local db
	db=$(progfd db)
	[ "$(key "$db" data)" = "files/$db" ]
	[ "$(tar xOf "$T/img" "proc/$PID/files/$db")" = 0123456789database ]
	verify_prog
}

@test "dumpfds: more fds than it may hold: exit 1, says so, the program runs on" {
	need ckpt-run ckpt-dumpfds prog:fds_many
	mkdir -p "$T/m"
	start_prog fds_many "$T/m" 600
	run --separate-stderr timeout -k 5 60 bash -c 'ulimit -n 300; exec "$0" "$1"' "$BIN/ckpt-dumpfds" "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[[ $stderr == *"pid $PID: list of open fds"*"ulimit -n"* ]]
	verify_prog
}
