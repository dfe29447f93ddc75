#!/usr/bin/env bats
# Memory shared between the processes of a job (issue 12): MAP_SHARED|
# MAP_ANONYMOUS inherited across fork, a memfd, a SysV segment, a
# removed /dev/shm file.  The stream stores each page of such an object
# once, with the first process in stream order whose page tables have
# it, and lists the object in ckpt/shm (formats/memory.md, "Shared
# between the processes of a job"); a restore makes it once for the
# job, and a write in one process is seen by the other again, as root
# at the old pids, as a user in a new user and pid namespace, and as
# root for a user (the objects are the user's).  What cannot come back
# as it was is refused, named; a ckpt/shm that does not fit the maps is
# refused by ckpt-thaw, leaving nothing.  t/progs/shmcount: a parent and
# its child counting in one shared page; t/progs/shmarray.py: the same
# in a Python multiprocessing.Array (an unlinked /dev/shm file mapped
# and held open by both).

load helpers
load thaw
load tree

setup() {
	tree_setup
	SHMIDS=()
}

# SysV segments a test made that outlive their programs (sysvkey)
teardown() {
	local id
	tree_teardown
	for id in "${SHMIDS[@]}"; do ipcrm -m "$id" 2>/dev/null || true; done
}

# shm_line PID ADDR: the maps line of PID's region starting at ADDR (0x...)
shm_line() {
	grep "^${2#0x}-" "/proc/$1/maps"
}

# stored IMG PID ADDR: PID's pagemap in IMG has a run holding page ADDR
stored() {
	local a=$(($3)) s e
	while IFS=- read -r s e; do
		[ $((0x$s)) -le $a ] && [ $a -lt $((0x$e)) ] && return 0
	done < <(tar xOf "$1" "proc/$2/pagemap")
	return 1
}

# dump_pair KIND [AS...]: shmcount KIND (run as AS, e.g. setpriv ...);
# ckpt-dumpmem of the parent, then of the child, with one --shm-table
# (as ckpt-freeze runs them), into $T/p.KIND and $T/c.KIND.  Sets C
# (the child) and A (the shared page).
dump_pair() {
	local kind=$1
	shift
	start_job shmcount 2 "$kind"
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	A=$(region shared)
	: >"$T/tab.$kind"
	"$@" "$BIN/ckpt-dumpmem" --shm-table 5 "$PID" 5<>"$T/tab.$kind" >"$T/p.$kind" 2>"$T/err"
	"$@" "$BIN/ckpt-dumpmem" --shm-table 5 "$C" 5<>"$T/tab.$kind" >"$T/c.$kind" 2>>"$T/err"
	cat "$T/err"
	[ ! -s "$T/err" ]
}

# pair_ok KIND: the page is in the parent's pages, not the child's; the
# child maps the same object; the table names it once; both count on
pair_ok() {
	local kind=$1 pl cl ino
	pl=$(tar xOf "$T/p.$kind" "proc/$PID/maps" | grep "^${A#0x}-")
	cl=$(tar xOf "$T/c.$kind" "proc/$C/maps" | grep "^${A#0x}-")
	echo "parent: $pl"
	echo "child:  $cl"
	# same MAJ:MIN and INODE: one object
	[ "$(awk '{print $4, $5}' <<<"$pl")" = "$(awk '{print $4, $5}' <<<"$cl")" ]
	ino=$(awk '{print $5}' <<<"$pl")
	stored "$T/p.$kind" "$PID" "$A"
	! stored "$T/c.$kind" "$C" "$A"
	cat "$T/tab.$kind"
	[ "$(grep -c " $(printf '%x' "$ino") 0 1000$" "$T/tab.$kind")" = 1 ]
	job_continues "$PID" "$C"
	verify_prog
	no_fail
}

@test "ckpt-dumpmem --shm-table: not an fd open for reading and writing: exit 1, named" {
	need ckpt-dumpmem
	run "$BIN/ckpt-dumpmem" --shm-table 9 "$$"
	[ "$status" -eq 1 ]
	[[ "$output" == "ckpt-dumpmem: --shm-table 9: not an fd open for reading and writing" ]]
	run "$BIN/ckpt-dumpmem" --shm-table 5 "$$" 5<"$BATS_TEST_FILENAME"
	[ "$status" -eq 1 ]
	[[ "$output" == "ckpt-dumpmem: --shm-table 5: not an fd open for reading and writing" ]]
}

@test "parent and child in one MAP_SHARED|ANON page, a memfd, a SysV segment: the job's stream holds the page once" {
	need ckpt-run ckpt-dumpmem prog:shmcount
	local kind
	for kind in anon memfd sysv; do
		dump_pair "$kind"
		pair_ok "$kind"
		kill_job "$PID"
	done
}

@test "the same as an unprivileged user" {
	need ckpt-run ckpt-dumpmem prog:shmcount
	throwaway_user ckshm
	local kind
	PROG_USER=$NEW_USER
	PROG_DIR=$(mktemp -d /tmp/ckshm-XXXXXX)
	TMPDIRS+=("$PROG_DIR")
	chmod 755 "$PROG_DIR"
	export CKPT_SOCKDIR=$PROG_DIR/sock
	mkdir -m 0700 "$CKPT_SOCKDIR"
	chown "$NEW_USER:" "$CKPT_SOCKDIR"
	for kind in anon memfd sysv; do
		dump_pair "$kind" setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups
		pair_ok "$kind"
		kill_job "$PID"
	done
}

@test "a SysV segment: proc/PID/sysvshm says its id, key, size, mode (removed) and owner, as /proc/sysvipc/shm does" {
	need ckpt-run ckpt-dumpmem prog:shmcount
	local id line
	dump_pair sysv
	id=$(shm_line "$PID" "$A" | awk '{print $5}')
	# key in decimal, perms in octal already
	line=$(awk -v id="$id" '$2 == id {printf "%d %08x %d %s %d %d %d %d\n", $2, $1, $4, $3, $8, $9, $10, $11}' /proc/sysvipc/shm)
	echo "sysvipc: $line"
	tar xOf "$T/p.sysv" "proc/$PID/sysvshm"
	[ "$(tar xOf "$T/p.sysv" "proc/$PID/sysvshm")" = "$line" ]
	[ "$(tar xOf "$T/c.sysv" "proc/$C/sysvshm")" = "$line" ]
	# shmcount removed it at once: SHM_DEST
	[ $((0$(awk '{print $4}' <<<"$line") & 01000)) -ne 0 ]
	# members in the order of formats/memory.md
	[ "$(tar tf "$T/p.sysv" | sed 's|.*/||' | tr '\n' ' ')" = "maps sysvshm vmflags mapfiles pagemap pages " ]
}

@test "no SysV segment: no sysvshm member" {
	need ckpt-run ckpt-dumpmem prog:shmcount
	dump_pair anon
	[ "$(tar tf "$T/p.anon" | sed 's|.*/||' | tr '\n' ' ')" = "maps vmflags mapfiles pagemap pages " ]
}

# refused KIND WHY: ckpt-freeze --kill of shmcount KIND is refused, both
# pids and WHY named, nothing written; the job counts on, unharmed
refused() {
	local kind=$1 why=$2 rc=0
	start_job shmcount 2 "$kind"
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	SHMIDS+=($(awk '$1 == "shmid" {print $2}' "$OUT"))
	"$BIN/ckpt-freeze" --kill "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -q "^ckpt-freeze: pids $PID and $C share memory: .*: $why" "$T/err"
	[ ! -s "$T/img" ]
	job_continues "$PID" "$C"
	verify_prog
	no_fail
}

@test "a SysV segment not marked for removal, shared by two processes: refused for good (its id could not be given back), both named" {
	need ckpt-run ckpt-freeze prog:shmcount
	refused sysvkey "SysV segment [0-9]* (key 0x[0-9a-f]*) is not marked for removal: anyone may still look it up by its key or id, and a restore cannot give it the same id: refused"
	# the refusal names the kernel's id
	grep -q "SysV segment ${SHMIDS[0]} " "$T/err"
}

# --- restored: one object for the whole job --------------------------------

# one_object P C: P's and C's maps lines of the shared page ($A) name
# one object (same MAJ:MIN and INODE) whose path is PATH
one_object() {
	local pl cl
	pl=$(shm_line "$1" "$A") && cl=$(shm_line "$2" "$A") || return 1
	echo "parent: $pl"
	echo "child:  $cl"
	[ "$(awk '{print $4, $5}' <<<"$pl")" = "$(awk '{print $4, $5}' <<<"$cl")" ]
	[ "$(awk '{$1 = $2 = $3 = $4 = $5 = ""; sub(/^ */, ""); print}' <<<"$pl")" = "$3" ]
}

# shared_on P C OUT BEFORE: each side sees the other's new token (a
# write in one seen by the other), and the parent sees the child's
# count past BEFORE (it went on from where it was, in the same page)
shared_on() {
	verify_prog "$1" "$3"
	verify_prog "$2" "$3"
	[ "$(last_num "$3" 'verify ok parent')" -gt "$4" ]
}

# shm_restore KIND PATH [CHECK]: shmcount KIND checkpointed with --kill
# and restored as root at its pids: its page one object again (maps
# PATH; CHECK, a command, says more of it), still shared, and the job
# ends ok
shm_restore() {
	local before
	start_job shmcount 2 "$1"
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	A=$(region shared)
	SHMIDS+=($(awk '$1 == "shmid" {print $2}' "$OUT"))
	verify_prog
	before=$(last_num "$OUT" 'verify ok parent')
	job_freeze_kill "$T/img"
	thaw_job "$T/img"
	restored shmcount
	wait_procs "$PID" 2
	one_object "$PID" "$C" "$2"
	${3:-true}
	shared_on "$PID" "$C" "$OUT" "$before"
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

@test "restored: parent and child in one MAP_SHARED|ANON page, one memfd: one object again (a memfd), each sees the other's writes" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	shm_restore anon "/memfd:dev/zero (deleted)"
	[ "$(tar xOf "$T/img" ckpt/shm | awk '{print $3, $4}')" = "4096 $PID,$C" ]
	shm_restore memfd "/memfd:shmcount (deleted)"
}

@test "restored: parent and child in one SysV segment marked for removal: one segment again, removed, attached by both, each sees the other's writes" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	SYSV_PERMS=1640
	shm_restore sysv "/SYSV00000000 (deleted)" sysv_restored
	# read-only to its owner too (root attaches it all the same): the
	# restore reads the pages in through a writable segment, then
	# gives it its mode
	SYSV_PERMS=1440
	shm_restore sysvro "/SYSV00000000 (deleted)" sysv_restored
}

# sysv_restored: the page ($A) is a SysV segment marked for removal,
# of the size and mode it had (4000 bytes, SYSV_PERMS), attached by the
# two processes only (ckpt-thaw let go of it), root's
sysv_restored() {
	local id
	id=$(shm_line "$PID" "$A" | awk '{print $5}')
	grep -E "^ *[0-9-]+ +$id " /proc/sysvipc/shm
	[ "$(awk -v id="$id" '$2 == id {print $3, $4, $7, $8, $10}' /proc/sysvipc/shm)" = "$SYSV_PERMS 4000 2 0 0" ]
}

@test "restored: a file in /dev/shm mapped MAP_SHARED by parent and child, then removed (a POSIX semaphore after sem_unlink): one object again, a deleted file of its path on its file system" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	local f
	f=$(mktemp -u /dev/shm/ckshm-XXXXXX)
	shm_restore "unlinked:$f" "$f (deleted)"
	[ ! -e "$f" ]
}

# user_job KIND: shmcount KIND run as NEW_USER in a new directory D
# (its socket directory there), checkpointed by that user with --kill
# into D/img; sets C, A and before (the child's count the parent saw)
user_job() {
	user_own_dir
	export CKPT_SOCKDIR=$D/sock
	PROG_USER=$NEW_USER PROG_DIR=$D start_job shmcount 2 "$1"
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	A=$(region shared)
	verify_prog
	before=$(last_num "$OUT" 'verify ok parent')
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		"$BIN/ckpt-freeze" --kill "$PID" >"$D/img" 2>"$D/freeze.err"
	cat "$D/freeze.err"
	[ ! -s "$D/freeze.err" ]
	wait "$PID" 2>/dev/null || true
}

@test "restored as a user in a new user and pid namespace: MAP_SHARED|ANON, a memfd, a SysV segment, a removed /dev/shm file shared by parent and child" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	throwaway_user ckshm
	local kind path before child f
	f=$(mktemp -u /dev/shm/ckshm-XXXXXX)
	CLEANUP+=("$f")
	for kind in anon memfd sysv "unlinked:$f"; do
		case $kind in
		anon) path="/memfd:dev/zero (deleted)" ;;
		memfd) path="/memfd:shmcount (deleted)" ;;
		sysv) path="/SYSV00000000 (deleted)" ;;
		*) path="$f (deleted)" ;;
		esac
		user_job "$kind"
		setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
			"$THAW" "$D/img" >"$T/thaw.out" 2>"$T/thaw.err" &
		TPID=$!
		TPIDS+=("$TPID")
		in_new_ns
		wait_procs "$prog" 2
		child=$(pgrep -P "$prog")
		one_object "$prog" "$child" "$path"
		shared_on "$prog" "$child" "$OUT" "$before"
		kill -TERM "$prog"
		thaw_wait 0
		grep -q '^done ok' "$OUT"
		no_fail "$OUT" "$T/thaw.err"
	done
}

@test "a SysV segment two processes share, of which only a part is mapped: refused (a restore attaches a segment whole), named" {
	need ckpt-run ckpt-freeze prog:shmcount
	refused sysvpart "pid [0-9]* maps only a part of it at 0x[0-9a-f]*-0x[0-9a-f]*, and a restore attaches a segment whole: refused"
}

@test "restored: a memfd parent and child map and hold open as an fd: the fd is on the one object again (same inode as the maps), at its offset" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	shm_restore memfdopen "/memfd:shmcount (deleted)" fd_on_object
}

# fd_on_object: shmcount's memfd fd, in both processes, is the file the
# page ($A) maps, read-write at offset 0
fd_on_object() {
	local fd ino p
	fd=$(awk '$1 == "memfd" {print $3}' "$OUT")
	ino=$(shm_line "$PID" "$A" | awk '{print $5}')
	for p in "$PID" "$C"; do
		[ "$(stat -L -c %i "/proc/$p/fd/$fd")" = "$ino" ]
		readlink "/proc/$p/fd/$fd" | grep -qx '/memfd:shmcount (deleted)'
		grep -qx 'pos:	0' "/proc/$p/fdinfo/$fd"
		grep -q '^flags:	0*10*2$' "/proc/$p/fdinfo/$fd"
	done
}

@test "a file in /dev/shm mapped MAP_SHARED by two processes: not refused, the file is the one object: no page of it in the stream, both name it" {
	need ckpt-run ckpt-freeze prog:shmcount
	local f p
	f=$(mktemp -u /dev/shm/ckshm-XXXXXX)
	CLEANUP+=("$f")
	start_job shmcount 2 "file:$f"
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	A=$(region shared)
	freeze_ok "$T/img" "$PID"
	image_tree_ok "$T/img"
	for p in "$PID" "$C"; do
		tar xOf "$T/img" "proc/$p/mapfiles" | grep "^${A#0x}-[0-9a-f]* 4096 [0-9.]* $f$"
		! stored "$T/img" "$p" "$A"
	done
	job_continues "$PID" "$C"
	verify_prog
	no_fail
}

@test "--kill of one process with a SysV segment not marked for removal: refused (a restore would map a copy while the segment lives on); without --kill it is written" {
	need ckpt-run ckpt-freeze prog:shmcount
	local rc=0
	start_job shmcount 2 sysvkey
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	SHMIDS+=($(awk '$1 == "shmid" {print $2}' "$OUT"))
	"$BIN/ckpt-freeze" --single --kill "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -q "^ckpt-freeze: pid $PID: SysV segment ${SHMIDS[0]} (key 0x[0-9a-f]*) at 0x[0-9a-f]*-0x[0-9a-f]* is not marked for removal: .*: refused (--force to checkpoint it anyway)" "$T/err"
	job_continues "$PID" "$C"
	freeze_ok "$T/img" --single "$PID"
	[ "$(tar xOf "$T/img" "proc/$PID/sysvshm" | awk '{print $1}')" = "${SHMIDS[0]}" ]
	job_continues "$PID" "$C"
	verify_prog
	no_fail
	# --force: written and killed all the same
	freeze_ok "$T/img" --single --kill --force "$PID"
	job_gone "$PID"
	[ "$(tar xOf "$T/img" "proc/$PID/sysvshm" | awk '{print $1}')" = "${SHMIDS[0]}" ]
}

@test "restored by root, a user's job: each object is the user's (the memfd's owner, the SysV segment's owner and creator)" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	throwaway_user ckshm
	local kind uid gid before range id
	uid=$(id -u "$NEW_USER")
	gid=$(id -g "$NEW_USER")
	for kind in anon sysv; do
		user_job "$kind"
		job_gone "$PID" "$C"
		# the image's owner vouches for its ids: root restores it as the user
		thaw_job "$D/img"
		restored shmcount
		wait_procs "$PID" 2
		[ "$(stat -c %u "/proc/$PID")" = "$uid" ]
		range=$(shm_line "$PID" "$A" | awk '{print $1}')
		if [ "$kind" = anon ]; then
			[ "$(stat -L -c '%u %g' "/proc/$PID/map_files/$range")" = "$uid $gid" ]
		else
			id=$(shm_line "$PID" "$A" | awk '{print $5}')
			[ "$(awk -v id="$id" '$2 == id {print $8, $9, $10, $11}' /proc/sysvipc/shm)" = "$uid $gid $uid $gid" ]
		fi
		shared_on "$PID" "$C" "$OUT" "$before"
		kill -TERM "$PID"
		thaw_wait 0
		grep -q '^done ok' "$OUT"
		no_fail "$OUT" "$T/thaw.err"
	done
}

# --- hostile images: ckpt/shm that does not fit the processes' maps -------

# shm_image KIND: shmcount KIND checkpointed with --kill into $T/img
# (its pids free again); sets C, A, INO (the object's inode) and SHM
# (the ckpt/shm line)
shm_image() {
	start_job shmcount 2 "$1"
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	A=$(region shared)
	INO=$(shm_line "$PID" "$A" | awk '{print $5}')
	job_freeze_kill "$T/img"
	SHM=$(img cat "$T/img" ckpt/shm)
	echo "ckpt/shm: $SHM"
}

# shm_bad TEXT PATTERN: the image with ckpt/shm made TEXT is refused by
# ckpt-thaw, exit 1, saying PATTERN; no process of it is left, and no
# SysV segment more than before
shm_bad() {
	local segs
	segs=$(wc -l </proc/sysvipc/shm)
	printf '%s\n' "$1" >"$T/shm"
	img edit "$T/img" ckpt/shm "$T/shm" >"$T/bad"
	thaw_fails "$2" "$T/bad"
	dead "$C"
	[ "$(wc -l </proc/sysvipc/shm)" = "$segs" ]
}

@test "hostile ckpt/shm: an object no process maps, a size that does not fit, an unlisted or unknown pid, a view beyond the object: exit 1, named, no process left" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	local size
	shm_image anon
	[ "$SHM" = "00:01 $INO 4096 $PID,$C" ]
	shm_bad "$SHM
00:01 4242 4096 $PID,$C" "ckpt-thaw: member ckpt/shm: object 0:1 inode 4242: pid $PID maps no view of it"
	shm_bad "00:01 $INO 8192 $PID,$C" "ckpt-thaw: member ckpt/shm: object 0:1 inode $INO: size 8192, but its views end at 4096"
	for size in 0 4097 281474976710656; do
		shm_bad "00:01 $INO $size $PID,$C" "ckpt-thaw: member ckpt/shm line 1: size $size does not fit an object (whole pages, at most 2^47)"
	done
	shm_bad "00:01 $INO 4096 $PID,99999" "ckpt-thaw: member ckpt/shm line 1: pid 99999 is no process of the manifest"
	shm_bad "00:01 $INO 4096 $PID,$PID" "ckpt-thaw: member ckpt/shm line 1: pid $PID listed twice"
	shm_bad "00:01 $INO 4096 $PID" "ckpt-thaw: member ckpt/shm line 1: an object of one process"
	shm_bad "00:01 $INO 4096 $PID,$C
00:01 $INO 4096 $PID,$C" "ckpt-thaw: member ckpt/shm line 2: an object listed twice"
	shm_bad "" "ckpt-thaw: pids $PID and $C map the same shared memory (0:1 inode $INO), but member ckpt/shm does not list it"
	shm_bad "00:01 $INO 4096 $PID,$C,x" "ckpt-thaw: member ckpt/shm line 1: malformed pid list"
	# the child's view moved past the object's end
	img cat "$T/img" "proc/$C/maps" | sed "s/^\(${A#0x}-[0-9a-f]* rw-s \)00000000/\100001000/" >"$T/maps"
	grep -q "^${A#0x}-[0-9a-f]* rw-s 00001000 " "$T/maps"
	img edit "$T/img" "proc/$C/maps" "$T/maps" >"$T/img2"
	mv "$T/img2" "$T/img"
	shm_bad "$SHM" "ckpt-thaw: pid $C: region ${A#0x}-"
	grep -q "at offset 4096: beyond the end of its object 0:1 inode $INO (size 4096, member ckpt/shm)" <<<"$stderr"
}

@test "hostile ckpt/shm of a SysV segment: refused once the segment is made: no segment, no process left" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:shmcount
	need_root
	shm_image sysv
	# found once every process is read: the segment is made by then
	shm_bad "$SHM
00:01 4242 4096 $PID,$C" "ckpt-thaw: member ckpt/shm: object 0:1 inode 4242: pid $PID maps no view of it"
	# the size of its views against proc/PID/sysvshm's (4000 bytes)
	shm_bad "00:01 $INO 8192 $PID,$C" "ckpt-thaw: member proc/$PID/sysvshm: segment $INO of 4000 bytes, its views in the job 8192 (member ckpt/shm)"
}

@test "restored: a Python multiprocessing.Array a parent and its child count in (an unlinked /dev/shm file both map and hold open, made O_NOFOLLOW): one object again, still shared" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local before fd
	start_job shmarray.py 2
	C=$(awk '$1 == "child" {print $2}' "$OUT")
	verify_prog
	before=$(last_num "$OUT" 'verify ok')
	job_freeze_kill "$T/img"
	img cat "$T/img" ckpt/shm
	[ "$(img cat "$T/img" ckpt/shm | awk '{print $4}')" = "$PID,$C" ]
	thaw_job "$T/img"
	restored python3 20
	wait_procs "$PID" 2
	# the arena's fd and the maps are one file in each process
	for p in "$PID" "$C"; do
		fd=$(ls -l "/proc/$p/fd" | awk '$NF == "(deleted)" && $(NF - 1) ~ /^\/dev\/shm\/pym-/ {print $(NF - 3); exit}')
		[ -n "$fd" ]
		grep "$(stat -L -c '%i' "/proc/$p/fd/$fd") */dev/shm/pym-" "/proc/$p/maps"
	done
	verify_prog
	[ "$(last_num "$OUT" 'verify ok')" -gt "$before" ]
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}
