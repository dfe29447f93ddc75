/* tcprepair.h - an established TCP connection to a peer outside the
 * job, saved at the checkpoint and made again whole at the restore
 * with TCP_REPAIR (CAP_NET_ADMIN: root), so that the peer never notices
 * (--tcp-established; formats/fds.md, "Repaired TCP connections";
 * doc/design.md).  The sequence numbers, the options the two ends
 * agreed on (mss, window scale, SACK, timestamps), the windows, and
 * the bytes queued each way. */
#ifndef CKPT_TCPREPAIR_H
#define CKPT_TCPREPAIR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct tcp_rep {
	int on;                    /* repair=1: the line has what follows */
	uint32_t snd_seq, rcv_seq; /* TCP_QUEUE_SEQ: write_seq, rcv_nxt */
	uint32_t sendq, unsent;    /* bytes in the send queue, not sent yet */
	uint32_t recvq;            /* bytes in the receive queue */
	uint32_t mss, tsval;       /* TCP_MAXSEG, TCP_TIMESTAMP */
	unsigned opts;             /* TCPI_OPT_TIMESTAMPS, _SACK, _WSCALE */
	unsigned snd_wscale, rcv_wscale;
	int have_window;           /* TCP_REPAIR_WINDOW: */
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	int state;                 /* TCP_ESTABLISHED, or half closed: */
	int fin;                   /* fin_wait1/2: our FIN after snd_seq,
	                            * 1 sent, 2 not yet (the line's fin=) */
};

/* whether the kernel lets us repair TCP sockets: tried on a new one.
 * 0, or -errno (-EPERM: no CAP_NET_ADMIN) */
int tcprep_can(void);
/* why, for a message: the kernel's refusal said plainly */
const char *tcprep_why(int err);

/* ---- the checkpoint (ckpt-dumpfds), the job frozen ---- */

/* socket fd into repair mode: nothing it does then reaches the peer,
 * and closing it sends nothing.  0 or -errno */
int tcprep_enter(int fd);
/* A socket filter that drops every segment that comes to fd from now
 * on, before TCP sees it (no ack: the peer sends it again later, to
 * the restored socket): what came after the queues were read would
 * otherwise be acknowledged, then lost with the job.  A socket with a
 * filter of its own: -EEXIST.  0 or -errno. */
int tcprep_lock(int fd);
/* Its state and queued bytes, read in repair mode: *bytes (malloc'd,
 * NULL when none) the receive queue then the send queue, *len their
 * sum.  0, or -errno with *what naming the step. */
int tcprep_read(int fd, struct tcp_rep *r, char **bytes, size_t *len, const char **what);
/* out of repair mode, sending nothing (no window probe), with
 * SO_REUSEADDR as it was (repair mode had forced it), the filter of
 * tcprep_lock gone */
int tcprep_leave(int fd, int reuseaddr);
/* the line's keys: " repair=1 snd_seq=..." */
void tcprep_keys(const struct tcp_rep *r, char *out, size_t cap);

/* ---- the restore (ckpt-thaw) ---- */

/* key k=v of an fd line: 1 taken, 0 not ours, -1 malformed */
int tcprep_key(struct tcp_rep *r, const char *k, const char *v);
/* NULL when the keys make sense (queued bytes: len of the line's
 * member, or 0), else why not */
const char *tcprep_why_not(const struct tcp_rep *r);
/* the states a connection may be repaired in: established, and half
 * closed (close_wait: the peer's FIN came; fin_wait1 and fin_wait2: the
 * program shut its writing, shutdown(SHUT_WR)) */
int tcprep_state_ok(int state);
/* New socket fd, made as the job, bound to local (in repair mode: a
 * port whatever holds it, so the caller first checked that the job's
 * user could take it) and connected to peer without a SYN, at the
 * saved sequence numbers, with the saved options, window and the bytes
 * of its queues that were sent; it stays in repair mode until
 * tcprep_release.  0, or -errno with *what naming the step. */
int tcprep_restore(int fd, const struct tcp_rep *r, const struct sockaddr *local,
		   socklen_t llen, const struct sockaddr *peer, socklen_t plen, const char *bytes,
		   const char **what);

/* ---- sockets held in repair mode until the end ---- */

/* fd (ours now) held in repair mode, with what its release needs: the
 * bytes not sent yet (copied), SO_REUSEADDR, and shut_wr: its FIN, not
 * sent yet, to send after them (shutdown).  0 or -1 (no memory) */
int tcprep_hold(int fd, int reuseaddr, const char *unsent, size_t len, int shut_wr);
/* Every held socket out of repair mode: probe 1 (a restore) sends a
 * window probe, so the peer answers with its window, then the bytes
 * that were not sent yet; probe 0 (a checkpoint) sends nothing.  Then
 * closed.  0, or -1 after a message. */
int tcprep_release(int probe);
/* Every held socket closed still in repair mode: the connection goes
 * without a FIN or a reset (the job was killed, or a restore failed) */
void tcprep_drop(void);
/* The job was killed: every held socket (in repair mode, locked) given
 * to a keeper (lib/tcpkeep.h), which holds its addresses until a
 * restore takes them, or for seconds, so that what the peer sends
 * meanwhile meets a socket that drops it, not a reset; ours closed */
void tcprep_keep(unsigned seconds);

/* the fds that ckpt-dumpfds's child hands to ckpt-freeze (fd of a
 * SOCK_SEQPACKET pair, -1: none): sent at once, each with its
 * SO_REUSEADDR; ckpt-freeze takes them with tcprep_hold_from */
int tcprep_hand(int chan, int fd, int reuseaddr);
/* every socket waiting on chan, held: 0, or -1 after a message */
int tcprep_hold_from(int chan);

#endif
