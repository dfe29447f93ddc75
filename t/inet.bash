# inet.bash - what t/inet.bats and t/security-inet.bats share: load it
# after helpers.

# free_ports: a base port with BASE..BASE+9 free on loopback (TCP and
# UDP, any state), in $PORT
free_ports() {
	local i p used
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 30000))
		used=$(ss -Htuan | awk '{print $5}' | sed -n 's/.*:\([0-9]*\)$/\1/p' |
			awk -v lo="$p" -v hi=$((p + 9)) '$1 >= lo && $1 <= hi' | head -n 1)
		[ -n "$used" ] || { PORT=$p; return 0; }
	done
	return 1
}

# a free port below 1024, in LOW
low_port() {
	local p
	for p in $(seq 700 1000 | shuf); do
		[ -n "$(ss -Htuan "sport = :$p")" ] || { LOW=$p; return 0; }
	done
	return 1
}

# holder PORT [REUSEPORT]: a listener outside the job on 127.0.0.1:PORT
# (with SO_REUSEPORT when REUSEPORT is 1), a python3 of ours (root's),
# in the background until teardown
holder() {
	"$PYTHON" -c '
import socket, sys, time
s = socket.socket()
if sys.argv[2] == "1":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
time.sleep(600)' "$1" "${2:-0}" >"$T/holder.$1.out" 2>&1 3>&- 4>&- &
	STARTED+=("$!")
	wait_line "$T/holder.$1.out" '^ready'
}

# fds_edit PID SED-SCRIPT: $T/img with proc/PID/fds edited by sed, as
# $T/bad
fds_edit() {
	img cat "$T/img" "proc/$1/fds" | sed -e "$2" >"$T/fds.bad"
	img edit "$T/img" "proc/$1/fds" "$T/fds.bad" >"$T/bad"
}

# live_checkpoint: a checkpoint without --kill of $PID, then a round of
# the program (inetcli pair's: its lines, and a connection of its own
# to its listener): what was peeked is still queued, in order
live_checkpoint() {
	freeze_ok "$T/img0" "$PID"
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
}
