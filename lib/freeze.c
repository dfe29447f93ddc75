/* freeze.c - freeze, thaw, and waiting for a stream's reader */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "freeze.h"
#include "io.h"

int freeze_open(pid_t pid, unsigned timeout_ms)
{
	struct ckpt_rep rep;
	int s = ctl_open(pid), r;

	if (s < 0)
		return -1;
	r = ctl_simple(s, CKPT_OP_FREEZE, timeout_ms, &rep);
	if (r == -ETIMEDOUT)
		warn("pid %d: thread %llu did not stop for the freeze signal in %u ms (signal blocked?); nothing stays frozen",
		     (int)pid, (unsigned long long)rep.arg, timeout_ms ? timeout_ms : 2000);
	else if (r == -EBUSY)
		warn("pid %d: already frozen by another checkpoint", (int)pid);
	else if (r < 0)
		warnerr(r, "pid %d: freeze:", (int)pid);
	if (r < 0) {
		close(s);
		return -1;
	}
	return s;
}

int freeze_thaw(int sock, pid_t pid)
{
	int r = ctl_simple(sock, CKPT_OP_THAW, 0, NULL);

	close(sock);
	if (r < 0) {
		warnerr(r, "pid %d: thaw:", (int)pid);
		return -1;
	}
	return 0;
}

int drain_wait(int fd)
{
	struct timespec ts = { 0, 200000 };
	struct stat st;
	int n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode))
		return 0;
	for (;;) {
		if (ioctl(fd, FIONREAD, &n) < 0)
			return -errno;
		if (n == 0)
			return 0;
		/* a reader that went away leaves the bytes unread */
		struct pollfd p = { .fd = fd, .events = 0 };
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
			return -EPIPE;
		nanosleep(&ts, NULL);
	}
}

int control_fd_parse(const char *arg)
{
	char *end;
	long fd = strtol(arg, &end, 10);
	struct stat st;

	if (*arg == 0 || *end || fd < 0 || fd > 1 << 20) {
		warn("--control %s: not an fd number", arg);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		warn("--control %s: not an open socket", arg);
		return -1;
	}
	return fd;
}

void stdout_check(void)
{
	int r;

	if (isatty(1))
		die("stdout: is a terminal; send the stream to a file or a pipe");
	if ((r = fd_private(1)) < 0)
		dieerr(r, "stdout: make it 0600:");
	/* a reader that goes away must give EPIPE, not kill us while the
	 * process is frozen */
	signal(SIGPIPE, SIG_IGN);
}
