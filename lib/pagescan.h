/* pagescan.h - which pages of a region a dump stores (formats/memory.md) */
#ifndef CKPT_PAGESCAN_H
#define CKPT_PAGESCAN_H
#include <stddef.h>
#include <stdint.h>

#include "maps.h"

/* a run of stored pages, inside one region */
struct page_run {
	uint64_t start, end;
	int via_mem;          /* read through the mem fd, not vmspliced:
	                       * the region lacks PROT_READ (the mem fd reads
	                       * with FOLL_FORCE), or it is an orphan, whose
	                       * pages past the file's end fail (read as 0) */
	int held;             /* --cow: copied while frozen, for the
	                       * snapshot cannot hold it (lib/cow.h) */
};

struct run_list {
	struct page_run *v;
	size_t n, cap;
	uint64_t bytes;       /* sum of the runs' lengths */
};

struct pagescan {
	int pagemap_fd;       /* the target's /proc/PID/pagemap */
	int mem_fd;           /* its /proc/PID/mem: the fallback reads
	                       * anonymous pages to skip the zero ones */
	int no_ioctl;         /* PAGEMAP_SCAN missing (kernel < 6.7): read
	                       * the 64-bit entries instead */
	struct run_list *guards; /* the guard pages found (MADV_GUARD_INSTALL):
	                       * never read (EFAULT), made again by a restore */
};

/* Append to runs the pages of r to store, in address order, for a
 * region of that kind: map_kind(r), or MAP_KIND_ORPHAN for a file
 * mapping whose file is not there to map again; and its guard pages
 * to ps->guards, none of which is in runs.  0 or -errno. */
int pagescan_region(struct pagescan *ps, const struct map_region *r,
		    enum map_kind kind, struct run_list *runs);
/* A private region's pages, as pagescan_region finds them, and in the
 * same walk the tracking's answer (lib/dirty.c): the region must be
 * registered with a userfaultfd in async write-protect mode (else
 * -EPERM, and nothing appended: scan it with pagescan_region).  Every
 * range the walk reports goes to seen->fn (start, end, PAGE_IS_*
 * categories: PRESENT, SWAPPED, WRITTEN, PFNZERO, GUARD, FILE) before
 * it is judged: the pages written since their protection, those not
 * there, and the zero page's and file pages; the pages it does not
 * report are there and unwritten.  fn returns 0, or -errno to stop the
 * walk.  runs NULL: only the walk for seen.  0 or -errno. */
struct pagescan_seen {
	int (*fn)(void *ctx, uint64_t start, uint64_t end, uint64_t categories);
	void *ctx;
};
int pagescan_region_tracked(struct pagescan *ps, const struct map_region *r,
			    struct run_list *runs, const struct pagescan_seen *seen);
/* append [start, end) of the region starting at floor (merged with
 * the last run when it ends at start and start is not floor): 0 or
 * -ENOMEM */
int run_add(struct run_list *runs, uint64_t floor, uint64_t start, uint64_t end, int via_mem);
void run_list_free(struct run_list *runs);
/* to = from (to freed first): 0 or -ENOMEM */
int run_list_copy(struct run_list *to, const struct run_list *from);

/* a range of a shared memory object (dev, inode) whose pages are in
 * the image already, through some view: offsets in the object */
struct shm_seen {
	unsigned major, minor;
	uint64_t ino, lo, hi;
};

struct shm_views {
	struct shm_seen *v;
	size_t n, cap;
};

/* Views of one shared memory object (a memfd mapped twice, shared
 * anonymous memory given a second address by mremap) show the same
 * pages: each is stored once, through the first view whose page
 * tables have it; a restore maps every view of the object from one
 * object (formats/memory.md).  The runs of region r from n0 on lose
 * what sv says is stored, and sv learns what is left: 0 or -ENOMEM. */
int shm_views_once(struct shm_views *sv, struct run_list *runs, const struct map_region *r,
		   size_t n0);
void shm_views_free(struct shm_views *sv);
/* The job's table (a file shared by the dumps of a job's processes,
 * ckpt-dumpmem --shm-table): what the processes before this one
 * stored of each object, so that a page is stored once in the whole
 * stream (formats/memory.md).  load appends the file's ranges to sv;
 * save appends sv's ranges from index from on to the file.  0, or
 * -errno (-EINVAL: a malformed line). */
int shm_views_load(struct shm_views *sv, int fd);
int shm_views_save(const struct shm_views *sv, size_t from, int fd);

#endif
