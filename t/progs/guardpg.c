/* guardpg - guard pages (MADV_GUARD_INSTALL, Linux 6.13) in regions
 * with bytes around them.
 *
 * usage: guardpg
 *
 * Maps 8 pages of private anonymous memory and 8 of shared anonymous
 * memory, writes a pattern into each page, makes pages 2 and 5 of each
 * guard pages (their bytes are gone), and prints "pid N", "region
 * guard 0xADDR 8", "region sguard 0xADDR 8", "ready guardpg".  SIGUSR1
 * or SIGTERM: check that touching any guard page still faults (SIGSEGV,
 * caught) and that the other pages keep their pattern: "verify ok" (or
 * "done ok"), else "FAIL ..." and exit 1.  Exit 2 when the kernel has
 * no guard pages.
 */
#include <setjmp.h>
#include <sys/mman.h>

#include "prog.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define PAGES 8
static const int guards[] = { 2, 5 };
static char *bases[2];
static long psz;
static sigjmp_buf fault_jmp;

static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

static int is_guard(int i)
{
	return i == guards[0] || i == guards[1];
}

static char pattern(int page, long off)
{
	return (char)(page * 31 + off % 251 + 1);
}

/* 1 when reading the byte at p faults */
static int faults(const volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_segv }, old;
	int hit = 0;

	sigaction(SIGSEGV, &sa, &old);
	if (sigsetjmp(fault_jmp, 1) == 0)
		(void)*p;
	else
		hit = 1;
	sigaction(SIGSEGV, &old, NULL);
	return hit;
}

static int verify_one(const char *base)
{
	long off;
	int i;

	for (i = 0; i < PAGES; i++) {
		if (is_guard(i)) {
			if (!faults(base + i * psz) || !faults(base + i * psz + psz - 1))
				return printf("FAIL %p page %d is no guard page any more\n", (void *)base, i), -1;
			continue;
		}
		for (off = 0; off < psz; off++)
			if (base[i * psz + off] != pattern(i, off))
				return printf("FAIL %p page %d byte %ld changed\n", (void *)base, i, off), -1;
	}
	return 0;
}

static int verify(void)
{
	return verify_one(bases[0]) < 0 || verify_one(bases[1]) < 0 ? -1 : 0;
}

/* a region of flags, its pattern written, its guard pages installed:
 * 0, -1 after a FAIL line, -2 without guard pages */
static int region_make(char **at, int flags)
{
	char *base;
	long off;
	int i;

	base = mmap(NULL, PAGES * psz, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return printf("FAIL mmap: errno %d\n", errno), -1;
	for (i = 0; i < PAGES; i++)
		for (off = 0; off < psz; off++)
			base[i * psz + off] = pattern(i, off);
	for (i = 0; i < 2; i++)
		if (madvise(base + guards[i] * psz, psz, MADV_GUARD_INSTALL) < 0)
			return printf("no guard pages: errno %d\n", errno), -2;
	*at = base;
	return 0;
}

int main(void)
{
	int e;

	psz = sysconf(_SC_PAGESIZE);
	if ((e = region_make(&bases[0], MAP_PRIVATE)) < 0 || (e = region_make(&bases[1], MAP_SHARED)) < 0)
		return e == -2 ? 2 : 1;
	if (verify() < 0)
		return 1;
	printf("region guard %p %d\nregion sguard %p %d\n", (void *)bases[0], PAGES, (void *)bases[1], PAGES);
	return serve_verify("guardpg", verify);
}
