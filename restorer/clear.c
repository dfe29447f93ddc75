/* clear.c - take away everything the kernel gave the restorer at exec,
 * except the hole: its old image, its stack, and its vDSO, which moves
 * into the hole's slot until vdso_restore() puts it at the image's
 * address.
 *
 * May not: run from the old image or on the old stack (rst_switch has
 * moved both into the hole), or act on /proc/self/maps while reading
 * it (the whole text is read first). */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "maps.h"
#include "restorer.h"
#include "rawsys.h"

static char maps[64 * 1024];

static long maps_read(struct rst *r)
{
	long fd, n, k = 0;

	fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		rst_fail(r, PLAN_ST_CLEAR, fd, 0);
	while ((n = sys_read(fd, maps + k, sizeof maps - 1 - k)) > 0)
		k += n;
	sys_close(fd);
	if (n < 0 || k == (long)sizeof maps - 1)
		rst_fail(r, PLAN_ST_CLEAR, n < 0 ? n : -27 /* EFBIG */, 0);
	maps[k] = 0;
	return k;
}

/* which of [vvar] [vvar_vclock] [vdso] a region is, or -1 */
static int special(const struct map_region *m)
{
	static const char *const names[3] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
	int i;

	for (i = 0; i < 3; i++)
		if (strlen(names[i]) == m->pathlen && !memcmp(m->path, names[i], m->pathlen))
			return i;
	return -1;
}

/* move our three special mappings into the slot, keeping their layout */
static void specials_park(struct rst *r, uint64_t lo)
{
	uint64_t len, to;
	long e;
	int i;

	for (i = 0; i < 3; i++) {
		if (!r->own[i][1])
			continue;
		len = r->own[i][1] - r->own[i][0];
		to = r->slot + (r->own[i][0] - lo);
		if (to + len > r->slot + PLAN_VDSO_SLOT)
			rst_fail(r, PLAN_ST_CLEAR, -12 /* ENOMEM */, r->own[i][0]);
		e = sys_mremap(r->own[i][0], len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (e < 0)
			rst_fail(r, PLAN_ST_CLEAR, e, r->own[i][0]);
		r->own[i][0] = to;
		r->own[i][1] = to + len;
	}
}

void old_clear(struct rst *r)
{
	uint64_t lo = ~0ULL, s, e, hole_end = r->body + PAGE_UP(r->hdr.body_size);
	struct map_region m;
	const char *p, *eol;
	long err;
	int k;

	maps_read(r);
	for (p = maps; *p; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		if (maps_line(p, eol, &m) < 0)
			rst_fail(r, PLAN_ST_CLEAR, -22 /* EINVAL */, 0);
		s = m.start;
		e = m.end;
		if (s >= r->hdr.hole && e <= hole_end)
			continue;
		if ((k = special(&m)) >= 0) {
			r->own[k][0] = s;
			r->own[k][1] = e;
			lo = s < lo ? s : lo;
			continue;
		}
		if (s >= 0x800000000000ULL) /* [vsyscall]: every process has it */
			continue;
		if ((err = sys_munmap(s, e - s)) < 0)
			rst_fail(r, PLAN_ST_CLEAR, err, s);
	}
	specials_park(r, lo);
}
