/* ctl.c - connecting to a shim and calling it */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "err.h"
#include "io.h"

/* CKPT_SOCKDIR=... from the target's initial environment */
static int sockdir_from_environ(pid_t pid, char *buf, size_t len)
{
	char path[64], *env, *p, *end;
	size_t n;
	int r = -ENOENT;

	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	env = read_file(path, &n);
	if (!env)
		return -errno;
	for (p = env, end = env + n; p < end; p += strlen(p) + 1) {
		if (!strncmp(p, "CKPT_SOCKDIR=", 13) && p[13]) {
			r = snprintf(buf, len, "%s", p + 13) < (int)len ? 0 : -ENAMETOOLONG;
			break;
		}
	}
	free(env);
	return r;
}

/* The socket of pid: $CKPT_SOCKDIR, else the CKPT_SOCKDIR in the
 * target's environment, else ${XDG_RUNTIME_DIR:-/tmp}/ckpt-<uid of pid>.
 * Writes the path into buf; 0 or -errno. */
static int ctl_path(pid_t pid, char *buf, size_t len)
{
	char dir[4096], proc[64];
	const char *env = getenv("CKPT_SOCKDIR"), *rt;
	struct stat st;

	if (env && *env)
		snprintf(dir, sizeof dir, "%s", env);
	else if (sockdir_from_environ(pid, dir, sizeof dir) < 0) {
		snprintf(proc, sizeof proc, "/proc/%d", (int)pid);
		if (stat(proc, &st) < 0)
			return -errno;
		rt = getenv("XDG_RUNTIME_DIR");
		if (!rt || !*rt || st.st_uid != getuid())
			rt = "/tmp";
		snprintf(dir, sizeof dir, "%s/ckpt-%u", rt, (unsigned)st.st_uid);
	}
	if ((size_t)snprintf(buf, len, "%s/%d.sock", dir, (int)pid) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static void set_timeout(int s, int secs)
{
	struct timeval tv = { .tv_sec = secs };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int check_hello(pid_t pid, int s)
{
	struct ckpt_hello h;
	struct ctl_call c = { .op = CKPT_OP_HELLO, .reply = &h, .replen = sizeof h };
	int r = ctl_call(s, &c);

	if (r == -EAGAIN || r == -EWOULDBLOCK) {
		warn("pid %d: shim did not answer (busy with another checkpoint?)", (int)pid);
		return -1;
	}
	if (r < 0 || c.replen < sizeof h) {
		warnerr(r ? r : EPROTO, "pid %d: shim refused the connection:", (int)pid);
		return -1;
	}
	if (h.version != CKPT_PROTO_VERSION || h.pid != (uint32_t)pid) {
		warn("pid %d: shim speaks protocol %u for pid %u, want %u for %d",
		     (int)pid, h.version, h.pid, CKPT_PROTO_VERSION, (int)pid);
		return -1;
	}
	return 0;
}

int ctl_open(pid_t pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char proc[64];
	struct stat st;
	int s, r;

	if (pid <= 0) {
		warn("pid %d: not a process id", (int)pid);
		return -1;
	}
	snprintf(proc, sizeof proc, "/proc/%d", (int)pid);
	if (stat(proc, &st) < 0) {
		warn("pid %d: no such process", (int)pid);
		return -1;
	}
	if (getuid() != 0 && st.st_uid != getuid()) {
		warn("pid %d: belongs to uid %u, not to you (uid %u)", (int)pid,
		     (unsigned)st.st_uid, (unsigned)getuid());
		return -1;
	}
	r = ctl_path(pid, sa.sun_path, sizeof sa.sun_path);
	if (r < 0) {
		warnerr(r, "pid %d: no control socket path:", (int)pid);
		return -1;
	}
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket:");
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			warn("pid %d: no ckpt shim in this process (no live %s; start it with ckpt-run)",
			     (int)pid, sa.sun_path);
		else
			warn("pid %d: cannot reach shim at %s:", (int)pid, sa.sun_path);
		close(s);
		return -1;
	}
	set_timeout(s, 10);
	if (check_hello(pid, s) < 0) {
		close(s);
		return -1;
	}
	return s;
}

int ctl_send(int sock, const struct ctl_call *c)
{
	struct ckpt_req req = { .op = c->op, .len = c->len, .arg = c->arg };
	struct iovec iov[2] = { { &req, sizeof req }, { (void *)c->payload, c->len } };
	char cbuf[CMSG_SPACE(sizeof(int) * CKPT_FDS_MAX)];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = c->len ? 2 : 1 };
	struct cmsghdr *cm;

	if (c->nfds > CKPT_FDS_MAX)
		return -EINVAL;
	if (c->nfds) {
		memset(cbuf, 0, sizeof cbuf);
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * c->nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * c->nfds);
		memcpy(CMSG_DATA(cm), c->fds, sizeof(int) * c->nfds);
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* the fds of a reply; any beyond the caller's room are closed */
static int take_fds(struct msghdr *mh, struct ctl_call *c)
{
	struct cmsghdr *cm;
	int n = 0, i, k, *fds;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cm);
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			if (n < c->nrfds)
				c->rfds[n++] = fds[i];
			else
				close(fds[i]);
		}
	}
	c->nrfds = n;
	return n;
}

static char rbuf[sizeof(struct ckpt_rep) + CKPT_MSG_MAX];

int ctl_recv(int sock, struct ctl_call *c)
{
	char cbuf[CMSG_SPACE(sizeof(int) * CKPT_FDS_MAX)];
	struct iovec iov = { rbuf, sizeof rbuf };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n;

	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	take_fds(&mh, c);
	if (n == 0)
		return -ECONNRESET;
	if ((size_t)n < sizeof c->rep || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	memcpy(&c->rep, rbuf, sizeof c->rep);
	n -= sizeof c->rep;
	if ((size_t)n != c->rep.len)
		return -EPROTO;
	if ((size_t)n > c->replen)
		n = c->replen;
	if (c->reply)
		memcpy(c->reply, rbuf + sizeof c->rep, n);
	c->replen = n;
	return c->rep.err;
}

int ctl_call(int sock, struct ctl_call *c)
{
	int r = ctl_send(sock, c);

	return r < 0 ? r : ctl_recv(sock, c);
}

int ctl_simple(int sock, uint32_t op, uint64_t arg, struct ckpt_rep *rep)
{
	struct ctl_call c = { .op = op, .arg = arg };
	int r = ctl_call(sock, &c);

	if (rep)
		*rep = c.rep;
	return r;
}
