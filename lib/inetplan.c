/* inetplan.c - TCP and UDP sockets back (formats/fds.md, "Internet
 * sockets"; inetplan.h) */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdplan.h"
#include "inetdump.h"
#include "inetplan.h"
#include "num.h"
#include "tcpkeep.h"
#include "tcpwait.h"
#include "u64index.h"
#include "udpqueue.h"

#define TCP_ESTABLISHED_ 1
#define TCP_CLOSE_ 7
#define TCP_LISTEN_ 10
#define RESET_WAIT_MS 2000   /* for the reset of a connection on loopback */
#define REFILL_WAIT_MS 1000  /* for room to put queued bytes back */

static const char *const state_names[] = {
	[1] = "established", [2] = "syn_sent", [3] = "syn_recv", [4] = "fin_wait1",
	[5] = "fin_wait2", [6] = "time_wait", [7] = "close", [8] = "close_wait",
	[9] = "last_ack", [10] = "listen", [11] = "closing",
};

static const struct { const char *key; unsigned bit; } opt_keys[] = {
	{ "reuseaddr", INET_OPT_REUSEADDR }, { "reuseport", INET_OPT_REUSEPORT },
	{ "v6only", INET_OPT_V6ONLY }, { "freebind", INET_OPT_FREEBIND },
	{ "broadcast", INET_OPT_BROADCAST }, { "keepalive", INET_OPT_KEEPALIVE },
	{ "nodelay", INET_OPT_NODELAY },
};

/* the index of name k in names (n of them, NULL ones skipped), or -1 */
static int name_index(const char *const *names, unsigned n, const char *k)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(k, names[i]))
			return i;
	return -1;
}

static int repair_allowed;

void inetplan_repair_allow(void)
{
	repair_allowed = 1;
}

static int state_parse(const char *v)
{
	return name_index(state_names, sizeof state_names / sizeof *state_names, v);
}

static const char *const size_keys[] = { "sndbuf", "rcvbuf", "keepidle", "keepintvl",
					 "keepcnt", "linger", "tos" };

/* which of the buffer, keepalive, linger and TOS keys k is, or -1 */
static int size_index(const char *k)
{
	return name_index(size_keys, sizeof size_keys / sizeof *size_keys, k);
}

/* size key i's value v: 1 taken, -1 malformed */
static int size_key(struct inet_keys *in, int i, const char *v)
{
	int *const to[] = { &in->sndbuf, &in->rcvbuf, &in->keep[0], &in->keep[1], &in->keep[2],
			    &in->linger, &in->tos };
	uint64_t n;

	if (num_parse(v, i == 6 ? 255 : NUM_INT_MAX, &n) < 0)
		return -1;
	*to[i] = n;
	in->has_linger |= i == 5;   /* linger=0 is a linger of 0 s */
	return 1;
}

/* the keys inetplan_key reads itself (beside tcprep_key's): those
 * below, opt_keys and size_keys */
static const char *const own_keys[] = { "domain", "state", "peer", "proto", "backlog",
					"defer_accept" };

static void own_add(struct u64index *x, const char *k, int *scan)
{
	if (u64index_put(x, u64index_hash(k), 1) < 0)
		*scan = 1;
}

/* whether k may be one of inetplan_key's own keys: by a hash of the
 * names (two dozen strcmp calls for each key of each line, of every
 * kind of fd, were a tenth of a restore of 2200 sockets); 1 whenever
 * the table could not be made */
static int own_key(const char *k)
{
	static struct u64index x;
	static int built, scan;
	unsigned i;

	if (!built) {
		for (i = 0; i < sizeof own_keys / sizeof *own_keys; i++)
			own_add(&x, own_keys[i], &scan);
		for (i = 0; i < sizeof opt_keys / sizeof *opt_keys; i++)
			own_add(&x, opt_keys[i].key, &scan);
		for (i = 0; i < sizeof size_keys / sizeof *size_keys; i++)
			own_add(&x, size_keys[i], &scan);
		built = 1;
	}
	return scan || u64index_get(&x, u64index_hash(k)) >= 0;
}

int inetplan_key(struct fdplan_fd *e, const char *k, const char *v)
{
	struct inet_keys *in = &e->inet;
	uint64_t n;
	unsigned i;
	int r, si;

	if ((r = tcprep_key(&in->rep, k, v)) != 0 || !own_key(k))
		return r;
	if (!strcmp(k, "domain")) {   /* fdplan.c reads it too */
		in->family = !strcmp(v, "inet") ? AF_INET : !strcmp(v, "inet6") ? AF_INET6 : 0;
		return 0;
	}
	for (i = 0; i < sizeof opt_keys / sizeof *opt_keys; i++)
		if (!strcmp(k, opt_keys[i].key)) {
			if (num_parse(v, 1, &n) < 0)
				return -1;
			in->opts = n ? in->opts | opt_keys[i].bit : in->opts & ~opt_keys[i].bit;
			return 1;
		}
	if (!strcmp(k, "state"))
		return (in->rep.state = in->state = state_parse(v)) < 0 ? -1 : 1;
	if ((si = size_index(k)) >= 0)
		return size_key(in, si, v);
	/* peer and backlog are a unix socket's keys too: taken here, and
	 * left for fdplan.c (0) */
	if (!strcmp(k, "peer")) {   /* one too long is no inet address */
		snprintf(in->peer, sizeof in->peer, "%s", v);
		return 0;
	}
	if (!strcmp(k, "proto") || !strcmp(k, "backlog") || !strcmp(k, "defer_accept")) {
		if (num_parse(v, NUM_INT_MAX, &n) < 0)
			return -1;
		*(!strcmp(k, "proto") ? &in->proto : !strcmp(k, "backlog") ? &in->backlog :
		  &in->defer_accept) = n;
		return strcmp(k, "backlog") ? 1 : 0;
	}
	return 0;
}

int inetplan_is(const struct fdplan_fd *e)
{
	return e->k == FD_SOCKET && e->inet.family;
}

/* "A.B.C.D:PORT" for inet, "[ADDR6]:PORT" for inet6: only the
 * socket's own family is taken (an IPv6 address in an inet socket is
 * refused).  0, or -1. */
static int addr_parse(int family, const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;
	char host[64];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t hl;

	memset(ss, 0, sizeof *ss);
	if (!colon || num_parse(colon + 1, 65535, &port) < 0)
		return -1;
	hl = colon - s;
	if (family == AF_INET6) {
		if (hl < 2 || s[0] != '[' || s[hl - 1] != ']')
			return -1;
		s++, hl -= 2;
	}
	if (hl >= sizeof host)
		return -1;
	memcpy(host, s, hl);
	host[hl] = 0;
	if (family == AF_INET && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		*len = sizeof *in;
		return 0;
	}
	if (family == AF_INET6 && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof *in6;
		return 0;
	}
	return -1;
}

static unsigned addr_port(const struct sockaddr_storage *ss)
{
	return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port :
					       ((const struct sockaddr_in6 *)ss)->sin6_port);
}

int inetplan_addr(int family, const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	return addr_parse(family, s, ss, len);
}

/* whether e was bound to a port (a socket never bound says port 0) */
static int has_port(const struct fdplan_fd *e)
{
	struct sockaddr_storage ss;
	socklen_t len;

	return addr_parse(e->inet.family, e->addr, &ss, &len) == 0 && addr_port(&ss);
}

/* a TCP connection (any state but listen and close) */
static int connected(const struct fdplan_fd *e)
{
	return e->socktype == SOCK_STREAM && e->inet.state && e->inet.state != TCP_LISTEN_ &&
	       e->inet.state != TCP_CLOSE_;
}

/* A connection still open at least one way: established, or half
 * closed (shutdown(SHUT_WR): fin_wait1 and fin_wait2 on the end that
 * shut, close_wait on its other end, which reads the end of file after
 * its bytes).  Such a pair with both ends in the job is made again and
 * the end that shut shuts again (shut_again). */
static int open_state(const struct fdplan_fd *e)
{
	int st = e->inet.state;

	return st == TCP_ESTABLISHED_ || st == 4 || st == 5 || st == 8;
}

/* fd, end e of a connection made again with every queued byte back:
 * shut down for writing when e had (its other end then reads the end
 * of file after its bytes).  0, or -1 */
static int shut_again(int fd, int state)
{
	return state == 4 || state == 5 ? shutdown(fd, SHUT_WR) : 0;
}

/* the fd line of the other end of TCP connection e, when that end is
 * a socket of this process too (owned by its own line), else NULL */
static struct fdplan_fd *tcp_peer(const struct fdplan *p, const struct fdplan_fd *e)
{
	unsigned i;

	if (!connected(e) || !open_state(e) || !e->peer)
		return NULL;
	for (i = 0; i < p->n; i++)
		if (&p->v[i] != e && p->v[i].k == FD_SOCKET && p->v[i].sock == e->peer &&
		    p->v[i].dup < 0 && !p->v[i].share_pid && p->v[i].peer == e->sock &&
		    p->v[i].inet.family == e->inet.family && open_state(&p->v[i]))
			return &p->v[i];
	return NULL;
}

const char *inetplan_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int tcp = e->socktype == SOCK_STREAM, proto = e->inet.proto;

	(void)p;
	if (!(tcp && (!proto || proto == IPPROTO_TCP)) &&
	    !(e->socktype == SOCK_DGRAM && (!proto || proto == IPPROTO_UDP)))
		return "only TCP and UDP sockets of the internet families can be";
	if (addr_parse(e->inet.family, e->addr, &ss, &len) < 0)
		return e->inet.family == AF_INET ? "its addr= is not an IPv4 address and port" :
		       "its addr= is not an [IPv6] address and port";
	if (e->inet.peer[0] && addr_parse(e->inet.family, e->inet.peer, &ss, &len) < 0)
		return "its peer= is not an address and port of its family";
	if (tcp && !e->inet.state)
		return "a TCP socket without its state=";
	if (tcp && e->inet.state == TCP_LISTEN_ && e->inet.peer[0])
		return "a listening TCP socket with a peer=";
	if (tcp && e->inet.state == TCP_LISTEN_ && !addr_port(&ss))
		return "a listening TCP socket on port 0";
	if (e->inet.rep.on && (!tcp || !tcprep_state_ok(e->inet.state) || !e->inet.peer[0]))
		return "repair=1 on what is not an established or half-closed TCP connection with its peer=";
	if (e->inet.rep.on)
		return tcprep_why_not(&e->inet.rep);
	if (e->data && !tcp && !has_port(e))
		return "queued datagrams (data=) on a UDP socket without a port";
	if (e->data && tcp && (!connected(e) || !open_state(e) || !e->peer))
		return "queued bytes (data=) on what is not a connection to a socket of this machine";
	return NULL;
}

/* Says why the image is refused, naming the fd and address (what
 * failed, and detail: why, or NULL), and marks errno as said
 * (ECANCELED), so the caller adds nothing. */
static int inet_refuse(int pid, const struct fdplan_fd *e, const char *what, const char *detail)
{
	warn("pid %d: fd %d: %s%s socket %s: %s%s%s", pid, e->fd,
	     e->socktype == SOCK_STREAM ? "tcp" : "udp", e->inet.family == AF_INET6 ? "6" : "",
	     e->addr, what, detail ? ": " : "", detail ? detail : "");
	errno = ECANCELED;
	return -1;
}

/* socket(2) as the job (jobfs.h): the fd, or -1 (said) */
static int job_socket(struct fdplan *p, const struct fdplan_fd *e, int pid)
{
	int fd;

	if (fdplan_fs_ready(p, pid) < 0)
		return errno = ECANCELED, -1;
	if ((fd = jobfs_socket(&p->fs, e->inet.family, e->socktype, e->inet.proto)) < 0)
		return errno = -fd, inet_refuse(pid, e, "socket", strerror(-fd));
	return fd;
}

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof v);
}

static int opt_get(int fd, int level, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;

	return getsockopt(fd, level, opt, &v, &len) < 0 ? -1 : v;
}

/* SO_SNDBUF or SO_RCVBUF as getsockopt gave it (twice what the program
 * asked): half of it asked again, and then it must read the same (a
 * net.core.wmem_max or rmem_max lower here would cap it).  0, or -1
 * (ENOBUFS: capped) */
static int buf_set(int fd, int opt, int v)
{
	if (!v)
		return 0;
	if (set_int(fd, SOL_SOCKET, opt, v / 2) < 0)
		return -1;
	return opt_get(fd, SOL_SOCKET, opt) == v ? 0 : (errno = ENOBUFS, -1);
}

/* The buffer sizes the program set, its keepalive times, SO_LINGER
 * and the TOS byte (formats/fds.md), as the image has them: 0, or -1 */
static int sizes_set(int fd, const struct fdplan_fd *e)
{
	static const int keep[3] = { TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT };
	const struct inet_keys *in = &e->inet;
	struct linger lg = { 1, in->linger };
	unsigned i;

	if (buf_set(fd, SO_SNDBUF, in->sndbuf) < 0 || buf_set(fd, SO_RCVBUF, in->rcvbuf) < 0)
		return -1;
	for (i = 0; i < 3; i++)
		if (in->keep[i] && set_int(fd, IPPROTO_TCP, keep[i], in->keep[i]) < 0)
			return -1;
	if (in->has_linger && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
		return -1;
	if (in->tos && set_int(fd, in->family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
			       in->family == AF_INET6 ? IPV6_TCLASS : IP_TOS, in->tos) < 0)
		return -1;
	return 0;
}

/* The options the image names, none that needs a privilege: each is one
 * the program could set itself.  IPV6_V6ONLY is set either way, so that
 * the machine's net.ipv6.bindv6only does not decide.  0, or -1. */
static int opts_set(int fd, const struct fdplan_fd *e)
{
	static const struct { unsigned bit; int level, opt; } t[] = {
		{ INET_OPT_REUSEADDR, SOL_SOCKET, SO_REUSEADDR },
		{ INET_OPT_REUSEPORT, SOL_SOCKET, SO_REUSEPORT },
		{ INET_OPT_BROADCAST, SOL_SOCKET, SO_BROADCAST },
		{ INET_OPT_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE },
		{ INET_OPT_NODELAY, IPPROTO_TCP, TCP_NODELAY },
	};
	unsigned o = e->inet.opts, i;
	int v6 = e->inet.family == AF_INET6;

	for (i = 0; i < sizeof t / sizeof *t; i++)
		if ((o & t[i].bit) && set_int(fd, t[i].level, t[i].opt, 1) < 0)
			return -1;
	/* an accepted end (a connection made again) is bound already, and
	 * has its listener's: the kernel lets it be */
	if (v6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, !!(o & INET_OPT_V6ONLY)) < 0 &&
	    errno != EINVAL)
		return -1;
	if ((o & INET_OPT_FREEBIND) &&
	    set_int(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, 1) < 0)
		return -1;
	if (e->inet.defer_accept > 0 &&
	    set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, e->inet.defer_accept) < 0)
		return -1;
	return sizes_set(fd, e);
}

static const char *bind_why(int err)
{
	switch (err) {
	case EADDRINUSE: return "address in use (another socket has it now)";
	case EADDRNOTAVAIL: return "address not available (no interface of this machine has it)";
	case EACCES: return "permission denied (a port the job's user may not take)";
	}
	return strerror(err);
}

/* A socket as the image says, before any connection: made as the job,
 * its options, bound where it was (as the job) when it had a port. */
static int open_bound(struct fdplan *p, struct fdplan_fd *e, int pid, struct sockaddr_storage *ss,
		      socklen_t len)
{
	int fd = job_socket(p, e, pid), err;

	if (fd < 0)
		return -1;
	if (opts_set(fd, e) < 0) {
		err = errno;
		close(fd);
		return inet_refuse(pid, e, "its options", err == ENOBUFS ?
				   "a buffer size (sndbuf=, rcvbuf=) above what net.core.wmem_max or "
				   "rmem_max lets a program set here" : strerror(err));
	}
	if (addr_port(ss) && (err = jobfs_bind(&p->fs, fd, ss, len)) < 0) {
		close(fd);
		if (err == -EADDRINUSE && e->socktype == SOCK_STREAM &&
		    inet_port_waiting(e->inet.family, addr_port(ss)))
			return inet_refuse(pid, e, "bind", "address in use by connections closed lately, "
					   "waiting in TIME_WAIT, which the program had not allowed to be "
					   "reused (no SO_REUSEADDR): try again in a minute");
		return inet_refuse(pid, e, "bind", bind_why(-err));
	}
	return fd;
}

/* A listener on loopback of family, on a port the kernel picks, made
 * by ckpt-thaw for the moment a connection takes: the fd, its address
 * in *ss, or -1 */
static int loopback_listener(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in = (void *)ss;
	struct sockaddr_in6 *in6 = (void *)ss;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(ss, 0, sizeof *ss);
	if (family == AF_INET) {
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof *in;
	} else {
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_loopback;
		*len = sizeof *in6;
	}
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)ss, len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The connection l accepts from fd, ours: any other process of the
 * machine may connect to the listener first (its port is no secret),
 * so what is accepted must come from fd's own address, or it is reset
 * and the next one taken.  The accepted end, or -1. */
static int accept_ours(int l, int fd)
{
	struct sockaddr_storage mine, from;
	socklen_t ml = sizeof mine, fl;
	struct linger lg = { 1, 0 };
	int a, i;

	memset(&mine, 0, sizeof mine);
	if (getsockname(fd, (struct sockaddr *)&mine, &ml) < 0)
		return -1;
	for (i = 0; i < 8; i++) {
		fl = sizeof from;
		memset(&from, 0, sizeof from);
		if ((a = accept4(l, (struct sockaddr *)&from, &fl, SOCK_CLOEXEC)) < 0)
			return -1;
		if (fl == ml && !memcmp(&from, &mine, ml))
			return a;
		setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(a);
	}
	return errno = EADDRINUSE, -1;
}

/* fd connected to a loopback listener of its family: the accepted end,
 * or -1 */
static int loopback_connect(int fd, int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l = loopback_listener(family, &ss, &len), a = -1;

	if (l < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0)
		a = accept_ours(l, fd);
	close(l);
	return a;
}

/* The bytes of member name, queued to one end at the checkpoint, sent
 * through the other end, from, so that they are queued again (the
 * kernel grows the sender's buffer as they go: 160 kB and 320 kB measured to go
 * in whole).  0, or -1 with errno (EAGAIN: they no longer fit: no
 * room came for a second). */
static int refill(struct fdplan *p, const char *name, int from)
{
	struct fd_blob *b = blob_find(p, name);
	struct pollfd pf = { .fd = from, .events = POLLOUT };
	size_t off = 0;
	ssize_t n;

	if (!name)
		return 0;
	if (!b || !b->bytes)
		return errno = ENODATA, -1;
	while (off < b->len) {
		n = send(from, b->bytes + off, b->len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n < 0 && errno == EAGAIN && poll(&pf, 1, REFILL_WAIT_MS) == 0)
			return errno = EAGAIN, -1;
	}
	b->used = 1;
	return 0;
}

/* The other end a of a connection on loopback closed with SO_LINGER
 * 0: a reset, which fd has once poll says POLLERR.  0, or -1 with
 * errno (ETIMEDOUT: no reset came). */
static int reset_from(int a, int fd)
{
	struct linger lg = { 1, 0 };
	/* no events asked: POLLIN would end the wait at once when bytes
	 * were put back before the reset is seen; POLLERR comes anyway */
	struct pollfd pf = { .fd = fd, .events = 0 };
	int err;

	if (setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0) {
		err = errno;
		close(a);
		return errno = err, -1;
	}
	close(a);
	while (poll(&pf, 1, RESET_WAIT_MS) < 0 && errno == EINTR)
		;
	return pf.revents & POLLERR ? 0 : (errno = ETIMEDOUT, -1);
}

int inetplan_reset_fd(int fd, int family)
{
	int a = loopback_connect(fd, family);

	return a < 0 ? -1 : reset_from(a, fd);
}

/* A connection to outside the job, by default (formats/fds.md): a
 * socket whose next read or write fails with ECONNRESET, so that the
 * program's own reconnect logic runs.  It is connected on loopback
 * and reset from the other end; the bytes that were queued to it (when
 * its peer was a socket of this machine) come first. */
static int open_reset(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sockaddr_storage none = { .ss_family = e->inet.family };
	int fd = open_bound(p, e, pid, &none, sizeof none), a, err;

	if (fd < 0)
		return -1;
	if ((a = loopback_connect(fd, e->inet.family)) >= 0 && refill(p, e->data, a) < 0) {
		err = errno;
		close(a);
		errno = err;
		a = -1;
	}
	if (a < 0 || reset_from(a, fd) < 0) {
		err = errno;
		close(fd);
		return inet_refuse(pid, e, "a reset connection on loopback", err == ETIMEDOUT ?
				   "no reset came" : strerror(err));
	}
	return fd;
}

/* A connection saved with TCP_REPAIR, when ckpt-thaw was not given
 * --tcp-established: reset, as by default; its queues are not a
 * loopback connection's */
static int open_reset_nodata(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	char *data = e->data;
	int fd;

	/* given up: its keeper lets go (the peer's next segment is reset) */
	if (addr_parse(e->inet.family, e->addr, &ss, &len) == 0 &&
	    addr_parse(e->inet.family, e->inet.peer, &peer, &plen) == 0)
		tcpkeep_release((struct sockaddr *)&ss, (struct sockaddr *)&peer);
	e->data = NULL;
	fd = open_reset(p, e, pid);
	e->data = data;
	return fd;
}

/* whether a listener of the job (its plans so far) is on port */
static int job_listens(const struct fdplan *p, unsigned port)
{
	struct fdplan *const *v = p->shared ? p->shared->plan : (struct fdplan *const[]){ (struct fdplan *)p };
	unsigned n = p->shared ? p->shared->n : 1, i, k;
	struct sockaddr_storage ss;
	socklen_t len;
	const struct fdplan_fd *f;

	for (i = 0; i < n; i++)
		for (k = 0; v[i] && k < v[i]->n; k++) {
			f = &v[i]->v[k];
			if (inetplan_is(f) && f->inet.state == TCP_LISTEN_ &&
			    addr_parse(f->inet.family, f->addr, &ss, &len) == 0 && addr_port(&ss) == port)
				return 1;
		}
	return 0;
}

/* In repair mode bind takes any port, whoever holds it: the job's user
 * must have been able to take this address.  The kernel says so to a
 * socket made and bound as the job (SO_REUSEADDR, as a program would):
 * a port below ip_unprivileged_port_start, an address of no interface
 * of this machine, or a port another program's socket holds (unless a
 * listener of the job: the connection was accepted on it) is
 * refused.  0, or -1 (said). */
static int repair_addr_check(struct fdplan *p, struct fdplan_fd *e, int pid,
			     const struct sockaddr_storage *ss, socklen_t len)
{
	int probe = job_socket(p, e, pid), one = 1, err;

	if (probe < 0)
		return -1;
	setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	err = jobfs_bind(&p->fs, probe, ss, len);
	close(probe);
	if (err == 0 || (err == -EADDRINUSE && job_listens(p, addr_port(ss))))
		return 0;
	return inet_refuse(pid, e, "its local address, which a repaired connection takes",
			   err == -EADDRINUSE ? "in use by another socket (the job's user could "
			   "not bind it)" : bind_why(-err));
}

/* A connection to outside the job saved with TCP_REPAIR, made again
 * whole (ckpt-thaw --tcp-established, lib/tcprepair.h): as the job,
 * on the address the job's user could take, held in repair mode until
 * the settle */
static int open_repaired(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	const struct tcp_rep *r = &e->inet.rep;
	struct fd_blob *b = blob_find(p, e->data);
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	size_t qlen = r->recvq + (size_t)r->sendq;
	const char *what;
	int fd, dup = -1, err;

	addr_parse(e->inet.family, e->addr, &ss, &len);
	addr_parse(e->inet.family, e->inet.peer, &peer, &plen);
	if (qlen && (!b || !b->bytes || b->len != qlen))
		return inet_refuse(pid, e, "its queued bytes (data=)", "not recvq= + sendq= bytes");
	if (repair_addr_check(p, e, pid, &ss, len) < 0 || (fd = job_socket(p, e, pid)) < 0)
		return -1;
	what = "its options";
	err = opts_set(fd, e) < 0 ? -errno : 0;
	if (!err)
		err = tcprep_restore(fd, r, (struct sockaddr *)&ss, len, (struct sockaddr *)&peer, plen,
				     qlen ? b->bytes : NULL, &what);
	if (!err && (dup = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0)
		err = -errno;
	if (!err && tcprep_hold(dup, !!(e->inet.opts & INET_OPT_REUSEADDR),
				qlen ? b->bytes + qlen - r->unsent : NULL, r->unsent, r->fin == 2) < 0)
		err = -ENOMEM;
	if (err) {
		if (dup >= 0)
			close(dup);
		close(fd);   /* in repair mode: the peer hears nothing */
		return inet_refuse(pid, e, what, err == -EADDRNOTAVAIL && !strncmp(what, "connect", 7) ?
				   "its addresses are still a connection's (the old socket lingers?)" :
				   tcprep_why(err));
	}
	if (b)
		b->used = 1;
	return fd;
}

/* A connection with both ends in the process (DMTCP's way, no
 * privilege): made again on loopback, e's end connecting, f's end
 * accepted; what was queued to each end is sent through the other.
 * f's end becomes f's source here (fdplan.c then skips its line). */
static int open_pair(struct fdplan *p, struct fdplan_fd *e, struct fdplan_fd *f, int pid)
{
	struct sockaddr_storage none = { .ss_family = e->inet.family };
	int fd = open_bound(p, e, pid, &none, sizeof none), a, err;

	if (fd < 0)
		return -1;
	if ((a = loopback_connect(fd, e->inet.family)) < 0 || opts_set(a, f) < 0) {
		err = errno;
		if (a >= 0)
			close(a);
		close(fd);
		return inet_refuse(pid, e, "a connection on loopback with its other end", strerror(err));
	}
	if (refill(p, e->data, a) < 0 || refill(p, f->data, fd) < 0) {
		err = errno;
		close(a);
		close(fd);
		return inet_refuse(pid, e, "put its queued bytes back",
				   err == EAGAIN ? "they no longer fit in the connection" : strerror(err));
	}
	if (shut_again(fd, e->inet.state) < 0 || shut_again(a, f->inet.state) < 0) {
		err = errno;
		close(a);
		close(fd);
		return inet_refuse(pid, e, "shut down again", strerror(err));
	}
	fcntl(a, F_SETFL, f->flags & (O_NONBLOCK | O_ASYNC));
	f->src = a;
	return fd;
}

/* A connection between two processes of the job: the first line of
 * its two to come makes it (its socket connects on loopback) and
 * ckpt-thaw holds the other end, for socket ino (whose peer is peer),
 * until the line that owns ino comes in a later process, or, at the
 * settle, none has: that end led outside the job after all (a local
 * server's), and is reset. */
struct tcp_end {
	uint64_t ino, peer;
	int family;
	int held;                  /* the end for ino, or -1: claimed */
	int first;                 /* ckpt-thaw's copy of the first line's socket */
	pid_t pid;                 /* the first line's process and fd: for messages */
	int fd;
	int state;                 /* the first line's TCP state: shut_again */
};

static struct tcp_end *end_find(struct fdjob *job, uint64_t ino)
{
	struct tcp_end *t = job->tcp, *end = job->tcp + job->ntcp;

	while (t < end && t->ino != ino)
		t++;
	return t < end ? t : NULL;
}

/* e owns the end an earlier process's line made for it: checked (the
 * two cross, one family, one owner), the bytes queued to e sent
 * through the first socket */
static int end_claim(struct fdplan *p, struct fdplan_fd *e, int pid, struct tcp_end *t)
{
	char why[160];
	int fd;

	if (t->held < 0 || t->peer != e->peer || t->family != e->inet.family) {
		snprintf(why, sizeof why, "%s, fd %d of pid %d", t->held < 0 ?
			 "its socket is owned by another line already" : t->peer != e->peer ?
			 "its peer_ino= is not the socket whose other end it is" :
			 "its other end is of another family", t->fd, (int)t->pid);
		return inet_refuse(pid, e, why, NULL);
	}
	if (refill(p, e->data, t->first) < 0)
		return inet_refuse(pid, e, "put its queued bytes back", errno == EAGAIN ?
				   "they no longer fit in the connection" : strerror(errno));
	if (shut_again(t->first, t->state) < 0 || shut_again(t->held, e->inet.state) < 0)
		return inet_refuse(pid, e, "shut down again", strerror(errno));
	fd = t->held;
	t->held = -1;
	return fd;
}

/* e is the first line of a connection whose other end may be in a
 * later process: made, the other end held for it */
static int end_first(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sockaddr_storage none = { .ss_family = e->inet.family };
	struct fdjob *job = p->shared;
	struct tcp_end *nt;
	int fd = open_bound(p, e, pid, &none, sizeof none), a, dup, err;

	if (fd < 0)
		return -1;
	a = loopback_connect(fd, e->inet.family);
	dup = a < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	nt = dup < 0 ? NULL : realloc(job->tcp, (job->ntcp + 1) * sizeof *nt);
	if (!nt || refill(p, e->data, a) < 0) {
		err = nt ? errno : ENOMEM;
		if (a >= 0)
			close(a);
		if (dup >= 0)
			close(dup);
		close(fd);
		if (nt)
			job->tcp = nt;
		return inet_refuse(pid, e, "a connection on loopback", strerror(err));
	}
	job->tcp = nt;
	job->tcp[job->ntcp++] = (struct tcp_end){ e->peer, e->sock, e->inet.family, a, dup, pid,
						  e->fd, e->inet.state };
	return fd;
}

int inetplan_settle(struct fdjob *job)
{
	struct tcp_end *t;
	unsigned i;
	int r = tcprep_release(1);

	for (i = 0; i < job->ntcp && !r; i++) {
		t = &job->tcp[i];
		if (t->held < 0)
			continue;
		r = reset_from(t->held, t->first);
		t->held = -1;
		if (r < 0)
			warn("pid %d: fd %d: its connection, whose other end is in no process of the "
			     "job, could not be reset:", (int)t->pid, t->fd);
	}
	if (!r)
		r = udpq_settle(job);
	if (!r)
		r = tcpwait_settle(job);
	inetplan_free(job);
	return r;
}

void inetplan_free(struct fdjob *job)
{
	unsigned i;

	tcprep_drop();   /* a failed restore: gone without a word to the peer */
	for (i = 0; i < job->ntcp; i++) {
		if (job->tcp[i].held >= 0)
			close(job->tcp[i].held);
		close(job->tcp[i].first);
	}
	free(job->tcp);
	job->tcp = NULL;
	job->ntcp = 0;
	udpq_free(job);
	tcpwait_free(job);
}

/* A client whose connection waited in a listener's backlog: made now,
 * connected at the settle (tcpwait.h) */
static int open_waiting(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sockaddr_storage none = { .ss_family = e->inet.family };
	int fd = open_bound(p, e, pid, &none, sizeof none);

	return fd < 0 ? -1 : tcpwait_hold(p, e, pid, fd);
}

int inetplan_open(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	struct fdplan_fd *f;
	struct tcp_end *t;
	const char *why = inetplan_why_not(p, e);
	int fd;

	if (why)
		return inet_refuse(pid, e, why, NULL);
	if (e->inet.rep.on)
		return repair_allowed ? open_repaired(p, e, pid) : open_reset_nodata(p, e, pid);
	addr_parse(e->inet.family, e->addr, &ss, &len);
	if ((f = tcp_peer(p, e)))
		return open_pair(p, e, f, pid);
	if (connected(e) && !e->peer && e->listener && e->inet.state == TCP_ESTABLISHED_ && p->shared)
		return open_waiting(p, e, pid);
	if (connected(e) && e->peer && open_state(e) && p->shared)
		return (t = end_find(p->shared, e->sock)) ? end_claim(p, e, pid, t) :
		       end_first(p, e, pid);
	if (connected(e))
		return open_reset(p, e, pid);
	if ((fd = open_bound(p, e, pid, &ss, len)) < 0)
		return -1;
	if (e->inet.state == TCP_LISTEN_ &&
	    listen(fd, e->inet.backlog > 0 ? e->inet.backlog : SOMAXCONN) < 0) {
		close(fd);
		return inet_refuse(pid, e, "listen", strerror(errno));
	}
	/* its queue sent again and its connect at the settle */
	if (e->socktype == SOCK_DGRAM)
		return udpq_hold(p, e, pid, fd, &peer, e->inet.peer[0] &&
				 addr_parse(e->inet.family, e->inet.peer, &peer, &plen) == 0 ? plen : 0);
	return fd;
}

const char *inetplan_made_as(const struct fdplan *p, const struct fdplan_fd *e)
{
	static char s[256];
	struct fdplan_fd *f;

	if (e->socktype == SOCK_DGRAM)
		snprintf(s, sizeof s, "a new UDP socket%s%s%s%s", has_port(e) ? " bound to " : "",
			 has_port(e) ? e->addr : "", e->inet.peer[0] ? ", connected to " : "",
			 e->inet.peer);
	else if (e->inet.state == TCP_LISTEN_)
		snprintf(s, sizeof s, "a TCP listener on %s again (backlog %d)", e->addr,
			 e->inet.backlog);
	else if (!connected(e))
		snprintf(s, sizeof s, "a new TCP socket%s%s", has_port(e) ? " bound to " : "",
			 has_port(e) ? e->addr : "");
	else if (e->inet.rep.on)
		snprintf(s, sizeof s, "a TCP connection to %s outside the job, made again whole "
			 "with TCP_REPAIR (%u and %u bytes queued to send and to read) by ckpt-thaw "
			 "--tcp-established, else reset", e->inet.peer, e->inet.rep.sendq,
			 e->inet.rep.recvq);
	else if ((f = tcp_peer(p, e)))
		snprintf(s, sizeof s, "a TCP connection with fd %d, made again on loopback", f->fd);
	else if (!e->peer && e->listener && e->inet.state == TCP_ESTABLISHED_)
		snprintf(s, sizeof s, "a TCP connection to %s that waited in the backlog of "
			 "listener %llu, connected to it again if a process of the job has it, "
			 "else reset", e->inet.peer, (unsigned long long)e->listener);
	else if (e->peer && open_state(e))
		snprintf(s, sizeof s, "a TCP connection to %s, made again on loopback with "
			 "socket %llu if a process of the job has it, else reset", e->inet.peer,
			 (unsigned long long)e->peer);
	else
		snprintf(s, sizeof s, "a TCP connection to %s outside the job, reset "
			 "(its next read or write fails with ECONNRESET)", e->inet.peer);
	return s;
}
