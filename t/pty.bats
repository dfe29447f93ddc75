#!/usr/bin/env bats
# Pseudo-terminals a job owns (issue 13; formats/fds.md, "Terminals"):
# a master in one process, its slave the controlling terminal of a
# child's session, as script(1), expect and tmux have them.  Each test
# checkpoints the job with --kill, restores it, and lets the programs
# say what they find.  Runs as root (the old pids).

load helpers
load thaw   # its setup and teardown

# the fds member of process $1 in $T/img
fds_of() {
	tar xOf "$T/img" "proc/$1/fds"
}

# ptyjob_kill: t/progs/ptyjob started and checkpointed with --kill to
# $T/img; its session leader's pid in CPID
ptyjob_kill() {
	need ckpt-run ckpt-freeze ckpt-thaw prog:ptyjob
	need_root
	start_prog ptyjob
	CPID=$(pgrep -P "$PID" | head -n 1)
	STARTED+=("$CPID")
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
}

@test "pty: the checkpoint says what a pair is: master and slave lines, its queue, the session whose terminal it is" {
	ptyjob_kill
	local m
	m=$(fds_of "$PID" | grep ' ptmx ')
	echo "$m"
	[[ $m == *" rdev=5:2 pty="*" lock=0 pkt=1 sid=$CPID fg="*" termios="*" winsize=33,77,5,7 data=ptys/"* ]]
	fds_of "$CPID" | grep -E '^fd 0 pts .* rdev=13[6-9]:[0-9]+ pty=[0-9]+ termios=[^ ]+ winsize=33,77,5,7 ctty=1 fg=[0-9]+ path=/dev/pts/'
	tar xOf "$T/img" ckpt/manifest | grep -x "ctty $CPID [0-9]*"
	# ckpt-show says what a restore does with each end
	"$BIN/ckpt-show" "$T/img" >"$T/show"
	grep -E "^ +3 ptmx +0 +/dev/ptmx +a new pseudo-terminal pair, its termios, size, packet mode and lock as they were, the queued bytes put back$" "$T/show"
	grep -E "^ +0 pts +0 +/dev/pts/[0-9]+ +an open of its pair's new slave \(its index may change\)$" "$T/show"
	# the bytes queued each way, out of the terminal and put back
	local n=${m#* pty=}
	n=${n%% *}
	[ "$(tar xOf "$T/img" "proc/$PID/ptys/$n" | od -An -c | tr -s ' ')" = \
	  "$(printf 'in 24 out 12\ntyped line\neof-line\004partfrom-slave\r\n' | od -An -c | tr -s ' ')" ]
}

# pty_hold: a pty held open by a process of the test, so that the
# restored pair's index is another (formats/fds.md: it may change)
pty_hold() {
	"$PYTHON" -c 'import pty, time; m, s = pty.openpty(); print("held", flush=True); time.sleep(120)' \
		>"$T/held" 3>&- &
	STARTED+=("$!")
	wait_line "$T/held" '^held'
}

@test "pty: a pair comes back with its termios, size, packet mode, lock and queued bytes; the slave is the session's terminal, its foreground group as it was" {
	ptyjob_kill
	pty_hold
	thaw_bg "$T/img"
	restored ptyjob
	verify_prog "$PID" "$OUT"
	grep -x 'pty lock=0 pkt=1 echo=0 vintr=2 winsize=33x77x5x7 master=\\x00from-slave\\x0d\\x0a' "$OUT"
	grep -x 'child sid=leader ctty=leader fg=self in=typed\\x20line\\x0a then=eof-line more=none' "$OUT"
	# the kernel's view: the leader's terminal is a pty, G's group its
	# foreground, every process of the session has it
	local tty tpgid
	read -r tty tpgid < <(awk '{ sub(/.*\) /, ""); print $5, $6 }' "/proc/$CPID/stat")
	[ $((tty >> 8)) -ge 136 ] && [ $((tty >> 8)) -le 143 ]
	[ "$tpgid" -ne "$CPID" ] && [ "$tpgid" -gt 0 ]
	[ "$(awk '{ sub(/.*\) /, ""); print $5 }' "/proc/$tpgid/stat")" = "$tty" ]
	finish
}

# expect_loop: expect(1) (Tcl, nobody here wrote it) spawns a shell
# loop on a pty of its own, the loop's session, and copies what it
# prints to $OUT; checkpointed with --kill to $T/img
expect_loop() {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	command -v expect >/dev/null || skip "expect is not installed (make deps)"
	# no process comes and goes: the state check compares them all
	mkfifo "$T/fifo"
	printf 'exec 9<>"$1"; i=0\nwhile :; do i=$((i+1)); echo "tick $i"; read -r -t 0.05 -u 9 x; done\n' >"$T/loop"
	OUT=$T/expect.out
	"$RUN" -- expect -c "set timeout -1; spawn bash $T/loop $T/fifo; expect eof" >"$OUT" 2>"$T/expect.err" </dev/null 3>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^tick 5'
	SH=$(pgrep -P "$PID" -x bash)
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
}

# ticks_go_on N: the loop's lines go on past N, each once, none missing
ticks_go_on() {
	local i
	for ((i = 0; i < 500; i++)); do
		tr -d '\r' <"$OUT" | grep '^tick' | cut -d' ' -f2 >"$T/ticks"
		[ "$(wc -l <"$T/ticks")" -gt "$1" ] && break
		sleep 0.02
	done
	seq 1 "$(wc -l <"$T/ticks")" | diff - "$T/ticks"
	[ "$(wc -l <"$T/ticks")" -gt "$1" ]
}

@test "pty: expect(1) and the shell loop it spawned on its pty come back, the loop's session and terminal as they were, and go on" {
	expect_loop
	local n
	n=$(tr -d '\r' <"$OUT" | grep -c '^tick')
	tar xOf "$T/img" ckpt/manifest | grep -x "ctty $SH [0-9]*"
	pty_hold
	thaw_bg "$T/img"
	ticks_go_on $((n + 10))
	state_same
	# the loop leads its session, on a pty that is its terminal, in its
	# foreground group; the pty is the job's user's
	read -r sid tty tpgid < <(awk '{ sub(/.*\) /, ""); print $4, $5, $6 }' "/proc/$SH/stat")
	[ "$sid" = "$SH" ] && [ "$tpgid" = "$SH" ]
	[ $((tty >> 8)) -ge 136 ] && [ $((tty >> 8)) -le 143 ]
	[ "$(stat -c %u "$(readlink "/proc/$SH/fd/0")")" = 0 ]
	kill -TERM "$PID"
	thaw_wait 143   # expect's own end, by the signal
}

# ttyown_kill [leader]: t/progs/ttyown in the foreground of a terminal
# of its own (ptydrive.py runs bash with job control on it; leader: runs
# ttyown itself, the session's leader), its termios and size set as a
# full-screen program sets them, checkpointed with --kill; D its
# directory, PID
ttyown_kill() {
	need ckpt-run ckpt-freeze ckpt-thaw prog:ttyown
	need_root
	D=$T/tty
	mkdir "$D"
	local cmd=(bash --norc -c "set -m; $RUN -- $PROGS/ttyown; echo bash-done")
	[ "${1:-}" != leader ] || cmd=("$RUN" -- "$PROGS/ttyown")
	(cd "$D" && TERM=xterm exec "$PYTHON" "$CKPT_ROOT/t/progs/ptydrive.py" in log bash.pid \
		"${cmd[@]}" 3>&- 4>&- >/dev/null 2>&1) &
	STARTED+=("$!")
	wait_line "$D/log" '^ready ttyown'
	PID=$(tr -d '\r' <"$D/log" | awk '/^pid/ {print $2}')
	STARTED+=("$PID")
	OUT=$D/log
	freeze_ok "$T/img" --kill "$PID"
	tar xOf "$T/img" "proc/$PID/fds" | grep -E "^fd 0 pts .* termios=[^ ]+ winsize=30,100,0,0 ctty=1 fg=$PID "
}

# thaw_on_tty: ckpt-thaw $T/img on a new terminal (ptydrive.py: its
# size 0x0, cooked); what it shows in $D/log2; TPID
thaw_on_tty() {
	(cd "$D" && TERM=xterm exec "$PYTHON" "$CKPT_ROOT/t/progs/ptydrive.py" in2 log2 thaw.pid \
		"$THAW" -q "$T/img" 3>&- 4>&- >/dev/null 2>&1) &
	TPIDS+=("$!")
	wait_line "$D/thaw.pid" '^[0-9]+$'
	TPID=$(cat "$D/thaw.pid")
	TPIDS+=("$TPID")
	# the session was the checkpoint terminal's (led from outside the
	# job): it is ckpt-thaw's now, by design (formats/manifest.md)
	STATE_EXPECT="NSsid;pgrp session tty tpgid" state_watch "$T/img"
}

@test "pty: the job's own terminal: restored on ckpt-thaw's, with the job's termios, in its foreground, and SIGWINCH for the other size" {
	ttyown_kill
	thaw_on_tty
	restored ttyown
	OUT=$D/log2
	verify_prog "$PID" "$OUT"
	tr -d '\r' <"$OUT" | grep -x 'term echo=0 icanon=0 fg=1 ctty=1 winch=1 rows=0 cols=0'
	kill -TERM "$PID"
	wait_line "$D/log2" '^done ok'
}

@test "pty: a session leader on a terminal of its own comes back in ckpt-thaw's session, on its terminal, in its foreground" {
	ttyown_kill leader
	tar xOf "$T/img" ckpt/manifest | grep -x "proc $PID [0-9]* $PID $PID"
	thaw_on_tty
	restored ttyown
	OUT=$D/log2
	verify_prog "$PID" "$OUT"
	tr -d '\r' <"$OUT" | grep -x 'term echo=0 icanon=0 fg=1 ctty=1 winch=1 rows=0 cols=0'
	[ "$(awk '{ sub(/.*\) /, ""); print $4 }' "/proc/$PID/stat")" = "$TPID" ]
	kill -TERM "$PID"
	wait_line "$D/log2" '^done ok'
}

@test "pty: a job that ran in the foreground of its terminal, restored by a ckpt-thaw without one: says so, runs nothing" {
	ttyown_kill
	thaw_ttyless_fails "$T/img"
}

# thaw_on_pty: ckpt-thaw --pty $T/img in a session of its own, without
# a terminal: its stdin the fifo $D/keys (written on fd KEYS), its
# stdout $D/log3, OUT; TPID; the job's state watched
thaw_on_pty() {
	mkfifo "$D/keys"
	setsid "$THAW" -q --pty "$T/img" <"$D/keys" >"$D/log3" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	exec {KEYS}>"$D/keys"
	OUT=$D/log3
	STATE_EXPECT="NSsid;pgrp session tty tpgid" state_watch "$T/img"
}

@test "pty: ckpt-thaw --pty without a terminal: the job on a new one with its termios and size, its output relayed, ckpt-thaw exits with its status" {
	ttyown_kill
	thaw_on_pty
	restored ttyown
	verify_prog "$PID" "$OUT"
	tr -d '\r' <"$OUT" | grep -x 'term echo=0 icanon=0 fg=1 ctty=1 winch=0 rows=30 cols=100'
	kill -TERM "$PID"
	thaw_wait 0
	exec {KEYS}>&-
	tr -d '\r' <"$OUT" | grep -qx 'done ok'
}

@test "pty: ckpt-thaw --pty from a pipe, a job with a pty of its own: expect(1) running cat; lines typed go through both terminals, cat's answers come out, ^D ends it" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	command -v expect >/dev/null || skip "expect is not installed (make deps)"
	D=$T/tty
	mkdir "$D"
	(cd "$D" && TERM=xterm exec "$PYTHON" "$CKPT_ROOT/t/progs/ptydrive.py" in log bash.pid \
		bash --norc -c "set -m; $RUN -- expect -c 'spawn -noecho cat; interact'; echo bash-done" 3>&- 4>&- >/dev/null 2>&1) &
	STARTED+=("$!")
	wait_line "$D/bash.pid" '^[0-9]+$'
	printf 'before\n' >"$D/in"
	# cat runs: the line is on the terminal twice (its echo, cat's answer)
	local i
	for ((i = 0; i < 250; i++)); do
		[ "$(tr -d '\r' <"$D/log" | grep -cx before)" -ge 2 ] && break
		sleep 0.02
	done
	PID=$(pgrep -P "$(cat "$D/bash.pid")" -x expect)
	STARTED+=("$PID")
	freeze_ok "$T/img" --kill "$PID"
	dead "$PID"
	pty_hold   # the inner pair's index is taken: it comes back as another
	thaw_on_pty
	printf 'after\n' >&"$KEYS"
	for ((i = 0; i < 250; i++)); do
		[ "$(tr -d '\r' <"$OUT" | grep -cx after)" -ge 2 ] && break
		sleep 0.02
	done
	cat "$OUT"
	[ "$(tr -d '\r' <"$OUT" | grep -cx after)" -eq 2 ]
	# ^D, as typed: expect's raw terminal passes it on, cat's ends
	printf '\004' >&"$KEYS"
	thaw_wait 0
	exec {KEYS}>&-
}

@test "pty: a user restores its own terminal job with ckpt-thaw --pty from a pipe, in new user and pid namespaces" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:ttyown
	need_root
	throwaway_user ckr
	user_own_dir
	user_ttyown_kill
	as_user mkfifo keys
	as_user sh -c 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; exec setsid "$1" -q --pty img <keys >log3 2>thaw.err' _ "$THAW" &
	TPID=$!
	TPIDS+=("$TPID")
	exec {KEYS}>"$D/keys"
	# the restored ttyown as seen from here (another pid)
	local i p=
	for ((i = 0; i < 250 && ${#p} == 0; i++)); do
		p=$(pgrep -u "$NEW_USER" -x ttyown || true)
		sleep 0.02
	done
	[ -n "$p" ]
	verify_prog "$p" "$D/log3"
	cat "$D/log3" "$D/thaw.err"
	tr -d '\r' <"$D/log3" | grep -x 'term echo=0 icanon=0 fg=1 ctty=1 winch=0 rows=30 cols=100'
	kill -TERM "$p"
	wait "$TPID"
	exec {KEYS}>&-
	tr -d '\r' <"$D/log3" | grep -qx 'done ok'
}

@test "pty: a checkpoint that does not kill leaves the pair as it was: its queues and state, for the job that runs on" {
	need ckpt-run ckpt-freeze prog:ptyjob
	start_prog ptyjob
	freeze_ok "$T/img" "$PID"
	tar xOf "$T/img" "proc/$PID/fds" | grep -q ' ptmx .* data=ptys/'
	verify_prog "$PID" "$OUT"
	grep -x 'pty lock=0 pkt=1 echo=0 vintr=2 winsize=33x77x5x7 master=\\x00from-slave\\x0d\\x0a' "$OUT"
	grep -x 'child sid=leader ctty=leader fg=self in=typed\\x20line\\x0a then=eof-line more=none' "$OUT"
}

@test "pty: a user restores its own pty job, in new user and pid namespaces" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:ptyjob
	need_root
	throwaway_user ckp
	user_own_dir
	user_checkpoint "$PROGS/ptyjob"
	as_user sh -c 'exec "$1" img >thaw.out 2>thaw.err' _ "$THAW" &
	TPID=$!
	TPIDS+=("$TPID")
	# the restored parent as seen from here (another pid): the ptyjob
	# whose parent is ckpt-thaw's pid-1 reaper
	local i p= q
	for ((i = 0; i < 250 && ${#p} == 0; i++)); do
		for q in $(pgrep -u "$NEW_USER" -x ptyjob); do
			[ "$(cat "/proc/$(ps -o ppid= -p "$q" | tr -d ' ')/comm")" != ckpt-thaw ] || p=$q
		done
		sleep 0.02
	done
	[ -n "$p" ]
	kill -USR1 "$p"
	wait_line "$D/out" '^(verify ok|FAIL)' 10
	cat "$D/out" "$D/thaw.err"
	grep -x 'child sid=leader ctty=leader fg=self in=typed\\x20line\\x0a then=eof-line more=none' "$D/out"
	grep -qx 'verify ok' "$D/out"
	kill -TERM "$p"
	wait "$TPID"
}

@test "pty: a slave held by a process before its master's in the job is refused at the checkpoint, named, and the job runs on" {
	need ckpt-run ckpt-freeze
	start_prog ptyrev.py
	local child
	child=$(awk '/^child/ {print $2}' "$OUT")
	STARTED+=("$child")
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"ckpt-freeze: pid $PID: fd "*": the slave of pty "*", whose master pid $child holds, later in the job: a restore makes a pair from its master first (not supported)"* ]]
	alive "$PID"
	alive "$child"
}

# tmux_job: a tmux server (tmux, nobody here wrote it) started under
# ckpt-run with two windows, each a shell loop that logs to D/W.log and
# prints "W tick N" on its pty; SERVER its pid
tmux_job() {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	command -v tmux >/dev/null || { echo "tmux is not installed: make deps installs it" >&2; return 1; }
	D=$T/tmux
	mkdir "$D"
	local w
	for w in a b; do
		printf 'i=0\nwhile :; do i=$((i+1)); echo "%s $i" >>"%s/%s.log"; echo "%s tick $i"; sleep 0.1; done\n' \
			"$w" "$D" "$w" "$w" >"$D/loop$w"
	done
	TMUX_SOCK=$D/tsock
	(cd "$D" && "$RUN" -- tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s job "sh $D/loopa" \; \
		new-window "sh $D/loopb" 3>&- 4>&- </dev/null >/dev/null 2>&1)
	SERVER=$(tmux -S "$TMUX_SOCK" display -p '#{pid}')
	STARTED+=("$SERVER")
	wait_line "$D/a.log" '^a 3$'
	wait_line "$D/b.log" '^b 3$'
}

# pane_ticks WINDOW: the last tick the window's pane shows
pane_ticks() {
	tmux -S "$TMUX_SOCK" capture-pane -p -t "job:$1" | awk '$2 == "tick" {n = $3} END {print n + 0}'
}

@test "pty: a tmux server with two windows of shell loops, killed and restored: both windows go on, and tmux answers" {
	tmux_job
	freeze_ok "$T/img" --kill "$SERVER"
	tar xOf "$T/img" ckpt/manifest | grep -c '^ctty ' | grep -qx 2
	local a b
	a=$(tail -n 1 "$D/a.log" | cut -d' ' -f2)
	b=$(tail -n 1 "$D/b.log" | cut -d' ' -f2)
	thaw_bg "$T/img"
	wait_line "$D/a.log" "^a $((a + 5))\$"
	wait_line "$D/b.log" "^b $((b + 5))\$"
	state_same
	# each log goes on from where it was: no gap, no repeat
	seq 1 "$(wc -l <"$D/a.log")" | diff - <(cut -d' ' -f2 "$D/a.log")
	seq 1 "$(wc -l <"$D/b.log")" | diff - <(cut -d' ' -f2 "$D/b.log")
	# the restored server answers on its socket, and its panes show the
	# loops going on past the checkpoint
	tmux -S "$TMUX_SOCK" list-windows | grep -c '(1 panes)' | grep -qx 2
	[ "$(pane_ticks 0)" -gt "$a" ]
	[ "$(pane_ticks 1)" -gt "$b" ]
	tmux -S "$TMUX_SOCK" kill-server
	thaw_wait 0
}

@test "pty: GNU screen running vim with an unsaved edit, killed and restored: screen shows vim with the edit, and :wq writes it" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	command -v screen >/dev/null || { echo "screen is not installed: make deps installs it" >&2; return 1; }
	command -v vim >/dev/null || { echo "vim is not installed: make deps installs it" >&2; return 1; }
	D=$T/screen
	mkdir -m 0700 "$D" "$D/screens"
	export SCREENDIR=$D/screens
	printf 'first line\n' >"$D/file"
	(cd "$D" && TERM=xterm "$RUN" -- screen -dmS job -c /dev/null vim -u NONE -N -i NONE -n "$D/file" \
		3>&- 4>&- </dev/null >/dev/null 2>&1)
	local server i
	# the server may not have made its socket yet on a loaded machine
	for ((i = 0; i < 100; i++)); do
		server=$(screen -ls | awk '/\.job\t/ { split($1, a, "."); print a[1] }')
		[ -n "$server" ] && break
		sleep 0.1
	done
	[ -n "$server" ]
	STARTED+=("$server")
	# a person's keys: a line typed in insert mode, not saved
	for ((i = 0; i < 50; i++)); do   # screen and vim are up
		screen -S job -X hardcopy "$D/hc" 2>/dev/null || true
		sleep 0.1
		grep -q '^first line' "$D/hc" 2>/dev/null && break
	done
	screen -S job -X stuff 'Ohello from screen'
	for ((i = 0; i < 50; i++)); do
		screen -S job -X hardcopy "$D/hc"
		sleep 0.1
		grep -q '^hello from screen' "$D/hc" && break
	done
	grep -qx 'first line' "$D/file"
	freeze_ok "$T/img" --kill "$server"
	thaw_bg "$T/img"
	for ((i = 0; i < 100; i++)); do
		rm -f "$D/hc2"
		screen -S job -X hardcopy "$D/hc2" 2>/dev/null || true
		sleep 0.1
		[ -s "$D/hc2" ] && break
	done
	head -n 2 "$D/hc2" | diff - <(printf 'hello from screen\nfirst line\n')
	screen -S job -X stuff $'\e:wq\r'
	thaw_wait 0
	printf 'hello from screen\nfirst line\n' | diff - "$D/file"
}
