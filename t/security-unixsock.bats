#!/usr/bin/env bats
# Named unix sockets against an attacker (issue 13): root restores a
# throwaway user's image (the user made it, so it says what the user
# wants), and the user may plant things at the socket's path.  Root's
# ckpt-thaw binds, replaces and connects only as the job's user, and
# replaces only a socket file nobody is behind: never a file of another
# kind, never through a symlink, never a live socket.  Programs:
# t/progs/uxecho.c.

load helpers
load thaw

setup() { kids_setup; }
teardown() { kids_teardown; }

# user_echo: uxecho stream D/srv.sock as a throwaway user, checkpointed
# with --kill by root; C its child
user_echo() {
	need_root
	throwaway_user cku
	user_dir
	CKPT_SOCKDIR=$D/sock PROG_USER=$NEW_USER PROG_DIR=$D checkpoint_kill uxecho stream "$D/srv.sock"
	C=$(awk '$1 == "child" {print $2; exit}' "$OUT")
	KIDS+=("$C")
	dead "$C"
}

# aimed_at PATH: $T/bad, the image with the server's name (on the
# listener, the accepted socket and the client) changed to PATH
aimed_at() {
	local p
	cp "$T/img" "$T/bad"
	for p in "$PID" "$C"; do
		fds_of "$p" | sed "s|=$D/srv.sock |=$1 |g" >"$T/fds"
		img edit "$T/bad" "proc/$p/fds" "$T/fds" >"$T/bad.new"
		mv "$T/bad.new" "$T/bad"
	done
	tar xOf "$T/bad" "proc/$PID/fds" | grep -q " listen=1 addr=$1 "
}

# root_dir MODE: R, a new directory of root's with MODE
root_dir() {
	R=$(mktemp -d)
	TMPDIRS+=("$R")
	chmod "$1" "$R"
}

# same_file PATH STAT: PATH is still what `stat -c '%F %i %s %Y'` said
same_file() {
	[ "$(stat -c '%F %i %s %Y' "$1")" = "$2" ]
}

@test "security-unixsock: root restores a user's image whose listener names a root file (/etc/debian_version): refused, the file untouched, no process left" {
	# not /etc/passwd: the other tests that run meanwhile add users,
	# which rewrites it under us
	local f=/etc/debian_version before sum
	user_echo
	before=$(stat -c '%F %i %s %Y' "$f")
	sum=$(sha256sum <"$f")
	aimed_at "$f"
	thaw_fails "fd 3: unix socket " "$T/bad"
	[[ $stderr == *"bind $f: its path is there and is not a socket (left alone)"* ]]
	same_file "$f" "$before"
	[ "$(sha256sum <"$f")" = "$sum" ]
	dead "$C"
}

@test "security-unixsock: a symlink the user planted at the socket's path (to a root-owned file): left alone, its target untouched" {
	user_echo
	echo root-data >"$T/rootfile"
	rm -f "$D/srv.sock"
	setpriv --reuid="$NEW_USER" --regid="$NEW_USER" --init-groups ln -s "$T/rootfile" "$D/srv.sock"
	thaw_fails "bind $D/srv.sock: its path is there and is not a socket (left alone)" "$T/img"
	[ -L "$D/srv.sock" ]
	[ "$(readlink "$D/srv.sock")" = "$T/rootfile" ]
	[ "$(cat "$T/rootfile")" = root-data ]
	[ "$(stat -c %U "$T/rootfile")" = root ]
	dead "$C"
}

@test "security-unixsock: a dead root-owned socket file in a directory only root may write: not replaced (the job's user cannot), no process left" {
	user_echo
	local r before
	root_dir 0755
	r=$R
	"$PYTHON" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$r/s"
	before=$(stat -c '%F %i %s %Y' "$r/s")
	aimed_at "$r/s"
	thaw_fails "bind $r/s: " "$T/bad"
	same_file "$r/s" "$before"
	[ "$(stat -c %U "$r/s")" = root ]
	[ -z "$(ls -A "$r" | grep -v '^s$')" ]
	dead "$C"
}

@test "security-unixsock: a live root server at the path the image names: address in use, its socket file not replaced and it still serves" {
	user_echo
	local r before
	root_dir 0777
	r=$R
	"$PYTHON" -c 'import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
s.listen(4)
print("up", flush=True)
c, _ = s.accept()
c.sendall(b"root here\n")
time.sleep(30)' "$r/live" >"$T/live.out" &
	KIDS+=("$!")
	wait_line "$T/live.out" '^up' 10
	before=$(stat -c '%F %i %s %Y' "$r/live")
	aimed_at "$r/live"
	thaw_fails "bind $r/live: address in use: a live socket is there (another server?)" "$T/bad"
	same_file "$r/live" "$before"
	run "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
print(s.makefile("rb").readline().decode().strip())' "$r/live"
	[ "$output" = "root here" ]
	dead "$C"
}

@test "security-unixsock: root's restore of a user's server: the new socket file is the user's, with the mode it had, and the old one is gone" {
	user_echo
	local old mode
	old=$(stat -c %i "$D/srv.sock")
	mode=$(fds_of "$PID" | awk '/ listen=1 / {for (i = 1; i <= NF; i++) if ($i ~ /^sockfile=/) print substr($i, 11)}')
	thaw_bg "$T/img"
	restored uxecho
	[ "$(stat -c %U "$D/srv.sock")" = "$NEW_USER" ]
	[ "$(stat -c %a "$D/srv.sock")" = "$mode" ]
	[ "$(stat -c %i "$D/srv.sock")" != "$old" ]
	! ls -a "$D" | grep -q '\.ckpt-'
	grep -q "^Uid:.$(id -u "$NEW_USER")" "/proc/$PID/status"
	verify_prog
	finish
}

@test "security-unixsock: a hostile image whose listener lists a waiting connection no process owns, or names its waiting client's listener wrongly: refused at the go, named, no process left, no socket file made" {
	user_echo
	local w
	rm -f "$D/srv.sock"
	w=$(fds_of "$C" | awk '/ listener=/ {for (i = 1; i <= NF; i++) if ($i ~ /^sock=/) print substr($i, 6)}')
	fds_of "$PID" | sed "s/ pending=$w / pending=$w,999999 /" >"$T/fds"
	img edit "$T/img" "proc/$PID/fds" "$T/fds" >"$T/bad"
	thaw_fails "a connection waiting in its backlog, from socket 999999, is no fd of any process of the job" "$T/bad"
	[ ! -e "$D/srv.sock" ]
	fds_of "$C" | sed "s/ listener=[0-9]* / listener=999999 /" >"$T/fds"
	img edit "$T/img" "proc/$C/fds" "$T/fds" >"$T/bad"
	thaw_fails "is no fd of any process of the job" "$T/bad"
	[ ! -e "$D/srv.sock" ]
	dead "$C"
}
