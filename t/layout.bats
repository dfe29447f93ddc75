#!/usr/bin/env bats
# The restored memory layout is the checkpointed one, exactly: the
# [stack] comes back with its size even when something reads below it
# while the restorer works (a ps reading /proc/PID/cmdline did so, and
# the kernel grew the stack: restorer/growsdown.c), and still grows on
# demand once the program runs.  Runs as root (set_tid).

load helpers
load thaw

# image_stack IMG PID: "START-END" of PID's [stack] in the image
image_stack() {
	tar xOf "$1" "proc/$2/maps" | awk '$NF == "[stack]" {print $1}'
}

# proc_stack PID: "START-END" of its [stack] now
proc_stack() {
	awk '$NF == "[stack]" {print $1}' "/proc/$1/maps"
}

@test "a restore read below its stack while it waits for the go comes back with the checkpointed [stack]" {
	checkpoint_kill stackdeep 2048
	local stack size lo i pokes=0
	stack=$(image_stack "$T/img" "$PID")
	[ -n "$stack" ]
	lo=$((0x${stack%-*}))
	size=$(stat -c %s "$T/img")
	# the stream stalls before its last block: the restorer has mapped
	# every region and waits for the go meanwhile (doc/restore.md)
	{ head -c $((size - 512)) "$T/img"; sleep 2; tail -c 512 "$T/img"; } |
		"$THAW" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	state_watch "$T/img"
	# what a reader of /proc/PID/mem, cmdline or environ makes the
	# kernel do (access_remote_vm): touch 64 KiB below the stack, where
	# a growsdown region grows to meet it
	for ((i = 0; i < 300; i++)); do
		if [[ $(readlink "/proc/$PID/exe" 2>/dev/null) == */ckpt-restorer ]]; then
			dd if="/proc/$PID/mem" of=/dev/null bs=4096 count=1 \
				skip=$(((lo - 65536) / 4096)) 2>/dev/null || true
			pokes=$((pokes + 1))
		fi
		sleep 0.01
	done
	echo "pokes while the restorer waited: $pokes"
	[ "$pokes" -ge 20 ]
	restored stackdeep
	echo "image $stack, restored $(proc_stack "$PID")"
	[ "$(proc_stack "$PID")" = "$stack" ]
	verify_prog
	finish
}

@test "a restored stack grows on demand past its restored size, as the original's did" {
	checkpoint_kill stackdeep 2048
	local stack grown
	stack=$(image_stack "$T/img" "$PID")
	thaw_bg "$T/img"
	restored stackdeep
	[ "$(proc_stack "$PID")" = "$stack" ]
	# 2 MiB of frames: far past the 132 KiB the kernel gave at exec
	verify_prog
	grown=$(grep '^verify ok stack ' "$OUT" | tail -n 1 | awk '{print $4}')
	echo "image $stack, after the recursion $grown"
	[ "${grown#*-}" = "${stack#*-}" ]
	[ $((0x${grown%-*})) -le $((0x${stack#*-} - 2048 * 1024)) ]
	finish
}
