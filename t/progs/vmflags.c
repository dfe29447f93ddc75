/* vmflags - regions with flags beyond their protection (issue 17,
 * "Memory"), each checked against its own smaps VmFlags.
 *
 * usage: vmflags
 *
 * Maps one region per flag, sets it (mlock, mlock2 MLOCK_ONFAULT,
 * MADV_DONTFORK, DONTDUMP, WIPEONFORK, HUGEPAGE, NOHUGEPAGE, MERGEABLE
 * where the kernel has KSM, SEQUENTIAL, RANDOM; mapped MAP_NORESERVE,
 * MAP_DROPPABLE where the kernel has it), writes a value in each,
 * and records each region's VmFlags line from /proc/self/smaps.
 * Prints "pid N", "region NAME 0xADDR PAGES" for each, "ready vmflags".
 * SIGUSR1: each region's VmFlags must read as recorded and its value be
 * there: "verify ok", or "FAIL NAME: VmFlags now '...', were '...'".
 * SIGTERM: the same, "done ok", exit 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGES 4
#define MAP_DROPPABLE_ 0x08    /* 6.11+; glibc 2.36 lacks the name */

struct reg {
	const char *name;
	int advice;            /* madvise, or -1: mlock, -2: mlock2 onfault,
	                        * -3: MAP_NORESERVE, -4: MAP_DROPPABLE */
	char *at;
	char flags[256];       /* VmFlags at the start */
};

static struct reg regs[] = {
	{ "mlock", -1, 0, "" }, { "onfault", -2, 0, "" },
	{ "dontfork", MADV_DONTFORK, 0, "" }, { "dontdump", MADV_DONTDUMP, 0, "" },
	{ "wipeonfork", MADV_WIPEONFORK, 0, "" }, { "hugepage", MADV_HUGEPAGE, 0, "" },
	{ "nohugepage", MADV_NOHUGEPAGE, 0, "" }, { "mergeable", MADV_MERGEABLE, 0, "" },
	{ "sequential", MADV_SEQUENTIAL, 0, "" }, { "random", MADV_RANDOM, 0, "" },
	{ "noreserve", -3, 0, "" }, { "droppable", -4, 0, "" },
};
#define N (sizeof regs / sizeof *regs)

/* the VmFlags line of the region starting at a, from /proc/self/smaps */
static int vmflags_of(const char *a, char *out, size_t len)
{
	char line[512], want[32];
	int in = 0;
	FILE *f = fopen("/proc/self/smaps", "r");

	snprintf(want, sizeof want, "%lx-", (unsigned long)a);
	out[0] = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (!strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, len, "%s", line + 8);
			out[strcspn(out, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return out[0] ? 0 : -1;
}

static int setup(struct reg *g, int i)
{
	long ps = sysconf(_SC_PAGESIZE);

	int type = g->advice == -4 ? MAP_DROPPABLE_ : MAP_PRIVATE;

	g->at = mmap(NULL, PAGES * ps, PROT_READ | PROT_WRITE,
		     type | MAP_ANONYMOUS | (g->advice == -3 ? MAP_NORESERVE : 0), -1, 0);
	if (g->at == MAP_FAILED)
		return -1;
	g->at[0] = 'a' + i;
	if (g->advice == -1)
		return mlock(g->at, PAGES * ps);
	if (g->advice == -2)
		return mlock2(g->at, PAGES * ps, MLOCK_ONFAULT);
	if (g->advice < 0)
		return 0;
	return madvise(g->at, PAGES * ps, g->advice);
}

static int verify(void)
{
	char now[256];
	unsigned i;

	for (i = 0; i < N; i++) {
		if (!regs[i].at)
			continue;
		if (vmflags_of(regs[i].at, now, sizeof now) < 0 || strcmp(now, regs[i].flags))
			return printf("FAIL %s: VmFlags now '%s', were '%s'\n", regs[i].name, now,
				      regs[i].flags), -1;
		/* droppable memory may be dropped: zeros are fine there */
		if (regs[i].at[0] != (char)('a' + i) && regs[i].advice != -4)
			return printf("FAIL %s: holds %d\n", regs[i].name, regs[i].at[0]), -1;
	}
	return 0;
}

int main(void)
{
	unsigned i;

	for (i = 0; i < N; i++) {
		if (setup(&regs[i], i) < 0) {
			/* MADV_MERGEABLE without KSM in the kernel, or
			 * MAP_DROPPABLE before 6.11: left out */
			printf("skip %s\n", regs[i].name);
			regs[i].at = NULL;
			continue;
		}
		printf("region %s %p %d\n", regs[i].name, (void *)regs[i].at, PAGES);
	}
	for (i = 0; i < N; i++)
		if (regs[i].at && vmflags_of(regs[i].at, regs[i].flags, sizeof regs[i].flags) < 0)
			return printf("FAIL %s: no VmFlags\n", regs[i].name), 1;
	return serve_verify("vmflags", verify);
}
