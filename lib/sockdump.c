/* sockdump.c - a socket's fields and queued bytes, for ckpt-dumpfds
 * (sockdump.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "err.h"
#include "escape.h"
#include "fdinfo.h"
#include "num.h"
#include "sockdiag.h"
#include "sockdump.h"
#include "u64index.h"

static const char *domain_name(int d)
{
	switch (d) {
	case AF_UNIX: return "unix";
	case AF_INET: return "inet";
	case AF_INET6: return "inet6";
	case AF_NETLINK: return "netlink";
	case AF_PACKET: return "packet";
	}
	return NULL;
}

static const char *type_name(int t)
{
	switch (t) {
	case SOCK_STREAM: return "stream";
	case SOCK_DGRAM: return "dgram";
	case SOCK_SEQPACKET: return "seqpacket";
	case SOCK_RAW: return "raw";
	}
	return NULL;
}

/* a socket address as text: a unix path (escaped), "@name" for an
 * abstract one, ADDR:PORT for inet, [ADDR]:PORT for inet6; 0 when
 * there is nothing to say (unnamed, or another family) */
static int sockaddr_text(const struct sockaddr_storage *ss, socklen_t len,
			 char *out, size_t cap)
{
	const struct sockaddr_un *un = (const void *)ss;
	const struct sockaddr_in *in = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	char name[sizeof un->sun_path + 2], a[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_UNIX && len > off) {
		name[0] = '@';
		if (un->sun_path[0])
			snprintf(name, sizeof name, "%.*s", (int)(len - off), un->sun_path);
		else
			snprintf(name + 1, sizeof name - 1, "%.*s", (int)(len - off - 1), un->sun_path + 1);
		return str_escape(name, out, cap) == 0;
	}
	if (ss->ss_family == AF_INET && inet_ntop(AF_INET, &in->sin_addr, a, sizeof a))
		return snprintf(out, cap, "%s:%u", a, ntohs(in->sin_port)) < (int)cap;
	if (ss->ss_family == AF_INET6 && inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a))
		return snprintf(out, cap, "[%s]:%u", a, ntohs(in6->sin6_port)) < (int)cap;
	return 0;
}

static int sockopt_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		return -1;
	return v;
}

/* a unix answer's message and attributes, given to fn */
struct unix_each {
	int (*fn)(const struct unix_diag_msg *, struct rtattr *, int, void *);
	void *arg;
};

static int unix_each_got(const struct nlmsghdr *nh, void *arg)
{
	struct unix_each *e = arg;
	int len;

	if (nh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
		return -1;
	len = nh->nlmsg_len - NLMSG_LENGTH(sizeof(struct unix_diag_msg));
	return e->fn(NLMSG_DATA(nh), (struct rtattr *)((char *)NLMSG_DATA(nh) +
		     NLMSG_ALIGN(sizeof(struct unix_diag_msg))), len, e->arg);
}

/* Each answer of sock_diag to a request for unix socket ino (dump: for
 * every unix socket; states: the TCP_* bits wanted) with the
 * attributes of show, given to fn until it returns nonzero: that, or
 * 0 when none did, or -1 when the kernel does not answer. */
static int unix_diag_each(uint64_t ino, int dump, unsigned states, unsigned show,
			  int (*fn)(const struct unix_diag_msg *, struct rtattr *, int, void *),
			  void *arg)
{
	struct {
		struct nlmsghdr nh;
		struct unix_diag_req r;
	} req = {
		.nh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0) },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = states, .udiag_ino = ino,
		       .udiag_show = show, .udiag_cookie = { -1U, -1U } },
	};
	struct unix_each e = { fn, arg };

	return sockdiag_query(&req, sizeof req, unix_each_got, &e);
}

static int info_take(const struct unix_diag_msg *m, struct rtattr *a, int len, void *arg)
{
	struct sock_unix_info *u = arg;
	struct unix_diag_rqlen rq;
	struct unix_diag_vfs vfs;

	u->type = m->udiag_type;
	u->state = m->udiag_state;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4)
			u->has_peer = 1, u->peer = *(uint32_t *)RTA_DATA(a);
		if (a->rta_type == UNIX_DIAG_SHUTDOWN && RTA_PAYLOAD(a) >= 1)
			u->has_shut = 1, u->shut = *(uint8_t *)RTA_DATA(a) & 3;
		if (a->rta_type == UNIX_DIAG_RQLEN && RTA_PAYLOAD(a) >= sizeof rq) {
			memcpy(&rq, RTA_DATA(a), sizeof rq);
			u->has_rq = 1, u->rqueue = rq.udiag_rqueue, u->wqueue = rq.udiag_wqueue;
		}
		if (a->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD(a) >= sizeof vfs) {
			memcpy(&vfs, RTA_DATA(a), sizeof vfs);
			u->has_vfs = 1, u->vfs_ino = vfs.udiag_vfs_ino, u->vfs_dev = vfs.udiag_vfs_dev;
		}
		if (a->rta_type == UNIX_DIAG_NAME && RTA_PAYLOAD(a) > 0) {
			const char *s = RTA_DATA(a);
			int n = RTA_PAYLOAD(a) < sizeof u->name - 1 ? RTA_PAYLOAD(a) : sizeof u->name - 1;

			u->named = 1;
			if (s[0])
				snprintf(u->name, sizeof u->name, "%.*s", n, s);
			else
				snprintf(u->name, sizeof u->name, "@%.*s", n - 1, s + 1);
		}
	}
	return 1;
}

#define INFO_SHOW (UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | UDIAG_SHOW_NAME | UDIAG_SHOW_VFS)

int sock_unix_diag(uint64_t ino, struct sock_unix_info *u)
{
	memset(u, 0, sizeof *u);
	return unix_diag_each(ino, 0, -1U, INFO_SHOW, info_take, u) == 1 ? 0 : -1;
}

/* Every unix socket of the machine as one dump of sock_diag gave it,
 * by inode, for the process that took it (a stage forked later takes
 * its own): a query for one socket makes the kernel walk its whole
 * table of them, and 2000 sockets took 0.3 s to check and dump that
 * way (bench/sockets). */
static struct snap {
	pid_t pid;                 /* whose, or 0: none */
	struct sock_unix_info *v;
	uint64_t *ino;
	unsigned n, cap;
	struct u64index by_ino;
} snap;

static int snap_take(const struct unix_diag_msg *m, struct rtattr *a, int len, void *arg)
{
	struct sock_unix_info *nv;
	uint64_t *ni;

	(void)arg;
	if (snap.n == snap.cap) {
		snap.cap = snap.cap ? 2 * snap.cap : 256;
		if (!(nv = realloc(snap.v, snap.cap * sizeof *nv)) ||
		    !(ni = realloc(snap.ino, snap.cap * sizeof *ni)))
			die("out of memory");
		snap.v = nv;
		snap.ino = ni;
	}
	memset(&snap.v[snap.n], 0, sizeof *snap.v);
	info_take(m, a, len, &snap.v[snap.n]);
	snap.ino[snap.n] = m->udiag_ino;
	if (u64index_put(&snap.by_ino, m->udiag_ino, snap.n) < 0)
		die("out of memory");
	snap.n++;
	return 0;
}

int sock_unix_seen(uint64_t ino, struct sock_unix_info *u)
{
	int i;

	if (snap.pid != getpid()) {
		snap.n = 0;
		u64index_free(&snap.by_ino);
		snap.pid = unix_diag_each(0, 1, -1U, INFO_SHOW, snap_take, NULL) == 0 ? getpid() : 0;
	}
	if (!snap.pid)
		return sock_unix_diag(ino, u);   /* no dump: one by one */
	/* not there: no unix socket (a TCP one, say: asking the kernel
	 * would walk its table to say so) */
	if ((i = u64index_get(&snap.by_ino, ino)) < 0)
		return -1;
	*u = snap.v[i];
	return 0;
}

struct icons {
	uint64_t want, *v;         /* a client to find, or the list to fill */
	int max, n;
	uint64_t listener;
};

static int icons_take(const struct unix_diag_msg *m, struct rtattr *a, int len, void *arg)
{
	struct icons *ic = arg;
	uint32_t *c;
	size_t i;

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != UNIX_DIAG_ICONS)
			continue;
		c = RTA_DATA(a);
		for (i = 0; i < RTA_PAYLOAD(a) / 4; i++) {
			if (ic->want && c[i] == ic->want)
				return ic->listener = m->udiag_ino, 1;
			if (ic->v && ic->n < ic->max)
				ic->v[ic->n] = c[i];
			ic->n++;
		}
	}
	return ic->v ? 1 : 0;
}

uint64_t sock_unix_listener(uint64_t client)
{
	struct icons ic = { .want = client };

	/* 1 << TCP_LISTEN: the listening sockets only */
	return unix_diag_each(0, 1, 1U << 10, UDIAG_SHOW_ICONS, icons_take, &ic) == 1 ?
	       ic.listener : 0;
}

struct vfs_want {
	uint32_t ino, dev;
};

static int vfs_take(const struct unix_diag_msg *m, struct rtattr *a, int len, void *arg)
{
	const struct vfs_want *w = arg;
	struct unix_diag_vfs vfs;

	(void)m;
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type != UNIX_DIAG_VFS || RTA_PAYLOAD(a) < sizeof vfs)
			continue;
		memcpy(&vfs, RTA_DATA(a), sizeof vfs);
		if (vfs.udiag_vfs_ino == w->ino && vfs.udiag_vfs_dev == w->dev)
			return 1;
	}
	return 0;
}

int sock_unix_bound_at(dev_t dev, ino_t ino)
{
	struct vfs_want w = { ino, major(dev) << 20 | minor(dev) };

	return unix_diag_each(0, 1, -1U, UDIAG_SHOW_VFS, vfs_take, &w);
}

int sock_unix_pending(uint64_t ino, uint64_t *v, int max)
{
	struct icons ic = { .v = v, .max = max };

	return unix_diag_each(ino, 0, -1U, UDIAG_SHOW_ICONS, icons_take, &ic) == 1 ? ic.n : -1;
}

/* The mode of the file that a unix socket bound to path made, when the
 * path still leads to it (sock_diag's inode of it; the kernel's dev_t
 * is MAJOR << 20 | MINOR): a restore binds it again there with that
 * mode.  -1 when the name was unlinked, or is another file now. */
static int sock_file_mode(const char *path, const struct sock_unix_info *u)
{
	struct stat st;

	if (!u->has_vfs || path[0] != '/' || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    st.st_ino != u->vfs_ino || major(st.st_dev) != u->vfs_dev >> 20 ||
	    minor(st.st_dev) != (u->vfs_dev & 0xfffff))
		return -1;
	return st.st_mode & 07777;
}

static int name_take(const struct unix_diag_msg *m, struct rtattr *a, int len, void *arg)
{
	struct sock_unix_info t = { 0 };

	info_take(m, a, len, &t);
	return t.named && !strcmp(t.name, arg);
}

/* Which end of a connection between two named sockets accept(2) gave:
 * the one whose name a listening socket has (a client bound to a name
 * of its own has another).  " accepted=1" or "=0"; nothing when no
 * listener has either name (closed since). */
static void describe_accepted(struct fd_desc *d, const struct sock_unix_info *u)
{
	struct sock_unix_info pu;
	char name[sizeof u->name];

	if (u->state != 1 || !u->peer || !u->named || u->type == SOCK_DGRAM ||
	    sock_unix_seen(u->peer, &pu) < 0 || !pu.named)
		return;
	snprintf(name, sizeof name, "%s", u->name);
	if (unix_diag_each(0, 1, 1U << 10, UDIAG_SHOW_NAME, name_take, name) == 1)
		extra_add(d, " accepted=1");
	else if (snprintf(name, sizeof name, "%s", pu.name) >= 0 &&
		 unix_diag_each(0, 1, 1U << 10, UDIAG_SHOW_NAME, name_take, name) == 1)
		extra_add(d, " accepted=0");
}

/* a listening socket's backlog and the clients queued to it, in the
 * order accept(2) takes them */
static void describe_listener(struct fd_desc *d, const struct sock_unix_info *u)
{
	uint64_t v[SOCK_PENDING_MAX];
	int n = sock_unix_pending(d->st.st_ino, v, SOCK_PENDING_MAX), i;

	extra_add(d, " backlog=%u", (unsigned)u->wqueue);
	if (n > SOCK_PENDING_MAX) {
		extra_add(d, " pending=more");   /* refused by ckpt-freeze */
		return;
	}
	for (i = 0; i < n; i++)
		extra_add(d, "%s%llu", i ? "," : " pending=", (unsigned long long)v[i]);
}

/* What only sock_diag tells of a unix socket: the inode of its peer
 * (which pairs the ends of a socketpair across processes), whether
 * that peer was closed (connected, and the kernel names no peer), the
 * bytes queued to it and its shutdown state; a listening socket's
 * backlog and queued clients; a client whose connection waits in a
 * backlog (connected, no peer inode: the server's end has no file
 * yet), its listener.  Adds nothing on failure. */
static void describe_unix_peer(struct fd_desc *d, const char *addr)
{
	struct sock_unix_info u;
	uint64_t listener = 0;
	int mode;

	if (sock_unix_seen(d->st.st_ino, &u) < 0)
		return;
	if (u.has_peer)
		extra_add(d, " peer_ino=%u", (unsigned)u.peer);
	if (u.has_rq)   /* in the kernel's order of its attributes */
		extra_add(d, " rqueue=%u", (unsigned)u.rqueue);
	if (u.has_shut)
		extra_add(d, " shutdown=%d", u.shut);
	if (u.has_peer && !u.peer && u.state == 1 && u.type != SOCK_DGRAM)
		listener = sock_unix_listener(d->st.st_ino);
	if (listener)
		extra_add(d, " listener=%llu", (unsigned long long)listener);
	else if (u.has_peer && !u.peer && u.state == 1)
		extra_add(d, " peer_closed=1");
	if (u.state == 10)
		describe_listener(d, &u);
	describe_accepted(d, &u);
	if (addr && (mode = sock_file_mode(addr, &u)) >= 0)
		extra_add(d, " sockfile=0%o", (unsigned)mode);
}

/* a socket's kind and names as sock_describe writes them */
struct sock_names {
	int dom, type, proto, listen;
	char addr[4 * sizeof(struct sockaddr_storage) + 8];   /* as text, "": none */
	char peer[4 * sizeof(struct sockaddr_storage) + 8];
	char own[sizeof(struct sockaddr_storage)];   /* a unix socket's path, or "" */
};

/* n->peer from getpeername */
static void peer_asked(int fd, struct sock_names *n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(&ss, 0, sizeof ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !sockaddr_text(&ss, len, n->peer, sizeof n->peer))
		n->peer[0] = 0;
}

/* n from getsockopt, getsockname and getpeername */
static void names_asked(int fd, struct sock_names *n)
{
	struct sockaddr_storage ss;
	const struct sockaddr_un *un = (const void *)&ss;
	size_t sun_off = offsetof(struct sockaddr_un, sun_path);
	socklen_t len = sizeof ss;

	n->type = sockopt_int(fd, SO_TYPE);
	n->proto = sockopt_int(fd, SO_PROTOCOL);
	n->listen = sockopt_int(fd, SO_ACCEPTCONN) == 1;
	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !sockaddr_text(&ss, len, n->addr, sizeof n->addr))
		n->addr[0] = 0;
	if (n->dom == AF_UNIX && ss.ss_family == AF_UNIX && len > sun_off && un->sun_path[0])
		snprintf(n->own, sizeof n->own, "%.*s", (int)(len - sun_off), un->sun_path);
	peer_asked(fd, n);
}

/* n for unix socket fd (inode ino) from the sock_diag dump
 * (sock_unix_seen), as the calls would give it: its type, listening
 * when its state is TCP_LISTEN, its name, its peer's (getpeername
 * gives the peer's address).  A unix socket's protocol is always 0.
 * A peer the dump names no inode of (none, or closed: a datagram
 * socket's peer stays its peer) is asked.  0, or -1 when the dump
 * does not have it (then the calls tell): 7 calls a socket were a
 * fifth of what 2200 sockets cost. */
static int names_seen(int fd, uint64_t ino, struct sock_names *n)
{
	struct sock_unix_info u, pu;

	if (sock_unix_seen(ino, &u) < 0 || (u.peer && sock_unix_seen(u.peer, &pu) < 0))
		return -1;
	n->type = u.type;
	n->proto = 0;
	n->listen = u.state == 10;
	if (u.named && str_escape(u.name, n->addr, sizeof n->addr) < 0)
		return -1;
	if (u.named && u.name[0] == '/')
		snprintf(n->own, sizeof n->own, "%s", u.name);
	if (!u.peer)
		peer_asked(fd, n);
	else if (pu.named && str_escape(pu.name, n->peer, sizeof n->peer) < 0)
		return -1;
	return 0;
}

void sock_describe(struct fd_desc *d, int *dom, int *type)
{
	struct sock_names n;

	memset(&n, 0, sizeof n);
	n.dom = sockopt_int(d->local, SO_DOMAIN);
	if (n.dom != AF_UNIX || names_seen(d->local, d->st.st_ino, &n) < 0) {
		memset(&n.addr, 0, sizeof n - offsetof(struct sock_names, addr));
		names_asked(d->local, &n);
	}
	*dom = n.dom;
	*type = n.type;
	extra_add(d, " sock=%llu", (unsigned long long)d->st.st_ino);
	if (domain_name(n.dom))
		extra_add(d, " domain=%s", domain_name(n.dom));
	else
		extra_add(d, " domain=%d", n.dom);
	if (type_name(n.type))
		extra_add(d, " type=%s", type_name(n.type));
	else
		extra_add(d, " type=%d", n.type);
	extra_add(d, " proto=%d listen=%d", n.proto, n.listen);
	if (n.addr[0])
		extra_add(d, " addr=%s", n.addr);
	if (n.peer[0])
		extra_add(d, " peer=%s", n.peer);
	if (n.dom == AF_UNIX)
		describe_unix_peer(d, n.own[0] ? n.own : NULL);
	if (n.dom == AF_UNIX && sockopt_int(d->local, SO_PASSCRED) == 1)
		extra_add(d, " passcred=1");
}

/* One peek at the queue of a unix socket, from the peek offset on:
 * the bytes (of a dgram or seqpacket socket, one message, or its next
 * piece when it is longer than cap: *more then), -EAGAIN when nothing
 * is left, or -errno; -EXDEV when fds ride with them (SCM_RIGHTS): the
 * copies the peek gave us are closed. */
static ssize_t sock_peek_one(int local, char *buf, size_t cap, int *more,
			     struct sockaddr_storage *from, socklen_t *fromlen)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(253 * sizeof(int))]; } ctl;
	struct iovec iov = { buf, cap };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			    .msg_controllen = sizeof ctl.b, .msg_name = from,
			    .msg_namelen = from ? sizeof *from : 0 };
	struct cmsghdr *c;
	ssize_t n = recvmsg(local, &m, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fds = 0, *fd;
	size_t i;

	if (n < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		fd = (int *)CMSG_DATA(c);
		for (i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++, fds++)
			close(fd[i]);
	}
	if (fds || (m.msg_flags & MSG_CTRUNC))
		return -EXDEV;
	*more = !!(m.msg_flags & MSG_TRUNC);
	if (fromlen)
		*fromlen = m.msg_namelen;
	return n;
}

/* One whole message into f, as "LEN\n" (its sender named: "LEN FROM\n",
 * the sender's address as text) then its bytes: a peek that
 * truncates moves the peek offset by what it copied, and the next one
 * goes on in the same message (as on this machine's 6.18).
 * Its length, or what sock_peek_one said (0: a zero-length one). */
static ssize_t msg_put(int local, char *buf, size_t cap, FILE *f)
{
	struct sockaddr_storage from;
	socklen_t fromlen = 0;
	char *whole = NULL, text[4 * sizeof from + 8];
	size_t wlen = 0;
	ssize_t n = 0;
	int more = 1, first = 1;
	FILE *w = open_memstream(&whole, &wlen);

	if (!w)
		return -ENOMEM;
	memset(&from, 0, sizeof from);
	while (more && (n = sock_peek_one(local, buf, cap, &more, first ? &from : NULL,
					  first ? &fromlen : NULL)) > 0) {
		fwrite(buf, 1, n, w);
		first = 0;
	}
	if (fclose(w) != 0)
		n = -ENOMEM;
	if (n > 0 && sockaddr_text(&from, fromlen, text, sizeof text))
		fprintf(f, "%zu %s\n", wlen, text);
	else if (n > 0)
		fprintf(f, "%zu\n", wlen);
	if (n > 0) {
		fwrite(whole, 1, wlen, f);
		n = wlen;
	}
	free(whole);
	return n;
}

/* The bytes queued to unix socket local, left in place: SO_PEEK_OFF
 * walks the queue (kernel/NOTES.md row 8) and is put back as it was,
 * since the offset is the socket's, the program's too.  A dgram or
 * seqpacket socket's messages each as "LEN\n" and LEN bytes, so that
 * their boundaries come back (formats/fds.md).  NULL with *err 0 when
 * nothing is queued, else *err -errno (-EXDEV: fds in flight). */
char *sock_peek(int local, int stream, size_t *len, int *err)
{
	static char msg[256 * 1024];
	int off = -1, zero = 0, more;
	socklen_t ol = sizeof off;
	char *out = NULL;
	size_t olen = 0;
	FILE *f;
	ssize_t n;

	*len = 0;
	if (getsockopt(local, SOL_SOCKET, SO_PEEK_OFF, &off, &ol) < 0 ||
	    setsockopt(local, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) < 0)
		return *err = -errno, NULL;
	if (!(f = open_memstream(&out, &olen)))
		return *err = -ENOMEM, NULL;
	/* a stream's 0 is its end (shut down); a zero-length datagram
	 * cannot be stepped over by the offset: refused */
	while ((n = stream ? sock_peek_one(local, msg, sizeof msg, &more, NULL, NULL) :
			     msg_put(local, msg, sizeof msg, f)) > 0)
		if (stream)
			fwrite(msg, 1, n, f);
	*err = n == -EAGAIN || (n == 0 && stream) ? 0 : n == 0 ? -ENOMSG : (int)n;
	setsockopt(local, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof off);
	if (fclose(f) != 0 && !*err)
		*err = -ENOMEM;
	if (*err || !olen) {
		free(out);
		return NULL;
	}
	*len = olen;
	return out;
}

char *sock_peek_stream(int local, long queued, size_t *len, int *err)
{
	int off = -1, more = 0;
	socklen_t ol = sizeof off;
	char *buf;
	ssize_t n;

	*len = 0;
	*err = 0;
	if (queued == 0)
		return NULL;
	/* the peek offset unused (-1, as programs leave it): a peek reads
	 * from the head and moves nothing.  One byte more than counted
	 * tells that nothing more came meanwhile. */
	if (queued < 0 || getsockopt(local, SOL_SOCKET, SO_PEEK_OFF, &off, &ol) < 0 || off != -1 ||
	    !(buf = malloc(queued + 1)))
		return sock_peek(local, 1, len, err);
	n = sock_peek_one(local, buf, queued + 1, &more, NULL, NULL);
	if (n == queued) {
		*len = n;
		return buf;
	}
	free(buf);
	if (n == -EXDEV)
		return *err = n, NULL;
	return sock_peek(local, 1, len, err);   /* less (a boundary the peek stops at), or more */
}

/* the number after " KEY=" in a line's fields, or 0 */
static uint64_t extra_num(const struct fd_desc *x, const char *key)
{
	char pat[32];
	const char *p;
	uint64_t v;
	size_t n = snprintf(pat, sizeof pat, " %s=", key);

	for (p = x->extra; (p = strstr(p, pat)); p += n) {
		const char *q = p + n;
		if (num_scan(&q, q + strlen(q), 10, UINT64_MAX, &v) == 0)
			return v;
	}
	return 0;
}

long sock_queued(const struct fd_desc *x)
{
	const char *p = strstr(x->extra, " rqueue=");
	uint64_t v;

	if (!p)
		return -1;
	p += 8;
	return num_scan(&p, p + strlen(p), 10, LONG_MAX, &v) == 0 ? (long)v : -1;
}

uint64_t sock_unix_peer(const struct fd_desc *x)
{
	if (x->kind != FD_SOCKET || !strstr(x->extra, " domain=unix "))
		return 0;
	return extra_num(x, "peer_ino");
}

/* why a queue that the peek could not copy whole is refused */
static const char *peek_why(int err)
{
	switch (err) {
	case -EXDEV: return "has fds in flight (SCM_RIGHTS) queued: a restore could not bring them back";
	case -ENOMSG: return "has a zero-length datagram queued, which the peek cannot step over";
	}
	return NULL;
}

/* A message the peek cannot see: the kernel's peek offset steps over a
 * zero-length datagram that was peeked before, or that lies past the
 * offset, without a word.  Only the sender's count of what it has in
 * flight (its skbs, not yet read, overhead included) tells: when the
 * peek saw nothing, the peer must have nothing in flight to us. */
static int queue_hidden(const struct fd_desc *x, const char *bytes)
{
	struct sock_unix_info u;

	if (bytes || strstr(x->extra, " type=stream "))
		return 0;
	/* only a peer that is connected back sends to x alone (a pair):
	 * a named server's sends go to others too */
	return sock_unix_seen(sock_unix_peer(x), &u) == 0 && u.has_rq && u.wqueue > 0 &&
	       u.peer == x->st.st_ino;
}

/* A queue whose reader gets its senders' credentials (SO_PASSCRED:
 * SCM_CREDENTIALS on each message) would be read with ckpt-thaw's
 * after a restore, which resends it: refused.  fds in flight
 * (SCM_RIGHTS) would be lost: refused too, both before --kill could
 * end the program. */
int sock_queue_copy(pid_t pid, const struct fd_desc *x, char **bytes, size_t *len)
{
	int err;

	if (strstr(x->extra, " type=stream "))
		*bytes = sock_peek_stream(x->local, sock_queued(x), len, &err);
	else
		*bytes = sock_peek(x->local, 0, len, &err);
	if (peek_why(err)) {
		warn("pid %d fd %d: unix socket %llu %s: refused", (int)pid, x->fd,
		     (unsigned long long)x->st.st_ino, peek_why(err));
		return -1;
	}
	if (!err && queue_hidden(x, *bytes)) {
		warn("pid %d fd %d: unix socket %llu has a message queued that the peek cannot see (a zero-length datagram): refused",
		     (int)pid, x->fd, (unsigned long long)x->st.st_ino);
		return -1;
	}
	if (*bytes && strstr(x->extra, " passcred=1")) {   /* sock_describe's SO_PASSCRED */
		warn("pid %d fd %d: unix socket %llu has messages queued with their senders' credentials (SO_PASSCRED, SCM_CREDENTIALS): a restore would resend them as ckpt-thaw's: refused",
		     (int)pid, x->fd, (unsigned long long)x->st.st_ino);
		free(*bytes);
		*bytes = NULL;
		return -1;
	}
	if (err < 0) {
		warnerr(err, "pid %d fd %d: unix socket %llu: copying its queued bytes:",
			(int)pid, x->fd, (unsigned long long)x->st.st_ino);
		return -1;
	}
	return 0;
}

int sock_queue_saved(const struct fd_desc *x, int here, int first)
{
	int closed = x->kind == FD_SOCKET && strstr(x->extra, " domain=unix ") &&
		     strstr(x->extra, " peer_closed=1");

	int named_dgram = x->kind == FD_SOCKET && strstr(x->extra, " domain=unix ") &&
			  strstr(x->extra, " type=dgram ") && strstr(x->extra, " addr=");

	if (!sock_unix_peer(x) && !closed && !named_dgram)
		return 0;
	if (here)
		return 1;
	return x->fd > 2 || !first;
}
