/* dirtyprog - writes a known set of pages, step by step, for the dirty
 * tracking tests (t/dirty.bats), and checks its memory on request.
 *
 * usage: dirtyprog [-e] [MIB]
 *
 * Prints "pid N", "region A ADDR 16", "region C ADDR 8", with MIB a
 * region M of MIB MiB ("region M ADDR PAGES"), then "ready".  Every
 * page of A, C and M is written before ready.  -e: the first SIGUSR1
 * execs the program again (without -e), which starts anew.  Each
 * SIGUSR1 takes a step, then prints "wrote N":
 *   1: A page 1 written by the program, page 3 by the kernel (read(2)
 *      from a pipe), page 5 dropped (MADV_DONTNEED) and written again,
 *      page 7 dropped; a new region B of 4 pages (page 0 written:
 *      "region B ADDR 4"); C moved by mremap to D ("region D ADDR 8");
 *      a child forked ("child PID"), which writes its own copy of A
 *      page 9 at once and A page 11 at each SIGUSR1 ("child wrote N");
 *   2: A page 2 written;
 *   3 and after: every page checked against what the steps wrote,
 *      "verify ok" (or "FAIL ..." and exit 1).
 * SIGTERM: the child ended, everything checked, "done ok", exit 0. */
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "prog.h"

#define PG 4096
#define NA 16
#define NC 8

static unsigned char *a, *b, *c;
static int step;

static void fill(unsigned char *p, int v)
{
	memset(p, v, PG);
}

static unsigned char *region(const char *name, int pages)
{
	unsigned char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		printf("FAIL mmap %s\n", name);
		exit(1);
	}
	printf("region %s %p %d\n", name, (void *)p, pages);
	return p;
}

/* the child: its own copy of A, written at once and at each SIGUSR1 */
static void child_run(void)
{
	int n = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fill(a + 9 * PG, 0xc9);
	for (;;) {
		wait_request();
		if (want_exit)
			_exit(0);
		want_verify = 0;
		fill(a + 11 * PG, 0xcb);
		printf("child wrote %d\n", ++n);
		fflush(stdout);
	}
}

static pid_t child;

static void step1(void)
{
	void *hole;
	int p[2];

	a[PG] = 0xa1;
	if (pipe(p) < 0 || write(p[1], "hello", 5) != 5 || read(p[0], a + 3 * PG, 5) != 5)
		printf("FAIL pipe\n"), exit(1);
	close(p[0]);
	close(p[1]);
	madvise(a + 5 * PG, PG, MADV_DONTNEED);
	fill(a + 5 * PG, 0xa5);
	madvise(a + 7 * PG, PG, MADV_DONTNEED);
	b = region("B", 4);
	fill(b, 0xb0);
	/* to a place of its own, so that it moves for sure */
	hole = mmap(NULL, NC * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c = hole == MAP_FAILED ? hole : mremap(c, NC * PG, NC * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	if (c == MAP_FAILED)
		printf("FAIL mremap\n"), exit(1);
	printf("region D %p %d\n", (void *)c, NC);
	fflush(stdout);
	if ((child = fork()) == 0)
		child_run();
	printf("child %d\n", (int)child);
}

/* what page i of A holds after the steps taken */
static int a_want(int i, int off)
{
	if (step >= 1 && i == 3 && off < 5)
		return "hello"[off];
	if (step >= 1 && i == 1)
		return off ? 0x10 + i : 0xa1;
	if (step >= 1 && i == 5)
		return 0xa5;
	if (step >= 1 && i == 7)
		return 0;
	if (step >= 2 && i == 2)
		return 0xa2;
	return 0x10 + i;
}

static int check(void)
{
	int i, off;

	for (i = 0; i < NA; i++)
		for (off = 0; off < PG; off++)
			if (a[i * PG + off] != a_want(i, off))
				return printf("FAIL A page %d byte %d: %#x\n", i, off, a[i * PG + off]), 0;
	for (i = 0; i < NC * PG; i++)
		if (c[i] != 0x30 + i / PG)
			return printf("FAIL C/D byte %d: %#x\n", i, c[i]), 0;
	for (i = 0; b && i < 4 * PG; i++)
		if (b[i] != (i < PG ? 0xb0 : 0))
			return printf("FAIL B byte %d: %#x\n", i, b[i]), 0;
	return 1;
}

/* region M, MIB MiB of written pages: a stream long enough to break */
static void big(int mib)
{
	unsigned char *m;

	if (mib <= 0)
		return;
	m = region("M", mib * 256);
	memset(m, 0x4d, (size_t)mib << 20);
}

int main(int argc, char **argv)
{
	int i, exec_step = argc > 1 && !strcmp(argv[1], "-e");

	signals_init();
	printf("pid %d\n", (int)getpid());
	a = region("A", NA);
	c = region("C", NC);
	big(argc > 1 + exec_step ? atoi(argv[1 + exec_step]) : 0);
	for (i = 0; i < NA; i++)
		fill(a + i * PG, 0x10 + i);
	for (i = 0; i < NC; i++)
		fill(c + i * PG, 0x30 + i);
	printf("ready dirtyprog\n");
	fflush(stdout);
	for (;;) {
		wait_request();
		if (want_exit)
			break;
		want_verify = 0;
		if (exec_step) {
			fflush(stdout);
			execl("/proc/self/exe", "dirtyprog", (char *)NULL);
			printf("FAIL exec\n");
			return 1;
		}
		if (step == 0)
			step1();
		else if (step == 1)
			fill(a + 2 * PG, 0xa2);
		if (step < 2)
			printf("wrote %d\n", ++step);
		else if (check())
			printf("verify ok\n");
		else
			exit(1);
		fflush(stdout);
	}
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	if (!check())
		return 1;
	printf("done ok\n");
	return 0;
}
