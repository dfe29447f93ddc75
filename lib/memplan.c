/* memplan.c - regions and page runs of one process, checked, for the
 * restorer's plan. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "err.h"
#include "escape.h"
#include "grow.h"
#include "maps.h"
#include "memplan.h"
#include "sysvshm.h"
#include "text.h"

#define PAGE 4096ULL
#define FILE_UNCHECKED 0x8000u   /* oflags bit until mapfiles checks it */

static int strings_add(struct memplan *m, const char *s, size_t n, uint32_t *off)
{
	char *p;

	if (m->strings_len + n + 1 > m->strings_cap) {
		size_t cap = (m->strings_cap + n + 1) * 2;

		if (!(p = realloc(m->strings, cap)))
			return -1;
		if (!m->strings_cap)
			p[0] = 0, m->strings_len = 1;
		m->strings = p;
		m->strings_cap = cap;
	}
	*off = m->strings_len;
	memcpy(m->strings + m->strings_len, s, n);
	m->strings[m->strings_len + n] = 0;
	m->strings_len += n + 1;
	return 0;
}

static int special_index(const struct map_region *r)
{
	static const char *const names[4] = { "[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]" };
	int i;

	for (i = 0; i < 4; i++)
		if (map_path_is(r, names[i]))
			return i;
	return -1;
}

static unsigned region_kind(const struct map_region *r)
{
	switch (map_kind(r)) {
	case MAP_KIND_SHARED_MEM: return PLAN_SHARED_ANON;
	case MAP_KIND_SHARED_FILE: return PLAN_FILE_SHARED;
	case MAP_KIND_ORPHAN: return PLAN_ANON;  /* every page is stored */
	default: break;
	}
	if (map_path_is(r, "[stack]"))
		return PLAN_STACK;
	return map_is_file(r) ? PLAN_FILE_PRIVATE : PLAN_ANON;
}

/* a memfd's name, from "/memfd:NAME (deleted)": a restore makes its
 * memfd under that name */
static int shm_name(struct memplan *m, const struct map_region *r, struct plan_region *g)
{
	const char *s = r->path + 7, *del = " (deleted)";
	size_t n = r->pathlen - 7;

	if (n >= strlen(del) && !memcmp(s + n - strlen(del), del, strlen(del)))
		n -= strlen(del);
	if (n > 249)          /* memfd_create's limit */
		n = 249;
	return strings_add(m, s, n, &g->path);
}

/* Every view of one shared memory object (same device and inode) gets
 * the object's id and size: the restorer maps them all from one
 * object, so a write through one is seen through the others.  An
 * object seen once, not a memfd, stays a plain MAP_SHARED|MAP_ANONYMOUS
 * region (shm 0), as before. */
static void shm_objects(struct memplan *m)
{
	struct plan_region *g, *h;
	unsigned i, j, views, id = 0;
	uint64_t size;

	for (i = 0; i < m->nreg; i++) {
		g = &m->reg[i];
		if (g->kind != PLAN_SHARED_ANON || !g->ino || g->shm)
			continue;
		views = 0;
		size = 0;
		for (j = i; j < m->nreg; j++) {
			h = &m->reg[j];
			if (h->kind != PLAN_SHARED_ANON || h->ino != g->ino || h->dev != g->dev)
				continue;
			views++;
			if (h->pgoff + (h->end - h->start) > size)
				size = h->pgoff + (h->end - h->start);
		}
		if (views < 2 && !g->path)
			continue;
		id++;
		for (j = i; j < m->nreg; j++) {
			h = &m->reg[j];
			if (h->kind == PLAN_SHARED_ANON && h->ino == g->ino && h->dev == g->dev) {
				h->shm = id;
				h->size = size;
			}
		}
	}
}

/* the name a job object of a deleted file gets: its path without the
 * first "/" and " (deleted)" (a memfd's name, at most 249 bytes) */
static int deleted_name(struct memplan *m, const struct map_region *r, uint32_t *off)
{
	size_t n = r->pathlen - strlen(" (deleted)") - 1;

	return strings_add(m, r->path + 1, n > 249 ? 249 : n, off);
}

/* what memory region r (g in the plan) shares, for lib/jobobj.c */
static int src_note(struct memplan *m, const struct map_region *r, const struct plan_region *g)
{
	struct memplan_src *s = &m->src[m->nreg];

	if (g->kind == PLAN_SHARED_ANON) {
		s->name = g->path;
		s->kind = g->path ? MEM_SRC_MEMFD : map_is_sysv(r) ? MEM_SRC_SYSV :
			  map_path_is(r, "/anon_hugepage (deleted)") ? MEM_SRC_OTHER : MEM_SRC_ANON;
		return 0;
	}
	if (map_kind(r) != MAP_KIND_ORPHAN || !map_is_deleted(r) || r->path[0] != '/')
		return 0;
	s->kind = r->shared ? MEM_SRC_DELETED : MEM_SRC_DELETED_PRIVATE;
	return deleted_name(m, r, &s->name);
}

static int region_add(struct memplan *m, int pid, const struct map_region *r)
{
	struct plan_region *g = &m->reg[m->nreg];
	int k = special_index(r);

	if (k >= 0) {
		m->special[k][0] = r->start;
		m->special[k][1] = r->end;
		return 0;
	}
	if (map_kind(r) == MAP_KIND_SPECIAL) {
		warn("pid %d: region %" PRIx64 "-%" PRIx64 " %.*s: cannot be restored",
		     pid, r->start, r->end, (int)r->pathlen, r->path);
		return -1;
	}
	memset(g, 0, sizeof *g);
	g->start = r->start;
	g->end = r->end;
	g->pgoff = r->offset;
	g->prot = r->prot;
	g->kind = region_kind(r);
	if (g->kind == PLAN_SHARED_ANON) {
		g->dev = makedev(r->dev_major, r->dev_minor);
		g->ino = r->inode;
		if (r->pathlen > 7 && !memcmp(r->path, "/memfd:", 7) && shm_name(m, r, g) < 0)
			return warn("out of memory"), -1;
	}
	if (g->kind == PLAN_FILE_PRIVATE || g->kind == PLAN_FILE_SHARED) {
		g->oflags = FILE_UNCHECKED |
			(g->kind == PLAN_FILE_SHARED && (r->prot & PROT_WRITE) ? 2 : 0);
		g->dev = makedev(r->dev_major, r->dev_minor);  /* the dump's view */
		g->ino = r->inode;
	}
	/* a deleted file's: shared, for jobobj; private, for a copy that a
	 * deleted fd of the process brings back (mapfile_line) */
	if (g->kind == PLAN_ANON && map_kind(r) == MAP_KIND_ORPHAN && map_is_deleted(r)) {
		g->dev = makedev(r->dev_major, r->dev_minor);
		g->ino = r->inode;
	}
	if (src_note(m, r, g) < 0)
		return warn("out of memory"), -1;
	m->nreg++;
	return 0;
}

int memplan_maps(struct memplan *m, int pid, char *text, size_t len)
{
	struct map_region *r;
	size_t n, i, badline;
	int e;

	if ((e = maps_parse(text, len, &r, &n, &badline)) < 0) {
		if (e == -EINVAL)
			warn("member proc/%d/maps line %zu: malformed", pid, badline);
		else
			warnerr(e, "member proc/%d/maps:", pid);
		return -1;
	}
	if (!(m->reg = calloc(n + 1, sizeof *m->reg)) || !(m->src = calloc(n + 1, sizeof *m->src))) {
		free(r);
		return warn("proc/%d/maps: out of memory", pid), -1;
	}
	for (i = 0; i < n; i++)
		if (region_add(m, pid, &r[i]) < 0) {
			free(r);
			return -1;
		}
	free(r);
	shm_objects(m);
	return 0;
}

static struct plan_region *region_at(struct memplan *m, uint64_t start, uint64_t end)
{
	unsigned i;

	for (i = 0; i < m->nreg; i++)
		if (m->reg[i].start == start && m->reg[i].end == end)
			return &m->reg[i];
	return NULL;
}

/* one of the kernel's regions ([vdso], ...): recorded, not restored */
static int special_at(const struct memplan *m, uint64_t start, uint64_t end)
{
	int k;

	for (k = 0; k < 4; k++)
		if (m->special[k][0] == start && m->special[k][1] == end)
			return 1;
	return 0;
}

/* the file as it is now must be the one the checkpoint mapped */
static int mapfile_check(struct plan_region *g, int pid, const char *path,
			 uint64_t size, const char *mtime)
{
	struct stat st;
	char now[64];

	if (stat(path, &st) < 0)
		return warn("pid %d: mapped file %s:", pid, path), -1;
	snprintf(now, sizeof now, "%lld.%09ld", (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
	if (st.st_ino != g->ino || st.st_dev != g->dev || size != (uint64_t)st.st_size ||
	    strcmp(now, mtime))
		return warn("pid %d: mapped file %s changed since the checkpoint (size %" PRIu64 " mtime %s, now %lld %s)",
			    pid, path, size, mtime, (long long)st.st_size, now), -1;
	g->size = st.st_size;
	g->mtime_sec = st.st_mtim.tv_sec;
	g->mtime_nsec = st.st_mtim.tv_nsec;
	return 0;
}

static const struct memplan_own *own_find(const struct memplan *m, const struct plan_region *g)
{
	unsigned i;

	for (i = 0; i < m->nown; i++)
		if (m->own[i].dev == g->dev && m->own[i].ino == g->ino)
			return &m->own[i];
	return NULL;
}

int memplan_own(struct memplan *m, uint64_t dev, uint64_t ino, int fd, const struct stat *st)
{
	struct memplan_own *no = GROW1(m->own, m->nown);

	if (!no)
		return warn("out of memory"), -1;
	*no = (struct memplan_own){ dev, ino, fd, st->st_dev, st->st_ino, st->st_size,
				    st->st_mtim.tv_sec, st->st_mtim.tv_nsec };
	m->nown++;
	return 0;
}

/* the region maps a file the restore writes back: the copy, through
 * the process's own fd on it (open by then: the fds come first) */
static int mapfile_own(struct memplan *m, struct plan_region *g, const struct memplan_own *o)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", o->fd);
	g->dev = o->ndev;
	g->ino = o->nino;
	g->size = o->size;
	g->mtime_sec = o->mtime_sec;
	g->mtime_nsec = o->mtime_nsec;
	g->oflags &= ~FILE_UNCHECKED;
	if (strings_add(m, path, strlen(path), &g->path) < 0)
		return warn("out of memory"), -1;
	return 0;
}

struct memplan_text {          /* what a member's lines go into */
	struct memplan *m;
	int pid;
};

/* "START-END SIZE MTIME PATH" */
static int mapfile_line(struct text *t, void *obj)
{
	struct memplan *m = ((struct memplan_text *)obj)->m;
	int pid = ((struct memplan_text *)obj)->pid;
	char *const *f = t->f;
	struct plan_region *g;
	uint64_t start, end, size = 0;

	if (t->n != 4 || num_range(f[0], 16, &start, &end) < 0 || str_unescape(f[3]) < 0 ||
	    (strcmp(f[1], "-") && num_parse(f[1], ~0ULL, &size) < 0))
		return text_bad(t, "malformed");
	if ((g = region_at(m, start, end)) && !strcmp(f[1], "-")) {
		/* "- -": not the file mapped; the dump stored every page
		 * of the region (an orphan, formats/memory.md), which go on
		 * the copy of the deleted file an fd of the process brings
		 * back (a private map: a shared one is a job object),
		 * mapped private at its offset, else on anonymous memory */
		g->oflags = 0;
		if (m->src[g - m->reg].kind == MEM_SRC_DELETED_PRIVATE && own_find(m, g)) {
			g->kind = PLAN_FILE_PRIVATE;
			return mapfile_own(m, g, own_find(m, g));
		}
		g->kind = PLAN_ANON;
		return 0;
	}
	if (!g || !(g->oflags & FILE_UNCHECKED))
		return warn("member proc/%d/mapfiles line %u: no file region %s", pid, t->no, f[0]), -1;
	if (own_find(m, g))
		return mapfile_own(m, g, own_find(m, g));
	if (mapfile_check(g, pid, f[3], size, f[2]) < 0)
		return -1;
	g->oflags &= ~FILE_UNCHECKED;
	if (strings_add(m, f[3], strlen(f[3]), &g->path) < 0)
		return warn("out of memory"), -1;
	return 0;
}

/* the lines of proc/PID/SUB, at most max fields each, to line */
static int memplan_each(struct memplan *m, int pid, const char *sub, char *text, int max,
			int (*line)(struct text *, void *))
{
	struct memplan_text mt = { m, pid };
	char name[64];

	snprintf(name, sizeof name, "proc/%d/%s", pid, sub);
	return text_each(text, name, max, line, &mt);
}

int memplan_mapfiles(struct memplan *m, int pid, char *text)
{
	return memplan_each(m, pid, "mapfiles", text, 4, mapfile_line);
}

static const struct { char code[3]; uint32_t bit; } vm_codes[] = {
	{ "lo", PLAN_VM_LOCKED }, { "lf", PLAN_VM_LOCKONFAULT }, { "dc", PLAN_VM_DONTFORK },
	{ "wf", PLAN_VM_WIPEONFORK }, { "dd", PLAN_VM_DONTDUMP }, { "hg", PLAN_VM_HUGEPAGE },
	{ "nh", PLAN_VM_NOHUGEPAGE }, { "mg", PLAN_VM_MERGEABLE }, { "sr", PLAN_VM_SEQUENTIAL },
	{ "rr", PLAN_VM_RANDOM }, { "nr", PLAN_VM_NORESERVE }, { "dp", PLAN_VM_DROPPABLE },
	{ "ac", PLAN_VM_ACCOUNT },
};

/* the PLAN_VM_ bits of a line's codes, fields 1.. of t */
static uint32_t vm_bits(const struct text *t)
{
	uint32_t bits = 0;
	size_t i;
	int k;

	for (k = 1; k < t->n; k++)
		for (i = 0; i < sizeof vm_codes / sizeof *vm_codes; i++)
			if (!strcmp(t->f[k], vm_codes[i].code))
				bits |= vm_codes[i].bit;
	return bits;
}

/* "START-END CODE..." */
static int vmflags_line(struct text *t, void *obj)
{
	struct memplan *m = ((struct memplan_text *)obj)->m;
	struct plan_region *g;
	uint64_t start, end;

	if (num_range(t->f[0], 16, &start, &end) < 0)
		return text_bad(t, "malformed range");
	if ((g = region_at(m, start, end)))
		g->vmflags = vm_bits(t);
	else if (!special_at(m, start, end))
		return text_bad(t, "no such region in maps");
	return 0;
}

int memplan_vmflags(struct memplan *m, int pid, char *text)
{
	return memplan_each(m, pid, "vmflags", text, 64, vmflags_line);
}

/* "ID KEY SIZE MODE UID GID CUID CGID" (formats/memory.md); only the
 * size and mode are needed, the rest is the kernel's to give */
static int sysvshm_line(struct text *t, void *obj)
{
	struct memplan *m = ((struct memplan_text *)obj)->m;
	struct memplan_seg sg, *n;
	uint64_t mode;
	unsigned i;

	if (t->n != 8 || num_parse(t->f[0], 0x7fffffff, &sg.id) < 0 ||
	    num_parse(t->f[2], 1ULL << 47, &sg.size) < 0 || !sg.size ||
	    num_parse_base(t->f[3], 8, 07777, &mode) < 0)
		return text_bad(t, "malformed");
	sg.mode = mode;
	for (i = 0; i < m->nreg && !(m->src[i].kind == MEM_SRC_SYSV && m->reg[i].ino == sg.id); i++)
		;
	if (i == m->nreg)
		return text_bad(t, "no SysV region of maps has this id");
	if (!(n = GROW1(m->seg, m->nseg)))
		return warn("out of memory"), -1;
	*n = sg;
	m->nseg++;
	return 0;
}

int memplan_sysvshm(struct memplan *m, int pid, char *text)
{
	return memplan_each(m, pid, "sysvshm", text, 8, sysvshm_line);
}

int memplan_check(struct memplan *m, int pid)
{
	unsigned i;

	for (i = 0; i < m->nreg; i++)
		if (m->reg[i].oflags & FILE_UNCHECKED)
			return warn("member proc/%d/mapfiles: no line for region %" PRIx64 "-%" PRIx64,
				    pid, m->reg[i].start, m->reg[i].end), -1;
	return 0;
}

/* the region u lies in, whole pages, or NULL */
static const struct plan_region *region_holding(const struct memplan *m, const struct plan_run *u)
{
	unsigned i;

	if (u->start >= u->end || (u->start | u->end) % PAGE)
		return NULL;
	for (i = 0; i < m->nreg; i++)
		if (u->start >= m->reg[i].start && u->end <= m->reg[i].end)
			return &m->reg[i];
	return NULL;
}

static int run_check(struct memplan *m, const struct plan_run *u)
{
	const struct plan_region *g = region_holding(m, u);

	return !g || g->kind == PLAN_FILE_SHARED ? -1 : 0;
}

/* "START-END": guard pages, in address order, each range in a region */
static int guard_line(struct text *t, void *obj)
{
	struct memplan *m = ((struct memplan_text *)obj)->m;
	struct plan_run u, *p;

	if (t->n != 1 || num_range(t->f[0], 16, &u.start, &u.end) < 0 || !region_holding(m, &u) ||
	    (m->nguard && u.start < m->guard[m->nguard - 1].end))
		return warn("member %s line %u: bad range %s", t->name, t->no, t->f[0]), -1;
	if (!(p = GROW1(m->guard, m->nguard)))
		return warn("out of memory"), -1;
	*p = u;
	m->nguard++;
	return 0;
}

int memplan_guards(struct memplan *m, int pid, char *text)
{
	return memplan_each(m, pid, "guards", text, 2, guard_line);
}

/* "START-END": one run of stored pages */
static int pagemap_line(struct text *t, void *obj)
{
	struct memplan *m = ((struct memplan_text *)obj)->m;
	struct plan_run u, *p;

	if (t->n != 1 || num_range(t->f[0], 16, &u.start, &u.end) < 0 || run_check(m, &u) < 0)
		return warn("member %s line %u: bad run %s", t->name, t->no, t->f[0]), -1;
	if (m->nrun == m->run_cap) {
		m->run_cap = m->run_cap ? 2 * m->run_cap : 256;
		if (!(p = realloc(m->run, m->run_cap * sizeof *p)))
			return warn("out of memory"), -1;
		m->run = p;
	}
	m->run[m->nrun++] = u;
	m->run_bytes += u.end - u.start;
	return 0;
}

int memplan_pagemap(struct memplan *m, int pid, char *text)
{
	return memplan_each(m, pid, "pagemap", text, 2, pagemap_line);
}

static int overlaps(const struct memplan *m, uint64_t a, uint64_t len)
{
	unsigned i;
	int k;

	for (i = 0; i < m->nreg; i++)
		if (a < m->reg[i].end && m->reg[i].start < a + len)
			return 1;
	for (k = 0; k < 4; k++)
		if (m->special[k][1] && a < m->special[k][1] && m->special[k][0] < a + len)
			return 1;
	return 0;
}

/* 1 TiB and up: below the PIE area (0x55...) and far from the mmap
 * area (0x7f...), where neither the image nor the kernel's first
 * placement of the restorer is likely to be; a free page on each side,
 * so that no region of the image is its neighbour (the kernel could
 * merge the two, and the restorer's check of the layout would see a
 * region that is not the image's) */
uint64_t memplan_hole(const struct memplan *m, uint64_t len)
{
	uint64_t a;

	len = (len + PAGE - 1) & ~(PAGE - 1);
	for (a = 1ULL << 40; a < 0x7f0000000000ULL; a += 1ULL << 40)
		if (!overlaps(m, a - PAGE, len + 2 * PAGE))
			return a;
	return 0;
}

void memplan_free(struct memplan *m)
{
	free(m->reg);
	free(m->run);
	free(m->guard);
	free(m->strings);
	free(m->own);
	free(m->src);
	free(m->seg);
	memset(m, 0, sizeof *m);
}
