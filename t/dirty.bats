#!/usr/bin/env bats
# dirty.bats - dirty tracking (issue 14; doc/design.md, "Dirty
# tracking"): from a process's first checkpoint on, its shim holds a
# userfaultfd in async write-protect mode, and each checkpoint's scan
# finds exactly the pages written since the image the epoch names.
# t/progs/dirtyprog writes a known set of pages step by step;
# t/progs/dirtyscan (lib/dirty.c linked) makes a checkpoint's scan and
# prints it, without writing an image: a checkpoint that fails after its
# scan, so the epoch is gone after it.

load helpers
load thaw

# image_id FILE: the id in the manifest of the raw stream FILE
image_id() {
	tar xOf "$1" ckpt/manifest | awk '$1 == "id" {print $2}'
}

# scan PID RANGE...: dirtyscan's output in $T/scan (and on stdout)
scan() {
	"$PROGS/dirtyscan" "$@" >"$T/scan"
	cat "$T/scan"
}

# line ADDR: the flags dirtyscan printed for ADDR; since: the epoch
line() {
	awk -v a="$1" '$1 == a {print $2}' "$T/scan"
}
since() {
	awk '$1 == "since" {print $2}' "$T/scan"
}

# step N: SIGUSR1 to $PID, until it says "wrote N"
step() {
	kill -USR1 "$PID"
	wait_line "$OUT" "^wrote $1\$"
}

# has_uffd PID: PID holds a userfaultfd; no_uffd PID: it holds none
# (a status of its own: bats does not stop at a failed "! cmd")
has_uffd() {
	ls -l "/proc/$1/fd" | grep -q 'anon_inode:\[userfaultfd\]'
}
no_uffd() {
	if has_uffd "$1"; then
		echo "pid $1 holds a userfaultfd" >&2
		return 1
	fi
}

# not_in IMG MEMBER WORD: the member of the raw stream IMG has no WORD
not_in() {
	if tar xOf "$1" "$2" | grep "$3"; then
		echo "$2 of $1 names $3" >&2
		return 1
	fi
}

# not_stored IMG ADDR: $PID's page at ADDR is not in IMG
not_stored() {
	if img stored "$1" "$PID" "$2"; then
		echo "page $2 is stored in $1, and should not be" >&2
		return 1
	fi
}

@test "dirty: after a checkpoint, the scan finds exactly the pages written since its image" {
	need ckpt-run ckpt-freeze prog:dirtyprog prog:dirtyscan
	start_prog dirtyprog
	local a c b d
	a=$(region A) c=$(region C)
	# before any checkpoint: nothing tracked, no userfaultfd
	no_uffd "$PID"
	freeze_ok "$T/img1" "$PID"
	has_uffd "$PID"
	step 1
	b=$(region B) d=$(region D)
	scan "$PID" "$a:16" "$b:4" "$d:8" "$c:8"
	[ "$(since)" = "$(image_id "$T/img1")" ]
	# A: 1 written, 3 by read(2) (the kernel), 5 dropped and written,
	# 7 dropped (gone: counts as changed); B new, D moved by mremap, C
	# no longer there: every page
	[ "$(line "$a")" = ".W.W.W.W........" ]
	[ "$(line "$b")" = "WWWW" ]
	[ "$(line "$d")" = "WWWWWWWW" ]
	[ "$(line "$c")" = "WWWWWWWW" ]
	# the fds member lists no userfaultfd: it is the shim's
	freeze_ok "$T/img2" "$PID"
	not_in "$T/img2" "proc/$PID/fds" userfaultfd
	step 2
	scan "$PID" "$a:16" "$b:4" "$d:8"
	[ "$(since)" = "$(image_id "$T/img2")" ]
	# 2 written; 7 and B's 1-3 are not there (dropped, never
	# written): changed for every scan, never taken from a parent
	[ "$(line "$a")" = "..W....W........" ]
	[ "$(line "$b")" = ".WWW" ]
	[ "$(line "$d")" = "........" ]
	verify_prog
	no_fail
}

@test "dirty: a checkpoint that fails after its scan leaves no epoch; the program runs on" {
	need ckpt-run ckpt-freeze prog:dirtyprog prog:dirtyscan
	start_prog dirtyprog 16
	local a
	a=$(region A)
	freeze_ok "$T/img1" "$PID"
	scan "$PID" "$a:4"
	[ "$(since)" = "$(image_id "$T/img1")" ]
	[ "$(line "$a")" = "...." ]
	# dirtyscan wrote no image: the next scan counts from none
	scan "$PID" "$a:4"
	[ "$(since)" = - ]
	[ "$(line "$a")" = "WWWW" ]
	freeze_ok "$T/img2" "$PID"
	# a real checkpoint broken in its pages (16 MiB of them), after
	# the scan: its reader goes away
	run bash -c '"$1" "$2" | head -c 2000000 >/dev/null; echo "${PIPESTATUS[0]}"' _ \
		"$BIN/ckpt-freeze" "$PID"
	echo "$output"
	[ "${lines[-1]}" = 1 ]
	scan "$PID" "$a:4"
	[ "$(since)" = - ]
	[ "$(line "$a")" = "WWWW" ]
	step 1
	step 2
	verify_prog
}

@test "dirty: a forked child starts untracked, without its parent's userfaultfd, and is tracked from its own first checkpoint" {
	need ckpt-run ckpt-freeze prog:dirtyprog prog:dirtyscan
	start_prog dirtyprog
	local a child
	a=$(region A)
	freeze_ok "$T/img1" "$PID"
	step 1
	child=$(awk '$1 == "child" {print $2}' "$OUT")
	# the child's fork handler has run once its socket is there
	wait_sock "$child"
	no_uffd "$child"
	# the child wrote its own copy of A page 9: the parent's is clean
	scan "$PID" "$a:16"
	[ "$(line "$a")" = ".W.W.W.W........" ]
	scan "$child" "$a:16"
	[ "$(since)" = - ]
	[ "$(line "$a")" = "WWWWWWWWWWWWWWWW" ]
	# the job's checkpoint is the child's first with an image
	freeze_ok "$T/img2" "$PID"
	kill -USR1 "$child"
	wait_line "$OUT" '^child wrote 1$'
	scan "$child" "$a:16"
	[ "$(since)" = "$(image_id "$T/img2")" ]
	[ "$(line "$a")" = ".......W...W...." ]
	scan "$PID" "$a:16"
	[ "$(line "$a")" = ".......W........" ]
}

@test "dirty: exec drops the userfaultfd and the epoch; the new image is tracked from its first checkpoint" {
	need ckpt-run ckpt-freeze prog:dirtyprog prog:dirtyscan
	start_prog dirtyprog -e
	freeze_ok "$T/img1" "$PID"
	has_uffd "$PID"
	kill -USR1 "$PID"
	# the new image's shim binds its socket before main prints ready
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(grep -c '^ready ' "$OUT")" -ge 2 ] && break
		sleep 0.02
	done
	[ "$(grep -c '^ready ' "$OUT")" -eq 2 ]
	no_uffd "$PID"
	local a
	a=$(region A | tail -n 1)
	scan "$PID" "$a:16"
	[ "$(since)" = - ]
	[ "$(line "$a")" = "WWWWWWWWWWWWWWWW" ]
	grep -q "^tracked 0 " "$T/scan"
}

@test "dirty: a restored process is whole and tracked again from its first checkpoint after the restore" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:dirtyprog prog:dirtyscan
	need_root
	start_prog dirtyprog
	local a
	a=$(region A)
	freeze_ok "$T/img1" "$PID"
	step 1
	freeze_ok "$T/img2" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	thaw_bg "$T/img2"
	restored dirtyprog
	# the restored shim forgot the epoch and the userfaultfd: its first
	# scan counts every page, and makes it a userfaultfd again
	no_uffd "$PID"
	scan "$PID" "$a:16"
	[ "$(since)" = - ]
	[ "$(line "$a")" = "WWWWWWWWWWWWWWWW" ]
	has_uffd "$PID"
	freeze_ok "$T/img3" "$PID"
	step 2
	scan "$PID" "$a:16"
	[ "$(since)" = "$(image_id "$T/img3")" ]
	[ "$(line "$a")" = "..W....W........" ]
	verify_prog
	finish
}

@test "dirty: tracking adds no page to an image: untouched and zero pages stay out of every checkpoint" {
	need ckpt-run ckpt-freeze prog:pattern
	start_prog pattern "$T"
	local f u z i p
	f=$(region filled) u=$(region untouched) z=$(region zero)
	for i in 1 2 3; do
		freeze_ok "$T/img$i" "$PID"
		for p in 4 5 6 7 12 13 14 15; do
			not_stored "$T/img$i" "$(addr "$f" "$p")"
		done
		for p in $(seq 0 7); do
			not_stored "$T/img$i" "$(addr "$u" "$p")"
			not_stored "$T/img$i" "$(addr "$z" "$p")"
		done
		img stored "$T/img$i" "$PID" "$(addr "$f" 0)"
	done
	verify_prog
}

# thp_kb PID ADDR: the AnonHugePages of PID's region at ADDR, in kB
thp_kb() {
	awk -v a="${2#0x}" '$1 ~ /^[0-9a-f]+-/ {split($1, r, "-"); on = (r[1] == a)}
		on && $1 == "AnonHugePages:" {print $2}' "/proc/$1/smaps"
}

@test "dirty: a region of transparent huge pages is not tracked: every page counts, and it keeps its huge pages" {
	need ckpt-run ckpt-freeze prog:touchloop prog:dirtyscan
	start_prog touchloop 16 thp
	local t
	t=$(region T)
	# THP is "madvise" here: the program's 16 MiB come as huge pages
	[ "$(thp_kb "$PID" "$t")" -gt 0 ]
	freeze_ok "$T/img1" "$PID"
	freeze_ok "$T/img2" "$PID"
	scan "$PID" "$t:8"
	[ "$(since)" = "$(image_id "$T/img2")" ]
	[ "$(line "$t")" = "WWWWWWWW" ]
	kill -USR1 "$PID"
	wait_line "$OUT" '^pass '
	thp_kb "$PID" "$t"
	[ "$(thp_kb "$PID" "$t")" -eq 16384 ]
}

# wp_bit PID ADDR: the uffd-wp bit (57) of PID's pagemap entry at ADDR
wp_bit() {
	"$PYTHON" -c 'import sys, struct
f = open("/proc/%s/pagemap" % sys.argv[1], "rb")
f.seek(int(sys.argv[2], 16) // 4096 * 8)
print(struct.unpack("<Q", f.read(8))[0] >> 57 & 1)' "$1" "$2"
}

# sample_block ADDR: the sample of a hot region is the first page of
# each MiB from the start of the region (the kernel's: ADDR's may
# have joined a neighbour): the start of such a MiB of $PID above ADDR
sample_block() {
	local lo hi vs
	while IFS=' -' read -r lo hi _; do
		((0x$lo > $1 || $1 >= 0x$hi)) || vs=$((0x$lo))
	done <"/proc/$PID/maps"
	printf '0x%x' $((vs + (($1 - vs) / 1048576 + 1) * 1048576))
}

@test "dirty: a region written all over since the last scan is left unprotected (no fault per page), and counts written" {
	need ckpt-run ckpt-freeze prog:touchloop prog:dirtyscan
	start_prog touchloop 16
	local t id id1 b
	t=$(region T)
	freeze_ok "$T/img1" "$PID"
	[ "$(wp_bit "$PID" "$t")" = 1 ]
	kill -USR1 "$PID"
	wait_line "$OUT" '^pass '
	[ "$(wp_bit "$PID" "$t")" = 0 ]
	freeze_ok "$T/img2" "$PID"
	id=$(image_id "$T/img2")
	id1=$(image_id "$T/img1")
	echo "img1 $id1 img2 $id"
	# img2's scan chose by the epoch it counted from: img1's id; one
	# scan in 16 protects the sample of hot regions again (the first
	# page of each MiB), to learn anew.  What it chose is read before
	# our own scan, which chooses again, by img2's id (checked after
	# it: one run in 16 failed)
	if [ "${id1: -1}" = 0 ]; then
		b=$(sample_block "$t")
		[ "$(wp_bit "$PID" "$b")" = 1 ]
		scan "$PID" "$b:8"
		[ "$(line "$b")" = ".WWWWWWW" ]
	else
		[ "$(wp_bit "$PID" "$t")" = 0 ]
		scan "$PID" "$t:8"
		[ "$(line "$t")" = "WWWWWWWW" ]
		[ "${id: -1}" = 0 ] || grep -q ' hot [1-9]' "$T/scan"
	fi
	[ "$(since)" = "$id" ]
}

@test "dirty: a hot region learns anew from its sample alone: 1/256 of it protected, the program's next pass faults on that only" {
	need ckpt-run ckpt-freeze prog:touchloop prog:dirtyscan
	start_prog touchloop 16
	local t b b4 i
	t=$(region T)
	b=$(sample_block "$t")
	b4=$(printf '0x%x' $((b + 4 * 4096)))
	# sampled: b's first page protected, the second not, nor b's last
	sampled() {
		[ "$(wp_bit "$PID" "$b")" = 1 ]
		[ "$(wp_bit "$PID" "$(printf '0x%x' $((b + 4096)))")" = 0 ]
		[ "$(wp_bit "$PID" "$b4")" = 0 ]
		[ "$(wp_bit "$PID" "$(printf '0x%x' $((b + 1048576 - 4096)))")" = 0 ]
	}
	# passes N: the loop's Nth pass done
	passes() {
		kill -USR1 "$PID"
		for ((i = 0; i < 500; i++)); do
			[ "$(grep -c '^pass ' "$OUT")" -lt "$1" ] || return 0
			sleep 0.02
		done
		return 1
	}
	freeze_ok "$T/img1" "$PID"
	passes 1
	# written all over: hot; left open, or (one in 16: img1's id ends
	# in 0) its sample protected
	scan "$PID" "$b:8"
	[ "$(line "$b")" = "WWWWWWWW" ]
	# written all over again, then a scan with no epoch (dirtyscan
	# writes no image): it learns anew, the sample only
	passes 2
	scan "$PID" "$b:8"
	[ "$(since)" = - ]
	sampled
	# still hot (its sample written again): the sample again
	passes 3
	scan "$PID" "$b:8"
	sampled
	# cooled down (no pass since): the whole region protected
	scan "$PID" "$b:8"
	[ "$(wp_bit "$PID" "$b")" = 1 ]
	[ "$(wp_bit "$PID" "$b4")" = 1 ]
}

# increment_on_epoch [FREEZE_ARGS...]: dirtyprog checkpointed with
# FREEZE_ARGS as the base, one step, then an increment with --kill:
# it read only the pages written since (the 16 MiB of M, 4096 pages,
# and more came from the parent unread), and the chain restores the
# program whole
increment_on_epoch() {
	need ckpt-run ckpt-freeze ckpt-thaw prog:dirtyprog
	need_root
	start_prog dirtyprog 16
	freeze_ok "$T/base" "$@" "$PID"
	step 1
	CKPT_TIMING=1 "$BIN/ckpt-freeze" --kill --parent "$T/base" "$PID" >"$T/inc" 2>"$T/inc.err"
	wait "$PID" 2>/dev/null || true
	grep 'unread' "$T/inc.err"
	[ "$(awk '/pages unread/ && $0 ~ "pid '"$PID"':" {print $(NF-6)}' "$T/inc.err" | head -n 1)" -ge 4096 ]
	thaw_bg "$T/base" "$T/inc"
	restored dirtyprog
	step 2
	verify_prog
	finish
}

@test "dirty: an increment whose parent is the tracking's epoch reads only the pages written since, and its chain restores the program whole" {
	increment_on_epoch
}

@test "dirty: after a --cow checkpoint (thawed before its image is whole) the epoch is still set: an increment on it reads only the pages written since" {
	increment_on_epoch --cow
}
