/* sockdump.h - what ckpt-dumpfds writes of a socket (formats/fds.md,
 * kind `socket` and `socks/INODE`): its fields, from getsockopt and
 * sock_diag, and the bytes queued to a unix socket, left in place. */
#ifndef CKPT_SOCKDUMP_H
#define CKPT_SOCKDUMP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_desc;

/* what sock_diag says of unix socket INODE (has_*: the kernel said) */
struct sock_unix_info {
	int has_peer, has_shut, has_rq;
	uint32_t peer, rqueue;     /* the peer's inode (0: none), bytes queued */
	uint32_t wqueue;           /* what it sent that is still queued at its
	                            * peer, skb overhead included */
	int shut;                  /* 1 no more receiving, 2 no more sending */
	int named;                 /* bound to an address */
	int type;                  /* SOCK_* */
	int state;                 /* TCP_ESTABLISHED (1): connected,
	                            * TCP_LISTEN (10): listening */
	int has_vfs;               /* bound to a path: its file's inode */
	char name[110];            /* its name: a path, or "@NAME" */
	uint32_t vfs_ino, vfs_dev; /* ... dev in the kernel's encoding */
};
/* most connections a listening socket's backlog may hold for a
 * checkpoint (each is one inode on its fd line) */
#define SOCK_PENDING_MAX 64
/* 0, or -1 when the kernel does not say (no such socket here) */
int sock_unix_diag(uint64_t ino, struct sock_unix_info *u);
/* The same from one dump of every unix socket, taken by this process
 * at its first call: for a dumping tool, whose job is frozen, its
 * sockets as they were (one made since is not seen: -1) */
int sock_unix_seen(uint64_t ino, struct sock_unix_info *u);
/* The listening unix socket whose backlog holds the connection of
 * client, not yet accepted (sock_diag's UNIX_DIAG_ICONS): its inode,
 * or 0 */
uint64_t sock_unix_listener(uint64_t client);
/* Whether a unix socket of this network namespace is bound to the
 * socket file dev:ino (sock_diag's UNIX_DIAG_VFS): 1, 0 (a socket
 * file nobody is behind any more), -1 when the kernel does not say */
int sock_unix_bound_at(dev_t dev, ino_t ino);
/* The clients of the connections queued to listening socket ino, in
 * the order accept(2) takes them: how many (at most max into v), or
 * -1 when the kernel does not say */
int sock_unix_pending(uint64_t ino, uint64_t *v, int max);
/* the socket's own fields into d->extra (sock, domain, type, ...);
 * its domain and type (SO_DOMAIN, SO_TYPE) into *dom, *type */
void sock_describe(struct fd_desc *d, int *dom, int *type);
/* the bytes queued to unix socket local, left in place; a dgram or
 * seqpacket socket's (stream 0) each message as "LEN\n" then its bytes.
 * NULL with *err 0 when there are none; *err -EXDEV: fds in flight */
char *sock_peek(int local, int stream, size_t *len, int *err);
/* the same for a stream socket with queued bytes counted (sock_diag's
 * or SIOCINQ's count; -1: not known): read by one peek when the
 * program does not use the peek offset (2200 sockets each took a
 * walk of 5 calls), else by sock_peek's walk */
char *sock_peek_stream(int local, long queued, size_t *len, int *err);
/* the bytes x's line says are queued to it (rqueue=), or -1 when it
 * does not say */
long sock_queued(const struct fd_desc *x);
/* the inode of the peer of unix socket x (sock_diag's), or 0 when x is
 * not a connected unix socket */
uint64_t sock_unix_peer(const struct fd_desc *x);
/* The bytes queued to unix socket x of process pid, as socks/INODE
 * holds them (*bytes NULL when none).  0, or -1 after a message naming
 * the pid, fd and socket (fds in flight are refused). */
int sock_queue_copy(pid_t pid, const struct fd_desc *x, char **bytes, size_t *len);
/* whether the bytes queued to socket x are saved (socks/INODE): a
 * connected unix socket whose peer is an fd of its process too (here),
 * or an end of an unnamed pair (socketpair(2)) whose other end is in
 * another process of the job (ckpt-freeze checks that it is:
 * sockjob.h) or was closed (peer_closed=1); not on fds 0-2 of the job's first process (first),
 * which a restore attaches to its own stdio */
int sock_queue_saved(const struct fd_desc *x, int here, int first);

#endif
