/* ckpt-dumpmem - the memory of a frozen process, as raw-stream members:
 * proc/PID/maps, mapfiles, pagemap and pages (formats/memory.md).
 * SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cow.h"
#include "cowguess.h"
#include "ctl.h"
#include "dirty.h"
#include "err.h"
#include "escape.h"
#include "freeze.h"
#include "index.h"
#include "io.h"
#include "kproc.h"
#include "maps.h"
#include "memberout.h"
#include "pagescan.h"
#include "pagesout.h"
#include "procrec.h"
#include "sysvshm.h"
#include "tar.h"
#include "timing.h"


static const char usage_str[] =
	"ckpt-dumpmem [--control FD (--offset N | --offset-fd FD [--after FD]) [--end-fd FD] [--cow FD [--cow-child] [--smaps-guess FD]]] [--shm-table FD] [--index] [--parent-index FD [--parent-id ID] [--parent-wait FD]] [--index-out FD] [--image-id ID] PID";

static const struct option options[] = {
	{ "control", required_argument, NULL, 'c' },
	{ "offset", required_argument, NULL, 'o' },
	{ "offset-fd", required_argument, NULL, 'O' },
	{ "after", required_argument, NULL, 'A' },
	{ "end-fd", required_argument, NULL, 'E' },
	{ "shm-table", required_argument, NULL, 't' },
	{ "cow", required_argument, NULL, 'C' },
	{ "cow-child", no_argument, NULL, 'K' },
	{ "smaps-guess", required_argument, NULL, 'G' },
	{ "index", no_argument, NULL, 'i' },
	{ "parent-index", required_argument, NULL, 'p' },
	{ "parent-id", required_argument, NULL, 'P' },
	{ "parent-wait", required_argument, NULL, 'W' },
	{ "image-id", required_argument, NULL, 'I' },
	{ "index-out", required_argument, NULL, 'x' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* what stat() said of a region's file */
struct mapfile {
	int ok;                    /* the file at the path is the one mapped */
	long long size;
	struct timespec mtime;
};

struct dump {
	pid_t pid;
	int sock;
	int fds[CKPT_PROCFD_COUNT];
	char *maps;                /* the kernel's text, verbatim */
	char *smaps;               /* /proc/PID/smaps, for VmFlags, or NULL */
	int guess_fd;              /* --smaps-guess: smaps read before the
	                            * freeze (lib/cowguess.h), or -1 */
	int guessed;               /* smaps is that guess, and fits */
	pthread_t smaps_thread;    /* reads smaps beside the scans */
	int smaps_reading;         /* it runs, to be joined */
	uint64_t smaps_ns;         /* its time (CKPT_TIMING) */
	uid_t owner;               /* of the process's /proc directory */
	struct kproc k;            /* the process, as the kernel says */
	size_t maps_len;
	struct map_region *reg;
	size_t nreg;
	struct mapfile *files;     /* one per region */
	struct run_list runs;      /* the pages the image holds */
	struct run_list guards;    /* the guard pages (MADV_GUARD_INSTALL) */
	int index;                 /* write the index member */
	int parent_fd;             /* --parent-index: the parent's table, or -1 */
	const char *parent_id;     /* --parent-id: the parent's image id, or NULL */
	int parent_wait;           /* --parent-wait: the table is whole, or
	                            * never will be, at its end of file; or -1 */
	const char *image_id;      /* --image-id: this image's, or NULL */
	int index_out;             /* --index-out: the index member here too, or -1 */
	uint64_t *hash;            /* with index: one per page of runs */
	struct run_list changed;   /* with a parent: the pages of runs it
	                            * does not hold with the same hash */
	const struct run_list *stored;  /* the pages member's: runs or changed */
	struct shm_views seen;     /* pages of shared memory objects stored */
	int table;                 /* --shm-table: the job's seen ranges, or -1 */
	int in_job;                /* --control: a stage of ckpt-freeze */
	int offset_fd;             /* --offset-fd: where the offset comes, or -1 */
	int after_fd;              /* --after: the connection is ours at its
	                            * end of file, or -1 */
	int end_fd;                /* --end-fd: where our output ended goes
	                            * there, or -1 */
	struct dirty dirty;        /* pages written since the last image */
	struct tar_out tar;
	int subreaper;             /* the process is a child subreaper */
	struct cow cow;            /* --cow (lib/cow.h) */
	struct cow_check check;    /* the guess checked by the snapshot */
};

/* the process record and its fds (lib/procrec.h); d->k stays open
 * for smaps */
static int proc_fetch(struct dump *d)
{
	static struct ckpt_proc_rec rec;
	int r;

	if (kproc_open(&d->k, d->pid, d->sock) < 0)
		return -1;
	r = procrec_fetch(d->sock, &d->k, &rec, d->fds);
	d->subreaper = rec.subreaper;
	return r;
}

/* smaps, for each region's VmFlags (the shim's fds hold none): the
 * --smaps-guess read before the freeze when it fits the frozen layout
 * (lib/cowguess.h: the snapshot checks the rest), else read now, as we
 * open it (lib/kproc.c: tied to the process behind the socket).
 * Without it the member is not written, and a restore cannot give the
 * regions back their flags: an error.  0 or -1. */
static int smaps_settle(struct dump *d)
{
	char *status = NULL;
	struct stat st;

	d->owner = fstat(d->k.dirfd, &st) == 0 ? st.st_uid : (uid_t)-1;
	if (d->guess_fd >= 0 && lseek(d->guess_fd, 0, SEEK_SET) == 0 &&
	    (d->smaps = read_fd_all(d->guess_fd, NULL)) &&
	    (status = kproc_read(&d->k, "status", NULL)))
		d->guessed = cow_guess_fits(d->smaps, d->maps, d->maps_len, status);
	free(status);
	if (!d->guessed) {
		free(d->smaps);
		d->smaps = kproc_read(&d->k, "smaps", NULL);
	}
	kproc_close(&d->k);
	if (!d->smaps)
		warn("pid %d: read smaps (for the regions' VmFlags):", (int)d->pid);
	return d->smaps ? 0 : -1;
}

static void *smaps_read(void *arg)
{
	struct dump *d = arg;
	uint64_t t0 = timing_ns();

	d->smaps = kproc_read(&d->k, "smaps", NULL);
	d->smaps_ns = timing_ns() - t0;
	return NULL;
}

/* Without --cow, smaps is read while frozen on a thread of its own,
 * beside the scans: the kernel walks every page to write it (5-7 ms a
 * GiB), more than all the rest of an increment's frozen work.  It
 * needs only the process's /proc directory, tied to it (d->k).  Not
 * before the shim's record: the walk holds the process's mmap lock,
 * which the shim's brk(0) for its record waits for, as the
 * registration of new regions (dirty_finish, after smaps_join) */
static void smaps_start(struct dump *d)
{
	if (d->cow.chan >= 0)
		return;   /* smaps_settle reads it, or takes the guess */
	if (pthread_create(&d->smaps_thread, NULL, smaps_read, d) == 0)
		d->smaps_reading = 1;
	else
		smaps_read(d);
}

/* the thread done, its smaps there (with its owner) or a message: 0 or -1 */
static int smaps_join(struct dump *d)
{
	struct stat st;

	if (!d->smaps_reading)
		return d->smaps ? 0 : -1;
	pthread_join(d->smaps_thread, NULL);
	d->smaps_reading = 0;
	d->owner = fstat(d->k.dirfd, &st) == 0 ? st.st_uid : (uid_t)-1;
	kproc_close(&d->k);
	if (timing_on())
		timing_part("  of which smaps, on its thread", d->smaps_ns, "");
	if (!d->smaps)
		warn("pid %d: read smaps (for the regions' VmFlags):", (int)d->pid);
	return d->smaps ? 0 : -1;
}

static int maps_load(struct dump *d)
{
	size_t bad = 0;
	int r;

	d->maps = read_fd_all(d->fds[CKPT_PROCFD_MAPS], &d->maps_len);
	if (!d->maps) {
		warn("pid %d: read maps:", (int)d->pid);
		return -1;
	}
	r = maps_parse(d->maps, d->maps_len, &d->reg, &d->nreg, &bad);
	if (r == -EINVAL)
		warn("pid %d: maps line %zu: not a maps line", (int)d->pid, bad);
	else if (r < 0)
		warnerr(r, "pid %d: maps:", (int)d->pid);
	return r < 0 ? -1 : 0;
}

/* the kernel writes a newline in a path as \012 (and nothing else
 * escaped); undo it to get the path stat() needs */
static void path_unmangle(const struct map_region *r, char *out, size_t cap)
{
	size_t i, n = 0;

	for (i = 0; i < r->pathlen && n + 1 < cap; i++) {
		if (r->pathlen - i >= 4 && !memcmp(r->path + i, "\\012", 4)) {
			out[n++] = '\n';
			i += 3;
		} else {
			out[n++] = r->path[i];
		}
	}
	out[n] = 0;
}

/* Is the file at the region's path the one mapped (same device and
 * inode as the maps line)?  When it is not (deleted, replaced by an
 * upgrade, out of our reach) the region is dumped whole, as an orphan */
static void files_check(struct dump *d)
{
	static char path[8192];
	struct mapfile *f;
	struct stat st;
	size_t i;

	d->files = calloc(d->nreg ? d->nreg : 1, sizeof *d->files);
	if (!d->files)
		die("pid %d: maps:", (int)d->pid);
	for (i = 0; i < d->nreg; i++) {
		if (!map_is_file(&d->reg[i]) || map_kind(&d->reg[i]) == MAP_KIND_ORPHAN)
			continue;
		path_unmangle(&d->reg[i], path, sizeof path);
		f = &d->files[i];
		f->ok = stat(path, &st) == 0 && st.st_ino == d->reg[i].inode &&
			major(st.st_dev) == d->reg[i].dev_major &&
			minor(st.st_dev) == d->reg[i].dev_minor;
		f->size = st.st_size;
		f->mtime = st.st_mtim;
	}
}

/* What the processes before this one in the job's stream stored of
 * each shared memory object is not stored again (formats/memory.md);
 * what this one stores is added for the ones after it, once its
 * members are out. */
static int table_load(struct dump *d)
{
	int e;

	if (d->table < 0 || (e = shm_views_load(&d->seen, d->table)) == 0)
		return 0;
	warnerr(e, "--shm-table %d:", d->table);
	return -1;
}

static int table_save(struct dump *d, size_t from)
{
	int e;

	if (d->table < 0 || (e = shm_views_save(&d->seen, from, d->table)) == 0)
		return 0;
	warnerr(e, "--shm-table %d:", d->table);
	return -1;
}

static enum map_kind region_kind(const struct dump *d, size_t i)
{
	const struct map_region *r = &d->reg[i];

	return map_is_file(r) && !d->files[i].ok ? MAP_KIND_ORPHAN : map_kind(r);
}

/* --cow: what a snapshot cannot hold, read while frozen (lib/cow.h) */
static int region_held(const struct dump *d, size_t i)
{
	return d->cow.chan >= 0 && cow_region_held(d->smaps, d->reg, i, region_kind(d, i));
}

/* The runs of region i appended, scanned through ps.  early: before
 * our turn, without --cow: a region the shim tracks is walked once
 * for its pages and for the pages written since the last scan
 * (dirty_region), and shared memory is not yet compared with what the
 * processes before us stored (runs_shm does, once it is our turn) */
static int region_scan(struct dump *d, struct pagescan *ps, size_t i, int early)
{
	const struct map_region *r = &d->reg[i];
	enum map_kind kind = region_kind(d, i);
	size_t n0 = d->runs.n;
	int e = 1, held = region_held(d, i);

	if (early && dirty_trackable(&d->dirty, r))
		e = dirty_region(&d->dirty, ps, r, kind == MAP_KIND_PRIVATE ? &d->runs : NULL);
	if (e > 0 || (e == 0 && kind != MAP_KIND_PRIVATE))
		e = pagescan_region(ps, r, kind, &d->runs);
	if (e == 0 && !early && kind == MAP_KIND_SHARED_MEM && r->inode)
		e = shm_views_once(&d->seen, &d->runs, r, n0);
	for (; held && n0 < d->runs.n; n0++)
		d->runs.v[n0].held = 1;
	if (e < 0)
		warnerr(e, "pid %d: scan pages of %" PRIx64 "-%" PRIx64 ":", (int)d->pid, r->start,
			r->end);
	return e < 0 ? -1 : 0;
}

/* Every region's runs, while frozen: without --cow before our turn
 * (early: runs_shm follows it); with --cow only the held ones (the
 * others are scanned in the snapshot, after the thaw), and the walks
 * of the tracked regions for the tracking alone */
static int runs_collect(struct dump *d, int early)
{
	struct pagescan ps = { .pagemap_fd = d->fds[CKPT_PROCFD_PAGEMAP],
			       .mem_fd = d->fds[CKPT_PROCFD_MEM], .guards = &d->guards };
	size_t i;

	for (i = 0; i < d->nreg; i++)
		if ((early || region_held(d, i)) && region_scan(d, &ps, i, early) < 0)
			return -1;
	return 0;
}

/* --cow: the walks of the regions the shim tracks, for the tracking
 * alone (their pages are scanned in the snapshot) */
static int dirty_walks(struct dump *d)
{
	struct pagescan ps = { .pagemap_fd = d->fds[CKPT_PROCFD_PAGEMAP], .mem_fd = -1 };
	size_t i;

	for (i = 0; i < d->nreg; i++)
		if (dirty_trackable(&d->dirty, &d->reg[i]) &&
		    dirty_region(&d->dirty, &ps, &d->reg[i], NULL) < 0)
			return warn("pid %d: dirty tracking: out of memory", (int)d->pid), -1;
	return 0;
}

/* Our turn, after an early runs_collect: the runs of shared memory
 * less what the processes before us stored of its object (a page is
 * stored once in the stream, formats/memory.md), region by region */
static int runs_shm(struct dump *d)
{
	struct run_list all = d->runs;
	size_t i, k = 0, n0;
	int e = 0;

	for (i = 0; i < d->nreg && !(region_kind(d, i) == MAP_KIND_SHARED_MEM && d->reg[i].inode); i++)
		;
	if (i == d->nreg)
		return 0;   /* none: the runs as they are */
	memset(&d->runs, 0, sizeof d->runs);
	for (i = 0; e == 0 && i < d->nreg; i++) {
		for (n0 = d->runs.n; e == 0 && k < all.n && all.v[k].start < d->reg[i].end; k++)
			e = run_add(&d->runs, d->reg[i].start, all.v[k].start, all.v[k].end,
				    all.v[k].via_mem);
		if (e == 0 && region_kind(d, i) == MAP_KIND_SHARED_MEM && d->reg[i].inode)
			e = shm_views_once(&d->seen, &d->runs, &d->reg[i], n0);
	}
	run_list_free(&all);
	if (e < 0)
		warnerr(e, "pid %d: runs:", (int)d->pid);
	return e < 0 ? -1 : 0;
}

/* --cow, after the thaw: the regions the snapshot holds scanned in it
 * (fork copied their page tables: what is present there is what was
 * present at the freeze, so the runs are those a frozen scan finds),
 * in region order with the held runs */
static int runs_collect_snapshot(struct dump *d)
{
	struct pagescan ps = { .pagemap_fd = d->cow.pagemap_fd, .mem_fd = d->cow.mem_fd,
			       .guards = &d->guards };
	struct run_list held = d->runs;
	size_t i, k = 0;
	int e = 0;

	memset(&d->runs, 0, sizeof d->runs);
	for (i = 0; e == 0 && i < d->nreg; i++) {
		if (!region_held(d, i)) {
			e = region_scan(d, &ps, i, 0);
			continue;
		}
		for (; e == 0 && k < held.n && held.v[k].start < d->reg[i].end; k++)
			if ((e = run_add(&d->runs, d->reg[i].start, held.v[k].start, held.v[k].end,
					 held.v[k].via_mem)) == 0)
				d->runs.v[d->runs.n - 1].held = 1;
		if (e < 0)
			warnerr(e, "pid %d: runs:", (int)d->pid);
	}
	run_list_free(&held);
	return e < 0 ? -1 : 0;
}

/* "START-END SIZE MTIME PATH", or "- -" for SIZE MTIME when the file
 * at PATH is not the one mapped: its pages are all in the image */
static void mapfile_print(const struct map_region *r, const struct mapfile *m,
			  FILE *f)
{
	static char path[8192], esc[4 * sizeof path];

	path_unmangle(r, path, sizeof path);
	if (str_escape(path, esc, sizeof esc) < 0)
		strcpy(esc, "?");   /* cannot happen: 4 bytes out per byte in */
	fprintf(f, "%08" PRIx64 "-%08" PRIx64 " ", r->start, r->end);
	if (m->ok)
		fprintf(f, "%lld %lld.%09ld", m->size, (long long)m->mtime.tv_sec,
			m->mtime.tv_nsec);
	else
		fputs("- -", f);
	fprintf(f, " %s\n", esc);
}

static int mapfiles_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;
	size_t i;

	for (i = 0; i < d->nreg; i++)
		if (map_is_file(&d->reg[i]))
			mapfile_print(&d->reg[i], &d->files[i], f);
	return 0;
}

/* "START-END FLAGS" per region, FLAGS the VmFlags line's two-letter
 * codes as the kernel wrote them (formats/memory.md) */
static int vmflags_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;
	uint64_t lo = 0, hi = 0;
	char *line = d->smaps, *eol, *v;
	int have = 0;

	for (; line && *line; line = eol ? eol + 1 : NULL) {
		if ((eol = strchr(line, '\n')))
			*eol = 0;
		/* a region's first line ("FilePmdMapped:" starts with a hex
		 * digit too: smaps_head wants "START-END ") */
		if (smaps_head(line, &lo, &hi)) {
			have = 1;
		} else if (have && !strncmp(line, "VmFlags:", 8)) {
			for (v = line + 8; *v == ' '; v++)
				;
			v[strcspn(v, "\n")] = 0;
			while (*v && v[strlen(v) - 1] == ' ')
				v[strlen(v) - 1] = 0;
			fprintf(f, "%08" PRIx64 "-%08" PRIx64 " %s\n", lo, hi, v);
			have = 0;
		}
		if (eol)
			*eol = '\n';
	}
	return 0;
}

static int pagemap_text(FILE *f, const void *arg)
{
	runs_text(f, ((const struct dump *)arg)->stored);
	return 0;
}

static int run_cmp(const void *a, const void *b)
{
	const struct page_run *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* "START-END" per range of guard pages, in address order (with --cow
 * the held regions are scanned before the others) */
static int guards_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;

	qsort(d->guards.v, d->guards.n, sizeof *d->guards.v, run_cmp);
	runs_text(f, &d->guards);
	return 0;
}

static int index_member_text(FILE *f, const void *arg)
{
	runs_text(f, &((const struct dump *)arg)->runs);
	return 0;
}

/* index, then hashes (one XXH64 a page held, 8 bytes little-endian) */
static int index_members(struct dump *d, struct tar_out *t)
{
	char name[64];

	snprintf(name, sizeof name, "proc/%d/index", (int)d->pid);
	if (member_from(t, name, index_member_text, d) < 0)
		return -1;
	snprintf(name, sizeof name, "proc/%d/hashes", (int)d->pid);
	return member_put(t, name, d->hash, d->runs.bytes / INDEX_PAGE * sizeof *d->hash);
}

/* need: the pages to read and hash, in runs that never cross a held
 * run (the held flag theirs), each with where its first hash goes in
 * d->hash (at[i]) */
struct need {
	struct run_list runs;
	size_t *at, cap;
};

static int need_add(struct need *n, const struct page_run *r, uint64_t a, uint64_t end, size_t k)
{
	size_t n0 = n->runs.n, *nv;

	if (run_add(&n->runs, r->start, a, end, r->via_mem) < 0)
		return -ENOMEM;
	if (n->runs.n == n0)
		return 0;          /* joined the last run */
	if (n->runs.n > n->cap) {
		n->cap = n->cap ? 2 * n->cap : 256;
		if (!(nv = realloc(n->at, n->cap * sizeof *nv)))
			return -ENOMEM;
		n->at = nv;
	}
	n->at[n->runs.n - 1] = k;
	n->runs.v[n->runs.n - 1].held = r->held;   /* --cow */
	return 0;
}

static void need_free(struct need *n)
{
	run_list_free(&n->runs);
	free(n->at);
}

/* A page the parent holds, which dirty tracking says is unchanged
 * since the parent (the tracking's epoch is the parent's id, the page
 * is there and was not written): its hash is the parent's, and it is
 * not read (doc/design.md, "Dirty tracking").  The others go to need.
 * A stretch at a time: the tracking's answer holds over spans, and a
 * page-by-page walk of 1 GiB took 3-4 ms of an increment.  0 or
 * -ENOMEM. */
static int hashes_known(struct dump *d, const struct index_par *par, struct need *need)
{
	const char *since = dirty_since(&d->dirty);
	const struct page_run *r;
	const uint64_t *ph = NULL;
	struct index_cursor c;
	struct dirty_walk w;
	uint64_t a, until, stop, pend;
	size_t i, k = 0, n;
	int wr, held;

	dirty_walk_init(&w, &d->dirty);
	index_cursor_init(&c, par);
	/* without the parent's epoch every page is read */
	int known = par->npage && d->parent_id && since && !strcmp(d->parent_id, since);

	for (i = 0; i < d->runs.n; i++)
		for (r = &d->runs.v[i], a = r->start; a < r->end;) {
			until = r->end;
			wr = known ? dirty_walk_span(&w, a, &until) : 1;
			if (until > r->end)
				until = r->end;
			held = known && index_par_at(&c, a, &pend, &ph);
			if (!wr && held) {
				/* unchanged, and the parent's: its hashes */
				stop = pend < until ? pend : until;
				n = (stop - a) / INDEX_PAGE;
				memcpy(d->hash + k, ph, n * sizeof *ph);
				k += n;
				a = stop;
				continue;
			}
			/* written, or new since the parent: up to the next
			 * page the parent holds unchanged */
			stop = wr || !known || pend > until ? until : pend;
			if (need_add(need, r, a, stop, k) < 0)
				return -ENOMEM;
			k += (stop - a) / INDEX_PAGE;
			a = stop;
		}
	return 0;
}

/* the hashes of need's pages read (--cow: after the thaw, from the
 * snapshot and the held copy) into their places in d->hash */
static int hashes_read(struct dump *d, const struct need *need, uint64_t *bad)
{
	size_t n = need->runs.bytes / INDEX_PAGE, i, q = 0, len;
	uint64_t *got = n == d->runs.bytes / INDEX_PAGE ? d->hash : malloc((n + 1) * sizeof *got);
	int e;

	if (!got)
		return -ENOMEM;
	e = d->cow.chan >= 0 ? cow_hash_runs(&d->cow, &need->runs, got, bad) :
			       index_hash_runs(d->pid, d->fds[CKPT_PROCFD_MEM], &need->runs, got, bad);
	for (i = 0; e == 0 && got != d->hash && i < need->runs.n; i++) {
		len = (need->runs.v[i].end - need->runs.v[i].start) / INDEX_PAGE;
		memcpy(d->hash + need->at[i], got + q, len * sizeof *got);
		q += len;
	}
	if (got != d->hash)
		free(got);
	return e;
}

/* the hash of every page held into d->hash: from the parent where
 * hashes_known may, else read; with a parent, the pages of need it
 * does not hold alike into d->changed (the others, unread, it holds
 * alike); 0 or -1 after a message */
static int hashes_take(struct dump *d, const struct index_par *par)
{
	struct need need = { 0 };
	uint64_t bad = 0;
	int e = hashes_known(d, par, &need);

	if (e < 0) {
		need_free(&need);
		return warn("pid %d: index: out of memory", (int)d->pid), -1;
	}
	if ((e = hashes_read(d, &need, &bad)) < 0 && e != -ENOMEM)
		warnerr(e, "pid %d: read memory at %" PRIx64 " to hash it:", (int)d->pid, bad);
	else if (e < 0)
		warn("pid %d: index: out of memory", (int)d->pid);
	if (e == 0 && d->parent_fd >= 0 &&
	    (e = index_changed(&need.runs, need.at, d->hash, par, &d->changed)) < 0)
		warnerr(e, "pid %d: index:", (int)d->pid);
	if (e == 0 && timing_on()) {
		char note[96];

		snprintf(note, sizeof note, "  pid %d: %llu of %llu pages unread (dirty tracking)",
			 (int)d->pid, (unsigned long long)((d->runs.bytes - need.runs.bytes) / INDEX_PAGE),
			 (unsigned long long)(d->runs.bytes / INDEX_PAGE));
		timing_part("hashes", 0, note);
	}
	need_free(&need);
	return e < 0 ? -1 : 0;
}

/* --parent-wait: ckpt-freeze's loader fills the table while we run:
 * once it is gone (the end of file), the table is whole, with its end
 * record, or the loader failed.  Then the table mapped: 0, or -1
 * after a message */
static int table_wait_map(struct dump *d, struct index_table *t)
{
	char c;
	int e;

	while (d->parent_wait >= 0 && (e = read(d->parent_wait, &c, 1)) != 0)
		if (e < 0 && errno != EINTR)
			return warn("--parent-wait %d:", d->parent_wait), -1;
	if ((e = index_table_map(t, d->parent_fd)) == -EINVAL && d->parent_wait >= 0)
		return warn("pid %d: the parent's index was not loaded", (int)d->pid), -1;
	if (e < 0)
		return warnerr(e, "--parent-index %d:", d->parent_fd), -1;
	return 0;
}

/* The hash of every page held; with a parent, the pages it does not
 * hold alike are the ones stored (formats/index.md).  0 or -1. */
static int pages_index(struct dump *d)
{
	struct index_table t = { 0 };
	struct index_par par = { 0 };
	uint64_t t0 = timing_ns();
	int e;

	d->stored = &d->runs;
	if (!d->index)
		return 0;
	if (!(d->hash = malloc((d->runs.bytes / INDEX_PAGE + 1) * sizeof *d->hash)))
		return warn("pid %d: index: out of memory", (int)d->pid), -1;
	if (d->parent_fd >= 0 && (e = table_wait_map(d, &t)) < 0)
		return -1;
	if (d->parent_fd >= 0 && (e = index_table_pid(&t, d->pid, &par)) < 0) {
		index_table_unmap(&t);
		return warnerr(e, "--parent-index %d: pid %d:", d->parent_fd, (int)d->pid), -1;
	}
	if (timing_on())
		timing_part("  index: the parent's table", timing_ns() - t0, "");
	e = hashes_take(d, &par);
	if (d->parent_fd >= 0)
		index_table_unmap(&t);
	if (e < 0)
		return -1;
	if (d->parent_fd >= 0)
		d->stored = &d->changed;
	return 0;
}

/* the index members into the stream, and into --index-out's file */
static int index_write(struct dump *d)
{
	struct tar_out t;

	if (!d->index || index_members(d, &d->tar) < 0)
		return d->index ? -1 : 0;
	if (d->index_out < 0)
		return 0;
	tar_init(&t, d->index_out, 0);
	return index_members(d, &t);
}

/* the text member proc/PID/what, made by fn */
static int proc_member(struct dump *d, const char *what,
		       int (*fn)(FILE *, const void *))
{
	char name[64];

	snprintf(name, sizeof name, "proc/%d/%s", (int)d->pid, what);
	return member_from(&d->tar, name, fn, d);
}

static int sysvshm_text(FILE *f, const void *arg)
{
	const struct dump *d = arg;

	return sysvshm_write(f, (int)d->pid, d->reg, d->nreg);
}

static int members_write(struct dump *d)
{
	char name[64];

	snprintf(name, sizeof name, "proc/%d/maps", (int)d->pid);
	if (member_put(&d->tar, name, d->maps, d->maps_len) < 0 ||
	    (sysvshm_any(d->reg, d->nreg) && proc_member(d, "sysvshm", sysvshm_text) < 0) ||
	    proc_member(d, "vmflags", vmflags_text) < 0 ||
	    (d->guards.n && proc_member(d, "guards", guards_text) < 0) ||
	    proc_member(d, "mapfiles", mapfiles_text) < 0 || index_write(d) < 0 ||
	    proc_member(d, "pagemap", pagemap_text) < 0)
		return -1;
	snprintf(name, sizeof name, "proc/%d/pages", (int)d->pid);
	/* --cow: from the snapshot, and what it cannot hold from the copy */
	return pages_out_write(&(struct pages_out){ .pid = d->pid,
			.sock = d->cow.chan < 0 ? d->sock : d->cow.sock,
			.mem_fd = d->cow.chan < 0 ? d->fds[CKPT_PROCFD_MEM] : d->cow.mem_fd,
			.held_fd = d->cow.held_fd, .held = &d->runs, .tar = &d->tar }, name, d->stored);
}

/* CKPT_TIMING: r, after one part of dump_mem took since *t0 */
static int part(const char *what, uint64_t *t0, int r)
{
	uint64_t now = timing_ns();

	timing_part(what, now - *t0, "");
	*t0 = now;
	return r;
}

/* --cow: what the snapshot cannot hold copied, the snapshot taken, and
 * ckpt-freeze told: then the job may thaw; our output starts at the
 * offset it gives back.  Our connection to the process is not needed
 * any more: closed, so the thaw is the end of it.  0 or -1. */
static int cow_frozen(struct dump *d)
{
	int sub = d->subreaper || d->cow.child;
	uint64_t t0 = timing_ns();

	d->cow.child = sub;
	if (part("cow: held copy", &t0, cow_hold(&d->cow, d->pid, d->fds[CKPT_PROCFD_MEM],
						  &d->runs)) < 0 ||
	    part("cow: snapshot", &t0, cow_snapshot(&d->cow, d->pid, d->sock)) < 0 ||
	    cow_stage_snapshot(&d->cow, d->pid) < 0)
		return -1;
	close(d->sock);
	d->sock = -1;
	/* the snapshot scanned once the job is thawed (beside the thaw,
	 * the scan made it 5 ms slower), and before our turn: a process
	 * after the first is scanned while those before it stream */
	if (part("cow: wait for the thaw", &t0, cow_stage_thawed(&d->cow)) < 0 ||
	    part("cow: snapshot's scan", &t0, runs_collect_snapshot(d)) < 0)
		return -1;
	/* the held copies were chosen by a guess, which the snapshot's
	 * flags (those at the fork) must bear out: checked beside the
	 * stream, waited for at its end (dump_mem).  Started after the
	 * scan: its walk of the snapshot's pages slowed the scan by half */
	if (d->guessed) {
		d->check = (struct cow_check){ .pid = d->pid, .snap = d->cow.pid,
					       .stat_fd = d->cow.stat_fd, .owner = d->owner,
					       .guess = d->smaps, .reg = d->reg, .nreg = d->nreg };
		if (cow_check_start(&d->check) < 0)
			return -1;
	}
	return part("cow: wait for the turn", &t0, cow_stage_wait(&d->cow, d->pid, &d->tar.off));
}


/* --after: wait until the stage before us on the connection is done
 * (every holder of the fd's other end gone) */
static void after_wait(struct dump *d)
{
	char c;

	if (d->after_fd < 0)
		return;
	while (read(d->after_fd, &c, 1) < 0 && errno == EINTR)
		;
	close(d->after_fd);
}

/* --offset-fd: where our output starts in the stream, once ckpt-freeze
 * knows (8 bytes, host order: the process before us is written);
 * 0, or -1 (ckpt-freeze gave up or is gone: no message) */
static int offset_take(struct dump *d)
{
	uint64_t off;

	if (d->offset_fd < 0)
		return 0;
	if (read_all(d->offset_fd, &off, sizeof off) != sizeof off)
		return -1;
	close(d->offset_fd);
	if (off % 512)
		return warn("--offset-fd %d: %llu: not a multiple of 512", d->offset_fd,
			    (unsigned long long)off), -1;
	tar_init(&d->tar, 1, off);
	return 0;
}

/* --end-fd: the offset after our last byte (8 bytes, host order), for
 * ckpt-freeze to write on from there; 0, or -1 after a message */
static int end_give(struct dump *d)
{
	if (d->end_fd < 0)
		return 0;
	if (write_all(d->end_fd, &d->tar.off, sizeof d->tar.off) < 0)
		return warn("--end-fd %d:", d->end_fd), -1;
	close(d->end_fd);
	return 0;
}

/* The scans while frozen that need no turn (maps, smaps, the
 * tracking's and the page scan's walks, one walk for a region the shim
 * tracks; without --cow, the tracking's answer taken before smaps is
 * read, dirty_assume): 0 or -1 */
static int scans_early(struct dump *d, uint64_t *t0)
{
	int cow = d->cow.chan >= 0;

	if (part("process record", t0, proc_fetch(d)) < 0)
		return -1;
	smaps_start(d);
	if (part("maps", t0, maps_load(d)) < 0 ||
	    (cow && part(d->guess_fd >= 0 ? "smaps (the guess)" : "smaps", t0, smaps_settle(d)) < 0))
		return -1;
	files_check(d);
	/* at every checkpoint of an image, before any page is read: the
	 * next one counts what is written from here on */
	if (d->in_job && part("dirty: the epoch", t0, dirty_begin(&d->dirty, d->pid, d->sock,
								  d->image_id)) < 0)
		return -1;
	if (cow)
		return part("dirty: walks", t0, dirty_walks(d)) < 0 ||
		       part("dirty: protect, register", t0,
			    dirty_finish(&d->dirty, d->pid, d->sock, d->fds[CKPT_PROCFD_PAGEMAP],
					 d->smaps)) < 0 ? -1 : 0;
	if (part("page scan (and dirty walks)", t0, runs_collect(d, 1)) < 0)
		return -1;
	if (dirty_assume(&d->dirty) < 0)
		return warn("pid %d: dirty tracking: out of memory", (int)d->pid), -1;
	return 0;
}

/* Without --cow, at our turn: the runs of shared memory settled, the
 * index made while smaps is still read (with the tracking's answer
 * dirty_assume took), then smaps waited for and the tracking settled
 * with it; the index made again in the rare case smaps took a
 * region's answer back (transparent huge pages).  0 or -1 */
static int index_beside_smaps(struct dump *d, uint64_t *t0, size_t before)
{
	if (part("shared memory once", t0, runs_shm(d)) < 0 || table_save(d, before) < 0 ||
	    part("index", t0, pages_index(d)) < 0 ||
	    part("smaps (the wait for its thread)", t0, smaps_join(d)) < 0 ||
	    part("dirty: protect, register", t0,
		 dirty_finish(&d->dirty, d->pid, d->sock, d->fds[CKPT_PROCFD_PAGEMAP], d->smaps)) < 0)
		return -1;
	if (!d->dirty.ndropped || !d->index)
		return 0;
	free(d->hash);
	d->hash = NULL;
	run_list_free(&d->changed);
	return part("index again (smaps: a region not tracked)", t0, pages_index(d));
}

static int dump_mem(struct dump *d)
{
	uint64_t t0 = timing_ns();
	size_t before = 0;
	int r, i, cow = d->cow.chan >= 0;

	after_wait(d);
	r = scans_early(d, &t0);
	/* the scans above need no turn; what follows depends on the
	 * processes before us (the job's shm table, our offset) */
	if (r == 0 && (r = part("wait for the turn", &t0, offset_take(d))) == 0 &&
	    (r = table_load(d)) == 0)
		before = d->seen.n;
	if (r == 0 && !cow)
		r = index_beside_smaps(d, &t0, before);
	else if (r == 0)
		/* --cow: the next process's stage may start once the table
		 * is saved */
		r = part("page scan", &t0, runs_collect(d, 0)) < 0 || table_save(d, before) < 0 ||
		    cow_stage_ready(&d->cow, d->pid, d->subreaper) < 0 ||
		    part("cow (all of it)", &t0, cow_frozen(d)) < 0 ||
		    part("index", &t0, pages_index(d)) < 0 ? -1 : 0;
	if (r == 0)
		r = part("members, pages", &t0, members_write(d));
	/* the snapshot's flags read before it ends (cow_close), and
	 * before our end is told */
	if (part("cow: the guess checked (the wait)", &t0, cow_check_end(&d->check)) < 0)
		r = -1;
	if (r == 0 && end_give(d) < 0)
		r = -1;
	if (d->smaps_reading)
		smaps_join(d);   /* a failure before the thread was waited for */
	cow_close(&d->cow);
	kproc_close(&d->k);
	for (i = 0; i < CKPT_PROCFD_COUNT; i++)
		close(d->fds[i]);
	free(d->maps);
	free(d->smaps);
	free(d->reg);
	free(d->files);
	run_list_free(&d->runs);
	run_list_free(&d->guards);
	run_list_free(&d->changed);
	free(d->hash);
	shm_views_free(&d->seen);
	dirty_free(&d->dirty);
	return r;
}

/* --parent-index FD, --index-out FD: an fd open on a regular file
 * (write: open for writing) */
static int file_fd_parse(const char *opt, const char *arg, int write)
{
	uint64_t fd;
	struct stat st;
	int fl;

	if (num_parse(arg, 1 << 20, &fd) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (write && (fl & O_ACCMODE) == O_RDONLY)) {
		warn("%s %s: not an fd open on a file%s", opt, arg, write ? " for writing" : "");
		return -1;
	}
	return fd;
}

/* --offset-fd FD, --after FD: an open fd */
static int fd_arg(const char *opt, const char *arg)
{
	uint64_t fd;

	if (num_parse(arg, 1 << 20, &fd) < 0 || fcntl(fd, F_GETFD) < 0) {
		warn("%s %s: not an open fd", opt, arg);
		return -1;
	}
	return fd;
}

/* --shm-table FD: an fd open for reading and writing on a regular
 * file (a memfd, when ckpt-freeze makes it) */
static int table_fd_parse(const char *arg)
{
	uint64_t fd;
	int fl;

	if (num_parse(arg, 1 << 20, &fd) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    (fl & O_ACCMODE) != O_RDWR) {
		warn("--shm-table %s: not an fd open for reading and writing", arg);
		return -1;
	}
	return fd;
}

/* alone: freeze, dump, end the archive, wait for the reader, thaw */
static int dump_alone(struct dump *d)
{
	int r;

	d->sock = freeze_open(d->pid, 0);
	if (d->sock < 0)
		return -1;
	r = dump_mem(d);
	/* a broken stream gets no trailer: its reader must see it cut.
	 * Vmspliced pages are the process's own until read: thaw only
	 * once the reader has taken them */
	if (r == 0)
		r = stream_out_end(&d->tar);
	if (freeze_thaw(d->sock, d->pid) < 0)
		r = -1;
	return r;
}


int main(int argc, char **argv)
{
	struct dump d = { .sock = -1, .table = -1, .parent_fd = -1, .parent_wait = -1, .index_out = -1,
			  .offset_fd = -1, .after_fd = -1, .end_fd = -1, .guess_fd = -1,
			  .k = { .pidfd = -1, .dirfd = -1 } };
	const char *control = NULL, *offset = NULL, *offset_fd = NULL, *after = NULL, *end = NULL,
		   *table = NULL, *par = NULL, *iout = NULL;
	const char *cow = NULL, *pwait = NULL, *guess = NULL;
	int c;

	cow_init(&d.cow);

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "c:o:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': control = optarg; break;
		case 'o': offset = optarg; break;
		case 'O': offset_fd = optarg; break;
		case 'A': after = optarg; break;
		case 'E': end = optarg; break;
		case 't': table = optarg; break;
		case 'C': cow = optarg; break;
		case 'K': d.cow.child = 1; break;
		case 'G': guess = optarg; break;
		case 'i': d.index = 1; break;
		case 'p': par = optarg; break;
		case 'P': d.parent_id = optarg; break;
		case 'W': pwait = optarg; break;
		case 'I': d.image_id = optarg; break;
		case 'x': iout = optarg; break;
		case 'h': printf("usage: %s\n", usage_str); return 0;
		default: usage_die(usage_str);
		}
	}
	if (optind != argc - 1)
		usage_die(usage_str);
	d.pid = pid_arg(argv[optind], usage_str);
	if (!control != !(offset || offset_fd) || (offset && offset_fd)) {
		warn("--control goes with one of --offset and --offset-fd");
		usage_die(usage_str);
	}
	if (after && !offset_fd) {
		warn("--after goes with --offset-fd");
		usage_die(usage_str);
	}
	if (end && !control) {
		warn("--end-fd goes with --control");
		usage_die(usage_str);
	}
	if ((offset_fd && (d.offset_fd = fd_arg("--offset-fd", offset_fd)) < 0) ||
	    (after && (d.after_fd = fd_arg("--after", after)) < 0) ||
	    (end && (d.end_fd = fd_arg("--end-fd", end)) < 0))
		return 1;
	if ((cow || d.cow.child) && (!control || offset_fd)) {
		warn("--cow goes with --control and --offset: ckpt-freeze --cow runs it");
		usage_die(usage_str);
	}
	if (guess && !cow) {
		warn("--smaps-guess goes with --cow");
		usage_die(usage_str);
	}
	if (table && (d.table = table_fd_parse(table)) < 0)
		return 1;
	if (guess && (d.guess_fd = fd_arg("--smaps-guess", guess)) < 0)
		return 1;
	if (pwait && !par) {
		warn("--parent-wait goes with --parent-index");
		usage_die(usage_str);
	}
	if ((pwait && (d.parent_wait = fd_arg("--parent-wait", pwait)) < 0) ||
	    (par && (d.parent_fd = file_fd_parse("--parent-index", par, 0)) < 0) ||
	    (iout && (d.index_out = file_fd_parse("--index-out", iout, 1)) < 0))
		return 1;
	d.index |= par || iout;
	if (cow && cow_stage_init(&d.cow, cow,
				  (const char *[]){ control, table, par, iout, pwait, guess, end }, 7) < 0)
		return 1;
	stdout_check();
	tar_init(&d.tar, 1, offset ? offset_arg(offset, usage_str) : 0);
	if (!control)
		return dump_alone(&d) < 0;
	if ((d.sock = control_fd_parse(control)) < 0)
		return 1;
	d.in_job = 1;
	return dump_mem(&d) < 0;
}
