/* dirty.h - which pages a process wrote since its last checkpoint
 * (doc/design.md, "Dirty tracking").
 *
 * From a process's first checkpoint on, its shim holds a userfaultfd in
 * async write-protect mode over its private writable regions; at every
 * checkpoint, while the job is frozen, the tool lists with PAGEMAP_SCAN
 * the pages no longer protected (written since the last scan) and
 * protects them again.  The bits count from an epoch, the id of the
 * last image whose scan ran and which was then written whole; the shim
 * keeps it, forgets it when a scan begins, and learns the new one from
 * dirty_epoch_set once the image is out. */
#ifndef CKPT_DIRTY_H
#define CKPT_DIRTY_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "maps.h"

struct dirty_span {
	uint64_t start, end;
};

/* a region walked, before smaps says whether it is tracked: its
 * spans in the pending lists, [w0, w1) written, [p0, p1) to protect */
struct dirty_pend {
	uint64_t start, end;
	size_t w0, w1, p0, p1;
	int want;                   /* not tracked now: to register */
};

/* one process's scan */
struct dirty {
	int on;                     /* the shim tracks (dirty_begin) */
	char since[33];             /* the epoch, "" when none */
	struct dirty_span *tracked; /* regions tracked since the epoch, sorted */
	size_t ntracked, cap_tracked;
	struct dirty_span *written; /* written since, within tracked, sorted */
	size_t nwritten, cap_written;
	size_t nnew;                /* regions tracked from this scan on */
	size_t nrefused;            /* regions the kernel would not track */
	size_t nhot;                /* regions left unprotected, half or
	                             * more written (lib/dirty.c) */
	struct dirty_pend *pend;    /* the regions walked (dirty_region) */
	size_t npend;
	struct dirty_span *pw, *pp; /* their written spans, and to protect */
	size_t npw, cap_pw, npp, cap_pp;
	size_t ndropped;            /* regions walked that smaps named
	                             * untracked (dirty_finish) */
};

/* While pid is frozen on sock (its shim's connection): the epoch from
 * the shim, the scan of each region of reg[0..nreg) (the process's maps)
 * on its pagemap fd, and the regions not yet tracked registered with
 * the shim and protected, to count from this scan on.  smaps, the
 * process's /proc/PID/smaps or NULL, names hugetlb regions (VmFlags
 * "ht"), which are never tracked.  image_id, when not NULL, is the id
 * of the image this checkpoint writes: the one dirty_epoch_set may name
 * later, even after the thaw (--cow).  A region that cannot be scanned,
 * registered or protected is simply not tracked.  0, or -1 after a
 * message naming the pid (the connection failed, out of memory). */
int dirty_collect(struct dirty *d, pid_t pid, int sock, int pagemap_fd,
		  const struct map_region *reg, size_t nreg, const char *smaps,
		  const char *image_id);
/* dirty_collect in three steps, so that its walks are the page scan's
 * (lib/pagescan.h) and smaps is read meanwhile (ckpt-dumpmem).
 * dirty_begin: the epoch from the shim: 0, 1 when the shim tracks
 * nothing (an older one: every page counts written), -1 after a
 * message.  dirty_trackable: the region is one to walk with
 * dirty_region (private writable memory, the shim tracking).
 * dirty_region: its walk, the pages to store appended to runs as
 * pagescan_region would (runs NULL: the walk alone): 0; 1 when it is
 * not tracked now (new, moved by mremap, a walk that failed: nothing
 * appended, scan its pages with pagescan_region), registered at
 * dirty_finish; -ENOMEM.  dirty_finish: with smaps (as dirty_collect),
 * the regions walked settled (the written pages protected again), the
 * ones smaps names untracked dropped, the new ones registered: 0 or -1
 * after a message. */
struct pagescan;
struct run_list;
int dirty_begin(struct dirty *d, pid_t pid, int sock, const char *image_id);
int dirty_trackable(const struct dirty *d, const struct map_region *r);
int dirty_region(struct dirty *d, struct pagescan *ps, const struct map_region *r,
		 struct run_list *runs);
int dirty_finish(struct dirty *d, pid_t pid, int sock, int pagemap_fd, const char *smaps);
/* Before smaps is read: the walks' answer taken as if smaps named no
 * region untracked, for dirty_since and the walk to say; dirty_finish
 * takes it again, and counts in d->ndropped the regions it took back
 * (an answer used meanwhile must be asked again).  0 or -ENOMEM. */
int dirty_assume(struct dirty *d);
/* the epoch the scan counts from, or NULL: every page counts written */
const char *dirty_since(const struct dirty *d);
/* A walk over the pages of d in ascending address order (the cursors
 * only move forward: two binary searches a page took 3-4 ms of an
 * increment of 1 GiB).  dirty_walk_written: 1 when the page at addr
 * was written since the epoch, or is not there now (dropped by
 * MADV_DONTNEED, MADV_FREE: gone, never to come back from the parent),
 * or is not tracked (no epoch; a region new, moved by mremap, hugetlb,
 * shared, read-only, refused): never silently skipped.  0: there and
 * unchanged since the epoch.  addr never below the last one asked. */
struct dirty_walk {
	const struct dirty *d;
	size_t t, w;                /* the first tracked, written span not
	                             * ending at or before the last address */
};
void dirty_walk_init(struct dirty_walk *w, const struct dirty *d);
int dirty_walk_written(struct dirty_walk *w, uint64_t addr);
/* dirty_walk_written's answer for addr, and in *until the first
 * address above it where the answer may change (UINT64_MAX: none):
 * a walk a stretch at a time, not a page */
int dirty_walk_span(struct dirty_walk *w, uint64_t addr, uint64_t *until);
void dirty_free(struct dirty *d);

/* Tell the shim on sock that id, the image of this checkpoint, is
 * written whole: its bits count from it now.  Frozen, after
 * dirty_collect in this freeze; or later, on any connection, when
 * dirty_collect named id (a --cow checkpoint, thawed first).  0 or
 * -errno (-ENOSYS: a shim without tracking; -EINVAL: another scan came
 * since, or none named id). */
int dirty_epoch_set(int sock, const char *id);

#endif
