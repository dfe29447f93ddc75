/* pagescan.c - which pages a dump stores.
 *
 * Private regions: the pages the process made its own, i.e. anonymous
 * pages present or swapped out.  Not the shared zero page (a read
 * fault on untouched anonymous memory maps it: the restore gets zeros
 * for free) and not page-cache pages of a private file mapping that
 * were never written (the restore maps the file again).
 * Shared memory (shmem: MAP_SHARED|MAP_ANONYMOUS, memfd, SysV): the
 * present pages, since memory is their only home.  Orphans (mappings
 * of deleted files): every page, since no file can be mapped again.
 * Shared file mappings and the kernel's special regions: nothing.
 *
 * PAGEMAP_SCAN (6.7+) answers this in one ioctl per region, ~4 ms/GiB
 * (kernel/NOTES.md row 2c).  Without it, the 64-bit pagemap entries
 * tell present/swapped/file, but not the zero page when the PFN is
 * hidden (unprivileged openers see PFN 0), so anonymous pages are then
 * read and skipped when all zero. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io.h"
#include "kcompat.h"
#include "pagescan.h"

#define PAGE 4096ULL
#define SCAN_VEC 1024     /* page_regions per ioctl */
#define ENTRIES 4096      /* pagemap entries per pread: 16 MiB of memory */

void run_list_free(struct run_list *runs)
{
	free(runs->v);
	memset(runs, 0, sizeof *runs);
}

int run_list_copy(struct run_list *to, const struct run_list *from)
{
	run_list_free(to);
	if (!from->n)
		return 0;
	if (!(to->v = malloc(from->n * sizeof *to->v)))
		return -ENOMEM;
	memcpy(to->v, from->v, from->n * sizeof *to->v);
	to->n = to->cap = from->n;
	to->bytes = from->bytes;
	return 0;
}

/* append [start, end), merged with the last run unless a region
 * boundary (floor) lies between them: runs never cross regions */
int run_add(struct run_list *l, uint64_t floor, uint64_t start,
		   uint64_t end, int via_mem)
{
	struct page_run *last = l->n ? &l->v[l->n - 1] : NULL, *nv;

	if (last && last->end == start && start != floor) {
		last->end = end;
	} else {
		if (l->n == l->cap) {
			nv = realloc(l->v, (l->cap ? l->cap * 2 : 256) * sizeof *nv);
			if (!nv)
				return -ENOMEM;
			l->v = nv;
			l->cap = l->cap ? l->cap * 2 : 256;
		}
		l->v[l->n++] = (struct page_run){ start, end, via_mem, 0 };
	}
	l->bytes += end - start;
	return 0;
}

/* vmsplice takes only what the process could read itself */
static int via_mem(const struct map_region *r)
{
	return !(r->prot & PROT_READ);
}

/* a private region of anonymous memory only: no file behind it */
static int anon_only(const struct map_region *r)
{
	return r->pathlen == 0 || r->path[0] == '[';
}

/* a guard range: never read (the mem fd gives EFAULT, vmsplice too),
 * recorded for the restore to install again */
static int guard_add(struct pagescan *ps, const struct map_region *r, uint64_t start, uint64_t end)
{
	return ps->guards ? run_add(ps->guards, r->start, start, end, 0) : -EFAULT;
}

/* a range the walk reported (the exceptions) stored? */
static int range_stored(enum map_kind kind, uint64_t c)
{
	if (c & (PAGE_IS_GUARD | PAGE_IS_PFNZERO | PAGE_IS_FILE))
		return 0;
	return kind == MAP_KIND_PRIVATE ? (c & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)) != 0 :
					  (c & PAGE_IS_PRESENT) != 0;
}

/* [start, end) of r: stored, or a guard range, or neither (a hole) */
static int range_put(struct pagescan *ps, const struct map_region *r, struct run_list *runs,
		     uint64_t start, uint64_t end, int stored, uint64_t c)
{
	if (!runs || start >= end)
		return 0;
	if (stored)
		return run_add(runs, r->start, start, end, via_mem(r));
	return c & PAGE_IS_GUARD ? guard_add(ps, r, start, end) : 0;
}

/* The walk of a region set up in a, which reports only the pages that
 * are exceptions (not there, guards, the zero page, file pages; with
 * the tracking, written ones too): what lies between them is stored.
 * The kernel walks a page it need not report for less than one it
 * adds to a range: asking for the present pages of 1 GiB, all of them
 * reported in one range, took 2.8 ms; asking for the rest, 1.3 ms.
 * Each reported range to seen (when not NULL) before it is judged;
 * runs NULL: nothing kept (the tracking's walk alone).  0 or -errno */
static int scan_walk(struct pagescan *ps, const struct map_region *r, enum map_kind kind,
		     struct pm_scan_arg *a, struct run_list *runs, const struct pagescan_seen *seen)
{
	static struct page_region vec[SCAN_VEC];
	uint64_t at;
	long n, i;
	int e = 0;

	a->vec = (uintptr_t)vec;
	a->vec_len = SCAN_VEC;
	while (a->start < a->end) {
		n = ioctl(ps->pagemap_fd, PAGEMAP_SCAN, a);
		if (n < 0)
			return -errno;
		for (at = a->start, i = 0; e == 0 && i < n; at = vec[i++].end) {
			if (seen && (e = seen->fn(seen->ctx, vec[i].start, vec[i].end,
						  vec[i].categories)) < 0)
				break;
			if ((e = range_put(ps, r, runs, at, vec[i].start, 1, 0)) == 0)
				e = range_put(ps, r, runs, vec[i].start, vec[i].end,
					      range_stored(kind, vec[i].categories), vec[i].categories);
		}
		if (e == 0)
			e = range_put(ps, r, runs, at, a->walk_end, 1, 0);
		if (e)
			return e;
		if (a->walk_end <= a->start)
			return -EIO;   /* no progress: never loop forever */
		a->start = a->walk_end;
	}
	return 0;
}

/* The exceptions of a private region: pages not there (not present;
 * a swapped page is reported, and stored), the zero page (a read
 * fault on untouched anonymous memory maps it), and file pages (the
 * page cache's, never written).  A region of no file (its maps line
 * names none, or a "[...]" of the kernel's) holds no file page: asking
 * would make the kernel look at each page's struct page, a cache miss
 * a page (13 ms of 1 GiB; 4 ms without).  A guard page
 * (MADV_GUARD_INSTALL, 6.13+) is a marker in the page table that the
 * scan reports as PAGE_IS_SWAPPED|PAGE_IS_GUARD (measured on 6.18):
 * asking for the guard category back keeps it a range of its own,
 * which goes to the guards, not to the runs. */
static void scan_setup(struct pm_scan_arg *a, const struct map_region *r, enum map_kind kind)
{
	*a = (struct pm_scan_arg){ .size = sizeof *a, .start = r->start, .end = r->end,
				   .category_inverted = PAGE_IS_PRESENT,
				   .category_anyof_mask = PAGE_IS_PRESENT,   /* not present */
				   .return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_GUARD };
	if (kind != MAP_KIND_PRIVATE)
		return;   /* shared memory: its present pages */
	a->category_anyof_mask |= PAGE_IS_PFNZERO | (anon_only(r) ? 0 : PAGE_IS_FILE);
	a->return_mask |= PAGE_IS_PFNZERO | (anon_only(r) ? 0 : PAGE_IS_FILE);
}

#define SCAN_CHUNK (64ULL << 20)

/* A region's walk set up in a, a big one from its top down, 64 MiB at
 * a time, each part's runs kept apart and then appended in address
 * order.  ckpt-dumpmem reads smaps meanwhile, whose walk takes the
 * lock of each page table in turn for ~10 us (it looks at each page's
 * struct page): a walk of ours behind it in the same direction waits
 * at each table, and ran at its pace (1.4 ms of 1 GiB became 5-6); top
 * down they cross once. */
static int scan_region_walk(struct pagescan *ps, const struct map_region *r, enum map_kind kind,
			    struct pm_scan_arg *a, struct run_list *runs,
			    const struct pagescan_seen *seen)
{
	size_t n = (r->end - r->start + SCAN_CHUNK - 1) / SCAN_CHUNK, k, i;
	struct run_list *part;
	int e = 0;

	if (n < 2 || !runs)
		return scan_walk(ps, r, kind, a, runs, seen);
	if (!(part = calloc(n, sizeof *part)))
		return -ENOMEM;
	for (k = n; e == 0 && k-- > 0;) {
		a->start = r->start + k * SCAN_CHUNK;
		a->end = k == n - 1 ? r->end : a->start + SCAN_CHUNK;
		e = scan_walk(ps, r, kind, a, &part[k], seen);
	}
	for (k = 0; k < n; k++) {
		for (i = 0; e == 0 && i < part[k].n; i++)
			e = run_add(runs, r->start, part[k].v[i].start, part[k].v[i].end,
				    part[k].v[i].via_mem);
		run_list_free(&part[k]);
	}
	free(part);
	return e;
}

static int scan_ioctl(struct pagescan *ps, const struct map_region *r,
		      enum map_kind kind, struct run_list *runs)
{
	struct pm_scan_arg a;

	scan_setup(&a, r, kind);
	return scan_region_walk(ps, r, kind, &a, runs, NULL);
}

int pagescan_region_tracked(struct pagescan *ps, const struct map_region *r,
			    struct run_list *runs, const struct pagescan_seen *seen)
{
	struct pm_scan_arg a;
	size_t n0 = runs ? runs->n : 0, g0 = ps->guards ? ps->guards->n : 0;
	uint64_t b0 = runs ? runs->bytes : 0;
	int e;

	if (ps->no_ioctl)
		return -ENOTTY;
	scan_setup(&a, r, MAP_KIND_PRIVATE);
	a.flags = PM_SCAN_CHECK_WPASYNC;
	a.category_anyof_mask |= PAGE_IS_WRITTEN;
	a.return_mask |= PAGE_IS_WRITTEN;
	e = scan_region_walk(ps, r, MAP_KIND_PRIVATE, &a, runs, seen);
	if (e < 0 && runs) {   /* nothing of the region kept: scanned again */
		runs->n = n0;
		runs->bytes = b0;
		if (ps->guards)
			ps->guards->n = g0;
	}
	return e;
}

struct guard_seen {
	struct pagescan *ps;
	const struct map_region *r;
};

static int guard_seen(void *ctx, uint64_t start, uint64_t end, uint64_t c)
{
	struct guard_seen *g = ctx;

	(void)c;
	return guard_add(g->ps, g->r, start, end);
}

/* the guard ranges of a region whose pages are not scanned: the walk
 * asks for them alone, each reported range one */
static int scan_guards(struct pagescan *ps, const struct map_region *r)
{
	struct pm_scan_arg a = {
		.size = sizeof a, .start = r->start, .end = r->end,
		.category_mask = PAGE_IS_GUARD, .return_mask = PAGE_IS_GUARD,
	};
	struct guard_seen g = { ps, r };
	int e = ps->no_ioctl ? 0 :
		scan_walk(ps, r, MAP_KIND_SHARED_FILE, &a, NULL, &(struct pagescan_seen){ guard_seen, &g });

	if (e != -ENOTTY && e != -EINVAL)
		return e;
	ps->no_ioctl = 1;   /* kernel < 6.7: no guard pages either (6.13) */
	return 0;
}

/* an orphan: all of it, read through the mem fd, which faults absent
 * pages in from the file the mapping still holds (vmsplice would not);
 * all but its guard pages */
static int orphan_runs(struct pagescan *ps, const struct map_region *r, struct run_list *runs)
{
	size_t k = ps->guards ? ps->guards->n : 0;
	uint64_t at = r->start;
	int e;

	if ((e = scan_guards(ps, r)) < 0)
		return e;
	for (; ps->guards && k < ps->guards->n; at = ps->guards->v[k++].end)
		if (ps->guards->v[k].start > at &&
		    (e = run_add(runs, r->start, at, ps->guards->v[k].start, 1)))
			return e;
	return at < r->end ? run_add(runs, r->start, at, r->end, 1) : 0;
}

static int all_zero(const void *p)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < PAGE / 8; i++)
		if (w[i])
			return 0;
	return 1;
}

/* the zero page can only be mapped in anonymous regions (also a
 * private mapping of /dev/zero); a written page of a private file
 * mapping may be all zeros and must be kept */
static int may_map_zero_page(const struct map_region *r)
{
	return r->pathlen == 0 || r->path[0] == '[' ||
	       (r->pathlen == 9 && !memcmp(r->path, "/dev/zero", 9)) ||
	       !map_is_file(r);
}

/* pages [addr, addr + n*PAGE) are all wanted: read them and keep
 * the ones that are not all zero */
static int add_nonzero(struct pagescan *ps, const struct map_region *r,
		       struct run_list *runs, uint64_t addr, size_t n)
{
	static char buf[64 * PAGE];
	size_t k, i;
	ssize_t got;
	int e;

	for (; n; n -= k, addr += k * PAGE) {
		k = n < 64 ? n : 64;
		got = pread(ps->mem_fd, buf, k * PAGE, addr);
		if (got < 0)
			return -errno;
		if ((size_t)got != k * PAGE)
			return -EIO;
		for (i = 0; i < k; i++)
			if (!all_zero(buf + i * PAGE) &&
			    (e = run_add(runs, r->start, addr + i * PAGE,
					 addr + (i + 1) * PAGE, via_mem(r))))
				return e;
	}
	return 0;
}

static int entry_wanted(enum map_kind kind, uint64_t e)
{
	if (e & PM_ENTRY_GUARD)
		return 0;
	if (kind != MAP_KIND_PRIVATE)
		return (e & PM_ENTRY_PRESENT) != 0;
	return (e & (PM_ENTRY_PRESENT | PM_ENTRY_SWAPPED)) && !(e & PM_ENTRY_FILE);
}

/* pages [addr, addr + n*PAGE) are all wanted */
static int add_wanted(struct pagescan *ps, const struct map_region *r,
		      enum map_kind kind, struct run_list *runs, uint64_t addr,
		      size_t n)
{
	if (kind == MAP_KIND_PRIVATE && may_map_zero_page(r))
		return add_nonzero(ps, r, runs, addr, n);
	return run_add(runs, r->start, addr, addr + n * PAGE, via_mem(r));
}

static int scan_entries(struct pagescan *ps, const struct map_region *r,
			enum map_kind kind, struct run_list *runs)
{
	static uint64_t ent[ENTRIES];
	uint64_t addr;
	size_t n, i, j;
	ssize_t got;
	int e;

	for (addr = r->start; addr < r->end; addr += n * PAGE) {
		n = (r->end - addr) / PAGE;
		if (n > ENTRIES)
			n = ENTRIES;
		got = pread(ps->pagemap_fd, ent, n * 8, addr / PAGE * 8);
		if (got < 0)
			return -errno;
		if ((size_t)got != n * 8)
			return -EIO;
		for (i = 0; i < n; i = j) {
			for (j = i; j < n && entry_wanted(kind, ent[j]); j++)
				;
			if (j > i && (e = add_wanted(ps, r, kind, runs, addr + i * PAGE, j - i)))
				return e;
			if (j == i && (ent[j] & PM_ENTRY_GUARD) &&
			    (e = guard_add(ps, r, addr + i * PAGE, addr + (i + 1) * PAGE)))
				return e;
			if (j == i)
				j++;
		}
	}
	return 0;
}

int pagescan_region(struct pagescan *ps, const struct map_region *r,
		    enum map_kind kind, struct run_list *runs)
{
	int e;

	switch (kind) {
	case MAP_KIND_SPECIAL:
		return 0;
	case MAP_KIND_SHARED_FILE:
		return scan_guards(ps, r);
	case MAP_KIND_ORPHAN:
		return orphan_runs(ps, r, runs);
	default:
		break;
	}
	if (!ps->no_ioctl) {
		e = scan_ioctl(ps, r, kind, runs);
		if (e != -ENOTTY && e != -EINVAL)
			return e;
		ps->no_ioctl = 1;   /* kernel < 6.7 */
	}
	return scan_entries(ps, r, kind, runs);
}

static int seen_add(struct shm_views *sv, const struct map_region *r, uint64_t lo, uint64_t hi)
{
	struct shm_seen *v;

	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? 2 * sv->cap : 16;
		if (!(v = realloc(sv->v, sv->cap * sizeof *v)))
			return -ENOMEM;
		sv->v = v;
	}
	sv->v[sv->n++] = (struct shm_seen){ r->dev_major, r->dev_minor, r->inode, lo, hi };
	return 0;
}

/* [a, b) of region r, less what earlier views of its object stored
 * (from sv->v[k] on), appended to the runs */
static int shm_emit(struct shm_views *sv, struct run_list *runs, const struct map_region *r,
		    uint64_t a, uint64_t b, size_t k, int via_mem)
{
	const struct shm_seen *s;
	uint64_t lo, hi;
	int e;

	for (; k < sv->n && a < b; k++) {
		s = &sv->v[k];
		if (s->ino != r->inode || s->major != r->dev_major || s->minor != r->dev_minor ||
		    s->hi <= r->offset)
			continue;
		/* the seen range at this view's addresses */
		lo = s->lo <= r->offset ? r->start : s->lo - r->offset + r->start;
		hi = s->hi - r->offset + r->start;
		if (hi <= a || lo >= b)
			continue;
		if (lo > a && (e = shm_emit(sv, runs, r, a, lo, k + 1, via_mem)))
			return e;
		a = hi;
	}
	return a < b ? run_add(runs, r->start, a, b, via_mem) : 0;
}

int shm_views_once(struct shm_views *sv, struct run_list *runs, const struct map_region *r,
		   size_t n0)
{
	struct page_run *mine;
	size_t n = runs->n - n0, i;
	int e = 0;

	if (!(mine = malloc((n ? n : 1) * sizeof *mine)))
		return -ENOMEM;
	memcpy(mine, runs->v + n0, n * sizeof *mine);
	for (i = 0; i < n; i++)
		runs->bytes -= mine[i].end - mine[i].start;
	runs->n = n0;
	for (i = 0; !e && i < n; i++)
		e = shm_emit(sv, runs, r, mine[i].start, mine[i].end, 0, mine[i].via_mem);
	for (i = n0; !e && i < runs->n; i++)
		e = seen_add(sv, r, runs->v[i].start - r->start + r->offset,
			     runs->v[i].end - r->start + r->offset);
	free(mine);
	return e;
}


void shm_views_free(struct shm_views *sv)
{
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

/* "MAJ:MIN INO LO HI", hex, one seen range a line */
int shm_views_load(struct shm_views *sv, int fd)
{
	struct shm_seen s;
	char *text, *line;
	size_t len;
	int e = 0;

	if (!(text = read_fd_all(fd, &len)))
		return -errno;
	for (line = text; !e && *line; line = strchr(line, '\n') + 1) {
		if (!strchr(line, '\n') ||
		    sscanf(line, "%x:%x %" SCNx64 " %" SCNx64 " %" SCNx64, &s.major, &s.minor,
			   &s.ino, &s.lo, &s.hi) != 5 || s.lo >= s.hi) {
			e = -EINVAL;
			break;
		}
		if (sv->n == sv->cap) {
			struct shm_seen *v = realloc(sv->v, (sv->cap = sv->cap ? 2 * sv->cap : 16) * sizeof *v);

			if (!v) {
				e = -ENOMEM;
				break;
			}
			sv->v = v;
		}
		sv->v[sv->n++] = s;
	}
	free(text);
	return e;
}

int shm_views_save(const struct shm_views *sv, size_t from, int fd)
{
	char line[96];
	size_t i;
	int n, e;

	if (lseek(fd, 0, SEEK_END) < 0)
		return -errno;
	for (i = from; i < sv->n; i++) {
		n = snprintf(line, sizeof line, "%x:%x %" PRIx64 " %" PRIx64 " %" PRIx64 "\n",
			     sv->v[i].major, sv->v[i].minor, sv->v[i].ino, sv->v[i].lo, sv->v[i].hi);
		if ((e = write_all(fd, line, n)) < 0)
			return e;
	}
	return 0;
}
