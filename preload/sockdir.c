/* sockdir.c - the shim's socket directory: opened checked, and swept
 * of the sockets of processes that are gone.
 *
 * Runs in the constructor, the fork child and the control thread, also
 * right after a restore, when every lock a frozen thread held is still
 * held: rawsys.h calls and static storage only.  No malloc, no stdio, no
 * opendir, no errno. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>      /* RENAME_NOREPLACE */
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "shim.h"
#include "sockdir.h"
#include "rawsys.h"

/* dir, opened with no symlink on the way, if it is ours and 0700
 * (lib/sockdir.h); an O_PATH fd, or -errno with *why saying what is
 * wrong (O_PATH: another uid's 0700 directory still opens, and is
 * refused for what it is) */
int sockdir_open(const char *dir, const char **why)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	struct stat st;
	int d = sys_openat2(AT_FDCWD, dir, &how, sizeof how);

	*why = 0;
	if (d == -ELOOP)
		*why = "a symlink on the way";
	if (d < 0)
		return d;
	if (sys_fstat(d, &st) < 0)
		*why = "cannot stat it";
	else
		*why = sockdir_fault(st.st_mode, st.st_uid, sys_geteuid());
	if (*why) {
		sys_close(d);
		return -EPERM;
	}
	return d;
}

unsigned long sockdir_pidns(void)
{
	struct stat st;
	long fd = sys_open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC, 0);
	unsigned long ino = 0;

	if (fd < 0)
		return 0;
	if (sys_fstat(fd, &st) == 0)
		ino = st.st_ino;
	sys_close(fd);
	return ino;
}

/* Whether a process listens behind the socket name in d.  Only a
 * connect can tell across pid namespaces: from a restored process in
 * a new one, every pid outside looks gone to kill(). */
static int sock_live(int d, const char *name)
{
	static struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char pfx[] = "/proc/self/fd/";
	size_t n = sizeof pfx - 1, k = 0;
	int s = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	long r;

	if (s < 0)
		return 1;  /* cannot tell: keep it */
	memcpy(sa.sun_path, pfx, n);
	n += fmt_ulong(sa.sun_path + n, d);
	sa.sun_path[n++] = '/';
	while (name[k] && n < sizeof sa.sun_path - 1)
		sa.sun_path[n++] = name[k++];
	sa.sun_path[n] = 0;
	r = sys_connect(s, &sa, sizeof sa);
	sys_close(s);
	return r != -ECONNREFUSED && r != -ENOENT;
}

/* Whether pid, of the pid namespace ours (1) or another, may be gone:
 * kill() tells only of our own namespace's pids */
static int maybe_gone(unsigned long pid, int ours)
{
	return !ours || sys_kill(pid, 0) == -ESRCH;
}

/* Remove name, the socket of pid, if nobody listens behind it.  It is
 * moved aside first and asked again: a process that took the pid
 * meanwhile may have bound its own socket under that name, and that
 * one must stay. */
static void stale_remove(int d, const char *name, unsigned long pid, int ours)
{
	static char tmp[32] = ".stale.";

	tmp[7 + fmt_ulong(tmp + 7, sys_getpid())] = 0;
	if (sys_renameat2(d, name, d, tmp, 0) < 0)
		return;
	if ((maybe_gone(pid, ours) && !sock_live(d, tmp)) ||
	    sys_renameat2(d, tmp, d, name, RENAME_NOREPLACE) < 0)
		sys_unlinkat(d, tmp, 0);
}

/* A process that _exit()s, or is killed, leaves its N.sock behind.
 * Every bind sweeps the directory, so it holds the sockets of live
 * processes and of those that died since the last bind, not a pile.
 * kill() picks the candidates of our pid namespace cheaply, every
 * other namespace's name is one (a plain name is the job's namespace's,
 * job_ns); a connect (refused: nobody listens) decides.  own: the name
 * just bound. */
void sockdir_sweep(int d, const char *own, unsigned long job_ns)
{
	static char buf[8192];
	struct dirent64_raw *e;
	long got, off;
	unsigned long pid, ns, me = sockdir_pidns();
	int fd = sys_openat(d, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0)
		return;
	while ((got = sys_getdents64(fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < got; off += e->reclen) {
			e = (struct dirent64_raw *)(buf + off);
			if (sockdir_name_parse(e->name, &pid, &ns) == 0 &&
			    strcmp(e->name, own) && maybe_gone(pid, (ns ? ns : job_ns) == me) &&
			    !sock_live(d, e->name))
				stale_remove(d, e->name, pid, (ns ? ns : job_ns) == me);
		}
	}
	sys_close(fd);
}
