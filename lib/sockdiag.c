/* sockdiag.c - a sock_diag query, its answers walked (sockdiag.h) */
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockdiag.h"

/* One batch of answers: 1 to read on, else what the query returns.
 * A dump goes on until NLMSG_DONE; NLMSG_DONE's own payload (an int)
 * is no answer. */
static int batch_walk(const char *buf, ssize_t n, int *r,
		      int (*got)(const struct nlmsghdr *, void *), void *arg)
{
	const struct nlmsghdr *nh;

	for (nh = (const void *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_DONE)
			return *r = 0, 0;
		if (nh->nlmsg_type == NLMSG_ERROR)
			return *r = -1, 0;
		if ((*r = got(nh, arg)) != 0)
			return 0;
	}
	return 1;
}

/* The socket of the questions about one socket (no NLM_F_DUMP), kept
 * for the next: each is answered whole by one message, so nothing is
 * left in it, and a dumping tool asks one for each of its 200 TCP
 * sockets.  A dump, which got may leave unread, has a socket of its
 * own.  By pid: a forked stage makes its own. */
static struct {
	int fd;
	pid_t pid;
} one;

static int socket_for(int dump)
{
	if (!dump && one.pid == getpid() && one.pid)
		return one.fd;
	return socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
}

/* s, done with: kept when it answered a question about one socket */
static void socket_done(int s, int dump, int ok)
{
	if (dump || !ok) {
		if (!dump && one.pid == getpid() && one.fd == s)
			one.pid = 0;   /* something may be left in it */
		close(s);
		return;
	}
	if (one.pid != getpid()) {
		one.fd = s;
		one.pid = getpid();
	}
}

int sockdiag_query(const void *req, size_t len,
		   int (*got)(const struct nlmsghdr *, void *), void *arg)
{
	/* static: a dumping tool is one thread, and 32 kB answers take
	 * a few hundred sockets a batch */
	static char buf[32768];
	int dump = !!(((const struct nlmsghdr *)req)->nlmsg_flags & NLM_F_DUMP);
	int s = socket_for(dump), r = -1, sent = 0;
	ssize_t n = -1;

	if (s < 0)
		return -1;
	if (send(s, req, len, 0) == (ssize_t)len) {
		sent = 1;
		do
			n = recv(s, buf, sizeof buf, 0);
		while (n > 0 && batch_walk(buf, n, &r, got, arg) && dump);
	}
	if (n <= 0)   /* no answer, or a dump cut short */
		r = -1;
	socket_done(s, dump, sent && n > 0);
	return r;
}
