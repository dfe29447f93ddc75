/* layout.c - the last look before the program runs: the process's
 * mappings, as /proc/self/maps shows them, are the plan's, exactly.
 *
 * Every planned region at its start and end, with its protection and
 * its sharing; nothing else but what the restorer leaves by design: the
 * hole (its own room, unmapped by the trampoline), the guards below the
 * growsdown regions (growsdown.c, unmapped next), [vvar],
 * [vvar_vclock] and [vdso] at the image's addresses, [vsyscall] and
 * [uprobes].  The kernel may have merged neighbours of the plan that
 * are alike (same protection and sharing): one line may cover several
 * planned regions, never part of one.  A difference fails the restore:
 * notes (PLAN_ST_LAYOUT_WANT, _WANT_END, _SAW, _SAW_END) say what the
 * plan had and what the kernel has, then PLAN_ST_LAYOUT names the
 * address where they part.
 *
 * May not: hold the whole text (a process may have 65530 mappings):
 * it reads a buffer at a time, one line after the other. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "maps.h"
#include "restorer.h"
#include "rawsys.h"

static char text[64 * 1024];

struct walk {
	uint32_t i;          /* the next planned region */
	uint64_t hole_end;
};

static int region_shared(const struct plan_region *g)
{
	return g->kind == PLAN_FILE_SHARED || g->kind == PLAN_SHARED_ANON ||
	       g->kind == PLAN_JOB_FD || g->kind == PLAN_JOB_SYSV;
}

static int alike(const struct plan_region *g, const struct map_region *m)
{
	return (g->prot & 7) == m->prot && region_shared(g) == m->shared;
}

/* PLAN_ST_LAYOUT_WANT/SAW's err: PROT_* bits, 8 shared, 16 there, and
 * the plan's kind from bit 8 */
static int32_t perms_code(unsigned prot, int shared, unsigned kind)
{
	return (int32_t)((prot & 7) | (shared ? 8 : 0) | 16 | kind << 8);
}

/* the plan's region g (or none) is not what the kernel has (m, or
 * nothing) at addr */
static _Noreturn void differs(struct rst *r, const struct plan_region *g,
			      const struct map_region *m, uint64_t addr)
{
	rst_warn(r, PLAN_ST_LAYOUT_WANT, g ? perms_code(g->prot, region_shared(g), g->kind) : 0,
		 g ? g->start : 0);
	rst_warn(r, PLAN_ST_LAYOUT_WANT_END, 0, g ? g->end : 0);
	rst_warn(r, PLAN_ST_LAYOUT_SAW, m ? perms_code(m->prot, m->shared, 0) : 0,
		 m ? m->start : 0);
	rst_warn(r, PLAN_ST_LAYOUT_SAW_END, 0, m ? m->end : 0);
	rst_fail(r, PLAN_ST_LAYOUT, 0, addr);
}

/* by design: ours, or the kernel's own special mappings where the
 * image had them */
static int by_design(const struct rst *r, const struct walk *w, const struct map_region *m)
{
	const uint64_t *sp[3] = { r->hdr.vvar, r->hdr.vclock, r->hdr.vdso };
	const struct plan_region *next = w->i < r->hdr.nregions ? &r->regions[w->i] : 0;
	int k;

	if (m->start >= r->hdr.hole && m->end <= w->hole_end)
		return 1;
	if (m->start >= 0x800000000000ULL)   /* [vsyscall] */
		return 1;
	if (m->pathlen == 9 && !memcmp(m->path, "[uprobes]", 9))
		return 1;
	for (k = 0; k < 3; k++)
		if (sp[k][1] && m->start == sp[k][0] && m->end == sp[k][1])
			return 1;
	return grows_is_guard(r, next, m->start, m->end);
}

/* m is planned regions w->i and on, alike and each the next's
 * neighbour, to its end */
static void covered(struct rst *r, struct walk *w, const struct map_region *m)
{
	const struct plan_region *g = w->i < r->hdr.nregions ? &r->regions[w->i] : 0;
	uint64_t end;

	if (!g || g->start >= m->end)
		differs(r, 0, m, m->start);           /* not in the plan */
	if (g->start != m->start || !alike(g, m))
		differs(r, g, m, g->start < m->start ? g->start : m->start);
	end = g->end;
	while (++w->i < r->hdr.nregions && end < m->end && r->regions[w->i].start == end &&
	       alike(&r->regions[w->i], m))
		end = r->regions[w->i].end;
	if (end != m->end)
		differs(r, g, m, g->start);
}

static void line_check(struct rst *r, struct walk *w, const char *s, const char *eol)
{
	struct map_region m;

	if (maps_line(s, eol, &m) < 0)
		rst_fail(r, PLAN_ST_LAYOUT, -22 /* EINVAL */, 0);
	if (!by_design(r, w, &m))
		covered(r, w, &m);
}

/* the plan's regions in address order, none over another (the walk
 * needs it; the kernel's maps member always is) */
static void plan_sorted(struct rst *r)
{
	uint32_t i;

	for (i = 1; i < r->hdr.nregions; i++)
		if (r->regions[i].start < r->regions[i - 1].end)
			rst_fail(r, PLAN_ST_ARGS, 0, r->regions[i].start);
}

void layout_check(struct rst *r)
{
	struct walk w = { 0, r->body + PAGE_UP(r->hdr.body_size) };
	uint64_t have = 0, used;
	const char *p, *eol;
	long fd, n;

	plan_sorted(r);
	if ((fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0)) < 0)
		rst_fail(r, PLAN_ST_LAYOUT, fd, 0);
	do {
		if ((n = sys_read(fd, text + have, sizeof text - have)) < 0)
			rst_fail(r, PLAN_ST_LAYOUT, n, 0);
		have += n;
		for (p = text; (eol = memchr(p, '\n', text + have - p)); p = eol + 1)
			line_check(r, &w, p, eol);
		used = p - text;
		if (!used && have == sizeof text)   /* a line longer than the buffer */
			rst_fail(r, PLAN_ST_LAYOUT, -27 /* EFBIG */, 0);
		memmove(text, p, have - used);
		have -= used;
	} while (n > 0);
	sys_close(fd);
	if (have)   /* the kernel ends every line with a newline */
		rst_fail(r, PLAN_ST_LAYOUT, -22 /* EINVAL */, 0);
	if (w.i < r->hdr.nregions)
		differs(r, &r->regions[w.i], 0, r->regions[w.i].start);
}
