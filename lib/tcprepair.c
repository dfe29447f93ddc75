/* tcprepair.c - TCP connections saved and made again with TCP_REPAIR
 * (tcprepair.h).  How the kernel's repair mode works, as used here:
 * while a socket is in it, TCP_QUEUE_SEQ gets and sets the sequence
 * number of the queue TCP_REPAIR_QUEUE names (the send queue's is
 * write_seq, the receive queue's rcv_nxt), recv with MSG_PEEK reads
 * that queue, send puts bytes in it (into the receive queue as if they
 * had come; into the send queue as if sent, waiting for their ack),
 * connect makes the connection established without a SYN, bind takes
 * any port (SK_FORCE_REUSE), and a close sends neither FIN nor reset. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "fdpass.h"
#include "num.h"
#include "tcpkeep.h"
#include "tcprepair.h"

#define CHUNK_MAX (64 << 10)   /* bytes a send into a queue in repair mode
                                * takes: the kernel makes one linear skb */
#define UNSENT_WAIT_MS 2000    /* for room for the bytes not sent yet */
#define CONNECT_TRIES 50       /* ... CONNECT_WAIT_MS apart: for the old */
#define CONNECT_WAIT_MS 100    /* socket to go (a pipe from ckpt-freeze) */

/* the filter of tcprep_lock off (an int the kernel does not read) */
static int unlock(int fd)
{
	int none = 0;

	return setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &none, sizeof none) < 0 &&
	       errno != ENOENT ? -errno : 0;
}

static int sopt(int fd, int opt, int v)
{
	return setsockopt(fd, IPPROTO_TCP, opt, &v, sizeof v) < 0 ? -errno : 0;
}

static int gopt(int fd, int opt, uint32_t *v)
{
	socklen_t len = sizeof *v;

	return getsockopt(fd, IPPROTO_TCP, opt, v, &len) < 0 ? -errno : 0;
}

int tcprep_can(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	r = sopt(fd, TCP_REPAIR, TCP_REPAIR_ON);
	close(fd);
	return r;
}

const char *tcprep_why(int err)
{
	if (err == -EEXIST)
		return "it has a socket filter of its own (SO_ATTACH_FILTER), which the checkpoint's would replace";
	if (err == -EPERM || err == -EACCES)
		return "the kernel refuses TCP_REPAIR (it needs CAP_NET_ADMIN: run as root)";
	return strerror(-err);
}

int tcprep_enter(int fd)
{
	return sopt(fd, TCP_REPAIR, TCP_REPAIR_ON);
}

int tcprep_lock(int fd)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { 1, &drop };
	socklen_t len = 0;

	/* a filter of the program's own would be lost: its length */
	if (getsockopt(fd, SOL_SOCKET, SO_GET_FILTER, NULL, &len) == 0 && len)
		return -EEXIST;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0 ? -errno : 0;
}

/* the queue q's sequence number, and its bytes peeked into buf */
static int queue_get(int fd, int q, uint32_t *seq, char *buf, uint32_t len)
{
	ssize_t n;
	int r;

	if ((r = sopt(fd, TCP_REPAIR_QUEUE, q)) < 0 || (r = gopt(fd, TCP_QUEUE_SEQ, seq)) < 0)
		return r;
	if (!len)
		return 0;
	/* one byte more asked: the queue must hold exactly len */
	n = recv(fd, buf, len + 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 ? -errno : n != (ssize_t)len ? -EPROTO : 0;
}

/* the options both ends agreed on, from TCP_INFO, and the mss */
static int options_get(int fd, struct tcp_rep *r)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	int e;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	if (!tcprep_state_ok(ti.tcpi_state))
		return -ENOTCONN;
	r->state = ti.tcpi_state;
	r->opts = ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	if (r->opts & TCPI_OPT_WSCALE) {
		r->snd_wscale = ti.tcpi_snd_wscale;
		r->rcv_wscale = ti.tcpi_rcv_wscale;
	}
	if ((e = gopt(fd, TCP_MAXSEG, &r->mss)) < 0)
		return e;
	return r->opts & TCPI_OPT_TIMESTAMPS ? gopt(fd, TCP_TIMESTAMP, &r->tsval) : 0;
}

int tcprep_state_ok(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT || state == TCP_FIN_WAIT1 ||
	       state == TCP_FIN_WAIT2;
}

/* Our FIN (fin_wait1, fin_wait2) takes a sequence number after the last
 * byte, and counts in SIOCOUTQ (until acknowledged) and SIOCOUTQNSD
 * (until sent): the line's snd_seq, sendq and unsent are the bytes',
 * and fin= says whether the FIN after them went out.  The peer's FIN
 * (close_wait) is in rcv_seq, not in SIOCINQ: a restore puts the bytes
 * before it and shuts the reading (nothing more comes). */
static void fin_take(struct tcp_rep *r)
{
	if (r->state != TCP_FIN_WAIT1 && r->state != TCP_FIN_WAIT2)
		return;
	r->snd_seq--;
	r->sendq -= r->sendq > 0;
	r->fin = r->unsent ? 2 : 1;
	r->unsent -= r->unsent > 0;
}

static int window_get(int fd, struct tcp_rep *r)
{
	struct tcp_repair_window w;
	socklen_t len = sizeof w;

	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return -errno;
	r->have_window = 1;
	r->snd_wl1 = w.snd_wl1, r->snd_wnd = w.snd_wnd, r->max_window = w.max_window;
	r->rcv_wnd = w.rcv_wnd, r->rcv_wup = w.rcv_wup;
	return 0;
}

static int queue_len(int fd, unsigned long req, uint32_t *v)
{
	int n;

	if (ioctl(fd, req, &n) < 0)
		return -errno;
	*v = n;
	return 0;
}

int tcprep_read(int fd, struct tcp_rep *r, char **bytes, size_t *len, const char **what)
{
	char *buf = NULL;
	int e;

	memset(r, 0, sizeof *r);
	*bytes = NULL;
	*len = 0;
	*what = "its options (TCP_INFO, TCP_MAXSEG, TCP_TIMESTAMP)";
	if ((e = options_get(fd, r)) < 0)
		return e;
	*what = "its window (TCP_REPAIR_WINDOW)";
	if ((e = window_get(fd, r)) < 0)
		return e;
	*what = "the length of its queues (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD)";
	if ((e = queue_len(fd, SIOCINQ, &r->recvq)) < 0 || (e = queue_len(fd, SIOCOUTQ, &r->sendq)) < 0 ||
	    (e = queue_len(fd, SIOCOUTQNSD, &r->unsent)) < 0)
		return e;
	if (r->unsent > r->sendq)
		return -EPROTO;
	fin_take(r);
	if (r->recvq + (size_t)r->sendq && !(buf = malloc(r->recvq + (size_t)r->sendq + 1)))
		return -ENOMEM;
	*what = "its receive queue";
	if ((e = queue_get(fd, TCP_RECV_QUEUE, &r->rcv_seq, buf, r->recvq)) == 0) {
		*what = "its send queue";
		e = queue_get(fd, TCP_SEND_QUEUE, &r->snd_seq, buf + r->recvq, r->sendq);
		r->snd_seq -= r->fin != 0;   /* write_seq: after the FIN */
	}
	sopt(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
	if (e < 0) {
		free(buf);
		return e;
	}
	r->on = 1;
	*bytes = buf;
	*len = r->recvq + (size_t)r->sendq;
	return 0;
}

int tcprep_leave(int fd, int reuseaddr)
{
	/* what came meanwhile was dropped: the peer sends it again */
	int r = unlock(fd), e = sopt(fd, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);

	if (!r)
		r = e;
	if (r == 0 && reuseaddr &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuseaddr, sizeof reuseaddr) < 0)
		r = -errno;
	return r;
}

void tcprep_keys(const struct tcp_rep *r, char *out, size_t cap)
{
	int n = snprintf(out, cap, " repair=1 snd_seq=%u rcv_seq=%u sendq=%u unsent=%u recvq=%u mss=%u",
			 r->snd_seq, r->rcv_seq, r->sendq, r->unsent, r->recvq, r->mss);

	if (n < 0 || (size_t)n >= cap)
		return;
	if (r->opts & TCPI_OPT_WSCALE)
		n += snprintf(out + n, cap - n, " wscale=%u,%u", r->snd_wscale, r->rcv_wscale);
	if ((size_t)n < cap && (r->opts & TCPI_OPT_SACK))
		n += snprintf(out + n, cap - n, " sack=1");
	if ((size_t)n < cap && (r->opts & TCPI_OPT_TIMESTAMPS))
		n += snprintf(out + n, cap - n, " tsval=%u", r->tsval);
	if ((size_t)n < cap && r->have_window)
		n += snprintf(out + n, cap - n, " window=%u,%u,%u,%u,%u", r->snd_wl1, r->snd_wnd,
			      r->max_window, r->rcv_wnd, r->rcv_wup);
	if ((size_t)n < cap && r->fin)
		snprintf(out + n, cap - n, " fin=%d", r->fin);
}

/* "N,N,...": n numbers <= max into v; 0 or -1 */
static int nums(const char *s, unsigned n, uint64_t max, uint32_t *v)
{
	const char *end = s + strlen(s);
	uint64_t x;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (num_scan(&s, end, 10, max, &x) < 0 || (i + 1 < n ? *s++ != ',' : s != end))
			return -1;
		v[i] = x;
	}
	return 0;
}

int tcprep_key(struct tcp_rep *r, const char *k, const char *v)
{
	static const struct { const char *key; size_t off; } one[] = {
		{ "snd_seq", offsetof(struct tcp_rep, snd_seq) },
		{ "rcv_seq", offsetof(struct tcp_rep, rcv_seq) },
		{ "sendq", offsetof(struct tcp_rep, sendq) },
		{ "unsent", offsetof(struct tcp_rep, unsent) },
		{ "recvq", offsetof(struct tcp_rep, recvq) },
		{ "mss", offsetof(struct tcp_rep, mss) },
		{ "tsval", offsetof(struct tcp_rep, tsval) },
	};
	uint32_t w[5];
	unsigned i;

	for (i = 0; i < sizeof one / sizeof *one; i++)
		if (!strcmp(k, one[i].key)) {
			if (nums(v, 1, NUM_U32_MAX, w) < 0)
				return -1;
			*(uint32_t *)((char *)r + one[i].off) = w[0];
			r->opts |= !strcmp(k, "tsval") ? TCPI_OPT_TIMESTAMPS : 0;
			return 1;
		}
	if (!strcmp(k, "repair"))
		return strcmp(v, "1") ? -1 : (r->on = 1);
	if (!strcmp(k, "fin"))
		return strcmp(v, "1") && strcmp(v, "2") ? -1 : (r->fin = *v - '0', 1);
	if (!strcmp(k, "sack"))
		return strcmp(v, "1") ? -1 : (r->opts |= TCPI_OPT_SACK, 1);
	if (!strcmp(k, "wscale")) {
		if (nums(v, 2, 14, w) < 0)
			return -1;
		r->snd_wscale = w[0], r->rcv_wscale = w[1];
		return r->opts |= TCPI_OPT_WSCALE, 1;
	}
	if (!strcmp(k, "window")) {
		if (nums(v, 5, NUM_U32_MAX, w) < 0)
			return -1;
		r->snd_wl1 = w[0], r->snd_wnd = w[1], r->max_window = w[2];
		r->rcv_wnd = w[3], r->rcv_wup = w[4];
		return r->have_window = 1;
	}
	return 0;
}

const char *tcprep_why_not(const struct tcp_rep *r)
{
	if (!r->on)
		return NULL;
	if (r->unsent > r->sendq)
		return "its unsent= is more than its sendq=";
	if (!r->mss || r->mss > 65535)
		return "its mss= is not one TCP has";
	if (r->have_window && r->max_window < r->snd_wnd)
		return "its window= has a max_window below snd_wnd";
	if (!tcprep_state_ok(r->state))
		return "a repaired connection whose state= is not established, close_wait, "
		       "fin_wait1 or fin_wait2";
	if (!r->fin != (r->state != TCP_FIN_WAIT1 && r->state != TCP_FIN_WAIT2))
		return "fin= goes with state=fin_wait1 or fin_wait2, and only with them";
	if (r->fin == 2 && r->state == TCP_FIN_WAIT2)
		return "fin=2 (not sent) with state=fin_wait2 (acknowledged)";
	return NULL;
}

/* len bytes into queue q in repair mode (or, q TCP_NO_QUEUE, sent as
 * a program sends them), in chunks the kernel takes */
static int queue_put(int fd, int q, const char *buf, size_t len)
{
	size_t off = 0, chunk;
	ssize_t n;
	int r;

	if (q != TCP_NO_QUEUE && (r = sopt(fd, TCP_REPAIR_QUEUE, q)) < 0)
		return r;
	while (off < len) {
		chunk = len - off < CHUNK_MAX ? len - off : CHUNK_MAX;
		n = send(fd, buf + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && q == TCP_NO_QUEUE &&
		    poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, UNSENT_WAIT_MS) > 0)
			continue;
		return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/* the options both ends agreed on, as at the checkpoint */
static int options_set(int fd, const struct tcp_rep *r)
{
	struct tcp_repair_opt o[4];
	int n = 0;

	if (r->opts & TCPI_OPT_SACK)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (r->opts & TCPI_OPT_WSCALE)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_WINDOW, r->snd_wscale | r->rcv_wscale << 16 };
	if (r->opts & TCPI_OPT_TIMESTAMPS)
		o[n++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	o[n++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, r->mss };
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, o, n * sizeof *o) < 0)
		return -errno;
	/* our timestamps go on from where the peer last saw them (its PAWS
	 * check drops a segment whose timestamp went back) */
	return r->opts & TCPI_OPT_TIMESTAMPS ? sopt(fd, TCP_TIMESTAMP, r->tsval) : 0;
}

static int window_set(int fd, const struct tcp_rep *r)
{
	struct tcp_repair_window w = { r->snd_wl1, r->snd_wnd, r->max_window, r->rcv_wnd, r->rcv_wup };

	if (!r->have_window)
		return 0;
	return setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof w) < 0 ? -errno : 0;
}

/* connect in repair mode.  The old socket may still have the four
 * addresses for a moment: ckpt-freeze --kill piped straight into us
 * kills the job and gives its sockets to a keeper once the stream is
 * whole, while we read it.  Asked again for a while (the keeper let go
 * of it, or it is not there yet).  0 or -errno. */
static int connect_again(int fd, const struct sockaddr *local, const struct sockaddr *peer,
			 socklen_t plen)
{
	int i;

	for (i = 0; connect(fd, peer, plen) < 0; i++) {
		if (errno != EADDRNOTAVAIL || i == CONNECT_TRIES)
			return -errno;
		poll(NULL, 0, CONNECT_WAIT_MS);
		tcpkeep_release(local, peer);
	}
	return 0;
}

/* A half-closed connection as it was.  Our FIN that went out goes
 * into the send queue as sent (shutdown in repair mode with the send
 * queue chosen: not sent again; the answer to the window probe, or a
 * retransmission, has the peer acknowledge it: fin_wait2); one not
 * sent yet follows the bytes not sent (tcprep_hold).  The peer's FIN
 * that came: the reading shut (its sequence number is in rcv_seq), so
 * that a read gives the bytes queued, then the end. */
static int half_close(int fd, const struct tcp_rep *r)
{
	int e;

	if (r->fin == 1 && ((e = sopt(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) < 0 ||
			    shutdown(fd, SHUT_WR) < 0))
		return e < 0 ? e : -errno;
	if (r->state == TCP_CLOSE_WAIT && shutdown(fd, SHUT_RD) < 0)
		return -errno;
	return 0;
}

int tcprep_restore(int fd, const struct tcp_rep *r, const struct sockaddr *local,
		   socklen_t llen, const struct sockaddr *peer, socklen_t plen, const char *bytes,
		   const char **what)
{
	int e;

	*what = "repair mode (TCP_REPAIR)";
	if ((e = tcprep_enter(fd)) < 0)
		return e;
	/* nothing the peer sends gets in before the queues are whole */
	*what = "a filter dropping what comes meanwhile (SO_ATTACH_FILTER)";
	if ((e = tcprep_lock(fd)) < 0)
		return e;
	/* the keeper of the old socket lets go of the addresses */
	tcpkeep_release(local, peer);
	*what = "bind";
	if (bind(fd, local, llen) < 0)
		return -errno;
	/* the queues start empty at the first byte they held */
	*what = "its sequence numbers (TCP_QUEUE_SEQ)";
	if ((e = sopt(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)) < 0 ||
	    (e = sopt(fd, TCP_QUEUE_SEQ, r->rcv_seq - r->recvq)) < 0 ||
	    (e = sopt(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)) < 0 ||
	    (e = sopt(fd, TCP_QUEUE_SEQ, r->snd_seq - r->sendq)) < 0)
		return e;
	*what = "connect (in repair mode: no SYN)";
	if ((e = connect_again(fd, local, peer, plen)) < 0)
		return e;
	*what = "its options (TCP_REPAIR_OPTIONS, TCP_TIMESTAMP)";
	if ((e = options_set(fd, r)) < 0)
		return e;
	*what = "its receive queue";
	if (bytes && (e = queue_put(fd, TCP_RECV_QUEUE, bytes, r->recvq)) < 0)
		return e;
	*what = "the bytes of its send queue that were sent";
	if (bytes && (e = queue_put(fd, TCP_SEND_QUEUE, bytes + r->recvq, r->sendq - r->unsent)) < 0)
		return e;
	*what = "its window (TCP_REPAIR_WINDOW)";
	if ((e = window_set(fd, r)) < 0)
		return e;
	*what = "its half close (shutdown)";
	if ((e = half_close(fd, r)) < 0)
		return e;
	return sopt(fd, TCP_REPAIR_QUEUE, TCP_NO_QUEUE);
}

/* ---- held sockets ---- */

struct held {
	int fd, reuseaddr, shut_wr;
	char *unsent;
	size_t len;
};

static struct held *held;
static unsigned nheld;

int tcprep_hold(int fd, int reuseaddr, const char *unsent, size_t len, int shut_wr)
{
	struct held *nh = realloc(held, (nheld + 1) * sizeof *nh);
	char *copy = len ? malloc(len) : NULL;

	if (!nh || (len && !copy)) {
		free(copy);
		held = nh ? nh : held;
		return -1;
	}
	held = nh;
	if (len)
		memcpy(copy, unsent, len);
	held[nheld++] = (struct held){ fd, reuseaddr, shut_wr, copy, len };
	return 0;
}

static void held_free(void)
{
	unsigned i;

	for (i = 0; i < nheld; i++) {
		close(held[i].fd);
		free(held[i].unsent);
	}
	free(held);
	held = NULL;
	nheld = 0;
}

int tcprep_release(int probe)
{
	struct held *h;
	unsigned i;
	int r = 0, e;

	for (i = 0; i < nheld; i++) {
		h = &held[i];
		/* the filter off first: the answer to the window probe gets in */
		e = !probe ? tcprep_leave(h->fd, 0) :
		    (e = unlock(h->fd)) < 0 ? e : sopt(h->fd, TCP_REPAIR, TCP_REPAIR_OFF);
		if (e == 0 && h->reuseaddr)
			e = setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &h->reuseaddr,
				       sizeof h->reuseaddr) < 0 ? -errno : 0;
		if (e == 0 && h->len)
			e = queue_put(h->fd, TCP_NO_QUEUE, h->unsent, h->len);
		if (e == 0 && h->shut_wr && probe && shutdown(h->fd, SHUT_WR) < 0)
			e = -errno;
		if (e < 0) {
			warnerr(e, "a TCP connection out of repair mode%s:",
				h->len ? ", its bytes not sent yet" : "");
			r = -1;
		}
	}
	held_free();
	return r;
}

void tcprep_drop(void)
{
	held_free();
}

void tcprep_keep(unsigned seconds)
{
	int *fds = malloc((nheld ? nheld : 1) * sizeof *fds);
	unsigned i;

	for (i = 0; fds && i < nheld; i++)
		fds[i] = held[i].fd;
	if (fds && nheld)
		tcpkeep_start(fds, nheld, seconds);
	free(fds);
	held_free();
}

int tcprep_hand(int chan, int fd, int reuseaddr)
{
	return fds_send(chan, &reuseaddr, sizeof reuseaddr, &fd, 1);
}

int tcprep_hold_from(int chan)
{
	int reuse, fd, n = 1;
	ssize_t r;

	for (;;) {
		n = 1;
		r = fds_recv(chan, &reuse, sizeof reuse, &fd, &n);
		if (r == -EAGAIN || r == -EWOULDBLOCK || (r == 0 && n == 0))
			return 0;
		if (r < 0)
			return warnerr(r, "the TCP connections in repair mode:"), -1;
		if (r != sizeof reuse || n != 1) {
			if (n == 1)
				close(fd);
			warn("the TCP connections in repair mode: a bad message");
			return -1;
		}
		if (tcprep_hold(fd, reuse, NULL, 0, 0) < 0) {
			close(fd);
			return warn("out of memory"), -1;
		}
	}
}
