/* pidfdk - a pidfd that a restore must give back on the same process
 * (t/fdkinds.bats, issue 11's new fd kind).
 *
 * usage: pidfdk PID | pidfdk self
 *
 * Opens a pidfd (PIDFD_NONBLOCK) on PID, or on itself, and prints
 * "open pidfd FD", "pid N", "ready pidfdk".  On SIGUSR1: "pidfd fd=FD
 * pid=P alive=1|0 nonblock=1|0", from the fd's fdinfo (Pid:), a poll
 * (readable once the process has ended) and F_GETFL; FAIL when the fd
 * is not a pidfd on PID.  SIGTERM: the same, then "done ok". */
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static int pidfd = -1;
static long target;

/* the Pid: line of the fd's fdinfo, or -2 */
static long fdinfo_pid(int fd)
{
	char path[64], buf[4096], *p;
	ssize_t n;
	int f;

	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	if ((f = open(path, O_RDONLY)) < 0)
		return -2;
	n = read(f, buf, sizeof buf - 1);
	close(f);
	buf[n > 0 ? n : 0] = 0;
	p = strstr(buf, "\nPid:");
	return p ? strtol(p + 5, NULL, 10) : -2;
}

static int verify(void)
{
	struct pollfd pf = { pidfd, POLLIN, 0 };
	char link[64] = "";
	char path[64];
	long pid;

	snprintf(path, sizeof path, "/proc/self/fd/%d", pidfd);
	if (readlink(path, link, sizeof link - 1) < 0 || strcmp(link, "anon_inode:[pidfd]")) {
		printf("FAIL pidfd fd=%d is %s\n", pidfd, link);
		return -1;
	}
	pid = fdinfo_pid(pidfd);
	printf("pidfd fd=%d pid=%ld alive=%d nonblock=%d\n", pidfd, pid,
	       poll(&pf, 1, 0) == 0, !!(fcntl(pidfd, F_GETFL) & O_NONBLOCK));
	if (pid != target && pid != -1) {
		printf("FAIL pidfd fd=%d on pid %ld, not %ld\n", pidfd, pid, target);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: pidfdk PID|self\n"), 2;
	target = strcmp(argv[1], "self") ? atol(argv[1]) : (long)getpid();
	pidfd = syscall(SYS_pidfd_open, (pid_t)target, O_NONBLOCK);
	if (pidfd < 0)
		return printf("FAIL pidfd_open %ld\n", target), 1;
	printf("open pidfd %d\n", pidfd);
	return serve_verify("pidfdk", verify);
}
