#!/usr/bin/env bats
# ckpt-freeze --cow (issue 15): the job thaws once every process has a
# copy-on-write snapshot, and the pages come from the snapshots at the
# reader's pace.  t/progs/cowsum.c writes its memory without a pause and
# checks it adds up: an image made of pages from more than one instant
# fails that check once restored.  Runs as root (restores with the old
# pids).

load helpers
load thaw

setup() { thaw_setup; }
teardown() { thaw_teardown; }

# restore_adds_up IMG: the original killed, IMG restored, its writers
# check at least two more passes (cowsum counts them from its restore
# hook), then SIGTERM: "done ok", nothing failed
restore_adds_up() {
	restore_ended "$1"
	grep -E '^done ok passes=[0-9]+ restored=([2-9]|[1-9][0-9]+)$' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

# restore_ended IMG: the program (PID) killed, IMG restored, a second
# of its passes, then SIGTERM, and ckpt-thaw exits 0
restore_ended() {
	kill -KILL "$PID" 2>/dev/null || true   # gone when an image before ended it
	wait "$PID" 2>/dev/null || true
	thaw_bg "$1"
	restored cowsum
	local i
	for ((i = 0; i < 200; i++)); do
		grep -q '^FAIL' "$OUT" && break
		sleep 0.05
		[ "$i" -ge 20 ] && break   # 1 s: a pass of 64 MiB takes ~0.1 s
	done
	kill -TERM "$PID"
	thaw_wait 0
}

# cowsum_started ARG...: t/progs/cowsum started, one pass checked
cowsum_started() {
	start_prog cowsum "$@"
	wait_past "$OUT" passes 1
}

# ran_clean: cowsum made one more pass, and none of its watch lines saw
# a child reaped, a SIGCHLD or a child it did not make
ran_clean() {
	wait_past "$OUT" passes "$(last_num "$OUT" passes)"
	! grep '^watch' "$OUT" | grep -v 'reaped=0 sigchld=0 strangers=0'
	no_fail
}

# snapshot_of PROG: the pid of the live snapshot of a test program PROG
# (comm ckpt-snapshot, its exe PROG), or nothing
snapshot_of() {
	local d c st
	for d in /proc/[0-9]*; do
		c=
		read -r c 2>/dev/null <"$d/comm" || continue
		[ "$c" = ckpt-snapshot ] || continue
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$PROGS/$1" ] || continue
		read -r st 2>/dev/null <"$d/stat" || continue
		st=${st##*) }
		[ "${st%% *}" != Z ] || continue
		echo "${d#/proc/}"
	done
}

# snapshot_wait PROG: the first live snapshot of PROG, once there is one
# (5 s at most), or nothing
snapshot_wait() {
	local i s
	for ((i = 0; i < 250; i++)); do
		s=$(snapshot_of "$1")
		[ -z "$s" ] || break
		sleep 0.02
	done
	echo "${s%%$'\n'*}"
}

# slow_read FILE MIB_S: stdin to FILE at about MIB_S MiB a second
slow_read() {
	"$PYTHON" -c '
import sys, time
out = open(sys.argv[1], "wb")
rate = float(sys.argv[2]) * (1 << 20)
f = sys.stdin.buffer
for b in iter(lambda: f.read(1 << 16), b""):
    out.write(b)
    time.sleep(len(b) / rate)
' "$1" "$2"
}

@test "ckpt-freeze --cow: bad usage is exit 2; --help names --cow and --stats" {
	need ckpt-freeze
	run --separate-stderr "$BIN/ckpt-freeze" --cow --kill 1
	[ "$status" -eq 2 ]
	[[ $stderr == *"--cow and --kill"* ]]
	[[ $stderr == *usage:* ]]
	run --separate-stderr "$BIN/ckpt-freeze" --help
	[ "$status" -eq 0 ]
	[[ $output == *--cow* ]]
	[[ $output == *--stats* ]]
	run --separate-stderr "$BIN/ckpt-dumpmem" --cow 3 1
	[ "$status" -eq 2 ]
	[[ $stderr == *"--cow goes with --control"* ]]
}

@test "--stats says how long the job was frozen, with --cow and without" {
	need ckpt-run ckpt-freeze prog:cowsum
	start_prog cowsum 16
	"$BIN/ckpt-freeze" --stats "$PID" >"$T/img" 2>"$T/err"
	cat "$T/err"
	grep -Eq "^ckpt-freeze: pid $PID: job of 1 process frozen for [0-9.]+ ms; whole dump [0-9.]+ ms$" "$T/err"
	"$BIN/ckpt-freeze" --cow --stats "$PID" >"$T/img" 2>"$T/err"
	cat "$T/err"
	grep -Eq "^ckpt-freeze: pid $PID: job of 1 process frozen for [0-9.]+ ms \(copy-on-write\); whole dump [0-9.]+ ms$" "$T/err"
	no_fail
}

@test "--cow: one thread writing all along; the image is of one instant and the program never sees a wrong value" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:cowsum
	need_root
	cowsum_started 64
	# the same members and maps as without --cow
	freeze_ok "$T/plain" "$PID"
	freeze_ok "$T/img" --cow "$PID"
	diff <(tar tf "$T/plain") <(tar tf "$T/img")
	diff <(tar xOf "$T/plain" "proc/$PID/maps") <(tar xOf "$T/img" "proc/$PID/maps")
	# the program went on and checked its passes, never the snapshot's
	wait_past "$OUT" passes "$(last_num "$OUT" passes)"
	no_fail
	restore_adds_up "$T/img"
}

@test "--cow: the pages scanned in the snapshot are those a frozen scan finds" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 16 -i 100000
	# each way once first: a dump makes present the pages of the shim it
	# touches after its scan, which the next dump finds
	freeze_ok "$T/warm" --cow "$PID"
	freeze_ok "$T/warm" "$PID"
	freeze_ok "$T/plain" "$PID"
	freeze_ok "$T/img" --cow "$PID"
	diff <(tar xOf "$T/plain" "proc/$PID/pagemap") <(tar xOf "$T/img" "proc/$PID/pagemap")
	[ "$(tar xOf "$T/img" "proc/$PID/pagemap" | wc -l)" -ge 1 ]
	diff <(tar xOf "$T/plain" "proc/$PID/vmflags") <(tar xOf "$T/img" "proc/$PID/vmflags")
}

@test "--cow: four threads and a slow reader; the program sees no child, no SIGCHLD, nothing to reap" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:cowsum
	need_root
	cowsum_started 64 4
	"$BIN/ckpt-freeze" --cow --stats "$PID" 2>"$T/ferr" | slow_read "$T/img" 40 &
	local reader=$! snap= i
	snap=$(snapshot_wait cowsum)
	echo "snapshot: ${snap:-none}"
	[ -n "$snap" ] || { cat "$T/ferr"; false; }
	# the program runs on meanwhile, its snapshot none of its children
	local n
	n=$(last_num "$OUT" passes)
	wait_past "$OUT" passes "$n"
	[ "$(awk '{print $4}' "/proc/$snap/stat")" != "$PID" ]
	! grep -qw "$snap" /proc/"$PID"/task/*/children
	wait "$reader"
	cat "$T/ferr"
	grep -q "frozen for" "$T/ferr"
	# gone with its dump
	for ((i = 0; i < 100; i++)); do
		[ -z "$(snapshot_of cowsum)" ] && break
		sleep 0.05
	done
	[ -z "$(snapshot_of cowsum)" ]
	sleep 0.2
	# every watch line since the start: nothing seen
	grep '^watch' "$OUT" | sort | uniq -c
	! grep '^watch' "$OUT" | grep -v 'reaped=0 sigchld=0 strangers=0'
	no_fail
	restore_adds_up "$T/img"
}

@test "--cow: ckpt-freeze killed mid-dump leaves no snapshot behind" {
	need ckpt-run ckpt-freeze prog:cowsum prog:subreap
	# under a subreaper above the job, as a session manager is: the
	# orphaned snapshot goes there (this machine's init reaps no orphan)
	OUT=$T/out ERR=$T/err
	"$PROGS/subreap" 30 "$RUN" -- "$PROGS/cowsum" 128 2 >"$OUT" 2>"$ERR" 3>&- 4>&- &
	local sr=$! snap= fz i
	STARTED+=("$sr")
	wait_line "$OUT" '^ready '
	PID=$(awk '$1 == "pid" {print $2}' "$OUT")
	STARTED+=("$PID")
	mkfifo "$T/fifo"
	sleep 60 <"$T/fifo" 3>&- 4>&- &   # a reader that never reads
	STARTED+=("$!")
	"$BIN/ckpt-freeze" --cow "$PID" >"$T/fifo" 2>"$T/ferr" 3>&- 4>&- &
	fz=$!
	STARTED+=("$fz")
	snap=$(snapshot_wait cowsum)
	echo "snapshot: ${snap:-none}, its parent: $(awk '{print $4}' "/proc/$snap/stat")"
	[ -n "$snap" ]
	[ "$(awk '{print $4}' "/proc/$snap/stat")" = "$sr" ]
	kill -KILL "$fz"
	# ended (the subreaper reaps it once its command ends)
	for ((i = 0; i < 100; i++)); do
		dead "$snap" && break
		sleep 0.05
	done
	dead "$snap"
	[ -z "$(snapshot_of cowsum)" ]
	ran_clean
}

@test "--cow: ckpt-freeze killed mid-pages, its slow reader reading on: no snapshot, no stage left, the stream cut" {
	need ckpt-run ckpt-freeze prog:cowsum prog:subreap
	# the stage writes the pages into ckpt-freeze's stdout itself
	# (--end-fd): once ckpt-freeze is gone, nothing of it may go on
	# writing there, nor hold the program's snapshot
	OUT=$T/out ERR=$T/err
	"$PROGS/subreap" 30 "$RUN" -- "$PROGS/cowsum" 128 2 >"$OUT" 2>"$ERR" 3>&- 4>&- &
	local sr=$! snap= fz reader stages s i whole
	STARTED+=("$sr")
	wait_line "$OUT" '^ready '
	PID=$(awk '$1 == "pid" {print $2}' "$OUT")
	STARTED+=("$PID")
	freeze_ok "$T/whole" "$PID"
	whole=$(stat -c %s "$T/whole")
	mkfifo "$T/fifo"
	slow_read "$T/img" 4 <"$T/fifo" 3>&- 4>&- &
	reader=$!
	STARTED+=("$reader")
	"$BIN/ckpt-freeze" --cow "$PID" >"$T/fifo" 2>"$T/ferr" 3>&- 4>&- &
	fz=$!
	STARTED+=("$fz")
	snap=$(snapshot_wait cowsum)
	[ -n "$snap" ]
	# mid-pages: past the members, seconds before the end at 4 MiB/s
	for ((i = 0; i < 250; i++)); do
		[ "$(stat -c %s "$T/img")" -gt $((2 << 20)) ] && break
		sleep 0.02
	done
	[ "$(stat -c %s "$T/img")" -gt $((2 << 20)) ]
	stages=$(cat /proc/"$fz"/task/*/children)
	echo "snapshot $snap, stages of ckpt-freeze: $stages, a whole image $whole bytes"
	[ -n "$stages" ]
	kill -KILL "$fz"
	# the reader gets its end of file at once: no one holds the pipe
	for ((i = 0; i < 40; i++)); do
		dead "$reader" && break
		sleep 0.05
	done
	dead "$reader"
	for s in $stages $snap; do
		dead "$s"
	done
	[ -z "$(snapshot_of cowsum)" ]
	# the stream is cut, far short of a whole image
	ls -l "$T/img"
	[ "$(stat -c %s "$T/img")" -lt $((whole / 2)) ]
	ran_clean
}

@test "--cow: MAP_SHARED, MADV_DONTFORK and MADV_WIPEONFORK memory written all along comes back as at the freeze" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:cowsum
	need_root
	# four writers: private, shared, dontfork, wipeonfork
	cowsum_started -k mixed 64 4
	freeze_ok "$T/img" --cow "$PID"
	wait_past "$OUT" passes "$(last_num "$OUT" passes)"
	no_fail
	restore_adds_up "$T/img"
}

@test "--cow: a job of three processes, each snapshotted at the same cut" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:cowsum
	need_root
	cowsum_started -p 3 -k mixed 32 2
	wait_line "$OUT" '^child passes [1-9]'
	freeze_ok "$T/img" --cow "$PID"
	[ "$(tar tf "$T/img" | grep -c '/pages$')" -eq 3 ]
	ran_clean
	restore_adds_up "$T/img"
	[ "$(grep -cE '^child done ok passes=[0-9]+ restored=([2-9]|[1-9][0-9]+)$' "$OUT")" -eq 2 ]
}

@test "--cow: under a child subreaper of the job the snapshot stays its own child, unseen by wait, and is reaped" {
	need ckpt-run ckpt-freeze prog:cowsum
	cowsum_started -s -p 2 48
	"$BIN/ckpt-freeze" --cow "$PID" 2>"$T/ferr" | slow_read "$T/img" 10 &
	local reader=$! snap= i
	snap=$(snapshot_wait cowsum)
	echo "snapshot: ${snap:-none}, its parent: $(awk '{print $4}' "/proc/$snap/stat" 2>/dev/null)"
	[ -n "$snap" ]
	# an orphan would have gone to the subreaper: it stays a child (of
	# the root or of its child, whichever is first dumped), of exit
	# signal 0 (field 38 of stat)
	local ppid
	ppid=$(awk '{print $4}' "/proc/$snap/stat")
	[ "$ppid" = "$PID" ] || [ "$(awk '{print $4}' "/proc/$ppid/stat")" = "$PID" ]
	[ "$(awk '{print $38}' "/proc/$snap/stat")" = 0 ]
	wait "$reader"
	! grep -v "^$" "$T/ferr"
	# reaped by the shim: gone, not a zombie
	for ((i = 0; i < 100; i++)); do
		[ -e "/proc/$snap" ] || break
		sleep 0.05
	done
	[ ! -e "/proc/$snap" ]
	# wait(-1) reaped nothing and no SIGCHLD came (strangers: the
	# snapshot while it was a child, seen in /proc, by design)
	! grep '^watch' "$OUT" | grep -v 'reaped=0 sigchld=0 '
	no_fail
}

@test "--cow --parent: an increment made from the snapshots, restored as a chain" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:cowsum
	need_root
	# a private writer and a shared one: the held pages are hashed and
	# stored from the copy made while frozen, the others from the snapshot
	cowsum_started -k mixed 32 2
	freeze_ok "$T/base" --cow --index-out "$T/base.idx" "$PID"
	wait_past "$OUT" passes "$(last_num "$OUT" passes)"
	freeze_ok "$T/inc" --cow --parent "$T/base.idx" "$PID"
	tar xOf "$T/inc" ckpt/manifest | grep -q "^parent $(tar xOf "$T/base" ckpt/manifest | sed -n 's/^id //p')\$"
	# the program's code and libraries did not change: not stored again
	[ "$(stat -c %s "$T/inc")" -lt "$(stat -c %s "$T/base")" ]
	wait_past "$OUT" passes "$(last_num "$OUT" passes)"
	no_fail
	kill -KILL "$PID"
	wait "$PID" 2>/dev/null || true
	thaw_bg "$T/base" "$T/inc"
	restored cowsum
	sleep 1
	kill -TERM "$PID"
	thaw_wait 0
	grep -E '^done ok passes=[0-9]+ restored=([2-9]|[1-9][0-9]+)$' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

@test "--cow: MADV_WIPEONFORK and MADV_DONTFORK flipped on whole regions during the dumps: each image made comes back as at the freeze, the others fail saying why" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:cowsum
	need_root
	# smaps is read before the freeze (lib/cowguess.h): a flip between
	# that read and the snapshot changes no maps line; the snapshot's
	# flags must catch it, or an image holds zeros (WIPEONFORK) or
	# nothing (DONTFORK) for a region the program wrote
	PROG_APPEND=1 cowsum_started -f 8 2
	local i refused=0 imgs=()
	for ((i = 0; i < 20; i++)); do
		if "$BIN/ckpt-freeze" --cow "$PID" >"$T/img$i" 2>"$T/err$i"; then
			imgs+=("$T/img$i")
		else
			cat "$T/err$i"
			grep -q 'its flags changed between the read of its smaps before the freeze .* and the snapshot .*: not checkpointed; try again' "$T/err$i"
			refused=$((refused + 1))
		fi
		sleep 0.0$((RANDOM % 10))
	done
	echo "${#imgs[@]} images, $refused refused"
	[ "${#imgs[@]}" -ge 3 ]
	no_fail
	for i in "${imgs[@]}"; do
		restore_ended "$i"
	done
	[ "$(grep -cE '^done ok passes=[0-9]+ restored=([2-9]|[1-9][0-9]+)$' "$OUT")" -eq "${#imgs[@]}" ]
	no_fail "$OUT" "$T/thaw.err"
}
