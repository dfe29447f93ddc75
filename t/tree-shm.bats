#!/usr/bin/env bats
# Memory shared between the processes of a job (issue 12): MAP_SHARED|
# MAP_ANONYMOUS inherited across fork, a memfd, a SysV segment.  The
# stream stores each page of such an object once, with the first
# process in stream order whose page tables have it (formats/memory.md,
# "Shared between the processes of a job").  t/progs/shmcount: a parent
# and its child counting in one shared page.

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
	throwaway_user cksh
	local kind
	PROG_USER=$NEW_USER
	PROG_DIR=$(mktemp -d /tmp/cksh-XXXXXX)
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

@test "a file in /dev/shm mapped MAP_SHARED by two processes, then removed: refused for good, both named" {
	need ckpt-run ckpt-freeze prog:shmcount
	local f
	f=$(mktemp -u /dev/shm/cksh-XXXXXX)
	refused "unlinked:$f" "the shared map of a deleted file: no file to map again, and no object a restore could share: refused"
	grep -q " $f (deleted) " "$T/err"
}

@test "MAP_SHARED|ANON, a memfd, a SysV segment marked for removal, shared by two processes: refused until ckpt-thaw makes one object per job" {
	need ckpt-run ckpt-freeze prog:shmcount
	local kind
	for kind in anon memfd sysv; do
		refused "$kind" "memory shared between processes cannot be written yet (a restore would make two copies): refused"
		kill_job "$PID"
	done
}

@test "a file in /dev/shm mapped MAP_SHARED by two processes: not refused, the file is the one object: no page of it in the stream, both name it" {
	need ckpt-run ckpt-freeze prog:shmcount
	local f p
	f=$(mktemp -u /dev/shm/cksh-XXXXXX)
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
