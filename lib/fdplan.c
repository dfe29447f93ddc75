/* fdplan.c - open fds back: parse, make each in ckpt-thaw, install in
 * the new process (formats/fds.md, "Restoring each kind"). */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "escape.h"
#include "fdplan.h"
#include "fdwatch.h"
#include "coreread.h"
#include "rules.h"
#include "io.h"
#include "restorable.h"
#include "ptyplan.h"
#include "sockplan.h"
#include "memplan.h"
#include "num.h"
#include "pidused.h"
#include "stream.h"
#include "text.h"
#include "u64index.h"

#ifndef TFD_IOC_SET_TICKS  /* linux/timerfd.h, which clashes with sys/timerfd.h */
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

#define FLAGS_KEPT_OUT (O_LARGEFILE | O_CREAT | O_TRUNC | O_EXCL | O_NOCTTY | O_CLOEXEC)
#define BLOB_MAX (64 << 20)    /* pipe data held in memory */

#define U64 (~0ULL)

/* the keys with a number: its base, its largest value, where it goes
 * (a uint64_t or an int, by the field's size) */
#define NUM_KEY(key, base, max, field) \
	{ key, base, max, offsetof(struct fdplan_fd, field), sizeof ((struct fdplan_fd *)0)->field }
static const struct num_key {
	const char *key;
	int base;
	uint64_t max;
	size_t off, size;
} num_keys[] = {
	NUM_KEY("cloexec", 10, 1, cloexec),
	NUM_KEY("flags", 8, NUM_INT_MAX, flags),
	NUM_KEY("pos", 10, U64, pos),
	NUM_KEY("size", 10, U64, size),
	NUM_KEY("dup", 10, NUM_INT_MAX, dup),
	NUM_KEY("pipe", 10, U64, pipe),
	NUM_KEY("sock", 10, U64, sock),
	NUM_KEY("peer_ino", 10, U64, peer),
	NUM_KEY("count", 10, U64, count),
	NUM_KEY("semaphore", 10, 1, semaphore),
	NUM_KEY("sigmask", 16, U64, sigmask),
	NUM_KEY("seals", 16, U64, seals),
	NUM_KEY("clock", 10, NUM_INT_MAX, clock),
	NUM_KEY("tflags", 8, NUM_INT_MAX, tflags),
	NUM_KEY("ticks", 10, U64, ticks),
	NUM_KEY("start", 10, U64, target_start),
	NUM_KEY("shutdown", 10, 3, shut),
	NUM_KEY("passcred", 10, 1, passcred),
	NUM_KEY("peer_closed", 10, 1, peer_closed),
	NUM_KEY("listen", 10, 1, listening),
	NUM_KEY("backlog", 10, 65535, backlog),
	NUM_KEY("listener", 10, U64, listener),
	NUM_KEY("accepted", 10, 1, accepted),
	NUM_KEY("other_closed", 10, 1, other_closed),
	NUM_KEY("pipesz", 10, NUM_INT_MAX, pipesz),
	NUM_KEY("truncate", 10, 1, truncate),
	NUM_KEY("mode", 8, 0177777, mode),
	NUM_KEY("pty", 10, NUM_INT_MAX, pty),
	NUM_KEY("lock", 10, 1, pty_lock),
	NUM_KEY("pkt", 10, 1, pty_pkt),
	NUM_KEY("sid", 10, NUM_INT_MAX, pty_sid),
	NUM_KEY("fg", 10, NUM_INT_MAX, pty_fg),
	NUM_KEY("ctty", 10, 1, pty_ctty),
	NUM_KEY("ino", 10, U64, ino),
	NUM_KEY("deleted", 10, 1, deleted),
	NUM_KEY("nlink", 10, NUM_INT_MAX, nlink),
};

/* the numeric key k, or NULL: by a hash of its name (a scan of the
 * table for each key of each line was a fifth of reading the fds of
 * 2200 sockets), or by the scan should two names share a hash */
static const struct num_key *num_key_find(const char *k)
{
	static struct u64index ix;
	static int built, scan;
	const unsigned n = sizeof num_keys / sizeof *num_keys;
	unsigned i;
	int at;

	for (i = 0; !built && i < n; i++)
		if (u64index_get(&ix, u64index_hash(num_keys[i].key)) >= 0 ||
		    u64index_put(&ix, u64index_hash(num_keys[i].key), i) < 0)
			scan = 1;
	built = 1;
	for (i = 0; scan && i < n; i++)
		if (!strcmp(k, num_keys[i].key))
			return &num_keys[i];
	at = scan ? -1 : u64index_get(&ix, u64index_hash(k));
	return at >= 0 && !strcmp(k, num_keys[at].key) ? &num_keys[at] : NULL;
}

/* a numeric key: 1 when k is one (set, or -1 when v is malformed), 0
 * when it is not */
static int ent_num(struct fdplan_fd *e, const char *k, const char *v)
{
	const struct num_key *n = num_key_find(k);
	uint64_t x;
	int i;

	if (n) {
		if (num_parse_base(v, n->base, n->max, &x) < 0)
			return -1;
		i = x;
		if (n->size == sizeof x)
			memcpy((char *)e + n->off, &x, sizeof x);
		else
			memcpy((char *)e + n->off, &i, sizeof i);
		return 1;
	}
	return 0;
}

/* a timerfd's value or interval: SEC.NSEC, nine decimals */
static int timer_parse(const char *s, struct timespec *ts)
{
	uint64_t sec, nsec;

	if (num_secs(s, 9, &sec, &nsec) < 0 || sec > INT64_MAX)
		return -1;
	*ts = (struct timespec){ sec, nsec };
	return 0;
}

/* an escaped string key: data, name, path (the checkpoint's, and where
 * to open it unless a restart= says otherwise), restart */
static int ent_string(struct fdplan_fd *e, const char *k, char *v)
{
	if (str_unescape(v) < 0)
		return -1;
	if (!strcmp(k, "path")) {
		free(e->orig);
		e->orig = strdup(v);
	}
	if (!strcmp(k, "data")) {
		free(e->data);
		e->data = strdup(v);
	} else if (!strcmp(k, "name")) {
		free(e->name);
		e->name = strdup(v);
	}
	e->restart |= !strcmp(k, "restart");
	if (!strcmp(k, "restart") || (!strcmp(k, "path") && !e->path)) {
		free(e->path);
		e->path = strdup(v);
	}
	return 0;
}

/* a socket's addr= (also kept escaped and cut, for messages) or peer=:
 * unescaped, a path or @NAME */
static int sock_addr_key(struct fdplan_fd *e, const char *k, char *v)
{
	char **to = !strcmp(k, "addr") ? &e->sun_own : &e->sun_peer;

	if (!strcmp(k, "addr"))
		snprintf(e->addr, sizeof e->addr, "%s", v);
	if (str_unescape(v) < 0)
		return -1;
	free(*to);
	return (*to = strdup(v)) ? 0 : -1;
}

static int ent_key(struct fdplan_fd *e, const char *k, char *v)
{
	struct timespec ts;
	uint64_t maj, min;
	int r;

	if ((r = inetplan_key(e, k, v)) != 0 || (r = ent_num(e, k, v)) != 0)
		return r < 0 ? -1 : 0;
	if (!strcmp(k, "end")) snprintf(e->end, sizeof e->end, "%s", v);
	else if (!strcmp(k, "addr") || !strcmp(k, "peer")) return sock_addr_key(e, k, v);
	else if (!strcmp(k, "domain")) e->unix_domain = !strcmp(v, "unix");
	else if (!strcmp(k, "boot")) snprintf(e->boot, sizeof e->boot, "%s", v);
	else if (!strcmp(k, "nstype")) snprintf(e->nstype, sizeof e->nstype, "%s", v);
	else if (!strcmp(k, "termios") || !strcmp(k, "winsize")) {
		char *to = !strcmp(k, "termios") ? e->termios : e->winsize;
		size_t cap = to == e->termios ? sizeof e->termios : sizeof e->winsize;

		if (strlen(v) >= cap)
			return -1;
		memcpy(to, v, strlen(v) + 1);
	}
	else if (!strcmp(k, "pid") && strcmp(v, "-1")) {   /* -1: ended */
		if (num_parse(v, NUM_INT_MAX, &maj) < 0)
			return -1;
		e->target = maj;
	}
	else if (!strcmp(k, "type"))
		e->socktype = !strcmp(v, "stream") ? SOCK_STREAM : !strcmp(v, "dgram") ? SOCK_DGRAM :
			      !strcmp(v, "seqpacket") ? SOCK_SEQPACKET : -1;
	else if (!strcmp(k, "value") || !strcmp(k, "interval") || !strcmp(k, "abs")) {
		if (strlen(v) >= sizeof e->value || timer_parse(v, &ts) < 0)
			return -1;
		snprintf(!strcmp(k, "value") ? e->value : !strcmp(k, "abs") ? e->abs : e->interval,
			 sizeof e->value, "%s", v);
	} else if (!strcmp(k, "dev")) {
		if (num_pair(v, NUM_U32_MAX, &maj, &min) < 0)
			return -1;
		e->dev = makedev(maj, min);
	} else if (!strcmp(k, "share")) {
		if (num_pair(v, NUM_INT_MAX, &maj, &min) < 0 || !maj)
			return -1;
		e->share_pid = maj;
		e->share_fd = min;
	} else if (!strcmp(k, "rdev")) {
		if (num_pair(v, NUM_U32_MAX, &maj, &min) < 0)
			return -1;
		e->tty = maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
		e->rdev = makedev(maj, min);
	} else if (!strcmp(k, "data") || !strcmp(k, "path") || !strcmp(k, "restart") ||
		 !strcmp(k, "name")) {
		return ent_string(e, k, v);
	} else if (!strcmp(k, "sockfile")) {
		if (num_parse_base(v, 8, 07777, &maj) < 0)
			return -1;
		e->has_sockfile = 1;
		e->sockfile = maj;
	} else if (!strcmp(k, "pending")) {
		free(e->pending);
		if (!(e->pending = strdup(v)))
			return -1;
	} else if (!strcmp(k, "holes")) {
		free(e->holes);
		if (!(e->holes = strdup(v)))
			return -1;
	}
	return 0;
}

/* the strings of an entry that was not taken */
static int ent_drop(struct fdplan_fd *e)
{
	free(e->sun_own);
	free(e->sun_peer);
	free(e->pending);
	free(e->holes);
	free(e->path);
	free(e->orig);
	free(e->data);
	free(e->name);
	return -1;
}

/* "fd N KIND KEY=VALUE..." */
static int fd_line(struct fdplan *p, const struct text *t)
{
	struct fdplan_fd *e, *nv;
	uint64_t fd;
	char *eq;
	int i;

	if (!(nv = realloc(p->v, (p->n + 1) * sizeof *nv)))
		return -1;
	p->v = nv;
	e = memset(&p->v[p->n], 0, sizeof *e);
	e->dup = -1;
	e->src = -1;
	e->trunc_fd = -1;
	e->pty = -1;
	e->accepted = -1;
	if (t->n < 3 || num_parse(t->f[1], INT_MAX / 2 - 1, &fd) < 0)
		return -1;
	e->fd = fd;
	snprintf(e->kind, sizeof e->kind, "%s", t->f[2]);
	e->k = fd_kind_parse(t->f[2]);
	for (i = 3; i < t->n; i++)
		if ((eq = strchr(t->f[i], '=')) && (*eq = 0, ent_key(e, t->f[i], eq + 1) < 0))
			return ent_drop(e);
	if (e->fd > p->maxfd)
		p->maxfd = e->fd;
	p->n++;
	return 0;
}

/* "epoll EPFD TFD events=HEX data=HEX ..." */
static int epoll_line(struct fdplan *p, const struct text *t)
{
	struct fd_epoll *ne, ep;
	uint64_t v[2], x;
	int i, have = 0;

	if (t->n < 3 || num_parse(t->f[1], NUM_INT_MAX, &v[0]) < 0 ||
	    num_parse(t->f[2], NUM_INT_MAX, &v[1]) < 0)
		return -1;
	ep = (struct fd_epoll){ .epfd = v[0], .tfd = v[1], .file = v[1] };
	for (i = 3; i < t->n; i++) {
		if (!strcmp(t->f[i], "file=-1"))
			ep.file = -1;
		else if (!strncmp(t->f[i], "file=", 5) &&
			 num_parse(t->f[i] + 5, NUM_INT_MAX, &x) == 0)
			ep.file = x;
		else if (!strncmp(t->f[i], "file=", 5))
			return -1;
		if (!strncmp(t->f[i], "events=", 7)) {
			if (num_parse_base(t->f[i] + 7, 16, NUM_U32_MAX, &x) < 0)
				return -1;
			ep.events = x;
			have |= 1;
		} else if (!strncmp(t->f[i], "data=", 5)) {
			if (num_parse_base(t->f[i] + 5, 16, U64, &ep.data) < 0)
				return -1;
			have |= 2;
		}
	}
	if (have != 3)
		return -1;
	if (!(ne = realloc(p->ep, (p->nep + 1) * sizeof *ne)))
		return -1;
	p->ep = ne;
	p->ep[p->nep++] = ep;
	return 0;
}

/* whether e is of one of the kinds, a list that ends in FD_UNKNOWN */
static int kind_is(const struct fdplan_fd *e, const enum fd_kind *kinds)
{
	for (; *kinds != FD_UNKNOWN; kinds++)
		if (e->k == *kinds)
			return 1;
	return 0;
}

/* the value of key in the fields of t after the first two, or NULL */
static const char *field_of(const struct text *t, const char *key)
{
	size_t n = strlen(key);
	int i;

	for (i = 2; i < t->n; i++)
		if (!strncmp(t->f[i], key, n) && t->f[i][n] == '=')
			return t->f[i] + n + 1;
	return NULL;
}

/* "lock FD class=C type=T start=N end=N|eof pid=P", after its fd line:
 * 0 (with *why set when it cannot be taken again), or -1: malformed */
static int lock_line(struct fdplan *p, const struct text *t, const char **why)
{
	const char *class = field_of(t, "class"), *type = field_of(t, "type");
	const char *start = field_of(t, "start"), *end = field_of(t, "end");
	uint64_t fd, first, last = 0;
	struct fd_lock l, *nl;
	const struct fdplan_fd *e;

	if (t->n < 2 || num_parse(t->f[1], NUM_INT_MAX, &fd) < 0 || !class || !type ||
	    !start || !end || num_parse(start, INT64_MAX, &first) < 0 ||
	    (strcmp(end, "eof") && (num_parse(end, INT64_MAX - 1, &last) < 0 || last < first)))
		return -1;
	l = (struct fd_lock){ .fd = fd, .write = !strcmp(type, "write"), .start = first,
			      .len = strcmp(end, "eof") ? (int64_t)(last - first + 1) : 0 };
	l.class = !strcmp(class, "posix") ? FD_LOCK_POSIX : !strcmp(class, "flock") ? FD_LOCK_FLOCK :
		  !strcmp(class, "ofd") ? FD_LOCK_OFD : 0;
	e = p->n ? &p->v[p->n - 1] : NULL;
	if (e && e->share_pid)
		*why = "a lock on a share= fd: the earlier process's line has it";
	else if (!e || e->fd != l.fd || !fd_kind_is_file(e->k))
		*why = "a lock that does not follow its file's fd line";
	else if (!l.class)
		*why = "a lock of this class cannot be taken again (a lease?)";
	else if (!l.write && strcmp(type, "read"))
		*why = "a lock of an unknown type";
	if (*why)
		return 0;
	if (!(nl = realloc(p->lock, (p->nlock + 1) * sizeof *nl)))
		return -1;
	p->lock = nl;
	p->lock[p->nlock++] = l;
	return 0;
}

/* "inotify FD wd=N ino=N dev=MAJ:MIN mask=0xHEX ... [path=PATH]", after
 * its fd line: 0 (with *why set when it does not belong there), or -1 */
static int inotify_line(struct fdplan *p, const struct text *t, const char **why)
{
	const char *wd = field_of(t, "wd"), *ino = field_of(t, "ino"), *dev = field_of(t, "dev");
	const char *mask = field_of(t, "mask"), *path = field_of(t, "path");
	struct fd_watch w = { 0 }, *nw;
	uint64_t fd, nr, m, maj, min;
	const struct fdplan_fd *e = p->n ? &p->v[p->n - 1] : NULL;

	if (t->n < 2 || num_parse(t->f[1], NUM_INT_MAX, &fd) < 0 || !wd || !ino || !dev ||
	    !mask || num_parse(wd, NUM_INT_MAX, &nr) < 0 || num_parse(ino, U64, &w.ino) < 0 ||
	    num_pair(dev, NUM_U32_MAX, &maj, &min) < 0 || strncmp(mask, "0x", 2) ||
	    num_parse_base(mask + 2, 16, NUM_U32_MAX, &m) < 0)
		return -1;
	w = (struct fd_watch){ .fd = fd, .wd = nr, .mask = m, .dev = makedev(maj, min), .ino = w.ino };
	if (!e || e->fd != w.fd || e->k != FD_INOTIFY || e->share_pid)
		return *why = "an inotify watch that does not follow its inotify fd's line", 0;
	if (path) {
		if (!(w.path = strdup(path)) || str_unescape(w.path) < 0 || w.path[0] != '/')
			return free(w.path), -1;
	}
	if (!(nw = realloc(p->watch, (p->nwatch + 1) * sizeof *nw)))
		return free(w.path), -1;
	p->watch = nw;
	p->watch[p->nwatch++] = w;
	return 0;
}

/* An image is data: a line may ask only for the file work its kind
 * has (formats/fds.md, "Kinds"), so that no key sends a restore to a
 * path, or writes, where the checkpoint never would.  NULL, or why not. */
static const char *ent_check(const struct fdplan_fd *e)
{
	static const enum fd_kind saved[] = { FD_FILE, FD_DELETED, FD_MEMFD, FD_UNKNOWN };
	static const enum fd_kind piped[] = { FD_PIPE, FD_FIFO, FD_UNKNOWN };
	static const enum fd_kind pathed[] = { FD_FILE, FD_DIR, FD_CHR, FD_BLK, FD_FIFO, FD_DELETED,
					       FD_SYMLINK, FD_PTS, FD_UNKNOWN };
	int is_file = e->k == FD_FILE;

	if (e->data && kind_is(e, saved) && strncmp(e->data, "files/", 6))
		return "data= of a file must name files/FD";
	if (e->data && kind_is(e, piped) && strncmp(e->data, "pipes/", 6))
		return "data= of a pipe must name pipes/INODE";
	if (e->data && e->k == FD_SOCKET && strncmp(e->data, "socks/", 6))
		return "data= of a socket must name socks/INODE";
	if (e->data && e->k == FD_PTMX && strncmp(e->data, "ptys/", 5))
		return "data= of a pseudo-terminal master must name ptys/N";
	if (e->data && !kind_is(e, saved) && !kind_is(e, piped) && e->k != FD_SOCKET &&
	    e->k != FD_PTMX)
		return "data= on a kind that has no saved data";
	if (!e->data && !e->share_pid && e->dup < 0 && (e->k == FD_DELETED || e->k == FD_MEMFD))
		return "no data=: its contents are only in the image";
	if (e->holes && (!e->data || !kind_is(e, saved)))
		return "holes= on what has no saved contents";
	if (kind_is(e, pathed) && (!e->path || e->path[0] != '/'))
		return "no absolute path=";
	if (e->restart && !kind_is(e, pathed))
		return "restart= on a kind that is not opened by path";
	if (e->truncate && (!is_file || e->data))
		return "truncate=1 on what is not a log left unsaved";
	if (e->truncate && (e->flags & O_ACCMODE) == O_RDONLY)
		return "truncate=1 on a file not open for writing";
	if (e->share_pid && (e->data || e->restart || e->truncate || e->dup >= 0))
		return "share= with data=, restart=, truncate= or dup=";
	return NULL;
}

static int fds_fd(struct text *t, void *obj)
{
	struct fdplan *p = obj;
	const struct fdplan_fd *e;
	const char *why;

	if (fd_line(p, t) < 0)
		return text_bad(t, "malformed");
	e = &p->v[p->n - 1];
	if ((why = ent_check(e)))
		return warn("member %s line %u: fd %d %s: %s", t->name, t->no, e->fd, e->kind, why), -1;
	return 0;
}

static int fds_epoll(struct text *t, void *p)
{
	return epoll_line(p, t) < 0 ? text_bad(t, "malformed") : 0;
}

static int fds_lock(struct text *t, void *p)
{
	const char *why = NULL;

	if (lock_line(p, t, &why) < 0)
		return text_bad(t, "malformed");
	return why ? text_bad(t, why) : 0;
}

static int fds_inotify(struct text *t, void *p)
{
	const char *why = NULL;

	if (inotify_line(p, t, &why) < 0)
		return text_bad(t, "malformed");
	return why ? text_bad(t, why) : 0;
}

static const struct text_key fds_keys[] = {
	{ "fd", fds_fd }, { "epoll", fds_epoll }, { "lock", fds_lock },
	{ "inotify", fds_inotify },
};

static int fds_line(struct text *t, void *p)
{
	return text_key_apply(t, TEXT_KEYS(fds_keys), p) < 0 ? -1 : 0;
}

int fdplan_parse(struct fdplan *p, int pid, char *text)
{
	char name[64];

	memset(p, 0, sizeof *p);
	p->pid = pid;
	p->maxfd = -1;
	snprintf(name, sizeof name, "proc/%d/fds", pid);
	return text_each(text, name, TEXT_FIELDS_MAX, fds_line, p);
}

void fdplan_bind(struct fdplan *p, const struct img_core *job, struct memplan *mem)
{
	p->job = job;
	p->mem = mem;
}

int fdplan_fs_ready(struct fdplan *p, int pid)
{
	if (p->fs.pid > 0)
		return 0;
	if (!p->job)
		return warn("pid %d: file work before the core member says whose", pid), -1;
	return jobfs_start(&p->fs, p->job);
}

/* the first line that names sub as its data=: through an index of
 * them made once the lines are read (the members come after them),
 * whose hit is checked, and a scan when two names share a key (a scan
 * per member made 2000 sockets take 0.1 s to read, bench/sockets) */
static struct fdplan_fd *ent_with_data(struct fdplan *p, const char *sub)
{
	uint64_t h;
	unsigned i;
	int k;

	if (!p->datas.cap)
		for (i = 0; i < p->n; i++)
			if (p->v[i].data && u64index_get(&p->datas, h = u64index_hash(p->v[i].data)) < 0 &&
			    u64index_put(&p->datas, h, i) < 0)
				die("out of memory");
	if ((k = u64index_get(&p->datas, u64index_hash(sub))) < 0)
		return NULL;
	if (p->v[k].data && !strcmp(p->v[k].data, sub))
		return &p->v[k];
	for (i = 0; i < p->n; i++)
		if (p->v[i].data && !strcmp(p->v[i].data, sub))
			return &p->v[i];
	return NULL;
}

/* the bytes of the current member into fd */
static int copy_member(struct stream *s, int fd, int pid, const char *what)
{
	static char buf[1 << 16];
	size_t n;
	int e;

	while (s->left) {
		n = s->left < sizeof buf ? s->left : sizeof buf;
		if (stream_read(s, buf, n) < 0)
			return -1;
		if ((e = write_all(fd, buf, n)) < 0)
			return warnerr(e, "pid %d: restore %s:", pid, what), -1;
	}
	return 0;
}

struct fd_blob *blob_find(struct fdplan *p, const char *name)
{
	unsigned i;
	int k = name ? u64index_get(&p->blobs, u64index_hash(name)) : -1;

	if (k < 0)   /* every blob is in the index: none has that name */
		return NULL;
	if (!strcmp(p->blob[k].name, name))
		return &p->blob[k];
	for (i = 0; i < p->nblob; i++)   /* two names, one key */
		if (!strcmp(p->blob[i].name, name))
			return &p->blob[i];
	return NULL;
}

/* a new file for saved contents: a memfd, or a file the job makes in
 * the directory it belongs in, under a temporary name until the commit
 * (which puts a file in place, and unlinks a deleted one from its old
 * name) */
static int blob_new(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct stat st;
	unsigned mode;
	int fd;

	if (e->k == FD_MEMFD) {
		fd = memfd_create(e->name ? e->name : "ckpt", MFD_CLOEXEC |
				  (e->seals == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING));
		return fd < 0 ? -errno : fd;
	}
	if (fdplan_fs_ready(p, pid) < 0)
		return errno = ECANCELED, -ECANCELED;
	mode = e->mode & 07777 ? e->mode & 07777 : 0600;
	fd = e->k == FD_FILE ? jobfs_newfile(&p->fs, e->path, mode) :
	     jobfs_deleted(&p->fs, e->path, mode);
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size)) {
		close(fd);
		return -EPROTO;   /* not a new file */
	}
	return fd;
}

/* A memfd as it was, once its bytes are in (F_SEAL_WRITE would stop
 * them): owned by the job's user when ckpt-thaw is root, so that a
 * reopen through /proc/self/fd is judged as before; its mode, never
 * set-id (ckpt-thaw made it); its seals, but F_SEAL_SEAL alone, which
 * memfd_create without MFD_ALLOW_SEALING gave it already. */
static int memfd_settle(const struct fdplan *p, int fd, const struct fdplan_fd *e)
{
	if (p->job && geteuid() == 0 && fchown(fd, p->job->uid[3], p->job->gid[3]) < 0)
		return -1;
	if (e->mode && fchmod(fd, e->mode & 0777) < 0)
		return -1;
	if (e->seals && e->seals != F_SEAL_SEAL && fcntl(fd, F_ADD_SEALS, (int)e->seals) < 0)
		return -1;
	return 0;
}

/* holes "OFF+LEN,..." punched in the new file fd of size bytes, so it
 * is as sparse as it was; a file system that cannot punch keeps the
 * zeros (the same bytes).  0, or -1 (errno EPROTO: malformed) */
static int holes_punch(int fd, const char *holes, uint64_t size)
{
	const char *p = holes, *end = holes + strlen(holes);
	uint64_t off, len, from = 0;

	while (p < end) {
		if (num_scan(&p, end, 10, size, &off) < 0 || p >= end || *p++ != '+' ||
		    num_scan(&p, end, 10, size - off, &len) < 0 || off < from ||
		    (p < end && *p++ != ','))
			return errno = EPROTO, -1;
		if (len && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0 &&
		    errno != EOPNOTSUPP)
			return -1;
		from = off + len;
	}
	return 0;
}

/* a saved file's contents, whole, into its new file; the mapping plan
 * learns what the copy is (memplan_own) */
static int blob_file(struct fdplan *p, struct fd_blob *b, struct fdplan_fd *e, int pid, struct stream *s)
{
	struct stat st;

	if ((b->fd = blob_new(p, e, pid)) < 0) {
		if (b->fd != -ECANCELED)
			warnerr(b->fd, "pid %d: fd %d: a new file for the contents of %s:", pid, e->fd,
				e->path ? e->path : e->kind);
		return b->fd = -1, -1;
	}
	if (copy_member(s, b->fd, pid, e->path ? e->path : e->kind) < 0)
		return -1;
	if (ftruncate(b->fd, e->size) < 0 || fstat(b->fd, &st) < 0)
		return warn("pid %d: fd %d: truncate %s:", pid, e->fd, e->path), -1;
	if (e->holes && holes_punch(b->fd, e->holes, e->size) < 0)
		return warn("pid %d: fd %d: the holes of %s (%s):", pid, e->fd, e->path, e->holes), -1;
	/* the write-back starts now; the commit's fsync then mostly waits */
	sync_file_range(b->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (e->k == FD_MEMFD && memfd_settle(p, b->fd, e) < 0)
		return warn("pid %d: fd %d: memfd %s: its owner, mode 0%o and seals 0x%llx:", pid,
			    e->fd, e->name ? e->name : "", e->mode & 0777,
			    (unsigned long long)e->seals), -1;
	if (e->k != FD_FILE && e->k != FD_DELETED)
		return 0;
	if (e->k == FD_FILE && !(b->place = strdup(e->path)))
		return warn("out of memory"), -1;
	/* as the mapping will find it (the holes punched since) */
	if (fstat(b->fd, &st) < 0)
		return warn("pid %d: fd %d: %s:", pid, e->fd, e->path), -1;
	return p->mem ? memplan_own(p->mem, e->dev, e->ino, e->fd, &st) : 0;
}

int fdplan_data(struct fdplan *p, int pid, const char *sub, struct stream *s)
{
	struct fdplan_fd *e = ent_with_data(p, sub);
	struct fd_blob *b, *nb;

	if (blob_find(p, sub))
		return warn("member proc/%d/%s: a second one in the image", pid, sub), -1;
	if (!e)   /* nobody uses it: skip, as an unknown member */
		return stream_skip(s);
	if (!(nb = realloc(p->blob, (p->nblob + 1) * sizeof *nb)))
		return warn("out of memory"), -1;
	p->blob = nb;
	b = memset(&p->blob[p->nblob++], 0, sizeof *b);
	b->fd = -1;
	snprintf(b->name, sizeof b->name, "%s", sub);
	if (u64index_get(&p->blobs, u64index_hash(b->name)) < 0 &&
	    u64index_put(&p->blobs, u64index_hash(b->name), p->nblob - 1) < 0)
		return warn("out of memory"), -1;
	if (!strncmp(sub, "pipes/", 6) || !strncmp(sub, "socks/", 6) || !strncmp(sub, "ptys/", 5))
		return (b->bytes = stream_slurp(s, BLOB_MAX, &b->len)) ? 0 : -1;
	return blob_file(p, b, e, pid, s);
}

static struct fdplan_fd *ent_find(struct fdplan *p, int fd)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].fd == fd)
			return &p->v[i];
	return NULL;
}

static int hold(int **held, unsigned *nheld, int fd)
{
	int *nh = realloc(*held, (*nheld + 1) * sizeof *nh);

	if (!nh)
		return -1;
	*held = nh;
	nh[(*nheld)++] = fd;
	return 0;
}

static int reopen(int fd, int flags)
{
	char path[64];

	/* not O_NOFOLLOW (a file made with it, Python's tempfile): the
	 * path is a link, which it would refuse (ELOOP) */
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return open(path, (flags & ~(FLAGS_KEPT_OUT | O_NOFOLLOW)) | O_CLOEXEC);
}

/* the file fd names, opened as the job by that name, if it still is
 * that file: the fd, or -1 */
static int reopen_named(struct jobfs *fs, int fd, int flags)
{
	char link[64], path[PATH_MAX];
	struct stat was, now;
	ssize_t n;
	int nfd;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof path - 1)) <= 0 || path[0] != '/')
		return -1;
	path[n] = 0;
	/* O_NONBLOCK: what is there now may be a FIFO, made by the job's user */
	if ((nfd = jobfs_open(fs, path, (flags & ~FLAGS_KEPT_OUT) | O_NONBLOCK)) < 0)
		return -1;
	if (fstat(fd, &was) < 0 || fstat(nfd, &now) < 0 || was.st_dev != now.st_dev ||
	    was.st_ino != now.st_ino ||
	    (!(flags & O_NONBLOCK) && fcntl(nfd, F_SETFL, flags & ~O_NONBLOCK) < 0)) {
		close(nfd);
		return -1;
	}
	return nfd;
}

int fdplan_reopen(struct jobfs *fs, int fd, int flags)
{
	int nfd;

	if ((flags & O_NOFOLLOW) && fs && fs->pid > 0 && (nfd = reopen_named(fs, fd, flags)) >= 0)
		return nfd;
	return reopen(fd, flags);
}

/* The devices a restore reopens by path (doc/design.md, "Open files"):
 * the same device whoever opens it, checked by its number once open.
 * Any other device is refused: opening one can act (a tape rewinds),
 * and its path may lead elsewhere by now. */
static const struct { const char *path; unsigned maj, min; } devices[] = {
	{ "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 }, { "/dev/full", 1, 7 },
	{ "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
};

/* the expected device number for e, or 0: not one we reopen.  Beyond
 * the list, the job's own pseudo-terminal (/dev/pts/N), as it was. */
static dev_t device_allowed(const struct fdplan_fd *e)
{
	unsigned i;

	/* O_PATH opens no device: any one, by its number */
	if ((e->k == FD_CHR || e->k == FD_BLK) && (e->flags & O_PATH) && !e->deleted)
		return e->rdev;
	if (e->k != FD_CHR && e->k != FD_PTS)
		return 0;
	for (i = 0; i < sizeof devices / sizeof *devices; i++)
		if (e->deleted ? e->rdev == makedev(devices[i].maj, devices[i].min) :
				 !strcmp(e->path, devices[i].path))
			return makedev(devices[i].maj, devices[i].min);
	if (!strncmp(e->path, "/dev/pts/", 9) && major(e->rdev) >= 136 && major(e->rdev) <= 143)
		return e->rdev;
	return 0;
}

/* the path of a device of the list: an unlinked node of one (a mknod
 * of /dev/null's numbers, say) is the same device opened there */
static const char *device_path(dev_t dev)
{
	unsigned i;

	for (i = 0; i < sizeof devices / sizeof *devices; i++)
		if (dev == makedev(devices[i].maj, devices[i].min))
			return devices[i].path;
	return "/";
}

static const char *device_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	(void)p;
	return device_allowed(e) ? NULL :
	       e->deleted ? "a device node unlinked since, not one of the devices a restore reopens (formats/fds.md)" :
	       "not a device a restore reopens (formats/fds.md)";
}

/* Says why, names the fd, and marks errno as said (ECANCELED), so the
 * caller adds nothing. */
static int refuse(int pid, const struct fdplan_fd *e, const char *why)
{
	warn("pid %d: fd %d: %s %s: %s", pid, e->fd, e->kind, e->path, why);
	errno = ECANCELED;
	return -1;
}

/* e->path opened by the job (jobfs.h), without blocking on a fifo,
 * and refused unless it is still the kind of file e says: the fd, or
 * -1 with errno (ECANCELED: said) */
static int open_path(struct fdplan *p, struct fdplan_fd *e, int flags, int pid)
{
	dev_t want = 0;
	struct stat st;
	int fd, ok;

	if ((e->k == FD_CHR || e->k == FD_BLK || e->k == FD_PTS) && !(want = device_allowed(e)))
		return refuse(pid, e, "not a device a restore reopens (formats/fds.md)");
	if (fdplan_fs_ready(p, pid) < 0)
		return errno = ECANCELED, -1;
	fd = jobfs_open(&p->fs, want && e->deleted ? device_path(want) : e->path, flags | O_NONBLOCK);
	/* /dev/tty is the opener's controlling terminal: ckpt-thaw's, as
	 * fds 0-2 on a terminal are attached to its own (ckpt-thaw(1)) */
	if (fd == -ENXIO && want == makedev(5, 0))
		return refuse(pid, e, "ckpt-thaw has no controlling terminal to give it (restore from a terminal)");
	if (fd < 0)
		return errno = -fd, -1;
	if (fstat(fd, &st) < 0)
		return close(fd), -1;
	ok = e->k == FD_DIR ? S_ISDIR(st.st_mode) :
	     e->k == FD_FIFO ? S_ISFIFO(st.st_mode) :
	     e->k == FD_SYMLINK ? S_ISLNK(st.st_mode) :
	     want ? (e->k == FD_BLK ? S_ISBLK(st.st_mode) : S_ISCHR(st.st_mode)) &&
		    st.st_rdev == want : S_ISREG(st.st_mode);
	if (!ok) {
		close(fd);
		return refuse(pid, e, want ? "not that device now" : "not that kind of file now");
	}
	/* O_NONBLOCK was for the open only, unless the fd had it */
	if (!(flags & O_NONBLOCK) && !(flags & O_PATH) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		return close(fd), -1;
	return fd;
}

static int open_file(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct fd_blob *b = blob_find(p, e->data);
	int fd;

	if (e->data && (!b || b->fd < 0))
		return refuse(pid, e, "its saved contents are not in the image");
	if (b)   /* the job's own new file, open here already */
		fd = fdplan_reopen(&p->fs, b->fd, e->flags);
	else
		fd = open_path(p, e, e->flags & ~FLAGS_KEPT_OUT, pid);
	if (fd >= 0 && e->pos && lseek(fd, e->pos, SEEK_SET) < 0 && errno != ESPIPE) {
		close(fd);
		return -1;
	}
	if (fd >= 0 && e->truncate && (e->trunc_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* one pipe(2) per inode: the fds of both ends share it */
static int job_pipe(const struct fdplan *p, const struct fdplan_fd *e);

/* fd 0-2 of the process on e's pipe, one that led outside the job and
 * is attached anew (made before e: the plan is in fd order), or NULL */
static const struct fdplan_fd *stdio_on_pipe(const struct fdplan *p, const struct fdplan_fd *e)
{
	unsigned i;

	for (i = 0; i < p->n && p->v[i].fd <= 2; i++)
		if (&p->v[i] != e && p->v[i].k == FD_PIPE && p->v[i].pipe == e->pipe &&
		    p->v[i].src >= 0 && fd_outside_job(&p->v[i]) && !job_pipe(p, &p->v[i]))
			return &p->v[i];
	return NULL;
}

static int open_pipe(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct fd_pipe **pv = &p->shared->pipe, *pp = NULL, *np;
	unsigned *pn = &p->shared->npipe, i;
	const struct fdplan_fd *io = e->fd > 2 ? stdio_on_pipe(p, e) : NULL;
	struct fd_blob *b;
	int fd[2];

	(void)pid;

	/* another open of a stdio pipe from outside (/dev/stdin,
	 * /dev/stdout): another open of what that fd is attached to */
	if (io)
		return reopen(io->src, e->flags & O_ACCMODE);
	for (i = 0; i < *pn; i++)
		if ((*pv)[i].ino == e->pipe)
			pp = &(*pv)[i];
	if (!pp) {
		if (pipe2(fd, O_CLOEXEC) < 0)
			return -1;
		if (!(np = realloc(*pv, (*pn + 1) * sizeof *np)))
			return -1;
		*pv = np;
		pp = &np[(*pn)++];
		*pp = (struct fd_pipe){ e->pipe, fd[0], fd[1], 0, 0, 0, 0 };
		if (e->pipesz > 65536)
			fcntl(pp->w, F_SETPIPE_SZ, e->pipesz);
	}
	if (e->other_closed && e->end[0] == 'r' && !e->end[1])
		pp->no_w = 1;
	if (e->other_closed && e->end[0] == 'w')
		pp->no_r = 1;
	if ((b = blob_find(p, e->data)) && !b->used && b->len) {
		if (write_all(pp->w, b->bytes, b->len) < 0)
			return -1;
		b->used = 1;
	}
	/* Each line that is neither dup= nor share= is an open file
	 * description of its own (open of /proc/self/fd/N gives a second
	 * one, with its own status flags): the pipe's end for the first,
	 * a new open of it for the others. */
	if (!strcmp(e->end, "rw")) {
		pp->has_r = pp->has_w = 1;
		return reopen(pp->r, O_RDWR);
	}
	if (e->end[0] == 'w') {
		if (pp->has_w)
			return reopen(pp->w, O_WRONLY);
		pp->has_w = 1;
		return fcntl(pp->w, F_DUPFD_CLOEXEC, 3);
	}
	if (pp->has_r)
		return reopen(pp->r, O_RDONLY);
	pp->has_r = 1;
	return fcntl(pp->r, F_DUPFD_CLOEXEC, 3);
}

/* A pipe whose other end is outside the process keeps that end in
 * ckpt-thaw, so the program sees neither an EOF nor an EPIPE it would
 * not have seen; an end that was open nowhere (its holder exited: a
 * zombie's) is closed, so that the reader gets the queued bytes, then
 * EOF, and the writer EPIPE, as they would have. */
static int pipes_settle(struct fd_pipe *pipe, unsigned *npipe, int **held, unsigned *nheld)
{
	unsigned i;

	for (i = 0; i < *npipe; i++) {
		if (!pipe[i].has_w && !pipe[i].no_w && hold(held, nheld, pipe[i].w) < 0)
			return -1;
		if (!pipe[i].has_r && !pipe[i].no_r && hold(held, nheld, pipe[i].r) < 0)
			return -1;
		if (pipe[i].has_w || pipe[i].no_w)
			close(pipe[i].w);
		if (pipe[i].has_r || pipe[i].no_r)
			close(pipe[i].r);
	}
	*npipe = 0;
	return 0;
}

int fdjob_settle(struct fdjob *job)
{
	if (ptyplan_settle(job) < 0 || sockplan_settle(job) < 0 || inetplan_settle(job) < 0)
		return -1;
	if (pipes_settle(job->pipe, &job->npipe, &job->held, &job->nheld) < 0)
		return warn("pipes: out of memory"), -1;
	return 0;
}

int fdjob_add(struct fdjob *job, pid_t pid, struct fdplan *p)
{
	struct fdplan **np;
	pid_t *npid;

	if (!(np = realloc(job->plan, (job->n + 1) * sizeof *np)))
		return -1;
	job->plan = np;
	if (!(npid = realloc(job->pid, (job->n + 1) * sizeof *npid)))
		return -1;
	job->pid = npid;
	p->first = job->n == 0;
	p->shared = job;
	job->plan[job->n] = p;
	job->pid[job->n++] = pid;
	return 0;
}

void fdjob_free(struct fdjob *job)
{
	unsigned i;

	pipes_settle(job->pipe, &job->npipe, &job->held, &job->nheld);
	sockplan_free(job);
	inetplan_free(job);
	ptyplan_free(job);
	for (i = 0; i < job->nheld; i++)   /* the ends kept for the job */
		close(job->held[i]);
	free(job->held);
	free(job->pipe);
	free(job->plan);
	free(job->pid);
	memset(job, 0, sizeof *job);
}

/* the timer as it was: armed with what was left of its period, and
 * its expirations not yet read pending again (TFD_IOC_SET_TICKS, after
 * the settime that clears them).  A periodic timer recorded with no
 * time left (a dumper that did not forward an expired one) restarts
 * one interval on rather than never. */
static int open_timerfd(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct itimerspec its = { 0 };
	uint64_t ticks = e->ticks;
	int fd, err, flags = 0;

	(void)p, (void)pid;

	if (timer_parse(e->value, &its.it_value) < 0 ||
	    timer_parse(e->interval, &its.it_interval) < 0) {
		errno = EINVAL;
		return -1;
	}
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value = its.it_interval;
	/* a wall-clock time stays that time (and TFD_TIMER_CANCEL_ON_SET
	 * with it); a time of another clock is kept as what was left */
	if ((e->tflags & TFD_TIMER_ABSTIME) && e->abs[0] &&
	    (e->clock == CLOCK_REALTIME || e->clock == CLOCK_REALTIME_ALARM) &&
	    timer_parse(e->abs, &its.it_value) == 0)
		flags = e->tflags & (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);
	if ((fd = timerfd_create(e->clock, TFD_CLOEXEC)) < 0)
		return -1;
	if (((its.it_value.tv_sec || its.it_value.tv_nsec) &&
	     timerfd_settime(fd, flags, &its, NULL) < 0) ||
	    (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks) < 0)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* a named pipe: held open read-write meanwhile, so that neither open
 * blocks and the queued bytes have a reader to wait in */
static int open_fifo(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	struct fd_blob *b = blob_find(p, e->data);
	int hold_fd, fd, err = 0;

	if ((hold_fd = open_path(p, e, O_RDWR, pid)) < 0)
		return -1;
	fd = open_path(p, e, (e->flags & ~FLAGS_KEPT_OUT) | O_NONBLOCK, pid);
	if (fd >= 0 && b && !b->used && b->len) {
		err = write_all(hold_fd, b->bytes, b->len);
		b->used = 1;
	}
	close(hold_fd);
	if (err < 0) {
		close(fd);
		errno = -err;
		return -1;
	}
	return fd;
}

/* A pidfd on a process outside the job, on the process that its pid
 * and start time name on this boot, alive (formats/fds.md).  One on
 * the process itself would have to be made in it, once it exists. */
static const char *pidfd_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	char *boot;
	int same;

	if (!e->target || !e->target_start)
		return "its process had ended at the checkpoint";
	if (e->target == p->pid)
		return "a pidfd on the process itself";
	boot = read_file("/proc/sys/kernel/random/boot_id", NULL);
	same = boot && !strncmp(boot, e->boot, 36) && strlen(e->boot) == 36;
	free(boot);
	if (!same)
		return "its process ran on another boot";
	if (pid_starttime(e->target) != e->target_start)
		return "its process has ended since";
	return NULL;
}

/* pidfd_open, then the same checks: the pid cannot have been reused
 * while the pidfd's process lives */
static int open_pidfd(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	int fd = syscall(SYS_pidfd_open, e->target, e->flags & (O_NONBLOCK | O_EXCL));
	const char *why;

	if (fd < 0)
		return errno == ESRCH ? refuse(pid, e, "its process has ended since") : -1;
	if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) < 0 && errno != EPERM)
		why = "its process has ended since";
	else
		why = pidfd_why_not(p, e);
	if (why) {
		close(fd);
		return refuse(pid, e, why);
	}
	return fd;
}

static int open_dir(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	return open_path(p, e, O_RDONLY | O_DIRECTORY | (e->flags & O_PATH), pid);
}

/* A directory or a symlink removed since it was opened has no path to
 * open again, and the kernel has no call that makes an fd on a removed
 * one: refused (formats/fds.md) */
static const char *path_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	(void)p;
	return e->deleted ? "removed since it was opened: nothing can open it again" : NULL;
}

/* An unlinked file whose inode has other links that the checkpoint
 * did not find (nlink=): a copy would take writes the other names
 * never see */
static const char *deleted_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	(void)p;
	return e->nlink ? "unlinked, but its inode has other links, none found beside the old name "
			  "that the job may open: a copy would not reach them" : NULL;
}

/* the symlink itself, as O_PATH|O_NOFOLLOW opened it */
static int open_symlink(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	return open_path(p, e, O_PATH | O_NOFOLLOW, pid);
}

/* ckpt-thaw's own namespace of that type, /proc/self/ns/TYPE (or
 * TYPE_for_children), when it is the very one the fd was on */
static int ns_open_own(const struct fdplan_fd *e)
{
	static const char *const fmt[] = { "/proc/self/ns/%s", "/proc/self/ns/%s_for_children" };
	char path[64];
	struct stat st;
	unsigned i;
	int fd;

	for (i = 0; i < 2 && e->nstype[0] && !strchr(e->nstype, '/'); i++) {
		snprintf(path, sizeof path, fmt[i], e->nstype);
		if ((fd = open(path, (e->flags & (O_PATH | O_ACCMODE)) | O_CLOEXEC)) < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_dev == e->dev && st.st_ino == e->ino)
			return fd;
		close(fd);
	}
	return -1;
}

static const char *ns_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	int fd = ns_open_own(e);

	(void)p;
	if (fd < 0)
		return "a namespace ckpt-thaw is not in: only its own can be opened again";
	close(fd);
	return NULL;
}

static int open_ns(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	int fd = ns_open_own(e);

	return fd >= 0 ? fd : refuse(pid, e, ns_why_not(p, e));
}

static int open_eventfd(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	(void)p, (void)pid;
	return eventfd(e->count, EFD_CLOEXEC | (e->semaphore ? EFD_SEMAPHORE : 0));
}

static int open_epoll(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	(void)p, (void)e, (void)pid;
	return epoll_create1(EPOLL_CLOEXEC);   /* its watches: epolls_add */
}

static int open_signalfd(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	sigset_t set;
	int i;

	(void)p, (void)pid;
	sigemptyset(&set);
	for (i = 1; i <= 64; i++)
		if (e->sigmask >> (i - 1) & 1)
			sigaddset(&set, i);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* a socket: TCP and UDP by inetplan.h, unix ones by sockplan.h */
static int open_socket(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	return inetplan_is(e) ? inetplan_open(p, e, pid) : sockplan_open(p, e, pid);
}

static const char *socket_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	return inetplan_is(e) ? inetplan_why_not(p, e) : sockplan_why_not(p, e);
}

/* How a restore makes each kind (formats/fds.md, "Restoring each
 * kind"), the one place to teach it a kind: open makes the fd in
 * ckpt-thaw (-1 with errno, -2 when made already with another);
 * why_not, when set, says what the kind needs that the plan or the
 * system lacks (NULL: nothing); setfl: its status flags are set again
 * with F_SETFL (a kind opened by path gets them from open).  A kind
 * without an open cannot be restored. */
/* a slave: of its pair in the job, else the terminal at its path */
static int open_pts(struct fdplan *p, struct fdplan_fd *e, int pid)
{
	int fd = ptyplan_open(p, e, pid);

	return fd == -2 ? open_file(p, e, pid) : fd;
}

static const struct kind_restore {
	int (*open)(struct fdplan *, struct fdplan_fd *, int pid);
	const char *(*why_not)(const struct fdplan *, const struct fdplan_fd *);
	int setfl;
} restore_of[FD_UNKNOWN + 1] = {
	[FD_FILE] = { open_file, NULL, 0 },
	[FD_DELETED] = { open_file, deleted_why_not, 0 },
	[FD_MEMFD] = { open_file, NULL, 0 },
	[FD_CHR] = { open_file, device_why_not, 0 },
	[FD_BLK] = { open_file, device_why_not, 0 },
	[FD_DIR] = { open_dir, path_why_not, 0 },
	[FD_SYMLINK] = { open_symlink, path_why_not, 0 },
	[FD_NS] = { open_ns, ns_why_not, 0 },
	[FD_INOTIFY] = { fdwatch_open, fdwatch_why_not, 1 },
	[FD_FIFO] = { open_fifo, NULL, 1 },
	[FD_PIPE] = { open_pipe, NULL, 1 },
	[FD_SOCKET] = { open_socket, socket_why_not, 1 },
	[FD_PTMX] = { ptyplan_open, ptyplan_why_not, 1 },
	[FD_PTS] = { open_pts, ptyplan_why_not, 1 },
	[FD_EVENTFD] = { open_eventfd, NULL, 1 },
	[FD_EPOLL] = { open_epoll, NULL, 0 },
	[FD_TIMERFD] = { open_timerfd, NULL, 1 },
	[FD_SIGNALFD] = { open_signalfd, NULL, 1 },
	[FD_PIDFD] = { open_pidfd, pidfd_why_not, 1 },
};

const char *fdplan_kind_why_not(const struct fdplan *p, const struct fdplan_fd *e)
{
	const struct kind_restore *r = &restore_of[e->k];

	if (!r->open)
		return "no restore knows this kind of fd yet";
	return r->why_not ? r->why_not(p, e) : NULL;
}

/* 0, 1, 2 that led outside the job (DESIGN.md, Restore): where to */
static int stdio_where(struct fdplan_fd *e, const struct fd_attach *at)
{
	int outside = fd_outside_job(e);

	if (e->fd == 0 && at->stdin_path)
		return open(at->stdin_path, O_RDONLY | O_CLOEXEC);
	if (!outside)
		return -2;
	if (e->tty && at->term_fd > 2)
		return fcntl(at->term_fd, F_DUPFD_CLOEXEC, 3);
	if (e->fd > 0 || at->from_file)
		return fcntl(e->fd, F_DUPFD_CLOEXEC, 3);
	if (e->tty) {
		int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);

		if (fd >= 0)
			return fd;
	}
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* The bytes still queued in a stdin pipe from outside the job come
 * first, then what fd 0 is attached to now (rest: ckpt-thaw's stdin,
 * --stdin, or /dev/null): a new pipe, fed by a small child of ckpt-thaw
 * that holds only those two fds and ends at the end of rest. */
static int stdin_feed(struct fdplan *p, const struct fd_blob *b, int rest)
{
	static char buf[1 << 16];
	pid_t pid, parent;
	int pp[2];
	ssize_t n;

	if (pipe2(pp, O_CLOEXEC) < 0)
		return close(rest), -1;
	fflush(NULL);
	parent = getpid();
	if ((pid = fork()) < 0) {
		close(pp[0]);
		close(pp[1]);
		return close(rest), -1;
	}
	if (pid == 0) {
		/* a failed restore, or the end of the job, ends it too */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent || dup2(rest, 0) < 0 || dup2(pp[1], 1) < 0)
			_exit(1);
		syscall(SYS_close_range, 3, ~0U, 0);
		signal(SIGPIPE, SIG_DFL);   /* the program is gone: so are we */
		if (write_all(1, b->bytes, b->len) < 0)
			_exit(1);
		while ((n = read(0, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
			if (n > 0 && write_all(1, buf, n) < 0)
				_exit(1);
		_exit(0);
	}
	close(pp[1]);
	close(rest);
	p->feeder = pid;
	return pp[0];
}

static int stdio_attach(struct fdplan *p, struct fdplan_fd *e, const struct fd_attach *at)
{
	struct fd_blob *b = blob_find(p, e->data);
	int fd = stdio_where(e, at);

	if (fd >= 0 && e->fd == 0 && b && b->len)
		return stdin_feed(p, b, fd);
	return fd;
}


/* share=PID:FD: the very open file made for that fd of an earlier
 * process of the job (same offset, same status flags) */
static int open_shared(struct fdplan *p, const struct fdplan_fd *e, int pid)
{
	const struct fdplan_fd *d = NULL;
	unsigned i;

	for (i = 0; i < p->shared->n && !d; i++)
		if (p->shared->pid[i] == e->share_pid && p->shared->plan[i] != p)
			d = ent_find(p->shared->plan[i], e->share_fd);
	if (!d || d->src < 0 || d->k != e->k ||
	    (e->ino && d->ino && (e->ino != d->ino || e->dev != d->dev))) {
		warn("pid %d: fd %d: share=%d:%d: no such %s fd of a process before it", pid, e->fd,
		     (int)e->share_pid, e->share_fd, e->kind);
		errno = ECANCELED;
		return -1;
	}
	return fcntl(d->src, F_DUPFD_CLOEXEC, 3);
}

/* A pipe (or a socketpair's end) on 0-2 of a process of a job other
 * than its first is one of the job's (its other end in another
 * process, as in a pipeline): one that led outside came from the first
 * process, by share=.  The first process's own stdio pipes led outside. */
static int job_pipe(const struct fdplan *p, const struct fdplan_fd *e)
{
	return (!p->first && (e->k == FD_PIPE || sockplan_in_job(e))) || ptyplan_in_job(p, e);
}

static int ent_open(struct fdplan *p, struct fdplan_fd *e, const struct fd_attach *at, int pid)
{
	struct fdplan_fd *d;
	const char *why;
	int fd = -2;

	if (e->src >= 0)     /* the second end of a socketpair */
		return 0;
	if (e->share_pid)
		fd = open_shared(p, e, pid);
	else if (e->dup >= 0 && (d = ent_find(p, e->dup)) && d->src >= 0)
		fd = fcntl(d->src, F_DUPFD_CLOEXEC, 3);
	else if (e->fd <= 2 && !job_pipe(p, e))
		fd = stdio_attach(p, e, at);
	if (fd == -2 && !job_pipe(p, e) && (why = fd_why_not(p, e))) {
		warn("pid %d: fd %d: %s %s: cannot be restored: %s", pid, e->fd, e->kind,
		     fdplan_fd_name(e), why);
		errno = EOPNOTSUPP;
		return -1;
	}
	if (fd == -2 && !restore_of[e->k].open)
		fd = (errno = EOPNOTSUPP, -1);
	else if (fd == -2)
		fd = restore_of[e->k].open(p, e, pid);
	if (fd < 0 && fd != -2) {
		if (errno == EOPNOTSUPP)
			warn("pid %d: fd %d: %s %s cannot be restored yet", pid, e->fd, e->kind,
			     e->path ? e->path : "");
		return -1;
	}
	if (fd >= 0) {
		e->src = fd;
		if (restore_of[e->k].setfl)
			fcntl(fd, F_SETFL, e->flags & (O_NONBLOCK | O_DIRECT | O_APPEND | O_ASYNC));
	}
	return 0;
}

/* In a child of ckpt-thaw, whose fd numbers are its own to spend:
 * every source moved above the numbers the registrations use, then
 * each watched file put at its number and added under it, as the
 * kernel keys a registration by file and number.  The epoll is one
 * with ckpt-thaw's.  Returns the index of the one that failed (its
 * errno in *err), or -1. */
static int epolls_child(struct fdplan *p, int *err)
{
	struct epoll_event ev;
	int base = 3, i;
	unsigned k;

	for (k = 0; k < p->nep; k++)
		base = p->ep[k].tfd >= base ? p->ep[k].tfd + 1 : base;
	for (k = 0; k < p->n; k++)
		if (p->v[k].src >= 0 && (p->v[k].src = fcntl(p->v[k].src, F_DUPFD, base)) < 0)
			return *err = errno, 0;   /* said as the first one's */
	for (i = 0; i < (int)p->nep; i++) {
		ev.events = p->ep[i].events;
		ev.data.u64 = p->ep[i].data;
		if (dup2(ent_find(p, p->ep[i].file)->src, p->ep[i].tfd) < 0 ||
		    epoll_ctl(ent_find(p, p->ep[i].epfd)->src, EPOLL_CTL_ADD, p->ep[i].tfd, &ev) < 0)
			return *err = errno, i;
	}
	return -1;
}

/* the child's report: the index that failed (-1: none) and its errno */
static int epolls_report(pid_t c, int rd, int *err)
{
	int msg[2] = { 0, EPROTO }, st;

	if (read(rd, msg, sizeof msg) != sizeof msg)
		msg[0] = 0, msg[1] = EPROTO;   /* it died before it could say */
	while (waitpid(c, &st, 0) < 0 && errno == EINTR)
		;
	*err = msg[1];
	return msg[0];
}

static int epolls_add(struct fdplan *p, int pid)
{
	struct fdplan_fd *ep, *t;
	int rep[2], at, err, msg[2];
	unsigned i;
	pid_t c;

	for (i = 0; i < p->nep; i++) {
		ep = ent_find(p, p->ep[i].epfd);
		t = p->ep[i].file >= 0 ? ent_find(p, p->ep[i].file) : NULL;
		if (!ep || !t || ep->src < 0 || t->src < 0)
			return warn("pid %d: epoll %d: fd %d is not there", pid,
				    p->ep[i].epfd, p->ep[i].file), -1;
	}
	if (!p->nep)
		return 0;
	if (pipe2(rep, O_CLOEXEC) < 0)
		return warn("pid %d: epoll registrations: pipe:", pid), -1;
	fflush(NULL);
	if ((c = fork()) == 0) {
		msg[0] = epolls_child(p, &msg[1]);
		_exit(write(rep[1], msg, sizeof msg) == sizeof msg ? 0 : 1);
	}
	close(rep[1]);
	at = c < 0 ? (err = errno, 0) : epolls_report(c, rep[0], &err);
	close(rep[0]);
	if (at < 0)
		return 0;
	errno = err;
	if (c < 0)
		return warn("pid %d: epoll registrations: fork:", pid), -1;
	return warn("pid %d: epoll %d: add fd %d (the file of fd %d):", pid, p->ep[at].epfd,
		    p->ep[at].tfd, p->ep[at].file), -1;
}

/* whether the process maps e's file: the restorer opens and closes a
 * mapped file after exec, which drops the process's POSIX locks on it */
static int file_mapped(const struct fdplan *p, const struct fdplan_fd *e)
{
	const struct memplan *m = p->mem;
	uint64_t dev = e->dev, ino = e->ino;
	unsigned i;

	for (i = 0; m && i < m->nown; i++)
		if (m->own[i].dev == dev && m->own[i].ino == ino)
			dev = m->own[i].ndev, ino = m->own[i].nino;
	for (i = 0; m && i < m->nreg; i++)
		if ((m->reg[i].kind == PLAN_FILE_PRIVATE || m->reg[i].kind == PLAN_FILE_SHARED) &&
		    m->reg[i].dev == dev && m->reg[i].ino == ino)
			return 1;
	return 0;
}

const char *const fdplan_lock_class[] = { "", "POSIX", "flock", "OFD" };

/* Every lock is taken in the new process itself (fdplan_locks), so
 * that /proc/locks names it, not ckpt-thaw, as a flock's owner; here
 * only what can be refused before a process is made */
static int locks_check(struct fdplan *p, int pid)
{
	struct fd_lock *l;
	struct fdplan_fd *e;
	unsigned i;

	for (i = 0; i < p->nlock; i++) {
		l = &p->lock[i];
		if (!(e = ent_find(p, l->fd)) || e->src < 0)
			continue;
		if (l->class == FD_LOCK_POSIX && file_mapped(p, e))
			return warn("pid %d: fd %d: a POSIX lock on %s, a file the process maps, "
				    "cannot be taken again yet", pid, l->fd, e->path), -1;
	}
	return 0;
}

/* whether fd is one the process gets (a lock on another is not ours) */
static int fd_has_src(const struct fdplan *p, int fd)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].fd == fd)
			return p->v[i].src >= 0;
	return 0;
}

int fdplan_locks(const struct fdplan *p, unsigned *bad)
{
	const struct fd_lock *l;
	struct flock fl;
	unsigned i;
	int r;

	for (i = 0; i < p->nlock; i++) {
		l = &p->lock[i];
		if (!fd_has_src(p, l->fd))
			continue;
		fl = (struct flock){ .l_type = l->write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
				     .l_start = l->start, .l_len = l->len };
		*bad = i;
		if (l->class == FD_LOCK_FLOCK)
			r = flock(l->fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else
			r = fcntl(l->fd, l->class == FD_LOCK_OFD ? F_OFD_SETLK : F_SETLK, &fl);
		if (r < 0)
			return -errno;
	}
	return 0;
}

int fdplan_open(struct fdplan *p, int pid, const struct fd_attach *at)
{
	struct fdplan_fd *e;
	unsigned i;

	for (i = 0; i < p->n; i++) {
		e = &p->v[i];
		if (ent_open(p, e, at, pid) < 0) {
			if (errno != EOPNOTSUPP && errno != ECANCELED)
				warn("pid %d: fd %d: %s %s:", pid, e->fd, e->kind, e->path ? e->path : "");
			return -1;
		}
	}
	if (epolls_add(p, pid) < 0)
		return -1;
	return locks_check(p, pid);
}

/* a rule's TRUNCATE=1: what was written after the checkpoint goes,
 * through the fd the job opened for writing (never a path again) */
static int truncate_back(int pid, const struct fdplan_fd *e)
{
	struct stat st;

	if (e->trunc_fd < 0 || fstat(e->trunc_fd, &st) < 0 || st.st_size <= (off_t)e->size)
		return 0;
	if (ftruncate(e->trunc_fd, e->size) < 0)
		return warn("pid %d: fd %d: truncate %s to %llu bytes:", pid, e->fd,
			    e->path, (unsigned long long)e->size), -1;
	return 0;
}

/* The bytes of saved file i on disk before it takes its path: one
 * syncfs per file system, not an fsync per file (each fsync is a
 * journal commit: 1000 files took seconds on a loaded machine). */
static int blob_sync(const struct fdplan *p, unsigned i)
{
	struct stat st, sj;
	unsigned j;

	if (fstat(p->blob[i].fd, &st) < 0)
		return -1;
	for (j = 0; j < i; j++)
		if (p->blob[j].place && fstat(p->blob[j].fd, &sj) == 0 && sj.st_dev == st.st_dev)
			return 0;   /* synced with j's */
	return syncfs(p->blob[i].fd);
}

/* The saved files go in all together or not at all (jobfs_commit);
 * a log is cut back only once they are in, being the one step that
 * cannot be taken back. */
int fdplan_commit(struct fdplan *p, int pid)
{
	unsigned i, n = 0, bad;
	int e, r = 0;

	for (i = 0; i < p->nblob && !r; i++) {
		if (!p->blob[i].place)
			continue;
		if (blob_sync(p, i) < 0) {
			warn("pid %d: the saved contents of %s:", pid, p->blob[i].place);
			r = -1;
		}
		n++;
	}
	if (!r && (n || p->fs.bound || p->fs.deleted) && (e = jobfs_commit(&p->fs, &bad)) < 0) {
		for (i = 0; i < p->nblob; i++)
			if (p->blob[i].place && !bad--)
				break;
		warnerr(e, "pid %d: put the saved contents of %s in place (no file was changed):",
			pid, i < p->nblob ? p->blob[i].place : "?");
		r = -1;
	}
	for (i = 0; i < p->n && !r; i++)
		r = truncate_back(pid, &p->v[i]);
	jobfs_stop(&p->fs);
	return r;
}

static int needed(const struct fdplan *p, const int *keep, int nkeep, int fd)
{
	unsigned i;
	int j;

	for (i = 0; i < p->n; i++)
		if (p->v[i].fd == fd)
			return 1;
	for (j = 0; j < nkeep; j++)
		if (keep[j] == fd)
			return 1;
	return 0;
}

/* every fd up to hi that neither a line nor keep needs, closed: marked
 * first (a scan of the lines per fd took 30 ms with 2000 sockets), or
 * fd by fd when there is no memory for the marks */
static void close_unneeded(const struct fdplan *p, const int *keep, int nkeep, int hi)
{
	char *need = calloc(hi + 1, 1);
	unsigned i;
	int fd;

	for (i = 0; need && i < p->n; i++)
		if (p->v[i].fd >= 0 && p->v[i].fd <= hi)
			need[p->v[i].fd] = 1;
	for (fd = 0; need && fd < nkeep; fd++)
		if (keep[fd] >= 0 && keep[fd] <= hi)
			need[keep[fd]] = 1;
	for (fd = 0; fd <= hi; fd++)
		if (need ? !need[fd] : !needed(p, keep, nkeep, fd))
			close(fd);
	free(need);
}

/* Runs in the new process, a copy of single-threaded ckpt-thaw: first
 * every source goes above every target, so no dup2 hits a source not
 * yet used; then each target; then everything else is closed. */
int fdplan_install(struct fdplan *p, int *keep, int nkeep, int *badfd)
{
	int base = p->maxfd > 2 ? p->maxfd + 1 : 3, hi, j;
	unsigned i;

	for (i = 0; i < p->n; i++)
		base = p->v[i].src >= base ? p->v[i].src + 1 : base;
	for (j = 0; j < nkeep; j++)
		base = keep[j] >= base ? keep[j] + 1 : base;
	hi = base;
	for (i = 0; i < p->n; i++) {
		*badfd = p->v[i].fd;
		if (p->v[i].src < 0)
			continue;
		if ((p->v[i].src = fcntl(p->v[i].src, F_DUPFD, base)) < 0)
			return -errno;
		hi = p->v[i].src > hi ? p->v[i].src : hi;
	}
	for (j = 0; j < nkeep; j++) {
		*badfd = keep[j];
		if ((keep[j] = fcntl(keep[j], F_DUPFD, base)) < 0)
			return -errno;
		hi = keep[j] > hi ? keep[j] : hi;
	}
	for (i = 0; i < p->n; i++) {
		*badfd = p->v[i].fd;
		if (p->v[i].src >= 0 && dup2(p->v[i].src, p->v[i].fd) < 0)
			return -errno;
	}
	close_unneeded(p, keep, nkeep, hi);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
	return 0;
}

int fdplan_rules(struct fdplan *p, int pid, const struct rules *r)
{
	const struct rule *rule;
	struct fdplan_fd *e;
	char to[PATH_MAX], *dup;
	unsigned i;
	int err;

	for (i = 0; i < p->n; i++) {
		e = &p->v[i];
		/* only files reopened by their path: not "pipe:[...]" */
		if (!e->orig || e->orig[0] != '/' || e->data)
			continue;
		rule = rules_match(r, e->orig);
		if (!rule || !rule->restart)
			continue;
		err = rule_restart_path(rule, e->orig, to, sizeof to);
		if (err < 0)
			return warnerr(err, "pid %d: fd %d: %s: restart path of rule line %d:",
				       pid, e->fd, e->orig, rule->line), -1;
		if (!(dup = strdup(to)))
			return warn("out of memory"), -1;
		free(e->path);
		e->path = dup;
	}
	return 0;
}

void fdplan_close_srcs(struct fdplan *p)
{
	unsigned i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].src >= 0)
			close(p->v[i].src), p->v[i].src = -1;
	/* and the files made for saved contents: ckpt-thaw outlives the
	 * job, and a file it keeps open for writing is one the job cannot
	 * execute (ETXTBSY) */
	for (i = 0; i < p->nblob; i++)
		if (p->blob[i].fd >= 0)
			close(p->blob[i].fd), p->blob[i].fd = -1;
}

void fdplan_free(struct fdplan *p)
{
	unsigned i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].sun_own);
		free(p->v[i].sun_peer);
		free(p->v[i].pending);
		free(p->v[i].holes);
		free(p->v[i].path);
		free(p->v[i].orig);
		free(p->v[i].data);
		free(p->v[i].name);
		if (p->v[i].src >= 0)
			close(p->v[i].src);
		if (p->v[i].trunc_fd >= 0)
			close(p->v[i].trunc_fd);
	}
	for (i = 0; i < p->nblob; i++) {
		free(p->blob[i].bytes);
		free(p->blob[i].place);
		if (p->blob[i].fd >= 0)
			close(p->blob[i].fd);
	}
	u64index_free(&p->blobs);
	u64index_free(&p->datas);
	u64index_free(&p->socks);
	free(p->v);
	free(p->ep);
	free(p->lock);
	for (i = 0; i < p->nwatch; i++)
		free(p->watch[i].path);
	free(p->watch);
	free(p->blob);
	jobfs_stop(&p->fs);
	memset(p, 0, sizeof *p);
}
