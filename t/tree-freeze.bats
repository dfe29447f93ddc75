#!/usr/bin/env bats
# ckpt-freeze of a whole job (issue 12): every process of the tree in
# one stream, frozen as one cut, and the shim's fork handling under
# checkpoints.  Restores of trees: the thaw side's tests.

load helpers
load thaw
load tree

# start_bash_job SCRIPT: bash -c SCRIPT under ckpt-run, as $PROG_USER
# when set; PID is its root.  The script says "ready" on stdout when
# its processes are there.
start_bash_job() {
	local pre=()
	[ -n "${PROG_USER:-}" ] && pre=(setpriv --reuid="$PROG_USER" --regid="$PROG_USER" --init-groups)
	OUT=$T/job.out ERR=$T/job.err
	"${pre[@]}" "$RUN" -- bash -c "$1" >"$OUT" 2>"$ERR" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready' 20
}

# ids_now PID: "PID PPID PGID SID" as the kernel has them now
ids_now() {
	local l r
	read -r l <"/proc/$1/stat"
	read -ra r <<<"${l##*) }"
	echo "$1 ${r[1]} ${r[2]} ${r[3]}"
}

# dies_of_term PID...: SIGTERM kills each at once: none is frozen (a
# frozen thread blocks every signal until it is thawed)
dies_of_term() {
	local p i
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			dead "$p" && continue 2
			sleep 0.02
		done
		echo "dies_of_term: pid $p is still there" >&2
		return 1
	done
}

# a loop that sleeps and wakes, and whose pid is in $T/pids
LOOP='loop() { echo $BASHPID >>"$T/pids"; while :; do sleep 0.05; done; }'

@test "a job of a parent, its children and a grandchild: one stream, every process with its ppid, pgid and sid; all run on" {
	need ckpt-run ckpt-freeze
	export T
	# set -m: each background job in its own group; setsid: a session
	start_bash_job "$LOOP; set -m; loop & (loop & loop) & setsid -w bash -c \"\$(declare -f loop); loop\" & sleep 0.3; echo ready; loop"
	local p want i
	# the five loops have started, each with its shim's socket (a
	# loaded machine may take seconds for the last of them)
	for ((i = 0; i < 1000; i++)); do
		[ "$(wc -l <"$T/pids" 2>/dev/null)" -ge 5 ] && break
		sleep 0.02
	done
	[ "$(wc -l <"$T/pids")" -eq 5 ]
	for p in $(cat "$T/pids"); do wait_sock "$p"; done
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	image_procs "$T/img" >"$T/man"
	cat "$T/man"
	head -n 1 "$T/man" | grep -Eq "^proc $PID "
	# every long-lived process, with the ids the kernel gives it
	for p in $(cat "$T/pids"); do
		want=$(ids_now "$p")
		grep -qx "proc $want" "$T/man"
	done
	# three groups and two sessions among them
	[ "$(grep -F -f <(sed 's/^/proc /; s/$/ /' "$T/pids") "$T/man" | awk '{print $4}' | sort -u | wc -l)" -ge 3 ]
	[ "$(grep -F -f <(sed 's/^/proc /; s/$/ /' "$T/pids") "$T/man" | awk '{print $5}' | sort -u | wc -l)" -eq 2 ]
	# each process's members together, in the manifest's order
	diff <(awk '$1 == "proc" {print $2}' "$T/man") \
		<(tar tf "$T/img" | awk -F/ '$1 == "proc" {print $2}' | uniq)
	# a grandchild: a process whose parent's parent is the root
	awk -v r="$PID" '{pp[$2] = $3} END {for (p in pp) if (pp[pp[p]] == r) g = 1; exit !g}' "$T/man"
	# shellcheck disable=SC2046
	job_continues $(cat "$T/pids")
	[ ! -s "$ERR" ]
}

@test "--single: the process alone, its children left out and never frozen" {
	need ckpt-run ckpt-freeze
	export T
	start_bash_job "$LOOP; loop & sleep 0.2; echo ready; loop"
	freeze_ok "$T/img" --single "$PID"
	img check "$T/img"
	[ "$(image_procs "$T/img" | wc -l)" -eq 1 ]
	image_procs "$T/img" | grep -Eqx "proc $PID [0-9]+ [0-9]+ [0-9]+"
	[ "$(tar tf "$T/img" | grep -v "^proc/$PID/" | grep -c '^proc/')" -eq 0 ]
	# shellcheck disable=SC2046
	job_continues $(cat "$T/pids")
}

@test "a job forking in a tight loop, frozen again and again: each freeze succeeds or fails cleanly; the job runs on" {
	need ckpt-run ckpt-freeze
	export T
	start_bash_job "$LOOP; (while :; do ( : ); x=\$(/bin/true); done) & sleep 0.2; echo ready; loop"
	local i ok=0 rc
	for ((i = 0; i < 30; i++)); do
		rc=0
		"$BIN/ckpt-freeze" "$PID" >"$T/img" 2>"$T/err" || rc=$?
		if [ "$rc" -eq 0 ]; then
			[ ! -s "$T/err" ] || { cat "$T/err"; false; }
			img check "$T/img"
			image_procs "$T/img" | head -n 1 | grep -Eq "^proc $PID "
			ok=$((ok + 1))
		else
			cat "$T/err"
			[ "$rc" -eq 1 ]
			[ -s "$T/err" ]
			! img check "$T/img" 2>/dev/null
		fi
	done
	echo "$ok of 30 succeeded"
	[ "$ok" -ge 25 ]
	# shellcheck disable=SC2046
	job_continues $(cat "$T/pids")
	# the forker forks on, and nothing of the job stayed frozen
	# shellcheck disable=SC2046
	dies_of_term $(job_pids "$PID" | tail -n +2)
}

# freeze_job_of N: manyproc's job of N processes, each ticking, frozen
# with --verbose (the time from the first freeze to all parked, on
# stderr); then every process ticks again
freeze_job_of() {
	start_job manyproc "$1" -i 200 "$1"
	"$BIN/ckpt-freeze" --verbose "$PID" >"$T/img" 2>"$T/err"
	grep -E "^ckpt-freeze: pid $PID: job of $1 processes frozen in [0-9]+ ms$" "$T/err"
	[ "$(wc -l <"$T/err")" -eq 1 ]
	img check "$T/img"
	image_tree_ok "$T/img"
	same_procs "$T/img" "$(job_table "$PID")"
	verify_prog
	no_fail
}

@test "a job of 50 processes: all in one stream; every one ticks on after" {
	need ckpt-run ckpt-freeze prog:manyproc
	freeze_job_of 50
}

@test "a job of 200 processes: all in one stream; every one ticks on after" {
	need ckpt-run ckpt-freeze prog:manyproc
	freeze_job_of 200
}

@test "ckpt-freeze of a job killed (SIGKILL) mid-dump, its stream's reader still there: every process runs on" {
	need ckpt-run ckpt-freeze prog:manyproc
	start_job manyproc 10 -m 16 -i 200 10
	mkfifo "$T/fifo"
	"$BIN/ckpt-freeze" "$PID" >"$T/fifo" 2>"$T/freeze.err" &
	local fp=$!
	STARTED+=("$fp")
	exec 8<"$T/fifo"
	# the stream's first bytes come once the job is frozen; then its
	# pages go into the fifo, written by a stage of ckpt-freeze's own
	timeout 20 dd bs=65536 count=1 iflag=fullblock status=none <&8 >/dev/null
	sleep 0.3
	kill -KILL "$fp"
	wait_bounded "$fp" 5 || true
	# the reader (us) stays: the stage may not hold the job frozen
	verify_prog
	exec 8<&-
	no_fail
}

@test "forker, checkpointed while it forks: every freeze succeeds; it runs on" {
	need ckpt-run ckpt-freeze prog:forker
	start_prog forker
	local i
	for ((i = 0; i < 20; i++)); do
		freeze_ok "$T/img" "$PID"
		img check "$T/img"
		image_tree_ok "$T/img"
	done
	verify_prog
	no_fail
}

@test "bashjob (subshells, command substitution, background jobs), frozen again and again: its log has no gap and no repeat" {
	need ckpt-run ckpt-freeze prog:bashjob
	start_prog bashjob "$T/log"
	local i ok=0 rc
	for ((i = 0; i < 15; i++)); do
		rc=0
		"$BIN/ckpt-freeze" "$PID" >"$T/img" 2>"$T/err" || rc=$?
		cat "$T/err"
		[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ]
		[ "$rc" -ne 0 ] || { img check "$T/img" && image_tree_ok "$T/img" && ok=$((ok + 1)); }
	done
	echo "$ok of 15 succeeded"
	[ "$ok" -ge 12 ]
	kill -TERM "$PID"
	wait_bounded "$PID" 20
	grep -Eq '^done ok lines=[0-9]+$' "$OUT"
}

@test "a child without the shim: a clear error naming its pid and executable; the whole job runs on" {
	need ckpt-run ckpt-freeze prog:noshim
	start_prog noshim
	local c rc=0
	c=$(sed -n 's/^ready noshim child=//p' "$OUT")
	"$BIN/ckpt-freeze" --kill "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
	grep -q "^ckpt-freeze: pid $c ($PROGS/noshim), child of pid $PID: a process of the job without the ckpt shim" "$T/err"
	grep -q "pid $PID: not killed" "$T/err"
	! img check "$T/img" 2>/dev/null
	job_continues "$PID" "$c"
	verify_prog
	verify_prog "$c"
	kill -TERM "$PID"
	wait_bounded "$PID" 10
	grep -qx 'done ok' "$OUT"
}

@test "a bash job's child without a working shim (LD_PRELOAD cleared; a shim that could not start): named with its executable; every process runs on" {
	need ckpt-run ckpt-freeze
	export T
	local how c rc want
	for how in "env -u LD_PRELOAD" "env CKPT_SOCKDIR=/proc/nonexistent"; do
		start_bash_job "$LOOP; loop & $how sleep 1000 & echo \$! >\"\$T/noshim\"; sleep 0.2; echo ready; loop"
		c=$(cat "$T/noshim")
		rc=0
		"$BIN/ckpt-freeze" "$PID" >"$T/img" 2>"$T/err" || rc=$?
		cat "$T/err"
		[ "$rc" -eq 1 ]
		want="a process of the job without the ckpt shim"
		[ "$how" = "env -u LD_PRELOAD" ] || {
			want="a process of the job with the ckpt shim's library but no control socket after 2 s"
			grep -q "^ckpt-shim: pid $c: cannot be checkpointed" "$ERR"
		}
		grep -q "^ckpt-freeze: pid $c (/usr/bin/sleep), child of pid $PID: $want" "$T/err"
		# shellcheck disable=SC2046
		job_continues $(cat "$T/pids")
		# nothing of the job stayed frozen
		# shellcheck disable=SC2046
		dies_of_term $(cat "$T/pids")
		kill_job "$PID"
		rm -f "$T/pids"
	done
}

@test "a zombie child: a zombie line with its wait status, no members; the parent reaps it after, with that status" {
	need ckpt-run ckpt-freeze prog:zombie
	local st want c
	for st in 3 sig9; do
		start_prog zombie "$st"
		c=$(awk '$1 == "child" {print $2; exit}' "$OUT")
		want=$([ "$st" = 3 ] && echo 768 || echo 9)
		freeze_ok "$T/img" "$PID"
		img check "$T/img"
		image_tree_ok "$T/img"
		image_procs "$T/img" | grep -Eqx "zombie $c $PID [0-9]+ [0-9]+ $want"
		! img list "$T/img" | grep -q "^proc/$c/"
		verify_prog
		grep -Eq "^reaped $c (exit=3|signal=9)" "$OUT"
		kill -TERM "$PID"
		wait_bounded "$PID" 10
		grep -qx 'done ok' "$OUT"
	done
}

@test "--kill: the whole job is gone once the stream is complete" {
	need ckpt-run ckpt-freeze
	export T
	start_bash_job "$LOOP; loop & (loop & loop) & sleep 0.2; echo ready; loop"
	local all p
	all=$(job_pids "$PID")
	freeze_ok "$T/img" --kill "$PID"
	img check "$T/img"
	tar xOf "$T/img" ckpt/manifest | grep -qx 'kill 1'
	wait "$PID" 2>/dev/null || true
	for p in $all $(cat "$T/pids"); do
		[ ! -d "/proc/$p" ] || { echo "pid $p is left: $(cat "/proc/$p/stat")"; false; }
	done
}

@test "an unprivileged user's job: the user checkpoints it, root too" {
	need ckpt-run ckpt-freeze
	[ "$(id -u)" = 0 ] || skip "makes a user: root only"
	throwaway_user cktfr
	# where the user can reach: its socket directory and the pids file
	T=$(mktemp -d /tmp/cktfr.XXXXXX)
	CLEANUP+=("$T")
	export T
	CKPT_SOCKDIR=$T/sock
	mkdir -m 0700 "$CKPT_SOCKDIR"
	chown "$NEW_USER:" "$CKPT_SOCKDIR" "$T"
	PROG_USER=$NEW_USER start_bash_job "$LOOP; loop & (loop & loop) & sleep 0.2; echo ready; loop"
	local p i uid
	uid=$(id -u "$NEW_USER")
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups \
		env CKPT_SOCKDIR="$CKPT_SOCKDIR" ASAN_OPTIONS="$ASAN_OPTIONS" \
		"$BIN/ckpt-freeze" "$PID" >"$T/img" 2>"$T/err" || { cat "$T/err"; false; }
	[ ! -s "$T/err" ]
	freeze_ok "$T/img2" "$PID"
	for i in img img2; do
		img check "$T/$i"
		image_tree_ok "$T/$i"
		for p in $(cat "$T/pids"); do
			image_procs "$T/$i" | grep -q "^proc $p "
			img cat "$T/$i" "proc/$p/core" | grep -Eq "^uid $uid $uid "
		done
	done
	# shellcheck disable=SC2046
	job_continues $(cat "$T/pids")
}

@test "fork under back-to-back checkpoints: no child keeps its parent's control socket or connection" {
	need ckpt-run ckpt-freeze prog:forksock
	start_prog forksock
	local i fails=0
	# every connection is accepted and closed by the parent's control
	# thread while the main thread forks: a child whose fd table was
	# copied in between held the parent's connection (1 fork in 200)
	for ((i = 0; i < 300; i++)); do
		"$BIN/ckpt-freeze" --single "$PID" >/dev/null 2>>"$T/freeze.err" || fails=$((fails + 1))
	done
	[ "$fails" -eq 0 ] || { cat "$T/freeze.err" >&2; false; }
	wait_past "$OUT" forks 1000 20
	verify_prog
	kill -TERM "$PID"
	wait_bounded "$PID" 10
	grep -qx 'done ok' "$OUT"
	no_fail
}

# start_py CODE: python3 -c CODE under ckpt-run; CODE prints "pid P"
# and "ready" once its processes are there.  PID, OUT, ERR.
start_py() {
	OUT=$T/py.out ERR=$T/py.err
	"$RUN" -- "$PYTHON" -c "$1" "$T" "${2:-}" >"$OUT" 2>"$ERR" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready' 20
}

# fds_of IMG PID: the fds member of PID
fds_of() {
	tar xOf "$1" "proc/$2/fds"
}

# fd_line IMG PID FD: that fd's line
fd_line() {
	fds_of "$1" "$2" | grep "^fd $3 "
}

# freeze_refused [ARG...]: ckpt-freeze ARG... $PID into $T/img fails,
# exit 1, its message in $T/err; C: the child start_py's job printed
freeze_refused() {
	local rc=0
	read -r _ _ C < <(grep '^pid' "$OUT")
	"$BIN/ckpt-freeze" "$@" "$PID" >"$T/img" 2>"$T/err" || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ]
}

PY_HEAD='
import mmap, os, signal, socket, sys, time
T = sys.argv[1]
def ready(*pids):
    print("pid", os.getpid(), *pids, flush=True)
    print("ready", flush=True)
def park():
    while True: time.sleep(0.05)
'

@test "an open file inherited across fork: the later process's line says share=PID:FD; a saved file's contents once" {
	need ckpt-run ckpt-freeze
	printf '0123456789abcdef' >"$T/db"
	start_py "$PY_HEAD
db = os.open(T + '/db', os.O_RDWR); os.lseek(db, 5, 0)
log = os.open(T + '/log', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
c = os.fork()
if c == 0:
    os.dup2(db, 20)
    park()
ready(c)
park()"
	local c db log
	read -r _ _ c < <(grep '^pid' "$OUT")
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	db=$(fds_of "$T/img" "$PID" | awk '/ path=.*\/db$/ {print $2; exit}')
	log=$(fds_of "$T/img" "$PID" | awk '/ path=.*\/log$/ {print $2; exit}')
	fd_line "$T/img" "$PID" "$db" | grep -q " pos=5 .* data=files/$db "
	fd_line "$T/img" "$c" "$db" | grep -Eq "^fd $db file .* share=$PID:$db path=.*/db$"
	! fd_line "$T/img" "$c" "$db" | grep -q ' data=\| policy='
	fd_line "$T/img" "$c" 20 | grep -q " dup=$db "
	fd_line "$T/img" "$c" "$log" | grep -q " share=$PID:$log "
	# the file's bytes once, with the parent
	[ "$(tar tf "$T/img" | grep -c '/files/')" -eq 1 ]
	tar tf "$T/img" | grep -qx "proc/$PID/files/$db"
	job_continues "$PID" "$c"
}

@test "ckpt-dumpfds alone, --shared-with the parent: the child's inherited fds are share lines" {
	need ckpt-run ckpt-dumpfds
	start_py "$PY_HEAD
log = os.open(T + '/log', os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
c = os.fork()
if c == 0: park()
ready(c)
park()"
	local c log
	read -r _ _ c < <(grep '^pid' "$OUT")
	stream_ok ckpt-dumpfds "$T/fds.tar" --shared-with "$PID" "$c"
	log=$(tar xOf "$T/fds.tar" "proc/$c/fds" | awk '/ path=.*\/log$/ {print $2}')
	tar xOf "$T/fds.tar" "proc/$c/fds" | grep -q "^fd $log file .* share=$PID:$log path="
	# the usage: one source of the table or the other
	run -2 "$BIN/ckpt-dumpfds" --shared-with "$PID" --shared-table 3 "$c"
	[[ $output == *"--shared-with and --shared-table: one or the other"* ]]
	job_continues "$PID" "$c"
}

@test "a pipe between two processes of the job: its queued bytes saved once, by the first reader in the stream" {
	need ckpt-run ckpt-freeze
	local who c ino first
	# the parent writes and only the child reads; then both read
	for who in child both; do
		start_py "$PY_HEAD
r, w = os.pipe()
os.write(w, b'x' * 20000)
c = os.fork()
if c == 0: park()
if sys.argv[2] == 'child': os.close(r)
ready(c)
park()" "$who"
		read -r _ _ c < <(grep '^pid' "$OUT")
		freeze_ok "$T/img" "$PID"
		img check "$T/img"
		first=$([ "$who" = child ] && echo "$c" || echo "$PID")
		[ "$(img list "$T/img" | grep -c '/pipes/')" -eq 1 ]
		ino=$(img list "$T/img" | awk -F/ '$3 == "pipes" {print $4}')
		img list "$T/img" | grep -qx "proc/$first/pipes/$ino"
		[ "$(member_size "$T/img" "proc/$first/pipes/$ino")" -eq 20000 ]
		# what the parent still holds, the child shares, without data
		if [ "$who" = child ]; then
			fds_of "$T/img" "$c" | grep " pipe=$ino end=w " | grep -q " share=$PID:"
			fds_of "$T/img" "$c" | grep " pipe=$ino end=r " | grep -q " data=pipes/$ino "
		else
			[ "$(fds_of "$T/img" "$c" | grep " pipe=$ino " | grep -c " share=$PID:")" -eq 2 ]
			! fds_of "$T/img" "$c" | grep " pipe=$ino " | grep -q ' data='
		fi
		job_continues "$PID" "$c"
		kill_job "$PID"
	done
}

@test "a socketpair with its ends in two processes: each end written with its process, their inodes crossing, its queue once; the job runs on" {
	need ckpt-run ckpt-freeze
	start_py "$PY_HEAD
a, b = socket.socketpair()
a.send(b'to b')
c = os.fork()
if c == 0:
    a.close()
    park()
b.close()
ready(c)
park()"
	local c a b
	read -r _ _ c < <(grep '^pid' "$OUT")
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	a=$(fds_of "$T/img" "$PID" | sed -n 's/.* socket .* sock=\([0-9]*\) .*/\1/p')
	b=$(fds_of "$T/img" "$c" | sed -n 's/.* socket .* sock=\([0-9]*\) .*/\1/p')
	fds_of "$T/img" "$PID" | grep -q " sock=$a .* peer_ino=$b "
	fds_of "$T/img" "$c" | grep -q " sock=$b .* peer_ino=$a .* data=socks/$b "
	[ "$(img list "$T/img" | grep -c '/socks/')" -eq 1 ]
	[ "$(img cat "$T/img" "proc/$c/socks/$b")" = "to b" ]
	job_continues "$PID" "$c"
	dies_of_term "$c"
}

@test "memory shared between processes: MAP_SHARED anonymous memory and a memfd (Python's mmap keeps an fd on it) are listed in ckpt/shm; a memfd a third process holds open but does not map is refused, named; the job runs on" {
	need ckpt-run ckpt-freeze
	local kind c2
	for kind in anon memfd fdonly; do
		start_py "$PY_HEAD
if sys.argv[2] == 'anon':
    m = mmap.mmap(-1, 8192, mmap.MAP_SHARED)
else:
    f = os.memfd_create('tree'); os.ftruncate(f, 8192)
    m = mmap.mmap(f, 8192, mmap.MAP_SHARED)
m[0:5] = b'hello'
c = os.fork()
if c == 0: park()
if sys.argv[2] == 'fdonly':
    c2 = os.fork()
    if c2 == 0:
        m.close()
        park()
    print('fdonly', c2, f, flush=True)
ready(c)
park()" "$kind"
		read -r _ _ C < <(grep '^pid' "$OUT")
		if [ "$kind" != fdonly ]; then
			freeze_ok "$T/img" "$PID"
			tar xOf "$T/img" ckpt/shm
			[ "$(tar xOf "$T/img" ckpt/shm | awk '$4 == "'"$PID,$C"'" {print $3}')" = 8192 ]
		else
			read -r _ c2 fd < <(grep '^fdonly' "$OUT")
			freeze_refused --kill
			grep -q "^ckpt-freeze: pid $c2: fd $fd is open on the memory that pids $PID and $C map (00:01 inode [0-9]*), but pid $c2 maps none of it: a restore would make the fd's file apart from the memory: refused$" "$T/err"
			[ ! -s "$T/img" ]
			job_continues "$c2"
			kill -TERM "$c2"
		fi
		job_continues "$PID" "$C"
		dies_of_term "$C" "$PID"
	done
}

@test "a saved file opened apart by two processes: refused, both named" {
	need ckpt-run ckpt-freeze
	printf '0123456789' >"$T/db"
	start_py "$PY_HEAD
c = os.fork()
db = os.open(T + '/db', os.O_RDWR)
if c == 0: park()
ready(c)
park()"
	freeze_refused
	grep -Eq "^ckpt-dumpfds: pid $C fd [0-9]+: $T/db: opened apart from pid $PID \(fd [0-9]+\), and its contents are saved" "$T/err"
	job_continues "$PID" "$C"
}

@test "a freeze held longer than the shim's request deadline (a slow reader, a long job): no connection is dropped at the thaw" {
	need ckpt-run ckpt-freeze prog:manyproc
	start_job manyproc 3 3
	local rc
	# every shim of the job waits for its thaw while the reader sleeps:
	# the wait before the thaw request is no idle client's
	"$BIN/ckpt-freeze" "$PID" 2>"$T/err" | { sleep 6; cat >"$T/img"; }
	rc=${PIPESTATUS[0]}
	cat "$T/err"
	[ "$rc" -eq 0 ]
	img check "$T/img"
	sleep 1
	verify_prog
	no_fail
}

@test "a child that execs itself over and over: each freeze ends within seconds, an image or a message; the job runs on" {
	need ckpt-run ckpt-freeze
	export T
	printf '#!/bin/sh\nexec "$0"\n' >"$T/again"
	chmod +x "$T/again"
	start_bash_job "$LOOP; \"\$T/again\" & sleep 0.2; echo ready; loop"
	local i rc t0
	for ((i = 0; i < 5; i++)); do
		t0=$SECONDS
		rc=0
		timeout 30 "$BIN/ckpt-freeze" "$PID" >"$T/img" 2>"$T/err" || rc=$?
		cat "$T/err"
		[ $((SECONDS - t0)) -le 12 ]
		if [ "$rc" -eq 0 ]; then img check "$T/img"; else [ "$rc" -eq 1 ] && [ -s "$T/err" ]; fi
	done
	# shellcheck disable=SC2046
	job_continues $(cat "$T/pids")
}
