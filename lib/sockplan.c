/* sockplan.c - unix socket pairs back, with their queued bytes
 * (formats/fds.md, "Restoring each kind": `socket`) */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdplan.h"
#include "num.h"
#include "sockplan.h"

/* The messages of a dgram or seqpacket queue, each "LEN\n" then LEN
 * bytes, sent one by one into fd.  0, or -1 with errno. */
static int sock_refill_msgs(int fd, const char *b, size_t len)
{
	const char *p = b, *end = b + len;
	uint64_t n;

	while (p < end) {
		if (num_scan(&p, end, 10, end - p, &n) < 0 || p >= end || *p++ != '\n' ||
		    n > (uint64_t)(end - p))
			return errno = EPROTO, -1;
		if (send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
			return -1;
		p += n;
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
	if (e->socktype != SOCK_STREAM)
		return sock_refill_msgs(from, b->bytes, b->len);
	for (; off < b->len; off += n)
		if ((n = send(from, b->bytes + off, b->len - off, MSG_DONTWAIT | MSG_NOSIGNAL)) <= 0)
			return -1;
	return 0;
}

/* shutdown(2) again as each end recorded it; after the refill, which a
 * shut writer could not do */
static int sock_shut(const struct fdplan_fd *e, int fd)
{
	if ((e->shut & 2) && shutdown(fd, SHUT_WR) < 0)
		return -1;
	if ((e->shut & 1) && shutdown(fd, SHUT_RD) < 0)
		return -1;
	return 0;
}

/* the socket of the plan whose inode is e's peer, or NULL */
static struct fdplan_fd *socket_peer(const struct fdplan *p, const struct fdplan_fd *e)
{
	struct fdplan_fd *peer = NULL;
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].k == FD_SOCKET && p->v[i].sock == e->peer && e->peer)
			peer = &p->v[i];
	return peer;
}

const char *sockplan_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	if (e->unix_domain && e->socktype > 0 && socket_peer(p, e))
		return NULL;
	return "only a unix socket connected to another fd of the same process can be";
}

int sockplan_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct fdplan_fd *peer = socket_peer(p, e);
	int sv[2], err;

	(void)pid;
	if (!peer || !e->unix_domain || e->socktype <= 0) {
		errno = EOPNOTSUPP;  /* only unix pairs inside the process */
		return -1;
	}
	if (peer->src >= 0)
		return -2;   /* made with its peer: e->src is set already */
	if (socketpair(AF_UNIX, e->socktype | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	if (sock_refill(p, e, sv[1]) < 0 || sock_refill(p, peer, sv[0]) < 0 ||
	    sock_shut(e, sv[0]) < 0 || sock_shut(peer, sv[1]) < 0) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		return errno = err, -1;
	}
	peer->src = sv[1];
	return sv[0];
}
