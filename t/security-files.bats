#!/usr/bin/env bats
# Root restoring a user's job does the job's file work as the job
# (issue 9, hole 1; doc/design.md "Trust"; lib/jobfs.c).  The attacker
# is a throwaway user cks2N: it runs t/progs/fdr_prog under ckpt-run in
# its own directory, checkpoints it itself with --kill (a genuine image,
# unmodified tools), and then either replaces the files the job had open
# by symlinks to root's files, or edits the image's fds member.  Root
# then runs ckpt-thaw on the image.  What must hold: nothing root owns is
# written, truncated, or handed to the restored process unless the user
# could have opened it; a refusal names the fd and the path.
# Runs as root.

load helpers
load thaw

setup() {
	thaw_setup
	need_root
	need ckpt-run ckpt-freeze ckpt-thaw prog:fdr_prog
	throwaway_user cks2
	# the job's directory, the user's; root's files beside it
	user_own_dir
	S=$(mktemp -d /tmp/cks2-root-XXXXXX)
	TMPDIRS+=("$S")
	chmod 0755 "$S"
	printf 'ROOT-SECRET\n' >"$S/secret"
	chmod 0600 "$S/secret"
	printf 'root log line\n' >"$S/rootlog"
	printf 'ROOT-DATABASE-CONTENT\n' >"$S/rootdb"
	chmod 0644 "$S/rootlog" "$S/rootdb"
	touch -d '2020-01-01 00:00' "$S/secret" "$S/rootlog" "$S/rootdb"
	ROOT_BEFORE=$(root_state)
}

teardown() {
	thaw_teardown
}

# root_state: contents, size, mode, owner and mtime of root's files
root_state() {
	local f
	for f in "$S/secret" "$S/rootlog" "$S/rootdb"; do
		stat -c '%n %s %a %U %Y' "$f"
		md5sum <"$f"
	done
}

# user_job SPEC...: as the user, fdr_prog SPEC... under ckpt-run, and
# its own ckpt-freeze --kill of it into $D/img.  Sets PID and OUT.
user_job() {
	user_checkpoint "$PROGS/fdr_prog" "$@"
}

# progfd NAME: the fd fdr_prog opened for NAME
progfd() {
	awk -v n="$1" '$1 == "open" && $2 == n {print $3}' "$OUT"
}

# thaw_fails: root's ckpt-thaw of IMG (default $D/img) exits 1 within
# 20 s, its message in $T/thaw.err, and nothing it made is left running
thaw_fails() {
	local st=0
	timeout -s TERM 20 "$THAW" "${1:-$D/img}" 2>"$T/thaw.err" || st=$?
	echo "ckpt-thaw exited $st; stderr:"
	cat "$T/thaw.err"
	[ "$st" -eq 1 ]
	dead "$PID"
}

# root_intact: root's files are as setup made them, and no process has
# one of them open
root_intact() {
	[ "$(root_state)" = "$ROOT_BEFORE" ]
	! ls -l /proc/[0-9]*/fd/ 2>/dev/null | grep -F -e "$S/" || false
}

# craft SED: the image's fds member edited by the sed script SED, as $T/crafted
craft() {
	img_craft "$D/img" "proc/$PID/fds" "$1" "$T/crafted"
}

@test "security-files: a read-only input swapped for a symlink to a root-only file: refused, fd and path named" {
	user_job "in:r:2:$D/in:user input"
	as_user sh -c 'rm in && ln -s "$1" in' _ "$S/secret"
	thaw_fails
	grep -F "fd $(progfd in): file $D/in: Permission denied" "$T/thaw.err"
	root_intact
}

@test "security-files: an O_APPEND log swapped for a symlink to a root file: refused, the root file not appended to" {
	user_job "log:a:end:$D/log:line1\n"
	as_user sh -c 'rm log && ln -s "$1" log' _ "$S/rootlog"
	thaw_fails
	grep -F "fd $(progfd log): file $D/log: Permission denied" "$T/thaw.err"
	root_intact
}

@test "security-files: a saved database swapped for a symlink to a root file: the copy replaces the symlink, not root's file" {
	user_job "db:rw:3:$D/db:database-0123456789"
	[[ $(tar xOf "$D/img" "proc/$PID/fds" | grep "^fd $(progfd db) ") == *" data=files/"* ]]
	as_user sh -c 'rm db && ln -s "$1" db' _ "$S/rootdb"
	thaw_bg "$D/img"
	restored fdr_prog
	verify_prog "$PID" "$OUT"
	root_intact
	# the restored fd reads the checkpoint's bytes, from the user's own file
	grep -F "at db fd=$(progfd db) pos=3 size=19 data=database-0123456789 link=$D/db" "$OUT"
	[ ! -L "$D/db" ]
	[ "$(stat -c %U "$D/db")" = "$NEW_USER" ]
	[ "$(head -c 19 "$D/db")" = database-0123456789 ]
	# no temporary name is left beside it (the old file goes in the
	# background: a moment)
	local i
	for ((i = 0; i < 250; i++)); do
		[ -z "$(find "$D" -maxdepth 1 -name '.db.ckpt-*')" ] && break
		sleep 0.02
	done
	[ -z "$(find "$D" -maxdepth 1 -name '.db.ckpt-*')" ]
	finish
}

@test "security-files: a crafted truncate=1 size=0 on a root file leaves it intact" {
	user_job "log:w:end:$D/log:line1\n"
	local fd
	fd=$(progfd log)
	# as the checkpoint wrote it (write-only): the open as the job fails
	craft "/^fd $fd /{s|path=.*|truncate=1 path=$S/rootlog|;s/ size=[0-9]+/ size=0/}"
	thaw_fails "$T/crafted"
	grep -F "fd $fd: file $S/rootlog: Permission denied" "$T/thaw.err"
	root_intact
	# read-only, which the job may open: refused before anything is opened
	craft "/^fd $fd /{s|path=.*|truncate=1 path=$S/rootlog|;s/ size=[0-9]+/ size=0/;s/ flags=0[0-7]+/ flags=0100000/}"
	thaw_fails "$T/crafted"
	grep -F "fd $fd file: truncate=1 on a file not open for writing" "$T/thaw.err"
	root_intact
}

@test "security-files: a crafted device path (/dev/mem, a root-only device) is refused, and so is a device behind a listed name" {
	user_job "null:r:0:/dev/null"
	local fd
	fd=$(progfd null)
	tar xOf "$D/img" "proc/$PID/fds" | grep "^fd $fd chr .*rdev=1:3 .*path=/dev/null$"
	craft "/^fd $fd /{s|path=/dev/null|path=/dev/mem|;s/rdev=1:3/rdev=1:1/}"
	thaw_fails "$T/crafted"
	grep -F "fd $fd: chr /dev/mem: cannot be restored: not a device a restore reopens" "$T/thaw.err"
	# /dev/kmsg is readable by anyone here: what is not listed is refused all the same
	craft "/^fd $fd /{s|path=/dev/null|path=/dev/kmsg|;s/rdev=1:3/rdev=1:11/}"
	thaw_fails "$T/crafted"
	grep -F "fd $fd: chr /dev/kmsg: cannot be restored: not a device a restore reopens" "$T/thaw.err"
	# a file where a fifo was: not opened as what it is not (and no hang)
	as_user mkfifo "$D/fifo"
	craft "/^fd $fd /{s| chr | file |;s|path=/dev/null|path=$D/fifo|}"
	thaw_fails "$T/crafted"
	grep -F "fd $fd: file $D/fifo: not that kind of file now" "$T/thaw.err"
	root_intact
}

@test "security-files: a saved file's path edited into root's directory: refused, nothing made there" {
	user_job "db:rw:3:$D/db:database-0123456789"
	local fd
	fd=$(progfd db)
	craft "/^fd $fd /s|path=.*|path=$S/newdb|"
	# the user's own image, edited by the user
	chown "$NEW_USER:" "$T/crafted"
	chmod 0600 "$T/crafted"
	thaw_fails "$T/crafted"
	grep -F "fd $fd: a new file for the contents of $S/newdb: Permission denied" "$T/thaw.err"
	[ "$(ls -A "$S" | sort | tr '\n' ' ')" = "rootdb rootlog secret " ]
	root_intact
}
