/* hifd - fds above 1024, one close-on-exec and one not, and one of
 * each below, for FD_CLOEXEC across a restore.
 *
 * usage: hifd
 *
 * Opens /dev/null at fds 5 (FD_CLOEXEC), 6 (not), 1500 (FD_CLOEXEC)
 * and 1501 (not), raising RLIMIT_NOFILE's soft limit if it must.
 * Prints "pid N", "ready hifd", then waits.  SIGUSR1: check each fd's
 * FD_CLOEXEC, print "verify ok"; SIGTERM: the same, "done ok", exit 0.
 * A mismatch: "FAIL fd N: ...", exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prog.h"

static const struct { int fd, cloexec; } want[] = {
	{ 5, 1 }, { 6, 0 }, { 1500, 1 }, { 1501, 0 },
};
#define N (sizeof want / sizeof *want)

static int verify(void)
{
	unsigned i;
	int fl;

	for (i = 0; i < N; i++) {
		fl = fcntl(want[i].fd, F_GETFD);
		if (fl < 0 || !!(fl & FD_CLOEXEC) != want[i].cloexec) {
			printf("FAIL fd %d: F_GETFD %d, want FD_CLOEXEC %d\n", want[i].fd, fl,
			       want[i].cloexec);
			return -1;
		}
	}
	return 0;
}

int main(void)
{
	struct rlimit rl;
	unsigned i;
	int fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (i = 0; i < N; i++) {
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0 && fd != want[i].fd) {
			if (dup3(fd, want[i].fd, 0) < 0)
				fd = -1;
			close(fd);
		}
		if (fd < 0 || fcntl(want[i].fd, F_SETFD, want[i].cloexec ? FD_CLOEXEC : 0) < 0) {
			perror("hifd: /dev/null");
			return 1;
		}
	}
	return serve_verify("hifd", verify);
}
