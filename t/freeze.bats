#!/usr/bin/env bats
# ckpt-freeze against real programs: the stream it writes, what is in
# it, and that the program never notices.  Usage errors: usage.bats.

load helpers

setup() {
	ckpt_setup
	T=$BATS_TEST_TMPDIR
}

teardown() {
	ckpt_teardown
}

# the members ckpt-freeze writes for one process, in order (files/N
# members, when there are any, come between fds and maps)
want_members() {
	printf '%s\n' ckpt/manifest "proc/$1/core" "proc/$1/threads" "proc/$1/fds" \
		"proc/$1/maps" "proc/$1/vmflags" "proc/$1/mapfiles" "proc/$1/pagemap" "proc/$1/pages"
}

@test "a stream lists with GNU tar and bsdtar, members in stream order" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 2
	freeze_ok "$T/img" "$PID"

	run -0 tar tf "$T/img"
	[ "$(grep -v /files/ <<<"$output")" = "$(want_members "$PID")" ]
	run -0 bsdtar -tf "$T/img"
	[ "$(grep -v /files/ <<<"$output")" = "$(want_members "$PID")" ]
	run -0 tar tvf "$T/img"
	[ "${#lines[@]}" -ge 8 ]
	for l in "${lines[@]}"; do [[ $l == -rw-------* ]]; done
	run -0 bsdtar -tvf "$T/img"
	[ "${#lines[@]}" -ge 8 ]
	img check "$T/img"
}

@test "the manifest names the version, the root and its parent" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter
	freeze_ok "$T/img" "$PID"
	run -0 tar xOf "$T/img" ckpt/manifest
	[ "${lines[0]}" = "ckpt-image 1" ]
	local ppid
	ppid=$(awk '{print $4}' "/proc/$PID/stat")
	grep -qx "root $PID" <<<"$output"
	grep -Eqx "proc $PID $ppid [0-9]+ [0-9]+" <<<"$output"
	[ "$(grep -c '^proc ' <<<"$output")" -eq 1 ]
	grep -Eqx 'time [0-9]+\.[0-9]{9}' <<<"$output"
	grep -Eqx 'id [0-9a-f]{32}' <<<"$output"
	grep -qx 'packed 0' <<<"$output"
}

@test "tar xOf proc/PID/maps is /proc/PID/maps of the idle program" {
	need ckpt-run ckpt-freeze prog:pattern
	start_prog pattern "$T"
	freeze_ok "$T/img" "$PID"
	cat "/proc/$PID/maps" >"$T/maps.now"
	tar xOf "$T/img" "proc/$PID/maps" >"$T/maps.img"
	diff "$T/maps.now" "$T/maps.img"
	# and a second freeze sees the same
	freeze_ok "$T/img2" "$PID"
	tar xOf "$T/img2" "proc/$PID/maps" | diff "$T/maps.img" -
	verify_prog
	no_fail
}

# page_is IMG PID ADDR FILE: the stored page at ADDR equals FILE
page_is() {
	img peek "$1" "$2" "$3" 4096 >"$T/page" || return 1
	cmp "$T/page" "$4"
}

# page_absent IMG PID ADDR
page_absent() {
	if img stored "$1" "$2" "$3"; then
		echo "page $3 is stored, and should not be" >&2
		return 1
	fi
}

@test "written pages are stored at their address; untouched and zero pages are not" {
	need ckpt-run ckpt-freeze prog:pattern
	start_prog pattern "$T"
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	local f u z m p
	f=$(region filled) u=$(region untouched) z=$(region zero) m=$(region file)
	[ -n "$f" ]
	[ -n "$u" ]
	[ -n "$z" ]
	[ -n "$m" ]
	for p in $(seq 0 15); do
		case $p in
		[0-3] | 8 | 9 | 1[01])
			dd if="$T/filled.bin" of="$T/want" bs=4096 skip="$p" count=1 status=none
			page_is "$T/img" "$PID" "$(addr "$f" "$p")" "$T/want" ;;
		*) page_absent "$T/img" "$PID" "$(addr "$f" "$p")" ;;
		esac
	done
	for p in $(seq 0 7); do
		page_absent "$T/img" "$PID" "$(addr "$u" "$p")"
		page_absent "$T/img" "$PID" "$(addr "$z" "$p")"
	done
	# a private file mapping: the written page only
	page_is "$T/img" "$PID" "$(addr "$m" 1)" "$T/dirty.bin"
	for p in 0 2 3; do
		page_absent "$T/img" "$PID" "$(addr "$m" "$p")"
	done
	verify_prog
	no_fail
}

@test "the threads member has every thread, the control thread once" {
	need ckpt-run ckpt-freeze prog:mt
	start_prog mt 8
	freeze_ok "$T/img" "$PID"
	img threads "$T/img" "$PID" >"$T/threads"
	cat "$T/threads"
	# the program's threads are the ones it printed
	diff <(awk '$1 == "thread" {print $5}' "$OUT" | sort -n) \
		<(awk '$2 == "program" {print $1}' "$T/threads" | sort -n)
	[ "$(grep -c ' control$' "$T/threads")" -eq 1 ]
	# and all of them are all the tasks of the process
	diff <(ls "/proc/$PID/task" | sort -n) <(awk '{print $1}' "$T/threads" | sort -n)
	# every program thread has its signal frame
	tar xOf "$T/img" "proc/$PID/threads" |
		awk '/^role/ {r = $2} /^frame/ && r == "program" && $2 == "0x0" {bad = 1} END {exit bad}'
	verify_prog
	no_fail
}

@test "an 8-thread program checkpointed 20 times while it runs stays consistent" {
	need ckpt-run ckpt-freeze prog:mt
	start_prog mt 8
	local i n
	for i in $(seq 20); do
		n=$(last_num "$OUT" 'progress shared=')
		freeze_ok "$T/ck.$i.img" "$PID"
		wait_past "$OUT" 'progress shared=' "$n"
	done
	img check "$T"/ck.*.img
	verify_prog
	verify_prog
	no_fail
}

@test "a 64-worker program: every thread recorded each time, and it stays consistent" {
	need ckpt-run ckpt-freeze prog:mt
	start_prog mt 64
	local i n
	for i in $(seq 5); do
		n=$(last_num "$OUT" 'progress shared=')
		freeze_ok "$T/img" "$PID"
		[ "$(img threads "$T/img" "$PID" | grep -c ' program$')" -eq 69 ]
		wait_past "$OUT" 'progress shared=' "$n"
	done
	verify_prog
	no_fail
}

@test "a read() blocked on a pipe does not see the freeze (no EINTR)" {
	need ckpt-run ckpt-freeze prog:mt
	start_prog mt 2
	local i
	for i in $(seq 10); do
		freeze_ok "$T/img" "$PID"
	done
	# mt fails with "FAIL read: EINTR" when its reader sees one
	verify_prog
	no_fail
}

@test "python3: checkpointed while it runs, it goes on and its objects are intact" {
	need ckpt-run ckpt-freeze
	start_prog counter.py
	local i n
	for i in $(seq 5); do
		n=$(last_num "$OUT" tick)
		freeze_ok "$T/ck.$i.img" "$PID"
		wait_past "$OUT" tick "$n"
	done
	img check "$T"/ck.*.img
	verify_prog
	no_fail
}

@test "100 checkpoints in a row of one program: each stream valid, the program fine" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 4
	local a i n
	a=$(awk '$1 == "addr" && $2 == "counter" {print $3}' "$OUT")
	for i in $(seq 100); do
		freeze_ok "$T/img" "$PID"
		img check "$T/img"
		# the program's state in the image is one it was in
		read -r n s < <(state_page "$T/img" "$PID" "$a")
		[ "$s" -eq $((~n)) ] || { echo "checkpoint $i: ticks $n shadow $s" >&2; false; }
	done
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "--kill: the stream is complete, then the program is gone, having printed nothing after" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 4
	local a n s last
	a=$(awk '$1 == "addr" && $2 == "counter" {print $3}' "$OUT")
	wait_past "$OUT" tick 5
	freeze_ok "$T/img" --kill "$PID"
	dead "$PID"
	img check "$T/img"
	read -r n s < <(state_page "$T/img" "$PID" "$a")
	[ "$s" -eq $((~n)) ]
	last=$(last_num "$OUT" tick)
	echo "image ticks $n, last printed $last"
	# killed frozen: it printed the tick it was at, or was about to
	[ "$last" -le "$n" ]
	[ "$last" -ge $((n - 1)) ]
	[ "$(tail -c 1 "$OUT" | od -An -c | tr -d ' ')" = '\n' ]
	! grep -q '^FAIL' "$OUT" || false
}

@test "--kill: the program lives, frozen, until the stream is all read" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 16
	mkfifo "$T/fifo"
	"$BIN/ckpt-freeze" --kill "$PID" >"$T/fifo" 2>"$T/freeze.err" &
	local fp=$!
	STARTED+=("$fp")
	exec 8<"$T/fifo"
	timeout 20 dd bs=65536 count=1 iflag=fullblock status=none <&8 >"$T/img"
	# the reader is slow: the program must still be there, and frozen
	alive "$PID"
	quiet_for "$OUT" 300
	alive "$PID"
	timeout 60 cat <&8 >>"$T/img"
	exec 8<&-
	local rc=0
	wait_bounded "$fp" 20 || rc=$?
	cat "$T/freeze.err"
	[ "$rc" -eq 0 ]
	dead "$PID"
	img check "$T/img"
}

@test "a pid that does not exist: exit 1, no such process" {
	need ckpt-freeze
	local p
	p=$(free_pid)
	run --separate-stderr "$BIN/ckpt-freeze" "$p"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[ "$stderr" = "ckpt-freeze: pid $p: no such process" ]
	[ -z "$output" ]
}

@test "a pid without the shim (a plain sleep): exit 1, no ckpt shim, it goes on" {
	need ckpt-freeze
	sleep 1000 3>&- &
	local p=$!
	STARTED+=("$p")
	run --separate-stderr "$BIN/ckpt-freeze" "$p"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $p: no ckpt shim"* ]]
	[ -z "$output" ]
	alive "$p"
	[ "$(awk '{print $3}' "/proc/$p/stat")" = S ]
}

@test "a caller of another uid: exit 1, belongs to uid, the program unharmed" {
	need ckpt-run ckpt-freeze prog:counter
	other_user || skip "needs root to make the user ckpttest"
	start_prog counter
	run --separate-stderr as_other "$BIN/ckpt-freeze" "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $PID: belongs to uid 0"* ]]
	[ -z "$output" ]
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "the shim refuses a connection from another uid, and the program runs on" {
	need ckpt-run prog:counter
	other_user || skip "needs root to make the user ckpttest"
	# a socket the other uid can reach, so that the shim's own check is
	# what stands in the way
	export CKPT_SOCKDIR
	CKPT_SOCKDIR=$(mktemp -d /tmp/ckpt-uid.XXXXXX)
	CLEANUP+=("$CKPT_SOCKDIR")
	start_prog counter
	chmod 0711 "$CKPT_SOCKDIR"
	chmod 0777 "$CKPT_SOCKDIR/$PID.sock"
	cat >"$CKPT_SOCKDIR/client.py" <<-'EOF'
	import socket, struct, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
	try:
	    s.connect(sys.argv[1])
	    s.send(struct.pack("<IIQ", 2, 0, 0))   # CKPT_OP_FREEZE
	    s.settimeout(5)
	    r = s.recv(65536)
	    print("closed" if not r else "reply err %d" % struct.unpack_from("<i", r)[0], flush=True)
	except OSError as e:
	    print("refused", e, flush=True)
	sys.stdin.read()   # hold the connection until the test lets go
	EOF
	chmod 0644 "$CKPT_SOCKDIR/client.py"
	mkfifo "$T/hold"
	as_other "$PYTHON" "$CKPT_SOCKDIR/client.py" "$CKPT_SOCKDIR/$PID.sock" \
		>"$T/client.out" 2>&1 <"$T/hold" &
	local cp=$!
	STARTED+=("$cp")
	exec 9>"$T/hold"
	wait_line "$T/client.out" '^(closed|reply|refused)'
	cat "$T/client.out"
	! grep -q '^reply err 0$' "$T/client.out" || false
	# the connection is still open: the program must be running
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	exec 9>&-
	grep -q "^ckpt-shim: pid $PID: " "$ERR"
	verify_prog
	! grep -q '^FAIL' "$OUT" || false
}

@test "the reader goes away (| head -c 4096): exit 1, the program goes on" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 16
	local rc
	timeout 60 "$BIN/ckpt-freeze" "$PID" 2>"$T/freeze.err" | head -c 4096 >/dev/null
	rc=${PIPESTATUS[0]}
	cat "$T/freeze.err"
	[ "$rc" -eq 1 ]
	grep -q '^ckpt-freeze: ' "$T/freeze.err"
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n" 5
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	verify_prog
	no_fail
}

@test "ckpt-freeze killed (SIGKILL) mid-dump: the program goes on" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 16
	mkfifo "$T/fifo"
	"$BIN/ckpt-freeze" "$PID" >"$T/fifo" 2>"$T/freeze.err" &
	local fp=$! n
	STARTED+=("$fp")
	exec 8<"$T/fifo"
	timeout 20 dd bs=65536 count=1 iflag=fullblock status=none <&8 >/dev/null
	# it is frozen while the dump waits for us
	quiet_for "$OUT" 300
	n=$(last_num "$OUT" tick)
	kill -KILL "$fp"
	wait_bounded "$fp" 5 || true
	# the connection is gone, so the freeze is: it must tick again
	# even while the stream's reader (us) is still there
	wait_past "$OUT" tick "$n" 5
	exec 8<&-
	verify_prog
	no_fail
}

@test "a terminal on stdout is refused, and the program is not frozen" {
	need ckpt-run ckpt-freeze prog:counter
	command -v script >/dev/null || skip "no script(1) to make a terminal"
	start_prog counter
	run script -qec "'$BIN/ckpt-freeze' $PID" /dev/null
	echo "exit $status; output: $output"
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	[[ $output == *ckpt-freeze:*terminal* ]]
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	no_fail
}

@test "two freezes of one program at once: each succeeds or fails clearly" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 16
	"$BIN/ckpt-freeze" "$PID" >"$T/a" 2>"$T/a.err" &
	local pa=$!
	"$BIN/ckpt-freeze" "$PID" >"$T/b" 2>"$T/b.err" &
	local pb=$! ra=0 rb=0
	wait_bounded "$pa" 60 || ra=$?
	wait_bounded "$pb" 60 || rb=$?
	echo "a: exit $ra: $(cat "$T/a.err")"
	echo "b: exit $rb: $(cat "$T/b.err")"
	[ "$ra" -eq 0 ] || [ "$rb" -eq 0 ]
	local x
	for x in a b; do
		local r=$ra
		[ "$x" = b ] && r=$rb
		if [ "$r" -eq 0 ]; then
			img check "$T/$x"
			[ ! -s "$T/$x.err" ]
		else
			[ "$r" -eq 1 ]
			grep -q "^ckpt-freeze: pid $PID: " "$T/$x.err"
		fi
	done
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "a program that blocks every signal is frozen all the same, and its mask is its own" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -b
	local i n
	for i in 1 2 3; do
		n=$(last_num "$OUT" tick)
		freeze_ok "$T/img" "$PID"
		wait_past "$OUT" tick "$n"
	done
	img check "$T/img"
	verify_prog
	no_fail
}

@test "a program that blocks every signal reads its mask back as it set it, freeze signal included" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -B
	local n
	n=$(last_num "$OUT" tick)
	freeze_ok "$T/img" "$PID"
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "the program's own handler for the freeze signal: never called by a freeze, called by a kill" {
	need ckpt-run ckpt-freeze prog:counter
	local sig=${CKPT_SIGNAL:-63} i n
	start_prog counter -s "$sig"
	for i in 1 2 3; do
		n=$(last_num "$OUT" tick)
		freeze_ok "$T/img" "$PID"
		wait_past "$OUT" tick "$n"
	done
	! grep '^got signal' "$OUT" || false
	kill -"$sig" "$PID"
	wait_line "$OUT" "^got signal $sig count 1\$" 5
	freeze_ok "$T/img" "$PID"
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	[ "$(grep -c '^got signal' "$OUT")" -eq 1 ]
	verify_prog
	no_fail
}

@test "ckpt-dumpmem alone writes a listable stream of the memory members" {
	need ckpt-run ckpt-dumpmem prog:pattern
	start_prog pattern "$T"
	"$BIN/ckpt-dumpmem" "$PID" >"$T/mem" 2>"$T/mem.err" || { cat "$T/mem.err"; false; }
	[ ! -s "$T/mem.err" ]
	run -0 tar tf "$T/mem"
	printf '%s\n' "proc/$PID/maps" "proc/$PID/vmflags" "proc/$PID/mapfiles" "proc/$PID/pagemap" "proc/$PID/pages" >"$T/want"
	diff "$T/want" <(grep -v '^ckpt/' <<<"$output")
	run -0 bsdtar -tf "$T/mem"
	img check --parts maps,vmflags,mapfiles,pagemap,pages --bare "$PID" "$T/mem"
	dd if="$T/filled.bin" of="$T/want" bs=4096 count=1 status=none
	page_is "$T/mem" "$PID" "$(region filled)" "$T/want"
	page_absent "$T/mem" "$PID" "$(region untouched)"
	verify_prog
	no_fail
}

@test "ckpt-dumpfds alone writes a listable stream with the fds member" {
	need ckpt-run ckpt-dumpfds prog:counter
	start_prog counter
	"$BIN/ckpt-dumpfds" "$PID" >"$T/fds" 2>"$T/fds.err" || { cat "$T/fds.err"; false; }
	[ ! -s "$T/fds.err" ]
	run -0 tar tf "$T/fds"
	grep -qx "proc/$PID/fds" <<<"$output"
	run -0 bsdtar -tf "$T/fds"
	img check --parts fds --bare "$PID" "$T/fds"
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "a thread that cannot stop (in vfork): --timeout fails in time, naming it, and nothing stays frozen" {
	need ckpt-run ckpt-freeze prog:stuck
	start_prog stuck 4
	local tid t0 t1 n
	tid=$(grep -o 'tid=[0-9]*' "$OUT" | cut -d= -f2)
	t0=$(date +%s%N)
	run --separate-stderr "$BIN/ckpt-freeze" --timeout 500 "$PID"
	t1=$(date +%s%N)
	echo "exit $status in $(((t1 - t0) / 1000000)) ms; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $PID: "*"$tid"* ]]
	[ $((t1 - t0)) -lt 3000000000 ]
	# the other thread runs on at once
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n" 1
	# and the stuck one, once back, takes the late freeze signal in its stride
	wait_line "$OUT" '^vfork done$' 10
	verify_prog
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "8 MiB of patterned memory is in the image byte for byte" {
	need ckpt-run ckpt-freeze prog:counter
	start_prog counter -m 8 -w "$T/buf.bin"
	local buf
	buf=$(grep -o 'buf=0x[0-9a-f]*' "$OUT" | cut -d= -f2)
	freeze_ok "$T/img" "$PID"
	img peek "$T/img" "$PID" "$buf" $((8 << 20)) >"$T/got"
	cmp "$T/got" "$T/buf.bin"
	verify_prog
	no_fail
}

@test "each tool, given a pid that does not exist or has no shim: exit 1, naming it, nothing out" {
	need ckpt-freeze ckpt-dumpmem ckpt-dumpfds
	local gone t
	gone=$(free_pid)
	sleep 1000 3>&- &
	local plain=$!
	STARTED+=("$plain")
	for t in ckpt-freeze ckpt-dumpmem ckpt-dumpfds; do
		run --separate-stderr "$BIN/$t" "$gone"
		echo "$t $gone: exit $status; stderr: $stderr"
		[ "$status" -eq 1 ]
		[ "$stderr" = "$t: pid $gone: no such process" ]
		[ -z "$output" ]
		run --separate-stderr "$BIN/$t" "$plain"
		echo "$t $plain: exit $status; stderr: $stderr"
		[ "$status" -eq 1 ]
		[[ $stderr == "$t: pid $plain: no ckpt shim"* ]]
		[ -z "$output" ]
	done
	alive "$plain"
}

@test "no CKPT_SOCKDIR: the socket is in \$XDG_RUNTIME_DIR/ckpt-UID (0700), found by the tools, removed at exit" {
	need ckpt-run ckpt-freeze prog:counter
	unset CKPT_SOCKDIR
	export XDG_RUNTIME_DIR=$T/xdg
	mkdir -m 0700 "$XDG_RUNTIME_DIR"
	local dir=$XDG_RUNTIME_DIR/ckpt-$(id -u) out=$T/counter.out
	"$RUN" -- "$PROGS/counter" >"$out" 2>"$T/counter.err" 3>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$out" '^ready '
	[ -S "$dir/$PID.sock" ]
	[ "$(stat -c %a "$dir")" = 700 ]
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	kill -TERM "$PID"
	wait_bounded "$PID" 10
	grep -q '^done ok' "$out"
	[ ! -e "$dir/$PID.sock" ]
}

@test "fork: the child has its own socket; each is checkpointed alone while the other runs" {
	need ckpt-run ckpt-freeze prog:family
	start_prog family
	local child n
	child=$(awk '$1 == "child" && $2 ~ /^[0-9]+$/ {print $2; exit}' "$OUT")
	STARTED+=("$child")
	# the child's atfork handler made its socket before fork returned there
	wait_line "$OUT" '^child tick'
	[ -S "$CKPT_SOCKDIR/$child.sock" ]
	freeze_ok "$T/child.img" "$child"
	img check "$T/child.img"
	tar xOf "$T/child.img" ckpt/manifest | grep -Eqx "proc $child $PID [0-9]+ [0-9]+"
	n=$(last_num "$OUT" 'parent tick')
	wait_past "$OUT" 'parent tick' "$n"
	# a parent alone: --single
	freeze_ok "$T/parent.img" --single "$PID"
	img check "$T/parent.img"
	[ "$(tar xOf "$T/parent.img" ckpt/manifest | grep -c '^proc ')" -eq 1 ]
	n=$(last_num "$OUT" 'child tick')
	wait_past "$OUT" 'child tick' "$n"
	n=$(last_num "$OUT" 'parent tick')
	wait_past "$OUT" 'parent tick' "$n"
	kill -TERM "$PID"
	wait_bounded "$PID" 10
	grep -qx 'done ok' "$OUT"
	[ ! -e "$CKPT_SOCKDIR/$child.sock" ]
	no_fail
}

@test "exec: the shim comes back in the new program, on the same pid" {
	need ckpt-run ckpt-freeze prog:counter
	OUT=$T/exec.out ERR=$T/exec.err
	"$RUN" -- /bin/sh -c 'exec "$0" -m 1' "$PROGS/counter" >"$OUT" 2>"$ERR" 3>&- &
	PID=$!
	STARTED+=("$PID")
	wait_line "$OUT" '^ready '
	grep -qx "pid $PID" "$OUT"
	freeze_ok "$T/img" "$PID"
	img check "$T/img"
	tar xOf "$T/img" "proc/$PID/maps" | grep -q '/counter$'
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	no_fail
}

@test "a non-dumpable program, unprivileged: a clear error naming it, and it runs on" {
	need ckpt-run ckpt-freeze prog:counter
	local as=()
	if [ "$(id -u)" = 0 ]; then
		# root may open any mem: make both sides the unprivileged user
		other_user || skip "needs the user ckpttest"
		CKPT_SOCKDIR=$(mktemp -d /tmp/ckpt-nd.XXXXXX)
		CLEANUP+=("$CKPT_SOCKDIR")
		chown ckpttest: "$CKPT_SOCKDIR"
		as=(as_other)
	fi
	PROG_AS=${as:+other} start_prog counter -D
	run --separate-stderr "${as[@]}" "$BIN/ckpt-freeze" "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == "ckpt-freeze: pid $PID: "*dumpable* ]]
	[ -z "$output" ]
	local n
	n=$(last_num "$OUT" tick)
	wait_past "$OUT" tick "$n"
	verify_prog
	! grep -q '^FAIL' "$OUT" || false
}
