/* fid_prog - kernel state a restore must give back exactly, or the
 * program blocks forever (t/fidelity.bats, issue 17).
 *
 * usage: fid_prog timerfd | missed | stream | dgram | shut | inflight
 *
 * timerfd: a CLOCK_MONOTONIC timerfd, first expiry after 20 ms, then
 *          every 1000 s; waits until it has expired once, unread.
 *          Check: it is readable at once, read() gives 1, and it is
 *          still armed with its 1000 s interval: "timer ticks=N
 *          interval=S armed=1".
 * missed:  a CLOCK_MONOTONIC timerfd every 50 ms, left unread for
 *          300 ms (5 periods or more missed).  Check: the first read
 *          gives 5 or more: "missed ticks>=5".
 * stream:  a unix stream socketpair (a, b); "from-a:0123456789" queued
 *          to b, "from-b" queued to a.  Check: each end reads exactly
 *          its bytes without blocking, then has nothing more: "stream
 *          b=BYTES a=BYTES".
 * dgram:   a unix dgram socketpair; three messages of 1, 7 and 300
 *          bytes queued to b.  Check: b gets them back one at a time
 *          with their boundaries, then nothing: "dgram msgs=3 lens=1,7,300".
 * shut:    a unix stream socketpair; "tail-bytes" queued to b, then a
 *          shut down for writing.  Check: b reads the bytes, then its
 *          end of file at once; a write on a fails with EPIPE: "shut
 *          b=tail-bytes eof=1 epipe=1".
 * inflight: a unix stream socketpair; "x" with the fd of a pipe
 *          (SCM_RIGHTS) queued to b.  Check: b receives one fd: "inflight
 *          fds=1".
 *
 * Prints "pid N", "ready fid_prog", waits.  SIGUSR1 or SIGTERM: the
 * check (once: it reads what was queued), then "verify ok" or "done
 * ok".  A mismatch: "FAIL ..." and exit 1 (a wait of 1 s stands for
 * the read that would block forever). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include "prog.h"

static int fds[2];
static const char *mode;

static void fail(const char *what)
{
	printf("FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

/* what a blocking read would wait for: readable within 1 s */
static void readable(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	errno = 0;
	if (poll(&p, 1, 1000) != 1 || !(p.revents & POLLIN)) {
		errno = ETIMEDOUT;
		fail(what);
	}
}

static void timer_set(void)
{
	struct itimerspec its = { .it_value = { 0, 20000000 }, .it_interval = { 1000, 0 } };

	if ((fds[0] = timerfd_create(CLOCK_MONOTONIC, 0)) < 0 ||
	    timerfd_settime(fds[0], 0, &its, NULL) < 0)
		fail("timerfd");
	readable(fds[0], "timerfd never expired");
}

static void timer_check(void)
{
	struct itimerspec its;
	uint64_t n;

	readable(fds[0], "timerfd: no tick pending");
	if (read(fds[0], &n, sizeof n) != sizeof n)
		fail("timerfd read");
	if (timerfd_gettime(fds[0], &its) < 0)
		fail("timerfd_gettime");
	printf("timer ticks=%llu interval=%lld armed=%d\n", (unsigned long long)n,
	       (long long)its.it_interval.tv_sec, its.it_value.tv_sec || its.it_value.tv_nsec);
	errno = 0;
	if (n != 1 || its.it_interval.tv_sec != 1000 || its.it_interval.tv_nsec ||
	    (!its.it_value.tv_sec && !its.it_value.tv_nsec))
		fail("timerfd state");
}

static void missed_set(void)
{
	struct itimerspec its = { .it_value = { 0, 50000000 }, .it_interval = { 0, 50000000 } };
	struct timespec ts = { 0, 300000000 };

	if ((fds[0] = timerfd_create(CLOCK_MONOTONIC, 0)) < 0 ||
	    timerfd_settime(fds[0], 0, &its, NULL) < 0)
		fail("timerfd");
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void missed_check(void)
{
	uint64_t n;

	readable(fds[0], "timerfd: no tick pending");
	if (read(fds[0], &n, sizeof n) != sizeof n)
		fail("timerfd read");
	printf("missed ticks%s5\n", n >= 5 ? ">=" : "<");
	errno = 0;
	if (n < 5)
		fail("timerfd: missed periods lost");
}

static void stream_set(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 ||
	    write(fds[0], "from-a:0123456789", 17) != 17 || write(fds[1], "from-b", 6) != 6)
		fail("stream socketpair");
}

/* all that fd holds, read without blocking once it is readable */
static void drain_word(int fd, const char *name, const char *want)
{
	char buf[256];
	ssize_t n;

	readable(fd, name);
	n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0)
		fail(name);
	printf(" %s=", name);
	put_bytes(buf, n);
	errno = 0;
	if ((size_t)n != strlen(want) || memcmp(buf, want, n))
		fail("stream bytes differ");
	if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("stream: more than was queued");
}

static void stream_check(void)
{
	printf("stream");
	drain_word(fds[1], "b", "from-a:0123456789");
	drain_word(fds[0], "a", "from-b");
	printf("\n");
}

static const size_t dlens[] = { 1, 7, 300 };

static void dgram_set(void)
{
	char buf[300];
	size_t i;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) < 0)
		fail("dgram socketpair");
	for (i = 0; i < 3; i++) {
		memset(buf, 'a' + i, dlens[i]);
		if (send(fds[0], buf, dlens[i], 0) != (ssize_t)dlens[i])
			fail("dgram send");
	}
}

static void dgram_check(void)
{
	char buf[512];
	ssize_t n;
	size_t i, j;

	printf("dgram msgs=3 lens=");
	for (i = 0; i < 3; i++) {
		readable(fds[1], "dgram: message missing");
		if ((n = recv(fds[1], buf, sizeof buf, MSG_DONTWAIT)) < 0)
			fail("dgram recv");
		printf("%s%zd", i ? "," : "", n);
		errno = 0;
		for (j = 0; j < (size_t)n; j++)
			if (buf[j] != (char)('a' + i))
				fail("dgram bytes differ");
		if ((size_t)n != dlens[i])
			fail("dgram boundaries differ");
	}
	printf("\n");
	if (recv(fds[1], buf, sizeof buf, MSG_DONTWAIT) >= 0 || errno != EAGAIN)
		fail("dgram: more than was queued");
}

static void shut_set(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 ||
	    write(fds[0], "tail-bytes", 10) != 10 || shutdown(fds[0], SHUT_WR) < 0)
		fail("shut socketpair");
}

static void shut_check(void)
{
	char buf[64];
	ssize_t n;

	readable(fds[1], "shut: bytes missing");
	if ((n = recv(fds[1], buf, sizeof buf, MSG_DONTWAIT)) < 0)
		fail("shut recv");
	printf("shut b=");
	put_bytes(buf, n);
	n = recv(fds[1], buf, sizeof buf, MSG_DONTWAIT);
	printf(" eof=%d", n == 0);
	errno = 0;
	n = send(fds[0], "more", 4, MSG_DONTWAIT | MSG_NOSIGNAL);
	printf(" epipe=%d\n", n < 0 && errno == EPIPE);
	if (n >= 0 || errno != EPIPE)
		fail("shut: a could write");
}

static union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } ctl;

static void inflight_set(void)
{
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof ctl.b };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	int p[2];

	if (pipe(p) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0)
		fail("inflight socketpair");
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &p[0], sizeof(int));
	if (sendmsg(fds[0], &m, 0) != 1)
		fail("inflight sendmsg");
	close(p[0]);
}

static void inflight_check(void)
{
	char x;
	struct iovec iov = { &x, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof ctl.b };
	struct cmsghdr *c;
	int n = 0;

	readable(fds[1], "inflight: message missing");
	if (recvmsg(fds[1], &m, MSG_DONTWAIT) != 1)
		fail("inflight recvmsg");
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_type == SCM_RIGHTS)
			n += (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	printf("inflight fds=%d\n", n);
	errno = 0;
	if (n != 1)
		fail("inflight: no fd");
}

int main(int argc, char **argv)
{
	int checked = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2)
		return fprintf(stderr, "usage: fid_prog timerfd|missed|stream|dgram|shut|inflight\n"), 2;
	mode = argv[1];
	signals_init();
	if (!strcmp(mode, "timerfd"))
		timer_set();
	else if (!strcmp(mode, "missed"))
		missed_set();
	else if (!strcmp(mode, "stream"))
		stream_set();
	else if (!strcmp(mode, "dgram"))
		dgram_set();
	else if (!strcmp(mode, "shut"))
		shut_set();
	else if (!strcmp(mode, "inflight"))
		inflight_set();
	else
		return fprintf(stderr, "fid_prog: %s: no such mode\n", mode), 2;
	printf("pid %d\nready fid_prog\n", getpid());
	for (;;) {
		wait_request();
		if (!checked++) {
			if (!strcmp(mode, "timerfd"))
				timer_check();
			else if (!strcmp(mode, "missed"))
				missed_check();
			else if (!strcmp(mode, "stream"))
				stream_check();
			else if (!strcmp(mode, "dgram"))
				dgram_check();
			else if (!strcmp(mode, "shut"))
				shut_check();
			else
				inflight_check();
		}
		if (verified())
			return 0;
	}
}
