#!/usr/bin/env bats
# TCP and UDP sockets, the bad cases (issue 13): an address in use at
# the restore is a clear message naming the fd and address, and no
# process is left; an image is data: an address not of its socket's
# family, a port past 65535 or a socket type we do not restore is
# refused by name; root's ckpt-thaw makes and binds a user's sockets as
# that user, so a user's image can neither take a port below 1024 nor
# join root's SO_REUSEPORT group (to receive its connections).
# Programs: t/progs/inetsrv.c, t/progs/tcpbacklog.c.  Throwaway users: cki<n>.

load helpers
load thaw
load inet

@test "an address in use at the restore: refused, naming the pid, fd and address; no process, no socket left" {
	free_ports
	checkpoint_kill inetsrv "$PORT"
	holder "$((PORT + 2))"   # the UDP socket's port, taken by a TCP listener: no clash
	holder "$PORT"
	thaw_fails "pid $PID: fd 3: tcp socket 127.0.0.1:$PORT: bind: address in use" "$T/img"
	# nothing the restore made outlives it
	[ -z "$(ss -Hltn "sport = :$((PORT + 1))")" ]
	[ -z "$(ss -Hltn "sport = :$((PORT + 5))")" ]
}

@test "a hostile image: an IPv6 address in an inet socket, a port past 65535, a raw socket: each refused by name" {
	free_ports
	checkpoint_kill inetsrv "$PORT"
	fds_edit "$PID" "s/^\(fd 3 .*\) addr=127.0.0.1:$PORT /\1 addr=[::1]:$PORT /"
	grep -q "^fd 3 .* addr=\[::1\]:$PORT " "$T/fds.bad"
	thaw_fails "fd 3: socket socket:" "$T/bad"
	[[ $stderr == *"([::1]:$PORT): cannot be restored: its addr= is not an IPv4 address and port"* ]]
	fds_edit "$PID" "s/^\(fd 5 .*\) addr=127.0.0.1:$((PORT + 2)) /\1 addr=127.0.0.1:70000 /"
	thaw_fails "fd 5: socket socket:" "$T/bad"
	[[ $stderr == *"(127.0.0.1:70000): cannot be restored: its addr= is not an IPv4 address and port"* ]]
	fds_edit "$PID" "s/^\(fd 6 .*\) addr=\[::1\]/\1 addr=127.0.0.1/"
	thaw_fails "fd 6: socket socket:" "$T/bad"
	[[ $stderr == *"cannot be restored: its addr= is not an [IPv6] address and port"* ]]
	fds_edit "$PID" "s/^\(fd 7 .*\) type=stream /\1 type=raw /"
	thaw_fails "fd 7: socket socket:" "$T/bad"
	[[ $stderr == *"cannot be restored: only TCP and UDP sockets of the internet families can be"* ]]
	# and the image as it was comes back
	thaw_bg "$T/img"
	restored inetsrv
	finish
}

@test "root restores a user's server: a port below 1024 the image asks for is the kernel's to refuse the user (bind as the job)" {
	need_root
	free_ports
	low_port
	throwaway_user cki
	user_checkpoint_kill inetsrv "$PORT"
	fds_edit "$PID" "s/^\(fd 3 .*\) addr=127.0.0.1:$PORT /\1 addr=127.0.0.1:$LOW /"
	thaw_fails "pid $PID: fd 3: tcp socket 127.0.0.1:$LOW: bind: permission denied (a port the job's user may not take)" "$T/bad"
	[ -z "$(ss -Hltn "sport = :$LOW")" ]
	# the image as it was comes back, its sockets the user's
	thaw_bg "$T/img"
	restored inetsrv
	ss -Hltnpe "sport = :$PORT" | grep -q "uid:$(id -u "$NEW_USER") "
	finish
}

@test "root restores a user's server: the image cannot join root's SO_REUSEPORT group on a port (its sockets are the user's)" {
	need_root
	free_ports
	throwaway_user cki
	user_checkpoint_kill inetsrv "$PORT"
	holder "$((PORT + 7))" 1
	fds_edit "$PID" "s/^\(fd 3 .*\) addr=127.0.0.1:$PORT state=listen backlog=7 /\1 addr=127.0.0.1:$((PORT + 7)) state=listen backlog=7 reuseport=1 /"
	grep -q "^fd 3 .* addr=127.0.0.1:$((PORT + 7)) .* reuseport=1 " "$T/fds.bad"
	thaw_fails "pid $PID: fd 3: tcp socket 127.0.0.1:$((PORT + 7)): bind: address in use" "$T/bad"
	[ "$(ss -Hltn "sport = :$((PORT + 7))" | wc -l)" = 1 ]
}

@test "a socket a restore cannot make (a raw ICMP socket): ckpt-freeze --kill refuses before it kills, naming the fd" {
	need ckpt-run ckpt-freeze
	need_root   # CAP_NET_RAW
	start_prog rawsock.py
	run --separate-stderr "$BIN/ckpt-freeze" --kill "$PID"
	echo "exit $status; stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: fd 3: socket socket:"*"cannot be restored: only TCP and UDP sockets of the internet families can be"* ]]
	[[ $stderr == *"not killed: it runs on"* ]]
	[[ $stderr != *"fd 4"* ]]
	alive "$PID"
	kill -TERM "$PID"
	wait "$PID"
	grep -qx 'done ok' "$OUT"
}

@test "a listener without SO_REUSEADDR whose port still has closed connections in TIME_WAIT: refused, saying so" {
	BEFORE_KILL=live_checkpoint checkpoint_kill inetcli pairnoreuse
	port=$(tar xOf "$T/img" "proc/$PID/fds" | sed -n 's/.* listen=1 addr=127.0.0.1:\([0-9]*\) .*/\1/p')
	ss -Htan state time-wait "sport = :$port" | grep -q .
	thaw_fails "pid $PID: fd 4: tcp socket 127.0.0.1:$port: bind: address in use by connections closed lately, waiting in TIME_WAIT" "$T/img"
}

@test "a hostile image whose client waiting in a backlog names another address than its listener's: ckpt-thaw connects nowhere else, the client comes back reset" {
	free_ports
	checkpoint_kill tcpbacklog "$PORT"
	holder "$((PORT + 5))"   # a listener outside the job the image points at
	fds_edit "$PID" "s/^\(fd 4 .* peer=\)127.0.0.1:$PORT /\1127.0.0.1:$((PORT + 5)) /"
	grep -q "^fd 4 .* peer=127.0.0.1:$((PORT + 5)) .* listener=" "$T/fds.bad"
	thaw_bg "$T/bad"
	restored tcpbacklog
	# nothing connected to the outside listener; the one client left
	# waits, the other was reset
	[ -z "$(ss -Htn state established "dport = :$((PORT + 5))")" ]
	kill -USR1 "$PID"
	wait_line "$OUT" '^(verify ok|FAIL)'
	cat "$OUT"
	grep -qx 'accepted=1' "$OUT"
	thaw_wait 1   # the program says FAIL (1 of its 2) and exits 1
}
