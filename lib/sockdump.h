/* sockdump.h - what ckpt-dumpfds writes of a socket (formats/fds.md,
 * kind `socket` and `socks/INODE`): its fields, from getsockopt and
 * sock_diag, and the bytes queued to a unix socket, left in place. */
#ifndef CKPT_SOCKDUMP_H
#define CKPT_SOCKDUMP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_desc;
struct fdshare;

/* the socket's own fields into d->extra (sock, domain, type, ...) */
void sock_describe(struct fd_desc *d);
/* the bytes queued to unix socket local, left in place; a dgram or
 * seqpacket socket's (stream 0) each message as "LEN\n" then its bytes.
 * NULL with *err 0 when there are none; *err -EXDEV: fds in flight */
char *sock_peek(int local, int stream, size_t *len, int *err);
/* the inode of the peer of unix socket x (sock_diag's), or 0 when x is
 * not a connected unix socket */
uint64_t sock_unix_peer(const struct fd_desc *x);
/* The bytes queued to unix socket x of process pid, as socks/INODE
 * holds them (*bytes NULL when none).  0, or -1 after a message naming
 * the pid, fd and socket (fds in flight are refused). */
int sock_queue_copy(pid_t pid, const struct fd_desc *x, char **bytes, size_t *len);
/* x, a unix socket of pid, has its peer in an earlier process of the
 * job (share): -1 after a message naming both ends, else 0 */
int sock_pair_refuse(pid_t pid, const struct fd_desc *x, const struct fdshare *share);

#endif
