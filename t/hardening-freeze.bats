#!/usr/bin/env bats
# The checkpoint side of issue 10 (hardening) and the freeze items of
# issue 17: each test holds one defect that was found and fixed.

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	thaw_teardown
}

# sigblk PID: "TID SIGBLK" for every thread, sorted by tid
sigblk() {
	local t
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(awk '$1 == "SigBlk:" {print $2}' "$t/status")"
	done | sort -n
}

masks_before() {
	sigblk "$PID" >"$T/before"
}

@test "restored threads keep their own masks, and set*id calls finish after a restore" {
	BEFORE_KILL=masks_before checkpoint_kill setid
	thaw_bg "$T/img"
	restored setid
	sigblk "$PID" >"$T/after"
	diff "$T/before" "$T/after"
	verify_prog "$PID" "$OUT"
	grep -qx 'ids uid=0 gid=0' "$OUT"
	finish
}

@test "a restored root program with threads drops to another user with setgid and setuid" {
	throwaway_user cks5
	local uid gid
	uid=$(id -u "$NEW_USER")
	gid=$(id -g "$NEW_USER")
	checkpoint_kill setid "$uid" "$gid"
	thaw_bg "$T/img"
	restored setid
	verify_prog "$PID" "$OUT"
	grep -qx "ids uid=$uid gid=$gid" "$OUT"
	[ "$(awk '$1 == "Uid:" {print $2 $3 $4 $5}' "/proc/$PID/status")" = "$uid$uid$uid$uid" ]
	finish
}
