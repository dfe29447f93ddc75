/* inetdump.h - what ckpt-dumpfds writes of a TCP or UDP socket
 * (formats/fds.md, "Internet sockets"): its state, the options a
 * restore sets again, its backlog, and the local socket at the other
 * end of a connection, from getsockopt and sock_diag. */
#ifndef CKPT_INETDUMP_H
#define CKPT_INETDUMP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_desc;

/* an inet or inet6 socket's own keys added to d->extra (after the
 * keys every socket has); nothing for another family.  dom, type: the
 * socket's domain and type (sock_describe's) */
void inet_describe(struct fd_desc *d, int dom, int type);
/* the inode of the socket at the other end of TCP connection x, when
 * that end is a socket of this machine (its peer_ino=), else 0 */
uint64_t inet_tcp_peer(const struct fd_desc *x);
/* whether the bytes queued to x are saved (socks/INODE): an
 * established TCP connection whose other end is a socket of this
 * machine, which may be in the job (a restore then puts them back),
 * or outside it (they come back before the reset) */
int inet_queue_saved(const struct fd_desc *x);
/* The bytes queued to such a TCP socket x of process pid, peeked and
 * left in place (*bytes NULL when none).  0, or -1 after a message
 * naming the pid, fd and socket: bytes that x has not sent yet (its
 * peer's window is closed) cannot be read without TCP_REPAIR, and
 * would be lost. */
int inet_queue_copy(pid_t pid, const struct fd_desc *x, char **bytes, size_t *len);
/* how many TCP sockets of family wait in TIME_WAIT on local port (a
 * connection closed lately) when none listens there, for a message */
unsigned inet_port_waiting(int family, uint16_t port);

#endif
