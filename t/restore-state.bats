#!/usr/bin/env bats
# State the restore brings back that no other test held (issue 10,
# "claims no test holds"): per-thread CPU affinity and parent-death
# signal, pending signals (for the process and for one thread), and ckpt-dumpmem's check that the file at a mapping's
# path is the one mapped; no rseq area where the program unregistered
# glibc's (an area of its own comes back: t/fidelity-proc.bats),
# membarrier registrations (issue 17).  Each program checks itself
# (t/progs/rst_*, rseqoff, membar).
# Runs as root (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	[ -z "${MOUNTED:-}" ] || umount "$MOUNTED"
	thaw_teardown
}

@test "per-thread affinity and parent-death signal, and pending signals (the process's and one thread's), come back" {
	[ "$(nproc)" -ge 2 ] || skip "needs two CPUs to pin two threads apart"
	BEFORE_KILL=verify_prog checkpoint_kill rst_threadattr
	thaw_bg "$T/img"
	restored rst_threadattr
	verify_prog
	finish
}

@test "a file mounted over at a mapping's path: the mapping keeps the bytes it mapped" {
	need_root
	local d=$T/under f=$T/under/mapped
	mkdir "$d"
	head -c 16384 /dev/urandom >"$f"
	start_prog rst_mapswap "$f"
	# the path now leads to another file, while /proc/PID/maps still
	# names it for the mapping (no "(deleted)": the file was not removed)
	mount -t tmpfs ckpt-test "$d"
	MOUNTED=$d
	head -c 16384 /dev/urandom >"$f"
	verify_prog
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	# ckpt-dumpmem saw that the file at the path is not the one mapped:
	# the mapping's pages are all in the image
	img cat "$T/img" "proc/$PID/mapfiles" | grep -- " - - $f\$"
	thaw_bg "$T/img"
	restored rst_mapswap
	verify_prog
	finish
}

@test "a thread that unregistered glibc's rseq area has none after a checkpoint, nor after a restore" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:rseqoff
	need_root
	start_prog rseqoff
	# the shim's probe of glibc's area must not register it
	freeze_ok "$T/img" "$PID"
	verify_prog
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	thaw_bg "$T/img"
	restored rseqoff
	verify_prog
	finish
}

@test "membarrier registrations come back before any thread runs the program" {
	checkpoint_kill membar
	thaw_bg "$T/img"
	restored membar
	verify_prog
	finish
}

@test "a Linux AIO context is refused at the checkpoint, naming its id; the program runs on" {
	need ckpt-run ckpt-freeze prog:aioctx
	start_prog aioctx
	freeze_refused "an AIO context (io_setup), id $(awk '/^ctx/ {print $2}' "$OUT"): a restore cannot make it again; not checkpointed"
}
