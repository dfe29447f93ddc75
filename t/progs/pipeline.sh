#!/bin/bash
# pipeline - a bash running `producer | filter | consumer` (pipestage),
# with both pipes full all the run.
#
# usage: pipeline KIB [FILTER_US CONSUME_US]
#
# Prints "pid N" and "ready pipeline", then what the consumer prints
# ("progress bytes=N" every 256 KiB, "done ok bytes=N sum=HEX" at the
# end), then "status P F C", the three stages' exit statuses.  The sum
# depends only on KIB, so a checkpointed run must end with the same one
# as `pipestage produce KIB | pipestage filter 0 | pipestage consume KIB
# 0`.  FILTER_US and CONSUME_US (default 1000 and 2000) pace the stages
# per 4 KiB: 8192 KiB take about four seconds.  Exits 0 when every stage
# did.
here=$(dirname "$0")
echo "pid $$"
echo "ready pipeline kib=$1"
"$here/pipestage" produce "$1" |
	"$here/pipestage" filter "${2:-1000}" |
	"$here/pipestage" consume "$1" "${3:-2000}"
st=("${PIPESTATUS[@]}")
echo "status ${st[*]}"
[ "${st[*]}" = "0 0 0" ]
