# tree.bash - what the tests of whole jobs (process trees) share: load
# it after helpers and thaw.  A job is a root pid and all its
# descendants; the programs that make such jobs are in t/progs/
# (pipeline, bashjob, makejob, pool.py, shmcount, zombie, manyproc,
# forker, noshim).

# tree_setup / tree_teardown: call from setup and teardown
tree_setup() {
	thaw_setup
	SEEN=()
}

tree_teardown() {
	local r
	for r in "${TPIDS[@]}" "${STARTED[@]}"; do kill_job "$r"; done
	kill_seen
	thaw_teardown
}

# the setup and teardown of a test file of jobs, unless it has its own
setup() {
	tree_setup
}

teardown() {
	tree_teardown
}

# proc_table: "PID PPID PGID SID STATE" for every process on the machine
# (one cat: a process that ends meanwhile is left out)
proc_table() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk '{
		# comm may hold spaces and parens: the fields after the last ")"
		i = length($0)
		while (i > 0 && substr($0, i, 1) != ")") i--
		split(substr($0, i + 2), f, " ")
		print $1, f[2], f[3], f[4], f[1]
	}'
}

# job_table ROOT: "PID PPID PGID SID STATE" for ROOT and each of its
# descendants, parents before children
job_table() {
	proc_table | awk -v root="$1" '
		{ line[$1] = $0; kids[$2] = kids[$2] " " $1 }
		END {
			if (!(root in line)) exit
			q[1] = root; n = 1
			for (i = 1; i <= n; i++) {
				print line[q[i]]
				m = split(kids[q[i]], k, " ")
				for (j = 1; j <= m; j++) q[++n] = k[j]
			}
		}'
}

# job_pids ROOT: ROOT and its descendants, parents first
job_pids() {
	job_table "$1" | awk '{print $1}'
}

# starttime PID: when PID started (clock ticks since boot), to tell it
# from a later process that got the same pid
starttime() {
	local l r
	read -r l 2>/dev/null <"/proc/$1/stat" || return 1
	read -ra r <<<"${l##*) }"
	echo "${r[19]}"
}

# seen ROOT: remember ROOT's job's processes (pid and start time), for
# teardown to kill whatever of them is left even when it escaped the
# tree (an orphan goes to init)
seen() {
	local p s
	for p in $(job_pids "$1"); do
		# (one that ended meanwhile has no start time)
		if s=$(starttime "$p"); then SEEN+=("$p:$s"); fi
	done
}

kill_seen() {
	local e
	for e in "${SEEN[@]}"; do
		if [ "$(starttime "${e%%:*}")" = "${e#*:}" ]; then kill -KILL "${e%%:*}" 2>/dev/null; fi
	done
	SEEN=()
}

# kill_job ROOT: kill ROOT and every descendant and leave nothing: all
# are stopped first (a stopped process forks no more), until the set
# stays the same, then killed
kill_job() {
	local root=$1 before= now i
	[ -d "/proc/$root" ] || return 0
	for ((i = 0; i < 50; i++)); do
		now=$(job_pids "$root" | sort -n | tr '\n' ' ')
		# shellcheck disable=SC2086
		[ -n "$now" ] && kill -STOP $now 2>/dev/null
		[ "$now" = "$before" ] && break
		before=$now
	done
	# shellcheck disable=SC2086
	[ -z "$now" ] || kill -KILL $now 2>/dev/null
	wait "$root" 2>/dev/null || true
	return 0
}

# job_count ROOT: how many processes the job has
job_count() {
	job_pids "$1" | wc -l
}

# wait_procs ROOT N [SECS]: until the job has N processes or more
wait_procs() {
	local i n
	for ((i = 0; i < ${3:-20} * 10; i++)); do
		n=$(job_count "$1")
		[ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "wait_procs: job $1 has $n processes, not $2, after ${3:-20}s" >&2
	return 1
}

# start_job NAME N ARG...: start_prog NAME ARG..., then wait until its
# job has N processes; remembers them (seen)
start_job() {
	local name=$1 n=$2
	shift 2
	start_prog "$name" "$@"
	wait_procs "$PID" "$n"
	seen "$PID"
}

# job_alive PID...: every one runs (not gone, not a zombie, not stopped)
job_alive() {
	local p st
	for p in "$@"; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
		case $st in
		R | S | D) ;;
		*) echo "job_alive: pid $p is ${st:-gone}" >&2; return 1 ;;
		esac
	done
}

# job_gone PID... [SECS]: every one is gone or a zombie within 10 s
job_gone() {
	local p i
	for p in "$@"; do
		for ((i = 0; i < 500; i++)); do
			dead "$p" && continue 2
			sleep 0.02
		done
		echo "job_gone: pid $p still runs: $(cat "/proc/$p/cmdline" 2>/dev/null | tr '\0' ' ')" >&2
		return 1
	done
}

# switches PID: the context switches of PID's main thread so far
switches() {
	awk '/ctxt_switches/ {n += $2} END {print n + 0}' "/proc/$1/status" 2>/dev/null
}

# job_continues PID...: each one's main thread runs on: its context
# switches go up within 5 s (a frozen or stopped thread has none; the
# programs here all sleep and wake many times a second)
job_continues() {
	local -A was
	local p i left
	for p in "$@"; do was[$p]=$(switches "$p"); done
	for ((i = 0; i < 50; i++)); do
		sleep 0.1
		left=
		for p in "$@"; do
			[ "$(switches "$p")" -gt "${was[$p]}" ] || left="$left $p"
		done
		[ -z "$left" ] && return 0
	done
	echo "job_continues: no context switch in 5 s:$left" >&2
	return 1
}

# pipe_queued PID FD: how many bytes wait in the pipe at PID's fd FD
pipe_queued() {
	"$PYTHON" -c '
import fcntl, os, struct, sys, termios
fd = os.open("/proc/%s/fd/%s" % (sys.argv[1], sys.argv[2]), os.O_RDONLY | os.O_NONBLOCK)
print(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0])' "$1" "$2"
}

# image_procs IMG: the manifest's process lines ("proc PID PPID PGID
# SID", "zombie PID PPID PGID SID STATUS"), in their order
image_procs() {
	img cat "$1" ckpt/manifest | grep -E '^(proc|zombie) '
}

# image_tree_ok IMG: the manifest names the root first, each pid once,
# every other process after its parent; each proc has its members
# together, in the manifest's order, and a zombie has none
image_tree_ok() {
	local m
	m=$(img cat "$1" ckpt/manifest) || return 1
	img list "$1" | awk -v man="$m" '
		function bad(s) { print "image_tree_ok: " s; err = 1; exit 1 }
		BEGIN {
			n = split(man, l, "\n")
			for (i = 1; i <= n; i++) {
				split(l[i], f, " ")
				if (f[1] == "root") root = f[2]
				if (f[1] != "proc" && f[1] != "zombie") continue
				if (f[2] in at) bad("pid " f[2] " listed twice")
				at[f[2]] = ++np
				if (np == 1 && f[2] != root) bad("the first process " f[2] " is not the root " root)
				if (np > 1 && !(f[3] in at)) bad("pid " f[2] ": parent " f[3] " not listed before it")
				if (f[1] == "zombie") zomb[f[2]] = 1
			}
			if (!np) bad("no process in the manifest")
		}
		$0 ~ /^proc\// {
			split($0, w, "/")
			pid = w[2]
			if (!(pid in at)) bad("member " $0 " of a process not in the manifest")
			if (pid in zomb) bad("member " $0 " of a zombie")
			if (at[pid] < cur) bad("member " $0 " after the members of a later process")
			if (at[pid] > cur) { cur = at[pid]; has[pid] = 1 }
		}
		END {
			if (err) exit 1
			for (pid in at)
				if (!(pid in zomb) && !(pid in has)) bad("pid " pid ": no members")
		}' >&2
}

# same_procs IMG TABLE: the manifest's processes are those of TABLE
# (job_table's lines), with the same parent, group and session
same_procs() {
	diff <(image_procs "$1" | awk '{print $2, $3, $4, $5}' | sort) \
		<(awk '{print $1, $2, $3, $4}' <<<"$2" | sort) >&2
}

# member_size IMG MEMBER: the size of MEMBER's data
member_size() {
	img cat "$1" "$2" | wc -c
}

# job_freeze_kill IMG: ckpt-freeze --kill $PID's job into IMG, then
# wait until every process of it is gone (its pids free again)
job_freeze_kill() {
	local pids
	pids=$(job_pids "$PID")
	seen "$PID"
	freeze_ok "$1" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	# shellcheck disable=SC2086
	job_gone $pids
}

# thaw_job ARGS: ckpt-thaw in the background (TPID), its stdout in
# $T/thaw.out (where a pipe inside the job must never lead), its stderr
# in $T/thaw.err
thaw_job() {
	"$THAW" "$@" >"$T/thaw.out" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	state_watch "$@"
}

# job_report ROOT: each process of the job, its state, where it sleeps
# and its command line, and what ckpt-thaw said (for a test that fails)
job_report() {
	local p
	for p in $(job_pids "$1"); do
		echo "job_report: pid $p $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" \
			"$(cat "/proc/$p/wchan" 2>/dev/null) $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	[ ! -s "${T:-}/thaw.err" ] || sed 's/^/job_report: ckpt-thaw: /' "$T/thaw.err"
} >&2
