/* ckpt-dumpfds - the fd table of a frozen process, and the contents of
 * the files the policy keeps, as raw-stream members: proc/PID/fds,
 * files/FD, pipes/INODE, socks/INODE and rules (formats/fds.md).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "args.h"
#include "ctl.h"
#include "err.h"
#include "escape.h"
#include "fdinfo.h"
#include "fdlink.h"
#include "fdshare.h"
#include "inetdump.h"
#include "memberout.h"
#include "num.h"
#include "ptydump.h"
#include "freeze.h"
#include "restorable.h"
#include "rules.h"
#include "sockdump.h"
#include "tar.h"
#include "tcprepair.h"
#include "timing.h"
#include "u64index.h"

#define CHUNK (1 << 20)   /* bytes per pread of a saved file */

static const char usage_str[] =
	"ckpt-dumpfds [--control FD --offset N] [--shared-with PID,... | --shared-table FD] [--checkpoint-open-files] [--files-rules PATH] [--restorable] [--tcp-established PID,... [--tcp-hand FD]] PID";

static const struct option options[] = {
	{ "control", required_argument, NULL, 'c' },
	{ "offset", required_argument, NULL, 'o' },
	{ "checkpoint-open-files", no_argument, NULL, 'a' },
	{ "files-rules", required_argument, NULL, 'r' },
	{ "restorable", no_argument, NULL, 'R' },
	{ "shared-with", required_argument, NULL, 'S' },
	{ "shared-table", required_argument, NULL, 'T' },
	{ "tcp-established", required_argument, NULL, 'E' },
	{ "tcp-hand", required_argument, NULL, 'H' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* one fd of the process as this dump writes it: what it is, and what
 * was decided for it (the reader's twin is fdplan.h's plan entry) */
struct fd_dump {
	struct fd_desc d;
	int dup;            /* lowest fd sharing the open file description */
	struct fd_policy pol;
	int data;           /* fd whose files/ member holds them, else -1 */
	char *pipe_bytes;   /* queued bytes, on the first read end of a
	                     * pipe or the first fd of a unix socket */
	size_t pipe_len;
	int pipe_data;      /* has a pipes/INODE (socks/INODE) member */
	pid_t share_pid;    /* an earlier process of the job has the open */
	int share_fd;       /* file description as its fd share_fd */
	int shared;         /* this fd's description is written earlier:
	                     * share_pid set here or on the fd of dup */
	char *holes;        /* a saved file's holes (holes=), or NULL */
};

struct dump {
	pid_t pid;
	int sock;
	int all_files;      /* --checkpoint-open-files */
	int restorable;     /* --restorable */
	const char *shared_with;  /* --shared-with */
	const char *shared_table; /* --shared-table */
	struct fdshare share;  /* the earlier processes' fds */
	const char *tcp_job;   /* --tcp-established: the job's pids */
	struct fdshare job;    /* ... their fds */
	int tcp_hand;          /* --tcp-hand: ckpt-freeze holds the repaired
	                        * sockets (else we do, until our end) */
	struct rules rules;
	int have_rules;
	struct fd_dump *v;
	size_t n, cap;
	struct u64index ino_first; /* the fds by inode: the first of each, */
	size_t *ino_next;          /* ... and the next (SIZE_MAX: none) */
	struct u64index by_fd;     /* the fds by number + 1, for by_fd_n of them */
	size_t by_fd_n;
	struct tar_out tar;
};

/* Room for the copies of every fd of the process: SCM_RIGHTS fds past
 * our limit are dropped by the kernel (the reply then fails) */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int ent_add(struct dump *d, const struct ckpt_fd_ent *e, int local)
{
	struct fd_dump *v, *x;
	int r;

	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		if (!(v = realloc(d->v, d->cap * sizeof *v)))
			die("pid %d: fd table of %zu fds: out of memory", (int)d->pid, d->n);
		d->v = v;
	}
	x = &d->v[d->n];
	memset(x, 0, sizeof *x);
	x->data = -1;
	r = fd_describe(&x->d, e->fd, local, e->fdflags);
	if (r < 0) {
		warnerr(r, "pid %d fd %d: describe:", (int)d->pid, e->fd);
		close(local);
		return -1;
	}
	if (fd_kind_is_file(x->d.kind) && (r = fd_locks(&x->d, d->pid)) < 0) {
		warnerr(r, "pid %d fd %d: its locks:", (int)d->pid, e->fd);
		free(x->d.sublines);
		close(local);
		return -1;
	}
	d->n++;
	return 0;
}

/* One FDS reply: its entries with the copies, in the same order.  -1
 * when the reply failed (nothing more can come), 1 when an fd could
 * not be described (the others are), 0 */
static int fds_batch(struct dump *d, uint64_t from, int *more, uint64_t *next)
{
	static struct ckpt_fd_ent ents[CKPT_FDS_MAX];
	int rfds[CKPT_FDS_MAX], i, n, bad = 0;
	struct ctl_call c = { .op = CKPT_OP_FDS, .arg = from, .reply = ents,
			      .replen = sizeof ents, .rfds = rfds, .nrfds = CKPT_FDS_MAX };
	int r;

	/* a transport failure leaves rfds and c.nrfds as they went in */
	for (i = 0; i < CKPT_FDS_MAX; i++)
		rfds[i] = -1;
	r = ctl_call(d->sock, &c);
	n = c.replen / sizeof *ents;
	if (r == 0 && (c.replen % sizeof *ents || c.nrfds != n))
		r = -EPROTO;
	if (r < 0) {
		for (i = 0; i < c.nrfds; i++)
			if (rfds[i] >= 0)
				close(rfds[i]);
		if (r == -EPROTO)   /* also fds cut by the kernel: our RLIMIT_NOFILE */
			warn("pid %d: list of open fds from %" PRIu64 ": a bad reply, or more fds than this process may hold (ulimit -n)",
			     (int)d->pid, from);
		else
			warnerr(r, "pid %d: list of open fds from %" PRIu64 ":", (int)d->pid, from);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ent_add(d, &ents[i], rfds[i]) < 0)
			bad = 1;
		*next = (uint64_t)ents[i].fd + 1;
	}
	*more = c.rep.more && n > 0;
	return bad;
}

static int ent_by_fd(const void *a, const void *b)
{
	const struct fd_dump *x = a, *y = b;

	return (x->d.fd > y->d.fd) - (x->d.fd < y->d.fd);
}

/* every fd of the process, described, sorted by number */
static int fds_fetch(struct dump *d)
{
	uint64_t next = 0;
	int more = 1, bad = 0, r;

	while (more) {
		r = fds_batch(d, next, &more, &next);
		if (r < 0)
			return -1;
		bad |= r;
	}
	qsort(d->v, d->n, sizeof *d->v, ent_by_fd);
	return bad ? -1 : 0;
}

static const struct dump *sort_dump;   /* for qsort's comparator */

/* by inode, then by kcmp's order of open file descriptions, then by
 * index: a description has one inode, so kcmp is asked only about fds
 * on the same one (2200 sockets took 24000 kcmp calls sorted by kcmp
 * alone) */
static int ent_by_file(const void *a, const void *b)
{
	const struct fd_dump *v = sort_dump->v;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	const struct stat *sx = &v[x].d.st, *sy = &v[y].d.st;
	int r = (sx->st_dev > sy->st_dev) - (sx->st_dev < sy->st_dev);

	if (!r)
		r = (sx->st_ino > sy->st_ino) - (sx->st_ino < sy->st_ino);
	if (!r)
		r = fd_file_cmp(v[x].d.local, v[y].d.local);
	return r ? r : (x > y) - (x < y);
}

/* fds x and y share one open file description */
static int same_file(const struct dump *d, size_t x, size_t y)
{
	const struct fd_desc *a = &d->v[x].d, *b = &d->v[y].d;

	return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino &&
	       fd_file_cmp(a->local, b->local) == 0;
}

/* dup: the lowest fd sharing each fd's open file description (a dup or
 * an inherited fd).  Sorting by description makes the sharers adjacent
 * without comparing every pair. */
static void dups_find(struct dump *d)
{
	size_t *ix = malloc(d->n * sizeof *ix), i, first = 0;

	if (!ix && d->n)
		die("pid %d: out of memory", (int)d->pid);
	for (i = 0; i < d->n; i++)
		ix[i] = i;
	sort_dump = d;
	qsort(ix, d->n, sizeof *ix, ent_by_file);
	for (i = 0; i < d->n; i++) {
		if (i == 0 || !same_file(d, ix[first], ix[i]))
			first = i;  /* ix is by index within a group: first is lowest */
		d->v[ix[i]].dup = d->v[ix[first]].d.fd;
	}
	free(ix);
}

/* the line of fd (the first one when there is none): through an
 * index by fd made once every fd is read (a scan per question made
 * 2000 fds take 4 million steps) */
static struct fd_dump *ent_of_fd(struct dump *d, int fd)
{
	size_t i;
	int k;

	if (d->by_fd_n != d->n) {
		u64index_free(&d->by_fd);
		for (i = d->n; i-- > 0;)   /* backwards: the first one stays */
			if (u64index_put(&d->by_fd, (uint64_t)d->v[i].d.fd + 1, i) < 0)
				die("pid %d: out of memory", (int)d->pid);
		d->by_fd_n = d->n;
	}
	k = fd >= 0 ? u64index_get(&d->by_fd, (uint64_t)fd + 1) : -1;
	return &d->v[k >= 0 ? (size_t)k : 0];
}

/* A file unlinked while open whose inode has other links is that
 * file: written as the "file" found under another name beside the old
 * one, so a restore reopens it there (writes reach the other names);
 * one not found keeps "deleted" with nlink=N, which a restore refuses
 * rather than make a copy (formats/fds.md) */
static void deleted_links(struct dump *d)
{
	static char found[PATH_MAX], esc[4 * PATH_MAX + 1];
	struct fd_desc *x;
	size_t i, n;

	for (i = 0; i < d->n; i++) {
		x = &d->v[i].d;
		/* a share= line too: its kind must be the earlier line's */
		if (x->kind != FD_DELETED || x->st.st_nlink == 0)
			continue;
		n = strlen(x->extra);
		if (fdlink_find(d->pid, x->path, x->st.st_dev, x->st.st_ino, x->flags,
				found, sizeof found) < 0) {
			snprintf(x->extra + n, sizeof x->extra - n, " nlink=%u",
				 (unsigned)x->st.st_nlink);
			continue;
		}
		if (str_escape(x->path, esc, sizeof esc) == 0 && strlen(esc) + 11 < sizeof x->extra - n)
			snprintf(x->extra + n, sizeof x->extra - n, " unlinked=%s", esc);
		snprintf(x->path, sizeof x->path, "%s", found);
		x->kind = FD_FILE;
	}
}

/* what sublines_edit does with one line (without its newline): write
 * it to f as it is to be; arg is the caller's */
typedef void sublines_fn(const struct dump *d, const struct fd_dump *e, const char *line,
			 size_t len, FILE *f, void *arg);

/* each line of the sublines of every fd of kind k (whose description is
 * written here) passed through fn, in place */
static void sublines_edit(struct dump *d, enum fd_kind k, sublines_fn *fn, void *arg,
			  size_t argsize)
{
	struct fd_dump *e;
	char *out, *line, *next;
	size_t i, len;
	FILE *f;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if (e->d.kind != k || e->shared || !e->d.sublines)
			continue;
		out = NULL;
		if (!(f = open_memstream(&out, &len)))
			die("pid %d: out of memory", (int)d->pid);
		memset(arg, 0, argsize);   /* each fd's lines start afresh */
		for (line = e->d.sublines; *line; line = next) {
			next = strchr(line, '\n');
			next = next ? next + 1 : line + strlen(line);
			fn(d, e, line, next - line - (next[-1] == '\n'), f, arg);
			fputc('\n', f);
		}
		if (fclose(f) != 0)
			die("pid %d: out of memory", (int)d->pid);
		free(e->d.sublines);
		e->d.sublines = out;
	}
}

/* the watches of one inotify fd, with the paths found for them */
struct watches {
	struct fdlink_watch *q;
	size_t n, at;
	int looked;
};

/* the inode a watch line names: 0, or -1 when it is not one */
static int watch_inode(const char *line, dev_t *dev, ino_t *ino)
{
	unsigned long long i;
	unsigned maj, min;

	if (sscanf(line, "inotify %*d wd=%*u ino=%llu dev=%u:%u", &i, &maj, &min) != 3)
		return -1;
	*dev = makedev(maj, min);
	*ino = i;
	return 0;
}

static void watches_free(struct watches *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		free(w->q[i].path);
	free(w->q);
	w->q = NULL;
	w->n = 0;
}

/* Every "inotify" line of the fd, looked up at once (one child as the
 * job's user): a restore adds each watch again by a path to what it
 * watches, which fdinfo does not give */
static void watches_find(const struct dump *d, const struct fd_dump *e, struct watches *w)
{
	const char *line, *h, *nl;
	dev_t dev;
	ino_t ino;

	for (line = e->d.sublines; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (watch_inode(line, &dev, &ino) < 0)
			continue;
		if (!(w->q = realloc(w->q, (w->n + 1) * sizeof *w->q)))
			die("pid %d: out of memory", (int)d->pid);
		w->q[w->n] = (struct fdlink_watch){ .dev = dev, .ino = ino };
		if ((h = strstr(line, " fhandle=")) && (!nl || h < nl))
			sscanf(h + 9, "%299s", w->q[w->n].handle);
		w->n++;
	}
	if (w->n && fdlink_watched(d->pid, w->q, w->n) < 0)
		watches_free(w);   /* then no watch has a path */
}

/* one "inotify" line, with path= when one was found (watches_find,
 * in the same order) */
static void inotify_line(const struct dump *d, const struct fd_dump *e, const char *line,
			 size_t len, FILE *f, void *arg)
{
	static char esc[4 * PATH_MAX + 1];
	struct watches *w = arg;
	dev_t dev;
	ino_t ino;
	size_t i;

	if (!w->looked) {
		watches_find(d, e, w);
		w->looked = 1;
	}
	fwrite(line, 1, len, f);
	if (watch_inode(line, &dev, &ino) < 0 || (i = w->at++) >= w->n)
		return;
	if (w->q[i].path && str_escape(w->q[i].path, esc, sizeof esc) == 0)
		fprintf(f, " path=%s", esc);
	if (w->at == w->n)
		watches_free(w);
}

/* the fd of the process whose open file description the toff-th
 * registration under number tfd of epoll ep watches: tfd itself when
 * it still is that file (or when kcmp cannot tell: a kernel without
 * it), else the lowest that is, else -1 */
static int epoll_target(const struct dump *d, const struct fd_dump *ep, int tfd, int toff)
{
	size_t i;
	int r;

	for (i = 0; i < d->n; i++)
		if (d->v[i].d.fd == tfd &&
		    ((r = fd_epoll_watches(ep->d.local, tfd, toff, d->v[i].d.local)) == 1 ||
		     r == -ENOSYS || r == -EPERM))
			return tfd;
	for (i = 0; i < d->n; i++)
		if (&d->v[i] != ep && fd_epoll_watches(ep->d.local, tfd, toff, d->v[i].d.local) == 1)
			return d->v[i].d.fd;
	return -1;
}

struct epoll_seen {            /* the numbers of an epoll's lines so far */
	int tfd[4096];
	int n;
};

/* one "epoll" line, with file=FD when its number no longer names its
 * file (epoll_target) */
static void epoll_line(const struct dump *d, const struct fd_dump *e, const char *line,
		       size_t len, FILE *f, void *arg)
{
	struct epoll_seen *seen = arg;
	int tfd, toff = 0, k, t;

	fwrite(line, 1, len, f);
	if (sscanf(line, "epoll %*d %d", &tfd) != 1)
		return;
	/* the kernel counts registrations under one number in the order
	 * fdinfo lists them */
	for (k = 0; k < seen->n && k < 4096; k++)
		toff += seen->tfd[k] == tfd;
	if (seen->n < 4096)
		seen->tfd[seen->n] = tfd;
	seen->n++;
	if ((t = epoll_target(d, e, tfd, toff)) != tfd)
		fprintf(f, " file=%d", t);
}

/* A restore adds each inotify watch again by a path to what it
 * watches, which fdinfo does not give: looked for now.  An epoll keys
 * each registration by the file and the fd number it was added under,
 * which may since have been closed or given to another file: each
 * "epoll" line whose number no longer names its file gets file=FD, the
 * fd that holds it now (-1: none does).  (formats/fds.md) */
static void sublines_resolve(struct dump *d)
{
	static struct epoll_seen seen;
	struct watches w;

	sublines_edit(d, FD_EPOLL, epoll_line, &seen, sizeof seen);
	sublines_edit(d, FD_INOTIFY, inotify_line, &w, sizeof w);
}

/* What this process shares with the processes before it in the job's
 * stream (--shared-with; formats/fds.md, "Shared between processes"):
 * the lowest fd of each open file description that an earlier process
 * holds becomes a share line.  -1 after a message for what cannot be
 * written yet: a POSIX lock taken through a shared description. */
static int shares_find(struct dump *d)
{
	const struct fdshare_ent *s;
	struct fd_dump *e;
	size_t i;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if (e->dup != e->d.fd ||
		    !(s = fdshare_same(&d->share, e->d.local, e->d.st.st_dev, e->d.st.st_ino)))
			continue;
		if (e->d.sublines && strstr(e->d.sublines, " class=posix ")) {
			warn("pid %d fd %d: %s: a POSIX lock of this process on a file description it shares with pid %d (fd %d): not written yet: refused",
			     (int)d->pid, e->d.fd, e->d.path, (int)s->pid, s->fd);
			return -1;
		}
		e->share_pid = s->pid;
		e->share_fd = s->fd;
	}
	/* the other fds of a shared description: dup of its lowest */
	for (i = 0; i < d->n; i++)
		d->v[i].shared = d->v[i].share_pid || ent_of_fd(d, d->v[i].dup)->share_pid;
	return 0;
}

/* an fd of an earlier process on the same inode through another open
 * file description would save the file's contents (formats/fds.md):
 * its writer would keep them as policy c does, or it is unlinked */
static int other_saves(const struct dump *d, const struct fdshare_ent *o, const struct fd_dump *e)
{
	return d->all_files || e->d.st.st_nlink == 0 ||
	       ((o->flags & O_ACCMODE) != O_RDONLY && !(o->flags & O_APPEND));
}

/* What two processes of the job hold that a stream cannot describe yet
 * is refused, naming both (formats/fds.md): a saved file opened
 * separately by two of them (its contents would be written back
 * twice). */
static int shares_refuse(const struct dump *d)
{
	const struct fdshare_ent *o;
	const struct fd_dump *e;
	size_t i;
	int bad = 0;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if (e->shared)
			continue;
		if (fd_kind_is_file(e->d.kind) &&
		    (o = fdshare_other(&d->share, e->d.local, e->d.st.st_dev, e->d.st.st_ino)) &&
		    (e->data >= 0 || other_saves(d, o, e))) {
			warn("pid %d fd %d: %s: opened apart from pid %d (fd %d), and its contents are saved: two processes' opens of one saved file cannot be written yet: refused",
			     (int)d->pid, e->d.fd, e->d.path, (int)o->pid, o->fd);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* the policy of each fd; a rule's restart path that cannot be made
 * (too long) fails the dump */
static void policies_decide(struct dump *d)
{
	struct fd_dump *e;
	size_t i;
	int r;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if (e->shared)
			continue;  /* the earlier process's line decides */
		r = policy_decide(&e->d, d->have_rules ? &d->rules : NULL, d->all_files, &e->pol);
		if (r < 0)
			dieerr(r, "pid %d fd %d: %s: restart path of %s:", (int)d->pid,
			       e->d.fd, e->d.path, e->pol.name);
	}
}

static int same_inode(const struct fd_desc *a, const struct fd_desc *b)
{
	return a->st.st_dev == b->st.st_dev && a->st.st_ino == b->st.st_ino;
}

/* An inode is saved once, in files/FD of the lowest fd whose policy
 * saves it, and every fd open on it points there */
static void data_assign(struct dump *d)
{
	size_t i, j;

	for (i = 0; i < d->n; i++) {
		if (!d->v[i].pol.save || d->v[i].data >= 0)
			continue;
		for (j = 0; j < d->n; j++)
			if (fd_kind_is_file(d->v[j].d.kind) && !d->v[j].shared &&
			    same_inode(&d->v[i].d, &d->v[j].d))
				d->v[j].data = d->v[i].d.fd;
	}
}

/* The holes of each saved file, so that it comes back sparse as it
 * was, on every fd line that names its data (formats/fds.md): read on
 * a new open of it, since SEEK_HOLE moves the offset, which is the
 * process's on its own fd */
static void holes_find(struct dump *d)
{
	char proc[64];
	size_t i, j;
	int rd;

	for (i = 0; i < d->n; i++) {
		if (d->v[i].data != d->v[i].d.fd)
			continue;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", d->v[i].d.local);
		if ((rd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
			continue;   /* then written without its holes */
		d->v[i].holes = file_holes(rd, d->v[i].d.st.st_size);
		close(rd);
		for (j = 0; j < d->n && d->v[i].holes; j++)
			if (j != i && d->v[j].data == d->v[i].d.fd &&
			    !(d->v[j].holes = strdup(d->v[i].holes)))
				die("pid %d: out of memory", (int)d->pid);
	}
}

/* The fds by inode, once every fd is read: a scan of them all per
 * queue made a process of 2000 sockets take 4 million steps.  The
 * first fd on inode ino, or SIZE_MAX; then d->ino_next[j]. */
static size_t ino_first(struct dump *d, uint64_t ino)
{
	size_t i;
	int k;

	if (!d->ino_next) {
		if (!(d->ino_next = malloc((d->n ? d->n : 1) * sizeof *d->ino_next)))
			die("pid %d: out of memory", (int)d->pid);
		for (i = d->n; i-- > 0;) {
			k = u64index_get(&d->ino_first, d->v[i].d.st.st_ino);
			d->ino_next[i] = k < 0 ? SIZE_MAX : (size_t)k;
			if (u64index_put(&d->ino_first, d->v[i].d.st.st_ino, i) < 0)
				die("pid %d: out of memory", (int)d->pid);
		}
	}
	k = u64index_get(&d->ino_first, ino);
	return k < 0 ? SIZE_MAX : (size_t)k;
}

/* e's queued bytes are saved: every fd on its pipe or socket (same
 * inode; a pipe's and a socket's never meet) says where */
static void queue_mark(struct dump *d, const struct fd_dump *e)
{
	enum fd_kind k;
	size_t j;

	for (j = ino_first(d, e->d.st.st_ino); j != SIZE_MAX; j = d->ino_next[j]) {
		k = d->v[j].d.kind;
		if ((k == FD_PIPE || k == FD_FIFO || k == FD_SOCKET) && !d->v[j].shared &&
		    same_inode(&e->d, &d->v[j].d))
			d->v[j].pipe_data = 1;
	}
}

/* The bytes queued in each pipe this process reads from, once per
 * pipe: a pipe only written here is drained by someone else, who saves
 * it if it is in the job */
static int pipes_peek(struct dump *d)
{
	struct fd_dump *e;
	size_t i;
	int err;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if ((e->d.kind != FD_PIPE && e->d.kind != FD_FIFO) ||
		    (e->d.flags & O_ACCMODE) == O_WRONLY || e->pipe_data || e->shared ||
		    fdshare_inode(&d->share, e->d.st.st_dev, e->d.st.st_ino, 1))
			continue;  /* saved once, by the first reader in the stream */
		e->pipe_bytes = pipe_peek(e->d.local, &e->pipe_len, &err);
		if (err < 0) {
			warnerr(err, "pid %d fd %d: pipe %llu: copying its buffered bytes:",
				(int)d->pid, e->d.fd, (unsigned long long)e->d.st.st_ino);
			return -1;
		}
		if (e->pipe_bytes)
			queue_mark(d, e);
	}
	return 0;
}

/* a unix socket whose peer is an fd of this process too: the pair a
 * restore remakes, and whose queues it refills */
static int sock_pair_here(struct dump *d, const struct fd_dump *e)
{
	uint64_t peer = sock_unix_peer(&e->d);
	size_t j;

	if (!peer)
		return 0;
	for (j = ino_first(d, peer); j != SIZE_MAX; j = d->ino_next[j])
		if (d->v[j].d.kind == FD_SOCKET && d->v[j].d.st.st_ino == peer)
			return 1;
	return 0;
}

/* --tcp-established: an established or half-closed TCP connection whose other end no
 * process of the job holds (a socket of another program of this
 * machine, or of another machine) is saved whole with TCP_REPAIR
 * (lib/tcprepair.h); one with both ends in the job is made again on
 * loopback as without it */
static int tcp_repair_wanted(const struct dump *d, const struct fd_dump *e)
{
	uint64_t peer;

	/* a dup of it is made by dup(2) at the restore: its lowest fd only */
	if (!d->tcp_job || e->d.kind != FD_SOCKET || e->dup != e->d.fd ||
	    !strstr(e->d.extra, " type=stream ") ||
	    (!strstr(e->d.extra, " state=established ") && !strstr(e->d.extra, " state=close_wait ") &&
	     !strstr(e->d.extra, " state=fin_wait1 ") && !strstr(e->d.extra, " state=fin_wait2 ")) ||
	    (!strstr(e->d.extra, " domain=inet ") && !strstr(e->d.extra, " domain=inet6 ")))
		return 0;
	peer = inet_tcp_peer(&e->d);
	return !peer || !fdshare_inode(&d->job, e->d.st.st_dev, peer, 0);
}

/* e's connection in repair mode, handed to ckpt-freeze at once (or held
 * here), its state and queues read: its keys and its bytes (receive
 * queue, then send queue) in socks/INODE.  0, or -1 after a message. */
static int tcp_repair_save(struct dump *d, struct fd_dump *e)
{
	static char keys[512];
	struct tcp_rep rep;
	const char *what = "repair mode (TCP_REPAIR)";
	socklen_t sl = sizeof(int);
	int fd = e->d.local, reuse = 0, r, dup;

	getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &reuse, &sl);   /* before repair forces it */
	if ((r = tcprep_enter(fd)) == 0 && (r = tcprep_lock(fd)) < 0) {
		what = "a filter dropping what comes meanwhile (SO_ATTACH_FILTER)";
		tcprep_leave(fd, reuse);
	} else if (r == 0) {
		what = "keeping it in repair mode until the job thaws or dies";
		if (d->tcp_hand >= 0) {
			r = tcprep_hand(d->tcp_hand, fd, reuse);
		} else if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0 || tcprep_hold(dup, reuse, NULL, 0, 0) < 0) {
			r = dup < 0 ? -errno : -ENOMEM;
			if (dup >= 0)
				close(dup);
		}
		if (r < 0)
			tcprep_leave(fd, reuse);
	}
	if (r == 0)
		r = tcprep_read(fd, &rep, &e->pipe_bytes, &e->pipe_len, &what);
	if (r < 0) {
		warn("pid %d fd %d: TCP connection %llu (--tcp-established): %s: %s", (int)d->pid,
		     e->d.fd, (unsigned long long)e->d.st.st_ino, what, tcprep_why(r));
		return -1;
	}
	tcprep_keys(&rep, keys, sizeof keys);
	extra_add(&e->d, "%s", keys);
	return 0;
}

/* The bytes queued to each end of a socketpair, once per socket (with
 * the first process of the job that holds it), left in place.  fds in
 * flight (SCM_RIGHTS) would be lost: refused here, before --kill could
 * end the program.  The same for a TCP connection whose other end is
 * on this machine (inetdump.h). */
static int socks_peek(struct dump *d)
{
	struct fd_dump *e;
	size_t i;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if (e->pipe_data || e->shared)
			continue;
		if (tcp_repair_wanted(d, e)) {
			if (tcp_repair_save(d, e) < 0)
				return -1;
		} else if (inet_queue_saved(&e->d)) {
			if (inet_queue_copy(d->pid, &e->d, &e->pipe_bytes, &e->pipe_len) < 0)
				return -1;
		} else if (!sock_queue_saved(&e->d, sock_pair_here(d, e), !d->share.n)) {
			continue;
		} else if (sock_queue_copy(d->pid, &e->d, &e->pipe_bytes, &e->pipe_len) < 0)
			return -1;
		if (e->pipe_bytes)
			queue_mark(d, e);
	}
	return 0;
}

/* The bytes queued in each pseudo-terminal pair whose master is here
 * (ptydump.h), with the process that holds the master first */
static int ptys_peek(struct dump *d)
{
	struct fd_dump *e;
	size_t i;
	int err;

	for (i = 0; i < d->n; i++) {
		e = &d->v[i];
		if (e->d.kind != FD_PTMX || e->d.pty < 0 || e->dup != e->d.fd || e->shared)
			continue;
		e->pipe_bytes = pty_queue_copy(&e->d, &e->pipe_len, &err);
		if (err < 0) {
			warnerr(err, "pid %d fd %d: pty %d: copying its queued bytes:", (int)d->pid,
				e->d.fd, e->d.pty);
			return -1;
		}
		e->pipe_data = !!e->pipe_bytes;
	}
	return 0;
}

/* the slave that is the process's controlling terminal, and the
 * terminal's foreground group: ctty=1 fg=PGID (formats/fds.md) */
static void ptys_ctty(struct dump *d)
{
	dev_t tty;
	pid_t fg;
	size_t i;

	if (pty_ctty_of(d->pid, &tty, &fg) < 0)
		return;
	for (i = 0; i < d->n; i++)
		if (d->v[i].d.kind == FD_PTS && d->v[i].d.st.st_rdev == tty)
			extra_add(&d->v[i].d, " ctty=1 fg=%d", (int)fg);
}

/* the member a pipe's, socket's or pty's queued bytes go to */
static const char *queue_dir(const struct fd_desc *x, unsigned long long *n)
{
	*n = x->kind == FD_PTMX ? (unsigned long long)x->pty : (unsigned long long)x->st.st_ino;
	return x->kind == FD_SOCKET ? "socks" : x->kind == FD_PTMX ? "ptys" : "pipes";
}

static void esc_or_die(const struct dump *d, const struct fd_dump *e, const char *s,
		       char *out, size_t cap)
{
	if (str_escape(s, out, cap) < 0)
		die("pid %d fd %d: path too long to escape", (int)d->pid, e->d.fd);
}

/* one "fd" line (formats/fds.md), then the kind's own lines */
static void fd_line(const struct dump *d, const struct fd_dump *e, FILE *f)
{
	static char esc[4 * PATH_MAX + 1];
	const struct fd_desc *x = &e->d;

	fprintf(f, "fd %d %s cloexec=%d flags=0%o pos=%lld mnt=%d dev=%u:%u ino=%llu mode=0%o%s",
		x->fd, fd_kind_name(x->kind), x->cloexec, (unsigned)x->flags,
		(long long)x->pos, x->mnt_id, major(x->st.st_dev), minor(x->st.st_dev),
		(unsigned long long)x->st.st_ino, (unsigned)x->st.st_mode, x->extra);
	if (e->share_pid) {
		/* the description is the earlier line's: nothing of it here */
		esc_or_die(d, e, x->path, esc, sizeof esc);
		fprintf(f, " share=%d:%d path=%s\n", (int)e->share_pid, e->share_fd, esc);
		return;
	}
	if (e->dup != x->fd)
		fprintf(f, " dup=%d", e->dup);
	if (e->pol.name[0])
		fprintf(f, " policy=%s", e->pol.name);
	if (e->data >= 0)
		fprintf(f, " data=files/%d", e->data);
	if (e->holes)
		fprintf(f, " holes=%s", e->holes);
	if (e->pipe_data) {
		unsigned long long n;
		const char *dir = queue_dir(x, &n);

		fprintf(f, " data=%s/%llu", dir, n);
	}
	if (e->pol.truncate)
		fputs(" truncate=1", f);
	if (e->pol.restart) {
		esc_or_die(d, e, e->pol.restart, esc, sizeof esc);
		fprintf(f, " restart=%s", esc);
	}
	esc_or_die(d, e, x->path, esc, sizeof esc);
	fprintf(f, " path=%s\n", esc);
	if (x->sublines && !e->shared)
		fputs(x->sublines, f);
}

static void member_name(const struct dump *d, char *buf, size_t len,
			const char *what, unsigned long long n)
{
	if (n == (unsigned long long)-1)
		snprintf(buf, len, "proc/%d/%s", (int)d->pid, what);
	else
		snprintf(buf, len, "proc/%d/%s/%llu", (int)d->pid, what, n);
}

/* --restorable: the fds member read back and judged as ckpt-thaw
 * would; -1 after naming each fd a restore could not make */
static int fds_check(const struct dump *d, const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	int r;

	if (!copy)
		die("pid %d: fds text: out of memory", (int)d->pid);
	memcpy(copy, text, len);
	copy[len] = 0;
	r = fds_restorable(d->pid, copy);
	free(copy);
	if (r > 0)
		warn("pid %d: a restore could not bring these back: refused (ckpt-freeze --kill --force kills even so)",
		     (int)d->pid);
	return r == 0 ? 0 : -1;
}

static int fds_write(struct dump *d)
{
	struct member m;
	FILE *f = member_open(&m, "proc/%d/fds", (int)d->pid);
	char *text;
	size_t len, i;

	for (i = 0; i < d->n; i++)
		fd_line(d, &d->v[i], f);
	text = member_text(&m, &len);
	if (d->restorable && fds_check(d, text, len) < 0) {
		member_drop(&m);
		return -1;
	}
	return member_close(&m, &d->tar);
}

/* the whole file as fstat saw it, by pread: the shared offset stays */
static int file_copy(struct dump *d, const struct fd_desc *x, int rd, const char *name)
{
	static char buf[CHUNK];
	uint64_t size = x->st.st_size, off = 0;
	ssize_t n;
	int r = tar_begin(&d->tar, name, size);

	while (r == 0 && off < size) {
		n = pread(rd, buf, size - off < CHUNK ? size - off : CHUNK, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			warn("pid %d fd %d: %s: read at %" PRIu64 ":", (int)d->pid, x->fd, x->path, off);
			return -1;   /* the member is cut short: the stream is bad */
		}
		if (n == 0) {
			/* shrunk since fstat (another process): zeros keep the
			 * member the size its header says */
			warn("pid %d fd %d: %s: shrank to %" PRIu64 " bytes while saved; padded with zeros",
			     (int)d->pid, x->fd, x->path, off);
			n = size - off < CHUNK ? size - off : CHUNK;
			memset(buf, 0, n);
		}
		r = tar_data(&d->tar, buf, n);
		off += n;
	}
	if (r == 0)
		r = tar_end_member(&d->tar, size);
	if (r < 0)
		warnerr(r, "stdout: %s:", name);
	return r;
}

static int files_write(struct dump *d)
{
	const struct fd_desc *x;
	char name[64];
	size_t i;
	int rd, r;

	for (i = 0; i < d->n; i++) {
		x = &d->v[i].d;
		if (d->v[i].data != x->fd)
			continue;
		if ((rd = fd_reader(x)) < 0) {
			warnerr(rd, "pid %d fd %d: %s: open for reading:", (int)d->pid, x->fd, x->path);
			return -1;
		}
		member_name(d, name, sizeof name, "files", x->fd);
		r = file_copy(d, x, rd, name);
		if (rd != x->local)
			close(rd);
		if (r < 0)
			return -1;
	}
	return 0;
}

static int pipes_write(struct dump *d)
{
	unsigned long long n;
	const char *dir;
	char name[64];
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (!d->v[i].pipe_bytes)
			continue;
		dir = queue_dir(&d->v[i].d, &n);
		member_name(d, name, sizeof name, dir, n);
		if (member_put(&d->tar, name, d->v[i].pipe_bytes, d->v[i].pipe_len) < 0)
			return -1;
	}
	return 0;
}

static int rules_write(struct dump *d)
{
	char name[64];

	if (!d->have_rules)
		return 0;
	member_name(d, name, sizeof name, "rules", -1);
	return member_put(&d->tar, name, d->rules.text, d->rules.len);
}

/* CKPT_TIMING: r, after one part of dump_fds took since *t0 */
static int part(const char *what, uint64_t *t0, int r)
{
	uint64_t now = timing_ns();

	timing_part(what, now - *t0, "");
	*t0 = now;
	return r;
}

/* the stage proper: everything is read and decided before the first
 * byte goes out, so a failure leaves stdout untouched */
static int dump_fds(struct dump *d)
{
	uint64_t t0 = timing_ns();
	int r;

	if (part("fds, described", &t0, fds_fetch(d)) < 0)
		return -1;
	ptys_ctty(d);
	dups_find(d);
	if (part("dups, shares", &t0, shares_find(d)) < 0)
		return -1;
	sublines_resolve(d);
	deleted_links(d);
	policies_decide(d);
	data_assign(d);
	holes_find(d);
	if (part("policies", &t0, shares_refuse(d)) < 0)
		return -1;
	if (pipes_peek(d) < 0 || socks_peek(d) < 0 || ptys_peek(d) < 0)
		return -1;
	part("queues peeked", &t0, 0);
	if (fds_write(d) < 0 || files_write(d) < 0 || pipes_write(d) < 0 || rules_write(d) < 0)
		return -1;
	if ((r = tar_flush(&d->tar)) < 0)
		return warnerr(r, "stdout:"), -1;
	part("members written", &t0, 0);
	return 0;
}

/* the copies and buffers; LeakSanitizer checks that none is forgotten */
static void dump_free(struct dump *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		close(d->v[i].d.local);
		free(d->v[i].d.sublines);
		free(d->v[i].pol.restart);
		free(d->v[i].pipe_bytes);
		free(d->v[i].holes);
	}
	u64index_free(&d->ino_first);
	u64index_free(&d->by_fd);
	free(d->ino_next);
	free(d->v);
	fdshare_free(&d->share);
	fdshare_free(&d->job);
	tar_buffer_end(&d->tar);   /* flushed by dump_fds, or never written */
	if (d->have_rules)
		rules_free(&d->rules);
}


/* the rules file: --files-rules, else $CKPT_FILES_DATA */
static void rules_init(struct dump *d, const char *path)
{
	if (!(path = rules_path(path)))
		return;
	if (rules_load(&d->rules, path) < 0)
		exit(1);
	d->have_rules = 1;
}

/* the fds of the processes before this one: read from the kernel
 * (--shared-with), or as ckpt-freeze read them (--shared-table) */
static int shares_load(struct dump *d)
{
	uint64_t fd;

	if (d->shared_with)
		return fdshare_load(&d->share, d->shared_with);
	if (!d->shared_table)
		return 0;
	if (num_parse(d->shared_table, 1 << 20, &fd) < 0) {
		warn("--shared-table %s: not an fd number", d->shared_table);
		return -1;
	}
	return fdshare_read(&d->share, fd);
}

/* --tcp-established: the job's fds (a connection's other end among
 * them is in the job), as the kernel has them now; TCP_REPAIR allowed */
static int tcp_job_load(struct dump *d)
{
	int r;

	if (!d->tcp_job)
		return 0;
	if ((r = tcprep_can()) < 0) {
		warn("pid %d: --tcp-established: %s", (int)d->pid, tcprep_why(r));
		return -1;
	}
	return fdshare_load(&d->job, d->tcp_job);
}

/* the options: into d, and where the control fd, the offset and the
 * rules come from; exits on --help or a bad one */
static void parse(int argc, char **argv, struct dump *d, const char **control,
		  uint64_t *offset, const char **rules_path)
{
	int c, have_offset = 0;

	while ((c = getopt_long(argc, argv, "ar:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': *control = optarg; break;
		case 'o': *offset = offset_arg(optarg, usage_str); have_offset = 1; break;
		case 'a': d->all_files = 1; break;
		case 'r': *rules_path = optarg; break;
		case 'R': d->restorable = 1; break;
		case 'S': d->shared_with = optarg; break;
		case 'T': d->shared_table = optarg; break;
		case 'E': d->tcp_job = optarg; break;
		case 'H': d->tcp_hand = num_arg(optarg, 0, 1 << 20, usage_str); break;
		case 'h': printf("usage: %s\n", usage_str); exit(0);
		default: usage_die(usage_str);
		}
	}
	if (optind != argc - 1)
		usage_die(usage_str);
	if (d->shared_with && d->shared_table) {
		warn("--shared-with and --shared-table: one or the other");
		usage_die(usage_str);
	}
	if (d->tcp_hand >= 0 && !d->tcp_job) {
		warn("--tcp-hand: only with --tcp-established");
		usage_die(usage_str);
	}
	if (have_offset && !*control) {
		warn("--offset: only with --control");
		usage_die(usage_str);
	}
	d->pid = pid_arg(argv[optind], usage_str);
}

int main(int argc, char **argv)
{
	struct dump d = { .tcp_hand = -1 };
	const char *control = NULL, *rules_path = NULL;
	uint64_t offset = 0;
	int r;

	prog_init(argv);
	parse(argc, argv, &d, &control, &offset, &rules_path);
	stdout_check();
	rules_init(&d, rules_path);
	nofile_raise();
	d.sock = control ? control_fd_parse(control) : freeze_open(d.pid, 0);
	if (d.sock < 0)
		return 1;
	if (shares_load(&d) < 0 || tcp_job_load(&d) < 0) {
		r = -1;
	} else {
		tar_init(&d.tar, 1, offset);
		tar_buffer(&d.tar, 1 << 16);   /* 2000 sockets' queues: small members */
		r = dump_fds(&d);
	}
	/* alone, the repaired connections go on before the thaw */
	if (tcprep_release(0) < 0)
		r = -1;
	dump_free(&d);
	if (control)
		return r < 0;
	/* alone: end the archive, and thaw only once the reader has it */
	if (r == 0)
		r = stream_out_end(&d.tar);
	if (freeze_thaw(d.sock, d.pid) < 0)
		r = -1;
	return r < 0;
}
