/* tcpwait.c - TCP clients whose connection waited in a backlog,
 * connected again at the settle (tcpwait.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "inetplan.h"
#include "tcpwait.h"

#define CONNECT_WAIT_MS 2000   /* for a handshake with a local listener */

struct tcp_wait {
	int fd;                    /* ckpt-thaw's copy */
	int family;
	uint64_t listener;
	struct sockaddr_storage to;   /* the listener's address: its peer= */
	socklen_t tolen;
	pid_t pid;
	int fdno;
};

int tcpwait_hold(struct fdplan *p, const struct fdplan_fd *e, int pid, int fd)
{
	struct fdjob *job = p->shared;
	struct tcp_wait w = { .fd = fd, .family = e->inet.family, .listener = e->listener,
			      .pid = pid, .fdno = e->fd }, *nw;
	int copy;

	if (!job || inetplan_addr(e->inet.family, e->inet.peer, &w.to, &w.tolen) < 0 ||
	    (copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		close(fd);
		return errno = job ? errno : EINVAL, -1;
	}
	if (!(nw = realloc(job->tcpw, (job->ntcpw + 1) * sizeof *nw)))
		die("out of memory");
	job->tcpw = nw;
	job->tcpw[job->ntcpw++] = w;
	return copy;
}

/* whether listener line f takes w's connection: of its family, on
 * its port, on its address or any.  An image cannot make ckpt-thaw
 * connect anywhere but to a listener the restore made. */
static int takes(const struct fdplan_fd *f, const struct tcp_wait *w)
{
	const struct sockaddr_in *a = (const void *)&w->to, *b;
	const struct sockaddr_in6 *a6 = (const void *)&w->to, *b6;
	struct sockaddr_storage ss;
	socklen_t len;

	if (f->inet.family != w->family || inetplan_addr(f->inet.family, f->addr, &ss, &len) < 0)
		return 0;
	b = (const void *)&ss;
	b6 = (const void *)&ss;
	if (w->family == AF_INET)
		return a->sin_port == b->sin_port && (b->sin_addr.s_addr == htonl(INADDR_ANY) ||
						      a->sin_addr.s_addr == b->sin_addr.s_addr);
	return a6->sin6_port == b6->sin6_port && (IN6_IS_ADDR_UNSPECIFIED(&b6->sin6_addr) ||
						  IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &b6->sin6_addr));
}

/* whether a line of the job owns listening socket w->listener, which
 * takes w's connection */
static int job_listens(const struct fdjob *job, const struct tcp_wait *w)
{
	const struct fdplan_fd *f;
	unsigned i, k;

	for (i = 0; i < job->n; i++)
		for (k = 0; job->plan[i] && k < job->plan[i]->n; k++) {
			f = &job->plan[i]->v[k];
			if (f->k == FD_SOCKET && f->sock == w->listener && f->dup < 0 && !f->share_pid &&
			    inetplan_is(f) && f->inet.state == 10 && takes(f, w))
				return 1;
		}
	return 0;
}

/* w connected to its listener: blocking or not (the program's
 * O_NONBLOCK is on the file), done once the handshake is.  0, or
 * -errno */
static int connect_done(const struct tcp_wait *w)
{
	struct pollfd pf = { .fd = w->fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (connect(w->fd, (const struct sockaddr *)&w->to, w->tolen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	if (poll(&pf, 1, CONNECT_WAIT_MS) != 1)
		return -ETIMEDOUT;
	getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return -err;
}

int tcpwait_settle(struct fdjob *job)
{
	struct tcp_wait *w;
	unsigned i;
	int err;

	for (i = 0; i < job->ntcpw; i++) {
		w = &job->tcpw[i];
		if (!job_listens(job, w))
			err = inetplan_reset_fd(w->fd, w->family) < 0 ? -errno : 0;
		else
			err = connect_done(w);
		if (err < 0) {
			warnerr(err, "pid %d: fd %d: its connection, which waited in the backlog of listener %llu, made again:",
				(int)w->pid, w->fdno, (unsigned long long)w->listener);
			return -1;
		}
	}
	return 0;
}

void tcpwait_free(struct fdjob *job)
{
	while (job->ntcpw > 0)
		close(job->tcpw[--job->ntcpw].fd);
	free(job->tcpw);
	job->tcpw = NULL;
}
