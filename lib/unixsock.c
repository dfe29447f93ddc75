/* unixsock.c - named unix sockets back (unixsock.h) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "escape.h"
#include "fdplan.h"
#include "num.h"
#include "sockdump.h"
#include "sockplan.h"
#include "unixsock.h"

/* a listener of the job, made for its line or, before it, for a
 * connection through its name */
struct ux_listener {
	struct sockaddr_un a;
	socklen_t alen;
	int fd, type;
	uint64_t ino;              /* its socket in the image; 0: no line yet */
	pid_t pid;                 /* the line that owns it, or made it */
	int fdno;
	char *pending;             /* its line's pending= */
	struct fdplan *plan;       /* whose helper bound it */
};

/* a connection that waited in a backlog: its client */
struct ux_client {
	uint64_t ino, listener;
	int fd;
	pid_t pid;
	int fdno;
	struct fdplan *plan;       /* whose helper connects it */
};

/* a named datagram socket, or one connected to a name */
struct ux_dgram {
	int fd;
	struct sockaddr_un own, peer;
	socklen_t ownlen, peerlen; /* 0: none */
	struct fd_blob *queue;     /* its socks/INODE, or NULL */
	struct fdplan *plan;       /* whose helper connects it */
	pid_t pid;
	int fdno;
	uint64_t ino;
};

struct ux_job {
	struct ux_listener *l;
	unsigned nl;
	struct ux_client *c;
	unsigned nc;
	struct ux_dgram *d;
	unsigned nd;
};

/* text, a path or @NAME, as a unix address; -1 for any other (a
 * relative path would be relative to a directory nobody knows now) */
static int sun_make(const char *text, struct sockaddr_un *a, socklen_t *len)
{
	size_t n = text ? strlen(text) : 0, off = offsetof(struct sockaddr_un, sun_path);

	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (n < 2 || n >= sizeof a->sun_path || (text[0] != '/' && text[0] != '@'))
		return -1;
	if (text[0] == '@') {   /* abstract: a NUL, then the name */
		memcpy(a->sun_path + 1, text + 1, n - 1);
		*len = off + n;
	} else {
		memcpy(a->sun_path, text, n);
		*len = off + n + 1;
	}
	return 0;
}

int unixsock_named(const struct fdplan_fd *e)
{
	return e->unix_domain && (e->sun_own || e->sun_peer || e->listening || e->listener ||
				  (!e->peer && !e->peer_closed));
}

static const char *dgram_why_not(const struct fdplan_fd *e)
{
	if (e->sun_own && e->sun_own[0] == '/' && !e->has_sockfile)
		return "a unix datagram socket whose path no longer led to it (unlinked) cannot be restored yet";
	if (e->data && !e->sun_own)
		return "messages queued to an unnamed datagram socket connected to a name: nothing could send them again";
	return NULL;
}

const char *unixsock_made_as(const struct fdplan_fd *e)
{
	if (!unixsock_named(e))
		return NULL;
	if (e->listening)
		return "a new listening socket, bound again to its name";
	if (e->listener)
		return "a new socket, connected again into its listener's backlog";
	if (e->peer || e->peer_closed)
		return "connected again through its listener";
	return e->sun_own ? "a new socket, bound again to its name" : "a new socket";
}

const char *unixsock_why_not(const struct fdplan_fd *e)
{
	struct sockaddr_un a;
	socklen_t len;

	if ((e->sun_own && sun_make(e->sun_own, &a, &len) < 0) ||
	    (e->sun_peer && sun_make(e->sun_peer, &a, &len) < 0))
		return "a unix socket name that is neither an absolute path nor abstract";
	if (e->socktype == SOCK_DGRAM)
		return dgram_why_not(e);
	if (e->listening && !e->sun_own)
		return "a listening unix socket without a name";
	if (e->listening && e->sun_own[0] == '/' && !e->has_sockfile)
		return "a listening unix socket whose path no longer led to it (unlinked) cannot be restored yet";
	if (!e->listening && !e->listener && e->sun_own && e->sun_peer && e->accepted < 0)
		return "a connection between two named unix sockets whose listener was closed (which end accept(2) gave is not known)";
	if (!e->peer && !e->peer_closed && !e->listening && !e->listener && e->data)
		return "bytes queued to a unix socket that is not connected";
	return NULL;
}

static struct ux_job *ux_of(struct fdjob *job)
{
	if (!job->ux && !(job->ux = calloc(1, sizeof *job->ux)))
		die("out of memory");
	return job->ux;
}

static struct ux_listener *listener_at(struct ux_job *ux, const struct sockaddr_un *a, socklen_t len)
{
	unsigned i;

	for (i = 0; i < ux->nl; i++)
		if (ux->l[i].alen == len && !memcmp(&ux->l[i].a, a, len))
			return &ux->l[i];
	return NULL;
}

/* why a bind as the job failed, for a message */
static const char *bind_why(int err)
{
	switch (err) {
	case -EEXIST: return "its path is there and is not a socket (left alone)";
	case -EADDRINUSE: return "address in use: a live socket is there (another server?)";
	}
	return strerror(-err);
}

/* a new listener of type at a, bound and listening as the job (mode:
 * its socket file's), for line e of pid: NULL with errno (ECANCELED:
 * said) */
static struct ux_listener *listener_make(struct fdplan *p, struct fdplan_fd *e, int pid,
					 const struct sockaddr_un *a, socklen_t len, unsigned mode,
					 int backlog)
{
	struct ux_job *ux = ux_of(p->shared);
	struct ux_listener *nl;
	int fd, err;

	if (fdplan_fs_ready(p, pid) < 0)
		return errno = ECANCELED, NULL;
	if ((fd = socket(AF_UNIX, e->socktype | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	if ((err = jobfs_sock_bind(&p->fs, fd, a, len, mode, backlog)) < 0) {
		close(fd);
		sockplan_refuse(pid, e, "bind %s%s: %s", a->sun_path[0] ? a->sun_path : "@",
				a->sun_path[0] ? "" : a->sun_path + 1, bind_why(err));
		return NULL;
	}
	if (!(nl = realloc(ux->l, (ux->nl + 1) * sizeof *nl)))
		die("out of memory");
	ux->l = nl;
	nl = &nl[ux->nl++];
	*nl = (struct ux_listener){ .a = *a, .alen = len, .fd = fd, .type = e->socktype,
				    .pid = pid, .fdno = e->fd, .plan = p };
	return nl;
}

/* e's line owns the listener at its name (made now, or before for a
 * connection through it, then listening anew with e's backlog) */
static int listener_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct ux_listener *l;
	struct sockaddr_un a;
	socklen_t len;
	int err;

	if (sun_make(e->sun_own, &a, &len) < 0)
		return sockplan_refuse(pid, e, "%s", unixsock_why_not(e));
	if (!(l = listener_at(ux_of(p->shared), &a, len))) {
		if (!(l = listener_make(p, e, pid, &a, len, e->sockfile, e->backlog)))
			return -1;
	} else if (l->ino) {
		return sockplan_refuse(pid, e, "its name is that of socket %llu too, fd %d of pid %d",
				       (unsigned long long)l->ino, l->fdno, (int)l->pid);
	} else if (l->type != e->socktype) {
		return sockplan_refuse(pid, e, "a listener of another type than its connections");
	} else if (fdplan_fs_ready(p, pid) < 0) {
		return errno = ECANCELED, -1;
	} else if ((err = jobfs_sock_bind(&p->fs, l->fd, NULL, 0, 0, e->backlog)) < 0) {
		errno = -err;
		return -1;
	}
	l->ino = e->sock;
	l->pid = pid;
	l->fdno = e->fd;
	if (e->pending && !(l->pending = strdup(e->pending)))
		die("out of memory");
	return fcntl(l->fd, F_DUPFD_CLOEXEC, 3);
}

/* a socket not connected: bound to its name, if it had one */
static int alone_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sockaddr_un a;
	socklen_t len;
	int fd = socket(AF_UNIX, e->socktype | SOCK_CLOEXEC, 0), err;

	if (fd < 0 || !e->sun_own)
		return fd;
	if (sun_make(e->sun_own, &a, &len) < 0 || fdplan_fs_ready(p, pid) < 0) {
		close(fd);
		return sockplan_refuse(pid, e, "%s", "its name cannot be bound again");
	}
	if ((err = jobfs_sock_bind(&p->fs, fd, &a, len, e->sockfile, -1)) < 0) {
		close(fd);
		return sockplan_refuse(pid, e, "bind %s: %s", e->sun_own, bind_why(err));
	}
	return fd;
}

/* e's connection waits in the backlog of listener e->listener: the
 * socket now, the connect(2) at the go (unixsock_settle), in the
 * listener's order */
static int waiting_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct ux_job *ux = ux_of(p->shared);
	struct ux_client *nc;
	int fd = alone_open(p, e, pid);   /* bound to its name, if any */

	if (fd < 0)
		return -1;
	if (!(nc = realloc(ux->c, (ux->nc + 1) * sizeof *nc)))
		die("out of memory");
	ux->c = nc;
	ux->c[ux->nc++] = (struct ux_client){ e->sock, e->listener, fd, pid, e->fd, p };
	return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* A datagram socket: bound to its name now; its queue sent again and
 * its connect(2) at the go, once every sender is bound
 * (unixsock_settle) */
static int dgram_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct ux_job *ux = ux_of(p->shared);
	struct ux_dgram d = { .plan = p, .pid = pid, .fdno = e->fd, .ino = e->sock }, *nd;

	if (e->data && !(d.queue = blob_find(p, e->data)))
		return sockplan_refuse(pid, e, "its queued messages (%s) are not in the image", e->data);
	if ((e->sun_own && sun_make(e->sun_own, &d.own, &d.ownlen) < 0) ||
	    (e->sun_peer && sun_make(e->sun_peer, &d.peer, &d.peerlen) < 0))
		return sockplan_refuse(pid, e, "%s", "a name that is neither an absolute path nor abstract");
	if ((d.fd = alone_open(p, e, pid)) < 0)
		return -1;
	if (!(nd = realloc(ux->d, (ux->nd + 1) * sizeof *nd)))
		die("out of memory");
	ux->d = nd;
	ux->d[ux->nd++] = d;
	return fcntl(d.fd, F_DUPFD_CLOEXEC, 3);
}

int unixsock_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	const char *why = unixsock_why_not(e);

	if (why)
		return sockplan_refuse(pid, e, "%s", why);
	if (e->socktype == SOCK_DGRAM)
		return dgram_open(p, e, pid);
	if (e->listening)
		return listener_open(p, e, pid);
	if (e->listener)
		return waiting_open(p, e, pid);
	return alone_open(p, e, pid);
}

/* the inode of socket fd */
static uint64_t fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) < 0 ? 0 : st.st_ino;
}

/* The connection that client made to l, accepted.  Another process
 * may have connected to the listener meanwhile: its connections are
 * closed (a server that is not running yet), ours is the one whose
 * peer is client (sock_diag). */
static int accept_ours(struct ux_listener *l, int client)
{
	struct pollfd pf = { .fd = l->fd, .events = POLLIN };
	struct sock_unix_info u;
	uint64_t ino = fd_ino(client);
	int a, i;

	for (i = 0; i < 16 && poll(&pf, 1, 0) == 1; i++) {
		if ((a = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			return -1;
		if (sock_unix_diag(fd_ino(a), &u) == 0 && u.peer == ino)
			return a;
		close(a);
	}
	return errno = ECONNREFUSED, -1;
}

int unixsock_connection(struct fdplan *p, struct fdplan_fd *e, int pid, int sv[2])
{
	int accepted = e->sun_own && e->sun_peer ? e->accepted == 1 : !!e->sun_own, c, a, err;
	const char *own = accepted ? e->sun_peer : e->sun_own;   /* the client's */
	struct ux_listener *l;
	struct sockaddr_un la, ca;
	socklen_t len, clen;
	const char *why = unixsock_why_not(e);

	if (why || sun_make(accepted ? e->sun_own : e->sun_peer, &la, &len) < 0 ||
	    (own && sun_make(own, &ca, &clen) < 0))
		return sockplan_refuse(pid, e, "%s", why ? why : "no name to connect through");
	/* its listener: the job's, or one for now, until its line comes */
	if (!(l = listener_at(ux_of(p->shared), &la, len)) &&
	    !(l = listener_make(p, e, pid, &la, len, e->has_sockfile ? e->sockfile : 0755, 16)))
		return -1;
	if (fdplan_fs_ready(p, pid) < 0)
		return errno = ECANCELED, -1;
	if ((c = socket(AF_UNIX, e->socktype | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	/* a client bound to a name of its own: bound first, as it was
	 * (its file's mode is its own line's, when that is e) */
	if (own && (err = jobfs_sock_bind(&p->fs, c, &ca, clen,
					  !accepted && e->has_sockfile ? e->sockfile : 0755, -1)) < 0) {
		close(c);
		return sockplan_refuse(pid, e, "bind %s: %s", own, bind_why(err));
	}
	if ((err = jobfs_sock_connect(&p->fs, c, &la, len)) < 0 || (a = accept_ours(l, c)) < 0) {
		close(c);
		return sockplan_refuse(pid, e, "connect through %s%s again: %s",
				       la.sun_path[0] ? "" : "@", la.sun_path[0] ? la.sun_path :
				       la.sun_path + 1, strerror(err < 0 ? -err : errno));
	}
	sv[0] = accepted ? a : c;
	sv[1] = accepted ? c : a;
	return 0;
}

static struct ux_client *client_of(struct ux_job *ux, uint64_t ino)
{
	unsigned i;

	for (i = 0; i < ux->nc; i++)
		if (ux->c[i].ino == ino)
			return &ux->c[i];
	return NULL;
}

/* whether client's connection is queued to l now (sock_diag) */
static int queued_to(const struct ux_listener *l, int client)
{
	uint64_t v[SOCK_PENDING_MAX], ino = fd_ino(client);
	int n = sock_unix_pending(fd_ino(l->fd), v, SOCK_PENDING_MAX), i;

	for (i = 0; i < n && i < SOCK_PENDING_MAX; i++)
		if (v[i] == ino)
			return 1;
	return 0;
}

/* l's waiting connections queued again, in the order of its pending= */
static int listener_queue(struct ux_job *ux, struct ux_listener *l)
{
	const char *s = l->pending, *end = s ? s + strlen(s) : NULL;
	const char *name = l->a.sun_path[0] ? l->a.sun_path : l->a.sun_path + 1;
	struct ux_client *c;
	uint64_t ino;
	int err;

	while (s && s < end) {
		if (num_scan(&s, end, 10, UINT64_MAX, &ino) < 0 || (s < end && *s++ != ','))
			return warn("pid %d: fd %d: unix socket %llu: pending=%s: malformed", (int)l->pid,
				    l->fdno, (unsigned long long)l->ino, l->pending), -1;
		if (!(c = client_of(ux, ino)) || c->listener != l->ino)
			return warn("pid %d: fd %d: unix socket %llu (%s): a connection waiting in its backlog, from socket %llu, is no fd of any process of the job",
				    (int)l->pid, l->fdno, (unsigned long long)l->ino, name,
				    (unsigned long long)ino), -1;
		if (fdplan_fs_ready(c->plan, c->pid) < 0)
			return -1;
		if ((err = jobfs_sock_connect(&c->plan->fs, c->fd, &l->a, l->alen)) < 0 ||
		    !queued_to(l, c->fd))
			return warnerr(err < 0 ? err : -ECONNREFUSED,
				       "pid %d: fd %d: unix socket %llu: its connection waiting in the backlog of %s:",
				       (int)c->pid, c->fdno, (unsigned long long)c->ino, name), -1;
		c->listener = 0;   /* queued */
	}
	return 0;
}

/* the job's datagram socket bound to the name from (escaped text) */
static int dgram_sender(struct ux_job *ux, const char *from, size_t len)
{
	struct sockaddr_un a;
	socklen_t alen;
	char text[512];
	unsigned i;

	if (len >= sizeof text)
		return -1;
	memcpy(text, from, len);
	text[len] = 0;
	if (str_unescape(text) < 0 || sun_make(text, &a, &alen) < 0)
		return -1;
	for (i = 0; i < ux->nd; i++)
		if (ux->d[i].ownlen == alen && !memcmp(&ux->d[i].own, &a, alen))
			return ux->d[i].fd;
	return -1;
}

/* d's queue sent again, message by message, each from its sender: the
 * job's socket bound to its name, or an unnamed one of ours */
static int dgram_refill(struct ux_job *ux, struct ux_dgram *d, int *anon)
{
	const char *p = d->queue->bytes, *end = p + d->queue->len;
	const char *name = d->own.sun_path[0] ? d->own.sun_path : d->own.sun_path + 1;
	struct sock_msg m;
	int from;

	if (d->queue->used)
		return 0;
	d->queue->used = 1;
	while (p < end) {
		if (sock_msg_next(&p, end, &m) < 0)
			return warn("pid %d: fd %d: unix socket %llu (%s): member %s is not its messages",
				    (int)d->pid, d->fdno, (unsigned long long)d->ino, name, d->queue->name), -1;
		if (!m.from && *anon < 0 && (*anon = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			return warn("socket:"), -1;
		if ((from = m.from ? dgram_sender(ux, m.from, m.fromlen) : *anon) < 0)
			return warn("pid %d: fd %d: unix socket %llu (%s): a message queued from %.*s, which no datagram socket of the job is bound to: it could not be sent again from there",
				    (int)d->pid, d->fdno, (unsigned long long)d->ino, name, (int)m.fromlen, m.from), -1;
		if (sock_send_room(from, m.bytes, m.len, &d->own, d->ownlen) != (ssize_t)m.len)
			return warn("pid %d: fd %d: unix socket %llu (%s): its queued messages sent again:",
				    (int)d->pid, d->fdno, (unsigned long long)d->ino, name), -1;
	}
	return 0;
}

/* every datagram queue sent again (before the connects: a socket
 * connected since takes only its peer's), then each connect(2) */
static int dgrams_settle(struct ux_job *ux)
{
	struct ux_dgram *d;
	int anon = -1, r = 0, err;
	unsigned i;

	for (i = 0; i < ux->nd && !r; i++)
		if (ux->d[i].queue)
			r = dgram_refill(ux, &ux->d[i], &anon);
	if (anon >= 0)
		close(anon);
	for (i = 0; i < ux->nd && !r; i++) {
		d = &ux->d[i];
		if (!d->peerlen)
			continue;
		if (fdplan_fs_ready(d->plan, d->pid) < 0)
			return -1;
		if ((err = jobfs_sock_connect(&d->plan->fs, d->fd, &d->peer, d->peerlen)) < 0) {
			warnerr(err, "pid %d: fd %d: unix socket %llu: connect to %s%s again:", (int)d->pid,
				d->fdno, (unsigned long long)d->ino, d->peer.sun_path[0] ? "" : "@",
				d->peer.sun_path[0] ? d->peer.sun_path : d->peer.sun_path + 1);
			r = -1;
		}
	}
	return r;
}

/* A listener that no process had any more (closed after its accepts):
 * made only to connect through it, closed now, and its path as it was
 * before the restore (the socket file the killed job left, or none) */
static int listener_drop(struct ux_listener *l)
{
	int err;

	close(l->fd);
	l->fd = -1;
	if (!l->a.sun_path[0])
		return 0;   /* an abstract name goes with the socket */
	if (fdplan_fs_ready(l->plan, l->pid) < 0)
		return -1;
	if ((err = jobfs_sock_unbind(&l->plan->fs, l->a.sun_path)) < 0)
		return warnerr(err, "pid %d: fd %d: unix socket: %s, bound to connect through it again:",
			       (int)l->pid, l->fdno, l->a.sun_path), -1;
	return 0;
}

int unixsock_settle(struct fdjob *job)
{
	struct ux_job *ux = job->ux;
	unsigned i;

	for (i = 0; ux && i < ux->nl; i++)
		if (!ux->l[i].ino && listener_drop(&ux->l[i]) < 0)
			return -1;
	for (i = 0; ux && i < ux->nl; i++)
		if (ux->l[i].ino && listener_queue(ux, &ux->l[i]) < 0)
			return -1;
	for (i = 0; ux && i < ux->nc; i++)
		if (ux->c[i].listener)
			return warn("pid %d: fd %d: unix socket %llu: waiting in the backlog of socket %llu, which no process of the job listens on",
				    (int)ux->c[i].pid, ux->c[i].fdno, (unsigned long long)ux->c[i].ino,
				    (unsigned long long)ux->c[i].listener), -1;
	return ux ? dgrams_settle(ux) : 0;
}

void unixsock_free(struct fdjob *job)
{
	struct ux_job *ux = job->ux;
	unsigned i;

	if (!ux)
		return;
	for (i = 0; i < ux->nl; i++) {
		if (ux->l[i].fd >= 0)
			close(ux->l[i].fd);
		free(ux->l[i].pending);
	}
	for (i = 0; i < ux->nc; i++)
		close(ux->c[i].fd);
	for (i = 0; i < ux->nd; i++)
		close(ux->d[i].fd);
	free(ux->d);
	free(ux->l);
	free(ux->c);
	free(ux);
	job->ux = NULL;
}
