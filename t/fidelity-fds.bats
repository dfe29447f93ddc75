#!/usr/bin/env bats
# fd state a restore used to get wrong without a word (issue 17,
# "Files"): each program (t/progs/fdf_*.c) sets the state,
# ckpt-freeze --kill checkpoints it, ckpt-thaw restores it, and the
# program checks the state itself and says what it found.  What no
# restore can bring back is refused at the checkpoint, before --kill
# fires: exit 1, the fd named, the program still running.  Runs as
# root (the old pids).

load helpers
load thaw

# progfd NAME: the fd the program opened for NAME
progfd() {
	awk -v n="$1" '$1 == "open" && $2 == n {print $3}' "$OUT"
}

# refused_at_checkpoint PATTERN: ckpt-freeze --kill $PID fails (exit
# 1), its stderr has PATTERN (grep -E) and says it did not kill; the
# program runs on and still verifies
refused_at_checkpoint() {
	local rc=0
	"$BIN/ckpt-freeze" --kill "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -Eq -- "$1" "$T/err"
	grep -q "ckpt-freeze: pid $PID: not killed: it runs on" "$T/err"
	alive "$PID"
	verify_prog "$PID" "$OUT"
}

@test "fidelity-fds: a pipe end opened again through /proc/self/fd keeps its own description and O_NONBLOCK, on one pipe" {
	checkpoint_kill fdf_pipes
	thaw_bg "$T/img"
	restored fdf_pipes
	finish
	cat "$OUT"
	grep -qx 'pipes fl=r:0,w:0,r2:1,w2:1 apart=1 one=1 read=queued eagain=1 cross=1' "$OUT"
}

@test "fidelity-fds: a pipe whose writer exited unreaped reads its bytes, then EOF; one whose reader exited gives EPIPE (ckpt-thaw kept the other end: the reader hung)" {
	checkpoint_kill fdf_pipeleft
	# its ends: a's read end fd 3, b's write end fd 6 (an fd inherited
	# from whoever runs the suite may be such a pipe end too)
	img cat "$T/img" "proc/$PID/fds" | grep -E '^fd (3|6) ' | grep -c ' other_closed=1' | grep -qx 2
	thaw_bg "$T/img"
	restored fdf_pipeleft
	finish
	cat "$OUT"
	grep -qx 'pipes read=hello eof=1 epipe=1 status=3,4' "$OUT"
}

@test "fidelity-fds: an epoll watching a file under an fd number closed since (dup'ed away) watches it under that number again" {
	checkpoint_kill fdf_epoll moved
	tar xOf "$T/img" "proc/$PID/fds" | grep '^epoll '
	thaw_bg "$T/img"
	restored fdf_epoll
	finish
	cat "$OUT"
	grep -qx 'moved ok' "$OUT"
}

@test "fidelity-fds: an epoll with two files registered under one fd number keeps both" {
	checkpoint_kill fdf_epoll twice
	tar xOf "$T/img" "proc/$PID/fds" | grep '^epoll '
	thaw_bg "$T/img"
	restored fdf_epoll
	finish
	cat "$OUT"
	grep -qx 'twice ok' "$OUT"
}

@test "fidelity-fds: an epoll watching a file that no fd of the process holds any more is refused at the checkpoint, and the program runs on" {
	need ckpt-run ckpt-freeze prog:fdf_epoll
	start_prog fdf_epoll gone
	refused_at_checkpoint "ckpt-dumpfds: pid $PID: epoll fd $(progfd ep): watches the file added as fd $(progfd a), closed since, and no fd of this process holds that file now: cannot be restored"
	grep -qx 'gone ok' "$OUT"
	# it kills the child that holds the file as it ends
	kill -TERM "$PID"
	wait "$PID"
}

@test "fidelity-fds: O_PATH fds on a file, a directory, a symlink and a device, and fds on /proc/self/ns/*, come back on the same inodes" {
	mkdir "$T/d"
	checkpoint_kill fdf_opath "$T/d"
	tar xOf "$T/img" "proc/$PID/fds"
	thaw_bg "$T/img"
	restored fdf_opath
	finish
	cat "$OUT"
	grep -qx 'opath same=111111 path=111101 inside=1 target=f bytes=bytes' "$OUT"
}

@test "fidelity-fds: a FIFO unlinked after its opens comes back as one pipe, its bytes and O_NONBLOCK kept" {
	mkdir "$T/d"
	checkpoint_kill fdf_gone fifo "$T/d"
	fdline pipe
	# by design a pipe now, no longer the FIFO's path (formats/fds.md)
	STATE_EXPECT="fd 3;fd 4" thaw_bg "$T/img"
	restored fdf_gone
	finish
	cat "$OUT"
	grep -qx 'fifo one=1 nb=1 read=queued eagain=1 cross=1' "$OUT"
}

@test "fidelity-fds: a device node of /dev/null unlinked after its open comes back as /dev/null" {
	mkdir "$T/d"
	checkpoint_kill fdf_gone dev "$T/d"
	fdline chr
	# by design /dev/null itself now, not the unlinked node
	STATE_EXPECT="fd 3" thaw_bg "$T/img"
	restored fdf_gone
	finish
	cat "$OUT"
	grep -qx 'dev rdev=1:3 wrote=5 read=0' "$OUT"
}

@test "fidelity-fds: a directory removed since its open is refused at the checkpoint, and the program runs on" {
	need ckpt-run ckpt-freeze prog:fdf_gone
	mkdir "$T/d"
	start_prog fdf_gone dir "$T/d"
	refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd r): dir $T/d/gone: cannot be restored: removed since it was opened: nothing can open it again"
	grep -qx 'dir nlink=0 isdir=1' "$OUT"
}

@test "fidelity-fds: a file unlinked while open, its inode linked beside it, comes back as that file: writes reach the other name" {
	mkdir "$T/d"
	checkpoint_kill fdf_linked near "$T/d"
	local line
	line=$(tar xOf "$T/img" "proc/$PID/fds" | grep "^fd $(progfd a) ")
	echo "$line"
	[[ $line == "fd $(progfd a) file "*" unlinked=$T/d/a policy=b path=$T/d/b" ]]
	thaw_bg "$T/img"
	restored fdf_linked
	verify_prog
	finish
	cat "$OUT"
	grep -qx 'linked same=1 reads=hello+' "$OUT"
	[ "$(cat "$T/d/b")" = "hello++" ]
}

@test "fidelity-fds: a file unlinked while open whose other link is not beside it is refused at the checkpoint, and the program runs on" {
	need ckpt-run ckpt-freeze prog:fdf_linked
	mkdir "$T/d"
	start_prog fdf_linked far "$T/d"
	refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd a): deleted $T/d/a: cannot be restored: unlinked, but its inode has other links, none found beside the old name that the job may open: a copy would not reach them"
	[ "$(cat "$T/d/sub/b")" = "hello+" ]
}

@test "fidelity-fds: inotify watches come back with their numbers and masks, and the next watch gets the next number" {
	mkdir "$T/d"
	checkpoint_kill fdf_inotify files "$T/d"
	tar xOf "$T/img" "proc/$PID/fds" | grep '^inotify '
	thaw_bg "$T/img"
	restored fdf_inotify
	finish
	cat "$OUT"
	grep -qx 'inotify events=1:0x2,2:0x100:new,4:0x20 next=5 nb=1' "$OUT"
}

@test "fidelity-fds: an inotify watch on what has no path (a pipe) is refused at the checkpoint, and the program runs on" {
	need ckpt-run ckpt-freeze prog:fdf_inotify
	mkdir "$T/d"
	start_prog fdf_inotify pipe "$T/d"
	refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd ifd): inotify anon_inode:inotify: cannot be restored: watch 2 \(inode [0-9]+ on 0:[0-9]+\): no path to what it watches was found at the checkpoint, as the job's user"
	grep -q '^inotify events=1:0x2 next=' "$OUT"
}

@test "fidelity-fds: a fanotify fd is refused at the checkpoint, named, and the program runs on" {
	need ckpt-run ckpt-freeze prog:fdf_inotify
	mkdir "$T/d"
	start_prog fdf_inotify fanotify "$T/d"
	refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd fan): anon anon_inode:\[fanotify\]: cannot be restored: no restore knows this kind of fd yet"
}

# tty_prog: fdf_tty on a terminal of its own (script(1)), checkpointed
# with --kill to $T/img; sets PID
tty_prog() {
	need ckpt-run ckpt-freeze ckpt-thaw prog:fdf_tty
	need_root
	script -qfec "$RUN -- $PROGS/fdf_tty" /dev/null >"$T/ts" 2>&1 </dev/null 3>&- &
	STARTED+=("$!")
	wait_line "$T/ts" '^ready '
	PID=$(tr -d '\r' <"$T/ts" | awk '/^pid/ {print $2}')
	STARTED+=("$PID")
	grep -q '^open tty ' "$T/ts"
	freeze_ok "$T/img" --kill "$PID"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' rdev=5:0 '
}

@test "fidelity-fds: /dev/tty of a process with a controlling terminal comes back as ckpt-thaw's terminal" {
	tty_prog
	script -qfec "$THAW $T/img" /dev/null >"$T/ts2" 2>&1 </dev/null 3>&- &
	TPID=$!
	TPIDS+=("$TPID")
	restored fdf_tty
	verify_prog "$PID" "$T/ts2"
	kill -TERM "$PID"
	wait "$TPID"
	cat -A "$T/ts2"
	grep -q '^tty isatty=1 pts=1 is_dev_tty=1 wrote=1' "$T/ts2"
	grep -q '^done ok' "$T/ts2"
}

@test "fidelity-fds: /dev/tty restored by a ckpt-thaw without a controlling terminal fails, says why, and runs nothing" {
	tty_prog
	# it ran in the foreground of its terminal: said before its fds
	# are made (/dev/tty at fd 3 would say so too)
	thaw_ttyless_fails "$T/img"
}

@test "fidelity-fds: an fd on a namespace the checkpoint is not in is refused at the checkpoint, and the program runs on" {
	need ckpt-run ckpt-freeze prog:fdf_opath
	mkdir "$T/d"
	start_prog fdf_opath "$T/d" otherns
	refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd otherns): ns net:\[[0-9]+\]: cannot be restored: a namespace ckpt-thaw is not in: only its own can be opened again"
	grep -qx 'opath same=1111111 path=1111010 inside=1 target=f bytes=bytes' "$OUT"
}

@test "fidelity-fds: not root: a throwaway user's inotify watches in its working directory come back in a new user and pid namespace" {
	throwaway_user ckfd
	user_thaw_ns fdf_inotify files .
	tar xOf "$D/img" | grep -a '^inotify '
	kill -TERM "$prog"
	wait "$USER_SH"
	cat "$D/thaw.err" "$D/out"
	grep -qx 'inotify events=1:0x2,2:0x100:new,4:0x20 next=5 nb=1' "$D/out"
	grep -q '^done ok' "$D/out"
}

@test "fidelity-fds: root checkpoints a user's inotify watch on a file the user may no longer read: refused, nothing named that the user could not reach" {
	throwaway_user ckfd
	user_dir
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D start_prog fdf_inotify files "$D"
	# the watched file becomes root's alone after the watch was added
	chown root:root "$D/g"
	chmod 0600 "$D/g"
	CKPT_SOCKDIR=$D/sock refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd ifd): inotify anon_inode:inotify: cannot be restored: watch 4 \(inode $(stat -c %i "$D/g") on [0-9]+:[0-9]+\): no path to what it watches was found at the checkpoint, as the job's user"
	# without --kill the image is written: that watch has no path
	CKPT_SOCKDIR=$D/sock freeze_ok "$T/img2" "$PID"
	tar xOf "$T/img2" "proc/$PID/fds" | grep '^inotify '
	tar xOf "$T/img2" "proc/$PID/fds" | grep -q "^inotify [0-9]* wd=2 .* path=$D/sub\$"
	! tar xOf "$T/img2" "proc/$PID/fds" | grep "^inotify [0-9]* wd=4 " | grep -q path=
}

@test "fidelity-fds: root checkpoints a user's unlinked file whose other link is in a directory the user may not list: refused, the link not named" {
	throwaway_user ckfd
	user_dir
	mkdir -m 0777 "$D/w"
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D start_prog fdf_linked near "$D/w"
	# the directory of both names becomes root's, searchable, not listable
	chown root:root "$D/w"
	chmod 0711 "$D/w"
	CKPT_SOCKDIR=$D/sock refused_at_checkpoint "ckpt-dumpfds: pid $PID: fd $(progfd a): deleted $D/w/a: cannot be restored: unlinked, but its inode has other links, none found beside the old name that the job may open"
	CKPT_SOCKDIR=$D/sock freeze_ok "$T/img2" "$PID"
	tar xOf "$T/img2" "proc/$PID/fds" | grep "^fd $(progfd a) "
	tar xOf "$T/img2" "proc/$PID/fds" | grep -q "^fd $(progfd a) deleted .* nlink=1 "
	! tar xOf "$T/img2" "proc/$PID/fds" | grep -q "$D/w/b"
}

@test "fidelity-fds: a deleted file and a memfd the program opened read-only can still be executed after the restore (no ETXTBSY)" {
	mkdir "$T/d"
	checkpoint_kill fdf_exec "$T/d"
	thaw_bg "$T/img"
	restored fdf_exec
	verify_prog
	finish
	cat "$OUT"
	[ "$(grep -c '^exec deleted=0 memfd=0$' "$OUT")" = 2 ]
}

@test "fidelity-fds: a deleted file and a memfd with holes come back with the same holes and bytes" {
	mkdir "$T/d"
	checkpoint_kill fdf_sparse "$T/d"
	tar xOf "$T/img" "proc/$PID/fds" | grep ' holes='
	thaw_bg "$T/img"
	restored fdf_sparse
	finish
	cat "$OUT"
	grep -qx 'sparse deleted same=1 bytes=AB' "$OUT"
	grep -qx 'sparse memfd same=1 bytes=AB' "$OUT"
}

@test "fidelity-fds: /dev/stdin opened on a stdin pipe from outside reads what fd 0 is attached to after the restore, its queued bytes first" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:fdf_pipes
	need_root
	# start_prog's program has no stdin of ours (an async command's is
	# /dev/null): started here, its stdin a pipe with bytes queued
	OUT=$T/fdf_pipes.out
	"$RUN" -- "$PROGS/fdf_pipes" stdin < <(printf 'hello\n') >"$OUT" 2>"$T/fdf_pipes.err" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	tar xOf "$T/img" "proc/$PID/fds" | grep '^fd [03] '
	tar xOf "$T/img" "proc/$PID/fds" | grep -q '^fd 0 pipe .* buffered=6 '
	ERR=$T/fdf_pipes.err
	thaw_bg "$T/img" </dev/null
	restored fdf_pipes
	finish
	cat "$OUT"
	grep -qx 'stdin in=hello\\x0a eof=1' "$OUT"
}

@test "fidelity-fds: a deleted file's open file description that a parent and its child share comes back as one (it was refused: no data= on the child's line)" {
	mkdir "$T/d"
	checkpoint_kill fdf_forkdel "$T/d"
	local c
	c=$(awk '$1 == "child" {print $2}' "$OUT")
	tar xOf "$T/img" "proc/$c/fds" | grep "^fd $(progfd f) deleted .* share=$PID:$(progfd f) "
	thaw_bg "$T/img"
	restored fdf_forkdel
	finish
	cat "$OUT"
	grep -qx 'forkdel shared=1' "$OUT"
}

@test "fidelity-fds: a timerfd set to a wall-clock time (ABSTIME, CANCEL_ON_SET) keeps that time and its flags, however late the restore" {
	checkpoint_kill fdf_timer
	fdline timerfd
	[[ $(fdline timerfd) == *" tflags=03 "*" abs="* ]]
	sleep 3   # the restore comes 3 s later: a relative timer would be late by as much
	thaw_bg "$T/img"
	restored fdf_timer
	finish
	cat "$OUT"
	grep -qx 'timer flags=03 kept=1' "$OUT"
}

@test "fidelity-fds: a flock, an OFD lock and a POSIX lock come back the restored process's: /proc names it, another process is refused, its unlock and close release them" {
	mkdir "$T/d"
	checkpoint_kill fdf_locks "$T/d"
	tar xOf "$T/img" "proc/$PID/fds" | grep '^lock '
	thaw_bg "$T/img"
	restored fdf_locks
	verify_prog
	# lslocks reads /proc/locks: the flock and the POSIX lock are $PID's
	local ino
	ino=$(stat -c %i "$T/d/f")
	grep -E "^[0-9]+: FLOCK +ADVISORY +WRITE $PID [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks
	ino=$(stat -c %i "$T/d/p")
	grep -E "^[0-9]+: POSIX +ADVISORY +WRITE $PID [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks
	finish
	cat "$OUT"
	grep -qx 'locks owner=1 conflict=1 released=1' "$OUT"
}

@test "fidelity-fds: a deleted file reads as its old name (deleted) again, its mode and bytes kept; one whose name is taken since keeps its temporary name, the other file untouched" {
	mkdir "$T/d"
	checkpoint_kill fdf_delname "$T/d"
	fdline deleted
	# the name taken since: by design its temporary one (formats/fds.md)
	STATE_EXPECT="fd $(progfd taken)" thaw_bg "$T/img"
	restored fdf_delname
	verify_prog
	ls -lA "$T/d"
	[ "$(readlink "/proc/$PID/fd/$(progfd gone)")" = "$T/d/gone (deleted)" ]
	[[ $(readlink "/proc/$PID/fd/$(progfd taken)") == "$T/d/.taken.ckpt-"*" (deleted)" ]]
	# no temporary name left behind, the other file as it was
	[ "$(ls -A "$T/d")" = taken ]
	[ "$(cat "$T/d/taken")" = new ]
	finish
	cat "$OUT"
	grep -qx 'delname name=1 mode=0640 bytes=gone,old other=new' "$OUT"
}

@test "fidelity-fds: root restores a user's deleted file in a directory the user may no longer write: refused as the user would be, nothing made there" {
	throwaway_user ckfd
	user_dir
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups mkdir "$D/w"
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D checkpoint_kill fdf_delname "$D/w"
	# the directory becomes root's, the user may only search it
	chown root:root "$D/w"
	chmod 0755 "$D/w"
	thaw_fails "ckpt-thaw: pid $PID: fd $(progfd gone): a new file for the contents of $D/w/gone: Permission denied" "$T/img"
	[ "$(ls -A "$D/w")" = taken ]
}

@test "fidelity-fds: a deleted file a parent and its child map MAP_SHARED and hold open comes back a deleted file of its name on its file system, its mode and O_NOFOLLOW kept, one file for both (it was a memfd)" {
	mkdir "$T/d"
	checkpoint_kill fdf_sharedel "$T/d"
	tar xOf "$T/img" ckpt/shm
	thaw_bg "$T/img"
	restored fdf_sharedel
	ls -lA "$T/d"
	[ -z "$(ls -A "$T/d")" ]
	finish
	cat "$OUT"
	grep -qx 'sharedel file=1 mode=0640 nofollow=1 shared=1' "$OUT"
}
