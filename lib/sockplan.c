/* sockplan.c - unix socket pairs back, with their queued bytes
 * (formats/fds.md, "Restoring each kind": `socket`) */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "num.h"
#include "sockplan.h"
#include "unixsock.h"

/* send(2) without waiting; when the socket's send buffer is too small
 * for what was queued (its sender had raised SO_SNDBUF, or sent in
 * small pieces, each with its overhead), the buffer is doubled, as far
 * as SO_SNDBUF goes for anyone (net.core.wmem_max: never
 * SO_SNDBUFFORCE, which an image could use to make root pin memory).
 * What it sent, or -1 with errno. */
ssize_t sock_send_room(int fd, const char *p, size_t n, const struct sockaddr_un *to, socklen_t tolen)
{
	int size, bigger, err;
	socklen_t len = sizeof size;
	ssize_t r;

	while ((r = sendto(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)to,
			   tolen)) < 0 &&
	       (errno == EAGAIN || errno == EWOULDBLOCK || errno == EMSGSIZE)) {
		err = errno;
		/* the kernel doubles what it is given, and caps it */
		if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &len) < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size) < 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bigger, &len) < 0 || bigger <= size)
			return errno = err == EMSGSIZE ? EAGAIN : err, -1;
	}
	return r;
}

int sock_msg_next(const char **p, const char *end, struct sock_msg *m)
{
	uint64_t n;

	m->from = NULL;
	m->fromlen = 0;
	if (num_scan(p, end, 10, end - *p, &n) < 0 || *p >= end)
		return -1;
	if (**p == ' ') {   /* its sender's name */
		m->from = ++*p;
		while (*p < end && **p != '\n' && **p != ' ')
			++*p;
		m->fromlen = *p - m->from;
		if (!m->fromlen)
			return -1;
	}
	if (*p >= end || *(*p)++ != '\n' || n > (uint64_t)(end - *p))
		return -1;
	m->bytes = *p;
	m->len = n;
	*p += n;
	return 0;
}

/* The messages of a dgram or seqpacket queue, each "LEN\n" (or "LEN
 * FROM\n") then LEN bytes, sent one by one into fd: a pair's peer is
 * the only sender it had.  0, or -1 with errno. */
static int sock_refill_msgs(int fd, const char *b, size_t len)
{
	const char *p = b, *end = b + len;
	struct sock_msg m;

	while (p < end) {
		if (sock_msg_next(&p, end, &m) < 0)
			return errno = EPROTO, -1;
		if (sock_send_room(fd, m.bytes, m.len, NULL, 0) != (ssize_t)m.len)
			return -1;
	}
	return 0;
}

/* What was queued to the end e comes back by writing it into the other
 * end, from; a queue that no longer fits fails rather than blocks. */
static int sock_refill(struct fdplan *p, struct fdplan_fd *e, int from)
{
	struct fd_blob *b = blob_find(p, e->data);
	ssize_t n;
	size_t off = 0;

	if (!e->data)
		return 0;
	if (!b || !b->bytes)
		return errno = ENODATA, -1;
	if (b->used)   /* one member per socket: sent once */
		return 0;
	b->used = 1;
	if (e->socktype != SOCK_STREAM)
		return sock_refill_msgs(from, b->bytes, b->len);
	for (; off < b->len; off += n)
		if ((n = sock_send_room(from, b->bytes + off, b->len - off, NULL, 0)) <= 0)
			return -1;
	return 0;
}

/* One socketpair(2) per pair of unix sockets across the job
 * (formats/fds.md, "Shared between processes"): end i is socket
 * ino[i], whose peer is ino[!i].  Each end is made when the first
 * line that owns it comes (an fd line without share= or dup=; one per
 * socket in the whole job); ckpt-thaw holds both until the go. */
struct sock_pair {
	uint64_t ino[2];
	int fd[2];
	int type;
	pid_t pid[2];              /* the process whose line owns each end, or
	                            * 0, or -1: closed before the checkpoint */
	int fdno[2];               /* ... and its fd there: for messages */
	int shut[2];               /* each end's shutdown bits */
};

/* the socket of the plan whose inode is e's peer, or NULL */
static struct fdplan_fd *socket_peer(const struct fdplan *p, const struct fdplan_fd *e)
{
	struct fdplan *c = (struct fdplan *)p;   /* its index is a cache */
	unsigned i;
	int k;

	if (c->socks_n != c->n) {   /* (re)made once the lines are read */
		u64index_free(&c->socks);
		for (i = 0; i < c->n; i++)
			if (c->v[i].k == FD_SOCKET && u64index_put(&c->socks, c->v[i].sock, i) < 0)
				die("out of memory");
		c->socks_n = c->n;
	}
	return (k = u64index_get(&c->socks, e->peer)) < 0 ? NULL : &c->v[k];
}

/* A pair's other end may be in a process that comes later in the
 * stream: in a job of several processes any unnamed unix socket with a
 * peer can be made now; the go checks that every end was owned
 * (sockplan_settle).  ckpt-dumpfds --restorable judges one process
 * alone (no job): there ckpt-freeze has checked the pairs of the job. */
const char *sockplan_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	if (!e->unix_domain || e->socktype <= 0)
		return "only a unix socket can be";
	if (unixsock_named(e))
		return unixsock_why_not(e);
	if (socket_peer(p, e))
		return NULL;
	if (e->peer && !e->addr[0] && (!p->shared || p->shared->nprocs > 1))
		return NULL;
	if (e->peer_closed && !e->peer && !e->addr[0])
		return NULL;   /* a pair whose other end was closed */
	return "only a unix socket whose peer is another fd of the job can be";
}

int sockplan_in_job(const struct fdplan_fd *e)
{
	return e->k == FD_SOCKET && e->unix_domain && (e->peer || e->peer_closed) && !e->addr[0];
}

int sockplan_refuse(int pid, const struct fdplan_fd *e, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (e->addr[0])
		warn("pid %d: fd %d: unix socket %llu (%s): %s", pid, e->fd, (unsigned long long)e->sock,
		     e->addr, why);
	else
		warn("pid %d: fd %d: unix socket %llu: %s", pid, e->fd, (unsigned long long)e->sock, why);
	errno = ECANCELED;
	return -1;
}

/* the pair with socket ino as one of its ends (*end: which), or NULL */
static struct sock_pair *pair_find(struct fdjob *job, uint64_t ino, int *end)
{
	int i = u64index_get(&job->pair_of, ino);

	if (i < 0)
		return NULL;
	*end = job->pair[i].ino[1] == ino;
	return &job->pair[i];
}

/* pair i findable by each of its ends' inodes (the first pair keeps
 * an inode two name) */
static void pair_index(struct fdjob *job, unsigned i)
{
	int e;

	for (e = 0; e < 2; e++)
		if (u64index_get(&job->pair_of, job->pair[i].ino[e]) < 0 &&
		    u64index_put(&job->pair_of, job->pair[i].ino[e], i) < 0)
			die("out of memory");
}

/* the socket paired with ino in the table, or 0 */
static uint64_t pair_other(struct fdjob *job, uint64_t ino)
{
	struct sock_pair *sp;
	int end;

	return (sp = pair_find(job, ino, &end)) ? sp->ino[!end] : 0;
}

/* a new pair, e's end 0: a socketpair(2), or a connection through a
 * listener's name (unixsock.h); NULL with errno */
static struct sock_pair *pair_new(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct fdjob *job = p->shared;
	struct sock_pair *np;
	int sv[2];

	if (unixsock_named(e) ? unixsock_connection(p, e, pid, sv) < 0 :
	    socketpair(AF_UNIX, e->socktype | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	if (!(np = realloc(job->pair, (job->npair + 1) * sizeof *np))) {
		close(sv[0]);
		close(sv[1]);
		return errno = ENOMEM, NULL;
	}
	job->pair = np;
	np = &np[job->npair++];
	*np = (struct sock_pair){ { e->sock, e->peer }, { sv[0], sv[1] }, e->socktype,
				  { 0, 0 }, { -1, -1 }, { 0, 0 } };
	pair_index(job, job->npair - 1);
	return np;
}

/* e owns its end of the pair: checked against what the pair's other
 * end said (the two inodes cross, one type, one owner per socket);
 * SO_PASSCRED again, so that its reads get their senders' credentials
 * as they did */
static int pair_own(struct sock_pair *sp, int end, struct fdplan_fd *e, int pid)
{
	if (sp->ino[!end] != e->peer)
		return sockplan_refuse(pid, e, "its peer is socket %llu, but socket %llu names it as its "
				   "peer: the two ends of a pair do not cross",
				   (unsigned long long)e->peer, (unsigned long long)sp->ino[!end]);
	if (sp->type != e->socktype)
		return sockplan_refuse(pid, e, "not of the type of its peer, socket %llu",
				   (unsigned long long)e->peer);
	if (sp->pid[end])
		return sockplan_refuse(pid, e, "already fd %d of pid %d: one socket is one open file, "
				   "which another fd or process can only share (dup=, share=)",
				   sp->fdno[end], (int)sp->pid[end]);
	if (e->passcred && setsockopt(sp->fd[end], SOL_SOCKET, SO_PASSCRED, &e->passcred,
				      sizeof e->passcred) < 0)
		return -1;
	sp->pid[end] = pid;
	sp->fdno[end] = e->fd;
	sp->shut[end] = e->shut;
	return 0;
}

/* whether socket ino was connected to a peer outside the job */
static int sock_out(const struct fdjob *job, uint64_t ino)
{
	const uint64_t *v = job->sockout, *end = v + job->nsockout;

	while (v < end && *v != ino)
		v++;
	return v < end;
}

/* A stream or seqpacket connection to a peer outside the job (a
 * manifest's sockout line) comes back as one whose peer went away
 * with a byte unread, as a server that died: what was queued to it
 * comes first, then its next read fails with ECONNRESET (a write with
 * EPIPE: the kernel's word once a unix socket's peer is gone), and the
 * program's own reconnect logic runs (formats/fds.md) */
static int sock_out_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	int sv[2], err;
	char one = 0;

	if (e->socktype != SOCK_STREAM && e->socktype != SOCK_SEQPACKET)
		return sockplan_refuse(pid, e, "a sockout line for a socket that is not a stream or seqpacket one");
	if (socketpair(AF_UNIX, e->socktype | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (sock_refill(p, e, sv[1]) < 0 || send(sv[0], &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1 ||
	    (e->passcred && setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &e->passcred,
				       sizeof e->passcred) < 0)) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		return sockplan_refuse(pid, e, "reset, its peer outside the job gone: %s", strerror(err));
	}
	close(sv[1]);
	return sv[0];
}

int sockplan_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sock_pair *sp;
	int end = 0, other;

	if (!e->unix_domain || e->socktype <= 0 || !p->shared) {
		errno = EOPNOTSUPP;  /* only unix sockets */
		return -1;
	}
	if (sock_out(p->shared, e->sock))
		return sock_out_open(p, e, pid);
	if (unixsock_named(e) && (e->listening || e->listener || e->socktype == SOCK_DGRAM ||
				  (!e->peer && !e->peer_closed)))
		return unixsock_open(p, e, pid);
	if (e->peer_closed && e->peer)
		return sockplan_refuse(pid, e, "peer_closed=1 with a peer_ino");
	if (!e->sock || e->sock == e->peer)
		return sockplan_refuse(pid, e, "its sock= and peer_ino= must name two sockets");
	if (!(sp = pair_find(p->shared, e->sock, &end)) && pair_find(p->shared, e->peer, &other))
		return sockplan_refuse(pid, e, "its peer, socket %llu, is paired with socket %llu: the two "
				   "ends of a pair do not cross", (unsigned long long)e->peer,
				   (unsigned long long)pair_other(p->shared, e->peer));
	if (!sp && !(sp = pair_new(p, e, pid)))
		return -1;
	if (e->peer_closed && !sp->pid[1])
		sp->pid[1] = -1;   /* closed: nobody owns it (after the refill) */
	if (pair_own(sp, end, e, pid) < 0)
		return -1;
	/* what was queued to this end comes back through the other one */
	if (sock_refill(p, e, sp->fd[!end]) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return sockplan_refuse(pid, e, "its queued bytes (%s) no longer fit in the socket",
					   e->data);
		if (errno == EPROTO)
			return sockplan_refuse(pid, e, "member %s is not its messages (each its length, "
					   "a newline, then that many bytes)", e->data);
		return -1;
	}
	if (sp->pid[!end] < 0 && sp->fd[!end] >= 0) {
		close(sp->fd[!end]);   /* its queue is in: the peer goes, as it had */
		sp->fd[!end] = -1;
	}
	return fcntl(sp->fd[end], F_DUPFD_CLOEXEC, 3);
}

/* shutdown(2) again as an end recorded it: 2 no more sending, 1 no
 * more receiving */
static int sock_shut(int shut, int fd)
{
	if ((shut & 2) && shutdown(fd, SHUT_WR) < 0)
		return -1;
	if ((shut & 1) && shutdown(fd, SHUT_RD) < 0)
		return -1;
	return 0;
}

/* a pair end that no process owned: the image named a peer that no
 * process of the job has */
static int pair_alone(const struct sock_pair *sp, int end)
{
	warn("pid %d: fd %d: unix socket %llu: its peer, socket %llu, is no fd of any process of the job",
	     (int)sp->pid[!end], sp->fdno[!end], (unsigned long long)sp->ino[!end],
	     (unsigned long long)sp->ino[end]);
	return -1;
}

int sockplan_settle(struct fdjob *job)
{
	struct sock_pair *sp;
	unsigned i;
	int end, r = unixsock_settle(job);

	for (i = 0; i < job->npair && !r; i++) {
		sp = &job->pair[i];
		for (end = 0; end < 2 && !r; end++)
			if (!sp->pid[end])
				r = pair_alone(sp, end);
		for (end = 0; end < 2 && !r; end++)
			if (sp->fd[end] >= 0 && sock_shut(sp->shut[end], sp->fd[end]) < 0) {
				warn("pid %d: fd %d: unix socket %llu: shutdown:", (int)sp->pid[end],
				     sp->fdno[end], (unsigned long long)sp->ino[end]);
				r = -1;
			}
	}
	sockplan_free(job);
	return r;
}

void sockplan_free(struct fdjob *job)
{
	unsigned i;

	for (i = 0; i < job->npair; i++) {
		if (job->pair[i].fd[0] >= 0)
			close(job->pair[i].fd[0]);
		if (job->pair[i].fd[1] >= 0)
			close(job->pair[i].fd[1]);
	}
	free(job->pair);
	job->pair = NULL;
	job->npair = 0;
	u64index_free(&job->pair_of);
	unixsock_free(job);
}
