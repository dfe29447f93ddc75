/* fdhome - a program whose own fds fill the numbers where the shim
 * keeps its fds (992 and up, under a soft RLIMIT_NOFILE of 1024 or
 * more), put there with dup2 as a program may: the shim's listening
 * socket is replaced under it.
 *
 * usage: fdhome
 *
 * Makes a pipe, and puts its write end at every fd from 960 to 1087
 * (the odd ones FD_CLOEXEC), raising RLIMIT_NOFILE's soft limit to 2048
 * if it must.  Prints "pid N", "ready fdhome", then waits.  SIGUSR1:
 * check that every one of them is still the pipe's write end (a byte
 * written through it comes out of the read end) with its FD_CLOEXEC,
 * print "verify ok"; SIGTERM: the same, "done ok", exit 0.  A
 * mismatch: "FAIL fd N: ...", exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define FROM 960
#define TO 1088

static int rd;   /* the pipe's read end */

static int fd_check(int fd)
{
	struct stat a, b;
	char c = 0;
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || !!(fl & FD_CLOEXEC) != (fd & 1)) {
		printf("FAIL fd %d: F_GETFD %d, want FD_CLOEXEC %d\n", fd, fl, fd & 1);
		return -1;
	}
	if (fstat(fd, &a) < 0 || fstat(rd, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		printf("FAIL fd %d: not the pipe's write end any more\n", fd);
		return -1;
	}
	if (write(fd, "x", 1) != 1 || read(rd, &c, 1) != 1 || c != 'x') {
		printf("FAIL fd %d: a byte written does not come out of the pipe\n", fd);
		return -1;
	}
	return 0;
}

static int verify(void)
{
	int fd;

	for (fd = FROM; fd < TO; fd++)
		if (fd_check(fd) < 0)
			return -1;
	return 0;
}

int main(void)
{
	struct rlimit rl;
	int p[2], fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (pipe(p) < 0) {
		perror("fdhome: pipe");
		return 1;
	}
	rd = p[0];
	for (fd = FROM; fd < TO; fd++)
		if (dup3(p[1], fd, fd & 1 ? O_CLOEXEC : 0) < 0) {
			fprintf(stderr, "fdhome: dup3 onto %d: %m\n", fd);
			return 1;
		}
	close(p[1]);
	return serve_verify("fdhome", verify);
}
