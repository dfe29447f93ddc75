/* udpqueue.c - queued datagrams of UDP sockets sent again from their
 * senders (udpqueue.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "inetplan.h"
#include "jobfs.h"
#include "sockdump.h"
#include "sockplan.h"
#include "udpqueue.h"

#define SEND_WAIT_MS 1000    /* for room in a sender's buffer */
#define ARRIVE_WAIT_MS 1000  /* for datagrams on loopback to be queued */

struct udp_sock {
	int fd;                    /* ckpt-thaw's copy */
	int family;
	struct sockaddr_storage own, peer;
	socklen_t ownlen, peerlen; /* peerlen 0: not connected */
	struct fd_blob *queue;     /* its socks/INODE, or NULL */
	struct fdplan *plan;       /* whose helper makes a sender */
	pid_t pid;
	int fdno;
	char addr[128];            /* its addr=, for messages */
};

static in_port_t *port_of(struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? &((struct sockaddr_in *)ss)->sin_port :
	       &((struct sockaddr_in6 *)ss)->sin6_port;
}

static int addr_any(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ?
	       ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY) :
	       IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

static int addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	return a->ss_family == AF_INET ?
	       ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)b)->sin_addr.s_addr :
	       IN6_ARE_ADDR_EQUAL(&((const struct sockaddr_in6 *)a)->sin6_addr,
				  &((const struct sockaddr_in6 *)b)->sin6_addr);
}

/* from, an IPv4 address v4-mapped, as an inet one: 0, or -1 (not one) */
static int unmap4(const struct sockaddr_storage *from, struct sockaddr_storage *out)
{
	struct sockaddr_in6 in6 = *(const struct sockaddr_in6 *)from;   /* out may be from */
	struct sockaddr_in *in = (void *)out;

	if (from->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
		return -1;
	memset(out, 0, sizeof *out);
	in->sin_family = AF_INET;
	in->sin_port = in6.sin6_port;
	memcpy(&in->sin_addr, in6.sin6_addr.s6_addr + 12, 4);
	return 0;
}

/* A socket of the job that sent from address from: bound to its port,
 * on that address or on any, of from's family, or an inet one for a
 * v4-mapped from (an inet6 socket that is not v6only hears IPv4
 * senders so); NULL when none is */
static struct udp_sock *job_sender(struct fdjob *job, const struct sockaddr_storage *from)
{
	struct sockaddr_storage v4;
	const struct sockaddr_storage *f;
	struct udp_sock *u;
	unsigned i;

	for (i = 0; i < job->nudp; i++) {
		u = &job->udp[i];
		f = u->family == from->ss_family ? from : unmap4(from, &v4) == 0 ? &v4 : NULL;
		if (f && u->family == f->ss_family && *port_of(&u->own) == *port_of((void *)f) &&
		    (addr_any(&u->own) || addr_same(&u->own, f)))
			return u;
	}
	return NULL;
}

/* Where u's datagrams go: its own address, loopback for an unspecified
 * one (an IPv4 sender to an inet6 socket: loopback v4-mapped) */
static void udp_dest(const struct udp_sock *u, const struct sockaddr_storage *from,
		     struct sockaddr_storage *to)
{
	struct sockaddr_in6 *in6 = (void *)to;

	*to = u->own;
	if (!addr_any(to))
		return;
	if (to->ss_family == AF_INET)
		((struct sockaddr_in *)to)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)from)->sin6_addr))
		inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
	else
		in6->sin6_addr = in6addr_loopback;
}

/* A sender of ours bound to from, an address no socket of the job has
 * now: made and bound as the job (its user's ports, SO_REUSEADDR as a
 * program would), or, for an address of another machine, bound by
 * ckpt-thaw with IP_TRANSPARENT, which only root may set and which
 * takes no local socket's traffic.  The fd, or -errno. */
static int sender_make(struct udp_sock *u, const struct sockaddr_storage *from, socklen_t len)
{
	int s, one = 1, err, v4 = u->family == AF_INET;

	if (fdplan_fs_ready(u->plan, u->pid) < 0)
		return -ECANCELED;
	if ((s = jobfs_socket(&u->plan->fs, u->family, SOCK_DGRAM, 0)) < 0)
		return s;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	err = jobfs_bind(&u->plan->fs, s, from, len);
	if (err == -EADDRNOTAVAIL)
		err = setsockopt(s, v4 ? SOL_IP : SOL_IPV6, v4 ? IP_TRANSPARENT : IPV6_TRANSPARENT,
				 &one, sizeof one) < 0 || bind(s, (const struct sockaddr *)from, len) < 0 ?
		      (errno == EPERM ? -EADDRNOTAVAIL : -errno) : 0;
	if (err < 0) {
		close(s);
		return err;
	}
	return s;
}

/* sendto(2) without waiting, a second for room at most: 0, or -errno */
static int send_one(int s, const struct sock_msg *m, const struct sockaddr_storage *to)
{
	struct pollfd pf = { .fd = s, .events = POLLOUT };
	socklen_t len = to->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
			sizeof(struct sockaddr_in6);

	for (;;) {
		if (sendto(s, m->bytes, m->len, MSG_DONTWAIT | MSG_NOSIGNAL,
			   (const struct sockaddr *)to, len) == (ssize_t)m->len)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (errno == EAGAIN && poll(&pf, 1, SEND_WAIT_MS) == 0)
			return -EAGAIN;
	}
}

/* datagram n of u, from from (its text as the image has it), sent
 * again: 0, or -1 (said) */
static int refill_one(struct fdjob *job, struct udp_sock *u, unsigned n, const struct sock_msg *m)
{
	struct sockaddr_storage from, to;
	struct udp_sock *j;
	socklen_t len;
	char text[80];
	int s = -1, err;

	if (!m->from || m->fromlen >= sizeof text)
		return warn("pid %d: fd %d: UDP socket %s: datagram %u of %s names no sender", (int)u->pid,
			    u->fdno, u->addr, n, u->queue->name), -1;
	memcpy(text, m->from, m->fromlen);
	text[m->fromlen] = 0;
	if (inetplan_addr(u->family, text, &from, &len) < 0)
		return warn("pid %d: fd %d: UDP socket %s: datagram %u's sender %s is no address of its family",
			    (int)u->pid, u->fdno, u->addr, n, text), -1;
	udp_dest(u, &from, &to);
	if ((j = job_sender(job, &from)) && j->family != to.ss_family)
		unmap4(&to, &to);   /* an inet sender to an inet6 socket */
	if (!j && (s = err = sender_make(u, &from, len)) < 0)
		return err == -ECANCELED ? -1 :
		       (warnerr(err, "pid %d: fd %d: UDP socket %s: datagram %u, from %s, cannot be sent again from there: bind %s:",
				(int)u->pid, u->fdno, u->addr, n, text, text), -1);
	err = send_one(j ? j->fd : s, m, &to);
	if (s >= 0)
		close(s);
	if (err < 0)
		return warnerr(err, "pid %d: fd %d: UDP socket %s: datagram %u, from %s, sent again:",
			       (int)u->pid, u->fdno, u->addr, n, text), -1;
	return 0;
}

/* Whether u's queue is what the image says, senders and all: a
 * datagram that did not fit (a receive buffer smaller now) is dropped
 * by the kernel without a word, and loopback queues them a moment
 * after the send */
static int refill_check(const struct udp_sock *u)
{
	struct timespec ms = { 0, 10 * 1000 * 1000 };
	size_t len = 0;
	char *q = NULL;
	int i, err, same = 0;

	for (i = 0; i < ARRIVE_WAIT_MS / 10 && !same; i++) {
		if (i)
			nanosleep(&ms, NULL);
		free(q);
		q = sock_peek(u->fd, 0, &len, &err);
		same = q && len == u->queue->len && !memcmp(q, u->queue->bytes, len);
	}
	free(q);
	if (!same)
		warn("pid %d: fd %d: UDP socket %s: its queued datagrams sent again did not all arrive (a receive buffer too small for them?)",
		     (int)u->pid, u->fdno, u->addr);
	return same ? 0 : -1;
}

/* u's queue sent again, datagram by datagram, each from its sender */
static int refill(struct fdjob *job, struct udp_sock *u)
{
	const char *p = u->queue->bytes, *end = p + u->queue->len;
	struct sock_msg m;
	unsigned n;

	if (u->queue->used)
		return 0;
	u->queue->used = 1;
	for (n = 1; p < end; n++) {
		if (sock_msg_next(&p, end, &m) < 0)
			return warn("pid %d: fd %d: UDP socket %s: member %s is not its datagrams",
				    (int)u->pid, u->fdno, u->addr, u->queue->name), -1;
		if (refill_one(job, u, n, &m) < 0)
			return -1;
	}
	return refill_check(u);
}

int udpq_settle(struct fdjob *job)
{
	struct udp_sock *u;
	unsigned i;
	int r = 0;

	for (i = 0; i < job->nudp && !r; i++)
		if (job->udp[i].queue)
			r = refill(job, &job->udp[i]);
	for (i = 0; i < job->nudp && !r; i++) {
		u = &job->udp[i];
		if (u->peerlen && connect(u->fd, (struct sockaddr *)&u->peer, u->peerlen) < 0)
			r = -1, warn("pid %d: fd %d: UDP socket %s: connect to its peer= again:",
				     (int)u->pid, u->fdno, u->addr);
	}
	return r;
}

void udpq_free(struct fdjob *job)
{
	while (job->nudp > 0)
		close(job->udp[--job->nudp].fd);
	free(job->udp);
	job->udp = NULL;
}

int udpq_hold(struct fdplan *p, const struct fdplan_fd *e, int pid, int fd,
	      const struct sockaddr_storage *peer, socklen_t peerlen)
{
	struct fdjob one = { 0 }, *job = p->shared ? p->shared : &one;
	struct udp_sock u = { .fd = fd, .family = e->inet.family, .plan = p, .pid = pid,
			      .fdno = e->fd }, *nu;
	socklen_t len = sizeof u.own;
	int copy;

	snprintf(u.addr, sizeof u.addr, "%s", e->addr);
	if (e->data && !(u.queue = blob_find(p, e->data))) {
		close(fd);
		warn("pid %d: fd %d: UDP socket %s: its queued datagrams (%s) are not in the image",
		     pid, e->fd, u.addr, e->data);
		return errno = ECANCELED, -1;
	}
	if (peerlen)
		u.peer = *peer, u.peerlen = peerlen;
	if (getsockname(fd, (struct sockaddr *)&u.own, &len) < 0 ||
	    (copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		close(fd);
		return -1;
	}
	if (!(nu = realloc(job->udp, (job->nudp + 1) * sizeof *nu)))
		die("out of memory");
	job->udp = nu;
	job->udp[job->nudp++] = u;
	if (job == &one && udpq_settle(job) < 0) {
		udpq_free(job);
		close(copy);
		return errno = ECANCELED, -1;
	}
	if (job == &one)
		udpq_free(job);
	return copy;
}
