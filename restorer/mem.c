/* mem.c - the restored process's memory: every region at its old
 * address, the stored pages read straight into place from the plan fd,
 * then the old protections.
 *
 * May not: map over anything (MAP_FIXED_NOREPLACE only: a collision is
 * a bug in the plan or the clearing, never something to paper over),
 * or trust a file thaw checked without checking it is still that file. */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "restorer.h"
#include "rawsys.h"

#define RW (PROT_READ | PROT_WRITE)

static int file_open(struct rst *r, const struct plan_region *g)
{
	struct stat st;
	long fd, e;

	if (g->path >= r->strings_len)
		rst_fail(r, PLAN_ST_ARGS, 0, g->start);
	fd = sys_open(r->strings + g->path, g->oflags | O_CLOEXEC, 0);
	if (fd < 0)
		rst_fail(r, PLAN_ST_OPEN, fd, g->start);
	if ((e = sys_fstat(fd, &st)) < 0)
		rst_fail(r, PLAN_ST_OPEN, e, g->start);
	if ((uint64_t)st.st_dev != g->dev || (uint64_t)st.st_ino != g->ino ||
	    (uint64_t)st.st_size != g->size ||
	    st.st_mtim.tv_sec != g->mtime_sec || st.st_mtim.tv_nsec != g->mtime_nsec)
		rst_fail(r, PLAN_ST_FILE_CHANGED, 0, g->start);
	return fd;
}

/* some stored page falls in the region */
static int region_has_runs(const struct rst *r, const struct plan_region *g)
{
	uint32_t i;

	for (i = 0; i < r->hdr.nruns; i++)
		if (r->runs[i].start < g->end && r->runs[i].end > g->start)
			return 1;
	return 0;
}

/* A private region that was never charged to the commit (VM_ACCOUNT,
 * "ac"), yet holds stored pages: pages written through /proc/PID/mem
 * or by a debugger (FOLL_FORCE), copy-on-write, into a region without
 * write.  Mapped writable to take them, the kernel would charge it for
 * good, though mprotect takes the write away: so it keeps its own
 * protection, and its pages go in the way they came (pages_force). */
static int region_forced(const struct plan_region *g)
{
	return !(g->vmflags & PLAN_VM_ACCOUNT) && !(g->prot & PROT_WRITE) &&
	       (g->kind == PLAN_ANON || g->kind == PLAN_STACK || g->kind == PLAN_FILE_PRIVATE ||
		g->kind == PLAN_JOB_FD_PRIVATE);
}

/* Every other region with stored pages is mapped writable to take
 * them (charged, as it was: "ac"); one without (code, read-only data,
 * guard pages) with its own protection, so it stays uncharged. */
static int region_prot(const struct rst *r, const struct plan_region *g)
{
	if (region_forced(g))
		return g->prot;
	if (g->vmflags & PLAN_VM_ACCOUNT || region_has_runs(r, g))
		return RW;
	return g->prot;
}

static void region_map(struct rst *r, const struct plan_region *g)
{
	int fl = MAP_FIXED_NOREPLACE, prot = region_prot(r, g), fd = -1;
	uint64_t len = g->end - g->start;
	long a;

	if (g->vmflags & PLAN_VM_NORESERVE)
		fl |= MAP_NORESERVE;
	switch (g->kind) {
	case PLAN_ANON:  /* MAP_DROPPABLE is a mapping type, as private is */
		fl |= MAP_ANONYMOUS | (g->vmflags & PLAN_VM_DROPPABLE ? 0x08 : MAP_PRIVATE);
		break;
	case PLAN_STACK:  /* nothing may grow it meanwhile: growsdown.c */
		grows_guard_map(r, g);
		fl |= MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN;
		break;
	case PLAN_SHARED_ANON: fl |= MAP_SHARED | MAP_ANONYMOUS; break;
	case PLAN_FILE_PRIVATE: fl |= MAP_PRIVATE; fd = file_open(r, g); break;
	case PLAN_FILE_SHARED:  /* no stored pages: the file has them */
		fl |= MAP_SHARED; prot = g->prot; fd = file_open(r, g); break;
	case PLAN_JOB_FD: fl |= MAP_SHARED; fd = g->obj; break;
	case PLAN_JOB_FD_PRIVATE: fl |= MAP_PRIVATE; fd = g->obj; break;
	default: rst_fail(r, PLAN_ST_ARGS, 0, g->start);
	}
	a = sys_mmap(g->start, len, prot, fl, fd, fd < 0 ? 0 : g->pgoff);
	if (fd >= 0 && g->kind != PLAN_JOB_FD && g->kind != PLAN_JOB_FD_PRIVATE)
		sys_close(fd);
	if (a < 0 && a > -4096)
		rst_fail(r, PLAN_ST_MAP, a, g->start);
	if ((uint64_t)a != g->start)
		rst_fail(r, PLAN_ST_MAP, -17 /* EEXIST */, g->start);
}

static void map_check(struct rst *r, long a, uint64_t want)
{
	if (a < 0 && a > -4096)
		rst_fail(r, PLAN_ST_MAP, a, want);
	if ((uint64_t)a != want)
		rst_fail(r, PLAN_ST_MAP, -17 /* EEXIST */, want);
}

/* every view of one memfd, mapped from one new memfd of its name */
static void shm_memfd(struct rst *r, const struct plan_region *g, uint32_t from)
{
	const struct plan_region *v;
	long fd, e;
	uint32_t i;

	if (g->path >= r->strings_len)
		rst_fail(r, PLAN_ST_ARGS, 0, g->start);
	if ((fd = sys_memfd_create(r->strings + g->path, 1 /* MFD_CLOEXEC */)) < 0)
		rst_fail(r, PLAN_ST_MAP, fd, g->start);
	if ((e = sys_ftruncate(fd, g->size)) < 0)
		rst_fail(r, PLAN_ST_MAP, e, g->start);
	for (i = from; i < r->hdr.nregions; i++) {
		v = &r->regions[i];
		if (v->kind == PLAN_SHARED_ANON && v->shm == g->shm)
			map_check(r, sys_mmap(v->start, v->end - v->start, RW,
					      MAP_SHARED | MAP_FIXED_NOREPLACE, fd, v->pgoff), v->start);
	}
	sys_close(fd);
}

/* every view of one shared anonymous object: one mapping of the whole
 * object wherever the kernel puts it (every fixed region is in place
 * by now), each view a second mapping of it by mremap(old_size 0),
 * then the first unmapped: /proc/PID/maps shows /dev/zero as before */
static void shm_anon(struct rst *r, const struct plan_region *g, uint32_t from)
{
	const struct plan_region *v;
	uint32_t i;
	long all;

	all = sys_mmap(0, g->size, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (all < 0 && all > -4096)
		rst_fail(r, PLAN_ST_MAP, all, g->start);
	for (i = from; i < r->hdr.nregions; i++) {
		v = &r->regions[i];
		if (v->kind == PLAN_SHARED_ANON && v->shm == g->shm)
			map_check(r, sys_mremap(all + v->pgoff, 0, v->end - v->start,
						MREMAP_MAYMOVE | MREMAP_FIXED, v->start), v->start);
	}
	sys_munmap(all, g->size);
}

/* A view of the job's SysV segment (ckpt-thaw made it, marked for
 * removal, and holds it attached until the go): shmat at the view's
 * address, writable until regions_protect, so that the pages can be
 * read in.  Only a view of the whole segment can be attached so; the
 * kernel places a part of one nowhere else. */
static void job_sysv(struct rst *r, const struct plan_region *g)
{
	if (g->pgoff || g->end - g->start != PAGE_UP(g->size))
		rst_fail(r, PLAN_ST_MAP, -22 /* EINVAL */, g->start);
	map_check(r, sys_shmat(g->obj, g->start, 0), g->start);
}

/* the fds of the job's objects, once every view is mapped: the
 * process's fd table is again the image's */
static void job_fds_close(struct rst *r)
{
	uint32_t i;

	for (i = 0; i < r->hdr.nregions; i++)
		if (r->regions[i].kind == PLAN_JOB_FD || r->regions[i].kind == PLAN_JOB_FD_PRIVATE)
			sys_close(r->regions[i].obj);   /* EBADF for a second view: fine */
}

/* The regions of shared memory objects seen through several views
 * (plan_region.shm) come last, one object at a time, from its first
 * view; then the others, each at its address, views of the job's
 * objects from the fds or segments ckpt-thaw made for them. */
void regions_map(struct rst *r)
{
	const struct plan_region *g;
	uint32_t i, j;

	for (i = 0; i < r->hdr.nregions; i++)
		if (r->regions[i].kind == PLAN_JOB_SYSV)
			job_sysv(r, &r->regions[i]);
		else if (r->regions[i].kind != PLAN_SHARED_ANON || !r->regions[i].shm)
			region_map(r, &r->regions[i]);
	job_fds_close(r);
	for (i = 0; i < r->hdr.nregions; i++) {
		g = &r->regions[i];
		if (g->kind != PLAN_SHARED_ANON || !g->shm)
			continue;
		for (j = 0; j < i && !(r->regions[j].kind == PLAN_SHARED_ANON &&
				       r->regions[j].shm == g->shm); j++)
			;
		if (j < i)
			continue;   /* done with its first view */
		if (g->path)
			shm_memfd(r, g, i);
		else
			shm_anon(r, g, i);
	}
}

#define MADV_POPULATE_WRITE_ 23   /* 5.14+; musl 1.2.3 lacks the name */

/* run u touches a region that keeps its protection (region_forced) */
static int run_forced(const struct rst *r, const struct plan_run *u)
{
	const struct plan_region *g;
	uint32_t i;

	for (i = 0; i < r->hdr.nregions; i++) {
		g = &r->regions[i];
		if (region_forced(g) && u->start < g->end && u->end > g->start)
			return 1;
	}
	return 0;
}

/* Run u through a buffer into /proc/self/mem, whose writes go through
 * a mapping without write as a debugger's do (FOLL_FORCE, copy-on-
 * write), charging nothing to the commit.  Only such runs: rare, and
 * slower than a read into place. */
static long self_mem = -1;   /* /proc/self/mem, for pages_force */

static void pages_force(struct rst *r, const struct plan_run *u)
{
	static char buf[64 * 1024];
	long mem = self_mem;
	uint64_t at, n;
	long e;

	if (mem < 0 && (mem = self_mem = sys_open("/proc/self/mem", O_RDWR | O_CLOEXEC, 0)) < 0)
		rst_fail(r, PLAN_ST_PAGES, mem, u->start);
	for (at = u->start; at < u->end; at += n) {
		n = u->end - at < sizeof buf ? u->end - at : sizeof buf;
		rst_read(r, buf, n, PLAN_ST_PAGES, at);
		if ((e = sys_pwrite64(mem, buf, n, at)) != (long)n)
			rst_fail(r, PLAN_ST_PAGES, e < 0 ? e : -5 /* EIO */, at);
	}
}

/* Thaw checked that every run lies in a region mapped here, writable
 * but for the forced ones.  Populating a run first takes its page
 * faults in one call rather than one per page inside read(); an old
 * kernel's EINVAL costs nothing. */
void pages_read(struct rst *r)
{
	const struct plan_run *u;
	uint32_t i;
	int forced = 0;

	for (i = 0; i < r->hdr.nregions && !forced; i++)
		forced = region_forced(&r->regions[i]) && region_has_runs(r, &r->regions[i]);
	for (i = 0; i < r->hdr.nruns; i++) {
		u = &r->runs[i];
		if (forced && run_forced(r, u)) {
			pages_force(r, u);
			continue;
		}
		sys_madvise(u->start, u->end - u->start, MADV_POPULATE_WRITE_);
		rst_read(r, (void *)u->start, u->end - u->start, PLAN_ST_PAGES, u->start);
	}
	if (self_mem >= 0)   /* the fd table is the image's again */
		sys_close(self_mem);
}

void regions_protect(struct rst *r)
{
	const struct plan_region *g;
	uint32_t i;
	long e;

	for (i = 0; i < r->hdr.nregions; i++) {
		g = &r->regions[i];
		if (g->kind == PLAN_FILE_SHARED || g->prot == RW)
			continue;
		if ((e = sys_mprotect(g->start, g->end - g->start, g->prot)) < 0)
			rst_fail(r, PLAN_ST_PROTECT, e, g->start);
	}
}

/* madvise's advice for each PLAN_VM_ flag (musl 1.2.3 lacks some names) */
static const struct { uint32_t bit; int advice; } advices[] = {
	{ PLAN_VM_DONTFORK, 10 }, { PLAN_VM_WIPEONFORK, 18 }, { PLAN_VM_DONTDUMP, 16 },
	{ PLAN_VM_HUGEPAGE, 14 }, { PLAN_VM_NOHUGEPAGE, 15 }, { PLAN_VM_MERGEABLE, 12 },
	{ PLAN_VM_SEQUENTIAL, 2 }, { PLAN_VM_RANDOM, 1 },
};

/* Guard pages (MADV_GUARD_INSTALL, 6.13+), none of which has a page in
 * the image: before any mlock (the kernel refuses guard pages in a
 * locked region: EINVAL, measured on 6.18) */
static void guards_install(struct rst *r)
{
	const struct plan_run *u;
	uint32_t i;
	long e;

	for (i = 0; i < r->hdr.nguards; i++) {
		u = &r->guards[i];
		if ((e = sys_madvise(u->start, u->end - u->start, 102 /* MADV_GUARD_INSTALL */)) < 0)
			rst_fail(r, PLAN_ST_GUARD, e, u->start);
	}
}

/* The flags beyond protection, after the rlimits (RLIMIT_MEMLOCK is
 * the image's by now) and the pages (a locked region is locked full):
 * a flag that cannot be set again fails the restore, since a program
 * that locked or hid its secrets must not run on without. */
void regions_advise(struct rst *r)
{
	const struct plan_region *g;
	uint32_t i, k;
	long e;

	guards_install(r);

	for (i = 0; i < r->hdr.nregions; i++) {
		g = &r->regions[i];
		for (k = 0; k < sizeof advices / sizeof *advices; k++)
			if ((g->vmflags & advices[k].bit) &&
			    (e = sys_madvise(g->start, g->end - g->start, advices[k].advice)) < 0)
				rst_fail(r, PLAN_ST_VMFLAGS, e, g->start);
		if (!(g->vmflags & PLAN_VM_LOCKED))
			continue;
		e = sys_mlock2(g->start, g->end - g->start,
			       g->vmflags & PLAN_VM_LOCKONFAULT ? 1 /* MLOCK_ONFAULT */ : 0);
		if (e < 0)
			rst_fail(r, PLAN_ST_VMFLAGS, e, g->start);
	}
}
