/* tcpkeep.h - the addresses of connections saved with TCP_REPAIR, kept
 * between the kill and the restore (--tcp-established, doc/design.md).
 * Once the job is dead no socket has a connection's four addresses,
 * and the kernel answers whatever the peer sends then (a retransmission,
 * a window probe, new bytes) with a reset: the peer loses the
 * conversation.  A keeper, a process of its own, holds the old sockets,
 * still in repair mode and behind a filter that drops every segment
 * (lib/tcprepair.h, tcprep_lock), so that the peer meets silence, as on
 * a network that is down for a moment, and sends again later.  The
 * restore asks it to let go of one (by the connection's addresses),
 * just before it binds them; it lets go of every one after
 * TCPKEEP_SECONDS anyway (ckpt-freeze --tcp-keep: another time). */
#ifndef CKPT_TCPKEEP_H
#define CKPT_TCPKEEP_H
#include <sys/socket.h>

#define TCPKEEP_SECONDS 300
/* the most --tcp-keep takes: a day (a peer's own retransmissions give
 * up long before, after net.ipv4.tcp_retries2: some 15 minutes) */
#define TCPKEEP_SECONDS_MAX 86400

/* a keeper for the n sockets fds (closed in repair mode when it lets
 * go: silently, at a restore's word or after seconds), started apart
 * from us (our copies stay ours); a keeper that cannot start leaves
 * them to us */
void tcpkeep_start(const int *fds, unsigned n, unsigned seconds);
/* The keeper of the connection local -> peer, if any, lets go of it
 * (only root is heard).  1 it did, 0 none keeps it. */
int tcpkeep_release(const struct sockaddr *local, const struct sockaddr *peer);

#endif
