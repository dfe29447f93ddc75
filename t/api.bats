#!/usr/bin/env bats
# api.bats - include/ckpt.h, the program's side (ckpt(3)): without the
# shim it does nothing; under it a program's hooks run around each
# checkpoint (checkpoint, then resume; checkpoint, then restore after a
# restore), in the order added, once each, on the shim's control
# thread, not in a signal handler; a checkpoint that fails resumes too.

load helpers
load thaw

# hooks_are EVENT...: the hook lines of $OUT, events only, are these
# (each for hook 1 then hook 2)
hooks_are() {
	local want="" e
	for e in "$@"; do want+="hook 1 $e"$'\n'"hook 2 $e"$'\n'; done
	sed -n 's/^\(hook [12] [a-z]*\) tid=.*/\1/p' "$OUT" >"$T/hooks"
	cat "$T/hooks"
	[ "$(cat "$T/hooks")" = "${want%$'\n'}" ]
	# never the main thread, never on a signal stack
	! grep '^hook' "$OUT" | grep -v "handler=0\$"
	! grep -q "tid=$PID " "$OUT"
}

# wait_hooks N: until $OUT has N hook lines (10 s)
wait_hooks() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c '^hook ' "$OUT")" -ge "$1" ] && return 0
		sleep 0.02
	done
	echo "wait_hooks: $(grep -c '^hook ' "$OUT") hook lines, not $1" >&2
	return 1
}

@test "without the shim: ckpt_running() is 0 and ckpt_hook does nothing" {
	need prog:apihooks
	"$PROGS/apihooks" >"$T/out" 3>&- 4>&- &
	local p=$!
	wait_line "$T/out" '^ready ' 10
	kill -TERM "$p"
	wait "$p"
	grep -qx 'running 0' "$T/out"
	grep -q '^done ok .* hooks=0$' "$T/out"
}

@test "under the shim: checkpoint, then resume, in the order added, for each checkpoint" {
	need ckpt-run ckpt-freeze prog:apihooks
	start_prog apihooks
	grep -qx 'running 1' "$OUT"
	freeze_ok "$T/img" "$PID"
	wait_hooks 4
	freeze_ok "$T/img" "$PID"
	wait_hooks 8
	verify_prog
	hooks_are checkpoint resume checkpoint resume
	grep -q '^verify ok .* hooks=8$' "$OUT"
}

@test "a checkpoint that fails (its stream cannot be written) resumes the program's hooks too" {
	need ckpt-run ckpt-freeze prog:apihooks
	start_prog apihooks
	run --separate-stderr bash -c '"$0" "$1" >/dev/full' "$BIN/ckpt-freeze" "$PID"
	echo "$stderr"
	[ "$status" -eq 1 ]
	wait_hooks 4
	hooks_are checkpoint resume
}

@test "after --kill and a restore: checkpoint, then restore, never resume" {
	KEY=ready checkpoint_kill apihooks
	thaw_bg "$T/img"
	restored apihooks
	wait_hooks 4
	hooks_are checkpoint restore
	finish
}

# --- a checkpoint the program asks for itself (ckpt_checkpoint_file,
# ckpt_checkpoint_fd; t/progs/selfckpt.c)

# ask_ckpt: SIGUSR2 to $PID, until its next "checkpoint ..." line (30 s),
# which is then LINE
ask_ckpt() {
	local n i
	n=$(grep -c '^checkpoint ' "$OUT" || true)
	kill -USR2 "$PID"
	for ((i = 0; i < 1500; i++)); do
		[ "$(grep -c '^checkpoint ' "$OUT" || true)" -gt "$n" ] && break
		sleep 0.02
	done
	LINE=$(grep '^checkpoint ' "$OUT" | tail -n 1)
	echo "asked: ${LINE:-no answer}"
	[ "$(grep -c '^checkpoint ' "$OUT" || true)" -gt "$n" ]
}

# self_written [EVENT...]: ask_ckpt, and it was written: the hooks ran
# around it, each once, before it returned (all the hooks so far are
# EVENT..., default "checkpoint resume"); the program counts on.  Sets
# AT, the tick it was asked at.
self_written() {
	ask_ckpt
	[[ $LINE == "checkpoint written tick="* ]]
	AT=${LINE##*tick=}
	local want=("$@")
	[ $# -gt 0 ] || want=(checkpoint resume)
	hooks_are "${want[@]}"
	[ "$(grep -E '^(hook|checkpoint)' "$OUT" | tail -n 1)" = "$LINE" ]
	wait_past "$OUT" tick $((AT + 5))
}

# after_line N REGEX [SECS]: until a line of $OUT past its first N
# lines (what the restored program printed: OUT is appended to, and
# the killed one printed the same ticks) matches REGEX (20 s)
after_line() {
	local i
	for ((i = 0; i < ${3:-20} * 50; i++)); do
		tail -n +$(($1 + 1)) "$OUT" | grep -Eq -- "$2" && return 0
		sleep 0.02
	done
	echo "after_line: no line matching '$2' after line $1 of $OUT; it ends:" >&2
	tail -n 5 "$OUT" >&2
	return 1
}

# self_restored IMG: kill the program, restore IMG (ckpt-thaw IMG, or
# its stdin when IMG is "-"): it comes back where it asked, told it is
# the restore after its RESTORE hooks, once each, and counts on from
# there; then it finishes
self_restored() {
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	local n
	n=$(wc -l <"$OUT")
	thaw_bg "$1"
	restored selfckpt 20
	after_line "$n" "^tick $((AT + 3))\$"
	tail -n +$((n + 1)) "$OUT" >"$T/after"
	grep -v '^tick' "$T/after"
	OUT=$T/after hooks_are restore
	[ "$(grep -E '^(hook|checkpoint)' "$T/after" | tail -n 1)" = "checkpoint restored tick=$AT" ]
	[ "$(grep -m1 '^tick' "$T/after")" = "tick $((AT + 1))" ]
	finish
}

@test "a program asks for its own checkpoint into a file: written whole, it counts on; killed, ckpt-thaw FILE brings it back where it asked, told so" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:selfckpt
	need_root
	PROG_APPEND=1 start_prog selfckpt -f "$T/img"
	wait_past "$OUT" tick 3
	self_written
	[ "$(stat -c %a "$T/img")" = 600 ]
	[ "$(ls "$T" | grep -c '^img\.')" = 0 ]   # no temp file left
	self_restored "$T/img"
}

@test "asked for again: a checkpoint that fails leaves the last image as it was; the next one replaces it whole" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:selfckpt
	need_root
	PROG_APPEND=1 start_prog selfckpt -f "$T/img"
	self_written
	cp "$T/img" "$T/img1"
	# a child without the shim: ckpt-freeze refuses the job
	kill -HUP "$PID"
	wait_line "$OUT" '^unshimmed child [0-9]+$'
	local c
	c=$(awk '/^unshimmed child/ {print $3}' "$OUT")
	STARTED+=("$c")
	ask_ckpt
	[[ $LINE == "checkpoint failed errno=EIO tick="* ]]
	cat "$ERR"
	grep -q "^ckpt-freeze: pid $c (.*), child of pid $PID: a process of the job without the ckpt shim" "$ERR"
	cmp "$T/img" "$T/img1"
	[ "$(ls "$T" | grep -c '^img\.')" = 0 ]
	hooks_are checkpoint resume checkpoint resume
	kill -KILL "$c"
	wait_line "$OUT" '^child gone$'
	self_written checkpoint resume checkpoint resume checkpoint resume
	! cmp -s "$T/img" "$T/img1"
	: >"$ERR"
	self_restored "$T/img"
}

@test "refused, the program unharmed: a file it cannot make, no shim, no ckpt-freeze beside the shim" {
	need ckpt-run prog:selfckpt
	# no such directory: nothing begins, no hook runs
	start_prog selfckpt -f "$T/nodir/img"
	ask_ckpt
	[[ $LINE == "checkpoint failed errno=ENOENT tick="* ]]
	! grep -q '^hook' "$OUT"
	verify_prog
	no_fail
	# without the shim
	"$PROGS/selfckpt" -f "$T/img" >"$T/plain.out" 2>&1 3>&- &
	local p=$!
	STARTED+=("$p")
	wait_line "$T/plain.out" '^ready '
	PID=$p OUT=$T/plain.out ask_ckpt
	[[ $LINE == "checkpoint failed errno=ENOSYS tick="* ]]
	# a copy of ckpt-run and the shim with no ckpt-freeze beside them
	mkdir -p "$T/inst/bin" "$T/inst/lib/ckpt"
	cp "$RUN" "$T/inst/bin/"
	cp "$CKPT_BUILD/lib/ckpt/libckpt.so" "$T/inst/lib/ckpt/"
	RUN=$T/inst/bin/ckpt-run start_prog selfckpt -f "$T/img"
	ask_ckpt
	[[ $LINE == "checkpoint failed errno=ENOENT tick="* ]]
	[ "$(cat "$ERR")" = "ckpt-shim: pid $PID: cannot checkpoint itself: $T/inst/bin/ckpt-freeze: No such file or directory" ]
	! grep -q '^hook' "$OUT"
	[ ! -e "$T/img" ]
	verify_prog
}

@test "a program that is a child subreaper: written (its waiter out of the job), restored, a subreaper still" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:selfckpt
	need_root
	PROG_APPEND=1 start_prog selfckpt -f "$T/img" -s
	self_written
	grep -qx 'subreaper 1' "$OUT"
	self_restored "$T/img"
	[ "$(grep -c '^subreaper 1$' "$T/after")" = 1 ]
}

@test "one at a time: a second thread asking meanwhile gets EBUSY, a hook asking gets EDEADLK, and the first is written" {
	need ckpt-run ckpt-freeze prog:selfckpt
	start_prog selfckpt -f "$T/img" -b
	self_written
	grep -qx 'second r=-1 errno=EBUSY' "$OUT"
	grep -qx 'from a hook r=-1 errno=EDEADLK' "$OUT"
	[ -s "$T/img" ]
	verify_prog
	no_fail
}

@test "into an fd, a pipe ckpt-pack reads: the image is whole once the program closes it; restored, the fd is a pipe still, closed as the program goes on" {
	need ckpt-run ckpt-freeze ckpt-pack ckpt-thaw ckpt-show prog:selfckpt
	need_root
	OUT=$T/fd.out ERR=$T/fd.err
	# (bash's wait on ckpt-pack would wait for the whole pipeline)
	(exec "$RUN" -- "$PROGS/selfckpt" -d 5 5>&1 >>"$OUT" 2>>"$ERR" 3>&- 4>&-) |
		{ "$BIN/ckpt-pack" >"$T/img" 2>"$T/pack.err" 3>&-; echo "$?" >"$T/pack.rc"; } &
	wait_line "$OUT" '^ready '
	PID=$(awk '/^pid/ {print $2; exit}' "$OUT")
	STARTED+=("$PID")
	self_written
	grep -qx 'fd 5 pipe' "$OUT"
	# the program closed its end: the stream ended, ckpt-pack with it
	wait_line "$T/pack.rc" '^[0-9]+$' 30
	cat "$T/pack.err"
	[ "$(cat "$T/pack.rc")" = 0 ] && [ ! -s "$T/pack.err" ]
	"$BIN/ckpt-show" "$T/img" >"$T/show"
	grep -E "^ +5 pipe .* a new pipe$" "$T/show"
	self_restored "$T/img"
	[ "$(grep -c '^fd 5 pipe$' "$T/after")" = 1 ]
}

@test "as a user: the user's program asks for its checkpoint, the user's ckpt-thaw brings it back in a new pid namespace, and it asks again from there" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:selfckpt
	need_root
	throwaway_user cka
	user_dir
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D PROG_APPEND=1 start_prog selfckpt -f "$D/img"
	self_written
	[ "$(stat -c '%U %a' "$D/img")" = "$NEW_USER 600" ]
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	local n
	n=$(wc -l <"$OUT")
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups "$THAW" "$D/img" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	in_new_ns
	after_line "$n" "^tick $((AT + 3))\$"
	tail -n +$((n + 1)) "$OUT" >"$T/after"
	OUT=$T/after hooks_are restore
	[ "$(grep -E '^(hook|checkpoint)' "$T/after" | tail -n 1)" = "checkpoint restored tick=$AT" ]
	# from inside its namespace, where its waiter is the reaper's orphan
	cp "$D/img" "$T/img1"
	PID=$prog self_written checkpoint resume restore checkpoint resume
	! cmp -s "$D/img" "$T/img1"
	kill -TERM "$prog"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
}

@test "into an fd it cannot write: EBADF when not open for writing (nothing begins), EIO on /dev/full (hooks around it); the program unharmed" {
	need ckpt-run ckpt-freeze prog:selfckpt
	exec 6</dev/null
	start_prog selfckpt -d 6
	exec 6>&-
	ask_ckpt
	[[ $LINE == "checkpoint failed errno=EBADF tick="* ]]
	! grep -q '^hook' "$OUT"
	verify_prog
	no_fail
	exec 6>/dev/full
	start_prog selfckpt -d 6
	exec 6>&-
	ask_ckpt
	[[ $LINE == "checkpoint failed errno=EIO tick="* ]]
	hooks_are checkpoint resume
	grep -q '^ckpt-freeze: .*No space left on device' "$ERR"
	verify_prog
}

@test "under ckpt-attach: a program built with ckpt.h and started without the shim finds it once attached: running, its hooks, its own checkpoint, restored" {
	need ckpt-attach ckpt-freeze ckpt-thaw prog:selfckpt
	need_root
	OUT=$T/self.out ERR=$T/self.err
	"$PROGS/selfckpt" -f "$T/img" >>"$OUT" 2>>"$ERR" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	grep -qx 'running 0' "$OUT"
	stream_ok ckpt-attach "$T/attach.out" "$PID"
	grep -q '/libckpt.so$' "/proc/$PID/maps"
	self_written
	grep -qx 'running 1' "$OUT"
	# a checkpoint from outside runs them too
	freeze_ok "$T/img2" "$PID"
	wait_hooks 8
	hooks_are checkpoint resume checkpoint resume
	self_restored "$T/img"
}
