#!/usr/bin/env bats
# Root restoring a user's job that owns a pseudo-terminal pair (issue
# 13; formats/fds.md, "Terminals"; lib/ptyplan.c).  The attacker is a
# throwaway user ckpN: it runs t/progs/ptyjob under ckpt-run and
# checkpoints it itself with --kill (a genuine image, its own file),
# then may edit the image.  Root runs ckpt-thaw on it.  What must hold:
# the pair root makes is the user's (its master opened by the job's
# helper, so the new slave is the user's), a slave is only ever opened
# from the job's own new master, never by a path as root: a line that
# names root's terminal reaches it only as the user could (not at
# all), and no process group outside the job becomes a terminal's
# foreground.  Runs as root.

load helpers
load thaw

setup() {
	thaw_setup
	need_root
	need ckpt-run ckpt-freeze ckpt-thaw prog:ptyjob
	throwaway_user ckp
	user_own_dir
}

# user_job: as the user, ptyjob under ckpt-run and its own ckpt-freeze
# --kill of it into $D/img (user_checkpoint).  Sets PID (the pair's
# master), CPID (the session leader on its slave), OUT.
user_job() {
	user_checkpoint "$PROGS/ptyjob"
	CPID=$(tar xOf "$D/img" ckpt/manifest | awk '$1 == "ctty" {print $2}')
	[ -n "$CPID" ]
}

# craft MEMBER SED: the image's MEMBER edited by SED, as $D/crafted,
# the user's file (its word, not root's)
craft() {
	img_craft "$D/img" "$1" "$2" "$D/crafted"
	chown "$NEW_USER:" "$D/crafted"
}

@test "security-pty: root restores a user's job: the new pair's slave is the user's, and the job checks out" {
	user_job
	thaw_bg "$D/img"
	restored ptyjob
	[ "$(stat -L -c %U "/proc/$CPID/fd/0")" = "$NEW_USER" ]
	[ "$(stat -L -c %t "/proc/$CPID/fd/0")" != 5 ]   # a slave, not /dev/tty
	verify_prog "$PID" "$OUT"
	grep -x 'child sid=leader ctty=leader fg=self in=typed\\x20line\\x0a then=eof-line more=none' "$OUT"
	finish
}

@test "security-pty: a slave line edited to name root's terminal is opened as the user, refused, fd and path named, and nothing runs" {
	root_pty   # first: the job's pair has another index
	user_job
	# fd 9 of the session leader: a slave of root's pty, no master in the job
	craft "proc/$CPID/fds" "/^fd 0 pts /{p;s/^fd 0 /fd 9 /;s/ rdev=[0-9]+:[0-9]+ pty=[0-9]+ / rdev=136:$RPTY pty=$RPTY /;s/ dup=0//;s|path=/dev/pts/[0-9]+|path=/dev/pts/$RPTY|}"
	thaw_fails "pid $CPID: fd 9: pts /dev/pts/$RPTY: Permission denied" "$D/crafted"
	dead "$CPID"
	[ "$(stat -c '%u %a' "/dev/pts/$RPTY")" = "0 600" ]
}

@test "security-pty: a master line edited so that a root session's group becomes the foreground: refused by the kernel, nothing runs" {
	root_pty
	user_job
	local rpg
	rpg=$(awk '{print $2}' "$T/rpty")
	craft "proc/$PID/fds" "s/ fg=[0-9]+ / fg=$rpg /"
	thaw_fails "pid $CPID: fd 0: make it the controlling terminal of its session, its foreground group $rpg:" "$D/crafted"
	dead "$CPID"
	# root's terminal's foreground group is still root's own
	[ "$(awk '{ sub(/.*\) /, ""); print $6 }' "/proc/$RHOLD/stat")" = "$rpg" ]
}

@test "security-pty: a ctty line naming a process that leads no session is refused as the manifest is read" {
	user_job
	craft ckpt/manifest "s/^ctty $CPID /ctty $PID /"
	thaw_fails "member ckpt/manifest line" "$D/crafted"
	[[ $stderr == *"not a session leader of the image"* ]]
	dead "$CPID"
}
