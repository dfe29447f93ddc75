# tcprepair.bash - what t/tcprepair.bats and t/security-tcprepair.bats
# share: load it after helpers, thaw and inet.

# peer HOW ADDR PORT [RCVBUF]: t/progs/tcppeer.py outside the job (a
# python3 of ours, never under ckpt-run), its commands from a fifo
# (`say CMD`), its lines in $T/peer.out, its pid in PEER; HOW listen:
# once it listens
peer() {
	mkfifo "$T/peer.cmd"
	"$PYTHON" "$CKPT_ROOT/t/progs/tcppeer.py" "$T/peer.cmd" "$@" >"$T/peer.out" 2>&1 \
		3>&- 4>&- </dev/null &
	PEER=$!
	STARTED+=("$PEER")
	[ "$1" != listen ] || wait_line "$T/peer.out" '^listening'
}

# keepers_end: the keepers (lib/tcpkeep.h) of this test's connections
# (to or from port PORT) gone: a restore that was refused leaves one
keepers_end() {
	local p
	[ -n "${PORT:-}" ] || return 0
	for p in $(ss -Htanp "( sport = :$PORT or dport = :$PORT )" |
		sed -n 's/.*"ckpt-tcpkeep",pid=\([0-9]*\).*/\1/p' | sort -u); do
		kill -KILL "$p" 2>/dev/null || true
	done
}

teardown() {
	keepers_end
	thaw_teardown
}

# say CMD...: a command to the peer (one that is gone: a failure, not
# a fifo that blocks for ever)
say() {
	timeout 10 bash -c 'echo "$1" >"$2"' _ "$*" "$T/peer.cmd"
}

# peer_says PATTERN: the peer's next such line came (10 s), and no FAIL
peer_says() {
	wait_line "$T/peer.out" "$1|^FAIL" 10
	cat "$T/peer.out"
	! grep -q '^FAIL' "$T/peer.out"
}

# user_conversation: tcpcount of a throwaway user (ckr<n>: NEW_USER),
# its files and socket directory in D, connected to the peer on
# 127.0.0.1:PORT; PID, OUT
user_conversation() {
	throwaway_user ckr
	free_ports
	user_dir
	peer listen 127.0.0.1 "$PORT"
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D start_prog tcpcount connect 127.0.0.1 "$PORT"
	wait_line "$T/peer.out" '^ready tcppeer'
}

# in_flight: bytes queued each way, for the checkpoint: tcpcount sends
# 200000 bytes the peer does not read (its small window keeps most in
# tcpcount's send queue), then sleeps while the peer sends two numbers
# (in tcpcount's receive queue)
in_flight() {
	say send blob 200000
	wait_line "$OUT" '^blob sent'
	say send sleep 2
	wait_line "$OUT" '^sleeping'
	say send 10
	say send 11
	peer_says '^sent 11'
}
