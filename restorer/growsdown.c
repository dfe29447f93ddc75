/* growsdown.c - the growsdown regions ([stack]) kept from growing while
 * the restorer works, and free to grow once the program runs.
 *
 * A MAP_GROWSDOWN region grows down, silently, whenever anything
 * touches the gap below it: a fault there, and the kernel's own
 * access_remote_vm, which expands the stack for a read of
 * /proc/PID/cmdline or /proc/PID/environ, of /proc/PID/mem, or a
 * ptrace peek (measured on 6.18: doc/restore.md).  Until PR_SET_MM_MAP
 * the mm's arg and env addresses still point into our old exec stack,
 * unmapped by then: a ps or pgrep that read our cmdline while that lay
 * a few MiB below the restored stack grew the stack by as much.  So a
 * guard page fills the page right below each growsdown region from
 * before it is mapped until just before the threads run: with no gap
 * left below it, nothing can grow the region, and a stray access there
 * fails (SIGSEGV, EFAULT, EIO) instead of growing it.
 *
 * The guard is one page of MAP_SHARED|MAP_ANONYMOUS memory, PROT_NONE:
 * a shared mapping never merges with a neighbour, so /proc/self/maps
 * shows it as a line of its own (layout.c expects it there).
 *
 * May not: place a guard where the plan puts a region (then that region
 * is the neighbour, no gap is left) or leave one mapped when the
 * program runs. */
#include <sys/mman.h>

#include "restorer.h"
#include "rawsys.h"

/* a planned [vvar], [vvar_vclock] or [vdso] holds the page at p: it
 * comes at vdso_restore(), whose mremap takes the guard's place */
static int special_at(const struct rst *r, uint64_t p)
{
	const uint64_t *sp[3] = { r->hdr.vvar, r->hdr.vclock, r->hdr.vdso };
	int i;

	for (i = 0; i < 3; i++)
		if (sp[i][0] <= p && p < sp[i][1])
			return 1;
	return 0;
}

uint64_t grows_guard(const struct rst *r, const struct plan_region *g)
{
	uint64_t p = g->start - PAGE;
	uint32_t i;

	if (g->kind != PLAN_STACK || g->start < 2 * PAGE)
		return 0;
	for (i = 0; i < r->hdr.nregions; i++)
		if (r->regions[i].start <= p && p < r->regions[i].end)
			return 0;
	return p;
}

/* before g is mapped: its guard (a failure is a bug in the plan or the
 * clearing, never a page to map over) */
void grows_guard_map(struct rst *r, const struct plan_region *g)
{
	uint64_t p = grows_guard(r, g);
	long a;

	if (!p)
		return;
	a = sys_mmap(p, PAGE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (a < 0 && a > -4096)
		rst_fail(r, PLAN_ST_MAP, a, p);
	if ((uint64_t)a != p)
		rst_fail(r, PLAN_ST_MAP, -17 /* EEXIST */, p);
}

/* the last step before the program runs: every guard away, but where
 * the vDSO took its place */
void grows_unguard(struct rst *r)
{
	uint64_t p;
	uint32_t i;
	long e;

	for (i = 0; i < r->hdr.nregions; i++) {
		p = grows_guard(r, &r->regions[i]);
		if (p && !special_at(r, p) && (e = sys_munmap(p, PAGE)) < 0)
			rst_fail(r, PLAN_ST_MAP, e, p);
	}
}

/* the guard of the region that starts at end, when [start, end) is it
 * and it is in place (not a planned special's page) */
int grows_is_guard(const struct rst *r, const struct plan_region *next, uint64_t start,
		   uint64_t end)
{
	uint64_t p = next ? grows_guard(r, next) : 0;

	return p && start == p && end == next->start && !special_at(r, p);
}
