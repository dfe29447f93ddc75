#!/usr/bin/env bats
# ckpt-thaw under faults (issue 10, "Hardening", the restore side):
# killed halfway, racing another restore of the same image, a job whose
# pid is still held as a group or session id, an image read from stdin.
# Runs as root (the old pids).

load helpers
load thaw

setup() {
	thaw_setup
}

teardown() {
	local p
	for p in ${LEFT:-}; do kill -KILL "$p" 2>/dev/null || true; done
	thaw_teardown
}

# children PID: the pids of PID's children
children() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep . || true
}

# kill_thaw_at MS: ckpt-thaw $T/img under t/progs/subreap, killed (-9)
# MS milliseconds after it made its new namespace's reaper (-1: at
# once, before that); then whatever it left must be gone within 5 s,
# or be a finished restore: the reaper with the restored counter under
# it, running (checked and then killed here).  The restored counter
# writes to ckpt-thaw's stdout, $T/sr, as subreap does.
kill_thaw_at() {
	local ms=$1 tp i sr left reaper prog
	# emptied here, not by the background job's redirection, which may
	# come after wait_line read the last round's "child N"
	: >"$T/sr"
	"$PROGS/subreap" 5 "$THAW" "$T/img" >>"$T/sr" 2>"$T/thaw.err" &
	sr=$!
	wait_line "$T/sr" '^child [0-9]+$'
	tp=$(awk '/^child [0-9]+$/ {print $2}' "$T/sr")
	[ -n "$tp" ] || { echo "no child pid in:"; od -c "$T/sr" | head; false; }
	if [ "$ms" -ge 0 ]; then
		for ((i = 0; i < 5000; i++)); do
			[ -z "$(children "$tp")" ] || break
			sleep 0.002
		done
		sleep "$(awk -v m="$ms" 'BEGIN {print m / 1000}')"
	fi
	kill -KILL "$tp" || { cat "$T/thaw.err"; false; }
	wait "$sr" || true
	echo "killed at $ms ms: $(grep '^left' "$T/sr" | tr '\n' ' ')"
	left=$(awk '/^left [1-9]/ {print $2}' "$T/sr")
	LEFT="$LEFT $left"
	[ -n "$left" ] || return 0
	# only a done restore may stay: one reaper, the program under it
	[ "$(echo "$left" | wc -w)" = 1 ]
	reaper=$left
	prog=$(children "$reaper")
	echo "under the reaper: $prog $(cat /proc/"$prog"/comm)"
	[ "$(echo "$prog" | wc -w)" = 1 ]
	[ "$(cat /proc/"$prog"/comm)" = counter ]
	verify_prog "$prog" "$T/sr"
	kill -KILL "$reaper"
}

@test "ckpt-thaw killed at any moment of a new-namespace restore leaves nothing stuck" {
	need prog:subreap
	LEFT=
	start_piped counter -m 128 -i 10
	# the original runs on, so its pid is taken: a new pid namespace
	freeze_ok "$T/img" "$PID"
	local ms
	for ms in -1 0 1 2 4 7 10 15 25 50 100; do
		kill_thaw_at "$ms"
	done
	alive "$PID"
}

# thaw_to FILE ARGS: ckpt-thaw ARGS in the background, stdout to FILE,
# stderr to FILE.err; its pid in $!
thaw_to() {
	local f=$1
	shift
	"$THAW" "$@" >"$f" 2>"$f.err" &
	TPIDS+=("$!")
}

@test "one image restored twice at once: both run, one at the old pid, every time" {
	start_piped counter -i 10
	freeze_ok "$T/img" --kill "$PID"
	local i a b
	for ((i = 0; i < 8; i++)); do
		while ! dead "$PID"; do sleep 0.01; done
		thaw_to "$T/a" "$T/img"
		a=$!
		thaw_to "$T/b" "$T/img"
		b=$!
		wait_line "$T/a" '^tick ' || { cat "$T/a.err"; false; }
		wait_line "$T/b" '^tick ' || { cat "$T/b.err"; false; }
		alive "$PID"
		kill -TERM "$a" "$b"
		wait "$a"
		wait "$b"
		grep -q '^done ok' "$T/a"
		grep -q '^done ok' "$T/b"
		[ ! -s "$T/a.err" ] && [ ! -s "$T/b.err" ]
	done
}

# choose_ms: how long ckpt-thaw (CKPT_TIMING=1) took to choose the
# namespace, from its stderr, $T/thaw.err, in whole ms
choose_ms() {
	awk '/timing choose namespaces/ { for (i = 1; i < NF; i++) if ($(i + 1) == "ms") { print int($i); exit } }' \
		"$T/thaw.err"
}

@test "a pid held by a live process is not waited for" {
	start_piped counter -i 10
	freeze_ok "$T/img" "$PID"
	CKPT_TIMING=1 thaw_piped "$T/img"
	wait_line "$T/o2" '^tick '
	wait_line "$T/thaw.err" 'timing choose namespaces'
	echo "the namespace chosen in $(choose_ms) ms"
	# it was 3 s (PID_WAIT_MS), waiting for a holder that never goes
	[ "$(choose_ms)" -lt 1000 ]
	kill -TERM "$TPID"
	thaw_wait 0
}

# session_job LOG: bash as a session leader under ckpt-run, appending
# 1, 2, 3... to LOG, which left an orphan (sleep 1.5) in its session
# and process group, then has no child; sets PID
session_job() {
	BASH_FIRST='(sleep 1.5 &); ' bash_log_job "$1" setsid
}

# sid_users ID: the processes whose session is ID
sid_users() {
	cat /proc/[0-9]*/stat 2>/dev/null |
		awk -v id="$1" '{ sub(/.*\) /, ""); if ($4 == id) n++ } END { print n + 0 }'
}

@test "a session leader's job restores at once while an orphan holds its session id" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local log=$T/log n
	session_job "$log"
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	[ "$(sid_users "$PID")" -ge 1 ]     # the orphan sleep
	n=$(wc -l <"$log")
	thaw_bg "$T/img"
	wait_past "$log" '' $((n + 5))
	# in a new pid namespace, with its pid there
	in_new_ns
	[ "$(awk '/^NSpid/ {print $3}' "/proc/$prog/status")" = "$PID" ]
	kill -TERM "$TPID"
	thaw_wait 143
	n=$(wc -l <"$log")
	seq 1 "$n" | diff - "$log"
	[ ! -s "$T/bash.err" ]
}

@test "a session leader's job comes back at its old pid once its session is free" {
	need ckpt-run ckpt-freeze ckpt-thaw
	need_root
	local log=$T/log n i
	session_job "$log"
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		[ "$(sid_users "$PID")" = 0 ] && break
		sleep 0.02
	done
	[ "$(sid_users "$PID")" = 0 ]
	n=$(wc -l <"$log")
	thaw_bg "$T/img"
	wait_past "$log" '' $((n + 5))
	alive "$PID"
	[ "$(awk '{ sub(/.*\) /, ""); print $4 }' "/proc/$PID/stat")" = "$PID" ]
	kill -TERM "$PID"
	thaw_wait 143
	n=$(wc -l <"$log")
	seq 1 "$n" | diff - "$log"
}

@test "ckpt-freeze --kill PID | ckpt-thaw: back at the old pid, without a fixed wait" {
	start_piped counter -i 10
	local t0 t1
	t0=$(date +%s%N)
	("$BIN/ckpt-freeze" --kill "$PID" | "$THAW" >"$T/o2" 2>"$T/thaw.err") &
	TPID=$!
	TPIDS+=("$TPID")
	wait_line "$T/o2" '^tick '
	t1=$(date +%s%N)
	echo "running after $(((t1 - t0) / 1000000)) ms"
	alive "$PID"
	# the old pid in this namespace (one level of NSpid), where it
	# was 3 s of waiting and then a new pid namespace
	[ "$(awk '/^NSpid/ {print NF}' "/proc/$PID/status")" = 2 ]
	[ "$(head -n 1 "$T/o2")" = "tick $(($(last_num "$T/o1" tick) + 1))" ]
	verify_prog "$PID" "$T/o2"
	kill -TERM "$PID"
	thaw_wait 0
	grep -q '^done ok' "$T/o2"
}

@test "FD_CLOEXEC comes back on fds above 1024, and only where it was" {
	KEY=ready BEFORE_KILL=verify_prog checkpoint_kill hifd
	thaw_bg "$T/img"
	restored hifd
	verify_prog
	finish
}

@test "a restorer killed by a signal is named with its signal" {
	KEY=tick checkpoint_kill counter -m 256 -i 10
	local r i size
	# the stream comes in two halves: the restorer, started on the
	# first, is still waiting for its pages when it is killed (on a
	# loaded machine a whole image could be restored before the kill)
	size=$(stat -c %s "$T/img")
	mkfifo "$T/fifo"
	"$THAW" <"$T/fifo" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	exec 5>"$T/fifo"
	head -c $((size / 2)) "$T/img" >&5
	for ((i = 0; i < 3000; i++)); do
		r=$(pgrep -P "$TPID" -x ckpt-restorer || true)
		[ -z "$r" ] || break
		sleep 0.01
	done
	[ -n "$r" ]
	kill -KILL "$r"
	tail -c +$((size / 2 + 1)) "$T/img" >&5 2>/dev/null || true
	exec 5>&-
	thaw_wait 1
	grep -q "ckpt-thaw: pid $PID: the restorer was killed by signal 9 (SIGKILL)" "$T/thaw.err"
	dead "$PID"
}

@test "shared memory seen at two addresses stays one: a memfd mapped twice, shared anonymous memory mremap'd" {
	KEY=ready BEFORE_KILL=verify_prog checkpoint_kill shmalias
	local v a b p n
	# each page of an object is stored once, through one of its views
	for v in memfd anon; do
		a=$(region "$v-a")
		b=$(region "$v-b")
		img stored "$T/img" "$PID" "$a"
		for p in 1 2 3; do
			n=0
			! img stored "$T/img" "$PID" "$(addr "$a" "$p")" || n=$((n + 1))
			! img stored "$T/img" "$PID" "$(addr "$b" $((p - 1)))" || n=$((n + 1))
			echo "$v page $p: stored $n times"
			[ "$n" = 1 ]
		done
	done
	thaw_bg "$T/img"
	restored shmalias
	verify_prog
	grep -q ' /memfd:shmalias (deleted)$' "/proc/$PID/maps"
	[ "$(grep -c ' /dev/zero (deleted)$' "/proc/$PID/maps")" = 2 ]
	finish
}

@test "region flags come back: mlock, DONTFORK, DONTDUMP, WIPEONFORK, (NO)HUGEPAGE, MERGEABLE, SEQUENTIAL, RANDOM, NORESERVE, DROPPABLE" {
	KEY=ready BEFORE_KILL=verify_prog checkpoint_kill vmflags
	img cat "$T/img" "proc/$PID/vmflags" | grep -q ' lo '
	thaw_bg "$T/img"
	restored vmflags
	verify_prog
	finish
}
