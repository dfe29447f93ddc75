/* control.c - the control thread: one connection at a time, one reply
 * per request (lib/proto.h).
 *
 * Serves requests while the other threads are frozen: rawsys.h calls and
 * static storage only.  No malloc, no stdio, no locks, no errno. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>

#include "fdpass.h"
#include "shim.h"
#include "rawsys.h"

static union {
	struct ckpt_req req;
	char bytes[sizeof(struct ckpt_req) + CKPT_MSG_MAX];
} in;
static union {
	struct ckpt_rep rep;
	char bytes[sizeof(struct ckpt_rep) + CKPT_MSG_MAX];
} out;
static char cbuf[CMSG_SPACE(sizeof(int) * CKPT_FDS_MAX)];
static int in_fds[CKPT_FDS_MAX], n_in_fds;
static long deadline;  /* CLOCK_MONOTONIC ms: see request_wait */

static int reply(int conn, long err, const int *fds, int nfds)
{
	struct iovec iov = { out.bytes, sizeof out.rep + out.rep.len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	out.rep.err = err;
	out.rep.nfds = nfds;
	if (nfds)
		cmsg_put_fds(&mh, cbuf, fds, nfds);
	return sys_sendmsg(conn, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

static void close_in_fds(void)
{
	while (n_in_fds)
		sys_close(in_fds[--n_in_fds]);
}

/* one request into `in`, its fds into in_fds; payload bytes, or -1
 * with its fds closed (malformed, or the connection is over) */
static long receive(int conn)
{
	struct iovec iov = { in.bytes, sizeof in.bytes };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;
	long n;

	do
		n = sys_recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	while (n == -EINTR);
	n_in_fds = 0;
	for (cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (i = 0; i < k && n_in_fds < CKPT_FDS_MAX; i++)
			in_fds[n_in_fds++] = ((int *)CMSG_DATA(cm))[i];
	}
	if (n < (long)sizeof in.req || in.req.len != n - sizeof in.req) {
		close_in_fds();
		return -1;
	}
	return in.req.len;
}

static int do_hello(int conn)
{
	struct ckpt_hello *h = (void *)(out.bytes + sizeof out.rep);

	h->version = CKPT_PROTO_VERSION;
	h->pid = sys_getpid();
	h->signal = ckpt_sig;
	h->frozen = freeze_held();
	out.rep.len = sizeof *h;
	return reply(conn, 0, NULL, 0);
}

/* a freeze, or a rescan of one (rescan): the reply lists the threads
 * that block the freeze signal */
static int do_freeze(int conn, int rescan)
{
	uint64_t laggard = 0;
	const uint32_t *tids;
	int r = rescan ? freeze_rescan(in.req.arg, &laggard) : freeze_all(in.req.arg, &laggard), n;

	r = r > 0 ? 0 : r;
	out.rep.arg = r == 0 ? threads_count() : laggard;
	if (r == 0 && (n = freeze_blocked(&tids)) > 0) {
		memcpy(out.bytes + sizeof out.rep, tids, n * sizeof *tids);
		out.rep.len = n * sizeof *tids;
	}
	return reply(conn, r, NULL, 0);
}

static int do_adopt(int conn, long len)
{
	uint64_t mask;

	if (len != sizeof mask || in.req.arg > 0x7fffffff)
		return reply(conn, -EINVAL, NULL, 0);
	memcpy(&mask, in.bytes + sizeof in.req, sizeof mask);
	return reply(conn, freeze_adopt(in.req.arg, mask), NULL, 0);
}

static int do_proc(int conn)
{
	int fds[CKPT_PROCFD_COUNT], r, i;

	proc_record((void *)(out.bytes + sizeof out.rep));
	out.rep.len = sizeof(struct ckpt_proc_rec);
	r = proc_open_fds(fds);
	if (r < 0) {
		/* not dumpable: a tool that may ptrace us (root) opens the
		 * files itself, and needs the record still */
		if (r != -EACCES)
			out.rep.len = 0;
		return reply(conn, r, NULL, 0);
	}
	r = reply(conn, 0, fds, CKPT_PROCFD_COUNT);
	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		sys_close(fds[i]);
	return r;
}

static int do_threads(int conn)
{
	struct ckpt_thread_rec *recs = (void *)(out.bytes + sizeof out.rep);
	uint32_t i = in.req.arg, n = threads_count(), k = 0;
	uint32_t max = CKPT_MSG_MAX / sizeof *recs;

	for (; i < n && k < max; i++, k++)
		recs[k] = *thread_rec(i);
	out.rep.len = k * sizeof *recs;
	out.rep.more = i < n;
	return reply(conn, 0, NULL, 0);
}

static int do_fds(int conn)
{
	static int fds[CKPT_FDS_MAX];
	struct ckpt_fd_ent *ents = (void *)(out.bytes + sizeof out.rep);
	int more, n, i;

	n = fds_list(in.req.arg, ents, CKPT_FDS_MAX, &more);
	if (n < 0)
		return reply(conn, n, NULL, 0);
	for (i = 0; i < n; i++)
		fds[i] = ents[i].fd;
	out.rep.len = n * sizeof *ents;
	out.rep.more = more;
	return reply(conn, 0, fds, n);
}

static int do_pages(int conn, long len)
{
	long r;

	if (n_in_fds != 1 || len % sizeof(struct ckpt_range))
		return reply(conn, -EINVAL, NULL, 0);
	/* the connection watched: the pipe's reader may be anyone's (a
	 * ckpt-dumpmem gives ckpt-freeze's stdout), who need not read on
	 * once the tool is gone */
	r = pages_splice(in_fds[0], (void *)(in.bytes + sizeof in.req),
			 len / sizeof(struct ckpt_range), conn);
	close_in_fds();
	out.rep.arg = r < 0 ? 0 : r;
	return reply(conn, r < 0 ? r : 0, NULL, 0);
}

static int do_timers(int conn, long len)
{
	struct ckpt_timer_rec *recs = (void *)(out.bytes + sizeof out.rep);
	long n = len / sizeof(int32_t);
	int r;

	if (len % sizeof(int32_t) || n > (long)CKPT_TIMERS_MAX)
		return reply(conn, -EINVAL, NULL, 0);
	r = timers_record((const int32_t *)(in.bytes + sizeof in.req), n, recs);
	out.rep.len = r < 0 ? 0 : n * sizeof *recs;
	return reply(conn, r, NULL, 0);
}

static int do_dirty(int conn, long len)
{
	dirty_begin((void *)(out.bytes + sizeof out.rep), in.bytes + sizeof in.req, len);
	out.rep.len = sizeof(struct ckpt_dirty_rec);
	return reply(conn, 0, NULL, 0);
}

static int do_track(int conn, long len)
{
	long n = len / sizeof(struct ckpt_range);
	int r;

	if (len % sizeof(struct ckpt_range) || n > (long)CKPT_TRACK_MAX)
		return reply(conn, -EINVAL, NULL, 0);
	r = dirty_track((const void *)(in.bytes + sizeof in.req), n,
			(int32_t *)(out.bytes + sizeof out.rep));
	out.rep.len = r < 0 ? 0 : n * sizeof(int32_t);
	return reply(conn, r, NULL, 0);
}

static int do_cow(int conn)
{
	int fd, r;
	long pid = cow_take(in.req.arg, &fd);

	if (pid < 0)
		return reply(conn, pid, NULL, 0);
	out.rep.arg = pid;
	r = reply(conn, 0, &fd, 1);
	sys_close(fd);   /* the tool's now: the snapshot ends when it closes */
	return r;
}

static long now_ms(void)
{
	struct timespec ts;

	sys_clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Until the next request is there: 0, or -1 when the connection is to
 * be dropped.  A connection holding a freeze may take its time (the
 * tools keep the process frozen while a slow reader drains the stream;
 * its holder is the user or root, who could stop the process anyway).
 * One holding nothing gets CKPT_REQUEST_DEADLINE_MS from its accept or
 * from its last request under a freeze: a client that says nothing
 * cannot keep other checkpoints out. */
static int request_wait(int conn)
{
	struct pollfd p = { .fd = conn, .events = POLLIN };
	long left, r;

	if (freeze_held()) {
		deadline = now_ms() + CKPT_REQUEST_DEADLINE_MS;
		return 0;
	}
	/* past the deadline, a request already there is still served: a
	 * control thread kept off the CPU (a loaded machine, thousands of
	 * threads just thawed) must not drop a HELLO that came in time */
	do {
		left = deadline - now_ms();
		r = sys_poll(&p, 1, left > 0 ? left : 0);
	} while (r == -EINTR);
	if (r == 0)
		shim_log("dropped a connection that sent no request in ",
			 CKPT_REQUEST_DEADLINE_MS, " ms");
	return r > 0 ? 0 : -1;
}

/* one request; 0 to go on, -1 when the connection is over */
static int serve_one(int conn)
{
	long len = request_wait(conn) < 0 ? -1 : receive(conn);
	int frozen_only, r;

	if (len < 0)
		return -1;
	/* a request under a freeze (the thaw too) restarts the clock: the
	 * wait before it may have lasted as long as the job's whole dump */
	if (freeze_held())
		deadline = now_ms() + CKPT_REQUEST_DEADLINE_MS;
	memset(&out.rep, 0, sizeof out.rep);
	/* (an epoch may come after a --cow checkpoint's thaw: dirty.c) */
	frozen_only = in.req.op >= CKPT_OP_PROC && in.req.op != CKPT_OP_EPOCH && !freeze_held();
	if (frozen_only)
		r = reply(conn, -EPERM, NULL, 0);
	else switch (in.req.op) {
	case CKPT_OP_HELLO:   r = do_hello(conn); break;
	case CKPT_OP_FREEZE:
		if (!freeze_held()) {
			api_checkpoint();   /* the program's hooks, threads running */
			dirty_freeze();
		}
		r = do_freeze(conn, 0);
		break;
	case CKPT_OP_THAW:
		thaw_all();
		r = reply(conn, 0, NULL, 0);
		api_resumed();
		break;
	case CKPT_OP_PROC:    r = do_proc(conn); break;
	case CKPT_OP_THREADS: r = do_threads(conn); break;
	case CKPT_OP_FDS:     r = do_fds(conn); break;
	case CKPT_OP_PAGES:   r = do_pages(conn, len); break;
	case CKPT_OP_TIMERS:  r = do_timers(conn, len); break;
	case CKPT_OP_ADOPT:   r = do_adopt(conn, len); break;
	case CKPT_OP_RESCAN:  r = do_freeze(conn, 1); break;
	case CKPT_OP_DIRTY:   r = do_dirty(conn, len); break;
	case CKPT_OP_TRACK:   r = do_track(conn, len); break;
	case CKPT_OP_EPOCH:
		r = reply(conn, dirty_epoch(in.bytes + sizeof in.req, len, freeze_held()), NULL,
			  0);
		break;
	case CKPT_OP_COW:     r = do_cow(conn); break;
	case CKPT_OP_ADOPTED:
		r = reply(conn, in.req.arg > 0x7fffffff ? -EINVAL : freeze_adopted(in.req.arg, 2000),
			  NULL, 0);
		break;
	case CKPT_OP_KILL:
		reply(conn, 0, NULL, 0);
		sys_kill(sys_getpid(), 9);
		r = -1;
		break;
	default:              r = reply(conn, -ENOSYS, NULL, 0); break;
	}
	close_in_fds();
	return r;
}

/* Same uid or root; anything else is refused and logged.  A process
 * that is not dumpable (it dropped from root, or ran a setuid program:
 * the kernel lets only CAP_SYS_PTRACE read its memory) serves root
 * only: its own uid could otherwise take its memory and fds, which
 * ptrace would not give it. */
static int peer_allowed(int conn)
{
	struct ucred cr;
	unsigned len = sizeof cr;
	long me = sys_geteuid();

	if (sys_getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return 0;
	if (cr.uid == 0)
		return 1;
	if (cr.uid == (unsigned)me && sys_prctl(3 /* PR_GET_DUMPABLE */, 0, 0, 0, 0) == 1)
		return 1;
	if (cr.uid == (unsigned)me)
		shim_log("refused a connection from uid ", cr.uid,
			 ": the process is not dumpable, only root may checkpoint it");
	else
		shim_log("refused a connection from uid ", cr.uid, ": not the process's uid nor root");
	memset(&out.rep, 0, sizeof out.rep);
	reply(conn, -EACCES, NULL, 0);
	return 0;
}

void control_serve(int conn)
{
	/* a client that does not read its replies cannot hold us either */
	struct timeval tv = { CKPT_REQUEST_DEADLINE_MS / 1000, 0 };

	ckpt_conn_fd = conn;
	deadline = now_ms() + CKPT_REQUEST_DEADLINE_MS;
	sys_setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (peer_allowed(conn))
		while (serve_one(conn) == 0)
			;
	/* a freeze is held by its connection: whoever held it is gone */
	if (freeze_held())
		thaw_all();
	sys_close(conn);
	ckpt_conn_fd = -1;
	api_resumed();   /* a checkpoint that failed: the program goes on */
}

void control_serve_snapshot(int conn)
{
	long len;
	int r = 0;

	ckpt_conn_fd = conn;
	while (r == 0 && (len = receive(conn)) >= 0) {
		memset(&out.rep, 0, sizeof out.rep);
		if (in.req.op == CKPT_OP_PROC)
			r = do_proc(conn);
		else if (in.req.op == CKPT_OP_PAGES)
			r = do_pages(conn, len);
		else
			r = reply(conn, -ENOSYS, NULL, 0);
		close_in_fds();
	}
}
