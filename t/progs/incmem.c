/* incmem - memory that changes by a known plan between checkpoints.
 *
 * usage: incmem DIR
 *
 * Step 0 (at start) maps and fills: A, 64 anonymous pages; C, 16
 * anonymous pages; E, 8 anonymous pages; G, 2 anonymous pages then
 * made PROT_NONE (a dump reads them through the mem fd); a private
 * writable mapping of DIR/file.bin (4 pages of 'F'); and prints
 * "ready incmem pid=N".
 * Each SIGUSR2 makes the next step, then prints "step N":
 *   every step   rewrites six pages of A (which ones follow the step)
 *   1            maps F (8 new pages, filled), grows brk by 32 pages
 *                (filled), writes page 1 of the file mapping
 *   2            MADV_DONTNEED pages 10-19 of A; mremaps E elsewhere
 *   3            munmaps C; shrinks brk by 16 pages; MADV_DONTNEED the
 *                written file page (it reads as the file again)
 *   4            maps D where C was, writes its pages 0-3 only; writes
 *                page 12 of A again
 *   5            grows brk by 16 pages again, writes only the first
 *                (the others must read as zeros)
 *   6            MADV_DONTFORK on all of A: its VmFlags change ("dc"),
 *                its maps line does not
 *   7            MADV_HUGEPAGE on all of A ("hg": a region tracking
 *                leaves to hashes, lib/dirty.c)
 *   6 and on     A's six pages (and the above)
 * Every page written holds its region, page and step in each word, so
 * a page from the wrong checkpoint is seen.  SIGUSR1: every region is
 * checked against the plan replayed up to the current step; "verify
 * ok step=N" and go on.  SIGTERM: the same, then exit 0.  Any
 * mismatch: "FAIL ..." and exit 1.  "region NAME 0xADDR PAGES" is
 * printed for each region as it is made or moved, and for brk and the
 * file mapping (the test compares images there).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PG 4096
#define A_PAGES 64

static volatile sig_atomic_t want_step;
static int step;
static char *A, *C, *E, *F, *D, *G, *file, *brk0;
static long brk_pages;

static void on_step(int sig)
{
	(void)sig;
	want_step = 1;
}

static uint64_t word(int region, int page, int st, int i)
{
	return 0x494e430000000000ull | (uint64_t)region << 32 | (uint64_t)page << 20 |
	       (uint64_t)st << 12 | (uint64_t)i;
}

static void fill(char *p, int region, int page, int st)
{
	uint64_t *w = (uint64_t *)p;

	for (int i = 0; i < PG / 8; i++)
		w[i] = word(region, page, st, i);
}

static void *map_anon(void *at, size_t pages)
{
	void *p = mmap(at, pages * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED_NOREPLACE : 0), -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

/* the pages of A step st rewrites */
static int a_written(int st, int p)
{
	for (int i = 0; i < 6; i++)
		if ((st * 7 + i * 3) % A_PAGES == p)
			return 1;
	return st == 0 || (st == 4 && p == 12);
}

/* the step A's page p was last written in, as of step st; -1: zeros */
static int a_version(int st, int p)
{
	int v = -1;

	for (int t = 0; t <= st; t++)
		if (t == 2 && p >= 10 && p < 20)
			v = -1;   /* dropped, not written: step_do skips them */
		else if (a_written(t, p))
			v = t;
	return v;
}

static void step_do(void)
{
	step++;
	for (int p = 0; p < A_PAGES; p++)
		if (a_written(step, p) && !(step == 2 && p >= 10 && p < 20))
			fill(A + p * PG, 'A', p, step);
	if (step == 1) {
		F = map_anon(NULL, 8);
		for (int p = 0; p < 8; p++)
			fill(F + p * PG, 'F', p, 1);
		brk0 = sbrk(0);
		printf("region F %p 8\nregion brk %p 32\n", (void *)F, (void *)brk0);
		if (sbrk(32 * PG) == (void *)-1)
			perror("sbrk"), exit(1);
		brk_pages = 32;
		for (int p = 0; p < 32; p++)
			fill(brk0 + p * PG, 'B', p, 1);
		fill(file + PG, 'f', 1, 1);
	}
	if (step == 2) {
		madvise(A + 10 * PG, 10 * PG, MADV_DONTNEED);
		/* a new place for E: reserve one, then move onto it */
		char *to = map_anon(NULL, 8);
		E = mremap(E, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (E == MAP_FAILED)
			perror("mremap"), exit(1);
		printf("region E %p 8\n", (void *)E);
	}
	if (step == 3) {
		munmap(C, 16 * PG);
		if (sbrk(-16 * PG) == (void *)-1)
			perror("sbrk"), exit(1);
		brk_pages = 16;
		madvise(file + PG, PG, MADV_DONTNEED);
	}
	if (step == 4) {
		D = map_anon(C, 16);
		printf("region D %p 16\n", (void *)D);
		for (int p = 0; p < 4; p++)
			fill(D + p * PG, 'D', p, 4);
	}
	if (step == 5) {
		if (sbrk(16 * PG) == (void *)-1)
			perror("sbrk"), exit(1);
		brk_pages = 32;
		fill(brk0 + 16 * PG, 'b', 16, 5);
	}
	if (step == 6 && madvise(A, A_PAGES * PG, MADV_DONTFORK) < 0)
		perror("madvise"), exit(1);
	if (step == 7 && madvise(A, A_PAGES * PG, MADV_HUGEPAGE) < 0)
		perror("madvise"), exit(1);
}

/* The VmFlags of the region holding A (its neighbours may have joined
 * it) has "dc" (MADV_DONTFORK) in /proc/self/smaps: 1, 0, or -1 when
 * A is not found */
static int a_dontfork(void)
{
	char line[1024];
	unsigned long lo, hi, a = (uintptr_t)A;
	int in = 0, r = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && r < 0 && fgets(line, sizeof line, f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in = lo <= a && a < hi;
		else if (in && !strncmp(line, "VmFlags:", 8))
			r = strstr(line, " dc") != NULL;
	}
	if (f)
		fclose(f);
	return r;
}

static int page_is(const char *p, int region, int page, int st)
{
	const uint64_t *w = (const uint64_t *)p;

	for (int i = 0; i < PG / 8; i++)
		if (w[i] != (st < 0 ? 0 : word(region, page, st, i)))
			return 0;
	return 1;
}

static int check(const char *what, const char *p, int region, int page, int st)
{
	if (page_is(p, region, page, st))
		return 0;
	printf("FAIL %s page %d: not as written in step %d (word 0 %016llx)\n", what, page,
	       st, (unsigned long long)*(const uint64_t *)p);
	return 1;
}

static int file_page_ok(int page)
{
	for (int i = 0; i < PG; i++)
		if (file[page * PG + i] != 'F')
			return 0;
	return 1;
}

static int verify(void)
{
	int bad = 0, p;

	for (p = 0; p < A_PAGES; p++)
		bad += check("A", A + p * PG, 'A', p, a_version(step, p));
	for (p = 0; p < 8; p++)
		bad += check("E", E + p * PG, 'E', p, 0);
	for (p = 0; step < 3 && p < 16; p++)
		bad += check("C", C + p * PG, 'C', p, 0);
	for (p = 0; step >= 1 && p < 8; p++)
		bad += check("F", F + p * PG, 'F', p, 1);
	for (p = 0; step >= 1 && p < brk_pages; p++)
		bad += step < 5 || p < 16 ? check("brk", brk0 + p * PG, 'B', p, 1) :
		       check("brk", brk0 + p * PG, 'b', p, p == 16 ? 5 : -1);
	for (p = 0; step >= 4 && p < 16; p++)
		bad += check("D", D + p * PG, 'D', p, p < 4 ? 4 : -1);
	mprotect(G, 2 * PG, PROT_READ);
	for (p = 0; p < 2; p++)
		bad += check("G", G + p * PG, 'G', p, 0);
	mprotect(G, 2 * PG, PROT_NONE);
	for (p = 0; p < 4; p++)
		if (p == 1 && step >= 1 && step < 3)
			bad += check("file", file + PG, 'f', 1, 1);
		else if (!file_page_ok(p))
			bad++, printf("FAIL file page %d: not the file's\n", p);
	if (a_dontfork() != (step >= 6))
		bad++, printf("FAIL A: VmFlags dc %d, not as of step %d\n", a_dontfork(), step);
	if (!bad)
		printf("verify ok step=%d\n", step);
	return bad;
}

static void file_map(const char *dir)
{
	char path[4096], buf[4 * PG];
	int fd;

	snprintf(path, sizeof path, "%s/file.bin", dir);
	memset(buf, 'F', sizeof buf);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
		perror(path), exit(1);
	file = mmap(NULL, sizeof buf, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		perror("mmap file"), exit(1);
	close(fd);
	for (int p = 0; p < 4; p++)
		(void)*(volatile char *)(file + p * PG);
}

int main(int argc, char **argv)
{
	const char *dir = dir_arg(argc, argv, "incmem DIR");
	int p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signals_init();
	signal(SIGUSR2, on_step);
	file_map(dir);
	A = map_anon(NULL, A_PAGES);
	C = map_anon(NULL, 16);
	E = map_anon(NULL, 8);
	for (p = 0; p < A_PAGES; p++)
		fill(A + p * PG, 'A', p, 0);
	for (p = 0; p < 16; p++)
		fill(C + p * PG, 'C', p, 0);
	for (p = 0; p < 8; p++)
		fill(E + p * PG, 'E', p, 0);
	G = map_anon(NULL, 2);
	for (p = 0; p < 2; p++)
		fill(G + p * PG, 'G', p, 0);
	mprotect(G, 2 * PG, PROT_NONE);
	printf("region A %p %d\nregion E %p 8\nregion C %p 16\nregion file %p 4\nregion G %p 2\n",
	       (void *)A, A_PAGES, (void *)E, (void *)C, (void *)file, (void *)G);
	printf("pid %d\n", (int)getpid());
	printf("ready incmem pid=%d\n", (int)getpid());
	for (;;) {
		while (!want_step && !want_verify && !want_exit)
			pause();
		if (want_step) {
			want_step = 0;
			step_do();
			printf("step %d\n", step);
		}
		if (want_verify) {
			want_verify = 0;
			if (verify())
				return 1;
		}
		if (want_exit) {
			if (verify())
				return 1;
			printf("done ok\n");
			return 0;
		}
	}
}
