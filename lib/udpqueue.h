/* udpqueue.h - a UDP socket's queued datagrams back (formats/fds.md,
 * "Internet sockets" and `socks/INODE`): each sent again, in order,
 * from its sender's address, before any UDP socket of the job is
 * connected again (a connected one takes only its peer's). */
#ifndef CKPT_UDPQUEUE_H
#define CKPT_UDPQUEUE_H
#include <sys/socket.h>

struct fdjob;
struct fdplan;
struct fdplan_fd;

/* UDP socket fd, made and bound for e of process pid: ckpt-thaw keeps
 * it until the settle (its queue sent again then, then its connect to
 * peer, when peerlen), and the process gets a copy: that, or -1 with
 * errno (ECANCELED: said, naming the fd).  Without a job (p->shared),
 * all that is done at once. */
int udpq_hold(struct fdplan *p, const struct fdplan_fd *e, int pid, int fd,
	      const struct sockaddr_storage *peer, socklen_t peerlen);
/* every queue sent again, then every connect: 0, or -1 (said) */
int udpq_settle(struct fdjob *job);
/* ckpt-thaw's copies closed, the table freed */
void udpq_free(struct fdjob *job);

#endif
