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

@test "a restore whose mappings come out other than the image's fails, naming the pid and the region, and nothing runs" {
	checkpoint_kill stackdeep 2048
	local heap
	# The image's [vvar] [vvar_vclock] [vdso] moved, in its maps,
	# vmflags and core members, over the first 32 KiB of the heap: ckpt-thaw takes them (their
	# sizes are still the kernel's), the restorer maps the heap whole,
	# the vDSO's mremap takes its start; only the last look at
	# /proc/self/maps sees a heap that is not the image's.
	heap=$(python3 - "$T/img" "$T/bad" "$PID" <<'PY'
import re, sys
img = bytearray(open(sys.argv[1], 'rb').read())
i = img.find(b'proc/%s/maps\0' % sys.argv[3].encode())
off = (i // 512 + 1) * 512                      # its data (no pax header)
size = int(img[i + 124:i + 136].rstrip(b'\0 '), 8)
text = img[off:off + size].decode()
heap = re.search(r'^([0-9a-f]+)-([0-9a-f]+) .*\[heap\]$', text, re.M)
h = int(heap.group(1), 16)
assert int(heap.group(2), 16) - h >= 0x8000
for name, at, end in (('[vvar]', 0, 0x4000), ('[vvar_vclock]', 0x4000, 0x6000),
                      ('[vdso]', 0x6000, 0x8000)):
    old = re.search(r'^([0-9a-f]+-[0-9a-f]+) .* %s$' % re.escape(name), text, re.M).group(1)
    new = '%x-%x' % (h + at, h + end)
    assert len(new) == len(old)
    img = img.replace(old.encode() + b' ', new.encode() + b' ')   # maps, vmflags
    img = img.replace(b'0x' + old.replace('-', ' 0x').encode(),   # core
                      b'0x' + new.replace('-', ' 0x').encode())
open(sys.argv[2], 'wb').write(img)
print(heap.group(1), heap.group(2))
PY
)
	set -- $heap
	thaw_fails "pid $PID: restorer: its memory layout is not the image's at 0x$1: the image has anonymous memory 0x$1-0x$2 rw-p there, the kernel 0x$(printf %x $((0x$1 + 0x8000)))-0x$2 rw-p; the process does not run" "$T/bad"
	! grep -q '^verify\|^done' "$OUT" || false
}

@test "a region the program mapped MAP_GROWSDOWN comes back growsdown, and grows on demand" {
	checkpoint_kill stackdeep -g 1024
	local gd
	gd=$(sed -n 's/^gd //p' "$OUT")
	tar xOf "$T/img" "proc/$PID/vmflags" | grep "^$gd .* gd"
	thaw_bg "$T/img"
	# the state check compares the VmFlags of every region: gd too
	restored stackdeep
	grep "^$gd " "/proc/$PID/maps"
	# a byte a page down to 1 MiB below it: it grows, as the original did
	verify_prog
	finish
}
