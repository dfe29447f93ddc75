/* inetplan.h - how a restore makes a TCP or UDP socket (formats/fds.md,
 * "Internet sockets"): a listener bound and listening again, a UDP
 * socket bound and connected again, a connection with both ends in the
 * process made again on loopback with its queued bytes, and one to
 * outside the job given back reset. */
#ifndef CKPT_INETPLAN_H
#define CKPT_INETPLAN_H
#include <sys/socket.h>

#include "tcprepair.h"

struct fdjob;
struct fdplan;
struct fdplan_fd;

/* the keys of an inet or inet6 socket's fd line (fdplan.h's entry) */
struct inet_keys {
	int family;                /* AF_INET, AF_INET6, or 0: another domain */
	int proto;
	int state;                 /* TCP state (1 established ... 10 listen), 0 */
	int sndbuf, rcvbuf;        /* as getsockopt gave them (set: locked), 0 */
	int keep[3];               /* TCP_KEEPIDLE, _KEEPINTVL, _KEEPCNT, 0 */
	int linger, has_linger;    /* SO_LINGER's seconds, when on */
	int tos;                   /* IP_TOS / IPV6_TCLASS, 0 */
	int backlog;
	unsigned opts;             /* INET_OPT_* */
	int defer_accept;
	char peer[64];             /* peer=, escaped as written */
	struct tcp_rep rep;        /* repair=1: saved with TCP_REPAIR */
};

enum {
	INET_OPT_REUSEADDR = 1, INET_OPT_REUSEPORT = 2, INET_OPT_V6ONLY = 4,
	INET_OPT_FREEBIND = 8, INET_OPT_BROADCAST = 16, INET_OPT_KEEPALIVE = 32,
	INET_OPT_NODELAY = 64,
};

/* ckpt-thaw --tcp-established: a connection saved with TCP_REPAIR is
 * made again whole (else it comes back reset, as without it) */
void inetplan_repair_allow(void);
/* "A.B.C.D:PORT" (family AF_INET) or "[ADDR6]:PORT" (AF_INET6) as a
 * socket address: 0, or -1 (another family's, or no address) */
int inetplan_addr(int family, const char *s, struct sockaddr_storage *ss, socklen_t *len);
/* fd, a TCP socket not connected, connected on loopback and reset from
 * the other end: its next read or write fails with ECONNRESET.  0, or
 * -1 with errno */
int inetplan_reset_fd(int fd, int family);
/* key k=v of e's fd line: 1 taken, 0 not an inet key, -1 malformed */
int inetplan_key(struct fdplan_fd *e, const char *k, const char *v);
/* whether e is an inet or inet6 socket (made here, not by sockplan.h) */
int inetplan_is(const struct fdplan_fd *e);
/* NULL when a restore can make socket e of plan p, else why not */
const char *inetplan_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* the fd made in ckpt-thaw for e (for a connection with both ends in
 * the process, the other end's too: its src), or -1 with errno
 * (ECANCELED: said, naming the fd and address) */
int inetplan_open(struct fdplan *p, struct fdplan_fd *e, int pid);
/* Every process has its fds: a connection whose other end no process
 * of the job claimed led outside (a local server's, say): reset now,
 * as any connection to outside.  ckpt-thaw's copies closed.  0, or -1
 * after a message naming the fd. */
int inetplan_settle(struct fdjob *job);
/* ckpt-thaw's copies closed, the table freed */
void inetplan_free(struct fdjob *job);
/* what ckpt-show says a restore makes of e */
const char *inetplan_made_as(const struct fdplan *p, const struct fdplan_fd *e);

#endif
