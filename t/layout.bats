#!/usr/bin/env bats
# The restored memory layout is the checkpointed one, exactly: the
# [stack] comes back with its size even when something reads below it
# while the restorer works (a ps reading /proc/PID/cmdline did so, and
# the kernel grew the stack: restorer/growsdown.c), and still grows on
# demand once the program runs.  Runs as root (set_tid).

load helpers
load thaw
load tree

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

# vdso_over_heap IMG PID BAD: IMG with PID's [vvar] [vvar_vclock]
# [vdso] moved, in its maps, vmflags and core members, over the first
# 32 KiB of its heap, into BAD; prints the heap's "START END" (hex).
# ckpt-thaw takes such an image (the sizes are still the kernel's), the
# restorer maps the heap whole and the vDSO's mremap takes its start:
# only the last look at /proc/self/maps sees a heap that is not the
# image's.
vdso_over_heap() {
	python3 - "$@" <<'PY'
import re, sys
img = bytearray(open(sys.argv[1], 'rb').read())

def member(what):                               # (offset, size) of its data
    name = b'proc/%s/%s\0' % (sys.argv[2].encode(), what)
    i = img.find(name)
    while i % 512:                              # the member's own header
        assert i > 0
        i = img.find(name, i + 1)
    return i + 512, int(img[i + 124:i + 136].rstrip(b'\0 '), 8)

off, size = member(b'maps')
text = img[off:off + size].decode()
heap = re.search(r'^([0-9a-f]+)-([0-9a-f]+) .*\[heap\]$', text, re.M)
h = int(heap.group(1), 16)
assert int(heap.group(2), 16) - h >= 0x8000
for name, at, end in (('[vvar]', 0, 0x4000), ('[vvar_vclock]', 0x4000, 0x6000),
                      ('[vdso]', 0x6000, 0x8000)):
    old = re.search(r'^([0-9a-f]+-[0-9a-f]+) .* %s$' % re.escape(name), text, re.M).group(1)
    new = '%x-%x' % (h + at, h + end)
    assert len(new) == len(old)
    for what, o, n in ((b'maps', old + ' ', new + ' '), (b'vmflags', old + ' ', new + ' '),
                       (b'core', '0x' + old.replace('-', ' 0x'), '0x' + new.replace('-', ' 0x'))):
        mo, ms = member(what)
        img[mo:mo + ms] = img[mo:mo + ms].replace(o.encode(), n.encode())
open(sys.argv[3], 'wb').write(img)
print(heap.group(1), heap.group(2))
PY
}

# layout_msg PID START END: what ckpt-thaw says of vdso_over_heap's image
layout_msg() {
	echo "pid $1: restorer: its memory layout is not the image's at 0x$2: the image has anonymous memory 0x$2-0x$3 rw-p there, the kernel 0x$(printf %x $((0x$2 + 0x8000)))-0x$3 rw-p; the process does not run"
}

@test "a restore whose mappings come out other than the image's fails, naming the pid and the region, and nothing runs" {
	checkpoint_kill stackdeep 2048
	local heap
	heap=$(vdso_over_heap "$T/img" "$PID" "$T/bad")
	thaw_fails "$(layout_msg "$PID" $heap)" "$T/bad"
	! grep -q '^verify\|^done' "$OUT" || false
}

@test "a job one of whose processes fails its last look: none of them runs, the root neither" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:family
	need_root
	local child heap big before   # not "lines": bats's run sets that
	start_prog family 256
	child=$(awk '$1 == "child" && NF == 2 {print $2; exit}' "$OUT")
	big=$(awk '$1 == "big" {print substr($2, 3); exit}' "$OUT")
	wait_past "$OUT" "child tick" 3
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	job_gone "$PID" "$child"
	heap=$(vdso_over_heap "$T/img" "$child" "$T/bad")
	# the child's 256 MiB locked (VmFlags "me" made "lo", the same
	# length): its restorer populates them after the go, before its
	# last look, so the root would run meanwhile if it could
	python3 - "$T/bad" "$child" "$big" <<'PY'
import sys
img = bytearray(open(sys.argv[1], 'rb').read())
name = b'proc/%s/vmflags\0' % sys.argv[2].encode()
i = img.find(name)
while i % 512:
    assert i > 0
    i = img.find(name, i + 1)
size = int(img[i + 124:i + 136].rstrip(b'\0 '), 8)
text = img[i + 512:i + 512 + size]
at = text.index(b'\n' + sys.argv[3].encode() + b'-') + 1
eol = text.index(b'\n', at)
text[at:eol] = text[at:eol].replace(b' me ', b' lo ')
assert b' lo ' in text[at:eol]
img[i + 512:i + 512 + size] = text
open(sys.argv[1], 'wb').write(img)
PY
	# a process that ran at all has its control thread bind its socket
	# again (and prints a tick within 10 ms)
	rm -f "$CKPT_SOCKDIR/$PID.sock" "$CKPT_SOCKDIR/$child.sock"
	before=$(wc -l <"$OUT")
	thaw_fails "$(layout_msg "$child" $heap)" "$T/bad"
	dead "$child"
	sleep 0.2
	ls "$CKPT_SOCKDIR"
	[ ! -e "$CKPT_SOCKDIR/$PID.sock" ]
	tail -n +$((before + 1)) "$OUT"
	[ "$(wc -l <"$OUT")" = "$before" ]
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
