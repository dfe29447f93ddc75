/* jobfs.c - the job's hands for a restore's file work (jobfs.h).
 *
 * The helper is a fork of ckpt-thaw: it holds a copy of root's memory,
 * so it makes itself non-dumpable (the job's user cannot ptrace it or
 * open its /proc files) and closes every fd but its socket before it
 * takes the job's ids.  ckpt-thaw stops it, and waits for it, before
 * the restored process may run: a /proc/self path the helper was made
 * to open then leads to a process that is gone.
 *
 * A new file that is to take a path's place, or a deleted file made
 * again, is made under a temporary name beside it, not unnamed
 * (O_TMPFILE): an fd keeps the name its file was opened under, and a
 * linked O_TMPFILE stays "(deleted)" in /proc/PID/fd, which the next
 * checkpoint would believe (an unlinked one reads "#INO (deleted)").  The helper
 * removes those names again unless the commit came (it sees the end
 * of its socket when ckpt-thaw exits or dies). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "coreread.h"
#include "jobfs.h"
#include "sockdump.h"

enum { JF_OPEN = 1, JF_NEWFILE, JF_COMMIT, JF_SOCK_BIND, JF_SOCK_CONNECT,
       JF_SOCK_UNBIND, JF_SOCKET, JF_BIND, JF_DELETED };

struct jf_req {
	int op, flags;
	unsigned mode;
	int backlog;               /* JF_SOCK_BIND: listen(2) after, or -1 */
	int arg;                   /* JF_SOCKET: the protocol */
	socklen_t alen;            /* JF_SOCK_*, JF_BIND: the address's length ... */
	char path[PATH_MAX];       /* ... in path, a struct sockaddr_un (JF_BIND:
	                            * any family's) */
};

struct jf_rep {
	int err;                   /* 0 or -errno */
	unsigned index;            /* JF_COMMIT: which place failed */
};

/* one message and at most one fd (fd < 0: none) */
static int msg_send(int sock, const void *buf, size_t len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof cbuf;
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	}
	while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* bytes received (0: the other end closed), or -errno; *fd: -1 or one */
static ssize_t msg_recv(int sock, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
		if (errno != EINTR)
			return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(fd, CMSG_DATA(cm), sizeof *fd);
	return n;
}

/* ---- the helper ---- */

enum { PL_NONE, PL_LINKED, PL_SWAPPED, PL_NEW, PL_REPLACED };

struct placed {
	char path[PATH_MAX], tmp[PATH_MAX];
	int state;                 /* PL_*: what undo must take back */
};

static struct placed *placed;
static unsigned nplaced, cap;

/* deleted files made again, under their temporary names until the
 * commit unlinks them from their old ones (gone_unlink) */
static struct placed *gone;
static unsigned ngone, gcap;

/* The image's ids, as spawn.c's creds_set gives them to the restored
 * process; not root: ours, which are the job's already. */
static int creds_take(const struct img_core *c)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(c->ngroups, c->groups) < 0 ||
	    setresgid(c->gid[0], c->gid[1], c->gid[2]) < 0 ||
	    setresuid(c->uid[0], c->uid[1], c->uid[2]) < 0)
		return -errno;
	setfsgid(c->gid[3]);
	setfsuid(c->uid[3]);
	return 0;
}

/* beside path: DIR/.BASE.ckpt-PID-TAGI, in the same file system */
static int tmp_name(struct placed *p, const char *tag, unsigned i)
{
	const char *slash = strrchr(p->path, '/');
	int dl = slash ? (int)(slash - p->path) + 1 : 0;
	int n = snprintf(p->tmp, sizeof p->tmp, "%.*s.%s.ckpt-%d-%s%u", dl, p->path,
			 slash ? slash + 1 : p->path, (int)getpid(), tag, i);

	return n < 0 || (size_t)n >= sizeof p->tmp ? -ENAMETOOLONG : 0;
}

/* A new file for path, in list v (*n of *cap), under its temporary
 * name (tag: which list, so two never meet): the fd, or -errno */
static int file_new(struct placed **v, unsigned *n, unsigned *cap, const char *tag,
		    const char *path, unsigned mode)
{
	struct placed *nv, *p;
	int fd, e;

	if (*n == *cap) {   /* doubling: each is two paths (8 KiB) */
		if (!(nv = realloc(*v, (*cap ? 2 * *cap : 16) * sizeof *nv)))
			return -ENOMEM;
		*v = nv;
		*cap = *cap ? 2 * *cap : 16;
	}
	p = memset(&(*v)[*n], 0, sizeof *p);
	snprintf(p->path, sizeof p->path, "%s", path);
	if ((e = tmp_name(p, tag, *n)) < 0)
		return e;
	fd = open(p->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 07777);
	if (fd < 0)
		return -errno;
	p->state = PL_LINKED;
	(*n)++;
	return fd;
}

/* A deleted file made again leaves its old name, so that its fds
 * read "PATH (deleted)" as they did: it takes that name, if nobody
 * has it now, and is unlinked there at once.  A name taken since
 * keeps it from that: it is unlinked under its temporary one
 * (formats/fds.md).  The fds follow the rename (one dentry). */
static void gone_unlink(struct placed *p)
{
	if (renameat2(AT_FDCWD, p->tmp, AT_FDCWD, p->path, RENAME_NOREPLACE) == 0)
		unlink(p->path);
	else
		unlink(p->tmp);
	p->state = PL_NONE;
}

static int place_one(struct placed *p)
{
	struct stat st;

	if (lstat(p->path, &st) == 0 && S_ISDIR(st.st_mode))
		return -EISDIR;
	if (renameat2(AT_FDCWD, p->tmp, AT_FDCWD, p->path, RENAME_EXCHANGE) == 0)
		return p->state = PL_SWAPPED, 0;
	if (errno == ENOENT && renameat2(AT_FDCWD, p->tmp, AT_FDCWD, p->path, RENAME_NOREPLACE) == 0)
		return p->state = PL_NEW, 0;
	/* a file system without RENAME_EXCHANGE: replaced, no way back */
	if (errno == EINVAL && rename(p->tmp, p->path) == 0)
		return p->state = PL_REPLACED, 0;
	return -errno;
}

static void place_undo(struct placed *p)
{
	if (p->state == PL_SWAPPED)   /* the old one back; the new one at tmp */
		renameat2(AT_FDCWD, p->tmp, AT_FDCWD, p->path, RENAME_EXCHANGE);
	if (p->state == PL_NEW)
		unlink(p->path);
	else if (p->state == PL_LINKED || p->state == PL_SWAPPED)
		unlink(p->tmp);
	p->state = PL_NONE;
}

static int same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa && sb && sa - a == sb - b && !strncmp(a, b, sa - a);
}

static void dir_sync(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof dir, "%s", path);
	if (!(slash = strrchr(dir, '/')))
		return;
	*(slash == dir ? slash + 1 : slash) = 0;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* The old files, now under the temporary names, go in a child of
 * ours, off the restore's path: freeing a file's blocks is the slow
 * part of a commit (1000 unlinks took over a second on a loaded
 * machine).  It holds no fd, and opens nothing for the job. */
static void olds_remove(void)
{
	unsigned i;
	pid_t pid = fork();

	if (pid == 0) {
		syscall(SYS_close_range, 0, ~0U, 0);
		for (i = 0; i < nplaced; i++)
			if (placed[i].state == PL_SWAPPED)
				unlink(placed[i].tmp);
		_exit(0);
	}
	for (i = 0; i < nplaced; i++) {
		if (pid < 0 && placed[i].state == PL_SWAPPED)   /* no child: here */
			unlink(placed[i].tmp);
		placed[i].state = PL_NONE;   /* the commit is done: nothing to undo */
	}
}

/* ---- the helper's unix sockets (formats/fds.md, "Named unix
 * sockets") ---- */

/* a socket file bound for the job, and the one it replaced */
struct bound {
	char path[PATH_MAX], aside[PATH_MAX];   /* aside "": none */
	dev_t dev;
	ino_t ino;                 /* the new socket file */
};

static struct bound *bound;
static unsigned nbound, bcap;

/* A path that is there must be a socket file that nobody is behind:
 * moved aside (beside it, under a temporary name), so that a failed
 * restore can put it back.  Anything else is left alone: a file of
 * another kind (-EEXIST), a live socket (-EADDRINUSE). */
static int sock_path_free(struct bound *b)
{
	struct stat st;
	struct placed p;
	int live;

	b->aside[0] = 0;
	if (lstat(b->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* asked of sock_diag, not by a connect(2), which a live server
	 * would take for a client */
	if ((live = sock_unix_bound_at(st.st_dev, st.st_ino)) != 0)
		return live < 0 ? -EIO : -EADDRINUSE;
	snprintf(p.path, sizeof p.path, "%s", b->path);
	if (tmp_name(&p, "", nbound) < 0 || renameat2(AT_FDCWD, b->path, AT_FDCWD, p.tmp,
						   RENAME_NOREPLACE) < 0)
		return -errno;
	memcpy(b->aside, p.tmp, sizeof b->aside);
	return 0;
}

/* the file of b removed (only while it is still ours), the old one back */
static void bound_undo(struct bound *b)
{
	struct stat st;

	if (b->path[0] && lstat(b->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == b->dev && st.st_ino == b->ino)
		unlink(b->path);
	if (b->aside[0])
		renameat2(AT_FDCWD, b->aside, AT_FDCWD, b->path, RENAME_NOREPLACE);
	b->path[0] = b->aside[0] = 0;
}

static void bound_commit(void)
{
	unsigned i;

	for (i = 0; i < nbound; i++) {
		if (bound[i].aside[0])
			unlink(bound[i].aside);
		bound[i].path[0] = bound[i].aside[0] = 0;
	}
	nbound = 0;
}

/* bind(2) fd to a path, the file with mode (the umask then gives it
 * exactly that) */
static int sock_bind_path(int fd, const struct jf_req *q)
{
	const struct sockaddr_un *a = (const void *)q->path;
	struct bound *b, *nb;
	struct stat st;
	int e;

	if (nbound == bcap) {
		if (!(nb = realloc(bound, (bcap ? 2 * bcap : 8) * sizeof *nb)))
			return -ENOMEM;
		bound = nb;
		bcap = bcap ? 2 * bcap : 8;
	}
	b = memset(&bound[nbound], 0, sizeof *b);
	snprintf(b->path, sizeof b->path, "%.*s", (int)(q->alen - offsetof(struct sockaddr_un, sun_path)),
		 a->sun_path);
	if ((e = sock_path_free(b)) < 0)
		return b->path[0] = 0, e;
	umask(~q->mode & 0777);
	e = bind(fd, (const struct sockaddr *)a, q->alen) < 0 ? -errno : 0;
	umask(0);
	if (!e && lstat(b->path, &st) < 0)
		e = -errno;
	if (e) {
		b->path[0] = 0;   /* not ours: only the old one goes back */
		bound_undo(b);
		return e;
	}
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	nbound++;
	return 0;
}

/* bind (when the request has an address), then listen (when it has a
 * backlog): as the job, so that the socket file is the job's, made
 * where the job may, and the listener's SO_PEERCRED (which its clients
 * read) the job's too */
static int sock_bind(int fd, const struct jf_req *q)
{
	const struct sockaddr_un *a = (const void *)q->path;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	int type;
	socklen_t tl = sizeof type;
	int e = 0;

	if (q->alen > sizeof(struct sockaddr_un) || (q->alen && q->alen <= off + 1) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return -EINVAL;
	if (q->alen && a->sun_path[0])
		e = sock_bind_path(fd, q);
	else if (q->alen && bind(fd, (const struct sockaddr *)a, q->alen) < 0)
		e = -errno;   /* an abstract name: no file */
	if (!e && q->backlog >= 0 && listen(fd, q->backlog) < 0)
		e = -errno;
	return e;
}

/* the path of a socket bound here for a while (a listener that was
 * closed before the checkpoint, bound only to connect through it) as
 * it was before: the new file removed, the old one back */
static int sock_unbind(const struct jf_req *q)
{
	unsigned i;

	for (i = 0; i < nbound; i++)
		if (!strcmp(bound[i].path, q->path)) {
			bound_undo(&bound[i]);
			return 0;
		}
	return -ENOENT;
}

/* connect(2) as the job, without waiting (the fd's status flags are
 * the process's, which does not run yet: put back) */
static int sock_connect(int fd, const struct jf_req *q)
{
	int fl = fcntl(fd, F_GETFL), e = 0;

	if (q->alen > sizeof(struct sockaddr_un) || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -EINVAL;
	if (connect(fd, (const struct sockaddr *)q->path, q->alen) < 0)
		e = -errno;
	fcntl(fd, F_SETFL, fl);
	return e;
}

static struct jf_rep commit(void)
{
	struct jf_rep rep = { 0, 0 };
	unsigned i;

	for (i = 0; i < nplaced && !rep.err; i++)
		if ((rep.err = place_one(&placed[i])) < 0)
			rep.index = i;
	if (rep.err) {
		for (i = nplaced; i-- > 0;)
			place_undo(&placed[i]);
		return rep;
	}
	for (i = 0; i < nplaced; i++)   /* each directory once */
		if (!i || !same_dir(placed[i - 1].path, placed[i].path))
			dir_sync(placed[i].path);
	olds_remove();
	bound_commit();
	for (i = 0; i < ngone; i++)
		gone_unlink(&gone[i]);
	ngone = 0;
	return rep;
}

static int open_as(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC | O_NOCTTY, 0);

	return fd < 0 ? -errno : fd;
}

/* ckpt-thaw is gone, or done: no temporary name stays behind */
static _Noreturn void helper_exit(void)
{
	unsigned i;

	for (i = nplaced; i-- > 0;)
		place_undo(&placed[i]);
	for (i = nbound; i-- > 0;)
		bound_undo(&bound[i]);
	for (i = 0; i < ngone; i++)
		place_undo(&gone[i]);
	_exit(0);
}

/* a socket of the job's (its owner is the job's user: SO_REUSEPORT
 * groups and the owner match of a firewall go by it) */
static int socket_as(int domain, int type, int proto)
{
	int fd = socket(domain, type | SOCK_CLOEXEC, proto);

	return fd < 0 ? -errno : fd;
}

/* bind as the job: a port or address its user could not take is
 * refused by the kernel, as it would have been to the program */
static int bind_as(int fd, const struct jf_req *q)
{
	if (q->alen == 0 || q->alen > sizeof q->path)
		return -EINVAL;
	return bind(fd, (const struct sockaddr *)q->path, q->alen) < 0 ? -errno : 0;
}

static _Noreturn void serve(int sock)
{
	static struct jf_req q;
	struct jf_rep rep;
	ssize_t n;
	int fd, out;

	for (;;) {
		n = msg_recv(sock, &q, sizeof q, &fd);
		if (fd >= 0 && q.op != JF_SOCK_BIND && q.op != JF_SOCK_CONNECT && q.op != JF_BIND)
			close(fd), fd = -1;   /* only these carry one */
		if (n <= 0)
			helper_exit();
		q.path[sizeof q.path - 1] = 0;
		rep = (struct jf_rep){ 0, 0 };
		out = -1;
		if (q.op == JF_SOCK_BIND || q.op == JF_SOCK_CONNECT) {
			rep.err = fd < 0 ? -EBADF : q.op == JF_SOCK_BIND ? sock_bind(fd, &q) :
				  sock_connect(fd, &q);
			if (fd >= 0)
				close(fd);
		} else if (q.op == JF_BIND) {
			rep.err = fd < 0 ? -EBADF : bind_as(fd, &q);
			if (fd >= 0)
				close(fd);
		} else if (q.op == JF_SOCK_UNBIND) {
			rep.err = sock_unbind(&q);
		} else if (q.op == JF_SOCKET)
			out = socket_as(q.flags, q.mode, q.arg);
		else if (q.op == JF_OPEN)
			out = open_as(q.path, q.flags);
		else if (q.op == JF_NEWFILE)
			out = file_new(&placed, &nplaced, &cap, "", q.path, q.mode);
		else if (q.op == JF_DELETED)
			out = file_new(&gone, &ngone, &gcap, "d", q.path, q.mode);
		else if (q.op == JF_COMMIT)
			rep = commit();
		else
			rep.err = -EINVAL;
		if (out < 0 && (q.op == JF_OPEN || q.op == JF_NEWFILE || q.op == JF_DELETED ||
				q.op == JF_SOCKET))
			rep.err = out;
		if (msg_send(sock, &rep, sizeof rep, out) < 0)
			helper_exit();
		if (out >= 0)
			close(out);
	}
}

static _Noreturn void helper_run(int sock, const struct img_core *c)
{
	struct jf_rep rep = { 0, 0 };

	if (dup2(sock, 3) < 0)
		_exit(1);
	syscall(SYS_close_range, 4, ~0U, 0);
	close(0);
	close(1);
	rep.err = creds_take(c);
	prctl(PR_SET_DUMPABLE, 0);
	umask(0);   /* a new file gets exactly the mode it is given */
	if (msg_send(3, &rep, sizeof rep, -1) < 0 || rep.err)
		_exit(1);
	serve(3);
}

/* ---- ckpt-thaw's side ---- */

static int call(struct jobfs *j, struct jf_req *q, int fd, int *rfd, unsigned *index)
{
	struct jf_rep rep;
	ssize_t n;
	int got, e;

	*rfd = -1;
	if ((e = msg_send(j->sock, q, sizeof *q, fd)) < 0)
		return e;
	n = msg_recv(j->sock, &rep, sizeof rep, &got);
	if (n != sizeof rep) {
		if (got >= 0)
			close(got);
		return n < 0 ? (int)n : -EPIPE;
	}
	if (index)
		*index = rep.index;
	if (rep.err < 0) {
		if (got >= 0)
			close(got);
		return rep.err;
	}
	*rfd = got;
	return 0;
}

/* the one request buffer, cleared, for op */
static struct jf_req *req_new(int op, unsigned mode)
{
	static struct jf_req q;

	memset(&q, 0, sizeof q);
	q.op = op;
	q.mode = mode;
	return &q;
}

static int request(struct jobfs *j, int op, const char *path, int flags, unsigned mode, int fd)
{
	struct jf_req *q = req_new(op, mode);
	int out, e;

	q->flags = flags;
	if (path && snprintf(q->path, sizeof q->path, "%s", path) >= (int)sizeof q->path)
		return -ENAMETOOLONG;
	if ((e = call(j, q, fd, &out, NULL)) < 0)
		return e;
	return out >= 0 ? out : -EPROTO;
}

int jobfs_start(struct jobfs *j, const struct img_core *c)
{
	struct jf_rep rep;
	int sv[2], fd;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return warn("pid %d: the job's file helper: socketpair:", c->pid), -1;
	fflush(NULL);
	if ((j->pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return warn("pid %d: the job's file helper: fork:", c->pid), -1;
	}
	if (j->pid == 0) {
		close(sv[0]);
		helper_run(sv[1], c);
	}
	close(sv[1]);
	j->sock = sv[0];
	n = msg_recv(j->sock, &rep, sizeof rep, &fd);
	if (n == sizeof rep && !rep.err)
		return 0;
	errno = n == sizeof rep ? -rep.err : EPIPE;
	warn("pid %d: the job's file helper: take uid %u gid %u and %u groups:", c->pid,
	     (unsigned)c->uid[1], (unsigned)c->gid[1], c->ngroups);
	jobfs_stop(j);
	return -1;
}

int jobfs_open(struct jobfs *j, const char *path, int flags)
{
	return request(j, JF_OPEN, path, flags, 0, -1);
}

int jobfs_newfile(struct jobfs *j, const char *path, unsigned mode)
{
	return request(j, JF_NEWFILE, path, 0, mode, -1);
}

int jobfs_deleted(struct jobfs *j, const char *path, unsigned mode)
{
	int fd = request(j, JF_DELETED, path, 0, mode, -1);

	if (fd >= 0)
		j->deleted++;
	return fd;
}

int jobfs_commit(struct jobfs *j, unsigned *bad)
{
	static struct jf_req q;
	int out, e;

	memset(&q, 0, sizeof q);
	q.op = JF_COMMIT;
	*bad = 0;
	e = call(j, &q, -1, &out, bad);
	if (out >= 0)
		close(out);
	return e;
}

/* a socket request: fd, the address, its length */
static int sock_request(struct jobfs *j, int op, int fd, const struct sockaddr_un *a,
			socklen_t alen, unsigned mode, int backlog)
{
	struct jf_req *q = req_new(op, mode);
	int out, e;

	q->backlog = backlog;
	q->alen = a ? alen : 0;
	if (q->alen > sizeof(struct sockaddr_un))
		return -ENAMETOOLONG;
	if (a)
		memcpy(q->path, a, alen);
	if ((e = call(j, q, fd, &out, NULL)) < 0)
		return e;
	if (out >= 0)
		close(out);
	if (op == JF_SOCK_BIND && a && a->sun_path[0])
		j->bound++;
	return 0;
}

int jobfs_sock_bind(struct jobfs *j, int fd, const struct sockaddr_un *a, socklen_t alen,
		    unsigned mode, int backlog)
{
	return sock_request(j, JF_SOCK_BIND, fd, a, alen, mode, backlog);
}

int jobfs_sock_connect(struct jobfs *j, int fd, const struct sockaddr_un *a, socklen_t alen)
{
	return sock_request(j, JF_SOCK_CONNECT, fd, a, alen, 0, -1);
}

int jobfs_sock_unbind(struct jobfs *j, const char *path)
{
	struct jf_req *q = req_new(JF_SOCK_UNBIND, 0);
	int out, e;

	if (snprintf(q->path, sizeof q->path, "%s", path) >= (int)sizeof q->path)
		return -ENAMETOOLONG;
	if ((e = call(j, q, -1, &out, NULL)) == 0 && out >= 0)
		close(out);
	return e;
}

int jobfs_socket(struct jobfs *j, int domain, int type, int proto)
{
	struct jf_req *q = req_new(JF_SOCKET, type);
	int out, e;

	q->flags = domain;
	q->arg = proto;
	if ((e = call(j, q, -1, &out, NULL)) < 0)
		return e;
	return out >= 0 ? out : -EPROTO;
}

int jobfs_bind(struct jobfs *j, int fd, const void *addr, unsigned len)
{
	struct jf_req *q = req_new(JF_BIND, 0);
	int out, e;

	if (len == 0 || len > sizeof q->path)
		return -EINVAL;
	q->alen = len;
	memcpy(q->path, addr, len);
	e = call(j, q, fd, &out, NULL);
	if (out >= 0)
		close(out);
	return e;
}

/* until child pid has exited, ms at most: 1 when it has, else 0.
 * Woken by its exit (a pidfd), not at the next of 10 ms naps: a
 * restore of 50 processes spent up to 500 ms here (bench/tree). */
static int exited_within(pid_t pid, int ms)
{
	struct pollfd p = { .fd = syscall(SYS_pidfd_open, pid, 0), .events = POLLIN };
	int r;

	if (p.fd < 0)
		return waitpid(pid, NULL, WNOHANG) == pid;
	while ((r = poll(&p, 1, ms)) < 0 && errno == EINTR)
		;
	close(p.fd);
	return r > 0 && waitpid(pid, NULL, WNOHANG) == pid;
}

void jobfs_stop(struct jobfs *j)
{
	if (j->pid <= 0)
		return;
	close(j->sock);   /* it removes its temporary names and exits */
	if (!exited_within(j->pid, 3000)) {   /* stopped, or stuck in an open */
		kill(j->pid, SIGKILL);
		waitpid(j->pid, NULL, 0);
	}
	j->pid = 0;
	j->sock = -1;
}
