/* machine.c - this machine against the image's (machine.h) */
#include <inttypes.h>
#include <stdlib.h>

#include "err.h"
#include "coreread.h"
#include "io.h"
#include "machine.h"
#include "maps.h"
#include "sys_arch.h"

uint64_t vdso_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ULL;
	return h;
}

/* the hash of our own [vdso], or 0 */
static uint64_t own_vdso_hash(void)
{
	size_t len, n, bad;
	char *maps = read_file("/proc/self/maps", &len);
	struct map_region *r = NULL;
	const struct map_region *v;
	uint64_t h = 0;

	if (maps && maps_parse(maps, len, &r, &n, &bad) == 0 && (v = maps_find(r, n, "[vdso]")))
		h = vdso_hash((const void *)(uintptr_t)v->start, v->end - v->start);
	free(r);
	free(maps);
	return h;
}

int machine_check(const struct img_core *c)
{
	uint64_t h = own_vdso_hash();

	if (!c->seen_vdso || h != c->vdso_hash)
		return warn("pid %d: the vDSO differs from the checkpoint's (hash 0x%016" PRIx64
			    ", here 0x%016" PRIx64 ")", c->pid, c->vdso_hash, h), -1;
	if (c->xcr0 != cpu_xcr0())
		return warn("pid %d: the CPU's xsave features differ (xcr0 0x%" PRIx64
			    ", here 0x%llx)", c->pid, c->xcr0, cpu_xcr0()), -1;
	return 0;
}
