#!/usr/bin/env bats
# Whole jobs (issue 12): the programs of t/progs/ that make process
# trees (a pipeline, make -j2, a deep tree, shared memory, a Python
# Pool), checkpointed whole by ckpt-freeze: the stream has every
# process, each pipe's bytes once, and the job runs on to the result
# an uninterrupted run gives (each program checks its own state).
# Then restored whole by ckpt-thaw from --kill: a bash job's log, make
# -j2, a zombie's status, 200 processes' counts, a forker, a pipeline
# as a user, a Python Pool whose semaphores are memory all its
# processes share, each going on as if never stopped.  A SysV segment
# anyone may still find by key is refused, named.  Freezes of manyproc,
# forker, bashjob, noshim, zombie: tree-freeze.bats; restores of
# composed trees and the root's pipeline: restore-tree.bats.
# Helpers: t/tree.bash.

load helpers
load thaw
load tree

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

# --- restored from --kill ------------------------------------------------

@test "restored: the bash job's log goes on with no gap and no repeat" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:bashjob
	need_root
	local n
	start_job bashjob 2 "$T/log"
	wait_line "$T/log" '^30$'
	job_freeze_kill "$T/img"
	run -0 "$PROGS/bashjob" --check "$T/log"
	n=${output#lines }
	thaw_job "$T/img"
	wait_line "$T/log" "^$((n + 30))\$" 30 || { job_report "$TPID"; false; }
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok lines=' "$OUT"
	"$PROGS/bashjob" --check "$T/log"
	no_fail "$OUT" "$T/thaw.err"
	[ ! -s "$T/thaw.out" ]
}

@test "restored: make -j2 checkpointed mid-build finishes, and its program prints what a clean build's does" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:makejob
	need_root
	start_job makejob 1 "$T/proj"
	wait_line "$T/proj/make.log" '^cc f03$' 30
	wait_procs "$PID" 3
	job_freeze_kill "$T/img"
	[ ! -e "$T/proj/prog" ]
	# the compilers grow their heaps and map more at once (t/thaw.bash)
	STATE_BUSY=1 thaw_job "$T/img"
	thaw_wait 0
	grep -qx "done ok $(cat "$T/proj/expected")" "$OUT"
	no_fail "$OUT" "$T/thaw.err"
	[ ! -s "$T/thaw.out" ]
}

@test "restored: a zombie is reaped after the restore with its exit status, or its signal" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:zombie
	need_root
	local child a want
	for a in 42 sig9; do
		start_job zombie 2 "$a"
		child=$(awk '$1 == "child" {print $2}' "$OUT")
		job_freeze_kill "$T/img"
		thaw_job "$T/img"
		restored zombie
		# the parent's child, exited and not reaped
		[ "$(awk '{print $3, $4}' "/proc/$child/stat")" = "Z $PID" ]
		verify_prog
		want="exit=42"
		[ "$a" = 42 ] || want="signal=9"
		grep -qx "reaped $child $want" "$OUT"
		finish
	done
}

@test "restored: 200 processes, each ticking on from its own count" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:manyproc
	need_root
	local table
	start_job manyproc 200 200
	verify_prog
	table=$(job_table "$PID")
	job_freeze_kill "$T/img"
	thaw_job "$T/img"
	restored manyproc 20
	wait_procs "$PID" 200 30
	# the same processes, parents, groups and sessions (the root's
	# parent is ckpt-thaw now)
	diff <(awk 'NR > 1 {print $1, $2, $3, $4}' <<<"$table" | sort) \
		<(job_table "$PID" | awk 'NR > 1 {print $1, $2, $3, $4}' | sort)
	[ "$(job_table "$PID" | awk 'NR == 1 {print $1, $3, $4}')" = \
		"$(awk 'NR == 1 {print $1, $3, $4}' <<<"$table")" ]
	verify_prog
	finish
	[ ! -s "$T/thaw.out" ]
}

@test "restored: a job checkpointed while it forked in a tight loop forks on" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:forker
	need_root
	start_job forker 1
	wait_line "$OUT" '^forks 500$'
	job_freeze_kill "$T/img"
	thaw_job "$T/img"
	restored forker
	verify_prog
	finish
	[ ! -s "$T/thaw.out" ]
}

@test "restored as a user: a pipeline in a new user and pid namespace ends with the same sum" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:pipeline prog:pipestage
	throwaway_user cktpg
	local want d pids
	want=$(pipeline_sum 4096)
	d=$(mktemp -d /tmp/cktpg.XXXXXX)
	TMPDIRS+=("$d")
	chown "$NEW_USER:" "$d"
	export CKPT_SOCKDIR=$d/sock
	PROG_USER=$NEW_USER PROG_DIR=$d start_job pipeline 4 4096
	wait_line "$OUT" '^progress bytes=524288$'
	pids=$(job_pids "$PID")
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		"$BIN/ckpt-freeze" --kill "$PID" >"$d/img" 2>"$d/freeze.err"
	cat "$d/freeze.err"
	[ ! -s "$d/freeze.err" ]
	wait "$PID" 2>/dev/null || true
	# shellcheck disable=SC2086
	job_gone $pids
	chown "$NEW_USER:" "$d/img"
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		"$THAW" "$d/img" >"$T/thaw.out" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	in_new_ns
	thaw_wait 0
	grep -qx "$want" "$OUT"
	no_fail "$OUT" "$T/thaw.err"
	[ ! -s "$T/thaw.out" ]
}

@test "restored: a Python multiprocessing.Pool with a Queue (its semaphores deleted /dev/shm files shared by all) checkpointed mid-run: every result once" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	start_job pool.py 5 400
	wait_line "$OUT" '^progress got=40$'
	job_freeze_kill "$T/img"
	# the semaphores: objects of the whole job
	img cat "$T/img" ckpt/shm
	[ "$(img cat "$T/img" ckpt/shm | wc -l)" -ge 1 ]
	thaw_job "$T/img"
	restored python3 20
	wait_line "$OUT" '^done ok$' 90 || { job_report "$PID"; false; }
	thaw_wait 0
	grep -qx 'result count=400 sum=21253400' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
	[ ! -s "$T/thaw.out" ]
}

# --- shared memory: what cannot come back as it was is refused -------------

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

@test "a SysV segment a parent and its child share, not marked for removal, is refused, named; both count on, still shared" {
	need ckpt-run ckpt-freeze prog:shmcount
	local id
	start_job shmcount 2 sysvkey
	CHILD=$(awk '$1 == "child" {print $2}' "$OUT")
	id=$(awk '$1 == "shmid" {print $2}' "$OUT")
	refused_shared "SysV segment $id "
	job_alive "$PID" "$CHILD"
	verify_prog "$PID"
	verify_prog "$CHILD"
	kill -TERM "$PID"
	wait_bounded "$PID" 10
	ipcrm -m "$id"
	grep -q '^done ok' "$OUT"
	no_fail
}

