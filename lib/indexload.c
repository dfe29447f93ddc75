/* indexload.c - an increment's parent, read once before the freeze
 * (indexload.h, formats/index.md) */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coreread.h"
#include "err.h"
#include "index.h"
#include "indexload.h"
#include "io.h"
#include "num.h"
#include "selfdir.h"
#include "tarread.h"

#define CHUNK (1 << 20)

struct loader {
	const char *path;
	struct tar_in tar;
	int fd;                    /* the file, or ckpt-unpack's stdout */
	int direct;                /* fd is the file: a raw stream (packed 0) */
	struct img_manifest man;
	int table;                 /* the memfd the table goes to (index.h) */
	char *v;                   /* it, mapped: runs and hashes */
	size_t len, cap;           /* bytes */
	struct index_proc *dir;    /* the directory, one entry a process */
	size_t ndir, capdir;
	int unsorted;              /* a process came after one of a higher pid */
	pid_t pid;                 /* the process of the members now */
	int indexed;               /* it had an index member */
	struct run_list runs;      /* its index's runs, else its pagemap's */
};

/* room for more bytes at the end of the table: the memfd grown and
 * mapped again (hashes go straight there: no copy) */
static void table_room(struct loader *l, size_t more)
{
	size_t cap = l->cap ? l->cap : 65536;
	void *p;

	if (l->len + more <= l->cap)
		return;
	while (cap < l->len + more)
		cap *= 2;
	if (ftruncate(l->table, cap) < 0)
		die("--parent %s: the table:", l->path);
	p = l->cap ? mremap(l->v, l->cap, cap, MREMAP_MAYMOVE) :
		     mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_SHARED, l->table, 0);
	if (p == MAP_FAILED)
		die("--parent %s: the table:", l->path);
	l->v = p;
	l->cap = cap;
}

/* A process's part of the table begun: its runs written, its entry
 * made, room for its hashes (npage of them, at the entry's hash_at) */
static struct index_proc *proc_begin(struct loader *l, uint64_t npage)
{
	struct index_proc *e;
	size_t i;

	if (l->ndir == l->capdir) {
		l->capdir = l->capdir ? 2 * l->capdir : 16;
		if (!(l->dir = realloc(l->dir, l->capdir * sizeof *l->dir)))
			die("out of memory");
	}
	if (l->ndir && l->dir[l->ndir - 1].pid >= (uint64_t)l->pid)
		l->unsorted = 1;
	e = &l->dir[l->ndir++];
	table_room(l, l->runs.n * 16 + npage * 8);
	*e = (struct index_proc){ l->pid, l->len, l->runs.n, l->len + l->runs.n * 16, npage };
	for (i = 0; i < l->runs.n; i++) {
		memcpy(l->v + l->len, &l->runs.v[i].start, 8);
		memcpy(l->v + l->len + 8, &l->runs.v[i].end, 8);
		l->len += 16;
	}
	l->len += npage * 8;
	return e;
}

/* -1 after a message: the reader's error (r == -1) or why line no is bad */
static int lines_fail(struct loader *l, int r, unsigned no, const char *why)
{
	if (r == -1)
		warn("--parent %s: %s", l->path, l->tar.err);
	else
		warn("--parent %s: %s line %u: %s", l->path, l->tar.name, no, why);
	return -1;
}

static ssize_t fd_src(void *ctx, void *buf, size_t len, char *err, size_t errlen)
{
	ssize_t n;

	while ((n = read(*(int *)ctx, buf, len)) < 0 && errno == EINTR)
		;
	if (n < 0)
		snprintf(err, errlen, "read: %s", strerror(errno));
	return n;
}

static ssize_t tar_rd(void *ctx, void *buf, size_t len)
{
	return tar_in_read(ctx, buf, len);
}

/* the hashes member: one per page of the index, in its order */
static int hashes_read(struct loader *l)
{
	uint64_t pages = l->runs.bytes / INDEX_PAGE;
	struct index_proc *e;

	if (!l->indexed || l->tar.size != pages * 8)
		return warn("--parent %s: %s: %llu bytes, not 8 for each page of its index",
			    l->path, l->tar.name, (unsigned long long)l->tar.size), -1;
	e = proc_begin(l, pages);
	if (pages && tar_in_read_full(&l->tar, l->v + e->hash_at, pages * 8) < 0)
		return lines_fail(l, -1, 0, NULL);
	l->indexed = 2;   /* both read: the pagemap and pages are not needed */
	return 0;
}

static int pagemap_read(struct loader *l)
{
	static struct lines ln;
	int r;

	lines_init(&ln, tar_rd, &l->tar);
	r = lines_runs(&ln, &l->runs);
	return r == 0 ? 0 : lines_fail(l, r, ln.no + (r != -3),
				       r == -3 ? "not a run of pages after the last" :
				       "a line too long or cut");
}

/* a full image's process without an index: its pages hashed */
static int pages_hash(struct loader *l)
{
	static char buf[CHUNK];
	uint64_t a, off, len, *h;
	struct index_proc *e;
	size_t i;

	if (l->tar.size != l->runs.bytes)
		return warn("--parent %s: %s: %llu bytes, its pagemap says %llu", l->path,
			    l->tar.name, (unsigned long long)l->tar.size,
			    (unsigned long long)l->runs.bytes), -1;
	e = proc_begin(l, l->runs.bytes / INDEX_PAGE);
	h = (uint64_t *)(l->v + e->hash_at);
	for (i = 0; i < l->runs.n; i++)
		for (a = l->runs.v[i].start; a < l->runs.v[i].end; a += len) {
			len = l->runs.v[i].end - a < CHUNK ? l->runs.v[i].end - a : CHUNK;
			if (tar_in_read_full(&l->tar, buf, len) < 0)
				return warn("--parent %s: %s", l->path, l->tar.err), -1;
			for (off = 0; off < len; off += INDEX_PAGE)
				*h++ = index_hash(buf + off);
		}
	return 0;
}

/* "proc/PID/WHAT": WHAT, with l->pid set; NULL for any other name.
 * Each process's records come in address order (its runs do: checked
 * by lines_runs); a process whose pid is not above the last one's
 * makes the table need a sort */
static const char *proc_member(struct loader *l, const char *name)
{
	const char *s = name + 5, *slash;
	uint64_t pid;

	if (strncmp(name, "proc/", 5) || !(slash = strchr(s, '/')) ||
	    num_scan(&s, slash, 10, NUM_INT_MAX, &pid) < 0 || s != slash)
		return NULL;
	if ((pid_t)pid != l->pid) {
		l->pid = pid;
		l->indexed = 0;
		run_list_free(&l->runs);
	}
	return slash + 1;
}

static int member_take(struct loader *l)
{
	const char *what = proc_member(l, l->tar.name);

	if (!what)
		return 0;
	if (!strcmp(what, "index")) {
		l->indexed = 1;
		return pagemap_read(l);
	}
	if (!strcmp(what, "hashes"))
		return hashes_read(l);
	if (!strcmp(what, "pagemap") && !l->indexed)
		return pagemap_read(l);
	if (!strcmp(what, "pages") && l->indexed == 1)
		return warn("--parent %s: %s: an index without its hashes", l->path,
			    l->tar.name), -1;
	if (!strcmp(what, "pages") && !l->indexed) {
		if (*l->man.parent)
			return warn("--parent %s: %s: an increment without an index member",
				    l->path, l->tar.name), -1;
		return pages_hash(l);
	}
	return 0;
}

static int manifest_take(struct loader *l)
{
	char *text;

	if (tar_in_next(&l->tar) <= 0 || strcmp(l->tar.name, "ckpt/manifest") ||
	    l->tar.size > (1 << 20))
		return warn("--parent %s: not a ckpt image or index", l->path), -1;
	if (!(text = malloc(l->tar.size + 1)))
		die("out of memory");
	if (tar_in_read_full(&l->tar, text, l->tar.size) < 0) {
		free(text);
		return warn("--parent %s: %s", l->path, l->tar.err), -1;
	}
	text[l->tar.size] = 0;
	if (l->direct && !strstr(text, "\npacked 0\n")) {
		free(text);
		return 1;   /* packed: its checksums are ckpt-unpack's to check */
	}
	if (manifest_parse(text, "ckpt/manifest", &l->man) < 0 || !*l->man.id) {
		free(text);
		return warn("--parent %s: no image id in its manifest", l->path), -1;
	}
	free(text);
	return 0;
}

static int proc_cmp(const void *a, const void *b)
{
	const struct index_proc *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* The table as ckpt-dumpmem wants it: its directory sorted, each pid
 * once, after the data, then the end record (index.h).  The sort only
 * when a process came out of pid order (a stream lists its processes
 * in restore order, most often by pid). */
static int table_finish(struct loader *l)
{
	size_t i, at;

	if (l->unsorted)
		qsort(l->dir, l->ndir, sizeof *l->dir, proc_cmp);
	for (i = 1; i < l->ndir; i++)
		if (l->dir[i - 1].pid == l->dir[i].pid)
			return warn("--parent %s: pid %llu: its pages twice", l->path,
				    (unsigned long long)l->dir[i].pid), -1;
	table_room(l, (l->ndir + 1) * sizeof *l->dir);
	at = l->len;
	if (l->ndir)
		memcpy(l->v + at, l->dir, l->ndir * sizeof *l->dir);
	l->len += l->ndir * sizeof *l->dir;
	memcpy(l->v + l->len, &(struct index_proc){ INDEX_TABLE_END, at, l->ndir, 0, 0 },
	       sizeof *l->dir);
	l->len += sizeof *l->dir;
	munmap(l->v, l->cap);
	l->v = NULL;
	l->cap = 0;
	if (ftruncate(l->table, l->len) < 0)
		return warn("--parent %s: the table:", l->path), -1;
	return 0;
}

/* the members after the manifest, into the table, finished */
static int members_rest(struct loader *l)
{
	int r;

	while ((r = tar_in_next(&l->tar)) > 0)
		if (member_take(l) < 0)
			return -1;
	if (r < 0)
		return warn("--parent %s: %s", l->path, l->tar.err), -1;
	return table_finish(l);
}

static pid_t unpack_start(const char *path, int *fd)
{
	char dir[2048], exe[2100];
	int p[2], e;
	pid_t child;

	if ((e = self_dir(dir, sizeof dir)) < 0)
		return warnerr(e, "find ckpt-unpack: /proc/self/exe:"), -1;
	snprintf(exe, sizeof exe, "%s/ckpt-unpack", dir);
	if (pipe2(p, O_CLOEXEC) < 0)
		return warn("pipe:"), -1;
	if ((child = fork()) < 0)
		return warn("fork:"), close(p[0]), close(p[1]), -1;
	if (child == 0) {
		if (dup2(p[1], 1) < 0)
			_exit(127);
		execl(exe, "ckpt-unpack", "-q", path, (char *)NULL);
		warn("exec %s:", exe);
		_exit(127);
	}
	close(p[1]);
	*fd = p[0];
	return child;
}

/* The rest of a raw parent, in a child of ours: its table is loaded
 * while the job is frozen and its first stages run (smaps alone takes
 * longer); each ckpt-dumpmem waits for the end of *ready before it
 * maps the table, which has its end record only if the child finished
 * it (lib/index.h).  0 or -1 after a message */
static int rest_fork(struct loader *l, struct parent *p)
{
	int ready[2], null;
	pid_t child;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return warn("pipe:"), -1;
	if ((child = fork()) < 0)
		return warn("fork:"), close(ready[0]), close(ready[1]), -1;
	if (child == 0) {
		/* not a holder of the stream, nor of our stdin */
		if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0)
			dup2(null, 0), dup2(null, 1);
		close(ready[0]);
		_exit(members_rest(l) < 0);
	}
	close(ready[1]);
	p->ready = ready[0];
	p->loader = child;
	return 0;
}

/* A raw stream or index file (a tar stream whose manifest says
 * "packed 0") is read here, directly: ckpt-unpack's fork and exec
 * were 3 ms of an increment, and it would only pass the bytes on; its
 * manifest now, the rest in a child (rest_fork).  Anything else
 * (packed, compressed) through a ckpt-unpack, which checks each
 * member's checksum: 0, 1 (not raw), -1 */
static int direct_read(struct loader *l, struct parent *p)
{
	char head[512];
	int r;

	if ((l->fd = open(l->path, O_RDONLY | O_CLOEXEC)) < 0)
		return warn("--parent %s:", l->path), -1;
	if (read_all(l->fd, head, sizeof head) != sizeof head || memcmp(head + 257, "ustar", 5) ||
	    lseek(l->fd, 0, SEEK_SET) != 0) {
		close(l->fd);
		return 1;
	}
	l->direct = 1;
	if (tar_in_init(&l->tar, fd_src, &l->fd) < 0)
		die("out of memory");
	if ((r = manifest_take(l)) == 0)
		r = rest_fork(l, p);
	close(l->fd);
	tar_in_free(&l->tar);
	return r;
}

static int unpack_read(struct loader *l)
{
	pid_t child;
	int r, st;

	l->direct = 0;
	if ((child = unpack_start(l->path, &l->fd)) < 0)
		return -1;
	if (tar_in_init(&l->tar, fd_src, &l->fd) < 0)
		die("out of memory");
	r = manifest_take(l);
	if (r == 0)
		r = members_rest(l);
	close(l->fd);
	tar_in_free(&l->tar);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		warn("--parent %s: cannot be read", l->path), r = -1;
	return r;
}

int parent_load(struct parent *p, const char *path)
{
	static struct loader l;
	int r;

	memset(&l, 0, sizeof l);
	l.path = path;
	p->table = p->ready = -1;
	p->loader = -1;
	if ((l.table = memfd_create("ckpt-parent-index", MFD_CLOEXEC)) < 0)
		die("memfd_create:");
	if ((r = direct_read(&l, p)) > 0)
		r = unpack_read(&l);
	if (l.cap)
		munmap(l.v, l.cap);
	free(l.dir);
	run_list_free(&l.runs);
	if (r < 0) {
		close(l.table);
		return -1;
	}
	p->table = l.table;
	memcpy(p->id, l.man.id, sizeof p->id);
	return 0;
}

int parent_done(struct parent *p)
{
	int st = 0;

	if (p->ready >= 0)
		close(p->ready);
	p->ready = -1;
	if (p->loader <= 0)
		return 0;
	while (waitpid(p->loader, &st, 0) < 0 && errno == EINTR)
		;
	p->loader = -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
