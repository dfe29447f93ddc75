/* touchloop - the loop whose cost dirty tracking adds to: one byte
 * written in every page of MIB MiB (bench/incremental-tracking).
 *
 * usage: touchloop MIB [thp]
 *
 * Maps MIB MiB of anonymous memory (thp: 2 MiB aligned and
 * MADV_HUGEPAGE, as THP is "madvise" here), writes every page, prints
 * "pid N", "region T ADDR PAGES" and "ready touchloop".  Each SIGUSR1: one pass of the loop,
 * then "pass NS" (its time in nanoseconds).  SIGTERM: exit 0. */
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

#define PG 4096
#define HUGE (2UL << 20)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t len, off;
	unsigned char *m;
	uint64_t t0;
	int thp;

	if (argc < 2 || atoi(argv[1]) <= 0) {
		fprintf(stderr, "usage: touchloop MIB [thp]\n");
		return 2;
	}
	len = (size_t)atoi(argv[1]) << 20;
	thp = argc > 2 && !strcmp(argv[2], "thp");
	m = mmap(NULL, len + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return perror("mmap"), 1;
	m = (unsigned char *)(((uintptr_t)m + HUGE - 1) & ~(HUGE - 1));
	if (thp && madvise(m, len, MADV_HUGEPAGE) < 0)
		return perror("madvise"), 1;
	memset(m, 1, len);
	signals_init();
	printf("pid %d\nregion T %p %zu\nready touchloop\n", (int)getpid(), (void *)m, len / PG);
	fflush(stdout);
	for (;;) {
		wait_request();
		if (want_exit)
			return 0;
		want_verify = 0;
		t0 = now_ns();
		for (off = 0; off < len; off += PG)
			m[off]++;
		printf("pass %llu\n", (unsigned long long)(now_ns() - t0));
		fflush(stdout);
	}
}
