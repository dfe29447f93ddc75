#!/usr/bin/env bats
# Where the shim keeps its fds (preload/shim.c, high_fd_init): 32 under
# the soft RLIMIT_NOFILE, and at 992 when that is higher than 1024, so
# that every process of a job keeps a fd table of 1024 entries, not the
# 32768 a soft limit of 20000 gave it (each /proc/PID/fd listing of a
# dump paid 5x for it: bench/tree).  A program that puts its own fds
# there keeps them: the shim moves away.

load helpers
load thaw

# home: the number the shim's fds start at here
home() {
	local n
	n=$(ulimit -n)
	[ "$n" = unlimited ] || [ "$n" -ge 1024 ] && n=1024
	echo $((n - 32))
}

# shim_socks PID: the fd numbers of PID's sockets, one a line
shim_socks() {
	local fd
	for fd in "/proc/$1/fd"/*; do
		[[ $(readlink "$fd") == socket:* ]] && echo "${fd##*/}"
	done
	return 0
}

@test "the shim's listening socket sits at 992 and the fd table has 1024 entries, whatever the soft limit above it" {
	need ckpt-run prog:counter
	local lim fd
	for lim in 1024 20000; do
		[ "$lim" -le "$(ulimit -Hn)" ] || continue
		(ulimit -Sn "$lim" && exec "$RUN" -- "$PROGS/counter") >"$T/c.$lim.out" 2>"$T/c.$lim.err" 3>&- 4>&- &
		PID=$!
		STARTED+=("$PID")
		wait_line "$T/c.$lim.out" '^ready ' 20
		fd=$(shim_socks "$PID")
		grep FDSize "/proc/$PID/status"
		echo "soft limit $lim: socket at fd $fd"
		[ "$fd" = 992 ]
		[ "$(awk '$1 == "FDSize:" {print $2}' "/proc/$PID/status")" -le 1024 ]
	done
	# under 1024: 32 under the limit, as before
	(ulimit -Sn 512 && exec "$RUN" -- "$PROGS/counter") >"$T/c.out" 2>"$T/c.err" 3>&- 4>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$T/c.out" '^ready ' 20
	[ "$(shim_socks "$PID")" = 480 ]
}

@test "a program that puts its own fds where the shim's are keeps them: the shim moves, and a checkpoint and a restore keep every one" {
	[ "$(home)" = 992 ] || skip "soft RLIMIT_NOFILE under 1024"
	local i fd
	rebound() {
		# the listening socket moved to the first number the program
		# left free above its home: 1088 (a second at most)
		for ((i = 0; i < 250; i++)); do
			fd=$(shim_socks "$PID")
			[ "$fd" = 1088 ] && break
			sleep 0.02
		done
		echo "the shim's socket at fd ${fd:-none}"
		[ "$fd" = 1088 ]
		verify_prog
		freeze_ok "$T/running" "$PID"
		verify_prog
	}
	BEFORE_KILL=rebound checkpoint_kill fdhome
	thaw_bg "$T/img"
	restored fdhome
	verify_prog
	finish
}
