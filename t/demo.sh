#!/bin/sh
# demo.sh - what `make demo` runs: checkpoint a running program, show
# the image and the program still running, stop it, restore it from the
# image, and show it carrying on from the checkpoint.
#
# Uses the commands in $CKPT_BUILD/bin (make demo sets it); builds nothing.
# The image goes to $CKPT_DEMO_IMG, default /tmp/ckpt-demo.tar.

B=${CKPT_BUILD:?"set CKPT_BUILD to the build tree (make demo does)"}
bin=$B/bin
img=${CKPT_DEMO_IMG:-/tmp/ckpt-demo.tar}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ckpt-demo.XXXXXX") || exit 1
log=$tmp/program.log
pid=

# an image holds the program's memory: keep it private
umask 077
CKPT_SOCKDIR=$tmp/sock
export CKPT_SOCKDIR

cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

say() {
	printf '\n== %s\n' "$*"
}

fail() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

for c in ckpt-run ckpt-freeze ckpt-pack ckpt-thaw; do
	[ -x "$bin/$c" ] || fail "$bin/$c: not built (run make demo)"
done

# the sample program: t/progs/counter.c if it was built, else a shell loop
if [ -x "$B/t/counter" ]; then
	set -- "$B/t/counter" -i 500
else
	# shellcheck disable=SC2016 # the loop's $i is for the inner sh
	set -- sh -c 'i=0; while :; do i=$((i+1)); echo $i; sleep 1; done'
fi

say "start: ckpt-run -- $*"
"$bin/ckpt-run" -- "$@" >"$log" 2>&1 &
pid=$!
echo "pid $pid, output in $log"

# ready when the shim's socket is there and the program has printed
n=0
until [ -S "$CKPT_SOCKDIR/$pid.sock" ] && [ -s "$log" ]; do
	kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "pid $pid: exited early"; }
	n=$((n + 1))
	[ "$n" -lt 100 ] || fail "pid $pid: no control socket in $CKPT_SOCKDIR after 10 s"
	sleep 0.1
done
sleep 1
echo "last output: $(tail -n 1 "$log")"

say "checkpoint: ckpt-freeze $pid | ckpt-pack > $img"
"$bin/ckpt-freeze" "$pid" | "$bin/ckpt-pack" >"$img" || fail "ckpt-freeze | ckpt-pack failed"
ls -l "$img"

say "tar tvf $img"
tar tvf "$img" || fail "$img: not a tar archive"

say "tar xOf $img ckpt/manifest"
tar xOf "$img" ckpt/manifest | tee "$tmp/manifest"

for m in core threads maps; do
	say "tar xOf $img proc/$pid/$m | head"
	tar xOf "$img" "proc/$pid/$m" | head -n 12
done

say "the program runs on"
before=$(wc -l <"$log")
sleep 2
after=$(wc -l <"$log")
kill -0 "$pid" 2>/dev/null || fail "pid $pid: gone after the checkpoint"
echo "pid $pid alive; $((after - before)) new lines of output since; last: $(tail -n 1 "$log")"
[ "$after" -gt "$before" ] || fail "pid $pid: no output since the checkpoint"

say "stop it: kill $pid"
kill "$pid"
wait "$pid"
echo "pid $pid exited with status $?; last output: $(tail -n 1 "$log")"
pid=

# --- restore -------------------------------------------------------------
# fd 1 of the program was $log, opened for appending at its end: the
# policy reopens it and sets the offset back to the checkpoint's, so the
# restored program writes on from the line after the checkpoint.
say "restore: ckpt-thaw $img"
[ -x "$bin/ckpt-thaw" ] || fail "$bin/ckpt-thaw: not built"
old=$(sed -n 's/^root //p' "$tmp/manifest")
at=$(tar xOf "$img" "proc/$old/fds" | sed -n 's/^fd 1 .* pos=\([0-9]*\) .*/\1/p')
[ -n "$at" ] || fail "$img: no offset for fd 1"
before_line=$(head -c "$at" "$log" | tail -n 1)
"$bin/ckpt-thaw" "$img" </dev/null &
thaw=$!
n=0
until [ "$(wc -c <"$log")" -gt "$at" ] && tail -c +"$((at + 1))" "$log" | grep -q .; do
	kill -0 "$thaw" 2>/dev/null || fail "ckpt-thaw exited early"
	n=$((n + 1))
	[ "$n" -lt 100 ] || fail "the restored program printed nothing in 10 s"
	sleep 0.1
done
sleep 1.5
kill -0 "$old" 2>/dev/null || fail "pid $old: not running after the restore"
echo "pid $old is back: $(tr '\0' ' ' </proc/"$old"/cmdline)"
echo "last line before the checkpoint:  $before_line"
echo "first lines after the restore:"
tail -c +"$((at + 1))" "$log" | head -n 3 | sed 's/^/    /'

say "stop the restored program: kill $old"
kill "$old"
wait "$thaw"
echo "ckpt-thaw exited with status $? (the restored program's)"
