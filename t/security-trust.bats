#!/usr/bin/env bats
# Trust: what root's tools take from a job, an image or a shim, and the
# credentials a restore gives back (doc/design.md, "Trust"; issue 9
# holes 2 and 5, issue 17 "Credentials and sandboxes").  Runs as root;
# the attackers and victims are throwaway users cks3*.
#
# Who plays whom:
# - a user who runs a job with a shim of his own making, which lies
#   about his ids (a copy of ours reading a "status" file he wrote):
#   root's ckpt-freeze must write the kernel's ids;
# - a user who edits his image to claim uid 0: root's ckpt-thaw must
#   refuse it unless told --trust-image;
# - anyone reading an image left in a shared place: images are 0600;
# - a process that gave up privilege (capabilities, no_new_privs, a
#   uid per thread, a seccomp filter): it must never come back with
#   more than it had.

load helpers
load thaw

setup() {
	thaw_setup
	KEY=ready
}

teardown() {
	thaw_teardown
}

# as_user U: start_prog runs the program as the user U from then on,
# with a socket directory U owns, from U's home (cwd); HOME_U is set
as_user() {
	HOME_U=$(getent passwd "$1" | cut -d: -f6)
	mkdir -p -m 0700 "$HOME_U/sock"
	chown "$1:" "$HOME_U/sock"
	export CKPT_SOCKDIR=$HOME_U/sock
	cd "$HOME_U"
	PROG_DIR=$HOME_U
	AS_OTHER=(setpriv --reuid="$1" --regid="$1" --init-groups env ASAN_OPTIONS="$ASAN_OPTIONS")
	PROG_AS=other
}

# uid_lines FILE: the uid lines of an image's core and threads members
uid_lines() {
	{ img cat "$1" "proc/$PID/core"; img cat "$1" "proc/$PID/threads"; } | grep '^uid ' || true
}

# claim_root IMG OUT: IMG with every uid and gid line of its core and
# threads members made 0: what a user could write into his own image
claim_root() {
	python3 - "$1" "$2" <<'PY'
import io, re, sys, tarfile
with tarfile.open(sys.argv[1], 'r:') as tin, \
     tarfile.open(sys.argv[2], 'w:', format=tarfile.PAX_FORMAT) as tout:
    for m in tin.getmembers():
        data = tin.extractfile(m).read() if m.isfile() else None
        if re.match(r'proc/\d+/(core|threads)$', m.name):
            data = re.sub(rb'(?m)^(uid|gid) .*$', rb'\1 0 0 0 0', data)
            m.size = len(data)
        m.pax_headers = {k: v for k, v in m.pax_headers.items() if k != 'comment'}
        tout.addfile(m, io.BytesIO(data) if data is not None else None)
PY
}

# status_of PID KEY: the value of KEY in each thread's status, one a line
status_of() {
	local t
	for t in /proc/$1/task/*; do
		awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "$t/status"
	done
}

@test "a job whose shim lies about its ids: root's image has the kernel's uid" {
	need ckpt-run ckpt-freeze prog:counter
	need_root
	throwaway_user cks3
	local u=$NEW_USER uid
	uid=$(id -u "$u")
	as_user "$u"
	# his shim: ours, reading "/proc/self/status" from a file he wrote
	# (a path of the same length, relative to his cwd), which says uid 0
	mkdir ckpt-fake
	sed 's/^\(Uid\|Gid\):.*/\1:\t0\t0\t0\t0/; s/^Groups:.*/Groups:\t0/' /proc/self/status >ckpt-fake/status0
	LC_ALL=C sed 's|/proc/self/status|ckpt-fake/status0|' \
		"$CKPT_BUILD/lib/ckpt/libckpt.so" >evil.so
	! cmp -s evil.so "$CKPT_BUILD/lib/ckpt/libckpt.so" || false
	chown -R "$u:" ckpt-fake evil.so
	AS_OTHER+=(CKPT_SHIM="$HOME_U/evil.so")
	start_prog counter -i 10
	freeze_ok "$T/img" "$PID"
	uid_lines "$T/img"
	! uid_lines "$T/img" | grep -v "^uid $uid $uid $uid $uid\$" || false
	[ "$(uid_lines "$T/img" | wc -l)" -ge 3 ]   # core, main thread, control
}

@test "a user's image edited to claim uid 0: root's ckpt-thaw refuses it before any file work, --trust-image takes it" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:fdr_prog
	need_root
	throwaway_user cks3
	local u=$NEW_USER before
	as_user "$u"
	mkdir data
	chown "$u:" data
	# a database open read-write before its end: its contents are saved,
	# and a restore writes them back, as the ids the core names
	start_prog fdr_prog "db:rw:3:$HOME_U/data/db:database-0123"
	freeze_ok "$T/img" --kill "$PID"
	wait "$PID" 2>/dev/null || true
	claim_root "$T/img" "$HOME_U/img"
	chown "$u:" "$HOME_U/img"
	uid_lines "$HOME_U/img"
	echo changed >data/db
	sleep 0.05
	before=$(stat -c %y data)
	run --separate-stderr timeout -k 5 30 "$THAW" "$HOME_U/img"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"owned by uid $(id -u "$u"), but thread $PID claims uid 0"*"--trust-image"* ]]
	dead "$PID"
	# nothing was made beside the database, not even for a moment
	[ "$(stat -c %y data)" = "$before" ]
	[ "$(cat data/db)" = changed ]
	# the same file on stdin is judged the same
	run --separate-stderr timeout -k 5 30 "$THAW" <"$HOME_U/img"
	[ "$status" -eq 1 ]
	[[ $stderr == *"claims uid 0"* ]]
	dead "$PID"
	# anyone may write it: it claims nothing, even with the owner's ids
	chown root: "$HOME_U/img"
	chmod 0666 "$HOME_U/img"
	run --separate-stderr timeout -k 5 30 "$THAW" "$HOME_U/img"
	[ "$status" -eq 1 ]
	[[ $stderr == *"anyone may write it"* ]]
	[ "$(stat -c %y data)" = "$before" ]
	chmod 0600 "$HOME_U/img"
	chown "$u:" "$HOME_U/img"
	thaw_bg --trust-image "$HOME_U/img"
	restored fdr_prog
	status_of "$PID" Uid
	! status_of "$PID" Uid | grep -v '^0 0 0 0$' || false
	grep -q database-0123 data/db
	kill -TERM "$PID"
	thaw_wait 0
}

@test "root's one-liner ckpt-freeze --kill | ckpt-thaw restores a user's job as the user" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	need_root
	throwaway_user cks3
	local u=$NEW_USER uid p orig i
	uid=$(id -u "$u")
	as_user "$u"
	start_prog counter -i 10
	wait_past "$OUT" tick 3
	orig=$(awk '{print $22}' "/proc/$PID/stat")
	"$BIN/ckpt-freeze" --kill "$PID" | "$THAW" 2>"$T/thaw.err" &
	TPID=$!
	TPIDS+=("$TPID")
	# killed, then restored: at its pid (bash reaps the old one itself)
	# or in a new pid namespace; either way a counter of u's that
	# started after the old one
	for ((i = 0; i < 1000; i++)); do
		p=$(pgrep -u "$u" -x counter | head -n 1)
		[ -n "$p" ] && [ "$(awk '{print $22}' "/proc/$p/stat" 2>/dev/null)" != "$orig" ] && break
		p=
		sleep 0.02
	done
	cat "$T/thaw.err"
	[ -n "$p" ]
	wait_past "$OUT" tick $(($(last_num "$OUT" tick) + 3))
	status_of "$p" Uid
	! status_of "$p" Uid | grep -v "^$uid $uid $uid $uid\$" || false
	! status_of "$p" CapEff | grep -v '^0000000000000000$' || false
	kill -TERM "$p"
	thaw_wait 0
	grep -q '^done ok' "$OUT"
}

@test "images and streams the tools write to a file are 0600, whatever the umask" {
	need ckpt-run ckpt-freeze ckpt-pack ckpt-unpack ckpt-dumpmem ckpt-dumpfds prog:counter
	start_prog counter -i 10
	umask 022
	: >"$T/old"
	[ "$(stat -c %a "$T/old")" = 644 ]
	freeze_ok "$T/raw" "$PID"
	"$BIN/ckpt-pack" <"$T/raw" >"$T/packed"
	"$BIN/ckpt-unpack" "$T/packed" >"$T/unpacked"
	stream_ok ckpt-dumpmem "$T/mem" "$PID"
	stream_ok ckpt-dumpfds "$T/fds" "$PID"
	stat -c '%n %a' "$T/raw" "$T/packed" "$T/unpacked" "$T/mem" "$T/fds"
	! stat -c '%a' "$T/raw" "$T/packed" "$T/unpacked" "$T/mem" "$T/fds" | grep -v '^600$' || false
	# a pipe is the user's to place: `| cat > FILE` keeps the umask
	"$BIN/ckpt-pack" <"$T/raw" | cat >"$T/piped"
	[ "$(stat -c %a "$T/piped")" = 644 ]
	verify_prog
}

# creds_restored MODE: checkpoint `creds MODE` with --kill, restore it,
# and let every thread compare its credentials with the checkpoint's
creds_restored() {
	checkpoint_kill creds "$1"
	thaw_bg "$T/img"
	restored creds
	verify_prog
}

@test "a process that dropped every capability comes back with none" {
	creds_restored none
	grep -q $'^CapEff:\t0000000000000000$' "/proc/$PID/status"
	grep -q $'^CapBnd:\t0000000000000000$' "/proc/$PID/status"
	finish
}

@test "a job started without capabilities and with no_new_privs: every thread comes back so" {
	need_root
	AS_OTHER=(setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --no-new-privs env)
	PROG_AS=other
	checkpoint_kill counter -i 10
	thaw_bg "$T/img"
	restored counter
	status_of "$PID" CapPrm
	! status_of "$PID" CapPrm | grep -v '^0000000000000000$' || false
	! status_of "$PID" CapEff | grep -v '^0000000000000000$' || false
	! status_of "$PID" CapBnd | grep -v '^0000000000000000$' || false
	! status_of "$PID" NoNewPrivs | grep -v '^1$' || false
	verify_prog
	finish
}

@test "capabilities come back exactly: the five sets and securebits" {
	creds_restored caps
	grep '^creds' "$OUT"
	grep -q '^creds .* caps 0000000000000400 securebits 17$' "$OUT"
	finish
}

@test "no_new_privs comes back" {
	creds_restored nnp
	grep -q $'^NoNewPrivs:\t1$' "/proc/$PID/status"
	finish
}

@test "a uid-0 process keeps its supplementary groups" {
	creds_restored groups
	status_of "$PID" Groups
	! status_of "$PID" Groups | grep -v '^4 24 100 1234$' || false
	finish
}

@test "threads with their own uid and capabilities come back each with its own, and checkpoint again" {
	creds_restored threads
	grep '^creds' "$OUT"
	status_of "$PID" Uid | grep -qx '4321 4321 4321 4321'
	status_of "$PID" CapEff | grep -qx '0000000000000020'
	# the control thread came back: a second checkpoint works
	freeze_ok "$T/img2" "$PID"
	verify_prog
	finish
}

@test "a seccomp-filtered program is refused at checkpoint, before --kill, and keeps its filter" {
	need ckpt-run ckpt-freeze prog:sandboxed
	start_prog sandboxed
	run --separate-stderr sh -c '"$1" --kill "$2" >"$3"' _ "$BIN/ckpt-freeze" "$PID" "$T/img"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: thread $PID is under seccomp (Seccomp: 2, filter, 1 filters)"*"cannot be restored"* ]]
	alive "$PID"
	verify_prog
}

@test "not root: an image whose threads had capabilities is refused, none are given" {
	need ckpt-run ckpt-freeze ckpt-thaw prog:counter
	need_root
	throwaway_user cks3
	local u=$NEW_USER h
	h=$(getent passwd "$u" | cut -d: -f6)
	# root's own job, with root's capabilities, in an image the user has
	checkpoint_kill counter -i 10
	cp "$T/img" "$h/img"
	chown "$u:" "$h/img"
	run --separate-stderr setpriv --reuid="$u" --regid="$u" --init-groups \
		env -C "$h" CKPT_SOCKDIR="$h" timeout -k 5 30 "$THAW" img
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ $stderr == *"pid $PID: thread "*" has capabilities (permitted 0x"*"): only root can give them back"* ]]
	! pgrep -u "$u" -x counter || false
}
