#!/usr/bin/env bats
# ckpt-thaw on hostile images: a real checkpoint whose text members are
# edited, duplicated or moved (t/ckptimg.py edit, dup, move).  Each must
# be refused with a message naming the member and line, exit 1, and no
# process left.  Every number in every member is parsed strictly and
# checked against its field's range.  Runs as root (set_tid).

load helpers
load thaw

setup() {
	thaw_setup
	KEY=tick
}

teardown() {
	thaw_teardown
}

# mutate MEMBER SED-ARGS...: $T/bad is $T/img with MEMBER (proc/$PID/
# MEMBER unless it holds a '/') passed through sed, which must change it
mutate() {
	local m=$1
	shift
	[[ $m == */* ]] || m=proc/$PID/$m
	img cat "$T/img" "$m" >"$T/member.old"
	sed "$@" "$T/member.old" >"$T/member"
	! cmp -s "$T/member.old" "$T/member"
	img edit "$T/img" "$m" "$T/member" >"$T/bad"
}

# refused MEMBER PATTERN SED-ARGS...: the edit is refused, naming
# the member and PATTERN
refused() {
	local m=$1 pat=$2
	shift 2
	[[ $m == */* ]] || m=proc/$PID/$m
	mutate "$m" "$@"
	thaw_fails "member $m line" "$T/bad"
	[[ $stderr == *"$pat"* ]]
}

@test "hostile: an image rewritten member by member, unchanged, still restores" {
	checkpoint_kill counter -i 10
	mutate core 's/^comm .*/&/; $a# a comment'
	thaw_bg "$T/bad"
	restored counter
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 2))
	finish
}

@test "hostile: a 64-bit value in a 32-bit field is refused, never cut (uid 4294967296 is not 0)" {
	checkpoint_kill counter -i 10
	refused core "malformed number" 's/^uid .*/uid 4294967296 0 0 0/'
	refused core "malformed number" 's/^gid .*/gid 0 0 0 4294967296/'
	refused core "malformed groups" 's/^groups.*/groups 4294967296/'
	refused core "malformed number" 's/^pid .*/pid 2147483648/'
	refused core "malformed number" 's/^ppid .*/ppid 4294967297/'
	refused core "malformed umask" 's/^umask .*/umask 01022/'
	refused threads "malformed number" "s/^thread .*/thread 4294967297/"
	refused ckpt/manifest "malformed number" 's/^root .*/root 4294967296/'
	refused fds "malformed" 's/^fd 1 \([a-z]*\) cloexec=0/fd 1 \1 cloexec=4294967296/'
	refused fds "malformed" 's/^fd 1 \([a-z]*\) cloexec=[01] flags=[0-7]*/& flags=040000000000/'
	refused fds "malformed" 's/^fd 1 /fd 4294967297 /'
}

@test "hostile: a number with anything after or before it is refused, in every member" {
	checkpoint_kill counter -i 10
	refused core "malformed number" 's/^brk \(.*\)/brk \1z/'
	refused core "malformed number" 's/^pid \(.*\)/pid +\1/'
	refused core "malformed number" 's/^pgid \(.*\)/pgid 0\1/'
	refused core "malformed time" 's/^itimer real \([0-9]*\)\.[0-9]*/itimer real \1.5/'
	refused core "malformed limit" 's/^rlimit nofile \([0-9]*\)/rlimit nofile -\1/'
	refused threads "malformed number" 's/^fs \(.*\)/fs \1g/'
	refused ckpt/manifest "malformed number" 's/^proc \([0-9]*\) /proc \1x /'
	refused fds "malformed" 's/^fd 1 \([a-z]*\) cloexec=[01] flags=\([0-7]*\)/fd 1 \1 cloexec=0 flags=\29/'
	refused fds "malformed" 's/^fd 1 \(.*\) pos=\([0-9]*\)/fd 1 \1 pos=-\2/'
	refused mapfiles "malformed" '1s/^\([0-9a-f]*\)-/\1x-/'
	refused mapfiles "malformed" '1s/^\([0-9a-f-]*\) \([0-9]*\) /\1 \2k /'
	refused pagemap "bad run" '1s/^\([0-9a-f]*\)-\([0-9a-f]*\)/\1-\2 /'
	refused pagemap "bad run" '1s/^/0x/'
}

@test "hostile: a digit above a field's small maximum is refused (cloexec=9, not wrapped)" {
	checkpoint_kill counter -i 10
	refused fds "malformed" '0,/^fd [0-9]* [a-z]* cloexec=0/s/cloexec=0/cloexec=9/'
	refused fds "malformed" '0,/^fd [0-9]* [a-z]* cloexec=0/s/cloexec=0/cloexec=2/'
}

@test "hostile: a repeated member is refused, naming it (a second maps overflowed the regions)" {
	checkpoint_kill counter -i 10
	local m
	for m in maps core threads fds mapfiles pagemap; do
		img dup "$T/img" "proc/$PID/$m" >"$T/bad"
		thaw_fails "member proc/$PID/$m: a second one in the image" "$T/bad"
	done
}

@test "hostile: members out of order are refused, naming them" {
	mkdir "$T/many"
	KEY=ready checkpoint_kill fds_many "$T/many" 2
	local f
	f=$(img list "$T/img" | grep -m1 "^proc/$PID/files/")
	img move "$T/img" "$f" "proc/$PID/fds" >"$T/bad"
	thaw_fails "member $f: comes before proc/$PID/fds" "$T/bad"
	img dup "$T/img" "$f" >"$T/bad"
	thaw_fails "member $f: a second one in the image" "$T/bad"
	img move "$T/img" "proc/$PID/pagemap" "proc/$PID/maps" >"$T/bad"
	thaw_fails "member proc/$PID/pagemap: comes before proc/$PID/maps" "$T/bad"
	img move "$T/img" "proc/$PID/mapfiles" "proc/$PID/maps" >"$T/bad"
	thaw_fails "member proc/$PID/mapfiles: comes before proc/$PID/maps" "$T/bad"
	img move "$T/img" "proc/$PID/fds" "proc/$PID/core" >"$T/bad"
	thaw_fails "member proc/$PID/fds: comes before proc/$PID/core" "$T/bad"
	img move "$T/img" "proc/$PID/pages" "proc/$PID/pagemap" >"$T/bad"
	thaw_fails "member proc/$PID/pages: comes before proc/$PID/pagemap" "$T/bad"
	img move "$T/img" "proc/$PID/pages" "proc/$PID/threads" >"$T/bad"
	thaw_fails "member proc/$PID/pages: comes before proc/$PID/threads" "$T/bad"
}

@test "hostile: a file that is not an image is called so, by ckpt-thaw and ckpt-unpack" {
	need ckpt-thaw ckpt-unpack
	local f
	PID=$(free_pid)   # thaw_fails checks that no process has it
	echo hello >"$T/short"
	head -c 8192 /dev/urandom >"$T/random"
	for f in "$T/short" "$T/random" "$CKPT_ROOT/README"; do
		thaw_fails "ckpt-thaw: $f: not a ckpt image" "$f"
		run -1 --separate-stderr "$BIN/ckpt-unpack" "$f"
		[[ $stderr == "ckpt-unpack: not a ckpt image"* ]]
	done
}
