#!/usr/bin/env bats
# ckpt-thaw and the open-file policy (formats/fds.md, issue 6): a program
# (t/progs/fdr_prog.c) opens files as each case says and writes known
# bytes; ckpt-freeze --kill checkpoints it; the file is then changed,
# moved or deleted; ckpt-thaw restores it; and the program itself, on
# SIGUSR1, says what each fd holds and reads or writes through it.
# Runs as root (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	thaw_teardown
}

# at NAME KEY: KEY of the last "at NAME ..." line fdr_prog printed
# (link= is last and may hold spaces: everything after it)
at() {
	local l
	l=$(grep "^at $1 " "$OUT" | tail -n 1)
	if [ "$2" = link ]; then
		echo "${l#* link=}"
	else
		echo "${l% link=*}" | tr ' ' '\n' | sed -n "s/^$2=//p"
	fi
}

# did WHAT NAME: the rest of the last "read NAME ..." or "wrote NAME ..." line
did() {
	grep "^$1 $2 " "$OUT" | tail -n 1 | cut -d' ' -f3-
}

# fdline FD: the "fd FD" line of the image's fds member
fdline() {
	tar xOf "$T/img" "proc/$PID/fds" | grep "^fd $1 "
}

# progfd NAME: the fd fdr_prog opened for NAME
progfd() {
	awk -v n="$1" '$1 == "open" && $2 == n {print $3}' "$OUT"
}

@test "fdrestore: a database changed after the checkpoint comes back as it was, at its offset" {
	checkpoint_kill fdr_prog "db:rw:9:$T/db:database-0123456789"
	[[ $(fdline "$(progfd db)") == *" policy=c data=files/"* ]]
	printf 'CHANGED after the checkpoint, and longer\n' >"$T/db"
	thaw_bg "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at db pos)" = 9 ]
	[ "$(at db size)" = 19 ]
	[ "$(at db data)" = database-0123456789 ]
	[ "$(at db link)" = "$T/db" ]
	[ "$(did read db)" = "0123 pos=13" ]
	[ "$(cat "$T/db")" = database-0123456789 ]
	finish
}

@test "fdrestore: logs appended to after the checkpoint are reopened at their offsets, not truncated" {
	checkpoint_kill fdr_prog "app:a:end:$T/app.log:line1\n" "end:w:end:$T/end.log:line1\n"
	[[ $(fdline "$(progfd app)") == *" policy=b "* ]]
	[[ $(fdline "$(progfd end)") == *" policy=b "* ]]
	[[ $(fdline "$(progfd app)") != *" data="* ]]
	printf 'extra\n' >>"$T/app.log"
	printf 'extra\n' >>"$T/end.log"
	thaw_bg "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	# the offsets are the checkpoint's; what came after it is still there
	[ "$(at app pos)" = 6 ]
	[ "$(at end pos)" = 6 ]
	[ "$(at app data)" = 'line1\x0aextra\x0a' ]
	[ "$(at end data)" = 'line1\x0aextra\x0a' ]
	[ "$(at app link)" = "$T/app.log" ]
	[ "$(at end link)" = "$T/end.log" ]
	# O_APPEND is kept: the write goes to the end; the other one writes
	# at the offset it had at the checkpoint
	[ "$(did wrote app)" = "pos=17" ]
	[ "$(did wrote end)" = "pos=11" ]
	[ "$(printf 'line1\nextra\nmore\n')" = "$(cat "$T/app.log")" ]
	[ "$(printf 'line1\nmore\n')" = "$(cat "$T/end.log")" ]
	finish
}

@test "fdrestore: a log under a TRUNCATE=1 rule is cut back to its checkpoint size" {
	echo "$T/app.log:SAVE_AND_RESTORE=0;TRUNCATE=1" >"$T/rules"
	FREEZE_ARGS="--files-rules $T/rules" checkpoint_kill fdr_prog \
		"app:a:end:$T/app.log:line1\n" "keep:a:end:$T/keep.log:line1\n"
	[[ $(fdline "$(progfd app)") == *" policy=rule:1 truncate=1 path=$T/app.log" ]]
	[[ $(fdline "$(progfd keep)") != *" truncate="* ]]
	printf 'extra\n' >>"$T/app.log"
	printf 'extra\n' >>"$T/keep.log"
	thaw_bg "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at app pos)" = 6 ]
	[ "$(at app data)" = 'line1\x0a' ]
	[ "$(at keep data)" = 'line1\x0aextra\x0a' ]
	[ "$(printf 'line1\nmore\n')" = "$(cat "$T/app.log")" ]
	finish
}

@test "fdrestore: TRUNCATE=1 with SAVE_AND_RESTORE=1 is a malformed rule" {
	echo "$T/app.log:SAVE_AND_RESTORE=1;TRUNCATE=1" >"$T/rules"
	need ckpt-dumpfds
	run --separate-stderr "$BIN/ckpt-freeze" --files-rules "$T/rules" 1
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$T/rules:1"*TRUNCATE* ]]
}

@test "fdrestore: a pattern rule's RESTART_PATH: files moved there are opened there, same offset" {
	mkdir -p "$T/X/in/sub" "$T/Y"
	echo "$T/X/in/*:SAVE_AND_RESTORE=0;RESTART_PATH=$T/Y/*" >"$T/rules"
	FREEZE_ARGS="--files-rules $T/rules" checkpoint_kill fdr_prog \
		"top:r:4:$T/X/in/data.txt:input-data" "deep:rw:2:$T/X/in/sub/deep.dat:deep-input"
	[[ $(fdline "$(progfd top)") == *" policy=rule:1 restart=$T/Y/data.txt path=$T/X/in/data.txt" ]]
	[[ $(fdline "$(progfd deep)") == *" policy=rule:1 restart=$T/Y/sub/deep.dat path=$T/X/in/sub/deep.dat" ]]
	mv "$T/X/in/data.txt" "$T/Y/data.txt"
	mv "$T/X/in/sub" "$T/Y/sub"
	[ ! -e "$T/X/in/data.txt" ] || false
	thaw_bg "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at top link)" = "$T/Y/data.txt" ]
	[ "$(at top pos)" = 4 ]
	[ "$(at top data)" = input-data ]
	[ "$(did read top)" = "t-da pos=8" ]
	[ "$(at deep link)" = "$T/Y/sub/deep.dat" ]
	[ "$(at deep pos)" = 2 ]
	[ "$(at deep data)" = deep-input ]
	[ "$(did read deep)" = "ep-i pos=6" ]
	[ ! -e "$T/X/in/data.txt" ] || false
	finish
}

@test "fdrestore: ckpt-thaw --files-rules: files moved after the checkpoint are opened where the rule says" {
	mkdir -p "$T/X/in/sub" "$T/Y"
	checkpoint_kill fdr_prog \
		"top:r:4:$T/X/in/data.txt:input-data" "deep:r:2:$T/X/in/sub/deep.dat:deep-input" \
		"stay:r:1:$T/stay.txt:stays"
	[[ $(fdline "$(progfd top)") == *" policy=a path=$T/X/in/data.txt" ]]
	mv "$T/X/in/data.txt" "$T/Y/data.txt"
	mv "$T/X/in/sub" "$T/Y/sub"
	echo "$T/X/in/*:SAVE_AND_RESTORE=0;RESTART_PATH=$T/Y/*" >"$T/rules"
	# without the rule, the first file is missing and named
	run --separate-stderr "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$T/X/in/data.txt"* ]]
	thaw_bg --files-rules "$T/rules" "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at top link)" = "$T/Y/data.txt" ]
	[ "$(at top pos)" = 4 ]
	[ "$(did read top)" = "t-da pos=8" ]
	[ "$(at deep link)" = "$T/Y/sub/deep.dat" ]
	[ "$(at deep pos)" = 2 ]
	[ "$(at stay link)" = "$T/stay.txt" ]
	finish
}

@test "fdrestore: ckpt-thaw --files-rules with a malformed line: exit 1, the line named, nothing restored" {
	checkpoint_kill fdr_prog "top:r:4:$T/data.txt:input-data"
	printf '%s\n' "$T/*:SAVE_AND_RESTORE=0;RESTART_PATH=$T/new/*" "$T/x:SAVE_AND_RESTORE=2" >"$T/rules"
	run --separate-stderr "$THAW" --files-rules "$T/rules" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$T/rules:2"* ]]
	dead "$PID"
}

@test "fdrestore: SAVE_AND_RESTORE=1 on a read-only file: the checkpoint's contents come back" {
	echo "$T/ro.txt:SAVE_AND_RESTORE=1" >"$T/rules"
	FREEZE_ARGS="--files-rules $T/rules" checkpoint_kill fdr_prog "ro:r:3:$T/ro.txt:read-only-text"
	[[ $(fdline "$(progfd ro)") == *" policy=rule:1 data=files/"* ]]
	printf 'something else entirely\n' >"$T/ro.txt"
	thaw_bg "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at ro data)" = read-only-text ]
	[ "$(at ro size)" = 14 ]
	[ "$(at ro pos)" = 3 ]
	[ "$(at ro link)" = "$T/ro.txt" ]
	[ "$(did read ro)" = "d-on pos=7" ]
	[ "$(cat "$T/ro.txt")" = read-only-text ]
	finish
}

@test "fdrestore: a deleted-but-open file comes back with its contents, still unlinked" {
	checkpoint_kill fdr_prog "gone:rwu:3:$T/gone.dat:deleted-contents"
	[[ $(fdline "$(progfd gone)") == "fd $(progfd gone) deleted "*" policy=deleted data=files/"* ]]
	[ ! -e "$T/gone.dat" ] || false
	thaw_bg "$T/img"
	restored fdr_prog
	local fd link
	fd=$(progfd gone)
	# a new unlinked file in the old directory (O_TMPFILE: its name is
	# "#INODE"), not the old name: formats/fds.md promises no name
	verify_prog "$PID" "$OUT"
	link=$(readlink "/proc/$PID/fd/$fd")
	echo "fd $fd -> $link"
	[[ $link == "$T/"*" (deleted)" ]]
	[ "$(stat -L -c %h "/proc/$PID/fd/$fd")" -eq 0 ]
	[ "$(at gone data)" = deleted-contents ]
	[ "$(at gone pos)" = 3 ]
	[ "$(at gone link)" = "$link" ]
	[ "$(did read gone)" = "eted pos=7" ]
	[ ! -e "$T/gone.dat" ] || false
	# nothing of the new file is left with a name in its directory
	[ "$(ls -A "$T" | grep -c gone)" -eq 0 ]
	finish
}

@test "fdrestore: --checkpoint-open-files: a read-only file changed after the checkpoint comes back" {
	FREEZE_ARGS=--checkpoint-open-files checkpoint_kill fdr_prog "ro:r:5:$T/ro.txt:saved-by-d"
	[[ $(fdline "$(progfd ro)") == *" policy=d data=files/"* ]]
	printf 'changed\n' >"$T/ro.txt"
	thaw_bg "$T/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at ro data)" = saved-by-d ]
	[ "$(at ro pos)" = 5 ]
	[ "$(did read ro)" = "-by- pos=9" ]
	[ "$(cat "$T/ro.txt")" = saved-by-d ]
	finish
}

@test "fdrestore: a read-only file missing at restart, no rule: exit 1, file and fd named, no process" {
	checkpoint_kill fdr_prog "ro:r:0:$T/missing.txt:here-at-checkpoint"
	[[ $(fdline "$(progfd ro)") == *" policy=a path=$T/missing.txt" ]]
	rm "$T/missing.txt"
	run --separate-stderr "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$T/missing.txt"* ]]
	[[ $stderr == *"fd $(progfd ro)"* ]]
	dead "$PID"
	[ -z "$(pgrep -f "$T/missing.txt")" ]
}

@test "fdrestore: 1000 open files come back at their offsets with their bytes" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:fds_many
	need_root
	mkdir "$T/many"
	start_prog fds_many "$T/many" 1000
	# many_fds: "FD POS PATH" for each fd of the process on a file of $T/many
	many_fds() {
		local l fd path
		for l in /proc/$PID/fd/*; do
			path=$(readlink "$l")
			[[ $path == "$T/many/"* ]] || continue
			fd=${l##*/}
			echo "$fd $(awk '$1 == "pos:" {print $2}' "/proc/$PID/fdinfo/$fd") $path"
		done | sort -n
	}
	many_fds >"$T/before"
	[ "$(wc -l <"$T/before")" -eq 1000 ]
	[ "$(awk '$2 != 2' "$T/before" | wc -l)" -eq 0 ]
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	# databases: saved, so changes after the checkpoint are undone
	echo changed >"$T/many/f0"
	echo changed >"$T/many/f500"
	rm "$T/many/f999"
	thaw_bg "$T/img"
	# 1000 files made by the job's helper: seconds on a loaded machine
	restored fds_many 30
	# the program answering is the restore being over
	verify_prog "$PID" "$OUT"
	many_fds >"$T/after"
	diff "$T/before" "$T/after"
	[ "$(cat "$T/many/f500")" = "file 500" ]
	[ "$(cat "$T/many/f999")" = "file 999" ]
	finish
}

# no_temp_names: nothing a restore made under a temporary name is left
# in $T (the old files of a commit go in the background: a moment)
no_temp_names() {
	local i
	for ((i = 0; i < 250; i++)); do
		[ -z "$(find "$T" -maxdepth 1 -name '.*.ckpt-*')" ] && return 0
		sleep 0.02
	done
	find "$T" -maxdepth 1 -name '.*.ckpt-*' >&2
	return 1
}

@test "fdrestore: a restore that fails on a changed binary writes nothing: later writes to the database stay" {
	# a copy of the program, so that touching it changes nothing else
	mkdir "$T/p"
	cp "$PROGS/fdr_prog" "$T/p/"
	PROGS=$T/p checkpoint_kill fdr_prog "db:rw:9:$T/db:database-0123456789"
	[[ $(fdline "$(progfd db)") == *" policy=c data=files/"* ]]
	printf 'written after the checkpoint\n' >"$T/db"
	touch "$T/p/fdr_prog"
	run --separate-stderr "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"mapped file $T/p/fdr_prog changed since the checkpoint"* ]]
	dead "$PID"
	[ "$(cat "$T/db")" = 'written after the checkpoint' ]
	no_temp_names
}

@test "fdrestore: a stream cut in its pages writes nothing: later writes to the database stay" {
	checkpoint_kill fdr_prog "db:rw:9:$T/db:database-0123456789"
	[[ $(fdline "$(progfd db)") == *" policy=c data=files/"* ]]
	printf 'written after the checkpoint\n' >"$T/db"
	# the last members (pages, trailer) are what is cut: every check of
	# the members before them passes, the files/ member included
	local size
	size=$(stat -c %s "$T/img")
	run --separate-stderr sh -c 'head -c "$1" "$2" | "$3"' _ $((size - 6000)) "$T/img" "$THAW"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *truncated* ]]
	dead "$PID"
	[ "$(cat "$T/db")" = 'written after the checkpoint' ]
	no_temp_names
}

@test "fdrestore: a file open read-write and mapped MAP_SHARED comes back, mapped from the restored copy" {
	checkpoint_kill fdr_prog "mdb:rwm:3:$T/mdb:mapped-database-0123456789"
	[[ $(fdline "$(progfd mdb)") == *" policy=c data=files/"* ]]
	printf 'CHANGED after the checkpoint\n' >"$T/mdb"
	thaw_bg "$T/img"
	restored fdr_prog
	# the mapping is of the file at its path (the restored copy)
	grep " $T/mdb$" "/proc/$PID/maps"
	[[ $(grep " $T/mdb$" "/proc/$PID/maps") == *" rw-s "* ]]
	verify_prog "$PID" "$OUT"
	[ "$(at mdb data)" = mapped-database-0123456789 ]
	[ "$(at mdb link)" = "$T/mdb" ]
	grep -x 'map mdb mapped-database-0123456789' "$OUT"
	# a store through the mapping reaches the file, and the fd sees it
	grep -x 'mapped mdb' "$OUT"
	[ "$(cat "$T/mdb")" = Mapped-database-0123456789 ]
	[ "$(did read mdb)" = "ped- pos=7" ]
	no_temp_names
	# and again: the restored process checkpoints and restores the same way
	freeze_ok "$T/img2" --kill "$PID"
	thaw_wait 137
	printf 'CHANGED again\n' >"$T/mdb"
	thaw_bg "$T/img2"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	[ "$(at mdb data)" = Mapped-database-0123456789 ]
	grep -x 'map mdb Mapped-database-0123456789' "$OUT"
	no_temp_names
	finish
}

# lock_refused PATH: a second process's POSIX write lock on PATH fails
lock_refused() {
	"$PYTHON" -c '
import fcntl, sys
with open(sys.argv[1], "r+") as f:
    try:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.exit(0)
print("lock on", sys.argv[1], "taken by another process")
sys.exit(1)' "$1"
}

# locks_before: while the program runs, a second writer is refused
locks_before() {
	lock_refused "$T/db"
	lock_refused "$T/log"
}

@test "fdrestore: POSIX locks are taken again by the restored process: a second writer is still refused" {
	# a database (saved: comes back as a new file) and a log (reopened)
	BEFORE_KILL=locks_before checkpoint_kill fdr_prog "db:rwl:0:$T/db:database-0123456789" \
		"log:rwl:end:$T/log:line1\n"
	[[ $(tar xOf "$T/img" "proc/$PID/fds" | grep "^lock $(progfd db) ") == *" class=posix type=write start=0 end=eof "* ]]
	[[ $(tar xOf "$T/img" "proc/$PID/fds" | grep "^lock $(progfd log) ") == *" class=posix type=write start=0 end=eof "* ]]
	# the program is gone: nobody holds them, a second writer gets them
	! lock_refused "$T/db" || false
	! lock_refused "$T/log" || false
	thaw_bg "$T/img"
	restored fdr_prog
	lock_refused "$T/db"
	lock_refused "$T/log"
	# held by the restored process itself
	[ "$(awk -v p="$PID" '$2 == "POSIX" && $5 == p' /proc/locks | wc -l)" -eq 2 ]
	finish
}

@test "fdrestore: a POSIX lock another process took since the checkpoint: exit 1, the fd named, no process" {
	checkpoint_kill fdr_prog "log:rwl:end:$T/log:line1\n"
	"$PYTHON" -c '
import fcntl, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
print("held", flush=True)
time.sleep(60)' "$T/log" >"$T/holder" &
	STARTED+=("$!")
	wait_line "$T/holder" '^held$'
	run --separate-stderr timeout 20 "$THAW" "$T/img"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"fd $(progfd log): take its POSIX lock again (another process holds one)"* ]]
	dead "$PID"
}

@test "fdrestore: bytes still queued in a stdin pipe come first after the restore, then ckpt-thaw's stdin" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:stdin_read
	need_root
	# the writer keeps its end open: no end of file before the checkpoint
	coproc FEED { printf 'AAAABBBBCCCC'; exec sleep 1000; }
	STARTED+=("$FEED_PID")
	OUT=$T/stdin_read.out
	local in
	exec {in}<&"${FEED[0]}"   # bash keeps a coproc's own fds from its children
	"$RUN" -- "$PROGS/stdin_read" <&"$in" >"$OUT" 2>"$T/stdin_read.err" 3>&- &
	PID=$!
	STARTED+=("$PID")
	exec {in}<&-
	wait_line "$OUT" '^ready '
	verify_prog
	[ "$(grep '^read ' "$OUT" | tail -n 1)" = 'read AAAA' ]
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	[[ $(tar xOf "$T/img" "proc/$PID/fds" | grep '^fd 0 ') == *" pipe "*" data=pipes/"* ]]
	printf 'DDDD' >"$T/more"
	# (not thaw_bg: a command put in the background inside a function
	# gets /dev/null for stdin)
	"$THAW" "$T/img" <"$T/more" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	restored stdin_read
	local want
	for want in BBBB CCCC DDDD EOF; do
		verify_prog
		[ "$(grep '^read ' "$OUT" | tail -n 1)" = "read $want" ]
	done
	finish
}
