#!/bin/bash
# bashjob - a bash job appending 1, 2, 3... to a log, one line per
# round, each round through another kind of child.
#
# usage: bashjob LOG
#        bashjob --check LOG
#
# Opens LOG for appending once (fd 3, one open file description that
# every child inherits), starts a background job that sleeps in a loop
# for the whole run, prints "pid N" and "ready bashjob", then in a loop
# writes the round's number: from a subshell through fd 3, through a
# command substitution, from a background job that opens LOG itself
# (and is waited for), from an exec'd sh through fd 3, and sleeps 10 ms
# (an exec'd sleep).  SIGTERM: the round in progress ends, the sleeper
# is stopped, then the log is checked: "done ok lines=N" and exit 0,
# or the check's FAIL line and exit 1.
# --check LOG: only the check: "lines N" when LOG holds 1..N, one a
# line, else "FAIL LOG line K is X: a gap" (or a repeat), exit 1.
check() {
	awk -v f="$1" '
		{ n++; if ($0 != n) { bad = 1
			printf "FAIL %s line %d is %s: %s\n", f, n, $0, ($0 + 0 < n ? "a repeat" : "a gap")
			exit 1 } }
		END { if (!bad) printf "lines %d\n", n }' "$1"
}

if [ "$1" = --check ]; then
	check "$2"
	exit
fi
log=$1
exec 3>>"$log"
stop=0
trap 'stop=1' TERM
(while :; do sleep 0.1; done) &
sleeper=$!
echo "pid $$"
echo "ready bashjob"
i=0
while [ "$stop" = 0 ]; do
	i=$((i + 1))
	case $((i % 4)) in
	0) (echo "$i" >&3) ;;
	1) line=$(echo "$i") && echo "$line" >&3 ;;
	2) { echo "$i" >>"$log"; } &
	   wait $! ;;
	3) sh -c 'echo "$1" >&3' sh "$i" ;;
	esac
	sleep 0.01
done
kill "$sleeper"
wait
out=$(check "$log")
case $out in
"lines $i") echo "done ok lines=$i" ;;
lines*) echo "FAIL $log: ${out#lines } lines after $i rounds"; exit 1 ;;
*) echo "$out"; exit 1 ;;
esac
