/* freeze.c - freeze, thaw, and waiting for a stream's reader */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "freeze.h"
#include "io.h"
#include "num.h"
#include "seize.h"

int status_field(const char *path, const char *key, char *out, size_t len)
{
	char *text = read_file(path, NULL), *p, *eol;
	size_t k = strlen(key);
	int r = -1;

	for (p = text; p && *p; p = eol + 1) {
		eol = strchrnul(p, '\n');
		if (!strncmp(p, key, k) && p[k] == ':') {
			p += k + 1;
			p += strspn(p, " \t");
			snprintf(out, len, "%.*s", (int)(eol - p), p);
			r = 0;
			break;
		}
		if (!*eol)
			break;
	}
	free(text);
	return r;
}

/* the freeze signal of the shim on sock */
static unsigned freeze_signal(int sock)
{
	struct ckpt_hello h = { .signal = CKPT_SIGNAL_DEFAULT };
	struct ctl_call c = { .op = CKPT_OP_HELLO, .reply = &h, .replen = sizeof h };

	ctl_call(sock, &c);
	return h.signal;
}

/* Why thread tid did not stop, as the kernel tells it: never a guess */
static void laggard_explain(int sock, pid_t pid, uint64_t arg, unsigned ms)
{
	char path[64], state[64] = "", blk[32] = "", q[32] = "?";
	unsigned tid = (uint32_t)arg, err = arg >> 32, sig;
	unsigned long long mask;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (err == EAGAIN && status_field(path, "SigQ", q, sizeof q) == 0) {
		warn("pid %d: thread %u: the freeze signal cannot be queued: the queue of real-time signals of its uid, shared by all its processes, is full (SigQ %s; rt_tgsigqueueinfo: EAGAIN); nothing stays frozen",
		     (int)pid, tid, q);
		return;
	}
	if (err) {
		warnerr(-(int)err, "pid %d: thread %u: the freeze signal cannot be queued (rt_tgsigqueueinfo):", (int)pid, tid);
		return;
	}
	snprintf(path, sizeof path, "/proc/%d/task/%u/status", (int)pid, tid);
	status_field(path, "State", state, sizeof state);
	status_field(path, "SigBlk", blk, sizeof blk);
	sig = freeze_signal(sock);
	mask = strtoull(blk, NULL, 16);
	if (sig >= 1 && sig <= 64 && (mask >> (sig - 1) & 1))
		warn("pid %d: thread %u blocks the freeze signal %u (SigBlk %s) and did not stop in %u ms; nothing stays frozen",
		     (int)pid, tid, sig, blk, ms);
	else
		warn("pid %d: thread %u did not stop for the freeze signal %u in %u ms (State %s, SigBlk %s); nothing stays frozen",
		     (int)pid, tid, sig, ms, state[0] ? state : "gone", blk[0] ? blk : "-");
}

int freeze_open(pid_t pid, unsigned timeout_ms)
{
	int s = ctl_open(pid), r;

	if (s < 0)
		return -1;
	r = freeze_on(s, pid, timeout_ms);
	if (r < -1) {
		warnerr(r, "pid %d: freeze:", (int)pid);
		close(s);
	}
	return r < 0 ? -1 : s;
}

/* The main thread has exited while others run (a zombie leader): the
 * process's /proc files that need its memory or its fds read empty, and
 * a restore has no way to make a thread that exited (formats/threads.md).
 * -1 after a message. */
static int leader_refused(pid_t pid)
{
	char path[64], state[64];

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (status_field(path, "State", state, sizeof state) < 0 || state[0] != 'Z')
		return 0;
	warn("pid %d: the main thread has exited while other threads run (State %s): its memory and fds are no longer in /proc/%d and a restore cannot make a thread that exited: cannot be checkpointed; nothing stays frozen",
	     (int)pid, state, (int)pid);
	return -1;
}

/* the threads the shim reports blocking the freeze signal, adopted one
 * by one (seize.c), then the shim looks again: they ran until adopted,
 * and may have made threads (glibc's timer helper makes one for each
 * expiry).  A few rounds at most; 0 or -1 after a message. */
#define ADOPT_ROUNDS 8
static int blocked_adopt(int s, pid_t pid, uint32_t *tids, size_t n, unsigned ms)
{
	unsigned sig = freeze_signal(s);
	int round, r;
	size_t i;

	for (round = 0; n && round < ADOPT_ROUNDS; round++) {
		for (i = 0; i < n; i++)
			if (seize_adopt(s, pid, tids[i], sig, ms) < 0)
				return -1;
		struct ctl_call c = { .op = CKPT_OP_RESCAN, .arg = ms, .reply = tids,
				      .replen = CKPT_MSG_MAX };
		if ((r = ctl_call(s, &c)) == -ETIMEDOUT) {
			laggard_explain(s, pid, c.rep.arg, ms);
			return -1;
		}
		if (r < 0)
			return warnerr(r, "pid %d: freeze the threads made meanwhile:", (int)pid), -1;
		n = c.replen / sizeof *tids;
	}
	if (n)
		return warn("pid %d: threads that block the freeze signal keep coming (%u rounds); nothing stays frozen",
			    (int)pid, ADOPT_ROUNDS), -1;
	return 0;
}

int freeze_ask(int s, unsigned timeout_ms)
{
	struct ctl_call c = { .op = CKPT_OP_FREEZE, .arg = timeout_ms };

	/* the shim answers a freeze only after up to timeout_ms itself */
	ctl_timeout(s, (timeout_ms ? timeout_ms : 2000) + CTL_TIMEOUT_MS);
	return ctl_send(s, &c);
}

int freeze_answer(int s, pid_t pid, unsigned timeout_ms)
{
	static uint32_t tids[CKPT_MSG_MAX / sizeof(uint32_t)];
	struct ctl_call c = { .op = CKPT_OP_FREEZE, .arg = timeout_ms, .reply = tids,
			      .replen = sizeof tids };
	unsigned ms = timeout_ms ? timeout_ms : 2000;
	int r = ctl_recv(s, &c);

	if (r == -ETIMEDOUT)
		laggard_explain(s, pid, c.rep.arg, ms);
	else if (r == -EBUSY)
		warn("pid %d: already frozen by another checkpoint", (int)pid);
	else if (r == -ECONNRESET || r == -EPIPE)
		return r;  /* the caller says it: the shim is gone (exit, exec) */
	else if (r < 0)
		warnerr(r, "pid %d: freeze:", (int)pid);
	if (r == 0 && (leader_refused(pid) < 0 ||
		       blocked_adopt(s, pid, tids, c.replen / sizeof *tids, ms) < 0))
		r = -1;
	if (r < 0) {
		close(s);
		return -1;
	}
	return 0;
}

int freeze_on(int s, pid_t pid, unsigned timeout_ms)
{
	int r = freeze_ask(s, timeout_ms);

	if (r == -ECONNRESET || r == -EPIPE)
		return r;  /* the caller says it: the shim is gone (exit, exec) */
	if (r < 0) {
		warnerr(r, "pid %d: freeze:", (int)pid);
		close(s);
		return -1;
	}
	return freeze_answer(s, pid, timeout_ms);
}

int thaw_result(pid_t pid, int r, int quiet)
{
	if (r == -ECONNRESET || r == -EPIPE) {
		/* the program ran on at once and exited or exec'd before its
		 * shim could answer: the stream was complete before the thaw */
		if (!quiet)
			warn("pid %d: note: exited or exec'd as it was thawed; the image is complete",
			     (int)pid);
		return 0;
	}
	if (r < 0) {
		warnerr(r, "pid %d: thaw:", (int)pid);
		return -1;
	}
	return 0;
}

int freeze_thaw(int sock, pid_t pid)
{
	int r = ctl_simple(sock, CKPT_OP_THAW, 0, NULL);

	close(sock);
	return thaw_result(pid, r, 0);
}

int drain_wait(int fd)
{
	struct timespec ts = { 0, 200000 };
	struct stat st;
	int n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode))
		return 0;
	for (;;) {
		if (ioctl(fd, FIONREAD, &n) < 0)
			return -errno;
		if (n == 0)
			return 0;
		/* a reader that went away leaves the bytes unread */
		struct pollfd p = { .fd = fd, .events = 0 };
		if (poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
			return -EPIPE;
		nanosleep(&ts, NULL);
	}
}

int control_fd_parse(const char *arg)
{
	uint64_t fd;
	struct stat st;

	if (num_parse(arg, 1 << 20, &fd) < 0) {
		warn("--control %s: not an fd number", arg);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		warn("--control %s: not an open socket", arg);
		return -1;
	}
	return fd;
}

/* A closed fd 0-2 would be taken by the next open or socket: the
 * stream would go into the control socket.  stdin and stderr get
 * /dev/null; a closed stdout has no stream to take. */
static void stdio_check(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == 1)
			die("stdout: not open; send the stream to a file or a pipe");
		if (open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			exit(1);
	}
}

void stdout_check(void)
{
	int r;

	stdio_check();
	if (isatty(1))
		die("stdout: is a terminal; send the stream to a file or a pipe");
	if ((r = fd_private(1)) < 0)
		dieerr(r, "stdout: make it 0600:");
	/* a reader that goes away must give EPIPE, not kill us while the
	 * process is frozen */
	signal(SIGPIPE, SIG_IGN);
}
