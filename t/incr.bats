#!/usr/bin/env bats
# incr.bats - incremental checkpoints (issue 14): the index member,
# ckpt-freeze --index-out and --parent, chains merged by ckpt-unpack
# and restored by ckpt-thaw BASE INC..., and their error cases.

load helpers
load thaw

# step N: t/progs/incmem makes its next step, and says so
step() {
	kill -USR2 "$PID"
	wait_line "$OUT" "^step $1\$"
}

# inc NAME PARENT [ARGS]: an increment of $PID against PARENT into $T/NAME
inc() {
	local name=$1 parent=$2
	shift 2
	freeze_ok "$T/$name" --parent "$parent" "$@" "$PID"
}

# img_id IMG: the image's id; img_parent IMG: its parent's
img_id() { tar xOf "$1" ckpt/manifest | sed -n 's/^id //p'; }
img_parent() { tar xOf "$1" ckpt/manifest | sed -n 's/^parent //p'; }

# incmem_chain N [LAST]: incmem started, a base and N increments, step
# k between link k-1 and k: $T/base, $T/inc1 ...; the last with --kill
# unless LAST is "live"
incmem_chain() {
	local n=$1 k prev=$T/base kill=
	need ckpt-run ckpt-freeze ckpt-thaw ckpt-unpack prog:incmem
	start_prog incmem "$T"
	freeze_ok "$T/base" "$PID"
	for ((k = 1; k <= n; k++)); do
		step "$k"
		[ "$k" -lt "$n" ] || [ "${2:-}" = live ] || kill=--kill
		inc "inc$k" "$prev" $kill
		prev=$T/inc$k
	done
}

@test "usage: --parent and --index-out need their file; a chain's errors name both ids" {
	need ckpt-freeze ckpt-unpack ckpt-thaw
	run --separate-stderr "$BIN/ckpt-freeze" --parent
	[ "$status" -eq 2 ]
	run --separate-stderr "$BIN/ckpt-freeze" --parent /nonexistent/x 1
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"/nonexistent/x"* ]]
	run --separate-stderr "$BIN/ckpt-freeze" --index-out /nonexistent/dir/x 1
	[ "$status" -eq 1 ]
}

@test "the index lists every stored page with its hash; --index-out writes it beside the stream" {
	need ckpt-run ckpt-freeze prog:incmem
	start_prog incmem "$T"
	freeze_ok "$T/full" --index-out "$T/full.idx" "$PID"
	img check "$T/full"
	# in a full image: the pagemap's runs, and each page's XXH64 (of
	# the program's regions: the shim's control thread, which serves
	# the dump, writes its own after the hashes, formats/index.md)
	img index "$T/full" "$PID" $(awk '/^region/ {print $3}' "$OUT" | sed 's/^0x//')
	# the file: the same manifest, then the index members
	[ "$(tar tf "$T/full.idx")" = "ckpt/manifest
proc/$PID/index
proc/$PID/hashes" ]
	cmp <(tar xOf "$T/full" ckpt/manifest) <(tar xOf "$T/full.idx" ckpt/manifest)
	cmp <(tar xOf "$T/full" "proc/$PID/index") <(tar xOf "$T/full.idx" "proc/$PID/index")
	cmp <(tar xOf "$T/full" "proc/$PID/hashes") <(tar xOf "$T/full.idx" "proc/$PID/hashes")
	[ "$(stat -c %a "$T/full.idx")" = 600 ]
	ls "$T" | grep -q 'full.idx.' && false
	true
}

@test "the index of 96 MiB, hashed in two threads, has each page's XXH64 (sampled, and around the split)" {
	need ckpt-run ckpt-freeze prog:churn
	start_prog churn 96
	freeze_ok "$T/full" --index-out "$T/full.idx" "$PID"
	img index-sample "$T/full" "$PID" 211
	cmp <(tar xOf "$T/full" "proc/$PID/hashes") <(tar xOf "$T/full.idx" "proc/$PID/hashes")
}

@test "an increment from the index alone stores only what changed, and names its parent" {
	need ckpt-run ckpt-freeze prog:incmem
	start_prog incmem "$T"
	a=$(awk '/^region A/ {print $3}' "$OUT")
	freeze_ok "$T/base" --index-out "$T/base.idx" "$PID"
	step 1
	inc inc1 "$T/base.idx"
	[ "$(img_parent "$T/inc1")" = "$(img_id "$T/base")" ]
	[ "$(img_parent "$T/base")" = - ]
	# of A's 64 pages, the six step 1 rewrote
	a_pages() {
		img runs "$1" "$PID" | while read -r s e; do
			lo=$((0x$s > a ? 0x$s : a)) hi=$((0x$e < a + 65536 * 4 ? 0x$e : a + 65536 * 4))
			[ "$hi" -le "$lo" ] || echo $(((hi - lo) / 4096))
		done | awk '{n += $1} END {print n + 0}'
	}
	n=$(a_pages "$T/inc1")
	echo "A pages stored: $n"
	[ "$n" -eq 6 ]
	# the same from the image as parent: raw (read directly), packed
	# or compressed (read through ckpt-unpack)
	inc inc1b "$T/base"
	"$BIN/ckpt-pack" <"$T/base" >"$T/base.packed"
	inc inc1c "$T/base.packed"
	zstd -q <"$T/base" >"$T/base.zst"
	inc inc1d "$T/base.zst"
	for i in inc1b inc1c inc1d; do
		[ "$(img_parent "$T/$i")" = "$(img_id "$T/base")" ]
		[ "$(a_pages "$T/$i")" -eq 6 ]
	done
	[ "$(stat -c %s "$T/inc1")" -lt $(($(stat -c %s "$T/base") / 2)) ]
}

@test "a parent broken past its manifest (its table loaded while the job is frozen): the checkpoint fails naming it, with no trailer, and the program runs on" {
	need ckpt-run ckpt-freeze prog:incmem
	start_prog incmem "$T"
	freeze_ok "$T/base" --index-out "$T/base.idx" "$PID"
	echo zzz >"$T/zzz"
	img edit "$T/base.idx" "proc/$PID/index" "$T/zzz" >"$T/bad.idx"
	rc=0
	"$BIN/ckpt-freeze" --parent "$T/bad.idx" "$PID" >"$T/inc" 2>"$T/inc.err" || rc=$?
	cat "$T/inc.err"
	[ "$rc" -eq 1 ]
	grep -q "bad.idx: proc/$PID/index line 1: not a run" "$T/inc.err"
	grep -q "pid $PID: the parent's index was not loaded" "$T/inc.err"
	[ "$(tail -c 1024 "$T/inc" | tr -d '\0' | wc -c)" -gt 0 ]
	step 1
	verify_prog
	inc inc1 "$T/base.idx"
	[ "$(img_parent "$T/inc1")" = "$(img_id "$T/base")" ]
}

@test "base + 5 increments (new maps, munmap, DONTNEED, mremap, brk both ways) restore byte for byte, as a full checkpoint" {
	incmem_chain 4 live
	step 5
	freeze_ok "$T/full" "$PID"
	inc inc5 "$T/inc4" --kill
	wait "$PID" 2>/dev/null || true
	"$BIN/ckpt-unpack" "$T/base" "$T/inc1" "$T/inc2" "$T/inc3" "$T/inc4" "$T/inc5" >"$T/merged"
	img check "$T/merged"
	[ "$(img_id "$T/merged")" = "$(img_id "$T/inc5")" ]
	[ "$(img_parent "$T/merged")" = - ]
	# the program's memory in the merged chain is the full checkpoint's
	# (the program's regions: the shim's own state moves with each freeze)
	regions=$(awk '/^region/ {print $3}' "$OUT" | sed 's/^0x//')
	img pagesum "$T/merged" "$PID" $regions >"$T/m.sum"
	img pagesum "$T/full" "$PID" $regions >"$T/f.sum"
	cat "$T/m.sum"
	[ "$(wc -l <"$T/m.sum")" -ge 5 ]
	diff "$T/m.sum" "$T/f.sum"
	thaw_bg "$T/base" "$T/inc1" "$T/inc2" "$T/inc3" "$T/inc4" "$T/inc5"
	restored incmem
	kill -USR1 "$PID"
	wait_line "$OUT" '^verify ok step=5$'
	finish
}

# unread IMG.err: how many pages of $PID its increment did not read
# (CKPT_TIMING=1: the parent's hashes, the tracking said unwritten),
# a line each time its index was made
unread() {
	sed -n "s/.* pid $PID: \([0-9]*\) of [0-9]* pages unread.*/\1/p" "$1"
}

# inc_timed NAME PARENT: inc, with CKPT_TIMING's lines in $T/NAME.err
inc_timed() {
	CKPT_TIMING=1 "$BIN/ckpt-freeze" --parent "$2" "$PID" >"$T/$1" 2>"$T/$1.err"
	! grep -v ': timing ' "$T/$1.err" || false
}

@test "a region whose flags changed since the parent with no maps line changed (MADV_DONTFORK, then MADV_HUGEPAGE on all of it): the increment says its new flags, reads its pages once tracking leaves it, and the chain restores it" {
	incmem_chain 5 live
	step 6
	inc_timed inc6 "$T/inc5"
	a=$(awk '/^region A/ {print $3}' "$OUT")
	# the line of the region holding A (its neighbours may join it)
	holding() { while IFS=' -' read -r lo hi rest; do
		((0x$lo > a || a >= 0x$hi)) || echo "$lo-$hi $rest"; done; }
	flags() { img cat "$1" "proc/$PID/vmflags" | holding; }
	flags "$T/inc6" | grep -q ' dc'
	! flags "$T/inc5" | grep -q ' dc' || false
	diff <(img cat "$T/inc5" "proc/$PID/maps" | holding) \
		<(img cat "$T/inc6" "proc/$PID/maps" | holding)
	# hg: A is tracked no more (smaps says so, read beside the index,
	# which is made again): its 48 pages there (10 dropped at step 2)
	# and not written at step 7 read and compared, not taken as unwritten
	step 7
	inc_timed inc7 "$T/inc6"
	flags "$T/inc7" | grep -q ' hg'
	grep -q 'index again' "$T/inc7.err"
	[ "$(unread "$T/inc6.err" | wc -l)" -eq 1 ]
	echo "unread at step 7: $(unread "$T/inc7.err" | tr '\n' ' ')"
	[ "$(unread "$T/inc7.err" | tail -1)" -le $(($(unread "$T/inc7.err" | head -1) - 48)) ]
	inc inc8 "$T/inc7" --kill
	wait "$PID" 2>/dev/null || true
	thaw_bg "$T/base" "$T/inc1" "$T/inc2" "$T/inc3" "$T/inc4" "$T/inc5" "$T/inc6" "$T/inc7" \
		"$T/inc8"
	restored incmem
	kill -USR1 "$PID"
	wait_line "$OUT" '^verify ok step=7$'
	finish
}

# chain_fails PATTERN CMD ARGS: exit 1, PATTERN in stderr, no trailer out
chain_fails() {
	local pat=$1
	shift
	run --separate-stderr "$@"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"$pat"* ]]
}

@test "a chain in the wrong order, with a missing link, of another program, or without its base: both ids named, nothing out, nothing started" {
	incmem_chain 2 live
	b=$(img_id "$T/base") i1=$(img_id "$T/inc1") i2=$(img_id "$T/inc2")
	chain_fails "wrong order" "$BIN/ckpt-unpack" "$T/base" "$T/inc2" "$T/inc1"
	[[ $stderr == *"$i2"* && $stderr == *"$i1"* ]]
	[ -z "$output" ]
	chain_fails "a missing link" "$BIN/ckpt-unpack" "$T/base" "$T/inc2"
	[[ $stderr == *"$i2"* && $stderr == *"$b"* ]]
	chain_fails "not a full image" "$BIN/ckpt-unpack" "$T/inc1" "$T/inc2"
	chain_fails "not an increment" "$BIN/ckpt-unpack" "$T/base" "$T/base"
	# an increment of another program, after this one's base
	mkdir "$T/o"
	first=$PID
	start_prog incmem "$T/o"
	freeze_ok "$T/obase" "$PID"
	freeze_ok "$T/oinc" --parent "$T/obase" "$PID"
	chain_fails "another program" "$BIN/ckpt-unpack" "$T/base" "$T/oinc"
	[[ $stderr == *"$(img_id "$T/oinc")"* && $stderr == *"$b"* ]]
	# ckpt-thaw: the same refusals before it makes anything
	kill -KILL "$first" "$PID"
	wait "$first" "$PID" 2>/dev/null || true
	PID=$first
	thaw_fails "wrong order" "$T/base" "$T/inc2" "$T/inc1"
	thaw_fails "is an increment of image $i1" "$T/inc2"
	thaw_fails "another program" "$T/base" "$T/oinc"
}

@test "a hostile index (a page neither stored nor held by the parent) stops the merge and the restore" {
	incmem_chain 1
	wait "$PID" 2>/dev/null || true
	# index and hashes made to hold a page at 0x1000 no link has
	tar xOf "$T/inc1" "proc/$PID/index" >"$T/idx"
	tar xOf "$T/inc1" "proc/$PID/hashes" >"$T/h"
	{ echo "00001000-00002000"; cat "$T/idx"; } >"$T/idx1"
	{ head -c 8 /dev/zero; cat "$T/h"; } >"$T/h1"
	img edit "$T/inc1" "proc/$PID/index" "$T/idx1" >"$T/tmp"
	img edit "$T/tmp" "proc/$PID/hashes" "$T/h1" >"$T/bad1"
	chain_fails "page 1000 is in its index, not stored, and not held by its parent" \
		"$BIN/ckpt-unpack" "$T/base" "$T/bad1"
	[[ $stderr == *"$(img_id "$T/base")"* && $stderr == *"$(img_id "$T/bad1")"* ]]
	# a stored page left out of the index (its run and its hashes cut)
	first=$(img runs "$T/inc1" "$PID" | head -1 | cut -d' ' -f1)
	"$PYTHON" - "$T/idx" "$T/h" "$first" "$T/idx2" "$T/h2" <<'PY'
import sys
runs = [tuple(int(x, 16) for x in l.split("-")) for l in open(sys.argv[1])]
h, a, off = open(sys.argv[2], "rb").read(), int(sys.argv[3], 16), 0
with open(sys.argv[4], "w") as idx, open(sys.argv[5], "wb") as out:
    for s, e in runs:
        n = (e - s) // 4096 * 8
        if not s <= a < e:
            idx.write("%08x-%08x\n" % (s, e))
            out.write(h[off:off + n])
        off += n
PY
	img edit "$T/inc1" "proc/$PID/index" "$T/idx2" >"$T/tmp"
	img edit "$T/tmp" "proc/$PID/hashes" "$T/h2" >"$T/bad2"
	chain_fails "is stored but not in its index" "$BIN/ckpt-unpack" "$T/base" "$T/bad2"
	# hashes that are not one per page of the index
	img edit "$T/inc1" "proc/$PID/hashes" "$T/h1" >"$T/bad3"
	chain_fails "a hashes member not 8 bytes for each page of its index" \
		"$BIN/ckpt-unpack" "$T/base" "$T/bad3"
	# a line that is not a run
	echo "zzz" >"$T/idx4"
	img edit "$T/inc1" "proc/$PID/index" "$T/idx4" >"$T/bad4"
	chain_fails "line 1: not a run of pages after the last" "$BIN/ckpt-unpack" "$T/base" "$T/bad4"
	# a pagemap that says more than its pages member holds: the last
	# link's claims a page of its index it does not store; the base's
	# (which has no index: it holds what it stores) a page at 0x1000.  The merge reads a raw link's
	# pages with pread, where nothing else would stop at the member's end
	tar xOf "$T/inc1" "proc/$PID/pagemap" >"$T/pm"
	"$PYTHON" - "$T/idx" "$T/pm" "$T/pm5" <<'PY'
import sys
runs = lambda f: [tuple(int(x, 16) for x in l.split("-")) for l in open(f)]
held, stored = runs(sys.argv[1]), runs(sys.argv[2])
a = next(p for s, e in held for p in range(s, e, 4096)
         if not any(x <= p < y for x, y in stored))
with open(sys.argv[3], "w") as f:
    for s, e in sorted(stored + [(a, a + 4096)]):
        f.write("%08x-%08x\n" % (s, e))
PY
	img edit "$T/inc1" "proc/$PID/pagemap" "$T/pm5" >"$T/bad5"
	chain_fails "a pages member shorter than its pagemap" "$BIN/ckpt-unpack" "$T/base" "$T/bad5"
	{ echo "00001000-00002000"; tar xOf "$T/base" "proc/$PID/pagemap"; } >"$T/pm6"
	img edit "$T/base" "proc/$PID/pagemap" "$T/pm6" >"$T/bad6"
	chain_fails "a pages member shorter than its pagemap" "$BIN/ckpt-unpack" "$T/bad6" "$T/inc1"
	[[ $stderr == *"$T/bad6"* ]]
	thaw_fails "not held by its parent" "$T/base" "$T/bad1"
	rm -f "$T/inc1.state"
}

@test "root's ckpt-thaw of a chain: every link must be the last link's owner's, who vouches for it" {
	need_root
	incmem_chain 1
	wait "$PID" 2>/dev/null || true
	throwaway_user ckn
	# another user's base under root's increment: its pages would run
	# with what root's link claims
	chown "$NEW_USER" "$T/base"
	thaw_fails "owned by uid $(stat -c %u "$T/base"), the chain's last link $T/inc1 by uid 0: a chain is one user's" \
		"$T/base" "$T/inc1"
	# the user's chain claiming root's ids: refused as from the user's file
	chown "$NEW_USER" "$T/inc1"
	chmod 0755 "$T"
	thaw_fails "the chain: owned by uid $(id -u "$NEW_USER"), but thread $PID claims uid 0" "$T/base" "$T/inc1"
	rm -f "$T/inc1.state"
}

@test "a chain of a process tree, its links packed and compressed, restores and goes on" {
	need ckpt-run ckpt-freeze ckpt-thaw ckpt-pack ckpt-unpack
	need_root
	tree_job
	freeze_ok "$D/base" "$PID"
	wait_past "$D/plog" '' $(($(last_num "$D/plog" '') + 3))
	freeze_ok "$D/inc1" --parent "$D/base" "$PID"
	wait_past "$D/plog" '' $(($(last_num "$D/plog" '') + 3))
	touch "$D/pause"
	wait_line "$D/paused" '^[0-9]+$'
	freeze_ok "$D/inc2" --kill --parent "$D/inc1" "$PID"
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	for ((i = 0; i < 250; i++)); do dead "$CPID" && break; sleep 0.02; done
	[ "$(tar xOf "$D/inc2" ckpt/manifest | grep -c '^proc ')" -eq 2 ]
	zstd -q <"$D/base" >"$D/base.zst"
	"$BIN/ckpt-pack" <"$D/inc1" >"$D/inc1.packed"
	"$BIN/ckpt-pack" <"$D/inc2" >"$D/inc2.packed"
	"$BIN/ckpt-unpack" "$D/base.zst" "$D/inc1.packed" "$D/inc2.packed" >"$D/merged"
	"$BIN/ckpt-unpack" "$D/base" "$D/inc1" "$D/inc2" | cmp - "$D/merged"
	img check "$D/merged"
	cp "$D/inc2.state" "$D/inc2.packed.state" 2>/dev/null || true
	thaw_bg "$D/base.zst" "$D/inc1.packed" "$D/inc2.packed"
	wait_line "$D/plog" "^$(($(last_num "$D/plog" '') + 3))\$"
	tree_goes_on
}

@test "a 10-link chain of a multi-threaded program under a mutex keeps its consistency check" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:mt
	need_root
	start_prog mt 4
	freeze_ok "$T/l0" "$PID"
	links=("$T/l0")
	for ((k = 1; k <= 10; k++)); do
		wait_past "$OUT" 'progress shared=' $(($(last_num "$OUT" 'progress shared=') + 1))
		[ "$k" -lt 10 ] && kill= || kill=--kill
		freeze_ok "$T/l$k" $kill --parent "$T/l$((k - 1))" "$PID"
		[ "$(img_parent "$T/l$k")" = "$(img_id "$T/l$((k - 1))")" ]
		links+=("$T/l$k")
	done
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	thaw_bg "${links[@]}"
	restored mt
	kill -USR1 "$PID"
	wait_line "$OUT" '^verify ok'
	finish
}

# sshd_start: an sshd of the test's own on a free loopback port, with a
# host key and an authorized key made in $T/ssh; sets SSH (the client
# command to 127.0.0.1).  Skips, saying why, only if sshd cannot start.
sshd_start() {
	local s=$T/ssh port i
	[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (openssh-server)"
	mkdir -m 0700 "$s"
	ssh-keygen -q -t ed25519 -N '' -f "$s/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$s/id"
	cp "$s/id.pub" "$s/authorized_keys"
	port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$s/config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $s/host_key
AuthorizedKeysFile $s/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin yes
StrictModes no
PidFile $s/sshd.pid
CONF
	mkdir -p /run/sshd
	/usr/sbin/sshd -D -e -f "$s/config" 2>"$s/log" 3>&- 4>&- &
	STARTED+=("$!")
	SSH=(ssh -p "$port" -i "$s/id" -o BatchMode=yes -o StrictHostKeyChecking=no
		-o UserKnownHostsFile="$s/known_hosts" -o LogLevel=ERROR 127.0.0.1)
	for ((i = 0; i < 100; i++)); do
		"${SSH[@]}" true 2>/dev/null && return 0
		sleep 0.1
	done
	skip "sshd does not start: $(tail -n 3 "$s/log")"
}

@test "the README's pipelines through real ssh: a base and increments to the far side, restored from its files" {
	need ckpt-run ckpt-freeze ckpt-thaw ckpt-pack ckpt-unpack prog:incmem
	need_root
	sshd_start
	far=$T/far
	mkdir "$far"
	start_prog incmem "$T"
	# ckpt-freeze $PID | zstd -T0 | ssh host 'cat > img.tar.zst'
	"$BIN/ckpt-freeze" --index-out "$T/last.idx" "$PID" | zstd -q -T0 |
		"${SSH[@]}" "cat > $far/base.tar.zst"
	# ckpt-freeze --parent last.idx $PID | ckpt-pack | ssh host 'cat > inc3.tar'
	for k in 1 2 3; do
		step "$k"
		[ "$k" -lt 3 ] && kill= || kill=--kill
		"$BIN/ckpt-freeze" $kill --parent "$T/last.idx" --index-out "$T/next.idx" "$PID" |
			"$BIN/ckpt-pack" | "${SSH[@]}" "cat > $far/inc$k.tar"
		mv "$T/next.idx" "$T/last.idx"
	done
	wait "$PID" 2>/dev/null || true
	dead "$PID"
	# the far side's files: ckpt-unpack base.tar inc1.tar inc2.tar | ckpt-thaw
	mkfifo "$T/fifo"
	"${SSH[@]}" "$BIN/ckpt-unpack $far/base.tar.zst $far/inc1.tar $far/inc2.tar $far/inc3.tar" \
		>"$T/fifo" &
	fifo_thaw 3
	# ssh host cat img.tar.zst | zstd -d | ckpt-thaw: the base alone
	"${SSH[@]}" "cat $far/base.tar.zst" | zstd -dq >"$T/fifo" &
	fifo_thaw 0
}

# fifo_thaw STEP: ckpt-thaw reading $T/fifo (a pipe, as in the README's
# pipelines); incmem comes back at STEP, checks itself and ends
fifo_thaw() {
	"$THAW" <"$T/fifo" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	restored incmem 20
	kill -USR1 "$PID"
	wait_line "$OUT" "^verify ok step=$1\$"
	kill -TERM "$PID"
	thaw_wait 0
}

@test "ckpt-show names an increment's parent and what each process holds" {
	need ckpt-run ckpt-freeze ckpt-show prog:incmem
	start_prog incmem "$T"
	freeze_ok "$T/base" --index-out "$T/base.idx" "$PID"
	step 1
	inc inc1 "$T/base.idx"
	run --separate-stderr "$BIN/ckpt-show" "$T/inc1"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ $output == *"parent $(img_id "$T/base") (an increment: restore it with its chain)"* ]]
	[[ $output == *" held (index)"* ]]
	run --separate-stderr "$BIN/ckpt-show" --json "$T/inc1"
	[ "$status" -eq 0 ]
	held=$(echo "$output" | "$PYTHON" -c 'import json, sys; p = json.load(sys.stdin)["processes"][0]; print(p["memory"]["held"], p["memory"]["stored"])')
	echo "held, stored: $held"
	n=$(tar xOf "$T/inc1" "proc/$PID/index" | tr - ' ' |
		while read -r a b; do echo $((0x$b - 0x$a)); done | awk '{ n += $1 } END { print n }')
	[ "${held% *}" -eq "$n" ]
	[ "${held#* }" -lt "${held% *}" ]
	run --separate-stderr "$BIN/ckpt-show" "$T/base"
	[[ $output == *"parent -;"* ]]
}

@test "ckpt-unpack merges a chain in memory that does not grow with the images (256 MiB: under 48 MiB)" {
	need ckpt-run ckpt-freeze ckpt-unpack prog:churn
	start_prog churn 256
	freeze_ok "$T/c0" --index-out "$T/idx" "$PID"
	for k in 1 2 3; do
		kill -USR1 "$PID"
		wait_line "$OUT" "^changed $k\$"
		freeze_ok "$T/c$k" --parent "$T/idx" --index-out "$T/idx.new" "$PID"
		mv "$T/idx.new" "$T/idx"
	done
	"$BIN/ckpt-pack" <"$T/c0" >"$T/c0.packed"
	# measured on the plain build: ASan's shadow and quarantine are not ours
	for chain in "$T/c0" "$T/c0.packed"; do
		/usr/bin/time -f '%M' -o "$T/rss" "$CKPT_BUILD/bin/ckpt-unpack" "$chain" "$T/c1" "$T/c2" "$T/c3" |
			cmp - <("$BIN/ckpt-unpack" "$T/c0" "$T/c1" "$T/c2" "$T/c3")
		echo "max RSS $(cat "$T/rss") KiB"
		[ "$(cat "$T/rss")" -lt $((48 * 1024)) ]
	done
	# and the merge is the program's memory now: a full image's pages
	freeze_ok "$T/full" "$PID"
	"$BIN/ckpt-unpack" "$T/c0" "$T/c1" "$T/c2" "$T/c3" >"$T/merged"
	big=$(img runs "$T/full" "$PID" | "$PYTHON" -c '
import sys
r = [tuple(int(x, 16) for x in l.split()) for l in sys.stdin]
print("%x" % max(r, key=lambda x: x[1] - x[0])[0])')
	cmp <(img pagesum "$T/merged" "$PID" "$big") <(img pagesum "$T/full" "$PID" "$big")
}
