#!/usr/bin/env bats
# ckpt-thaw restores a job of several processes (issue 12): every pid
# as it was, each process the child of its parent (the restored
# parent's waitpid reaps its restored child), sessions and groups; the
# manifest's tree checked.  Until ckpt-freeze writes jobs, the images
# are composed from two checkpoints (tree_checkpoint in thaw.bash).

load helpers
load thaw   # its setup and teardown

@test "tree: a parent and its child go on at their pids, and the parent reaps the restored child" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	tree_job
	tree_checkpoint
	thaw_bg "$D/img"
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
	# the same pids, the child the parent's
	[ "$(stat_ids "$CPID" | cut -d' ' -f1)" = "$PID" ]
	[ "$(stat_ids "$PID" | cut -d' ' -f1)" = "$TPID" ]
	tree_goes_on
	thaw_wait 0
	[ ! -s "$D/err" ]
}

@test "tree: a child that leads its own process group comes back leading it" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	TREE_FIRST="set -m" tree_job
	[ "$(stat_ids "$CPID" | cut -d' ' -f2)" = "$CPID" ]
	tree_checkpoint
	grep -qx "proc $CPID $PID $CPID [0-9]*" "$D/man"
	thaw_bg "$D/img"
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
	[ "$(stat_ids "$CPID")" = "$PID $CPID $(stat_ids "$PID" | cut -d' ' -f3)" ]
	tree_goes_on
	thaw_wait 0
}

@test "tree: a child that leads its own session comes back leading it" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	TREE_CHILD_PRE=setsid tree_job
	[ "$(stat_ids "$CPID")" = "$PID $CPID $CPID" ]
	tree_checkpoint
	thaw_bg "$D/img"
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
	[ "$(stat_ids "$CPID")" = "$PID $CPID $CPID" ]
	tree_goes_on
	thaw_wait 0
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
	! pgrep -f ckpt-restorer -s 0
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
	freeze_ok "$D/img1" --force --kill "$PID"
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
	thaw_bg "$D/img"
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
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
