# thaw.bash - what the restore tests share (restore.bats, fdrestore.bats,
# fdkinds.bats): load it after helpers.  Restores with the old pids need
# root.

# kids_setup / kids_teardown: setup and teardown of a test whose
# program has children: KIDS, their pids, are killed at the end (a
# restored child outlives its restored parent: reparented)
kids_setup() {
	thaw_setup
	KIDS=()
}

kids_teardown() {
	local p
	for p in "${KIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	thaw_teardown
}

# fds_of PID [IMG]: the fds member of PID (IMG: $T/img)
fds_of() {
	tar xOf "${2:-$T/img}" "proc/$1/fds"
}

# thaw_setup / thaw_teardown: call from setup and teardown
thaw_setup() {
	ckpt_setup
	T=$BATS_TEST_TMPDIR
	THAW=$BIN/ckpt-thaw
	TPIDS=()
	TMPDIRS=()
	WATCHERS=()
	NWATCH=0
}

thaw_teardown() {
	local p bad=0
	state_same 3 || bad=1
	# what a ckpt-thaw restored outlives it (by design): its children
	# first, the restored program or a new namespace's reaper, whose
	# death ends the namespace
	for p in "${TPIDS[@]}"; do pkill -KILL -P "$p" 2>/dev/null || true; done
	for p in "${TPIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	for p in "${TPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ckpt_teardown
	for p in "${TMPDIRS[@]}"; do rm -rf "$p"; done
	return $bad
}

# --- the state check (issue 17): every restore of an image that
# freeze_ok recorded (--kill: freeze_recorded) is compared with the job
# as it was, as /proc shows it (t/progs/procstate.c says what is
# compared and what is left out, and why); a difference fails the test,
# each printed.

# state_watch ARG...: for the image among ARG that has a record, a
# watcher that waits until ckpt-thaw (TPID) has restored the job,
# records it again and prints each difference.  STATE_BUSY=1: the job
# works at full speed after the restore (a compiler), its mappings may
# grow and more come before the record is taken (procstate.c, busy).
# STATE_EXPECT="fd 3;fd 4": what the test restores differently by
# design (procstate.c, expected).
state_watch() {
	local a moved=${CKPT_FILES_DATA:-}
	for a in "$@"; do [ "$a" != --files-rules ] || moved=1; done
	for a in "$@"; do
		[ -f "$a" ] && [ -f "$a.state" ] || continue
		NWATCH=$((NWATCH + 1))
		# restart paths that the checkpoint's rules wrote into the image
		[ ! -e "$a.state.moved" ] || moved=1
		PROCSTATE_MOVED=$moved PROCSTATE_BUSY=${STATE_BUSY:-} \
			PROCSTATE_EXPECT=${STATE_EXPECT:-} "$PROCSTATE" \
			after "$a.state" "$T/state.after$NWATCH" "$TPID" 30 >"$T/state.diff$NWATCH" 2>&1 &
		WATCHERS+=("$!:$T/state.diff$NWATCH")
		return 0
	done
}

# state_same [SECS]: every watcher has compared (or found nothing to
# compare: the restore did not come, ckpt-thaw ended first); after
# SECS (default: the watcher's own 30) one still waiting is stopped.
# 1 when a restored job differs, each difference printed.
state_same() {
	local w pid out st bad=0 i
	for w in "${WATCHERS[@]}"; do
		pid=${w%%:*} out=${w#*:} st=0
		for ((i = 0; i < ${1:-30} * 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || st=$?
		case $st in
		0) ;;
		1)
			echo "state check: the restored job differs from the checkpointed one:" >&2
			cat "$out" >&2
			bad=1 ;;
		*) sed 's/^/state check: not compared: /' "$out" >&2 ;;
		esac
	done
	WATCHERS=()
	return $bad
}

# the setup and teardown of a restore test file, unless it has its own
setup() {
	thaw_setup
}

teardown() {
	thaw_teardown
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "restoring with the old pids needs root"
}

# checkpoint_kill PROG ARGS: start PROG, checkpoint it to $T/img with
# --kill, and reap it so that its pid is free again.  KEY: a line the
# program prints as it goes ("tick N"), to wait past three of first
# (unset or "ready": no wait).  FREEZE_ARGS: more ckpt-freeze options.
# BEFORE_KILL: a command run once the program is ready, before the
# checkpoint.
checkpoint_kill() {
	need ckpt-run ckpt-freeze ckpt-thaw "prog:$1"
	need_root
	start_prog "$@"
	[ "${KEY:-ready}" = ready ] || wait_past "$OUT" "$KEY" 3
	[ -z "${BEFORE_KILL:-}" ] || "$BEFORE_KILL"
	freeze_ok "$T/img" --kill ${FREEZE_ARGS:-} "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
}

# thaw_bg ARGS: ckpt-thaw in the background; TPID, stderr in $T/thaw.err;
# the restored job's state checked (state_watch)
thaw_bg() {
	"$THAW" "$@" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	state_watch "$@"
}

# thaw_wait STATUS: ckpt-thaw (TPID) exits with STATUS, and the
# restored job was as checkpointed (state_same)
thaw_wait() {
	local st=0
	state_same
	wait "$TPID" || st=$?
	echo "ckpt-thaw exited $st; stderr:"
	cat "$T/thaw.err"
	if [ "$st" -ne "$1" ] && [ -n "${OUT:-}" ] && [ -f "$OUT" ]; then
		echo "the program's output (last 20 lines):"
		tail -n 20 "$OUT"
	fi
	[ "$st" -eq "$1" ]
}

# restored PROG [SECS]: wait (5 s) until $PID runs PROG again (the
# restore is done)
restored() {
	local i
	for ((i = 0; i < ${2:-5} * 50; i++)); do
		if alive "$PID" && [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = "$1" ]; then
			state_same
			return
		fi
		sleep 0.02
	done
	echo "restored: $PID is not running $1; ckpt-thaw says:" >&2
	cat "$T/thaw.err" >&2
	return 1
}

# finish: SIGTERM, the program says "done ok", ckpt-thaw exits 0, and
# nothing went to the program's or ckpt-thaw's stderr
finish() {
	state_same
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
	no_fail "$OUT" "$T/thaw.err"
}

# thaw_fails PATTERN ARGS: exit 1, the message on stderr, no process
# (a restore that wrongly goes ahead is stopped after 30 s: exit 124)
thaw_fails() {
	local pat=$1
	shift
	run --separate-stderr timeout -s TERM 30 "$THAW" "$@"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$pat"* ]]
	dead "$PID"
}

# hold_pid P: a plain sleep (no shim: no socket of pid P) at pid P,
# as HOLDER (killed in teardown); root writes ns_last_pid, retried
# while others fork
hold_pid() {
	local i
	for ((i = 0; i < 100; i++)); do
		echo $(($1 - 1)) >/proc/sys/kernel/ns_last_pid
		sleep 1000 3>&- 4>&- &
		HOLDER=$!
		if [ "$HOLDER" = "$1" ]; then
			TPIDS+=("$HOLDER")
			return 0
		fi
		kill "$HOLDER"
		wait "$HOLDER" 2>/dev/null || true
	done
	echo "hold_pid: pid $1 not had in 100 tries" >&2
	return 1
}

# in_new_ns: wait until ckpt-thaw (TPID) has made its pid-1 reaper and
# the restored program under it: their pids (outside) in reaper, prog
in_new_ns() {
	local i
	for ((i = 0; i < 300; i++)); do
		reaper=$(pgrep -P "$TPID" | head -n 1)
		prog=${reaper:+$(pgrep -P "$reaper" | head -n 1)}
		[ -n "$prog" ] && return 0
		sleep 0.02
	done
	echo "in_new_ns: no restored program under ckpt-thaw $TPID" >&2
	return 1
}

# start_piped PROG ARGS: PROG under ckpt-run, its stdout a pipe to
# cat >$T/o1 (a restore then writes to ckpt-thaw's stdout); sets PID
start_piped() {
	need ckpt-run ckpt-freeze ckpt-thaw "prog:$1"
	need_root
	local p=$1
	shift
	("$RUN" -- "$PROGS/$p" "$@" 3>&- | cat >"$T/o1") &
	wait_line "$T/o1" '^tick 3'
	PID=$(awk '/^pid/ {print $2; exit}' "$T/o1")
	STARTED+=("$PID")
}

# thaw_piped IMG: ckpt-thaw IMG in the background, stdout to $T/o2
thaw_piped() {
	"$THAW" "$1" >"$T/o2" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	state_watch "$1"
}

# bash_log_job LOG [PRE...]: bash under ckpt-run (after PRE, e.g.
# setsid), appending 1, 2, 3... to LOG with a builtin-only delay, so it
# has no child at any moment; BASH_FIRST: commands it runs first.
# Waits for 5 in LOG; sets PID and OUT.
bash_log_job() {
	local log=$1
	shift
	OUT=$T/bash.out
	"$@" "$RUN" -- bash -c 'echo "pid $$"; '"${BASH_FIRST:-}"'echo "ready bash"
		i=0
		while :; do
			i=$((i + 1))
			echo $i >>"$1"
			for ((j = 0; j < 20000; j++)); do :; done
		done' _ "$log" >"$OUT" 2>"$T/bash.err" 3>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	grep -qx "pid $PID" "$OUT"
	wait_line "$log" '^5$'
}

# user_thaw_ns PROG ARGS: as NEW_USER alone (throwaway_user), in a new
# directory: PROG ARGS under ckpt-run, checkpointed with --kill once
# ready, then ckpt-thaw of that image in the background (a new user and
# pid namespace).  Returns once the restored program runs PROG again;
# sets D (its directory: out, err, img, thaw.err), USER_SH (the user's
# shell: wait for it at the end), TPID, and prog (the restored
# program's pid, outside the namespace).  PROG NAME.py: t/progs/NAME.py
# under python3.
user_thaw_ns() {
	local name=$1 i cmd=("$PROGS/$1") comm=$1 built=prog:$1
	[[ $name != *.py ]] || cmd=("$PYTHON" "$CKPT_ROOT/t/progs/$name") comm=python3 built=ckpt-run
	need ckpt-run ckpt-freeze ckpt-thaw "$built"
	shift
	D=$(mktemp -d /tmp/ckpt-userns-XXXXXX)
	TMPDIRS+=("$D")
	chmod 0777 "$D"
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups sh -c '
		exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
		d=$1 run=$2 freeze=$3 thaw=$4
		shift 4
		cd "$d" && mkdir -m 0700 sock && export CKPT_SOCKDIR=$d/sock
		"$run" -- "$@" >out 2>err &
		p=$!
		for i in $(seq 100); do grep -q "^ready" out && break; sleep 0.05; done
		"$freeze" --kill $p >img || exit 1
		wait
		"$thaw" img 2>thaw.err &
		echo "$!" >thaw.pid
		wait' _ "$D" "$RUN" "$BIN/ckpt-freeze" "$THAW" "${cmd[@]}" "$@" &
	USER_SH=$!
	TPIDS+=("$USER_SH")
	wait_line "$D/thaw.pid" '^[0-9]+$' 10
	TPID=$(cat "$D/thaw.pid")
	TPIDS+=("$TPID")
	in_new_ns
	for ((i = 0; i < 250; i++)); do
		[ "$(cat "/proc/$prog/comm" 2>/dev/null)" = "$comm" ] && break
		sleep 0.02
	done
	cat "$D/thaw.err"
}

# user_dir: D, a new directory NEW_USER (throwaway_user) can reach,
# with its socket directory D/sock
user_dir() {
	D=$(mktemp -d /tmp/ckpt-user-XXXXXX)
	TMPDIRS+=("$D")
	chmod 0777 "$D"
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups mkdir -m 0700 "$D/sock"
}

# user_own_dir: D, a new directory owned by NEW_USER (throwaway_user),
# mode 0755 (what the job writes is the user's; root reads it)
user_own_dir() {
	D=$(mktemp -d "/tmp/$NEW_USER-job-XXXXXX")
	TMPDIRS+=("$D")
	chown "$NEW_USER:" "$D"
	chmod 0755 "$D"
}

# user_checkpoint_kill PROG ARGS: checkpoint_kill PROG ARGS, PROG run
# as NEW_USER (throwaway_user) with its output and socket directory in
# D (user_dir)
user_checkpoint_kill() {
	user_dir
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D checkpoint_kill "$@"
}

# tree_job [PRE...]: a job of two bash processes (restore-tree.bats),
# under ckpt-run after PRE, in a new directory D (world-writable, for a
# throwaway user): the parent appends 1, 2, 3... to D/plog; its child
# to D/clog, each also "p N" or "c N" to D/shared through one open
# file (fd 5, inherited), except the child while D/pause exists (it writes D/paused then), and
# it exits 7 once D/end exists; the parent, once D/reap exists, waits
# for it and logs "reaped STATUS".  PROG_USER: the job's user (PRE
# then runs it as that user).  TREE_FIRST: the parent's first
# commands (set -m: the child leads its own group); TREE_CHILD_PRE:
# what execs the child (setsid: it leads its own session).  Sets D,
# PID (the parent), CPID, OUT.
tree_job() {
	D=$(mktemp -d /tmp/ckpt-tree-XXXXXX)
	TMPDIRS+=("$D")
	chmod 0777 "$D"
	cat >"$D/child.sh" <<'SH'
i=0
while [ ! -e "$1/end" ]; do
	if [ -e "$1/pause" ]; then
		[ -e "$1/paused" ] || echo "$i" >"$1/paused"
		for ((j = 0; j < 2000; j++)); do :; done
		continue
	fi
	i=$((i + 1))
	echo $i >>"$1/clog"
	echo "c $i" >&5
	for ((j = 0; j < 20000; j++)); do :; done
done
exit 7
SH
	cat >"$D/parent.sh" <<'SH'
echo "pid $$"
exec 5>"$1/shared"
eval "${TREE_FIRST:-}"
${TREE_CHILD_PRE:-} bash "$1/child.sh" "$1" &
c=$!
echo "child $c"
echo "ready bash"
i=0
while [ ! -e "$1/reap" ]; do
	i=$((i + 1))
	echo $i >>"$1/plog"
	echo "p $i" >&5
	for ((j = 0; j < 20000; j++)); do :; done
done
wait $c
echo "reaped $?" >>"$1/plog"
SH
	OUT=$D/out
	prog_files_own "$OUT" "$D/err"
	"$@" env TREE_FIRST="${TREE_FIRST:-}" TREE_CHILD_PRE="${TREE_CHILD_PRE:-}" \
		"$RUN" -- bash "$D/parent.sh" "$D" >"$OUT" 2>"$D/err" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	grep -qx "pid $PID" "$OUT"
	CPID=$(awk '/^child/ {print $2}' "$OUT")
	STARTED+=("$CPID")
	wait_line "$D/plog" '^5$'
	wait_line "$D/clog" '^5$'
}

# stat_ids PID: "PPID PGID SID" from /proc/PID/stat
stat_ids() {
	awk '{ sub(/.*\) /, ""); print $2, $3, $4 }' "/proc/$1/stat"
}

# tree_checkpoint: tree_job's child paused and checkpointed (it runs
# on), the parent checkpointed with --kill, the child killed: $D/img is
# both as one stream (ckptimg.py join), the manifest listing "proc PID
# PPID PGID SID" of each as they were (until ckpt-freeze writes jobs)
tree_checkpoint() {
	local p c i
	touch "$D/pause"
	wait_line "$D/paused" '^[0-9]+$'
	p=$(stat_ids "$PID")
	c=$(stat_ids "$CPID")
	freeze_ok "$D/cimg" "$CPID"
	freeze_ok "$D/pimg" --single --force --kill "$PID"
	kill -KILL "$CPID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	for ((i = 0; i < 250; i++)); do
		kill -0 "$CPID" 2>/dev/null || break
		sleep 0.02
	done
	dead "$CPID"
	img cat "$D/pimg" ckpt/manifest | grep -v '^proc ' >"$D/man"
	printf 'proc %s %s\nproc %s %s\n' "$PID" "$p" "$CPID" "$c" >>"$D/man"
	# the child's stdio and fd 5 are the parent's open files
	img cat "$D/cimg" "proc/$CPID/fds" |
		sed -E "s/^fd ([0125]) ([a-z]+) /fd \1 \2 share=$PID:\1 /" >"$D/cfds"
	img edit "$D/cimg" "proc/$CPID/fds" "$D/cfds" >"$D/cimg2"
	img join "$D/man" "$D/pimg" "$D/cimg2" >"$D/img"
	chmod 0644 "$D/img"
}

# tree_thaw IMG: ckpt-thaw IMG in the background (thaw_bg), until the
# restored parent has appended three more lines to D/plog
tree_thaw() {
	thaw_bg "$1"
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
}

# tree_goes_on: both logs go on from where they were, with no gap and
# no repeat, and so do both in D/shared (one offset: neither wrote
# over the other); the child ends with 7 and the parent's wait reaps it
tree_goes_on() {
	local pn cn i
	pn=$(last_num "$D/plog" '')
	wait_past "$D/plog" '' $((pn + 5))
	cn=$(last_num "$D/clog" '')
	rm -f "$D/pause"
	wait_past "$D/clog" '' $((cn + 5))
	touch "$D/end"
	for ((i = 0; i < 250; i++)); do
		kill -0 "$CPID" 2>/dev/null && [ "$(cut -d' ' -f3 "/proc/$CPID/stat" 2>/dev/null)" != Z ] || break
		sleep 0.02
	done
	touch "$D/reap"
	wait_line "$D/plog" '^reaped'
	grep -qx 'reaped 7' "$D/plog"
	seq 1 "$(grep -c '^[0-9]' "$D/clog")" | diff - "$D/clog"
	seq 1 "$(grep -c '^[0-9]' "$D/plog")" | diff - <(grep '^[0-9]' "$D/plog")
	seq 1 "$(grep -c '^c ' "$D/shared")" | diff - <(sed -n 's/^c //p' "$D/shared")
	seq 1 "$(grep -c '^p ' "$D/shared")" | diff - <(sed -n 's/^p //p' "$D/shared")
	[ "$(grep -cv '^[pc] [0-9]*$' "$D/shared")" = 0 ]
}

# fdline KIND: the first "fd N KIND" line of $T/img's proc/$PID/fds
fdline() {
	tar xOf "$T/img" "proc/$PID/fds" | grep -m1 "^fd [0-9]* $1 "
}

# thaw_ttyless_fails IMG: a job that ran in the foreground of its
# terminal (its fd 0 on it), restored by a ckpt-thaw without a
# controlling terminal (setsid, even when the tests run on one): exit
# 1, saying so before anything is made, and $PID is not running
thaw_ttyless_fails() {
	run --separate-stderr timeout -s TERM 30 setsid -w "$THAW" "$1" </dev/null
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-thaw: pid $PID: fd 0: pts /dev/pts/"*": the job ran in the foreground of this terminal, and ckpt-thaw has no controlling terminal to give it (restore from a terminal)" ]]
	dead "$PID"
}

# user_ttyown_kill: as NEW_USER (throwaway_user), in D (user_own_dir),
# t/progs/ttyown in the foreground of a terminal of its own
# (ptydrive.py runs bash with job control on it), checkpointed by the
# user's own ckpt-freeze --kill into D/img; PID
user_ttyown_kill() {
	as_user sh -c 'exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
		mkdir -m 0700 sock && export CKPT_SOCKDIR=$PWD/sock TERM=xterm
		exec "$1" "$2" in log bash.pid bash --norc -c "set -m; $3 -- $4; echo bash-done" >/dev/null 2>&1' \
		_ "$PYTHON" "$CKPT_ROOT/t/progs/ptydrive.py" "$RUN" "$PROGS/ttyown" &
	STARTED+=("$!")
	wait_line "$D/log" '^ready ttyown'
	PID=$(tr -d '\r' <"$D/log" | awk '/^pid/ {print $2}')
	STARTED+=("$PID")
	as_user sh -c 'CKPT_SOCKDIR=$PWD/sock exec "$1" --kill "$2" >img' _ "$BIN/ckpt-freeze" "$PID"
	dead "$PID"
}

# root_pty: a pty root holds, its slave root's, mode 0600; RPTY its
# index, RHOLD the holder's pid, which leads a session of its own with
# that slave as its terminal
root_pty() {
	setsid "$PYTHON" -c '
import os, sys, time
m, s = os.openpty()
os.close(os.open(os.ttyname(s), os.O_RDWR))   # our terminal
os.fchmod(s, 0o600)
print(os.ttyname(s), os.getpgrp(), flush=True)
time.sleep(120)' >"$T/rpty" 3>&- &
	RHOLD=$!
	STARTED+=("$RHOLD")
	wait_line "$T/rpty" '^/dev/pts/'
	RPTY=$(awk '{ sub("/dev/pts/", "", $1); print $1 }' "$T/rpty")
	[ "$(stat -c '%u %a' "/dev/pts/$RPTY")" = "0 600" ]
}
