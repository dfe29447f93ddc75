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
	"$PROGS/subreap" 5 "$THAW" "$T/img" >"$T/sr" 2>"$T/thaw.err" &
	sr=$!
	wait_line "$T/sr" '^child '
	tp=$(awk '/^child/ {print $2}' "$T/sr")
	if [ "$ms" -ge 0 ]; then
		for ((i = 0; i < 5000; i++)); do
			[ -z "$(children "$tp")" ] || break
			sleep 0.002
		done
		sleep "$(awk -v m="$ms" 'BEGIN {print m / 1000}')"
	fi
	kill -KILL "$tp"
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
