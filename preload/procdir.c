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

int procdir_each(const char *path, void (*fn)(int n, int dirfd, void *arg), void *arg)
{
	static char buf[16384];
	int fd = sys_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), n;
	long got, off;

	if (fd < 0)
		return fd;
	while ((got = sys_getdents64(fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < got; off += ((struct dirent64_raw *)(buf + off))->reclen) {
			n = name_number(((struct dirent64_raw *)(buf + off))->name);
			if (n >= 0)
				fn(n, fd, arg);
		}
	}
	sys_close(fd);
	return got < 0 ? (int)got : 0;
}
