#!/usr/bin/env bats
# Whole jobs (issue 12): the programs of t/progs/ that make process
# trees (a pipeline, make -j2, a deep tree, shared memory, a Python
# Pool), checkpointed whole by ckpt-freeze: the stream has every
# process, each pipe's bytes once, and the job runs on to the result
# an uninterrupted run gives (each program checks its own state).
# What cannot be restored yet (shared memory) is refused, named.
# Freezes of manyproc, forker, bashjob, noshim, zombie: tree-freeze.bats.
# Helpers: t/tree.bash.

load helpers
load thaw
load tree

setup() {
	tree_setup
}

teardown() {
	tree_teardown
}

# stage_pid NAME: the pid of the pipeline's stage NAME (produce, filter,
# consume), a child of $PID
stage_pid() {
	local p
	for p in $(pgrep -P "$PID"); do
		grep -qa "pipestage.$1" "/proc/$p/cmdline" 2>/dev/null && { echo "$p"; return; }
	done
	echo "stage_pid: no stage $1 under $PID" >&2
	return 1
}

# pipe_of PID FD: the inode of the pipe at PID's fd FD
pipe_of() {
	readlink "/proc/$1/fd/$2" | sed -n 's/^pipe:\[\([0-9]*\)\]$/\1/p'
}

# the sum of an uninterrupted run of the pipeline of KIB KiB
pipeline_sum() {
	"$PROGS/pipestage" produce "$1" | "$PROGS/pipestage" filter 0 |
		"$PROGS/pipestage" consume "$1" 0
}

@test "a 3-stage pipeline is checkpointed whole, each pipe's queued bytes once, and runs on to the same sum" {
	need ckpt-run ckpt-freeze prog:pipeline prog:pipestage
	local want table filter consume p1 p2
	want=$(pipeline_sum 8192)
	start_job pipeline 4 8192
	wait_line "$OUT" '^progress bytes=524288$'
	filter=$(stage_pid filter)
	consume=$(stage_pid consume)
	p1=$(pipe_of "$filter" 0)
	p2=$(pipe_of "$consume" 0)
	# tens of KiB in flight in each pipe
	[ "$(pipe_queued "$filter" 0)" -ge 32768 ]
	[ "$(pipe_queued "$consume" 0)" -ge 32768 ]
	table=$(job_table "$PID")
	freeze_ok "$T/img" "$PID"
	image_tree_ok "$T/img"
	same_procs "$T/img" "$table"
	img check "$T/img"
	# each pipe's bytes once, with its reader
	[ "$(img list "$T/img" | grep -c "/pipes/$p1\$")" = 1 ]
	[ "$(img list "$T/img" | grep -c "/pipes/$p2\$")" = 1 ]
	[ "$(member_size "$T/img" "proc/$filter/pipes/$p1")" -ge 32768 ]
	[ "$(member_size "$T/img" "proc/$consume/pipes/$p2")" -ge 32768 ]
	wait_bounded "$PID" 60
	grep -qx "$want" "$OUT"
	grep -qx 'status 0 0 0' "$OUT"
	no_fail
}

@test "make -j2 checkpointed mid-build finishes, and its program prints what it must" {
	need ckpt-run ckpt-freeze prog:makejob
	start_job makejob 1 "$T/proj"
	wait_line "$T/proj/make.log" '^cc f03$' 30
	wait_procs "$PID" 3
	freeze_ok "$T/img" "$PID"
	image_tree_ok "$T/img"
	[ "$(image_procs "$T/img" | wc -l)" -ge 3 ]
	wait_bounded "$PID" 120
	grep -qx "done ok $(cat "$T/proj/expected")" "$OUT"
	no_fail
}

@test "a tree of 63 processes, 6 deep, is listed parents first with groups and sessions" {
	need ckpt-run ckpt-freeze prog:manyproc
	local table
	PROG_PRE=setsid start_job manyproc 63 -t 63
	table=$(job_table "$PID")
	freeze_ok "$T/img" "$PID"
	image_tree_ok "$T/img"
	same_procs "$T/img" "$table"
	# its own session, led by the root
	[ "$(image_procs "$T/img" | awk -v p="$PID" '$5 != p' | wc -l)" = 0 ]
	verify_prog
}

# --- shared memory: refused until it can come back shared -----------------

# refused_shared NAME: ckpt-freeze --kill of $PID's job exits 1 with a
# message naming the parent and CHILD and what they share; nothing is
# killed
refused_shared() {
	local rc=0
	"$BIN/ckpt-freeze" --kill "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -q "$PID" "$T/err"
	grep -q "$CHILD" "$T/err"
	grep -qi "shar" "$T/err"
	[ -z "${1:-}" ] || grep -q -- "$1" "$T/err"
}

@test "memory a parent and its child share (SysV, MAP_SHARED anonymous, memfd) is refused, named; both count on, still shared" {
	need ckpt-run ckpt-freeze prog:shmcount
	local k
	for k in sysv anon memfd; do
		start_job shmcount 2 "$k"
		CHILD=$(awk '$1 == "child" {print $2}' "$OUT")
		refused_shared
		job_alive "$PID" "$CHILD"
		verify_prog "$PID"
		verify_prog "$CHILD"
		kill -TERM "$PID"
		wait_bounded "$PID" 10
		grep -q '^done ok' "$OUT"
		no_fail
	done
}

@test "a Python multiprocessing.Pool (its semaphores shared memory) is refused, named; every result still comes once" {
	need ckpt-run ckpt-freeze
	start_job pool.py 5 400
	wait_line "$OUT" '^progress got=40$'
	CHILD=$(pgrep -P "$PID" | head -n 1)
	refused_shared /dev/shm/sem.
	wait_bounded "$PID" 60
	grep -qx 'result count=400 sum=21253400' "$OUT"
	grep -qx 'done ok' "$OUT"
	no_fail
}
