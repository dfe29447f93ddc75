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
 * socket found there was bound by a process of that uid. */
static inline const char *sockdir_fault(unsigned mode, unsigned uid, unsigned want)
{
	if (!S_ISDIR(mode))
		return "not a directory";
	if (uid != want)
		return "owned by another uid";
	if (mode & 077)
		return "open to group or others (mode not 0700)";
	return 0;
}

/* The name of a process's control socket: "PID.sock" in its job's pid
 * namespace (the one ckpt-run started it in: $CKPT_PIDNS), where
 * nsino is 0; "PID.INO.sock" in any other, INO the inode of the pid
 * namespace it runs in (/proc/self/ns/pid), PID its pid there.  So two
 * processes of one pid in two namespaces (an image restored in a pid
 * namespace of its own while its original runs) each have their own,
 * and a tool that followed a job into its namespace (nsjoin.h) looks
 * for the long name first.  Into out (SOCKDIR_NAME_MAX bytes,
 * 0-terminated): the length. */
#define SOCKDIR_NAME_MAX 48
static inline unsigned sockdir_name(char *out, unsigned long pid, unsigned long nsino)
{
	unsigned long parts[2] = { pid, nsino }, v;
	unsigned n = 0, i, k, d;

	for (i = 0; i < (nsino ? 2u : 1u); i++) {
		for (v = parts[i], d = 1; v /= 10; d++)
			;
		for (k = d, v = parts[i]; k-- > 0; v /= 10)
			out[n + k] = '0' + v % 10;
		n += d;
		out[n++] = '.';
	}
	out[n++] = 's', out[n++] = 'o', out[n++] = 'c', out[n++] = 'k', out[n] = 0;
	return n;
}

/* name is "PID.sock" (*nsino 0) or "PID.INO.sock" (sockdir_name): 0
 * with *pid and *nsino, else -1 */
static inline int sockdir_name_parse(const char *name, unsigned long *pid, unsigned long *nsino)
{
	unsigned long v[2] = { 0, 0 };
	unsigned i, digits;

	for (i = 0; i < 2; i++) {
		for (digits = 0; *name >= '0' && *name <= '9' && digits < 19; name++, digits++)
			v[i] = v[i] * 10 + (unsigned long)(*name - '0');
		if (!digits || *name++ != '.')
			return -1;
		if (name[0] == 's' && name[1] == 'o' && name[2] == 'c' && name[3] == 'k' &&
		    !name[4]) {
			*pid = v[0];
			*nsino = i ? v[1] : 0;
			return v[0] > 0 && v[0] <= 0x7fffffff && (!i || v[1]) ? 0 : -1;
		}
	}
	return -1;
}

#endif
