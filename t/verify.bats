#!/usr/bin/env bats
# The restored job checked against what was checkpointed (issue 17):
# ckpt-thaw --verify, which compares the job with its image (a clean
# restore verifies, a tampered image whose state the restore cannot
# give is named, the job runs on), and the test suite's own check
# (t/progs/procstate.c, wired into freeze_ok and thaw_bg), which must
# find a difference it is shown.  Runs as root (the old pids).

load helpers
load thaw
load tree

# core_edit IMG OUT SED: OUT is IMG with the root's core edited by SED
core_edit() {
	local p
	p=$(img cat "$1" ckpt/manifest | awk '$1 == "root" {print $2}')
	img cat "$1" "proc/$p/core" | sed "$3" >"$T/core.edited"
	img edit "$1" "proc/$p/core" "$T/core.edited" >"$2"
}

@test "ckpt-thaw --verify: in --help and the usage line" {
	need ckpt-thaw
	run --separate-stderr "$THAW" --help
	[ "$status" -eq 0 ]
	[[ $output == *"[--verify]"* ]]
}

@test "ckpt-thaw --verify: a clean restore of one process verifies: nothing said, the job's own status" {
	KEY=tick checkpoint_kill counter -m 8 -i 10
	thaw_bg --verify "$T/img"
	restored counter
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 5))
	finish
	[ ! -s "$T/thaw.err" ]
}

@test "ckpt-thaw --verify: restored in a new pid namespace (its pid taken), it verifies: its group and session, ckpt-thaw's, lie outside the namespace" {
	KEY=tick checkpoint_kill counter -i 20
	hold_pid "$PID"
	thaw_bg --verify "$T/img"
	in_new_ns
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 5)) 20
	PID=$prog finish
	[ ! -s "$T/thaw.err" ]
}

@test "ckpt-thaw --verify: 8 threads, each with its credentials and name, verify" {
	KEY='progress shared=' checkpoint_kill mt 8
	thaw_bg --verify "$T/img"
	wait_past "$OUT" 'progress shared=' $(($(last_num "$OUT" 'progress shared=') + 1000))
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	[ ! -s "$T/thaw.err" ]
}

@test "ckpt-thaw --verify: an rlimit the restore cannot give (a tampered image) is named, exit 1, the job runs on" {
	# root here lacks CAP_SYS_RESOURCE (kernel/NOTES.md 4b), so no
	# process can raise its hard limit past ckpt-thaw's own
	local eff
	eff=$(awk '/^CapEff/ {print $2}' /proc/self/status)
	[ $((0x$eff >> 24 & 1)) = 0 ] || skip "CAP_SYS_RESOURCE: any hard limit can be raised here"
	KEY=tick checkpoint_kill counter -i 10
	local hard want
	hard=$(ulimit -Hn)
	want=$((hard + 1000))
	core_edit "$T/img" "$T/img2" "s/^rlimit nofile \([0-9]*\) [0-9]*\$/rlimit nofile \1 $want/"
	thaw_bg --verify "$T/img2"
	wait_line "$T/thaw.err" 'differences? from the image; the job runs on'
	# it runs on: it ticks, and answers
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 5))
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 1
	grep -q '^done ok' "$OUT"
	grep -qx "ckpt-thaw: verify: pid $PID: rlimit 7: image [0-9]* $want, live [0-9]* $hard" "$T/thaw.err"
	grep -qx "ckpt-thaw: verify: 1 difference from the image; the job runs on" "$T/thaw.err"
}

@test "ckpt-thaw --verify: without it, the same tampered image restores with a warning only and the job's status" {
	KEY=tick checkpoint_kill counter -i 10
	core_edit "$T/img" "$T/img2" "s/^rlimit nofile \([0-9]*\) [0-9]*\$/rlimit nofile \1 $(($(ulimit -Hn) + 1000))/"
	thaw_bg "$T/img2"
	restored counter
	kill -TERM "$PID"
	thaw_wait 0
	grep -q 'restorer: set the rlimit 7' "$T/thaw.err"
	! grep -q 'verify' "$T/thaw.err"
}

@test "the state check: procstate names a difference the restore did not make (a changed umask)" {
	# the check's own witness must see what it is shown: the record of
	# the checkpoint against the restored program after it changed
	checkpoint_kill rst_state "$T"
	thaw_bg "$T/img"
	restored rst_state
	"$PROCSTATE" record "$T/now" "$PID"
	run "$PROCSTATE" diff "$T/img.state" "$T/now"
	echo "$output"
	[ "$status" -eq 0 ]
	# the same record with one status field changed is named
	sed "s/^$PID Umask\t.*/$PID Umask\t0777/" "$T/now" >"$T/changed"
	run "$PROCSTATE" diff "$T/img.state" "$T/changed"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"pid $PID Umask: before \""*"\", after \"0777\""* ]]
	finish
}

# charged FILE PID: "START yes|no" for each mapping of PID in a
# procstate record: charged to the commit (VmFlags "ac") or not
charged() {
	awk -F'\t' -v p="$2" '$1 ~ ("^" p " map [0-9a-f]+ VmFlags$") {
		split($1, k, " "); print k[3], ($2 ~ /(^| )ac( |$)/ ? "yes" : "no") }' "$1" | sort
}

@test "the state check: each mapping comes back charged to the commit (VM_ACCOUNT) as it was, code and read-only data not" {
	KEY=tick checkpoint_kill counter -i 10
	thaw_bg "$T/img"
	restored counter
	charged "$T/img.state" "$PID" >"$T/before"
	charged "$T/state.after1" "$PID" >"$T/after"
	paste "$T/before" "$T/after"
	# some were never charged (the program's code, libc's)
	[ "$(grep -c ' no$' "$T/before")" -ge 4 ]
	diff "$T/before" "$T/after"
	finish
}

@test "the state check's find: an epoll watch comes back under its target's own fd number, so the restored process is checkpointed and restored again" {
	mkdir "$T/d"
	checkpoint_kill fds_policy "$T/d"
	thaw_bg "$T/img"
	restored fds_policy
	local ep
	ep=$(awk '$1 == "fd" && $2 == "epoll" {print $3}' "$OUT")
	cat "/proc/$PID/fdinfo/$ep"
	# the watch names the fd it was added through: the program's
	grep -Eq "^tfd: +$(awk '$1 == "fd" && $2 == "eventfd" {print $3}' "$OUT") " "/proc/$PID/fdinfo/$ep"
	freeze_ok "$T/img2" --kill "$PID"
	thaw_wait 137
	thaw_bg "$T/img2"
	restored fds_policy
	verify_prog "$PID" "$OUT"
	finish
}

@test "ckpt-thaw --verify: a job of a parent and its zombie child verifies, the zombie a zombie again" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:zombie
	need_root
	local child
	start_job zombie 2 42
	child=$(awk '$1 == "child" {print $2}' "$OUT")
	job_freeze_kill "$T/img"
	thaw_job --verify "$T/img"
	restored zombie
	[ "$(awk '{print $3, $4}' "/proc/$child/stat")" = "Z $PID" ]
	verify_prog
	finish
	[ ! -s "$T/thaw.err" ]
}
