/* ctl.c - connecting to a shim and calling it */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "ctl.h"
#include "err.h"
#include "io.h"
#include "sockdir.h"

/* ctl_open_try: say nothing, note why instead */
static int quiet, why;
#define say(...) do { if (!quiet) warn(__VA_ARGS__); } while (0)

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

/* the effective uid of pid, as the kernel shows it to this tool: the
 * uid its shim's directory and socket must have; 0 or -errno */
static int proc_euid(pid_t pid, uid_t *uid)
{
	char path[64], *status, *p;
	unsigned ruid, euid;
	int r = -EPROTO;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	status = read_file(path, NULL);
	if (!status)
		return -errno;
	p = strstr(status, "\nUid:");
	if (p && sscanf(p, "\nUid: %u %u", &ruid, &euid) == 2) {
		*uid = euid;
		r = 0;
	}
	free(status);
	return r;
}

/* ${XDG_RUNTIME_DIR:-/tmp}/ckpt-<uid>, XDG_RUNTIME_DIR only when uid is ours */
static int sockdir_default(uid_t uid, char *buf, size_t len)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (!rt || !*rt || uid != getuid())
		rt = "/tmp";
	n = snprintf(buf, len, "%s/ckpt-%u", rt, (unsigned)uid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int ctl_sockdir(pid_t pid, uid_t uid, char *buf, size_t len)
{
	const char *env = getenv("CKPT_SOCKDIR");

	if (env && *env)
		return snprintf(buf, len, "%s", env) < (int)len ? 0 : -ENAMETOOLONG;
	if (sockdir_from_environ(pid, buf, len) == 0)
		return 0;
	return sockdir_default(uid, buf, len);
}

/* The socket directory, opened with no symlink on the way and checked
 * to be uid's own and 0700 (lib/sockdir.h); an O_PATH fd, or -1 after
 * saying what is wrong with it. */
static int sockdir_open_checked(pid_t pid, const char *dir, uid_t uid)
{
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS };
	const char *fault;
	struct stat st;
	int d = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof how);

	if (d < 0) {
		why = errno == ENOENT ? CTL_NOSHIM : CTL_REFUSED;
		if (errno == ENOENT)
			say("pid %d: no ckpt shim in this process (no %s; start it with ckpt-run)",
			    (int)pid, dir);
		else if (errno == ELOOP)
			say("pid %d: socket directory %s: a symlink on the way: refused", (int)pid, dir);
		else
			say("pid %d: socket directory %s:", (int)pid, dir);
		return -1;
	}
	if (fstat(d, &st) < 0)
		die("fstat %s:", dir);
	fault = sockdir_fault(st.st_mode, st.st_uid, uid);
	if (fault) {
		why = CTL_REFUSED;
		say("pid %d: socket directory %s: %s (uid %u, mode %04o; the process's uid is %u): refused",
		    (int)pid, dir, fault, (unsigned)st.st_uid, (unsigned)st.st_mode & 07777,
		    (unsigned)uid);
		close(d);
		return -1;
	}
	return d;
}

void ctl_timeout(int s, unsigned ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static int check_hello(pid_t pid, int s)
{
	struct ckpt_hello h;
	struct ctl_call c = { .op = CKPT_OP_HELLO, .reply = &h, .replen = sizeof h };
	int r = ctl_call(s, &c);

	why = r == -ECONNRESET || r == -EPIPE ? CTL_NOSHIM : CTL_REFUSED;
	if (r == -EAGAIN || r == -EWOULDBLOCK) {
		say("pid %d: shim did not answer (busy with another checkpoint?)", (int)pid);
		return -1;
	}
	if (r < 0 || c.replen < sizeof h) {
		if (!quiet)
			warnerr(r ? r : EPROTO, "pid %d: shim refused the connection:", (int)pid);
		return -1;
	}
	if (h.version != CKPT_PROTO_VERSION || h.pid != (uint32_t)pid) {
		say("pid %d: shim speaks protocol %u for pid %u, want %u for %d",
		     (int)pid, h.version, h.pid, CKPT_PROTO_VERSION, (int)pid);
		return -1;
	}
	return 0;
}

/* The inode of our own pid namespace, 0 if unknown: read once, as it
 * never changes for a process (a setns into the job's namespace moves
 * only pid_for_children). */
static unsigned long own_pidns(void)
{
	static unsigned long ino;
	static int known;
	struct stat st;

	if (!known)
		ino = stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long)st.st_ino : 0, known = 1;
	return ino;
}

/* A name pid's shim binds (lib/sockdir.h): long, the one of a process
 * outside its job's pid namespace (which the tool has followed it into,
 * nsjoin.h: ours), else short */
static const char *sock_name(pid_t pid, int lng)
{
	static char name[SOCKDIR_NAME_MAX];

	sockdir_name(name, (unsigned long)pid, lng ? own_pidns() : 0);
	return name;
}

/* connected to name in dirfd, or -1 with errno */
static int sock_at(int dirfd, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s, e;

	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket:");
	if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0)
		return s;
	e = errno;
	close(s);
	return errno = e, -1;
}

/* Connect to pid's socket, the long name first, through the checked
 * directory's fd, not its path: a directory swapped in after the check
 * is never used.  Either name is only where to look: peer_check says
 * whether pid itself listens there. */
static char sock_used[SOCKDIR_NAME_MAX];   /* the name connected to */

static int sock_connect(pid_t pid, int dirfd, const char *dir)
{
	int s = sock_at(dirfd, strcpy(sock_used, sock_name(pid, 1)));

	if (s >= 0 || (s = sock_at(dirfd, strcpy(sock_used, sock_name(pid, 0)))) >= 0)
		return s;
	why = errno == ENOENT || errno == ECONNREFUSED ? CTL_NOSHIM : CTL_REFUSED;
	if (errno == ENOENT || errno == ECONNREFUSED)
		say("pid %d: no ckpt shim in this process (no live %s/%s; start it with ckpt-run)",
		    (int)pid, dir, sock_name(pid, 0));
	else
		say("pid %d: cannot reach shim at %s/%s:", (int)pid, dir, sock_name(pid, 0));
	return -1;
}

/* The process listening behind the socket must be pid itself, of uid
 * or root (a daemon that listened as root, then dropped to uid): the
 * kernel says so (SO_PEERCRED: who called listen).  Anything else, a
 * relay or another process's socket under pid's name, is refused. */
static int peer_check(int s, pid_t pid, uid_t uid, const char *dir)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	why = CTL_REFUSED;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		say("pid %d: %s/%s: SO_PEERCRED:", (int)pid, dir, sock_used);
		return -1;
	}
	if (cr.pid != pid || (cr.uid != uid && cr.uid != 0)) {
		say("pid %d: %s/%s is served by pid %d (uid %u), not by pid %d (uid %u): refused",
		     (int)pid, dir, sock_used, (int)cr.pid, (unsigned)cr.uid, (int)pid, (unsigned)uid);
		return -1;
	}
	return 0;
}

/* 0 when the kernel keeps pid (of euid uid, not root) not dumpable: it
 * makes /proc/PID root's then (task_dump_owner), and lets only a
 * caller that may ptrace it (CAP_SYS_PTRACE) read its memory; its shim
 * serves root only (preload/control.c) */
static int proc_dumpable(pid_t pid, uid_t uid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	return uid == 0 || stat(path, &st) < 0 || st.st_uid == uid;
}

/* pid's euid, after checking that pid exists and the caller may act on it */
static int target_uid(pid_t pid, uid_t *uid)
{
	int r;

	why = CTL_REFUSED;
	if (pid <= 0) {
		say("pid %d: not a process id", (int)pid);
		return -1;
	}
	r = proc_euid(pid, uid);
	if (r == -ENOENT || r == -ESRCH) {
		why = CTL_GONE;
		say("pid %d: no such process", (int)pid);
		return -1;
	}
	if (r < 0) {
		if (!quiet)
			warnerr(r, "pid %d: /proc/%d/status:", (int)pid, (int)pid);
		return -1;
	}
	if (getuid() != 0 && *uid != getuid()) {
		say("pid %d: belongs to uid %u, not to you (uid %u)", (int)pid,
		     (unsigned)*uid, (unsigned)getuid());
		return -1;
	}
	if (getuid() != 0 && !proc_dumpable(pid, *uid)) {
		say("pid %d: not dumpable (it dropped from root, or runs a setuid or setcap program): only root may checkpoint it",
		    (int)pid);
		return -1;
	}
	return 0;
}

/* A client that holds the shim without a freeze is dropped after the
 * shim's deadline: a checkpoint waiting behind it must outwait it */
_Static_assert(CKPT_REQUEST_DEADLINE_MS < CTL_TIMEOUT_MS,
	       "the shim's request deadline must be shorter than the tools' wait");

/* the shim of pid (of euid uid) through the socket directory dir */
static int ctl_open_in(pid_t pid, uid_t uid, const char *dir)
{
	int d, s;

	d = sockdir_open_checked(pid, dir, uid);
	if (d < 0)
		return -1;
	s = sock_connect(pid, d, dir);
	close(d);
	if (s < 0)
		return -1;
	if (peer_check(s, pid, uid, dir) < 0) {
		close(s);
		return -1;
	}
	ctl_timeout(s, CTL_TIMEOUT_MS);
	if (check_hello(pid, s) < 0) {
		close(s);
		return -1;
	}
	return s;
}

/* 1 when dir has a socket for pid (only where to look: ctl_open_in
 * checks what it finds, and one left by a process gone is no shim) */
static int sock_there(const char *dir, pid_t pid)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", dir, sock_name(pid, 1));
	if (lstat(path, &st) == 0)
		return 1;
	snprintf(path, sizeof path, "%s/%s", dir, sock_name(pid, 0));
	return lstat(path, &st) == 0;
}

/* The directory ctl_sockdir names, else, when no shim listens there
 * and the target's own default directory has a socket for it, that
 * one: a daemon that dropped root after ckpt-run set CKPT_SOCKDIR
 * (root's) binds there once restored or forked, as its new uid may not
 * bind in root's directory (preload/shim.c).  The messages are the
 * first directory's. */
int ctl_open(pid_t pid)
{
	char dir[4096], own[4096];
	uid_t uid = (uid_t)-1;
	int r, s, was = quiet;

	if (target_uid(pid, &uid) < 0)
		return -1;
	r = ctl_sockdir(pid, uid, dir, sizeof dir);
	if (r < 0) {
		why = CTL_REFUSED;
		if (!quiet)
			warnerr(r, "pid %d: no control socket directory:", (int)pid);
		return -1;
	}
	if (sockdir_default(uid, own, sizeof own) < 0 || !strcmp(own, dir) || !sock_there(own, pid))
		return ctl_open_in(pid, uid, dir);
	quiet = 1;
	s = ctl_open_in(pid, uid, dir);
	if (s < 0 && why == CTL_NOSHIM)
		s = ctl_open_in(pid, uid, own);
	quiet = was;
	return s >= 0 ? s : ctl_open_in(pid, uid, dir);
}

int ctl_open_try(pid_t pid, int *whyp)
{
	int s;

	quiet = 1;
	why = CTL_REFUSED;
	s = ctl_open(pid);
	quiet = 0;
	*whyp = why;
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
