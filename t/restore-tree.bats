#!/usr/bin/env bats
# ckpt-thaw restores a job of several processes (issue 12): every pid
# as it was, each process the child of its parent (the restored
# parent's waitpid reaps its restored child), sessions and groups; the
# manifest's tree checked.  Jobs checkpointed whole by ckpt-freeze, and
# images composed from checkpoints of each process (tree_checkpoint in
# thaw.bash, ckptimg.py join), whose children stop at a known state.

load helpers
load thaw   # its setup and teardown
load tree   # job_pids, job_gone

# tree_kill_checkpoint: tree_job's job checkpointed whole with --kill
# to $D/img, until both its processes are gone
tree_kill_checkpoint() {
	local i
	freeze_ok "$D/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	for ((i = 0; i < 250; i++)); do
		kill -0 "$PID" 2>/dev/null || kill -0 "$CPID" 2>/dev/null || break
		sleep 0.02
	done
}

@test "tree: a parent and its child go on at their pids, and the parent reaps the restored child" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	tree_job
	tree_checkpoint
	tree_thaw "$D/img"
	# the same pids, the child the parent's
	[ "$(stat_ids "$CPID" | cut -d' ' -f1)" = "$PID" ]
	[ "$(stat_ids "$PID" | cut -d' ' -f1)" = "$TPID" ]
	tree_goes_on
	thaw_wait 0
	[ ! -s "$D/err" ]
}

@test "tree: a job checkpointed whole by ckpt-freeze --kill comes back at its pids, from one cut" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	tree_job
	tree_kill_checkpoint
	dead "$CPID"
	[ "$(img cat "$D/img" ckpt/manifest | grep -c '^proc ')" = 2 ]
	img cat "$D/img" "proc/$CPID/fds" | grep -q "^fd 5 file .*share=$PID:5"
	tree_thaw "$D/img"
	[ "$(stat_ids "$CPID" | cut -d' ' -f1)" = "$PID" ]
	tree_goes_on
	thaw_wait 0
}

@test "tree: a child that leads its own process group, or its own session, comes back leading it" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local lead want
	for lead in group session; do
		if [ $lead = group ]; then
			TREE_FIRST="set -m" tree_job   # the child leads its group
			want="$PID $CPID $(stat_ids "$PID" | cut -d' ' -f3)"
		else
			TREE_CHILD_PRE=setsid tree_job
			want="$PID $CPID $CPID"
		fi
		[ "$(stat_ids "$CPID")" = "$want" ]
		tree_checkpoint
		grep -qx "proc $CPID $PID $CPID [0-9]*" "$D/man"
		tree_thaw "$D/img"
		[ "$(stat_ids "$CPID" | cut -d' ' -f1,2)" = "$PID $CPID" ]
		[ $lead = group ] || [ "$(stat_ids "$CPID")" = "$want" ]
		[ $lead = session ] ||
			[ "$(stat_ids "$CPID" | cut -d' ' -f3)" = "$(stat_ids "$PID" | cut -d' ' -f3)" ]
		tree_goes_on
		thaw_wait 0
	done
}

@test "tree: not root: the job in a new user and pid namespace, at its pids there" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	throwaway_user ckthw
	local u=$NEW_USER ns
	export CKPT_SOCKDIR=$(mktemp -d /tmp/ckpt-tree-sock-XXXXXX)
	TMPDIRS+=("$CKPT_SOCKDIR")
	chown "$u:" "$CKPT_SOCKDIR"
	PROG_USER=$u tree_job setpriv --reuid="$u" --regid="$u" --init-groups
	tree_checkpoint
	setpriv --reuid="$u" --regid="$u" --init-groups "$THAW" "$D/img" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	in_new_ns || { cat "$T/thaw.err"; false; }
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
	ns=$(awk '/^NSpid/ {print $3}' "/proc/$prog/status")
	[ "$ns" = "$PID" ]
	CPID=$(pgrep -P "$prog")
	[ "$(awk '/^NSpid/ {print $3}' "/proc/$CPID/status")" = "$(awk '/^child/ {print $2}' "$OUT")" ]
	grep -q "^Uid:.$(id -u "$u")" "/proc/$CPID/status"
	tree_goes_on
	thaw_wait 0
}

# manifest_with LINES...: $T/img's manifest with LINES after its own
manifest_with() {
	img cat "$T/img" ckpt/manifest >"$T/man"
	printf '%s\n' "$@" >>"$T/man"
	img edit "$T/img" ckpt/manifest "$T/man" >"$T/bad"
}

@test "tree: a bad process tree in the manifest is refused, naming it, and nothing runs" {
	need_root
	KEY=tick checkpoint_kill counter
	local pp f
	pp=$(img cat "$T/img" ckpt/manifest | awk '/^proc/ {print $3}')
	manifest_with "proc 99999 4242 4242 4242"
	thaw_fails "process 99999: its parent 4242 is not in the image" "$T/bad"
	manifest_with "proc 99999 $PID 0 0" "proc 99999 $PID 0 0"
	thaw_fails "pid 99999 listed twice" "$T/bad"
	manifest_with "proc $pp $PID 0 0"
	thaw_fails "process $pp is the root's parent and its descendant: a cycle" "$T/bad"
	manifest_with "zombie 99998 $PID 0 0 0" "proc 99999 99998 0 0"
	thaw_fails "its parent 99998 is a zombie" "$T/bad"
	# a process whose members are missing: truncated, nothing left
	f=$(free_pid)
	manifest_with "proc $f $PID 0 0"
	thaw_fails "process $f has no pages member" "$T/bad"
	dead "$f"
	run pgrep -f ckpt-restorer -s 0
	[ "$status" -eq 1 ]
}

@test "tree: --same-ns with a pid of the job taken names it, and nothing runs" {
	need_root
	KEY=tick checkpoint_kill counter
	sleep 1000 3>&- &
	local s=$!
	STARTED+=("$s")
	manifest_with "proc $s $PID 0 0"
	thaw_fails "id $s is taken in this pid namespace (--same-ns)" --same-ns "$T/bad"
	alive "$s"
}

# thread_taken ID: $D/img with the child's other thread given the id
# ID; ckpt-thaw refuses it, naming both, and nothing runs
thread_taken() {
	local t
	t=$(img cat "$D/img" "proc/$CPID/threads" | awk -v p="$CPID" '/^thread / && $2 != p {print $2; exit}')
	[ -n "$t" ]
	img cat "$D/img" "proc/$CPID/threads" | sed "s/^thread $t\$/thread $1/" >"$D/thr"
	img edit "$D/img" "proc/$CPID/threads" "$D/thr" >"$D/bad"
	thaw_fails "pid $CPID: thread id $1 is taken in this pid namespace" "$D/bad"
	dead "$CPID"
}

@test "tree: a thread id of a later process taken, by a process or as the group of processes whose leader is gone, names it, and nothing runs" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local s g
	tree_job
	tree_kill_checkpoint
	sleep 1000 3>&- &
	s=$!
	STARTED+=("$s")
	thread_taken "$s"
	# a group and session whose leader is gone, reaped: its sleep
	# (orphaned, stdio closed) lives on in them
	g=$("$PYTHON" -c '
import os, time
leader = os.fork()
if leader == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open("/dev/null", os.O_RDWR)
        for i in range(3):
            os.dup2(fd, i)
        os.closerange(3, 1024)
        time.sleep(1000)
    os._exit(0)
os.waitpid(leader, 0)
print(leader)' 3>&-)
	STARTED+=($(pgrep -s "$g"))
	[ -n "$(pgrep -g "$g")" ]
	run kill -0 "$g"
	[ "$status" -ne 0 ]
	thread_taken "$g"
}

@test "tree: zombies come back unreaped, and the restored parent reaps each with its status" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local z1 z2 n p
	D=$(mktemp -d /tmp/ckpt-tree-XXXXXX)
	TMPDIRS+=("$D")
	cat >"$D/zombies.py" <<'PY'
import os, signal, sys, time
d = sys.argv[1]
print("pid", os.getpid(), flush=True)
kids = []
for how in ("exit", "signal"):
    c = os.fork()
    if c == 0:
        if how == "signal":
            os.kill(os.getpid(), signal.SIGTERM)
        os._exit(3)
    kids.append(c)
print("zombies", *kids, flush=True)
print("ready python", flush=True)
i = 0
while not os.path.exists(d + "/reap"):
    i += 1
    with open(d + "/plog", "a") as f:
        f.write("%d\n" % i)
    time.sleep(0.01)
with open(d + "/plog", "a") as f:
    for c in kids:
        f.write("reaped %d %d\n" % os.waitpid(c, 0))
PY
	OUT=$D/out
	"$RUN" -- "$PYTHON" "$D/zombies.py" "$D" >"$OUT" 2>"$D/err" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	read -r _ z1 z2 < <(grep '^zombies' "$OUT")
	wait_line "$D/plog" '^5$'
	[ "$(cut -d' ' -f3 "/proc/$z1/stat")" = Z ]
	[ "$(cut -d' ' -f3 "/proc/$z2/stat")" = Z ]
	p=$(stat_ids "$PID")
	freeze_ok "$D/img1" --single --force --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	img cat "$D/img1" ckpt/manifest | grep -v '^proc ' >"$D/man"
	printf 'proc %s %s\nzombie %s %s 0 0 768\nzombie %s %s 0 0 15\n' \
		"$PID" "$p" "$z1" "$PID" "$z2" "$PID" >>"$D/man"
	img edit "$D/img1" ckpt/manifest "$D/man" >"$D/img"
	for ((n = 0; n < 250; n++)); do
		kill -0 "$z1" 2>/dev/null || kill -0 "$z2" 2>/dev/null || break
		sleep 0.02
	done
	tree_thaw "$D/img"
	[ "$(stat_ids "$z1" | cut -d' ' -f1)" = "$PID" ]
	[ "$(cut -d' ' -f3 "/proc/$z1/stat")" = Z ]
	[ "$(cut -d' ' -f3 "/proc/$z2/stat")" = Z ]
	touch "$D/reap"
	wait_line "$D/plog" "^reaped $z2 "
	grep -qx "reaped $z1 768" "$D/plog"
	grep -qx "reaped $z2 15" "$D/plog"
	thaw_wait 0
	dead "$z1"
	dead "$z2"
}

# pipeline_job: bash that runs `a | b &` (its children A and B) and
# appends 1, 2, 3... to D/plog until D/reap exists, then waits for
# them; A writes 1, 2, 3... into the pipe (not while D/pauseA exists:
# it writes the last number to D/pausedA then), each also to D/acount,
# until D/end exists; B
# reads each line and appends it to D/clog (not while D/pause exists).
# Sets D, PID, APID, BPID.
pipeline_job() {
	D=$(mktemp -d /tmp/ckpt-tree-XXXXXX)
	TMPDIRS+=("$D")
	cat >"$D/a.sh" <<'SH'
echo $$ >"$1/apid"
i=0
while [ ! -e "$1/end" ]; do
	if [ -e "$1/pauseA" ]; then
		[ -e "$1/pausedA" ] || echo $i >"$1/pausedA"
		for ((j = 0; j < 2000; j++)); do :; done
		continue
	fi
	i=$((i + 1))
	echo $i
	echo $i >"$1/acount"
	for ((j = 0; j < 5000; j++)); do :; done
done
SH
	cat >"$D/b.sh" <<'SH'
echo $$ >"$1/bpid"
while :; do
	if [ -e "$1/pause" ]; then
		[ -e "$1/paused" ] || echo x >"$1/paused"
		for ((j = 0; j < 2000; j++)); do :; done
		continue
	fi
	read -r n || break
	echo "$n" >>"$1/clog"
done
SH
	cat >"$D/parent.sh" <<'SH'
echo "pid $$"
bash "$1/a.sh" "$1" | bash "$1/b.sh" "$1" &
echo "ready bash"
i=0
while [ ! -e "$1/reap" ]; do
	i=$((i + 1))
	echo $i >>"$1/plog"
	for ((j = 0; j < 20000; j++)); do :; done
done
wait
echo reaped >>"$1/plog"
SH
	OUT=$D/out
	"$RUN" -- bash "$D/parent.sh" "$D" >"$OUT" 2>"$D/err" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	wait_line "$D/clog" '^5$'
	APID=$(cat "$D/apid")
	BPID=$(cat "$D/bpid")
	STARTED+=("$APID" "$BPID")
}

# proc_say PID: where PID is (a writer that does not write on)
proc_say() {
	cat "/proc/$1/stat" "/proc/$1/wchan" "/proc/$1/stack"
	grep -E 'State|Sig' "/proc/$1/status"
	ls -l "/proc/$1/fd"
}

# share_std IMG PID PARENT FD...: IMG with those fds of PID made the
# parent's open files (share=PARENT:FD), on stdout
share_std() {
	local img=$1 pid=$2 parent=$3 fds
	shift 3
	fds=$(IFS='|'; echo "$*")
	img cat "$img" "proc/$pid/fds" |
		sed -E "s/^fd ($fds) ([a-z]+) /fd \\1 \\2 share=$parent:\\1 /" >"$img.fds"
	img edit "$img" "proc/$pid/fds" "$img.fds"
}

@test "tree: a pipe between two children: one pipe again, the bytes in flight neither lost nor repeated" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local p a b n q i
	pipeline_job
	touch "$D/pause"
	wait_line "$D/paused" x
	q=$(wc -l <"$D/clog")
	echo "B read $q, A at $(cat "$D/acount")"
	wait_past "$D/acount" '' $((q + 2)) 30 || { proc_say "$APID"; cat "$D/err"; false; }
	touch "$D/pauseA"
	wait_line "$D/pausedA" '^[0-9]+$'
	n=$(cat "$D/pausedA")
	echo "B read $q, A wrote $n"
	[ "$n" -gt "$((q + 2))" ]   # bytes in flight
	p=$(stat_ids "$PID")
	a=$(stat_ids "$APID")
	b=$(stat_ids "$BPID")
	freeze_ok "$D/aimg" "$APID"
	freeze_ok "$D/bimg" "$BPID"
	freeze_ok "$D/pimg" --single --force --kill "$PID"
	kill -KILL "$APID" "$BPID"
	wait "$PID" 2>/dev/null || true
	for ((i = 0; i < 250; i++)); do
		kill -0 "$APID" 2>/dev/null || kill -0 "$BPID" 2>/dev/null || break
		sleep 0.02
	done
	img list "$D/bimg" | grep -q "^proc/$BPID/pipes/"
	img cat "$D/pimg" ckpt/manifest | grep -v '^proc ' >"$D/man"
	printf 'proc %s %s\nproc %s %s\nproc %s %s\n' "$PID" "$p" "$APID" "$a" "$BPID" "$b" >>"$D/man"
	share_std "$D/aimg" "$APID" "$PID" 0 2 >"$D/aimg2"
	share_std "$D/bimg" "$BPID" "$PID" 1 2 >"$D/bimg2"
	img join "$D/man" "$D/pimg" "$D/aimg2" "$D/bimg2" >"$D/img"
	tree_thaw "$D/img"
	[ "$(stat_ids "$APID" | cut -d' ' -f1)" = "$PID" ]
	[ "$(stat_ids "$BPID" | cut -d' ' -f1)" = "$PID" ]
	rm "$D/pause" "$D/pauseA"
	wait_past "$D/clog" '' $((n + 5))
	touch "$D/end"
	for ((i = 0; i < 250; i++)); do
		[ "$(cut -d' ' -f3 "/proc/$BPID/stat" 2>/dev/null)" = Z ] && break
		sleep 0.02
	done
	touch "$D/reap"
	wait_line "$D/plog" '^reaped'
	seq 1 "$(wc -l <"$D/clog")" | diff - "$D/clog"
	thaw_wait 0
}

@test "tree: a 3-stage pipeline with its pipes full, checkpointed whole, ends with the sum of an uninterrupted run" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:pipeline prog:pipestage
	need_root
	local want pids n
	want=$("$PROGS/pipestage" produce 4096 | "$PROGS/pipestage" filter 0 |
		"$PROGS/pipestage" consume 4096 0 | grep '^done ok')
	start_prog pipeline 4096
	wait_line "$OUT" '^progress bytes='
	pids=$(job_pids "$PID")
	n=$(wc -w <<<"$pids")
	[ "$n" -eq 4 ]
	STARTED+=($pids)
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	# shellcheck disable=SC2086
	job_gone $pids
	[ "$(img cat "$T/img" ckpt/manifest | grep -c '^proc ')" -eq 4 ]
	img list "$T/img" | grep -q '/pipes/'
	run grep -q '^done ok' "$OUT"
	[ "$status" -eq 1 ]   # not done yet: the job is dead
	thaw_bg "$T/img"
	wait_line "$OUT" '^done ok' 60
	thaw_wait 0
	echo "want: $want; got: $(grep '^done ok' "$OUT")"
	[ "$(grep '^done ok' "$OUT")" = "$want" ]
	grep -qx 'status 0 0 0' "$OUT"
}
