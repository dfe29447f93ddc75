/* sockplan.h - how a restore makes a socket fd (fdplan.c's table of
 * kinds): only unix socket pairs, one socketpair(2) per pair, each
 * end's queued bytes (socks/INODE) sent again into the other end. */
#ifndef CKPT_SOCKPLAN_H
#define CKPT_SOCKPLAN_H

#include <sys/socket.h>
#include <sys/types.h>

struct fdjob;
struct sockaddr_un;
struct fdplan;
struct fdplan_fd;

/* NULL when a restore can make socket e of plan p, else why not */
const char *sockplan_why_not(const struct fdplan *p, const struct fdplan_fd *e);
/* e is an end of an unnamed unix socket pair (socketpair(2)): on
 * fds 0-2 of a process other than the job's first, one of the job's
 * (its other end in the job), not stdio that led outside */
int sockplan_in_job(const struct fdplan_fd *e);
/* the fd made in ckpt-thaw for socket e, an end of a pair made once
 * for the whole job (p->shared), its queued bytes sent into the other
 * end: the fd, or -1 with errno (ECANCELED: said, naming the fd) */
int sockplan_open(struct fdplan *p, struct fdplan_fd *e, int pid);
/* Every process has its fds: each pair must have both its ends in the
 * job; each end is shut down as it was, ckpt-thaw's ends closed.  0,
 * or -1 after a message naming the socket. */
int sockplan_settle(struct fdjob *job);
/* one message of a dgram or seqpacket queue (socks/INODE) */
struct sock_msg {
	const char *bytes, *from;  /* from: its sender's name as text
	                            * (escaped, not 0-ended), or NULL */
	size_t len, fromlen;
};
/* the message at *p (before end), "LEN[ FROM]\n" then LEN bytes; *p
 * moves past it.  0, or -1: malformed */
int sock_msg_next(const char **p, const char *end, struct sock_msg *m);
/* send(2) to unix socket fd (to: sendto(2) there), without waiting;
 * the sending end's SO_SNDBUF doubled while it does not fit, as far as
 * SO_SNDBUF goes.  What it sent, or -1 with errno (EAGAIN: no room). */
ssize_t sock_send_room(int fd, const char *p, size_t n, const struct sockaddr_un *to, socklen_t tolen);
/* Says why socket e of pid cannot be made, naming the fd, and marks
 * errno as said (ECANCELED), so the caller adds nothing: -1 */
__attribute__((format(printf, 3, 4)))
int sockplan_refuse(int pid, const struct fdplan_fd *e, const char *fmt, ...);
/* ckpt-thaw's ends closed, the table freed */
void sockplan_free(struct fdjob *job);

#endif
