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
	int fd;                    /* ckpt-unpack's stdout */
	struct img_manifest man;
	struct index_rec *v;       /* every page of every process */
	size_t n, cap;
	pid_t pid;                 /* the process of the members now */
	int indexed;               /* it had an index member */
	struct run_list runs;      /* its index's runs, else its pagemap's */
};

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

static int rec_add(struct loader *l, uint64_t addr, uint64_t hash)
{
	struct index_rec *nv;

	if (l->n && l->v[l->n - 1].pid == (uint64_t)l->pid && l->v[l->n - 1].addr >= addr)
		return warn("--parent %s: %s: 0x%llx: not after the page before it", l->path,
			    l->tar.name, (unsigned long long)addr), -1;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		if (!(nv = realloc(l->v, l->cap * sizeof *nv)))
			die("out of memory");
		l->v = nv;
	}
	l->v[l->n++] = (struct index_rec){ l->pid, addr, hash };
	return 0;
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

/* the hashes member: one per page of the index, in its order */
static int hashes_read(struct loader *l)
{
	static uint64_t h[8192];
	uint64_t a = l->runs.n ? l->runs.v[0].start : 0, n, k, j;
	size_t i = 0;

	if (!l->indexed || l->tar.size != l->runs.bytes / INDEX_PAGE * sizeof *h)
		return warn("--parent %s: %s: %llu bytes, not 8 for each page of its index",
			    l->path, l->tar.name, (unsigned long long)l->tar.size), -1;
	for (n = 0; n < l->tar.size / sizeof *h; n += k) {
		k = l->tar.size / sizeof *h - n < 8192 ? l->tar.size / sizeof *h - n : 8192;
		if (tar_in_read_full(&l->tar, h, k * sizeof *h) < 0)
			return lines_fail(l, -1, 0, NULL);
		for (j = 0; j < k; j++) {   /* as many as the runs' pages */
			if (rec_add(l, a, h[j]) < 0)
				return -1;
			if ((a += INDEX_PAGE) == l->runs.v[i].end && ++i < l->runs.n)
				a = l->runs.v[i].start;
		}
	}
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
	uint64_t a, off, len;
	size_t i;

	if (l->tar.size != l->runs.bytes)
		return warn("--parent %s: %s: %llu bytes, its pagemap says %llu", l->path,
			    l->tar.name, (unsigned long long)l->tar.size,
			    (unsigned long long)l->runs.bytes), -1;
	for (i = 0; i < l->runs.n; i++)
		for (a = l->runs.v[i].start; a < l->runs.v[i].end; a += len) {
			len = l->runs.v[i].end - a < CHUNK ? l->runs.v[i].end - a : CHUNK;
			if (tar_in_read_full(&l->tar, buf, len) < 0)
				return warn("--parent %s: %s", l->path, l->tar.err), -1;
			for (off = 0; off < len; off += INDEX_PAGE)
				if (rec_add(l, a + off, index_hash(buf + off)) < 0)
					return -1;
		}
	return 0;
}

/* "proc/PID/WHAT": WHAT, with l->pid set; NULL for any other name */
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
	if (manifest_parse(text, "ckpt/manifest", &l->man) < 0 || !*l->man.id) {
		free(text);
		return warn("--parent %s: no image id in its manifest", l->path), -1;
	}
	free(text);
	return 0;
}

static int members_read(struct loader *l)
{
	int r;

	if (tar_in_init(&l->tar, fd_src, &l->fd) < 0 || manifest_take(l) < 0)
		return -1;
	while ((r = tar_in_next(&l->tar)) > 0)
		if (member_take(l) < 0)
			return -1;
	if (r < 0)
		return warn("--parent %s: %s", l->path, l->tar.err), -1;
	return 0;
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

static int rec_cmp(const void *a, const void *b)
{
	const struct index_rec *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* 1 when the records are sorted already, each (pid, address) once:
 * each process's are (rec_add says so), and a stream lists its
 * processes in restore order, which is most often by pid too */
static int recs_ascending(const struct loader *l)
{
	size_t i;

	for (i = 1; i < l->n; i++)
		if (rec_cmp(&l->v[i - 1], &l->v[i]) >= 0)
			return 0;
	return 1;
}

/* the records sorted into a memfd, each (pid, address) once.  The sort
 * and the search for twins only when needed: qsort of 1 GiB's records
 * took 20 ms of an increment's 80 (bench/incremental), the two passes
 * after it 1.5 ms */
static int table_make(struct loader *l, struct parent *p)
{
	size_t i;

	if (!recs_ascending(l)) {
		qsort(l->v, l->n, sizeof *l->v, rec_cmp);
		for (i = 1; i < l->n; i++)
			if (!rec_cmp(&l->v[i - 1], &l->v[i]))
				return warn("--parent %s: pid %llu: page 0x%llx twice", l->path,
					    (unsigned long long)l->v[i].pid,
					    (unsigned long long)l->v[i].addr), -1;
	}
	if ((p->table = memfd_create("ckpt-parent-index", MFD_CLOEXEC)) < 0)
		die("memfd_create:");
	if (write_all(p->table, l->v, l->n * sizeof *l->v) < 0)
		return warn("--parent %s: the table:", l->path), -1;
	return 0;
}

int parent_load(struct parent *p, const char *path)
{
	static struct loader l;
	pid_t child;
	int r, st;

	memset(&l, 0, sizeof l);
	l.path = path;
	p->table = -1;
	if ((child = unpack_start(path, &l.fd)) < 0)
		return -1;
	r = members_read(&l);
	close(l.fd);
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		warn("--parent %s: cannot be read", path), r = -1;
	if (r == 0)
		r = table_make(&l, p);
	if (r == 0)
		memcpy(p->id, l.man.id, sizeof p->id);
	tar_in_free(&l.tar);
	run_list_free(&l.runs);
	free(l.v);
	return r;
}
