#!/usr/bin/env bats
# Threads that block the freeze signal (issues 10, 17): glibc's helper
# thread of a SIGEV_THREAD POSIX timer and a thread that blocks every
# signal by the raw system call are adopted with ptrace (lib/seize.c)
# and parked like every other thread; the SIGEV_THREAD timer comes back
# aimed at the helper, which resumes its wait.  t/progs/sigblockers.c
# checks its own counts and masks; vim (Debian's, which makes such a
# timer) is restored in a pseudo-terminal and still works.

load helpers
load thaw

@test "seize: threads blocking every signal and a SIGEV_THREAD timer come back from --kill: counts go on, the timer fires, masks exact" {
	checkpoint_kill sigblockers
	local helper
	helper=$(awk '$1 == "helper" {print $2}' "$OUT")
	img cat "$T/img" "proc/$PID/timers" | tee /dev/stderr | grep -q "^timer 0 1 tid=$helper 32 "
	# the helper's own mask, SIGTIMER (32) blocked outside its wait
	img cat "$T/img" "proc/$PID/threads" | grep -A5 "^thread $helper\$" | grep -qx 'sigmask 0xfffffffefffbfeff'
	thaw_bg "$T/img"
	restored sigblockers
	grep -q "^notify: signal/tid.$helper" "/proc/$PID/timers"
	verify_prog
	verify_prog
	untraced "$PID"
	finish
}

@test "seize: checkpointed three times without --kill, the program runs on untraced with its masks" {
	need ckpt-run ckpt-freeze prog:sigblockers
	start_prog sigblockers
	local i
	for i in 1 2 3; do
		freeze_ok "$T/img$i" "$PID"
		untraced "$PID"
		verify_prog
	done
	kill -TERM "$PID"
	wait "$PID"
	no_fail
}

@test "seize: a throwaway user checkpoints and restores it (new user and pid namespaces)" {
	[ "$(id -u)" = 0 ] || skip "needs root to make the user"
	throwaway_user ckfz
	user_thaw_ns sigblockers
	verify_prog "$prog" "$D/out"
	verify_prog "$prog" "$D/out"
	kill -TERM "$prog"
	wait_line "$D/out" '^done ok'
	no_fail "$D/out" "$D/err"
}

# vim_start DIR: vim -u NONE under ckpt-run in a pseudo-terminal
# (t/progs/ptydrive.py: keys in DIR/in, screen in DIR/vim.log), a vim
# timer appending a line to DIR/ticks every 100 ms, and a search with a
# time limit, which makes vim's SIGEV_THREAD timer; VPID.  AS: a
# command that the rest runs under (setpriv to a user)
vim_start() {
	local d=$1 i
	(cd "$d" && TERM=xterm exec ${AS:-} "$PYTHON" "$CKPT_ROOT/t/progs/ptydrive.py" in vim.log vim.pid \
		"$RUN" -- vim -u NONE -N -i NONE -n \
		-c "call timer_start(100, {-> writefile([reltimestr(reltime())], 'ticks', 'a')}, {'repeat': -1})" \
		-c "call search('zzz', 'n', 0, 50)" 3>&- 4>&- >/dev/null 2>&1) &
	STARTED+=("$!")
	wait_line "$d/vim.pid" '^[0-9]+$' 10
	VPID=$(cat "$d/vim.pid")
	STARTED+=("$VPID")
	wait_line "$d/ticks" . 10
	for ((i = 0; i < 250; i++)); do
		grep -q '^signal: 32/' "/proc/$VPID/timers" 2>/dev/null && return 0
		sleep 0.02
	done
	echo "vim_start: no SIGEV_THREAD timer in vim $VPID" >&2
	return 1
}

# vim_thaw DIR: ckpt-thaw DIR/img in a pseudo-terminal (keys in
# DIR/in2), under AS; TPID; its exit status in DIR/thaw.exit
vim_thaw() {
	local d=$1
	(cd "$d" && TERM=xterm ${AS:-} "$PYTHON" "$CKPT_ROOT/t/progs/ptydrive.py" in2 thaw.log thaw.pid \
		"$THAW" img 3>&- 4>&- >/dev/null 2>&1; echo "$?" >"$d/thaw.exit") &
	TPIDS+=("$!")
	wait_line "$d/thaw.pid" '^[0-9]+$' 10
	TPID=$(cat "$d/thaw.pid")
	TPIDS+=("$TPID")
}

# vim_obeys DIR: the restored vim's timer goes on, it writes a file and
# searches with a time limit on command, and quits: ckpt-thaw exits 0
vim_obeys() {
	local d=$1
	ticks_grow "$d/ticks"
	printf ':call writefile(["restored"], "written")\r' >"$d/in2"
	wait_line "$d/written" '^restored$' 10
	printf ':call writefile([search("zzz", "n", 0, 50)], "searched")\r' >"$d/in2"
	wait_line "$d/searched" '^0$' 10
	ticks_grow "$d/ticks"
	printf ':qa!\r' >"$d/in2"
	wait_line "$d/thaw.exit" '^0$' 10
}

need_vim() {
	need ckpt-run ckpt-freeze ckpt-thaw
	command -v vim >/dev/null || { echo "vim is not installed: make deps installs it" >&2; return 1; }
}

# ticks_grow FILE: FILE gets more lines within 5 s
ticks_grow() {
	local n i
	n=$(wc -l <"$1")
	for ((i = 0; i < 250; i++)); do
		[ "$(wc -l <"$1")" -gt "$n" ] && return 0
		sleep 0.02
	done
	echo "ticks_grow: $1 stays at $n lines" >&2
	return 1
}

@test "seize: vim with its SIGEV_THREAD timer, checkpointed with --kill and restored in a terminal, keeps its timer and obeys" {
	need_vim
	need_root
	vim_start "$T"
	local helper i
	helper=$(awk '$1 == "notify:" {sub("signal/tid.", "", $2); print $2}' "/proc/$VPID/timers")
	freeze_ok "$T/img" --kill "$VPID"
	img cat "$T/img" "proc/$VPID/timers" | grep -q "^timer 0 1 tid=$helper 32 "
	for ((i = 0; i < 250; i++)); do [ ! -e "/proc/$VPID" ] && break; sleep 0.02; done
	vim_thaw "$T"
	PID=$VPID
	restored vim
	grep -q "^notify: signal/tid.$helper" "/proc/$VPID/timers"
	vim_obeys "$T"
}

@test "seize: vim of a throwaway user, checkpointed and restored by that user (new user and pid namespaces), keeps its timer and obeys" {
	need_vim
	[ "$(id -u)" = 0 ] || skip "needs root to make the user"
	throwaway_user ckfz
	D=$(mktemp -d /tmp/ckfz-vim-XXXXXX)
	TMPDIRS+=("$D")
	chmod 0777 "$D"
	AS="setpriv --reuid=$NEW_USER --regid=$NEW_USER --init-groups env HOME=$D CKPT_SOCKDIR=$D/sock"
	$AS mkdir -m 0700 "$D/sock"
	vim_start "$D"
	$AS sh -c 'exec "$1" --kill "$2" >"$3/img"' _ "$BIN/ckpt-freeze" "$VPID" "$D"
	vim_thaw "$D"
	in_new_ns
	for ((i = 0; i < 250; i++)); do
		[ "$(cat "/proc/$prog/comm" 2>/dev/null)" = vim ] && break
		sleep 0.02
	done
	grep -q '^signal: 32/' "/proc/$prog/timers"
	[ "$(awk '$1 == "Uid:" {print $2}' "/proc/$prog/status")" = "$(id -u "$NEW_USER")" ]
	vim_obeys "$D"
}
