/* unixsock.h - named unix sockets back (formats/fds.md, "Named unix
 * sockets"): a listener bound again to its path or abstract name and
 * listening with its backlog; a connection through it made again by
 * connect(2) and accept(2), so that each end has its names again; the
 * connections that waited in a backlog queued again, in their order.
 * The file work (bind, replacing a stale socket file, connect) is the
 * job's (jobfs.h).  Sockets are made in ckpt-thaw, as every fd, and
 * held until the go. */
#ifndef CKPT_UNIXSOCK_H
#define CKPT_UNIXSOCK_H

struct fdjob;
struct fdplan;
struct fdplan_fd;

/* e is a unix socket made here: one with a name (its own or its
 * peer's), listening, waiting in a backlog, or not connected at all */
int unixsock_named(const struct fdplan_fd *e);
/* how ckpt-show says e is made (NULL: a socket pair's end) */
const char *unixsock_made_as(const struct fdplan_fd *e);
/* NULL when a restore can make e, else why not */
const char *unixsock_why_not(const struct fdplan_fd *e);
/* e, a listener, a connection waiting in a backlog, or a socket not
 * connected: its fd made in ckpt-thaw, or -1 with errno (ECANCELED:
 * said, naming the fd) */
int unixsock_open(struct fdplan *p, struct fdplan_fd *e, int pid);
/* e, connected through a listener's name, and its peer: made by
 * connect(2) to that listener and accept(2), sv[0] e's end, sv[1] its
 * peer's.  0, or -1 with errno (ECANCELED: said) */
int unixsock_connection(struct fdplan *p, struct fdplan_fd *e, int pid, int sv[2]);
/* Every process has its fds: each listener is a process's, and the
 * connections that waited in its backlog are queued again, in their
 * order.  0, or -1 after a message naming the socket. */
int unixsock_settle(struct fdjob *job);
/* ckpt-thaw's copies closed, the table freed */
void unixsock_free(struct fdjob *job);

#endif
