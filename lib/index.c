/* index.c - the index and hashes members: page hashes, the parent's
 * table and what changed since it (index.h, formats/index.md) */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "err.h"
#include "index.h"
#include "num.h"
#include "xxh64.h"

#define CHUNK (1 << 20)
#define HASH_SPLIT (64ULL << 20)   /* bytes to hash worth a second thread */

uint64_t index_hash(const void *page)
{
	return xxh64(page, INDEX_PAGE, 0);
}

/* [addr, end) into buf: the byte count read, a page of zeros for EIO.
 * process_vm_readv first, while it works (*vm); a chunk it cannot read
 * whole (EFAULT past an orphan's end) goes through the mem fd */
static ssize_t chunk_read(pid_t pid, int *vm, int fd, char *buf, uint64_t addr, uint64_t end)
{
	size_t len = end - addr < CHUNK ? end - addr : CHUNK;
	struct iovec lo = { buf, len }, re = { (void *)(uintptr_t)addr, len };
	ssize_t n;

	if (*vm) {
		n = process_vm_readv(pid, &lo, 1, &re, 1, 0);
		if (n == (ssize_t)len)
			return n;
		if (n < 0 && errno != EFAULT)
			*vm = 0;   /* EPERM, ESRCH, ENOSYS: the mem fd from now on */
	}
	do
		n = pread(fd, buf, len, addr);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EIO) {
		memset(buf, 0, INDEX_PAGE);
		return INDEX_PAGE;
	}
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	return n & ~(INDEX_PAGE - 1) ? (ssize_t)(n & ~(INDEX_PAGE - 1)) : -EIO;
}

/* the hashes of runs into h, through buf (CHUNK bytes) */
static int runs_hash(pid_t pid, int mem_fd, const struct run_list *runs, uint64_t *h,
		     uint64_t *bad, char *buf)
{
	uint64_t addr, off;
	int vm = 1;
	ssize_t n;
	size_t i;

	for (i = 0; i < runs->n; i++) {
		for (addr = runs->v[i].start; addr < runs->v[i].end; addr += n) {
			if ((n = chunk_read(pid, &vm, mem_fd, buf, addr, runs->v[i].end)) < 0) {
				*bad = addr;
				return n;
			}
			for (off = 0; off < (uint64_t)n; off += INDEX_PAGE)
				*h++ = index_hash(buf + off);
		}
	}
	return 0;
}

/* the second half of the work, in a thread of its own */
struct half {
	pid_t pid;
	int mem_fd;
	struct run_list runs;
	uint64_t *h, bad;
	int err;
};

static void *half_run(void *arg)
{
	struct half *w = arg;
	char *buf = aligned_alloc(4096, CHUNK);

	w->err = buf ? runs_hash(w->pid, w->mem_fd, &w->runs, w->h, &w->bad, buf) : -ENOMEM;
	free(buf);
	return NULL;
}

/* the CPUs we may run on */
static int cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

/* runs split at half their bytes (a page boundary): the first half
 * left in a, the second into b.  0 or -ENOMEM */
static int runs_split(struct run_list *a, struct run_list *b)
{
	uint64_t half = a->bytes / INDEX_PAGE / 2 * INDEX_PAGE, sum = 0, cut;
	size_t i, k;
	int e = 0;

	for (i = 0; i < a->n && sum + (a->v[i].end - a->v[i].start) <= half; i++)
		sum += a->v[i].end - a->v[i].start;
	if (i == a->n)
		return 0;
	cut = a->v[i].start + (half - sum);   /* the run's start: all of it to b */
	e = run_add(b, cut, cut, a->v[i].end, a->v[i].via_mem);
	for (k = i + 1; e == 0 && k < a->n; k++)
		e = run_add(b, a->v[k].start, a->v[k].start, a->v[k].end, a->v[k].via_mem);
	if (e < 0)
		return e;
	if (cut > a->v[i].start)
		a->v[i++].end = cut;
	a->n = i;
	a->bytes = half;
	return 0;
}

int index_hash_runs(pid_t pid, int mem_fd, const struct run_list *runs, uint64_t *h,
		    uint64_t *bad)
{
	static char buf[CHUNK] __attribute__((aligned(4096)));
	struct run_list a = { 0 };
	struct half w = { .pid = pid, .mem_fd = mem_fd };
	pthread_t t;
	int e;

	/* Two threads where there is much to hash and a second CPU: the
	 * copy and the hash of 1 GiB took 250-300 ms of a full dump's
	 * 460 with its index, the process frozen all along */
	if (runs->bytes < HASH_SPLIT || cpus() < 2 ||
	    run_list_copy(&a, runs) < 0 || runs_split(&a, &w.runs) < 0 || !w.runs.n) {
		run_list_free(&a);
		run_list_free(&w.runs);
		return runs_hash(pid, mem_fd, runs, h, bad, buf);
	}
	w.h = h + a.bytes / INDEX_PAGE;
	if (pthread_create(&t, NULL, half_run, &w) != 0) {
		e = runs_hash(pid, mem_fd, runs, h, bad, buf);
	} else {
		e = runs_hash(pid, mem_fd, &a, h, bad, buf);
		pthread_join(t, NULL);
		if (e == 0 && (e = w.err) < 0)
			*bad = w.bad;
	}
	run_list_free(&a);
	run_list_free(&w.runs);
	return e;
}

void runs_text(FILE *f, const struct run_list *runs)
{
	size_t i;

	for (i = 0; i < runs->n; i++)
		fprintf(f, "%08" PRIx64 "-%08" PRIx64 "\n", runs->v[i].start, runs->v[i].end);
}

int index_table_map(struct index_table *t, int fd)
{
	const struct index_proc *end;
	struct stat st;
	void *p;

	memset(t, 0, sizeof *t);
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size % 8 || (size_t)st.st_size < sizeof *end)
		return -EINVAL;
	/* not populated: a process reads only its own part
	 * (index_table_pid), and a job's table holds every process's */
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	t->v = p;
	t->len = st.st_size;
	end = (const struct index_proc *)((const char *)p + t->len - sizeof *end);
	/* the end record: a table cut short (its loader died) has none */
	if (end->pid != INDEX_TABLE_END || end->run_at % 8 || end->run_at > t->len ||
	    end->nrun > (t->len - end->run_at) / sizeof *end ||
	    end->run_at + end->nrun * sizeof *end != t->len - sizeof *end) {
		index_table_unmap(t);
		return -EINVAL;
	}
	t->dir = (const struct index_proc *)((const char *)p + end->run_at);
	t->n = end->nrun;
	return 0;
}

void index_table_unmap(struct index_table *t)
{
	if (t->v)
		munmap((void *)t->v, t->len);
	memset(t, 0, sizeof *t);
}

/* [at, at + n * size) inside the table's data (before its directory) */
static int table_has(const struct index_table *t, uint64_t at, uint64_t n, size_t size)
{
	uint64_t lim = (const char *)t->dir - (const char *)t->v;

	return at % 8 == 0 && at <= lim && n <= (lim - at) / size;
}

int index_table_pid(const struct index_table *t, pid_t pid, struct index_par *p)
{
	const struct index_proc *e = NULL;
	size_t a = 0, b = t->n, m;
	uint64_t pages = 0;
	uintptr_t lo, hi;

	memset(p, 0, sizeof *p);
	while (a < b) {          /* the entry of pid */
		m = a + (b - a) / 2;
		if (t->dir[m].pid < (uint64_t)pid)
			a = m + 1;
		else
			b = m;
	}
	if (a == t->n || t->dir[a].pid != (uint64_t)pid)
		return 0;
	e = &t->dir[a];
	if (!table_has(t, e->run_at, e->nrun, 16) || !table_has(t, e->hash_at, e->npage, 8))
		return -EINVAL;
	p->run = (const void *)((const char *)t->v + e->run_at);
	p->nrun = e->nrun;
	p->hash = (const void *)((const char *)t->v + e->hash_at);
	p->npage = e->npage;
	for (m = 0; m < p->nrun; m++) {
		if (p->run[m][0] >= p->run[m][1] || ((p->run[m][0] | p->run[m][1]) & (INDEX_PAGE - 1)) ||
		    (m && p->run[m][0] < p->run[m - 1][1]))
			return -EINVAL;
		pages += (p->run[m][1] - p->run[m][0]) / INDEX_PAGE;
	}
	if (pages != p->npage)
		return -EINVAL;
	/* the hashes faulted in at once, not a page at a time (5.14+) */
	lo = (uintptr_t)p->hash & ~(uintptr_t)4095;
	hi = (uintptr_t)(p->hash + p->npage);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
	return 0;
}

void index_cursor_init(struct index_cursor *c, const struct index_par *p)
{
	*c = (struct index_cursor){ p, 0, 0 };
}

int index_par_at(struct index_cursor *c, uint64_t a, uint64_t *end, const uint64_t **h)
{
	const struct index_par *p = c->p;

	while (c->r < p->nrun && p->run[c->r][1] <= a) {
		c->h += (p->run[c->r][1] - p->run[c->r][0]) / INDEX_PAGE;
		c->r++;
	}
	if (c->r == p->nrun) {
		*end = UINT64_MAX;
		return 0;
	}
	if (a < p->run[c->r][0]) {
		*end = p->run[c->r][0];
		return 0;
	}
	*end = p->run[c->r][1];
	*h = p->hash + c->h + (a - p->run[c->r][0]) / INDEX_PAGE;
	return 1;
}

int index_changed(const struct run_list *runs, const size_t *at, const uint64_t *hash,
		  const struct index_par *par, struct run_list *stored)
{
	const struct page_run *r;
	struct index_cursor c;
	const uint64_t *h, *ph;
	uint64_t a, end;
	size_t i;
	int e;

	index_cursor_init(&c, par);
	for (i = 0; i < runs->n; i++) {
		r = &runs->v[i];
		for (a = r->start, h = hash + at[i]; a < r->end; a += INDEX_PAGE, h++) {
			if (index_par_at(&c, a, &end, &ph) && *ph == *h)
				continue;
			if ((e = run_add(stored, r->start, a, a + INDEX_PAGE, r->via_mem)) < 0)
				return e;
			stored->v[stored->n - 1].held = r->held;   /* --cow */
		}
	}
	return 0;
}

int lines_runs(struct lines *ln, struct run_list *runs)
{
	uint64_t a, b;
	int r;

	run_list_free(runs);
	while ((r = lines_next(ln)) > 0) {
		if (num_range(ln->line, 16, &a, &b) < 0 || a >= b || ((a | b) & (INDEX_PAGE - 1)) ||
		    (runs->n && runs->v[runs->n - 1].end > a))
			return -3;
		if (run_add(runs, a, a, b, 0) < 0)
			die("out of memory");
	}
	return r;
}

void lines_init(struct lines *l, ssize_t (*rd)(void *, void *, size_t), void *ctx)
{
	l->rd = rd;
	l->ctx = ctx;
	l->pos = l->len = 0;
	l->eof = 0;
	l->no = 0;
}

int lines_next(struct lines *l)
{
	size_t n = 0, k;
	ssize_t got;
	char *nl;

	for (;;) {
		if (l->pos == l->len) {
			if (l->eof || (got = l->rd(l->ctx, l->buf, sizeof l->buf)) == 0) {
				l->eof = 1;
				return n ? -2 : 0;
			}
			if (got < 0)
				return -1;
			l->pos = 0;
			l->len = got;
		}
		nl = memchr(l->buf + l->pos, '\n', l->len - l->pos);
		k = nl ? (size_t)(nl - l->buf) - l->pos : l->len - l->pos;
		if (n + k > sizeof l->line - 1)
			return -2;
		memcpy(l->line + n, l->buf + l->pos, k);
		n += k;
		l->pos += k + (nl != NULL);
		if (nl)
			break;
	}
	l->line[n] = 0;
	l->linelen = n;
	l->no++;
	return 1;
}
