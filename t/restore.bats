#!/usr/bin/env bats
# ckpt-thaw: usage, real programs checkpointed with ckpt-freeze --kill
# and restored with their pids, then the bad inputs, each of which must
# fail clearly and leave no process behind.  Runs as root (set_tid).

load helpers
load thaw

setup() {
	thaw_setup
	KEY=tick   # checkpoint_kill waits for ticks (tests may say ready)
}

teardown() {
	thaw_teardown
}

@test "ckpt-thaw: bad usage is exit 2, --help is 0" {
	need ckpt-thaw
	run --separate-stderr "$THAW" --bogus
	[ "$status" -eq 2 ]
	[[ $stderr == *usage:* ]]
	# several images are a chain (t/incr.bats): a missing link is named
	run --separate-stderr "$THAW" "$T/a" "$T/b"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-thaw: $T/a: No such file or directory" ]]
	run --separate-stderr "$THAW" --help
	[ "$status" -eq 0 ]
	[[ $output == *usage:* ]]
}

@test "ckpt-thaw: a tar that is not an image is refused" {
	need ckpt-thaw
	echo hello >"$T/f"
	tar cf "$T/x.tar" -C "$T" f
	run --separate-stderr "$THAW" "$T/x.tar"
	[ "$status" -eq 1 ]
	[[ $stderr == *"not "*"image"* ]]
	run --separate-stderr "$THAW" /nonexistent.tar
	[ "$status" -eq 1 ]
	[[ $stderr == *nonexistent* ]]
}

@test "counter continues from its tick with the same pid and the same memory" {
	checkpoint_kill counter -m 8 -i 10
	local n sum
	n=$(last_num "$OUT" tick)
	sum=$(grep -o 'sum=0x[0-9a-f]*' "$OUT" | head -n 1)
	thaw_bg "$T/img"
	# fd 1 was $OUT (a log: reopened at its offset), so ticks go on there
	wait_past "$OUT" tick $((n + 10))
	grep -qx "tick $((n + 1))" "$OUT"
	alive "$PID"
	[ "$(awk '{print $4}' /proc/$PID/stat)" = "$TPID" ]
	verify_prog "$PID" "$OUT"
	[ "$(grep '^verify ok' "$OUT" | tail -n 1 | grep -o 'sum=0x[0-9a-f]*')" = "$sum" ]
	grep -q "counter" "/proc/$PID/comm"
	[ "$(readlink "/proc/$PID/exe")" = "$PROGS/counter" ]
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

@test "a Python program comes back with the same objects" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	start_prog counter.py -i 10
	wait_past "$OUT" tick 3
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	local sum
	sum=$(grep -o 'sum=[0-9a-f]*' "$OUT" | head -n 1)
	thaw_bg "$T/img"
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 5))
	verify_prog "$PID" "$OUT"
	[ "$(grep '^verify ok' "$OUT" | tail -n 1 | grep -o 'sum=[0-9a-f]*')" = "$sum" ]
	kill -TERM "$PID"
	thaw_wait 0
}

@test "ckpt-thaw exits with 128+signal when the restored process is killed" {
	checkpoint_kill counter -i 10
	thaw_bg "$T/img"
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 3))
	kill -KILL "$PID"
	thaw_wait 137
}

@test "a SIGTERM to ckpt-thaw while it builds the job is the job's: it comes back, then gets it" {
	checkpoint_kill counter -m 8 -i 10
	local half
	half=$(($(stat -c %s "$T/img") / 2))
	# half the stream, then the signal, then the rest
	mkfifo "$T/fifo"
	{ head -c "$half" "$T/img"; sleep 1.5; tail -c +$((half + 1)) "$T/img"; } >"$T/fifo" &
	"$THAW" <"$T/fifo" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	sleep 0.5
	kill -TERM "$TPID"
	thaw_wait 0
	# only the restored counter can say so: the original was killed
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

@test "8 threads under a mutex come back with their tids and agree" {
	KEY='progress shared=' checkpoint_kill mt 8
	local tids
	tids=$(awk '$1 == "thread" {print $5}' "$OUT")
	[ "$(echo $tids | wc -w)" -eq 13 ]
	thaw_bg "$T/img"
	wait_past "$OUT" 'progress shared=' $(($(last_num "$OUT" 'progress shared=') + 1000))
	for t in $tids; do [ -d "/proc/$PID/task/$t" ]; done
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
}

@test "a restored process can be checkpointed and restored again" {
	KEY='progress shared=' checkpoint_kill mt 4
	thaw_bg "$T/img"
	wait_past "$OUT" 'progress shared=' $(($(last_num "$OUT" 'progress shared=') + 1000))
	# the restarted control thread serves the socket again
	freeze_ok "$T/img2" "$PID"
	freeze_ok "$T/img3" --kill "$PID"
	thaw_wait 137
	thaw_bg "$T/img3"
	wait_past "$OUT" 'progress shared=' $(($(last_num "$OUT" 'progress shared=') + 1000))
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
}

@test "clock_gettime (the vDSO) and sched_getcpu (rseq) work after a restore" {
	checkpoint_kill rst_time
	thaw_bg "$T/img"
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 20))
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	no_fail "$OUT" "$T/thaw.err"
}

@test "every kind of fd the policy knows comes back and checks out" {
	mkdir "$T/d"
	KEY='ready' checkpoint_kill fds_policy "$T/d"
	thaw_bg "$T/img"
	for ((i = 0; i < 250; i++)); do
		alive "$PID" && [ "$(cat "/proc/$PID/comm")" = fds_policy ] && break
		sleep 0.02
	done
	verify_prog "$PID" "$OUT"
	fdn() { awk -v n="$1" '$1 == "fd" && $2 == n {print $3}' "$OUT"; }
	[ "$(readlink "/proc/$PID/fd/$(fdn dir)")" = "$T/d" ]
	# sock0 was close-on-exec: the restorer set it again after its exec
	[ "$(awk '/^flags/ {print substr($2, 1, 3)}' "/proc/$PID/fdinfo/$(fdn sock0)")" = 020 ]
	# the state check's record first: the SIGTERM closes every fd (a
	# record late under load saw them gone)
	state_same
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
}

@test "stdout that was a pipe goes to ckpt-thaw's stdout" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	need_root
	("$RUN" -- "$PROGS/counter" -i 10 3>&- | cat >"$T/o1") &
	wait_line "$T/o1" '^tick 3'
	PID=$(awk '/^pid/ {print $2; exit}' "$T/o1")
	STARTED+=("$PID")
	freeze_ok "$T/img" --kill "$PID"
	for ((i = 0; i < 250; i++)); do dead "$PID" && break; sleep 0.02; done
	"$THAW" "$T/img" >"$T/o2" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	wait_line "$T/o2" '^tick '
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$T/o2"
	! grep -q '^done ok' "$T/o1"
}

@test "a stream compressed by gzip, zstd, xz, bzip2 or lz4 restores from stdin, and unpacks" {
	checkpoint_kill counter -i 10
	local n c
	for c in gzip zstd xz bzip2 lz4; do
		command -v "$c" >/dev/null || skip "no $c"
		"$c" -c <"$T/img" >"$T/img.$c"
		"$BIN/ckpt-unpack" <"$T/img.$c" | cmp - "$T/img"
		n=$(last_num "$OUT" tick)
		"$THAW" --stdin /dev/null <"$T/img.$c" 2>"$T/thaw.err" &
		TPID=$!
		TPIDS+=("$TPID")
		wait_past "$OUT" tick $((n + 5))
		kill -TERM "$PID"
		thaw_wait 0
		grep -q '^done ok' "$OUT"
	done
}

@test "nothing of the restorer is left in the restored process" {
	checkpoint_kill counter -i 10
	local n
	n=$(last_num "$OUT" tick)
	thaw_bg "$T/img"
	wait_past "$OUT" tick $((n + 5))
	cat "/proc/$PID/maps"
	# the restorer's trampoline page (rwx) goes once every thread resumed
	! grep -q ' rwxp ' "/proc/$PID/maps" || false
	! grep -q 'ckpt-restorer' "/proc/$PID/maps" || false
	[ "$(readlink "/proc/$PID/exe")" = "$(tar xOf "$T/img" "proc/$PID/core" | sed -n 's/^exe //p')" ]
	# the same regions as at the checkpoint (the kernel may merge neighbours)
	diff <(tar xOf "$T/img" "proc/$PID/maps" | awk '{print $6}' | sort -u) \
		<(awk '{print $6}' "/proc/$PID/maps" | sort -u)
	kill -TERM "$PID"
	thaw_wait 0
}

@test "a packed image restores, from a file and from stdin" {
	need ckpt-pack
	checkpoint_kill counter -m 4 -i 10
	"$BIN/ckpt-pack" <"$T/img" >"$T/packed"
	local n
	n=$(last_num "$OUT" tick)
	thaw_bg "$T/packed"
	wait_past "$OUT" tick $((n + 5))
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	# and once more from stdin, since the image does not change; the
	# first run's lines go, so that only this one's can be counted (the
	# log comes back at its checkpoint offset, after a hole)
	: >"$OUT"
	"$THAW" <"$T/packed" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	# wait for the process itself
	for ((i = 0; i < 250; i++)); do
		alive "$PID" && [ "$(cat "/proc/$PID/comm")" = counter ] && break
		sleep 0.02
	done
	sleep 0.2
	kill -TERM "$PID"
	thaw_wait 0
	[ "$(grep -ac '^done ok' "$OUT")" -eq 1 ]
}

@test "a taken pid: restored in a new pid namespace, with its pid inside" {
	checkpoint_kill counter -i 10
	thaw_bg "$T/img"
	local first=$TPID n reaper prog
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 3))
	thaw_bg "$T/img"
	in_new_ns
	[ "$(awk '/^NSpid/ {print $3}' "/proc/$reaper/status")" = 1 ]
	[ "$(awk '/^NSpid/ {print $3}' "/proc/$prog/status")" = "$PID" ]
	kill -TERM "$TPID"
	thaw_wait 0
	TPID=$first
	kill -TERM "$TPID"
	thaw_wait 0
}

# other_checkpoint: as the user ckpttest, in a new directory D (its
# name the first line on stdout, even on failure), run counter under ckpt-run and checkpoint it with --kill
# to D/img; its output is in D/out
other_checkpoint() {
	local d
	d=$(mktemp -d /tmp/ckpt-restore-XXXXXX)
	chmod 0777 "$d"
	echo "$d"
	as_other sh -c '
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
		cd "$1" && mkdir -m 0700 sock && export CKPT_SOCKDIR=$1/sock
		"$2" -- "$3" -i 10 >out 2>err &
		p=$!
		for i in $(seq 100); do grep -q "^tick 3" out && break; sleep 0.05; done
		"$4" --kill $p >img || exit 1
		wait' _ "$d" "$RUN" "$PROGS/counter" "$BIN/ckpt-freeze" >&2
}

@test "not root: restored in a new user and pid namespace" {
	other_user || skip "needs root to make a second user"
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	local d
	d=$(other_checkpoint) || { TMPDIRS+=("$d"); false; }
	TMPDIRS+=("$d")
	as_other sh -c '
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
		cd "$1" && export CKPT_SOCKDIR=$1/sock
		timeout -s TERM 2 "$2" img 2>thaw.err
		echo "thaw exit $?" >>thaw.err' _ "$d" "$THAW"
	cat "$d/thaw.err"
	grep -q '^done ok' "$d/out"
	[ "$(grep -c '^pid ' "$d/out")" = 1 ]
}

@test "root restores another uid's process as that uid, without capabilities" {
	other_user || skip "needs root to make a second user"
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	local d p t
	d=$(other_checkpoint) || { TMPDIRS+=("$d"); false; }
	TMPDIRS+=("$d")
	p=$(awk '/^pid/ {print $2; exit}' "$d/out")
	PID=$p
	thaw_bg "$d/img"
	wait_past "$d/out" tick $(($(last_num "$d/out" tick) + 3))
	for t in /proc/$p/task/*; do
		grep -q "^Uid:.$(id -u ckpttest).$(id -u ckpttest)" "$t/status"
		grep -q '^CapEff:.0000000000000000' "$t/status"
		grep -q '^CapPrm:.0000000000000000' "$t/status"
		grep -q '^CapAmb:.0000000000000000' "$t/status"
	done
	kill -TERM "$p"
	thaw_wait 0
	grep -q '^done ok' "$d/out"
}

@test "a stream cut at any member boundary, or without its trailer, restores nothing" {
	checkpoint_kill counter -i 10
	local size b
	size=$(stat -c %s "$T/img")
	head -c $((size - 1024)) "$T/img" >"$T/cut"
	thaw_fails "truncated" "$T/cut"
	for b in $(tar -R -tf "$T/img" | sed -n 's/^block \([0-9]*\):.*/\1/p'); do
		[ "$b" -gt 0 ] || continue
		head -c $((b * 512)) "$T/img" >"$T/cut"
		thaw_fails "ckpt-thaw: $T/cut: " "$T/cut"
	done
	head -c $((size - 3000)) "$T/img" >"$T/cut"
	thaw_fails "truncated" "$T/cut"
}

@test "a flipped byte in a header or in maps is refused" {
	checkpoint_kill counter -i 10
	python3 - "$T/img" "$T/badhdr" "$T/badmaps" "$PID" <<'PY'
import sys
img = bytearray(open(sys.argv[1], 'rb').read())
h = bytearray(img); h[512 * 0 + 10] ^= 0x20     # the manifest header's name
open(sys.argv[2], 'wb').write(h)
i = img.find(b'proc/%s/maps' % sys.argv[4].encode())
off = (i // 512 + 1) * 512                      # its data (no pax header)
m = bytearray(img); m[off + 4] = ord('z')
open(sys.argv[3], 'wb').write(m)
PY
	run --separate-stderr "$THAW" "$T/badhdr"
	[ "$status" -eq 1 ]
	dead "$PID"
	thaw_fails "maps line 1" "$T/badmaps"
}

@test "a mapped file that changed since the checkpoint is named" {
	need prog:counter
	cp "$PROGS/counter" "$T/counter"
	PROGS=$T checkpoint_kill counter -i 10
	touch "$T/counter"
	thaw_fails "$T/counter changed" "$T/img"
}

@test "a newer image version is refused" {
	checkpoint_kill counter -i 10
	sed 's/ckpt-image 1$/ckpt-image 2/' "$T/img" >"$T/v2"
	thaw_fails "image version 2, this ckpt-thaw reads up to 1" "$T/v2"
}

@test "--same-ns with a taken pid names it" {
	checkpoint_kill counter -i 10
	thaw_bg "$T/img"
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 3))
	run --separate-stderr "$THAW" --same-ns "$T/img"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"id $PID is taken"* ]]
	alive "$PID"
}

@test "256 MiB of memory: the same checksum, the same pid, the counter goes on" {
	KEY=tick checkpoint_kill counter -m 256 -i 20
	local n sum t0 t1
	n=$(last_num "$OUT" tick)
	sum=$(grep -o 'sum=0x[0-9a-f]*' "$OUT" | head -n 1)
	t0=$(date +%s%N)
	thaw_bg "$T/img"
	wait_past "$OUT" tick "$n" 20
	t1=$(date +%s%N)
	echo "restore of 256 MiB until the next tick: $(((t1 - t0) / 1000000)) ms"
	# generous: it takes well under a second on a idle machine
	[ $((t1 - t0)) -lt 5000000000 ]
	grep -qx "tick $((n + 1))" "$OUT"
	alive "$PID"
	[ "$(awk '{print $4}' /proc/$PID/stat)" = "$TPID" ]
	verify_prog "$PID" "$OUT"
	[ "$(grep '^verify ok' "$OUT" | tail -n 1 | grep -o 'sum=0x[0-9a-f]*')" = "$sum" ]
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

# proc_state PID: what /proc shows of the state rst_state sets
proc_state() {
	grep -E '^(Umask|SigBlk|SigIgn|SigCgt):' "/proc/$1/status"
	cat "/proc/$1/limits"
	readlink "/proc/$1/cwd"
}

@test "handlers, alternate stack, mask, rlimits, umask, cwd, itimer come back" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:rst_state
	need_root
	mkdir "$T/cwd"
	start_prog rst_state "$T/cwd"
	wait_past "$OUT" tick 3
	verify_prog "$PID" "$OUT"
	# SigBlk changes while a handler runs: read until two reads agree
	local before after i n
	for ((i = 0; i < 20; i++)); do
		before=$(proc_state "$PID")
		[ "$before" = "$(proc_state "$PID")" ] && break
	done
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	n=$(last_num "$OUT" tick)
	thaw_bg "$T/img"
	wait_past "$OUT" tick $((n + 3))
	for ((i = 0; i < 20; i++)); do
		after=$(proc_state "$PID")
		[ "$after" = "$before" ] && break
		sleep 0.01
	done
	diff <(echo "$before") <(echo "$after")
	grep -q 'Umask:.0027' "/proc/$PID/status"
	[ "$(readlink "/proc/$PID/cwd")" = "$T/cwd" ]
	# the handler runs on its alternate stack, SIGALRM still comes
	kill -USR2 "$PID"
	wait_line "$OUT" '^usr2 count 1 onstack 1$'
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

@test "a bash loop appending to a log: no gap and no repeat" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local log=$T/log n
	# A builtin-only delay: `sleep` would fork, and a checkpoint while
	# its child runs would be of a process tree (ckpt-freeze takes one
	# process).  With builtins only, bash has no child at any moment.
	bash_log_job "$log"
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	n=$(wc -l <"$log")
	thaw_bg "$T/img"
	wait_past "$log" '' $((n + 5))
	alive "$PID"
	kill -TERM "$PID"
	thaw_wait 143
	n=$(wc -l <"$log")
	echo "$n lines"
	seq 1 "$n" | diff - "$log"
	[ ! -s "$T/bash.err" ]
}

@test "one image restored twice in a row starts from the same state" {
	checkpoint_kill counter -i 10 -n 60
	local n size
	n=$(last_num "$OUT" tick)
	# fd 1 is $OUT at its offset at the checkpoint: each run writes
	# from there, so keep what the first wrote and cut the file back
	size=$(stat -c %s "$OUT")
	thaw_bg "$T/img"
	thaw_wait 0
	tail -c +$((size + 1)) "$OUT" >"$T/run1"
	truncate -s "$size" "$OUT"
	thaw_bg "$T/img"
	thaw_wait 0
	tail -c +$((size + 1)) "$OUT" >"$T/run2"
	head -n 1 "$T/run1" | grep -qx "tick $((n + 1))"
	diff "$T/run1" "$T/run2"
	grep -qx 'done ok ticks=60 sum=0x0' "$T/run2"
	no_fail "$OUT" "$T/thaw.err"
}

# both_run_and_end N: the original ($PID, writing $T/o1) and its copy
# restored beside it ($prog, under ckpt-thaw $TPID, writing $T/o2) each
# tick N more and verify, then end: done ok, ckpt-thaw exits 0
both_run_and_end() {
	local n
	n=$(last_num "$T/o2" tick)
	wait_past "$T/o2" tick $((n + $1))
	n=$(last_num "$T/o1" tick)
	wait_past "$T/o1" tick $((n + $1))
	alive "$PID"
	verify_prog "$PID" "$T/o1"
	verify_prog "$prog" "$T/o2"
	kill -TERM "$PID"
	kill -TERM "$TPID"
	thaw_wait 0
	grep -q '^done ok' "$T/o2"
	wait_line "$T/o1" '^done ok'
}

@test "restored while the original runs: a new pid namespace, both tick" {
	start_piped counter -i 10
	freeze_ok "$T/img" "$PID"
	thaw_piped "$T/img"
	local reaper prog
	in_new_ns
	[ "$(awk '/^NSpid/ {print $2, $3}' "/proc/$prog/status")" = "$prog $PID" ]
	[ "$(awk '/^NSpid/ {print $3}' "/proc/$reaper/status")" = 1 ]
	wait_line "$T/o2" '^tick '
	both_run_and_end 5
}

@test "restored while the original runs: each of the two processes of one pid has its own control socket and is checkpointed again" {
	start_piped counter -i 10
	freeze_ok "$T/img" "$PID"
	thaw_piped "$T/img"
	local reaper prog ns
	in_new_ns
	wait_line "$T/o2" '^tick '
	ns=$(stat -L -c %i "/proc/$prog/ns/pid")
	wait_sock "$PID.$ns"
	# the copy did not take the original's name: each tool reaches its own
	[ -S "$CKPT_SOCKDIR/$PID.sock" ]
	freeze_ok "$T/img1" "$PID"
	freeze_ok "$T/img2" "$prog"
	img cat "$T/img1" ckpt/manifest | grep -q "^proc $PID "
	img cat "$T/img2" ckpt/manifest | grep -q "^proc $PID "
	both_run_and_end 3
}

@test "checkpointed while running, the original exits, the image comes back" {
	start_piped counter -i 10
	freeze_ok "$T/img" "$PID"
	local at ticks first
	at=$(awk '/^addr counter/ {print $3}' "$T/o1")
	ticks=$(state_page "$T/img" "$PID" "$at" | awk '{print $1}')
	wait_past "$T/o1" tick $((ticks + 10))
	kill -TERM "$PID"
	wait_line "$T/o1" '^done ok'
	for ((i = 0; i < 250; i++)); do dead "$PID" && break; sleep 0.02; done
	dead "$PID"
	thaw_piped "$T/img"
	wait_line "$T/o2" '^tick '
	first=$(grep -m 1 '^tick' "$T/o2" | grep -Eo '[0-9]+$')
	echo "image at tick $ticks, restored first prints tick $first"
	# frozen between ticks++ and its printf, the first is tick $ticks
	[ "$first" -eq $((ticks + 1)) ] || [ "$first" -eq "$ticks" ]
	alive "$PID"
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$T/o2"
}

@test "a stream cut at 20 random offsets: exit 1, a message, no process" {
	need prog:subreap
	checkpoint_kill counter -m 1 -i 10
	local size off k
	size=$(stat -c %s "$T/img")
	for ((k = 0; k < 20; k++)); do
		off=$(((RANDOM * 32768 + RANDOM) % size))
		echo "cut at $off of $size"
		head -c "$off" "$T/img" >"$T/cut"
		thaw_fails "ckpt-thaw: $T/cut: " "$T/cut"
		# and nothing of it is left: ckpt-thaw again, under a child
		# subreaper that gets what it leaves (not every restorer of this
		# session: other suites may be restoring beside this one)
		run "$PROGS/subreap" 5 "$THAW" "$T/cut"
		[[ $output == *"left 0"* ]] || { echo "$output"; false; }
	done
}

@test "a raw stream restores from a pipe, cut in its pages from a pipe too" {
	checkpoint_kill counter -m 16 -i 10
	local n size
	n=$(last_num "$OUT" tick)
	# ckpt-thaw splices the page data from its input: a pipe here
	cat "$T/img" | "$THAW" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	wait_past "$OUT" tick $((n + 5))
	verify_prog "$PID" "$OUT"
	kill -TERM "$PID"
	thaw_wait 0
	size=$(stat -c %s "$T/img")
	run --separate-stderr sh -c 'head -c "$1" "$2" | "$3"' _ $((size / 2)) "$T/img" "$THAW"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"stdin: "*truncated* ]]
	dead "$PID"
}
