/* sockdir.h - the rule a control-socket directory must meet, once for
 * the shim (preload/sockdir.c) and the tools (lib/ctl.c).
 *
 * Header only and libc-free: the shim uses it where only raw syscalls
 * may run.  Both sides open the directory with openat2 and
 * RESOLVE_NO_SYMLINKS (no symlink anywhere on the way), check the open
 * fd with this rule, and then reach the socket through that fd
 * (/proc/self/fd/N/PID.sock), never through the path again: what was
 * checked is what is used. */
#ifndef CKPT_SOCKDIR_H
#define CKPT_SOCKDIR_H
#include <sys/stat.h>

/* Why a directory of this mode and owner may not hold the sockets of a
 * process whose euid is `want`, or 0 when it may.  Only the owner of a
 * 0700 directory (and root) can put or replace a socket in it, so a
 * socket found there was bound by a process of that uid, or by root
 * (root's directory: a daemon that bound as root, then dropped to
 * `want`; the peer check says it is the process). */
static inline const char *sockdir_fault(unsigned mode, unsigned uid, unsigned want)
{
	if (!S_ISDIR(mode))
		return "not a directory";
	if (uid != want && uid != 0)
		return "owned by another uid";
	if (mode & 077)
		return "open to group or others (mode not 0700)";
	return 0;
}

#endif
