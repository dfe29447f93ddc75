/* dirty.c - the tool's half of dirty tracking: the epoch from the
 * shim, a PAGEMAP_SCAN of each tracked region, new regions registered
 * (dirty.h; the shim's half is preload/dirty.c).
 *
 * PAGEMAP_SCAN with PM_SCAN_WP_MATCHING lists the pages whose
 * write-protection is gone (PAGE_IS_WRITTEN) and protects them again in
 * the same walk; with PM_SCAN_CHECK_WPASYNC it fails with EPERM on a
 * region not registered in async write-protect mode, which is how a
 * region new since the last scan, or moved by mremap (the kernel drops
 * a moved region's registration), is found: the kernel says, not a
 * record of ours (kernel/NOTES.md 2c, 2e). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ctl.h"
#include "dirty.h"
#include "err.h"
#include "grow.h"
#include "kcompat.h"
#include "pagescan.h"

#define SCAN_VEC 4096

static int span_add(struct dirty_span **v, size_t *n, size_t *cap, uint64_t start, uint64_t end)
{
	struct dirty_span *nv;

	if (*n && (*v)[*n - 1].end == start) {
		(*v)[*n - 1].end = end;
		return 0;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		if (!(nv = realloc(*v, *cap * sizeof *nv)))
			return -ENOMEM;
		*v = nv;
	}
	(*v)[(*n)++] = (struct dirty_span){ start, end };
	return 0;
}

/* The written pages of [start, end) protected again.  Only pages
 * there (present or swapped): the kernel counts an empty entry of a
 * page table as written too, and protecting it would put a marker there
 * that pagemap shows as a swapped page, which a dump would then store
 * (as zeros).  0, or -errno (EPERM: not registered in async
 * write-protect mode; the pages protected before a failure stay so,
 * which only makes them count written at the next scan rather than
 * this one's) */
static int protect_written(int pagemap_fd, uint64_t start, uint64_t end)
{
	static struct page_region vec[SCAN_VEC];
	struct pm_scan_arg a = {
		.size = sizeof a, .flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = start, .end = end, .vec = (uintptr_t)vec, .vec_len = SCAN_VEC,
		.category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN,
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
	};

	while (a.start < end) {
		if (ioctl(pagemap_fd, PAGEMAP_SCAN, &a) < 0)
			return -errno;
		if (a.walk_end <= a.start)
			return -EIO;   /* no progress: never loop forever */
		a.start = a.walk_end;
	}
	return 0;
}

/* What the walk of a region tracked since the last scan reports
 * (pagescan_region_tracked): the pages written since (present or
 * swapped, and unprotected) and the pages not there (dropped since the
 * epoch by MADV_DONTNEED, MADV_FREE, or never there) go to the
 * region's written spans, so that dirty_walk_written never says
 * "unchanged" of a page the parent held and this process dropped.
 * Swapped pages count too: a dropped page of a private file mapping
 * that was protected leaves a marker, which pagemap shows as swapped
 * and not written, and which reads back the file's bytes, not the
 * parent's (t/incr.bats, base + 5 increments, caught it).  The written
 * ones also to its spans to protect again.  The walk only reports:
 * protecting in it would fill the holes of a sparse region with
 * markers, and their page tables, and counts an empty entry of a page
 * table as written.  Present pages it reports unwritten (the zero
 * page, file pages) are there and unchanged.  0 or -ENOMEM. */
static int pend_seen(void *ctx, uint64_t start, uint64_t end, uint64_t c)
{
	struct dirty *d = ctx;
	int e;

	if ((c & PAGE_IS_PRESENT) && !(c & PAGE_IS_WRITTEN))
		return 0;   /* there and unchanged */
	if ((e = span_add(&d->pw, &d->npw, &d->cap_pw, start, end)) < 0)
		return e;
	if ((c & PAGE_IS_WRITTEN) && (c & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)))
		return span_add(&d->pp, &d->npp, &d->cap_pp, start, end);
	return 0;
}

/* The sample of a big region: the first page of each MiB from its
 * start, 1/256 of its pages (1/64 cost a loop over 1 GiB 11 ms more
 * after a checkpoint that learns anew; 1/256, 3 ms).  Regions under
 * 4 MiB have none: all of their pages are their sample. */
#define SAMPLE_BLOCK (1ULL << 20)
#define SAMPLE_LEN 4096ULL
#define SAMPLE_MIN (4ULL << 20)

/* the bytes of [s, e) in the sample of the region at base */
static uint64_t sample_bytes(uint64_t base, uint64_t s, uint64_t e)
{
	uint64_t n = 0, b, lo, hi;

	for (b = (s - base) / SAMPLE_BLOCK * SAMPLE_BLOCK + base; b < e; b += SAMPLE_BLOCK) {
		lo = b > s ? b : s;
		hi = b + SAMPLE_LEN < e ? b + SAMPLE_LEN : e;
		if (hi > lo)
			n += hi - lo;
	}
	return n;
}

/* the written spans prot[0..n) protected again, only their sample
 * when sample (a hot region learning anew); 0 or -errno */
static int protect_spans(int pagemap_fd, uint64_t base, const struct dirty_span *prot, size_t n,
			 int sample)
{
	uint64_t b, lo, hi;
	size_t i;
	int e = 0;

	for (i = 0; e == 0 && i < n; i++) {
		if (!sample) {
			e = protect_written(pagemap_fd, prot[i].start, prot[i].end);
			continue;
		}
		for (b = (prot[i].start - base) / SAMPLE_BLOCK * SAMPLE_BLOCK + base;
		     e == 0 && b < prot[i].end; b += SAMPLE_BLOCK) {
			lo = b > prot[i].start ? b : prot[i].start;
			hi = b + SAMPLE_LEN < prot[i].end ? b + SAMPLE_LEN : prot[i].end;
			if (hi > lo)
				e = protect_written(pagemap_fd, lo, hi);
		}
	}
	return e;
}

/* A region tracked since the last scan, walked (pend_seen): its
 * written pages and holes into d, the written ones protected again,
 * unless at least half of the region's sample was written since.  Such
 * a hot region is left open: the program writes on without a fault per
 * page (about 1 us each: a loop writing a byte per page over 1 GiB took
 * 0.3-0.6 s after each checkpoint instead of 7-20 ms,
 * bench/incremental-tracking), and every page of it counts written at
 * the next scan, when a dump reads and compares it, as it would read
 * the pages written anyway.  To learn again whether a hot region
 * cooled down, its sample (1/256 of it, when it is 4 MiB or more: the
 * program's next pass pays a fault for 1/256 of its pages, not all) is
 * protected at a scan with no epoch and at one in 16 others (the
 * epoch's last digit 0: the ids are random); the next scan judges by
 * the sample alone.  Only the written runs are walked again to protect
 * them: nothing moves between the walks, the process is frozen.  0 or
 * -errno. */
static int region_settle(struct dirty *d, int pagemap_fd, const struct dirty_pend *r)
{
	const struct dirty_span *prot = d->pp + r->p0;
	size_t nprot = r->p1 - r->p0, i;
	uint64_t written = 0, all = r->end - r->start;
	int e = 0, hot, sampled;

	sampled = all >= SAMPLE_MIN;
	if (sampled)
		all = sample_bytes(r->start, r->start, r->end);
	for (i = 0; i < nprot; i++)
		written += sampled ? sample_bytes(r->start, prot[i].start, prot[i].end) :
				     prot[i].end - prot[i].start;
	hot = 2 * written >= all;
	if (hot && d->since[0] && d->since[31] != '0')
		d->nhot++;
	else
		e = protect_spans(pagemap_fd, r->start, prot, nprot, hot && sampled);
	for (i = r->w0; e == 0 && i < r->w1; i++)
		e = span_add(&d->written, &d->nwritten, &d->cap_written, d->pw[i].start,
			     d->pw[i].end);
	return e;
}

static int span_cmp(const void *a, const void *b)
{
	const struct dirty_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* the written list sorted and its touching spans joined (the holes'
 * walk and the written one's interleave) */
static void written_sort(struct dirty *d)
{
	size_t i, k = 0;

	if (!d->nwritten)
		return;
	qsort(d->written, d->nwritten, sizeof *d->written, span_cmp);
	for (i = 1; i < d->nwritten; i++) {
		if (d->written[i].start <= d->written[k].end) {
			if (d->written[i].end > d->written[k].end)
				d->written[k].end = d->written[i].end;
		} else {
			d->written[++k] = d->written[i];
		}
	}
	d->nwritten = k + 1;
}

/* 1 when the smaps line is "KEY: N kB" with N > 0 */
static int smaps_nonzero(const char *line, const char *key)
{
	size_t n = strlen(key);

	return !strncmp(line, key, n) && strtoull(line + n, NULL, 10) > 0;
}

/* 1 when the VmFlags line [line, eol) has the code (" ht"); looks no
 * further than the line (smaps of 8000 regions is megabytes) */
static int vmflag_has(const char *line, const char *eol, const char *code)
{
	const char *end = eol ? eol : line + strlen(line), *c = line;

	while ((c = memmem(c, end - c, code, 3))) {
		if (c + 3 == end || c[3] == ' ')
			return 1;
		c += 3;
	}
	return 0;
}

/* The starts of the regions smaps says are not to be tracked: a
 * malloc'd array of *n, NULL when none.  hugetlb (VmFlags "ht"):
 * untried.  Transparent huge pages (AnonHugePages, or VmFlags "hg",
 * MADV_HUGEPAGE, where they come at the first touch): the first write
 * to a protected huge page splits it, and khugepaged never joins the
 * pages of a registered region again: 1 GiB of THP lost all of it at
 * the first pass after a checkpoint, and wrote 2-3x slower than 4 KiB
 * pages (bench/incremental-tracking).  Such a region is compared by
 * hash instead; the program keeps its huge pages. */
static uint64_t *smaps_untracked(const char *smaps, size_t *n)
{
	uint64_t a, cur = 0, *v = NULL, *nv;
	const char *line, *eol;
	int skip;

	*n = 0;
	for (line = smaps; line && *line; line = eol ? eol + 1 : NULL) {
		eol = strchr(line, '\n');
		if (smaps_head(line, &a, NULL))
			cur = a;
		skip = smaps_nonzero(line, "AnonHugePages:") ||
		       (!strncmp(line, "VmFlags:", 8) &&
			(vmflag_has(line, eol, " ht") || vmflag_has(line, eol, " hg")));
		if (!skip)
			continue;
		if (!(nv = realloc(v, (*n + 1) * sizeof *v)))
			break;
		v = nv;
		v[(*n)++] = cur;
	}
	return v;
}

/* what the shim registers: private writable memory (shared memory is
 * another's to write too; special regions are the kernel's) */
static int region_trackable(const struct map_region *r)
{
	return !r->shared && (r->prot & PROT_WRITE) && map_kind(r) != MAP_KIND_SPECIAL;
}

/* the region at start is one smaps names untracked (ht[0..nht),
 * smaps_untracked) */
static int smaps_names(const uint64_t *ht, size_t nht, uint64_t start)
{
	size_t i;

	for (i = 0; i < nht; i++)
		if (ht[i] == start)
			return 1;
	return 0;
}

int dirty_trackable(const struct dirty *d, const struct map_region *r)
{
	return d->on && region_trackable(r);
}

/* CKPT_OP_DIRTY: the epoch into d->since; 0, 1 when the shim tracks
 * nothing (an older one), -1 after a message */
static int epoch_fetch(struct dirty *d, pid_t pid, int sock, const char *image_id)
{
	struct ckpt_dirty_rec rec;
	struct ctl_call c = { .op = CKPT_OP_DIRTY, .reply = &rec, .replen = sizeof rec };

	if (image_id && strlen(image_id) == 32) {   /* the one a later epoch may name */
		c.payload = image_id;
		c.len = 32;
	}
	int r = ctl_call(sock, &c);

	if (r == -ENOSYS)
		return 1;
	if (r == 0 && c.replen != sizeof rec)
		r = -EPROTO;
	if (r < 0)
		return warnerr(r, "pid %d: dirty tracking:", (int)pid), -1;
	/* the shim is the program's: an epoch that is no image id is none */
	memcpy(d->since, rec.epoch, 32);
	d->since[32] = 0;
	if (strspn(d->since, "0123456789abcdef") != 32)
		d->since[0] = 0;
	return 0;
}

/* CKPT_OP_TRACK for want[0..n): each registered one protected, to
 * count from this scan on; d counts them, and those refused.  0, or -1
 * after a message (the connection) */
static int regions_track(struct dirty *d, pid_t pid, int sock, int pagemap_fd,
			 const struct ckpt_range *want, size_t n)
{
	static int32_t res[CKPT_TRACK_MAX];
	struct ctl_call c;
	size_t i, k, done;
	int r;

	for (done = 0; done < n; done += k) {
		k = n - done < CKPT_TRACK_MAX ? n - done : CKPT_TRACK_MAX;
		c = (struct ctl_call){ .op = CKPT_OP_TRACK, .payload = want + done,
				       .len = k * sizeof *want, .reply = res, .replen = sizeof res };
		r = ctl_call(sock, &c);
		if (r < 0 && r == c.rep.err) {
			/* the shim's answer: no userfaultfd for this process
			 * (seccomp, a kernel without it): nothing is tracked,
			 * every page counts */
			d->nrefused += n - done;
			return 0;
		}
		if (r < 0 || c.replen != k * sizeof *res)
			return warnerr(r ? r : -EPROTO, "pid %d: dirty tracking:", (int)pid), -1;
		for (i = 0; i < k; i++) {
			if (res[i] == 0 && protect_written(pagemap_fd, want[done + i].start,
							   want[done + i].start + want[done + i].len) == 0)
				d->nnew++;
			else
				d->nrefused++;
		}
	}
	return 0;
}

static int want_add(struct ckpt_range **want, size_t *n, size_t *cap, const struct dirty_pend *r)
{
	struct ckpt_range *nw;

	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		if (!(nw = realloc(*want, *cap * sizeof *nw)))
			return -ENOMEM;
		*want = nw;
	}
	(*want)[(*n)++] = (struct ckpt_range){ r->start, r->end - r->start };
	return 0;
}

int dirty_begin(struct dirty *d, pid_t pid, int sock, const char *image_id)
{
	int r;

	memset(d, 0, sizeof *d);
	if ((r = epoch_fetch(d, pid, sock, image_id)) == 0)
		d->on = 1;
	return r;
}

/* one per region walked: a realloc each is nothing beside the walk */
static int pend_add(struct dirty *d, const struct dirty_pend *p)
{
	struct dirty_pend *e = GROW1(d->pend, d->npend);

	if (!e)
		return -ENOMEM;
	*e = *p;
	d->npend++;
	return 0;
}

int dirty_region(struct dirty *d, struct pagescan *ps, const struct map_region *r,
		 struct run_list *runs)
{
	struct dirty_pend p = { r->start, r->end, d->npw, d->npw, d->npp, d->npp, 0 };
	struct pagescan_seen seen = { pend_seen, d };
	int e = pagescan_region_tracked(ps, r, runs, &seen);

	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		/* new, moved (EPERM), or the walk failed: registered at
		 * dirty_finish, what it reported forgotten */
		d->npw = p.w0;
		d->npp = p.p0;
		p.want = 1;
	}
	p.w1 = d->npw;
	p.p1 = d->npp;
	return pend_add(d, &p) < 0 ? -ENOMEM : p.want;
}

/* The regions walked: each tracked since the epoch settled (its
 * written pages kept, protected again), the others to register into
 * *want; the ones smaps names untracked neither.  0 or -ENOMEM. */
static int pend_settle(struct dirty *d, int pagemap_fd, const uint64_t *ht, size_t nht,
		       struct ckpt_range **want, size_t *nwant)
{
	size_t i, cap = 0;
	const struct dirty_pend *p;
	int e = 0;

	for (i = 0; i < d->npend && e != -ENOMEM; i++) {
		p = &d->pend[i];
		if (smaps_names(ht, nht, p->start))
			continue;
		e = p->want ? -EPERM : region_settle(d, pagemap_fd, p);
		if (e == 0)
			e = span_add(&d->tracked, &d->ntracked, &d->cap_tracked, p->start, p->end);
		else if (e != -ENOMEM)
			e = want_add(want, nwant, &cap, p);
	}
	return e == -ENOMEM ? e : 0;
}

int dirty_assume(struct dirty *d)
{
	const struct dirty_pend *p;
	size_t i, k;
	int e = 0;

	d->ntracked = d->nwritten = 0;
	for (i = 0; e == 0 && i < d->npend; i++) {
		if ((p = &d->pend[i])->want)
			continue;
		for (k = p->w0; e == 0 && k < p->w1; k++)
			e = span_add(&d->written, &d->nwritten, &d->cap_written, d->pw[k].start,
				     d->pw[k].end);
		if (e == 0)
			e = span_add(&d->tracked, &d->ntracked, &d->cap_tracked, p->start, p->end);
	}
	written_sort(d);
	return e;
}

int dirty_finish(struct dirty *d, pid_t pid, int sock, int pagemap_fd, const char *smaps)
{
	struct ckpt_range *want = NULL;
	size_t nwant = 0, i, nht;
	uint64_t *ht;
	int r;

	if (!d->on)
		return 0;
	/* what dirty_assume took, taken again with smaps */
	d->ntracked = d->nwritten = 0;
	ht = smaps_untracked(smaps, &nht);
	for (i = 0; i < d->npend; i++)
		d->ndropped += !d->pend[i].want && smaps_names(ht, nht, d->pend[i].start);
	r = pend_settle(d, pagemap_fd, ht, nht, &want, &nwant);
	free(ht);
	if (r < 0) {
		free(want);
		return warn("pid %d: dirty tracking: out of memory", (int)pid), -1;
	}
	written_sort(d);
	r = nwant ? regions_track(d, pid, sock, pagemap_fd, want, nwant) : 0;
	free(want);
	return r;
}

int dirty_collect(struct dirty *d, pid_t pid, int sock, int pagemap_fd,
		  const struct map_region *reg, size_t nreg, const char *smaps,
		  const char *image_id)
{
	struct pagescan ps = { .pagemap_fd = pagemap_fd, .mem_fd = -1 };
	size_t i;
	int r;

	if ((r = dirty_begin(d, pid, sock, image_id)) != 0)
		return r < 0 ? -1 : 0;
	for (i = 0; i < nreg; i++)
		if (dirty_trackable(d, &reg[i]) && dirty_region(d, &ps, &reg[i], NULL) < 0)
			return warn("pid %d: dirty tracking: out of memory", (int)pid), -1;
	return dirty_finish(d, pid, sock, pagemap_fd, smaps);
}

const char *dirty_since(const struct dirty *d)
{
	return d->since[0] ? d->since : NULL;
}

void dirty_walk_init(struct dirty_walk *w, const struct dirty *d)
{
	*w = (struct dirty_walk){ d, 0, 0 };
}

/* 1 when addr is in v[*k..n) (sorted and apart), *k moved past the
 * spans that end at or before addr */
static int spans_walk(const struct dirty_span *v, size_t n, size_t *k, uint64_t addr)
{
	while (*k < n && v[*k].end <= addr)
		++*k;
	return *k < n && v[*k].start <= addr;
}

int dirty_walk_written(struct dirty_walk *w, uint64_t addr)
{
	const struct dirty *d = w->d;

	if (!d->since[0] || !spans_walk(d->tracked, d->ntracked, &w->t, addr))
		return 1;
	return spans_walk(d->written, d->nwritten, &w->w, addr);
}

int dirty_walk_span(struct dirty_walk *w, uint64_t addr, uint64_t *until)
{
	const struct dirty *d = w->d;
	const struct dirty_span *t;
	uint64_t end;

	*until = UINT64_MAX;
	if (!d->since[0])
		return 1;
	if (!spans_walk(d->tracked, d->ntracked, &w->t, addr)) {
		if (w->t < d->ntracked)
			*until = d->tracked[w->t].start;
		return 1;
	}
	t = &d->tracked[w->t];
	if (spans_walk(d->written, d->nwritten, &w->w, addr)) {
		/* written spans lie in tracked regions: written to their end */
		*until = d->written[w->w].end;
		return 1;
	}
	end = w->w < d->nwritten && d->written[w->w].start < t->end ? d->written[w->w].start : t->end;
	*until = end;
	return 0;
}

void dirty_free(struct dirty *d)
{
	free(d->tracked);
	free(d->written);
	free(d->pend);
	free(d->pw);
	free(d->pp);
	memset(d, 0, sizeof *d);
}

int dirty_epoch_set(int sock, const char *id)
{
	struct ctl_call c = { .op = CKPT_OP_EPOCH, .payload = id, .len = 32 };

	if (strlen(id) != 32)
		return -EINVAL;
	return ctl_call(sock, &c);
}
