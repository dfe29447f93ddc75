/* inetdump.c - a TCP or UDP socket's state, options and peer, for
 * ckpt-dumpfds (inetdump.h) */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fdinfo.h"
#include "inetdump.h"
#include "inetplan.h"
#include "num.h"
#include "err.h"
#include "sockdiag.h"
#include "sockdump.h"
#include "sockplan.h"

/* the kernel's TCP states (include/net/tcp_states.h), by number */
static const char *const tcp_states[] = {
	[1] = "established", [2] = "syn_sent", [3] = "syn_recv", [4] = "fin_wait1",
	[5] = "fin_wait2", [6] = "time_wait", [7] = "close", [8] = "close_wait",
	[9] = "last_ack", [10] = "listen", [11] = "closing",
};

static int opt_int(int fd, int level, int opt)
{
	int v = 0;
	socklen_t len = sizeof v;

	return getsockopt(fd, level, opt, &v, &len) < 0 ? 0 : v;
}

/* an address as 16 bytes, IPv4 as v4-mapped IPv6, so that an inet6
 * socket's mapped peer and its inet twin compare equal */
static void addr16(int family, const uint32_t *a, unsigned char *out)
{
	memset(out, 0, 16);
	if (family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, a, 4);
	} else {
		memcpy(out, a, 16);
	}
}

/* what sock_diag says of a TCP socket: the inode of the local socket at the other end of its connection */
struct tcp_diag {
	uint64_t ino;              /* ours */
	unsigned char src[16], dst[16];
	uint16_t sport, dport;     /* network order */
	uint64_t peer;
	unsigned waiting;          /* sockets in TIME_WAIT on sport */
	unsigned listening;        /* ... and listening on it */
	int unaccepted;            /* the other end has no file: it waits in
	                            * a listener's backlog */
	uint32_t unaccepted_rq;    /* ... with these bytes queued to it */
	uint64_t listener;         /* ... that listener's inode */
};

static void diag_match(struct tcp_diag *t, const struct inet_diag_msg *m)
{
	unsigned char s[16], d[16];

	if (m->idiag_state == 6 && m->id.idiag_sport == t->sport)   /* TIME_WAIT */
		t->waiting++;
	if (m->idiag_state == 10 && m->id.idiag_sport == t->sport)
		t->listening++;
	if (t->ino && m->idiag_inode == t->ino)
		return;   /* itself */
	if (!t->dport || m->id.idiag_sport != t->dport || m->id.idiag_dport != t->sport)
		return;
	addr16(m->idiag_family, m->id.idiag_src, s);
	addr16(m->idiag_family, m->id.idiag_dst, d);
	if (memcmp(s, t->dst, 16) || memcmp(d, t->src, 16))
		return;
	if (m->idiag_inode)
		t->peer = m->idiag_inode;
	else if (m->idiag_state == 1 || m->idiag_state == 3)   /* not accepted yet */
		t->unaccepted = 1, t->unaccepted_rq = m->idiag_rqueue;
}

/* whether listener m takes connections to address a (16 bytes) on
 * port (network order): on a, or on any address of its family (an
 * inet6 one on :: hears IPv4 too, unless v6only: not told here) */
static int listens_for(const struct inet_diag_msg *m, const unsigned char *a, uint16_t port)
{
	static const unsigned char any6[16], any4[16] = { [10] = 0xff, [11] = 0xff };
	unsigned char s[16];

	if (m->idiag_state != 10 || m->id.idiag_sport != port)
		return 0;
	addr16(m->idiag_family, m->id.idiag_src, s);
	return !memcmp(s, a, 16) || !memcmp(s, any6, 16) ||
	       (!memcmp(s, any4, 16) && !memcmp(a, any4, 12));
}

/* the TCP sockets of one dump, each given to got */
struct diag_each {
	void (*got)(const struct inet_diag_msg *, void *);
	void *arg;
};

static int diag_each_got(const struct nlmsghdr *nh, void *arg)
{
	struct diag_each *e = arg;

	if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		e->got(NLMSG_DATA(nh), e->arg);
	return 0;
}

/* one dump of family's TCP sockets in states, each given to got */
static int diag_dump(int family, uint32_t states, void (*got)(const struct inet_diag_msg *, void *),
		     void *arg)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = states },
	};
	struct diag_each e = { got, arg };

	return sockdiag_query(&req, sizeof req, diag_each_got, &e);
}

static void diag_got(const struct inet_diag_msg *m, void *t)
{
	diag_match(t, m);
}

/* The machine's TCP sockets, dumped once per ckpt-dumpfds (the job is
 * frozen, its sockets stay as they are): a dump per socket, of every
 * socket of the machine, made a job of 200 sockets take 2 s. */
static struct inet_diag_msg *sockets;
static size_t nsockets, capsockets;
static int dumped;

static void cache_got(const struct inet_diag_msg *m, void *arg)
{
	struct inet_diag_msg *nv;

	(void)arg;
	if (nsockets == capsockets) {
		capsockets = capsockets ? 2 * capsockets : 256;
		if (!(nv = realloc(sockets, capsockets * sizeof *nv)))
			return;   /* a peer not found: the connection is taken as outside */
		sockets = nv;
	}
	sockets[nsockets++] = *m;
}

static void tcp_match(struct tcp_diag *t)
{
	size_t i;

	if (!dumped) {
		dumped = 1;
		diag_dump(AF_INET, ~0u, cache_got, NULL);
		diag_dump(AF_INET6, ~0u, cache_got, NULL);
	}
	for (i = 0; i < nsockets; i++)
		diag_match(t, &sockets[i]);
	for (i = 0; t->unaccepted && !t->listener && i < nsockets; i++)
		if (listens_for(&sockets[i], t->dst, t->dport))
			t->listener = sockets[i].idiag_inode;
}

static void sockaddr16(const struct sockaddr_storage *ss, unsigned char *a, uint16_t *port)
{
	const struct sockaddr_in *in = (const void *)ss;
	const struct sockaddr_in6 *in6 = (const void *)ss;

	if (ss->ss_family == AF_INET) {
		addr16(AF_INET, &in->sin_addr.s_addr, a);
		*port = in->sin_port;
	} else {
		memcpy(a, &in6->sin6_addr, 16);
		*port = in6->sin6_port;
	}
}

static int one_got(const struct nlmsghdr *nh, void *arg)
{
	if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return -1;
	memcpy(arg, NLMSG_DATA(nh), sizeof(struct inet_diag_msg));
	return 1;
}

static int mapped(const unsigned char *a)
{
	static const unsigned char v4[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(a, v4, 12);
}

/* The other end of t's connection when it is a socket of this machine
 * that has a file: asked of sock_diag by the connection's addresses
 * (the kernel's hash lookup), where a dump of every TCP socket walks
 * a table of 262144 buckets (twice: both families).  Both addresses
 * IPv4 (an inet6 socket's v4-mapped ones too): asked as inet, which
 * finds inet6 ends of such a connection as well.  1 with t->peer set;
 * 0 when the answer is none of that (no such socket, one not accepted
 * yet, in TIME_WAIT, or a listener the kernel found instead): the
 * dump then tells (tcp_match). */
static int peer_ask(struct tcp_diag *t)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 r;
	} req = {
		.nh = { .nlmsg_len = sizeof req, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u,
		       .id = { .idiag_sport = t->dport, .idiag_dport = t->sport,
			       .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } },
	};
	struct inet_diag_msg m;
	int v4 = mapped(t->src) && mapped(t->dst);

	req.r.sdiag_family = v4 ? AF_INET : AF_INET6;
	memcpy(req.r.id.idiag_src, v4 ? t->dst + 12 : t->dst, v4 ? 4 : 16);
	memcpy(req.r.id.idiag_dst, v4 ? t->src + 12 : t->src, v4 ? 4 : 16);
	if (!t->dport || sockdiag_query(&req, sizeof req, one_got, &m) != 1 ||
	    m.idiag_state == 10 || !m.idiag_inode || m.id.idiag_sport != t->dport ||
	    m.id.idiag_dport != t->sport)
		return 0;
	t->peer = m.idiag_inode;
	return 1;
}

/* The peer of TCP socket fd, not listening: both families are asked,
 * since an inet6 socket's other end may be an inet one (a v4-mapped
 * address). */
static void tcp_diag(int fd, uint64_t ino, struct tcp_diag *t)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	memset(t, 0, sizeof *t);
	t->ino = ino;
	memset(&ss, 0, sizeof ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		sockaddr16(&ss, t->src, &t->sport);
	len = sizeof ss;
	memset(&ss, 0, sizeof ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		sockaddr16(&ss, t->dst, &t->dport);
	if (!peer_ask(t))
		tcp_match(t);
}

/* The keepalive times a fresh TCP socket has (the machine's sysctls,
 * which getsockopt gives for a socket that set none): a socket's own
 * differ, or equal them, which is the same to it */
static void keep_defaults(int *v)
{
	static int got, def[3];
	int s, i;

	if (!got && (s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		got = 1;
		for (i = 0; i < 3; i++)
			def[i] = opt_int(s, IPPROTO_TCP, i == 0 ? TCP_KEEPIDLE : i == 1 ? TCP_KEEPINTVL :
					 TCP_KEEPCNT);
		close(s);
	}
	memcpy(v, def, sizeof def);
}

/* The options beyond the flags: buffer sizes the program set (SO_BUF_LOCK
 * says which: the kernel no longer tunes those), as getsockopt gives
 * them (twice what was asked); keepalive times other than the
 * machine's; SO_LINGER when on; the TOS (traffic class) byte */
static void describe_sizes(struct fd_desc *d, int dom, int type)
{
	static const char *const keep[3] = { "keepidle", "keepintvl", "keepcnt" };
	struct linger lg = { 0, 0 };
	socklen_t len = sizeof lg;
	int fd = d->local, lock = opt_int(fd, SOL_SOCKET, SO_BUF_LOCK), def[3], v, i;

	if (lock & 1)
		extra_add(d, " sndbuf=%d", opt_int(fd, SOL_SOCKET, SO_SNDBUF));
	if (lock & 2)
		extra_add(d, " rcvbuf=%d", opt_int(fd, SOL_SOCKET, SO_RCVBUF));
	if (type == SOCK_STREAM) {
		keep_defaults(def);
		for (i = 0; i < 3; i++)
			if ((v = opt_int(fd, IPPROTO_TCP, i == 0 ? TCP_KEEPIDLE : i == 1 ? TCP_KEEPINTVL :
					 TCP_KEEPCNT)) > 0 && v != def[i])
				extra_add(d, " %s=%d", keep[i], v);
	}
	if (getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0 && lg.l_onoff)
		extra_add(d, " linger=%d", lg.l_linger);
	if ((v = dom == AF_INET6 ? opt_int(fd, IPPROTO_IPV6, IPV6_TCLASS) :
		 opt_int(fd, IPPROTO_IP, IP_TOS)) > 0)
		extra_add(d, " tos=%d", v);
}

/* the options a server or a client sets, which a restore sets again,
 * written only when set */
static void describe_options(struct fd_desc *d, int dom, int type)
{
	int fd = d->local, v;

	describe_sizes(d, dom, type);

	if (opt_int(fd, SOL_SOCKET, SO_REUSEADDR))
		extra_add(d, " reuseaddr=1");
	if (opt_int(fd, SOL_SOCKET, SO_REUSEPORT))
		extra_add(d, " reuseport=1");
	if (dom == AF_INET6 && opt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY))
		extra_add(d, " v6only=1");
	if (dom == AF_INET6 ? opt_int(fd, IPPROTO_IPV6, IPV6_FREEBIND) :
			      opt_int(fd, IPPROTO_IP, IP_FREEBIND))
		extra_add(d, " freebind=1");
	if (type == SOCK_DGRAM && opt_int(fd, SOL_SOCKET, SO_BROADCAST))
		extra_add(d, " broadcast=1");
	if (opt_int(fd, SOL_SOCKET, SO_KEEPALIVE))
		extra_add(d, " keepalive=1");
	if (type != SOCK_STREAM)
		return;
	if (opt_int(fd, IPPROTO_TCP, TCP_NODELAY))
		extra_add(d, " nodelay=1");
	if ((v = opt_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT)) > 0)
		extra_add(d, " defer_accept=%d", v);
}

/* the socket's TCP state, and a listener's backlog (TCP_INFO gives
 * it in tcpi_sacked, as sock_diag in idiag_wqueue) */
static int tcp_state(int fd, unsigned *backlog)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return 0;
	*backlog = ti.tcpi_sacked;
	return ti.tcpi_state < sizeof tcp_states / sizeof *tcp_states ? ti.tcpi_state : 0;
}

void inet_describe(struct fd_desc *d, int dom, int type)
{
	int st = 0, q;
	unsigned backlog = 0;
	struct tcp_diag t;

	if (dom != AF_INET && dom != AF_INET6)
		return;
	if (type == SOCK_STREAM && (st = tcp_state(d->local, &backlog)) && tcp_states[st])
		extra_add(d, " state=%s", tcp_states[st]);
	if (type == SOCK_STREAM && st && st != 7 && st != 10)
		tcp_diag(d->local, d->st.st_ino, &t);
	if (st == 10)
		extra_add(d, " backlog=%u", backlog);
	describe_options(d, dom, type);
	if (st != 10 && st && st != 7 && t.peer)
		extra_add(d, " peer_ino=%llu", (unsigned long long)t.peer);
	if (st == 1 && !t.peer && t.listener)
		extra_add(d, " listener=%llu unaccepted_rq=%u", (unsigned long long)t.listener,
			  (unsigned)t.unaccepted_rq);
	if (st != 10 && ioctl(d->local, SIOCINQ, &q) == 0 && q > 0)
		extra_add(d, " rqueue=%d", q);
	if (st != 10 && ioctl(d->local, SIOCOUTQ, &q) == 0 && q > 0)
		extra_add(d, " wqueue=%d", q);
}

/* the number after " KEY=" in a line's fields, or 0 */
static uint64_t key_num(const struct fd_desc *x, const char *key)
{
	const char *p = strstr(x->extra, key);
	uint64_t v;

	if (!p)
		return 0;
	p += strlen(key);
	return num_scan(&p, p + strlen(p), 10, UINT64_MAX, &v) == 0 ? v : 0;
}

uint64_t inet_tcp_peer(const struct fd_desc *x)
{
	if (x->kind != FD_SOCKET || !strstr(x->extra, " type=stream ") ||
	    (!strstr(x->extra, " domain=inet ") && !strstr(x->extra, " domain=inet6 ")))
		return 0;
	return key_num(x, " peer_ino=");
}

/* a UDP socket of the internet families */
static int udp_is(const struct fd_desc *x)
{
	return x->kind == FD_SOCKET && strstr(x->extra, " type=dgram ") &&
	       (strstr(x->extra, " domain=inet ") || strstr(x->extra, " domain=inet6 "));
}

/* a TCP client whose connection waits in the backlog of a listener of
 * this machine (listener=) */
static int unaccepted_is(const struct fd_desc *x)
{
	return x->kind == FD_SOCKET && strstr(x->extra, " type=stream ") &&
	       strstr(x->extra, " listener=") && strstr(x->extra, " state=established ");
}

/* established, or half closed (formats/fds.md): a restore makes
 * such a connection again between two sockets of the job */
static int open_state(const struct fd_desc *x)
{
	return strstr(x->extra, " state=established ") || strstr(x->extra, " state=fin_wait1 ") ||
	       strstr(x->extra, " state=fin_wait2 ") || strstr(x->extra, " state=close_wait ");
}

int inet_queue_saved(const struct fd_desc *x)
{
	return (inet_tcp_peer(x) && open_state(x)) || udp_is(x) || unaccepted_is(x);
}

/* Whether this process could send a datagram from address from again:
 * one of this machine's (a bind to it works, port 0), or any, with
 * IP_TRANSPARENT (CAP_NET_ADMIN) */
static int udp_sender_ok(int family, const struct sock_msg *m)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char text[80];
	int s, one = 1, ok;

	if (!m->from || m->fromlen >= sizeof text)
		return 0;
	memcpy(text, m->from, m->fromlen);
	text[m->fromlen] = 0;
	if (inetplan_addr(family, text, &ss, &len) < 0 ||
	    (s = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	ok = bind(s, (struct sockaddr *)&ss, len) == 0 ||
	     (errno == EADDRNOTAVAIL &&
	      setsockopt(s, family == AF_INET ? SOL_IP : SOL_IPV6,
			 family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT, &one, sizeof one) == 0);
	close(s);
	return ok;
}

/* A UDP socket's datagrams, each with its sender ("LEN FROM\n", as a
 * unix datagram socket's), peeked and left in place.  Refused: a
 * datagram of no bytes (a peek offset cannot step over it), and one
 * from an address of another machine when this process may not use
 * IP_TRANSPARENT: a restore sends each datagram again from its sender's
 * address, and that one only root can take (formats/fds.md). */
static int udp_queue_copy(pid_t pid, const struct fd_desc *x, char **bytes, size_t *len)
{
	int family = strstr(x->extra, " domain=inet6 ") ? AF_INET6 : AF_INET, err;
	const char *p, *end;
	struct sock_msg m;
	unsigned n = 0;

	*bytes = sock_peek(x->local, 0, len, &err);
	if (err < 0) {
		if (err == -ENOMSG)
			warn("pid %d fd %d: UDP socket %llu has a datagram of no bytes queued, which the peek cannot step over: refused",
			     (int)pid, x->fd, (unsigned long long)x->st.st_ino);
		else
			warnerr(err, "pid %d fd %d: UDP socket %llu: copying its queued datagrams:",
				(int)pid, x->fd, (unsigned long long)x->st.st_ino);
		return -1;
	}
	for (p = *bytes, end = p + *len; p && p < end; n++)
		if (sock_msg_next(&p, end, &m) < 0 || !udp_sender_ok(family, &m)) {
			warn("pid %d fd %d: UDP socket %llu: datagram %u queued, from %.*s, an address of another machine: a restore could not send it again from there without IP_TRANSPARENT (root): refused",
			     (int)pid, x->fd, (unsigned long long)x->st.st_ino, n + 1,
			     (int)m.fromlen, m.from ? m.from : "");
			free(*bytes);
			*bytes = NULL;
			return -1;
		}
	return 0;
}

/* The bytes fd has not sent yet, in *unsent, once they are sent or half
 * a second has passed: 0, or -1.  Small writes wait for an ack (Nagle)
 * and the ack may be late on a loaded machine; the kernel sends them
 * while the job is frozen.  Only a closed window keeps them for good. */
static int unsent_wait(int fd, int *unsent)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 50; i++) {
		if (ioctl(fd, SIOCOUTQNSD, unsent) < 0)
			return -1;
		if (*unsent == 0)
			return 0;
		nanosleep(&ts, NULL);
	}
	return 0;
}

int inet_queue_copy(pid_t pid, const struct fd_desc *x, char **bytes, size_t *len)
{
	int err, unsent = 0;

	if (udp_is(x))
		return udp_queue_copy(pid, x, bytes, len);
	/* what such a client sent waits at an end that has no fd yet: no
	 * peek reaches it, and a connection made again would lack it */
	if (unaccepted_is(x) && key_num(x, " unaccepted_rq=")) {
		warn("pid %d fd %d: TCP socket %llu sent %llu bytes on its connection, which waits in the backlog of listener %llu, not accepted yet: they cannot be read there without TCP_REPAIR: refused",
		     (int)pid, x->fd, (unsigned long long)x->st.st_ino,
		     (unsigned long long)key_num(x, " unaccepted_rq="),
		     (unsigned long long)key_num(x, " listener="));
		return -1;
	}
	if (unsent_wait(x->local, &unsent) == 0 && unsent > 0) {
		warn("pid %d fd %d: TCP socket %llu has %d bytes it has not sent yet (its peer's "
		     "window is closed), which only TCP_REPAIR could read: refused", (int)pid, x->fd,
		     (unsigned long long)x->st.st_ino, unsent);
		return -1;
	}
	*bytes = sock_peek_stream(x->local, sock_queued(x), len, &err);
	if (err < 0) {
		warnerr(err, "pid %d fd %d: TCP socket %llu: copying its queued bytes:", (int)pid,
			x->fd, (unsigned long long)x->st.st_ino);
		return -1;
	}
	return 0;
}

unsigned inet_port_waiting(int family, uint16_t port)
{
	struct tcp_diag t;

	memset(&t, 0, sizeof t);
	t.sport = htons(port);
	if (diag_dump(family, 1 << 6 | 1 << 10, diag_got, &t) < 0)
		return 0;
	return t.listening ? 0 : t.waiting;
}
