#!/usr/bin/env bats
# The ptrace side of a freeze (lib/seize.c) against programs that make
# it hard: another tracer already on the thread, a thread ptrace cannot
# stop, threads that exit while they are adopted, and a ckpt-freeze
# killed at any moment.  Each time: a clear message or a good image,
# and the program runs on, untraced, with every thread's own mask
# (t/progs/sigblockers.c checks its counts and masks).

load helpers
load thaw

# freeze_fails ARG...: ckpt-freeze ARG... (its stream to /dev/null)
# exits 1; its stderr in stderr_lines
freeze_fails() {
	run --separate-stderr bash -c 'f=$1; shift; "$f" "$@" >/dev/null' _ "$BIN/ckpt-freeze" "$@"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
}

# task_states PID: each thread's State, SigPnd, SigBlk and wait channel
# (why a program did not answer)
task_states() {
	local f
	for f in /proc/"$1"/task/*; do
		echo "${f##*/} $(awk '/^(State|SigPnd|SigBlk):/ {printf "%s ", $2}' "$f/status" 2>/dev/null)$(cat "$f/wchan" 2>/dev/null)"
	done >&2
}

@test "seize: a thread another tracer holds is refused, naming the tracer; nothing stays frozen and the program runs on" {
	need ckpt-run ckpt-freeze prog:sigblockers prog:tracer
	start_prog sigblockers
	local spinner tr
	spinner=$(awk '$1 == "spinner" {print $2}' "$OUT")
	"$PROGS/tracer" "$spinner" >"$T/tracer.out" 3>&- 4>&- &
	tr=$!
	STARTED+=("$tr")
	wait_line "$T/tracer.out" "^tracing $spinner\$"
	freeze_fails --kill "$PID"
	[ "${stderr_lines[0]}" = "ckpt-freeze: pid $PID: thread $spinner blocks the freeze signal and cannot be seized: it is traced by pid $tr already; nothing stays frozen" ]
	[ "${stderr_lines[1]}" = "ckpt-freeze: pid $PID: not killed: it runs on" ]
	verify_prog
	kill -TERM "$tr"
	wait "$tr" || true
	untraced "$PID"
	verify_prog
}

@test "seize: a thread ptrace cannot stop (waiting for its vfork child) is named after --timeout; the program runs on, untraced, once the child is done" {
	need ckpt-run ckpt-freeze prog:sigblockers
	start_prog sigblockers vfork "$T/release"
	local spinner
	spinner=$(awk '$1 == "spinner" {print $2}' "$OUT")
	# the vfork child has no shim of its own: the parent alone
	freeze_fails --single --timeout 300 "$PID"
	[[ ${stderr_lines[0]} =~ ^"ckpt-freeze: pid $PID: thread $spinner blocks the freeze signal and did not stop for ptrace in 300 ms (State D (disk sleep)); nothing stays frozen"$ ]]
	touch "$T/release"
	verify_prog
	untraced "$PID"
	finish_plain
}

# finish_plain: SIGTERM, "done ok", exit 0, nothing on stderr (a
# program of start_prog, not restored)
finish_plain() {
	kill -TERM "$PID"
	wait "$PID"
	grep -q '^done ok' "$OUT"
	no_fail
}

@test "seize: threads that block every signal and exit while a checkpoint adopts them: 20 checkpoints in a row, then one with --kill restores" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:sigblockers
	need_root
	start_prog sigblockers churn
	local i
	for ((i = 0; i < 20; i++)); do
		freeze_ok "$T/img" "$PID"
	done
	untraced "$PID"
	verify_prog || { task_states "$PID"; false; }
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	# its threads come and go, each with its stack, as it runs on
	STATE_EXPECT="Threads;task;map" thaw_bg "$T/img"
	restored sigblockers
	verify_prog
	untraced "$PID"
	finish
}

@test "seize: ckpt-freeze killed at any moment while it adopts leaves the program running, untraced, with its own masks" {
	need ckpt-run ckpt-freeze prog:sigblockers
	start_prog sigblockers
	local i f
	for ((i = 0; i < 30; i++)); do
		"$BIN/ckpt-freeze" "$PID" >/dev/null 2>&1 3>&- 4>&- &
		f=$!
		sleep "0.00$((RANDOM % 10))$((RANDOM % 10))"
		kill -KILL "$f" 2>/dev/null || true
		wait "$f" || true
	done
	# the shim sees its connection close and thaws
	sleep 0.3
	untraced "$PID"
	verify_prog
	verify_prog
	freeze_ok "$T/img" "$PID"
	verify_prog
	finish_plain
}

@test "seize: a shim that names another process's thread as blocked: root's ckpt-freeze refuses it and never touches that thread" {
	need ckpt-freeze
	local victim fake
	sleep 1000 3>&- 4>&- &
	victim=$!
	STARTED+=("$victim")
	"$PYTHON" "$CKPT_ROOT/t/fakeshim.py" "$victim" >"$T/fake.out" 2>&1 3>&- 4>&- &
	fake=$!
	STARTED+=("$fake")
	wait_line "$T/fake.out" '^ready fakeshim$'
	freeze_fails "$fake"
	[ "${stderr_lines[0]}" = "ckpt-freeze: pid $fake: its shim named thread $victim, which is not a thread of pid $fake: not touched; nothing stays frozen" ]
	untraced "$victim"
	[ "$(awk '$1 == "State:" {print $2}' "/proc/$victim/status")" = S ]
}
