/* procdir.c - the numbered entries of a /proc directory (task/, fd/).
 *
 * Runs while threads are frozen: rawsys.h calls and a static buffer only.
 * Callers are the control thread alone, or the fork handler of a child
 * whose control thread is not started yet: the buffer is never shared. */
#include <fcntl.h>
#include <stdint.h>

#include "shim.h"
#include "rawsys.h"

/* the number a name spells, or -1 if it is not all digits */
static int name_number(const char *p)
{
	int n = 0;

	if (!*p)
		return -1;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n;
}

/* the entries from pos on (the directory's offset: lseek), to fn
 * until it says stop (returns nonzero): 0 or -errno */
static int entries(const char *path, long pos, int (*fn)(int n, int dirfd, void *arg), void *arg)
{
	static char buf[16384];
	int fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), n, stop = 0;
	long got = 0, off;

	if (fd < 0)
		return fd;
	if (pos && sys_lseek(fd, pos, 0 /* SEEK_SET */) < 0)
		sys_lseek(fd, 0, 0);   /* from the start: fn skips what it does not want */
	while (!stop && (got = sys_getdents64(fd, buf, sizeof buf)) > 0) {
		for (off = 0; !stop && off < got; off += ((struct dirent64_raw *)(buf + off))->reclen) {
			n = name_number(((struct dirent64_raw *)(buf + off))->name);
			if (n >= 0)
				stop = fn(n, fd, arg);
		}
	}
	sys_close(fd);
	return got < 0 ? (int)got : 0;
}

struct each {
	void (*fn)(int n, int dirfd, void *arg);
	void *arg;
};

static int each_one(int n, int dirfd, void *arg)
{
	struct each *e = arg;

	e->fn(n, dirfd, e->arg);
	return 0;
}

int procdir_each(const char *path, void (*fn)(int n, int dirfd, void *arg), void *arg)
{
	struct each e = { fn, arg };

	return entries(path, 0, each_one, &e);
}

int procdir_fds_from(int from, int (*fn)(int n, int dirfd, void *arg), void *arg)
{
	/* the kernel's offset in /proc/PID/fd is the fd number + 2 (after
	 * "." and "..": fs/proc/fd.c) */
	return entries("/proc/self/fd", from > 0 ? from + 2L : 0, fn, arg);
}
